"""Run-queue time of this process's threads, from Linux's ``/proc/.../schedstat``.

A GUI stall measured with a heartbeat timer mixes two things: our code blocking the
GUI thread, and the machine being too busy to run it (the GUI thread waiting for a
CPU, or a worker preempted while it holds the interpreter lock). Only the first is
a bug; these readings let a heartbeat take the second out. On other systems every
reading is 0, so nothing is taken out.
"""

from __future__ import annotations

import os
import threading

SCHEDSTAT = "/proc/thread-self/schedstat"


def run_delay_ms(path: str = SCHEDSTAT, field: int = 1) -> float:
    """Time a thread has spent runnable but not running, in ms (0 where unknown);
    with ``field=0`` the time it spent running."""
    try:
        with open(path, "rb") as f:
            return int(f.read().split()[field]) / 1e6
    except (OSError, IndexError, ValueError):
        return 0.0


def others_delay_ms() -> dict[str, float]:
    """Run-queue time of every other thread of the process, by thread id."""
    me = str(threading.get_native_id())
    try:
        tids = [t for t in os.listdir("/proc/self/task") if t != me]
    except OSError:
        return {}
    return {t: run_delay_ms(f"/proc/self/task/{t}/schedstat") for t in tids}


class GapMeter:
    """Called on every heartbeat of the GUI thread: the gap since the last beat, and
    the part of it left after the time the machine kept this process from running
    (the GUI thread's own run-queue wait, and the longest run-queue wait of any other
    thread of the process, which may have held the interpreter lock meanwhile)."""

    def __init__(self) -> None:
        self.own_wait = run_delay_ms()
        self.others = others_delay_ms()

    def code_part(self, gap_ms: float) -> float:
        own_wait, others = run_delay_ms(), others_delay_ms()
        held = max((v - self.others.get(t, v) for t, v in others.items()), default=0.0)
        part = gap_ms - (own_wait - self.own_wait) - max(0.0, held)
        self.own_wait, self.others = own_wait, others
        return part
