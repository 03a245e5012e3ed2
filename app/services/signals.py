"""Emit Qt signals from Python without the PySide6 6.12 reference-count bug.

PySide6 6.12.0 returns the result of ``SignalInstance.emit()`` (``True``/``False``)
without taking a reference. On Python 3.11, where ``True`` is an ordinary object,
every discarded result drops its count by one, and after a few hundred emits the
interpreter aborts with "bool_dealloc: deallocating True or False" (our progress
signals reach that in about two minutes). :func:`emit` gives the reference back
when, and only when, a probe shows this PySide6 has the bug; on a fixed PySide6 or
on Python 3.12+ (immortal bools) it is a plain ``emit``.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance

_lock = threading.Lock()
_leaks: bool | None = None


def _incref(obj: object) -> None:
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))


class _Probe(QObject):
    ping = Signal()


def _emit_leaks() -> bool:
    """Measure once whether ``emit()``'s result is missing a reference."""
    global _leaks
    with _lock:
        if _leaks is None:
            probe = _Probe()
            before = sys.getrefcount(True)
            for _ in range(8):
                probe.ping.emit()
            lost = before - sys.getrefcount(True)
            for _ in range(max(0, lost)):
                _incref(True)  # repair what the probe itself took
            _leaks = lost > 0
            probe.deleteLater()
    return _leaks


def emit(signal: SignalInstance, *args: Any) -> None:
    """``signal.emit(*args)``, compensating PySide6's missing reference if needed."""
    result: object = signal.emit(*args)  # type: ignore[func-returns-value]
    if isinstance(result, bool) and _emit_leaks():
        _incref(result)
