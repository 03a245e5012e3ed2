"""Layer rules import-linter cannot express (it cannot name PySide6 submodules)."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_services_use_qtcore_only() -> None:
    offenders = {
        str(path.relative_to(APP)): sorted(
            m
            for m in imported_modules(path)
            if m.startswith(("PySide6.QtWidgets", "PySide6.QtGui"))
        )
        for path in (APP / "services").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_engine_storage_store_core_never_import_qt() -> None:
    for layer in ("engine", "storage", "store", "core"):
        for path in (APP / layer).rglob("*.py"):
            assert not any(m.startswith("PySide6") for m in imported_modules(path)), path
