"""Keep Keepsake alive on PySide6 builds that drop references to None/True/False.

PySide6 6.12.0 on Python 3.11 returns ``None`` from every void method (``setText``,
``QTimer.start`` ...) and ``True`` from ``SignalInstance.emit`` without taking a
reference. Each call lowers the object's reference count by one; after some
thousands of calls the interpreter aborts with "none_dealloc: deallocating None".
Python 3.12+ is immune (these objects are immortal there), and so is PySide6 6.11.

:func:`guard_singletons` probes for the bug once and, only if it is present, gives
``None``, ``True`` and ``False`` a reference count so large that it cannot reach
zero, which is what Python 3.12 does by design. Call it from the composition root
(and the test setup) before the event loop runs. The real fix is a PySide6 that is
not affected; the project should pin one.
"""

from __future__ import annotations

import ctypes
import logging
import sys

from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger(__name__)

_BOOST = 1 << 40


class _Probe(QObject):
    ping = Signal()


def _leaks() -> bool:
    timer = QTimer()
    probe = _Probe()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(16):
        timer.setInterval(5)
        probe.ping.emit()
    return sys.getrefcount(None) < none_before or sys.getrefcount(True) < true_before


def guard_singletons() -> bool:
    """Returns True if this PySide6 has the bug (and the guard was applied)."""
    if sys.version_info >= (3, 12) or not _leaks():
        return False
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += _BOOST
    log.warning(
        "This PySide6 build leaks references to None/True/False; guarded. "
        "Install a PySide6 version other than 6.12.0."
    )
    return True
