"""The start-up check that refuses PySide6 6.12.0 on Python < 3.12 (it would crash)."""

from __future__ import annotations

import PySide6
import pytest

from app import cli
from app.services import pyside_check
from app.services.pyside_check import pyside_problem


def test_the_crashing_release_on_python_311_is_refused_with_a_reason() -> None:
    problem = pyside_problem("6.12.0", (3, 11))
    assert "PySide6 6.12.0 on Python 3.11" in problem
    assert "<6.12" in problem  # says what to install instead


@pytest.mark.parametrize(
    ("version", "python"),
    [("6.12.0", (3, 12)), ("6.12.0", (3, 13)), ("6.11.3", (3, 11)), ("6.12.1", (3, 11))],
)
def test_other_releases_and_newer_pythons_are_fine(version: str, python: tuple[int, int]) -> None:
    assert pyside_problem(version, python) == ""


def test_the_installed_pyside_passes() -> None:
    assert pyside_problem() == ""  # pyproject.toml keeps 6.12.0 out


@pytest.mark.parametrize("command", ["gui", "screenshots"])
def test_keepsake_refuses_to_start_on_the_bad_release(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(PySide6, "__version__", pyside_check.BAD_RELEASE)
    monkeypatch.setattr(pyside_check, "IMMUNE_PYTHON", (99, 0))  # whatever runs the tests
    argv = ["gui"] if command == "gui" else ["screenshots", "unused-dir"]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("keepsake: Keepsake cannot run with PySide6 6.12.0 on Python ")
    assert "Traceback" not in err
