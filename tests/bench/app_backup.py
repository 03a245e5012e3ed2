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
threads), max_gap_ms, ticks.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

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

    def tick() -> None:
        now = clock.elapsed()
        state["max_gap"] = max(state["max_gap"], now - state["last"])
        state["last"] = now
        state["ticks"] += 1

    heartbeat.timeout.connect(tick)

    def start_backup() -> None:
        state.update(last=0, max_gap=0, ticks=0, t0=time.perf_counter(), cpu0=_cpu_s())
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
                "ticks": float(state["ticks"]),
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
