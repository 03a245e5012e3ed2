"""GUI test isolation: every test gets its own HOME, config/cache/log dirs, an
in-memory keyring and single-instance folder; nothing touches the real user session."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.store.secrets import MemorySecrets

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


# The in-memory keyring the screenshot demo uses too.
DictSecrets = MemorySecrets


@pytest.fixture(scope="session", autouse=True)
def gc_on_gui_thread() -> Iterator[None]:
    """As in the app (app.services.gc_guard): never collect Qt objects off the GUI
    thread. Tests collect between tests, on the main thread."""
    gc.disable()
    from app.main import GUI_SWITCH_INTERVAL_S
    from app.services.pyside_check import pyside_problem

    problem = pyside_problem()  # as run_gui does: this PySide6 would crash the tests
    if problem:
        pytest.exit(problem, returncode=1)

    previous = sys.getswitchinterval()
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)  # as run_gui does
    yield
    sys.setswitchinterval(previous)
    gc.enable()


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("KEEPSAKE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("KEEPSAKE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("KEEPSAKE_LOG_DIR", str(tmp_path / "log"))
    monkeypatch.setenv("KEEPSAKE_RUNTIME_DIR", str(tmp_path / "run"))
    import keyring

    from tests.memory_keyring import MemoryKeyring

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())  # never the user's keyring, never a file
    yield home
    keyring.set_keyring(previous)
    gc.collect()


@pytest.fixture
def cleanup() -> Iterator[list[Callable[[], object]]]:
    """Callbacks run at teardown even when the test failed (e.g. app.shutdown),
    so a failing test never leaves a worker thread running."""
    callbacks: list[Callable[[], object]] = []
    yield callbacks
    for cb in reversed(callbacks):
        cb()
