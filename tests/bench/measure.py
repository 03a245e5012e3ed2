"""Run one command and measure it: wall time, CPU time and peak RSS.

Each step runs as a direct child reaped with ``os.wait4``, whose rusage covers exactly
that child and the descendants it waited for. That avoids the trap of
``getrusage(RUSAGE_CHILDREN)``, whose ``ru_maxrss`` is the maximum over *all* children
ever reaped by the harness, so a big earlier step would hide a small later one.
It also needs no ``/usr/bin/time`` binary.
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    """One measured execution of one step."""

    wall_s: float
    user_s: float
    sys_s: float
    max_rss_kib: int

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    @property
    def max_rss_mib(self) -> float:
        return self.max_rss_kib / 1024


class StepFailed(RuntimeError):
    """A measured command exited non-zero or timed out; the message names the step."""


@dataclass(frozen=True)
class Outcome:
    """A finished command: its measurement plus what it printed (for parsing/errors)."""

    sample: Sample
    returncode: int
    stdout: str
    stderr: str


def run_measured(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path | None,
    log_dir: Path,
    name: str,
    timeout_s: float,
) -> Outcome:
    """Run ``argv`` to completion and measure it.

    Output goes to files rather than pipes so a chatty tool can never block on a full
    pipe and distort the timing. The process gets its own session so a timeout kills
    it and any helpers it spawned.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path = log_dir / f"{name}.out"
    err_path = log_dir / f"{name}.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout_s, kill)
        timer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            kill()
            raise
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    stdout = out_path.read_text(errors="replace")
    stderr = err_path.read_text(errors="replace")
    if timed_out.is_set():
        stderr += f"\n[bench] killed after {timeout_s:.0f} s timeout"
    sample = Sample(
        wall_s=wall,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        max_rss_kib=usage.ru_maxrss,
    )
    return Outcome(sample=sample, returncode=proc.returncode, stdout=stdout, stderr=stderr)


def run_quiet(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Unmeasured helper command (listing snapshots, versions); never raises on failure."""
    return subprocess.run(
        list(argv),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )


@dataclass(frozen=True)
class Summary:
    """Median and range of a list of values: what the report prints per cell."""

    median: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary | None:
        if not values:
            return None
        return cls(statistics.median(values), min(values), max(values), len(values))


def last_line(text: str) -> str:
    """The most useful single line of a tool's stderr, for one-line error reports."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "(no output)"
