"""Profile Keepsake's backups on the bench data (``python -m tests.bench --profile``).

Uses py-spy (samples every thread, so a pipeline's worker threads are visible, and
needs no code change) and, when installed, pyinstrument (main thread only, but with
wall-clock time including waits, which is what the no-change path is about). Neither
is a project dependency: ``.venv/bin/pip install py-spy pyinstrument`` first.

Outputs go to ``bench-work/profile/`` in the repo (gitignored, kept after the run):
raw collapsed stacks (feed them to flamegraph.pl or speedscope.app), pyinstrument
text reports, and ``summary.txt`` with the top functions by self and total samples.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections import Counter
from pathlib import Path

from tests.bench import datagen
from tests.bench.measure import last_line, run_measured, run_quiet
from tests.bench.runner import MARKER, log
from tests.bench.tools import Keepsake, probe


def _venv_tool(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


_LINE = re.compile(r"^(?P<func>.*) \((?P<file>.*?)(?::\d+)?\)$")
_THREAD = re.compile(r"^thread \((?P<id>\w+)\)(?:: (?P<name>.*))?$")


def _function(frame: str) -> tuple[str, str]:
    """(``func (file)``, ``file``) of a py-spy frame ``func (file:line)``."""
    m = _LINE.match(frame)
    if not m:
        return frame, frame
    return f"{m['func']} ({m['file']})", m["file"]


# Frames that mean "this thread is blocked", which py-spy sometimes still counts as
# active (a thread-pool worker parked on its queue, a condition wait, waiting for the
# GIL under --native). Reporting them as CPU time would send an optimiser after idle
# threads. Python-level waits are matched on the innermost Python frame; native ones
# on the native frames below it.
_PY_WAITS = (
    "_worker (concurrent/futures/thread.py",
    "Condition.wait (threading.py",
    "Event.wait (threading.py",
    "Thread.join (threading.py",
    "_wait_for_tstate_lock (threading.py",
    "Queue.get (queue.py",
    "select (selectors.py",
)
_NATIVE_WAITS = (
    "_queue_SimpleQueue_get",
    "pthread_cond_",
    "PyThread_acquire_lock",
    "sem_wait",
    "sem_clockwait",
    "epoll_wait",
    "take_gil",
)


def _is_python(frame: str) -> bool:
    return ".py:" in frame or ".py)" in frame or "(<frozen" in frame or "(<string>" in frame


def _is_wait(frames: list[str]) -> bool:
    """True when a sample's innermost activity is a blocking wait, not CPU work."""
    i = len(frames) - 1
    while i >= 0 and not _is_python(frames[i]):
        if any(w in frames[i] for w in _NATIVE_WAITS):
            return True
        i -= 1
    return i >= 0 and frames[i].startswith(_PY_WAITS)


def summarize_raw(raw: Path, top: int = 25) -> str:
    """Top functions of a py-spy raw (collapsed) profile, by self and by total samples.

    Each line is ``frame;frame;...;leaf count``; with ``--threads`` the first frame is
    the thread. "Self" counts samples where the function is the leaf (where the CPU
    actually was); "total" counts samples where it is anywhere on the stack. Line
    numbers are dropped so a function is one entry, not one per line. Samples whose
    leaf is a blocking wait are counted apart (see ``_WAITS``); thread shares include
    them.
    """
    self_c: Counter[str] = Counter()
    total_c: Counter[str] = Counter()
    file_c: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    names: dict[str, str] = {}
    n = 0
    waits = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack or not count_s.isdigit():
            continue
        count = int(count_s)
        frames = stack.split(";")
        if frames and (m := _THREAD.match(frames[0])):
            threads[m["id"]] += count
            if m["name"]:
                names[m["id"]] = m["name"]
            frames = frames[1:]
        if not frames:
            continue
        if _is_wait(frames):
            waits += count
            continue
        n += count
        leaf, leaf_file = _function(frames[-1])
        self_c[leaf] += count
        file_c[leaf_file] += count
        for f in {_function(fr)[0] for fr in frames}:
            total_c[f] += count
    if n == 0:
        return f"{raw.name}: no samples\n"
    out = [
        f"{raw.name}: {n} on-CPU samples, all threads (plus {waits} in blocking waits"
        f" that py-spy counted as active, {waits / (n + waits):.0%}, left out below)"
    ]
    if threads:
        nt = sum(threads.values())
        parts = [f"{names.get(t, t)} {c / nt:.0%}" for t, c in threads.most_common()]
        out.append("  by thread: " + ", ".join(parts))
    out.append("  by file (self):")
    out += [f"    {c / n:6.1%}  {f}" for f, c in file_c.most_common(12)]
    out.append(f"  top {top} functions by self time:")
    out += [f"    {c / n:6.1%}  {f}" for f, c in self_c.most_common(top)]
    out.append(f"  top {top} functions by total time (itself or callees on the stack):")
    out += [f"    {c / n:6.1%}  {f}" for f, c in total_c.most_common(top)]
    return "\n".join(out) + "\n"


