"""Run Python's cyclic garbage collector on the GUI thread only.

The collector runs in whichever thread happens to allocate when a threshold is
crossed. If that is the vault worker (or one of the engine's reader threads) and
the garbage holds a Qt object (a closed dialog, a rebuilt menu's actions, a model
item captured by a callback), Qt deletes a GUI object off the GUI thread and the
process crashes. So automatic collection is switched off and a timer collects on
the GUI thread instead, whenever the allocation counters say it is due.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer, Slot


class GuiThreadGc(QObject):
    def __init__(self, interval_ms: int = 500, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._thresholds = gc.get_threshold()

    def start(self) -> None:
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        gc.enable()

    @Slot()
    def check(self) -> None:
        """Collect the oldest generation whose counter passed its threshold (cheap)."""
        counts = gc.get_count()
        t0, t1, t2 = self._thresholds
        if counts[0] > t0:
            generation = 0
            if counts[1] > t1:
                generation = 2 if counts[2] > t2 else 1
            gc.collect(generation)
