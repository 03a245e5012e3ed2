"""Run one command and measure it: wall time, CPU time and peak RSS.

Peak RSS needs care. Linux records a process's RSS high-water mark across ``exec``
(``exec_mmap`` folds the old address space's peak into ``signal->maxrss``), and
Python's subprocess uses ``vfork``, so a child started directly by this harness would
report at least the *harness's* peak RSS (over 1 GiB after generating the data). Each
step therefore runs under a small wrapper process that forks and execs the tool and
reports the tool's rusage: GNU ``/usr/bin/time`` when present, else a tiny
``python -S`` wrapper (its ~10 MiB floor is below every tool's real peak). Likewise
``getrusage(RUSAGE_CHILDREN)`` is useless here: its ``ru_maxrss`` is the maximum over
all children ever reaped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import sys
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
    # CPU used by *other* processes during the step, in cores (0 on an idle machine).
    other_cores: float = 0.0

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


GNU_TIME = "/usr/bin/time"
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def busy_cpu_seconds() -> float:
    """CPU seconds all processes have been busy since boot (/proc/stat; 0 elsewhere).

    The difference over a step minus the step's own CPU is what other processes took
    from it: on a shared 2-core VM that is the main source of noise, so it is reported
    per sample instead of hoping the machine was idle.
    """
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[:7])
    return (user + nice + system + irq + softirq) / _TICK


def wait_for_quiet(max_wait_s: float, threshold_cores: float = 0.3, probe_s: float = 0.5) -> float:
    """Wait (up to ``max_wait_s``) until other processes use less than ``threshold_cores``.

    Returns how long it waited. Gives a concurrent test run a chance to finish a burst
    so steps are measured on a quieter machine, without stalling the bench forever.
    """
    waited = 0.0
    while waited < max_wait_s:
        before = busy_cpu_seconds()
        time.sleep(probe_s)
        if (busy_cpu_seconds() - before) / probe_s < threshold_cores:
            break
        waited += probe_s
    return waited


# Fork from a small process, exec the tool, report the tool's own rusage.
_PY_WRAPPER = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(sys.argv[1], "w") as f:
    f.write(f"{ru.ru_utime} {ru.ru_stime} {ru.ru_maxrss} {wall}\\n")
sys.exit(os.waitstatus_to_exitcode(status) % 256)
"""


def _wrapped(argv: Sequence[str], rusage_path: Path) -> list[str]:
    """``argv`` under the rusage wrapper that writes "user sys maxrss_kib" to a file."""
    if os.access(GNU_TIME, os.X_OK):
        return [GNU_TIME, "-q", "-o", str(rusage_path), "-f", "%U %S %M", *argv]
    return [sys.executable, "-S", "-c", _PY_WRAPPER, str(rusage_path), *argv]


def _read_rusage(path: Path) -> tuple[float, float, int, float | None]:
    """Parse the wrapper's last line: user, sys, max RSS and (Python wrapper) wall.

    The Python wrapper times fork-to-reap itself so its own ~15 ms start-up does not
    count; GNU time's ``%e`` has only 10 ms resolution, so with it the harness's own
    wall clock is used (GNU time adds about a millisecond). Zeros if the wrapper was
    killed before writing.
    """
    try:
        fields = path.read_text().strip().splitlines()[-1].split()
        wall = float(fields[3]) if len(fields) > 3 else None
        return float(fields[0]), float(fields[1]), int(fields[2]), wall
    except (OSError, ValueError, IndexError):
        return 0.0, 0.0, 0, None


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
    it and any helpers it spawned. Wall time is taken here (it includes the wrapper's
    fork+exec, well under a millisecond); CPU and RSS come from the wrapper.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path = log_dir / f"{name}.out"
    err_path = log_dir / f"{name}.err"
    rusage_path = log_dir / f"{name}.rusage"
    rusage_path.unlink(missing_ok=True)
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        busy_before = busy_cpu_seconds()
        start = time.perf_counter()
        proc = subprocess.Popen(
            _wrapped(argv, rusage_path),
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
            proc.wait()
        except BaseException:
            kill()
            proc.wait()
            raise
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        busy = busy_cpu_seconds() - busy_before
    stdout = out_path.read_text(errors="replace")
    stderr = err_path.read_text(errors="replace")
    if timed_out.is_set():
        stderr += f"\n[bench] killed after {timeout_s:.0f} s timeout"
    user, sys_, rss, inner_wall = _read_rusage(rusage_path)
    others = max(0.0, busy - user - sys_) / wall if wall > 0 else 0.0
    wall = inner_wall if inner_wall is not None else wall
    sample = Sample(wall_s=wall, user_s=user, sys_s=sys_, max_rss_kib=rss, other_cores=others)
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