def profile(
    scale: datagen.Scale, seed: int, work: Path, out_dir: Path, rate: int, native: bool
) -> int:
    """Profile initial and no-change backups (library and scan tree) and a full restore."""
    py_spy = _venv_tool("py-spy")
    pyinstrument = _venv_tool("pyinstrument")
    if py_spy is None and pyinstrument is None:
        print("install the profilers first: .venv/bin/pip install py-spy pyinstrument")
        return 2
    if work.exists():
        if not (work / MARKER).exists():
            print(f"{work} exists and was not created by the bench")
            return 2
        shutil.rmtree(work)
    work.mkdir(parents=True)
    (work / MARKER).write_text("created by `python -m tests.bench --profile`\n")
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    try:
        digest = Keepsake.freeze_source(work / "keepsake-src")
        log(f"profiling a frozen copy of app/ (sources sha256 {digest})")
        why = probe(Keepsake, work / "probe")
        if why:
            print(f"cannot profile: {why}")
            return 1
        tree = work / "data" / "tree"
        scan = work / "scan" / "tree"
        log(f"generating {scale.describe()}")
        datagen.generate_tree(tree, scale, seed)
        datagen.generate_scan_tree(scan, scale.scan_files, seed)
        summaries: list[str] = []

        def profiled(name: str, ks: Keepsake, argv: list[str], prof: str | None) -> None:
            """Run one Keepsake command, under a profiler if ``prof`` names one."""
            if prof == "py-spy" and py_spy:
                raw = out_dir / f"{name}.raw"
                spy = [py_spy, "record", "-r", str(rate), "-f", "raw", "--threads", "-o", str(raw)]
                argv = [*spy, *(["--native"] if native else []), "--", *argv]
            elif prof == "pyinstrument" and pyinstrument:
                txt = out_dir / f"{name}.txt"
                argv = [pyinstrument, "-r", "text", "-o", str(txt), "-m", "app", *argv[1:]]
            # py-spy reads the process's memory: let it (core dumps stay off).
            env = {**ks.env(), "KEEPSAKE_ALLOW_DEBUGGER": "1"}
            outcome = run_measured(
                argv, env=env, cwd=ks.home, log_dir=out_dir / "logs", name=name, timeout_s=3600
            )
            s = outcome.sample
            log(f"{name:<28} {s.wall_s:7.2f} s wall {s.cpu_s:6.2f} s cpu {s.max_rss_mib:6.0f} MiB")
            if outcome.returncode != 0:
                log(f"  exit {outcome.returncode}: {last_line(outcome.stderr)}")
            raw = out_dir / f"{name}.raw"
            if prof == "py-spy" and raw.exists():
                summaries.append(summarize_raw(raw))

        def backup(name: str, source: Path, vault_name: str, prof: str | None) -> None:
            ks = Keepsake(work / vault_name)
            if not ks.vault.exists():
                cmd = ks.init()
                run_quiet(cmd.argv, env=ks.env(), cwd=ks.home)
            datagen.warm([source, ks.home])
            profiled(name, ks, ks.backup([source], 1).argv, prof)

        def restore(name: str, vault_name: str, prof: str | None) -> None:
            ks = Keepsake(work / vault_name)
            target = work / "restore" / name
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            datagen.warm([ks.home])
            profiled(name, ks, ks.restore("latest", target, []).argv, prof)
            shutil.rmtree(target, ignore_errors=True)

        # py-spy: one vault for the library tree, one for the scan tree.
        backup("plain-initial", tree, "plain", None)
        backup("plain-nochange", tree, "plain", None)
        if py_spy:
            backup("initial.py-spy", tree, "spy", "py-spy")
            backup("nochange.py-spy", tree, "spy", "py-spy")
            restore("restore-full.py-spy", "spy", "py-spy")
            backup("scan-initial", scan, "spy-scan", None)
            backup("scan-nochange.py-spy", scan, "spy-scan", "py-spy")
        if pyinstrument:
            backup("initial.pyinstrument", tree, "pyi", "pyinstrument")
            backup("nochange.pyinstrument", tree, "pyi", "pyinstrument")
            restore("restore-full.pyinstrument", "pyi", "pyinstrument")
        text = "\n".join(summaries)
        (out_dir / "summary.txt").write_text(text)
        print(text)
        log(f"profiles in {out_dir}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)
