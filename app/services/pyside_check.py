"""Refuse to start on the one PySide6 release that crashes Keepsake.

PySide6 6.12.0 on Python 3.11 returns ``None`` from every void method and ``True``
from ``SignalInstance.emit`` without taking a reference, so after some thousands of
calls the interpreter aborts ("none_dealloc: deallocating None"). Python 3.12 made
these objects immortal, so only older Pythons are hit. ``pyproject.toml`` already
keeps pip from installing that release; this check catches an environment put
together by hand (a distribution package, a ``pip install --no-deps``) and says
what to do, instead of crashing minutes into a backup.
"""

from __future__ import annotations

import sys

BAD_RELEASE = "6.12.0"
IMMUNE_PYTHON = (3, 12)


def pyside_problem(pyside_version: str | None = None, python: tuple[int, ...] | None = None) -> str:
    """A sentence saying why this PySide6 cannot run Keepsake, or ``""`` if it can.

    The arguments default to the running interpreter and the installed PySide6;
    tests pass other values.
    """
    if pyside_version is None:
        import PySide6

        pyside_version = PySide6.__version__
    python = tuple(sys.version_info[:2]) if python is None else python
    if pyside_version != BAD_RELEASE or python[:2] >= IMMUNE_PYTHON:
        return ""
    running = ".".join(str(n) for n in python[:2])
    return (
        f"Keepsake cannot run with PySide6 {BAD_RELEASE} on Python {running}: that release "
        "loses track of Python's None/True/False and the app would crash. "
        "Install another version (pip install 'PySide6>=6.6,<6.12') "
        "or run Keepsake on Python 3.12 or newer."
    )
