"""The desktop app's scheduled no-change backup, measured (``make bench`` runs this).

The running app keeps its vault unlocked, so a scheduled backup pays the key
derivation once per session, not per backup: this opens the vault once through the
app's own services (``JobRunner`` worker thread, ``EngineGateway``, ``VaultService``),
then runs the no-change backups the scheduler would start, each on the worker thread,
exactly as the app does. A 10 ms ``QTimer`` on the GUI thread is the heartbeat: the
largest gap between its ticks is the longest the GUI froze during the backup (the
product's bar is 100 ms).

Usage: ``python -m tests.bench.app_backup --repo VAULT --out result.json FOLDER``
with ``KEEPSAKE_PASSWORD`` and ``KEEPSAKE_CACHE_DIR`` set like the CLI's. Writes a
JSON list with one object per backup: wall_s, cpu_s (the whole process, both
threads), max_gap_ms, ticks, and on Linux max_gap_own_ms.

On a loaded machine most of a long gap can be the GUI thread waiting for a CPU
(runnable, but every core busy with other processes), which no code of ours can
avoid. ``max_gap_own_ms`` takes that out: for each gap it subtracts the time the
kernel says the GUI thread spent on a run queue (``/proc/thread-self/schedstat``,
second field) during that gap: the rest is the GUI thread blocked in our process
(waiting for the GIL) or busy in a slot. A worker thread preempted while it holds
the GIL also blocks the GUI thread, through no fault of the code, so
``max_gap_code_ms`` further takes off the longest run-queue wait of any other thread
of the process during the gap (an upper bound of that effect). The code's own stall
lies between the two; judge code by them when the load average is above the core
count. ``max_gap_ms`` is what a user would see.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

from tests.schedstat import others_delay_ms, run_delay_ms

HEARTBEAT_MS = 10


def _cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.bench.app_backup")
    p.add_argument("--repo", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("folders", nargs="+")
    args = p.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from app.core import paths
    from app.main import GUI_SWITCH_INTERVAL_S
    from app.services.gateway import EngineGateway
    from app.services.gc_guard import GuiThreadGc
    from app.services.jobs import JobOutcome, JobRunner
    from app.services.vault import OpenedVault, VaultService

    app = QApplication(sys.argv[:1])
    # As app.main sets up the running app: the GIL goes to the GUI thread every 2 ms,
    # and garbage is collected on the GUI thread only (never mid-job on the worker).
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)
    collector = GuiThreadGc(parent=app)
    collector.start()
    runner = JobRunner("keepsake-vault")
    vaults = VaultService(runner, EngineGateway(), paths.cache_dir())
    results: list[dict[str, float]] = []
    failure: list[str] = []

    clock = QElapsedTimer()
    heartbeat = QTimer()
    heartbeat.setInterval(HEARTBEAT_MS)
    state = {"last": 0, "max_gap": 0, "ticks": 0, "t0": 0.0, "cpu0": 0.0}
    waits = {"last": 0.0, "max_own": 0.0, "max_code": 0.0, "ran": 0.0}
    others: dict[str, float] = {}
    # ms after the start, gap, own, code, and the GUI thread's own CPU time in the gap
    stalls: list[tuple[float, float, float, float, float]] = []

    def tick() -> None:
        now = clock.elapsed()
        delay = run_delay_ms()
        gap = now - state["last"]
        state["max_gap"] = max(state["max_gap"], gap)
        own = gap - (delay - waits["last"])
        waits["max_own"] = max(waits["max_own"], own)
        # A worker thread preempted while it holds the GIL blocks the GUI thread as
        # surely as long code would; take off the longest such wait of any thread.
        now_others = others_delay_ms()
        held = max((v - others.get(t, v) for t, v in now_others.items()), default=0.0)
        waits["max_code"] = max(waits["max_code"], own - held)
        ran = run_delay_ms(field=0)
        if gap >= 5 * HEARTBEAT_MS:
            stalls.append(
                (float(now - gap), float(gap), round(own, 1), round(own - held, 1),
                 round(ran - waits["ran"], 1))
            )  # fmt: skip
        waits["ran"] = ran
        others.clear()
        others.update(now_others)
        waits["last"] = delay
        state["last"] = now
        state["ticks"] += 1

    heartbeat.timeout.connect(tick)

    def start_backup() -> None:
        state.update(last=0, max_gap=0, ticks=0, t0=time.perf_counter(), cpu0=_cpu_s())
        waits.update(last=run_delay_ms(), max_own=0.0, max_code=0.0, ran=run_delay_ms(field=0))
        stalls.clear()
        others.clear()
        others.update(others_delay_ms())
        clock.start()
        heartbeat.start()
        if vaults.backup(args.folders, ()) is None:
            failure.append("the worker was busy")
            app.quit()

    def finished(outcome: JobOutcome[object]) -> None:
        heartbeat.stop()
        tick()
        if not outcome.ok:
            failure.append(f"backup failed: {outcome.message}")
            app.quit()
            return
        results.append(
            {
                "wall_s": time.perf_counter() - state["t0"],
                "cpu_s": _cpu_s() - state["cpu0"],
                "max_gap_ms": float(state["max_gap"]),
                "max_gap_own_ms": round(waits["max_own"], 1),
                "max_gap_code_ms": round(waits["max_code"], 1),
                "ticks": float(state["ticks"]),
                # The five longest gaps: [ms after the start, gap, own, code, GUI CPU]
                "stalls": sorted(stalls, key=lambda g: -g[1])[:5],  # type: ignore[dict-item]
            }
        )
        if len(results) < args.runs:
            QTimer.singleShot(0, start_backup)
        else:
            app.quit()

    runner.jobFinished.connect(finished)

    def opened(outcome: JobOutcome[OpenedVault]) -> None:
        if not outcome.ok:
            failure.append(f"open failed: {outcome.message}")
            app.quit()
            return
        start_backup()

    vaults.open(args.repo, passphrase=os.environ["KEEPSAKE_PASSWORD"], done=opened)
    app.exec()
    collector.stop()
    runner.shutdown()
    if failure:
        print(failure[0], file=sys.stderr)
        return 1
    args.out.write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
