"""Drive every selected tool through the benchmark steps and collect the samples.

Steps are interleaved tool by tool (all tools do the initial backup, then all do the
no-change backup, ...) because the 1% change mutates the shared source tree, and the
tool order rotates between runs so slow drift on a noisy VM (thermal, neighbours)
does not always hit the same tool. Every restore is verified against the generated
data: a fast restore that is wrong must not look like a win.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.bench import datagen
from tests.bench.measure import Sample, last_line, run_measured, run_quiet, wait_for_quiet
from tests.bench.tools import TOOLS, Keepsake, Tool, probe

try:
    from blake3 import blake3 as _hasher
except ImportError:  # pragma: no cover
    from hashlib import sha256 as _hasher  # type: ignore[assignment]

MARKER = ".keepsake-bench"

# (key, label) in report order.
STEPS: list[tuple[str, str]] = [
    ("init", "init"),
    ("initial", "initial backup"),
    ("nochange", "no-change backup"),
    ("change", "backup after 1% change"),
    ("restore_one", "restore one 5 MiB photo"),
    ("restore_full", "full restore"),
]

# The same commands on an empty vault (an empty folder backed up into a fresh vault,
# then restored): each tool's fixed cost (start-up, key derivation, opening the
# vault), subtracted to compare the engines' marginal work on equal terms.
FIXED_STEPS: list[tuple[str, str]] = [
    ("fixed_backup", "backup of an empty folder"),
    ("fixed_restore", "restore of an empty snapshot"),
]
# Which fixed cost each step carries.
FIXED_OF: dict[str, str] = {
    "initial": "fixed_backup",
    "nochange": "fixed_backup",
    "change": "fixed_backup",
    "restore_one": "fixed_restore",
    "restore_full": "fixed_restore",
}


@dataclass
class BenchConfig:
    """Everything a run needs; built from the command line in ``__main__``."""

    tools: list[str]
    scale: datagen.Scale
    runs: int
    work_dir: Path
    mode: str  # "tmpfs" or "disk"
    seed: int = 1
    scan: bool = True
    keep: bool = False
    step_timeout_s: float = 3600.0
    startup_repeats: int = 20
    quiet_wait_s: float = 10.0
    huge_files: int = 0  # the optional 1,000,000-file case (0: not run)
    app: bool = True  # the desktop app's no-change backup on the worker thread


@dataclass
class ToolResult:
    """All samples of one tool; lists hold one entry per run."""

    label: str
    version: str = ""
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    vault_bytes: list[int] = field(default_factory=list)
    # scan tree size -> "initial"/"nochange"/"restore" -> samples
    scan: dict[int, dict[str, list[Sample]]] = field(default_factory=dict)
    startup_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: str = ""  # why the tool did not run at all


@dataclass
class BenchResult:
    """What the report writer needs: samples plus the context to interpret them."""

    mode: str
    scale: datagen.Scale
    seed: int
    runs: int
    work_dir: str
    data_files: int = 0
    data_bytes: int = 0
    scan_files: int = 0
    scan_bytes: int = 0
    scan_sizes: list[int] = field(default_factory=list)
    huge_files: int = 0  # size of the optional 1,000,000-file case, 0 if not run
    # scan tree size -> `cp -a` of that tree (the reference for its full restore)
    scan_copy: dict[int, list[Sample]] = field(default_factory=dict)
    # The app's scheduled no-change backup (tests/bench/app_backup.py): one dict per
    # backup with files, wall_s, cpu_s, max_gap_ms (GUI heartbeat), ticks.
    app: list[dict[str, float]] = field(default_factory=list)
    change: str = ""
    restore_photo: str = ""
    copy: list[Sample] = field(default_factory=list)
    tools: dict[str, ToolResult] = field(default_factory=dict)
    machine: dict[str, str] = field(default_factory=dict)
    verification: list[str] = field(default_factory=list)
    quiet_waits: int = 0  # steps that waited for other processes to calm down
    quiet_wait_s: float = 0.0
    started: str = ""
    duration_s: float = 0.0


def load_result(path: Path) -> BenchResult:
    """Read back a ``--json`` dump, so the document can be re-rendered without re-running."""
    import json

    d = json.loads(path.read_text())

    def samples(items: list[dict[str, float]]) -> list[Sample]:
        return [Sample(**x) for x in items]  # type: ignore[arg-type]

    res = BenchResult(
        mode=d["mode"],
        scale=datagen.Scale(**d["scale"]),
        seed=d["seed"],
        runs=d["runs"],
        work_dir=d["work_dir"],
    )
    for name in (
        "data_files", "data_bytes", "scan_files", "scan_bytes", "scan_sizes", "change",
        "restore_photo", "machine", "verification", "quiet_waits", "quiet_wait_s",
        "started", "duration_s", "huge_files", "app",
    ):  # fmt: skip
        if name in d:
            setattr(res, name, d[name])
    res.copy = samples(d["copy"])
    res.scan_copy = {int(n): samples(v) for n, v in d.get("scan_copy", {}).items()}
    for key, t in d["tools"].items():
        res.tools[key] = ToolResult(
            label=t["label"],
            version=t["version"],
            samples={k: samples(v) for k, v in t["samples"].items()},
            vault_bytes=t["vault_bytes"],
            scan={int(n): {k: samples(v) for k, v in m.items()} for n, m in t["scan"].items()},
            startup_s=t["startup_s"],
            errors=t["errors"],
            skipped=t["skipped"],
        )
    return res


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def fs_type(path: Path) -> str:
    """The file system type holding ``path`` (tmpfs, ext4, ...) from /proc/mounts."""
    best, kind = "", "unknown"
    try:
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                mnt = parts[1]
                p = str(path.resolve())
                if (p == mnt or p.startswith(mnt.rstrip("/") + "/")) and len(mnt) > len(best):
                    best, kind = mnt, parts[2]
    except OSError:
        pass
    return kind


def machine_info(work_dir: Path) -> dict[str, str]:
    """Facts that make figures comparable between machines (or explain why not)."""
    import psutil

    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    distro = platform.system()
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    distro = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    repo = Path(__file__).resolve().parents[2]
    commit = run_quiet(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"]).stdout.strip()
    dirty = run_quiet(["git", "-C", str(repo), "status", "--porcelain", "--", "app"]).stdout
    return {
        "cpu": f"{cpu}, {os.cpu_count()} logical cores",
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "os": f"{distro}, kernel {platform.release()}",
        "python": platform.python_version(),
        # Other work on a 2-core VM skews every figure; record it to judge the run.
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "work dir": f"{work_dir} ({fs_type(work_dir)})",
        "keepsake commit": (commit + (" + uncommitted app/ changes" if dirty else "")) or "unknown",
    }


def manifest(root: Path) -> dict[str, tuple[int, int, bytes]]:
    """relative path -> (size, mtime seconds, hash) for every regular file."""
    out: dict[str, tuple[int, int, bytes]] = {}
    for p in datagen.iter_files(root):
        st = p.stat()
        out[p.relative_to(root).as_posix()] = (
            st.st_size,
            int(st.st_mtime),
            _hasher(p.read_bytes()).digest(),
        )
    return out


def verify_tree(
    restored: Path, expected: dict[str, tuple[int, int, bytes]], deep: bool
) -> list[str]:
    """Differences between a restored tree and the manifest (empty list: identical).

    ``deep`` hashes contents; otherwise sizes and mtimes only (cheaper for runs 2+).
    """
    problems: list[str] = []
    if not restored.is_dir():
        return [f"nothing restored at {restored}"]
    got: dict[str, Path] = {
        p.relative_to(restored).as_posix(): p for p in datagen.iter_files(restored)
    }
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    if missing:
        problems.append(f"{len(missing)} files missing (e.g. {missing[0]})")
    if extra:
        problems.append(f"{len(extra)} unexpected files (e.g. {extra[0]})")
    bad_size, bad_mtime, bad_content = [], [], []
    for rel, (size, mtime, digest) in expected.items():
        p = got.get(rel)
        if p is None:
            continue
        st = p.stat()
        if st.st_size != size:
            bad_size.append(rel)
        elif int(st.st_mtime) != mtime:
            bad_mtime.append(rel)
        if deep and st.st_size == size and _hasher(p.read_bytes()).digest() != digest:
            bad_content.append(rel)
    for what, items in (("size", bad_size), ("mtime", bad_mtime), ("content", bad_content)):
        if items:
            problems.append(f"{len(items)} files with wrong {what} (e.g. {items[0]})")
    if not (restored / "Pictures/cover.jpg").is_symlink():
        problems.append("symlink Pictures/cover.jpg not restored as a symlink")
    if expected and not (restored / "Documents/Empty folder").is_dir():
        problems.append("empty folder 'Documents/Empty folder' not restored")
    return problems


def scan_sizes(full: int) -> list[int]:
    """Tree sizes of the scan case: tiny (fixed cost), a tenth, and the full size."""
    return sorted({max(100, full // 200), max(200, full // 10), full})


class _ToolFailed(Exception):
    """Internal: a step of one tool failed; its remaining steps in this run are skipped."""


class Runner:
    """Holds the work-dir layout and runs the whole benchmark."""

    def __init__(self, cfg: BenchConfig) -> None:
        self.cfg = cfg
        self.work = cfg.work_dir
        self.pristine = self.work / "pristine" / "tree"
        self.data = self.work / "data" / "tree"
        self.result = BenchResult(
            mode=cfg.mode,
            scale=cfg.scale,
            seed=cfg.seed,
            runs=cfg.runs,
            work_dir=str(cfg.work_dir),
        )

    # -- work dir -----------------------------------------------------------------

    def prepare_work_dir(self) -> None:
        """Create the work dir, refusing to delete anything the bench did not create."""
        if self.work.exists():
            if not (self.work / MARKER).exists() and any(self.work.iterdir()):
                raise SystemExit(
                    f"{self.work} exists and was not created by the bench; remove it or"
                    " pass another --work-dir"
                )
            shutil.rmtree(self.work)
        self.work.mkdir(parents=True)
        (self.work / MARKER).write_text("created by `python -m tests.bench`\n")
        free = shutil.disk_usage(self.work).free
        need = self.cfg.scale.total_bytes * 6 + self.cfg.scale.scan_files * 16 * 1024
        if free < need:
            raise SystemExit(
                f"{self.work}: {free / 2**30:.1f} GiB free, the bench needs about"
                f" {need / 2**30:.1f} GiB (data, vaults and restores of all tools)"
            )

    def cleanup(self) -> None:
        if self.cfg.keep:
            log(f"keeping {self.work} (--keep)")
        elif (self.work / MARKER).exists():
            shutil.rmtree(self.work, ignore_errors=True)

    def _settle(self) -> None:
        """Flush dirty pages so one step's writes are not paid for by the next step."""
        if self.cfg.mode == "disk":
            os.sync()

    # -- measurement ---------------------------------------------------------------

    def _measure(
        self, tool: Tool, tr: ToolResult, name: str, argv: list[str], cwd: Path | None
    ) -> Sample:
        if self.cfg.quiet_wait_s > 0:
            waited = wait_for_quiet(self.cfg.quiet_wait_s)
            if waited > 0:
                self.result.quiet_waits += 1
                self.result.quiet_wait_s += waited
        outcome = run_measured(
            argv,
            env=tool.env(),
            cwd=cwd or tool.home,
            log_dir=self.work / "logs",
            name=f"{tool.key}-{name}",
            timeout_s=self.cfg.step_timeout_s,
        )
        if outcome.returncode != 0:
            msg = f"{name}: exit {outcome.returncode}: {last_line(outcome.stderr)}"
            tr.errors.append(msg)
            log(f"  {tool.label} FAILED {msg}")
            raise _ToolFailed(msg)
        s = outcome.sample
        log(
            f"  {tool.label:<8} {name:<24} {s.wall_s:7.2f} s wall {s.cpu_s:7.2f} s cpu"
            f" {s.max_rss_mib:7.1f} MiB"
            + (f"  (others busy: {s.other_cores:.1f} cores)" if s.other_cores >= 0.3 else "")
        )
        return s

    def _step(
        self,
        tool: Tool,
        tr: ToolResult,
        step: str,
        argv: list[str],
        cwd: Path | None = None,
        warm: list[Path] | None = None,
    ) -> Sample:
        self._settle()
        datagen.warm([*(warm or []), *tool.state_dirs()])
        sample = self._measure(tool, tr, step, argv, cwd)
        tr.samples.setdefault(step, []).append(sample)
        return sample

    # -- the benchmark ---------------------------------------------------------------

    def run(self) -> BenchResult:
        t0 = time.perf_counter()
        self.result.started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        self.prepare_work_dir()
        try:
            self._run()
        finally:
            self.result.duration_s = time.perf_counter() - t0
            self.cleanup()
        return self.result

    def _run(self) -> None:
        cfg = self.cfg
        self.result.machine = machine_info(self.work)
        if any(t.startswith("keepsake") for t in cfg.tools):
            digest = Keepsake.freeze_source(self.work / "keepsake-src")
            self.result.machine["keepsake commit"] += f" (app/ sources sha256 {digest})"
        active: list[type[Tool]] = []
        for key in cfg.tools:
            cls = TOOLS[key]
            tr = ToolResult(label=cls.label, version=cls.version())
            self.result.tools[key] = tr
            why = probe(cls, self.work / "probe" / key)
            if why:
                tr.skipped = why
                log(f"skipping {why}")
            else:
                active.append(cls)
                log(f"{cls.label}: {tr.version}")
        if not active:
            raise SystemExit("no tool can run; nothing to measure")

        log(f"generating {cfg.scale.describe()} (seed {cfg.seed}) in {self.work}")
        info = datagen.generate_tree(self.pristine, cfg.scale, cfg.seed)
        self.result.data_files, self.result.data_bytes = info.files, info.bytes
        self.result.restore_photo = info.restore_photo
        expected = manifest(self.pristine)
        photo_expected = {info.restore_photo: expected[info.restore_photo]}
        log(f"tree: {info.files:,} files, {info.bytes / 2**20:,.0f} MiB {info.categories}")

        for run in range(cfg.runs):
            order = active[run % len(active) :] + active[: run % len(active)]
            log(f"run {run + 1}/{cfg.runs}: order {', '.join(c.label for c in order)}")
            self._one_run(run, order, info, expected, photo_expected)

        if cfg.scan:
            self._scan(active)
        self._startup(active)

    def _fresh_data(self) -> None:
        """Reset the source tree to the pristine state; the copy doubles as `cp -a`."""
        if self.data.exists():
            shutil.rmtree(self.data)
        self.data.parent.mkdir(parents=True, exist_ok=True)
        self._settle()
        datagen.warm([self.pristine])
        if self.cfg.quiet_wait_s > 0:
            wait_for_quiet(self.cfg.quiet_wait_s)
        start = time.perf_counter()
        proc = subprocess.run(
            ["cp", "-a", str(self.pristine), str(self.data)], capture_output=True, check=False
        )
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"cp -a failed: {proc.stderr.decode(errors='replace')}")
        self._settle()
        # Only wall time matters for the reference; rusage of cp is not interesting.
        self.result.copy.append(Sample(wall_s=wall, user_s=0.0, sys_s=0.0, max_rss_kib=0))

    def _one_run(
        self,
        run: int,
        order: list[type[Tool]],
        info: datagen.TreeInfo,
        expected: dict[str, tuple[int, int, bytes]],
        photo_expected: dict[str, tuple[int, int, bytes]],
    ) -> None:
        self._fresh_data()
        homes = self.work / f"run-{run + 1}"
        tools = {cls.key: cls(homes / cls.key) for cls in order}
        failed: set[str] = set()

        def each(fn: Callable[[Tool, ToolResult], None], label: str, fatal: bool = True) -> None:
            """Run one step for every tool; a failed backup ends that tool's run.

            Restores only depend on the backups, so a failed one-file restore (e.g. an
            unfinished CLI option) does not stop the full restore from being measured.
            """
            for cls in order:
                if cls.key in failed:
                    continue
                tool = tools[cls.key]
                tr = self.result.tools[cls.key]
                try:
                    fn(tool, tr)
                except _ToolFailed:
                    if fatal:
                        failed.add(cls.key)
                except (RuntimeError, ValueError, KeyError, OSError) as exc:
                    tr.errors.append(f"{label}: {exc}")
                    log(f"  {cls.label} FAILED {label}: {exc}")
                    if fatal:
                        failed.add(cls.key)

        src = [self.data]

        def init(tool: Tool, tr: ToolResult) -> None:
            cmd = tool.init()
            self._step(tool, tr, "init", cmd.argv, cmd.cwd)

        def backup(number: int, step: str) -> Callable[[Tool, ToolResult], None]:
            def go(tool: Tool, tr: ToolResult) -> None:
                cmd = tool.backup(src, number)
                self._step(tool, tr, step, cmd.argv, cmd.cwd, warm=src)
                if step == "initial":
                    tr.vault_bytes.append(datagen.tree_size(tool.vault)[1])

            return go

        def restore(step: str) -> Callable[[Tool, ToolResult], None]:
            def go(tool: Tool, tr: ToolResult) -> None:
                snap = tool.snapshot_ref(1)
                target = self.work / "restore" / f"{tool.key}-{step}"
                shutil.rmtree(target, ignore_errors=True)
                target.mkdir(parents=True)
                one = step == "restore_one"
                paths = [self.data / info.restore_photo] if one else []
                cmd = tool.restore(snap, target, paths)
                self._step(tool, tr, step, cmd.argv, cmd.cwd)
                restored = target / str(self.data).lstrip("/")
                want = photo_expected if one else expected
                if one:
                    got = datagen.iter_files(restored) if restored.exists() else iter(())
                    extra = [p for p in got if p.relative_to(restored).as_posix() not in want]
                    problems = [f"{len(extra)} files restored besides the photo"] if extra else []
                    problems += _verify_files(restored, want)
                else:
                    problems = verify_tree(restored, want, deep=run == 0)
                for p in problems:
                    msg = f"run {run + 1}, {tool.label}, {step}: {p}"
                    if msg not in self.result.verification:
                        self.result.verification.append(msg)
                        log(f"  VERIFY {msg}")
                shutil.rmtree(target, ignore_errors=True)

            return go

        def fixed(tool: Tool, tr: ToolResult) -> None:
            """The empty-vault twin of the steps below: each tool's fixed cost."""
            empty = self.work / "empty" / "tree"
            empty.mkdir(parents=True, exist_ok=True)
            twin = type(tool)(homes / f"{tool.key}-empty")
            cmd = twin.init()
            proc = run_quiet(cmd.argv, env=twin.env(), cwd=cmd.cwd or twin.home)
            if proc.returncode != 0:
                raise RuntimeError(f"empty vault init failed: {last_line(proc.stderr)}")
            cmd = twin.backup([empty], 1)
            self._step(twin, tr, "fixed_backup", cmd.argv, cmd.cwd, warm=[empty])
            target = self.work / "restore" / f"{tool.key}-fixed"
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            cmd = twin.restore(twin.snapshot_ref(1), target, [])
            self._step(twin, tr, "fixed_restore", cmd.argv, cmd.cwd)
            shutil.rmtree(target, ignore_errors=True)

        each(fixed, "fixed cost", fatal=False)
        each(init, "init")
        each(backup(1, "initial"), "initial backup")
        each(backup(2, "nochange"), "no-change backup")
        change = datagen.apply_change(self.data, self.cfg.seed, info.restore_photo)
        self.result.change = change.describe()
        each(backup(3, "change"), "1% change backup")
        each(restore("restore_one"), "restore one", fatal=False)
        each(restore("restore_full"), "full restore", fatal=False)
        shutil.rmtree(homes, ignore_errors=True)

    def _scan(self, active: list[type[Tool]]) -> None:
        """Backups and restores of many-small-files trees of three sizes (plus 1,000,000).

        Three points (tiny, 1/10, full) separate the fixed cost of a run (start-up,
        key derivation, opening the vault) from the per-file cost, so "linear in the
        file count" can be judged; a single size cannot tell the two apart. The
        middle size is also the product's "no-change backup of 20,000 files" bar
        (docs/PERFORMANCE.md). The full size (a home folder: 200,000 files) and the
        optional 1,000,000-file case are also restored in full, beside `cp -a` of the
        same tree, and backed up once more from the desktop app's worker thread.
        """
        cfg = self.cfg
        if self.data.exists():
            shutil.rmtree(self.data)
        sizes = scan_sizes(cfg.scale.scan_files)
        self.result.scan_files = cfg.scale.scan_files
        if cfg.huge_files > cfg.scale.scan_files:
            sizes.append(cfg.huge_files)
            self.result.huge_files = cfg.huge_files
        for n in sizes:
            root = self.work / f"scan-{n}" / "tree"
            log(f"scan case: generating {n:,} small files")
            size_bytes = datagen.generate_scan_tree(root, n, cfg.seed)
            if n == cfg.scale.scan_files:
                self.result.scan_bytes = size_bytes
            self.result.scan_sizes.append(n)
            big = n >= cfg.scale.scan_files
            # The 1,000,000-file case is long: one run of each step.
            runs = cfg.runs if n <= cfg.scale.scan_files else 1
            expected = _stat_manifest(root) if big else {}
            if big:
                self._copy_reference(root, n)
            for cls in active:
                tool = cls(self.work / "scan-homes" / cls.key)
                tr = self.result.tools[cls.key]
                per_size = tr.scan.setdefault(n, {})
                try:
                    cmd = tool.init()
                    self._measure(tool, tr, f"scan{n}-init", cmd.argv, cmd.cwd)
                    for number in range(1, runs + 2):
                        step = "initial" if number == 1 else "nochange"
                        cmd = tool.backup([root], number)
                        self._settle()
                        datagen.warm([root, *tool.state_dirs()])
                        sample = self._measure(tool, tr, f"scan{n}-{step}", cmd.argv, cmd.cwd)
                        per_size.setdefault(step, []).append(sample)
                    if big:
                        self._scan_restore(tool, tr, root, n, runs, expected)
                    if big and cfg.app and cls.key == "keepsake":
                        self._app_backup(tool, root, n)
                except _ToolFailed:
                    pass
                except (RuntimeError, ValueError, KeyError, OSError) as exc:
                    tr.errors.append(f"scan {n}: {exc}")
                    log(f"  {cls.label} FAILED scan {n}: {exc}")
                shutil.rmtree(tool.home, ignore_errors=True)
            shutil.rmtree(root.parent, ignore_errors=True)

    def _copy_reference(self, root: Path, n: int) -> None:
        """`cp -a` of a scan tree: what its full restore is compared with."""
        target = self.work / "restore" / "cp-scan"
        for _ in range(self.cfg.runs if n <= self.cfg.scale.scan_files else 1):
            shutil.rmtree(target, ignore_errors=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            self._settle()
            datagen.warm([root])
            if self.cfg.quiet_wait_s > 0:
                wait_for_quiet(self.cfg.quiet_wait_s)
            start = time.perf_counter()
            proc = subprocess.run(["cp", "-a", str(root), str(target)], capture_output=True)
            wall = time.perf_counter() - start
            if proc.returncode != 0:
                raise SystemExit(f"cp -a failed: {proc.stderr.decode(errors='replace')}")
            self._settle()
            self.result.scan_copy.setdefault(n, []).append(
                Sample(wall_s=wall, user_s=0.0, sys_s=0.0, max_rss_kib=0)
            )
        shutil.rmtree(target, ignore_errors=True)

    def _scan_restore(
        self,
        tool: Tool,
        tr: ToolResult,
        root: Path,
        n: int,
        runs: int,
        expected: dict[str, tuple[int, int]],
    ) -> None:
        """Full restores of the first snapshot of a scan tree, checked file by file."""
        snap = tool.snapshot_ref(1)
        target = self.work / "restore" / f"{tool.key}-scan"
        for _ in range(runs):
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            cmd = tool.restore(snap, target, [])
            self._settle()
            datagen.warm(tool.state_dirs())
            sample = self._measure(tool, tr, f"scan{n}-restore", cmd.argv, cmd.cwd)
            tr.scan.setdefault(n, {}).setdefault("restore", []).append(sample)
            got = _stat_manifest(target / str(root).lstrip("/"))
            if got != expected:
                missing = len(set(expected) - set(got))
                wrong = sum(1 for k, v in expected.items() if k in got and got[k] != v)
                msg = (
                    f"scan {n:,}, {tool.label}, full restore: {missing} files missing,"
                    f" {wrong} with wrong size or mtime, {len(set(got) - set(expected))} extra"
                )
                if msg not in self.result.verification:
                    self.result.verification.append(msg)
                    log(f"  VERIFY {msg}")
        shutil.rmtree(target, ignore_errors=True)

    def _app_backup(self, tool: Tool, root: Path, n: int) -> None:
        """The desktop app's scheduled no-change backup of the scan tree: the vault is
        unlocked once (as the running app keeps it), the backup runs on the app's
        worker thread, and a 10 ms timer on the GUI thread measures how long the
        event loop stalls (tests/bench/app_backup.py)."""
        out = self.work / "logs" / f"app-{n}.json"
        argv = [
            sys.executable, "-m", "tests.bench.app_backup", "--repo", str(tool.vault),
            "--runs", str(self.cfg.runs if n <= self.cfg.scale.scan_files else 1),
            "--out", str(out), str(root),
        ]  # fmt: skip
        env = {**tool.env(), "QT_QPA_PLATFORM": "offscreen"}
        repo = Path(__file__).resolve().parents[2]
        env["PYTHONPATH"] = os.pathsep.join([p for p in (env.get("PYTHONPATH"), str(repo)) if p])
        self._settle()
        datagen.warm([root, *tool.state_dirs()])
        if self.cfg.quiet_wait_s > 0:
            wait_for_quiet(self.cfg.quiet_wait_s)
        proc = subprocess.run(argv, env=env, cwd=repo, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"app backup failed: {last_line(proc.stderr)}")
        import json

        for item in json.loads(out.read_text()):
            item["files"] = n
            self.result.app.append(item)
            log(
                f"  app      no-change {n:,} files {item['wall_s']:7.2f} s wall,"
                f" GUI stall max {item['max_gap_ms']:.0f} ms"
            )

    def _startup(self, active: list[type[Tool]]) -> None:
        """Wall time of the version command: what a user waits before anything happens."""
        for cls in active:
            tr = self.result.tools[cls.key]
            argv = cls.version_argv()
            for _ in range(self.cfg.startup_repeats):
                start = time.perf_counter()
                run_quiet(argv, env=cls.base_env(), cwd=self.work)
                tr.startup_s.append(time.perf_counter() - start)
            log(f"  {cls.label:<8} start-up {sorted(tr.startup_s)[len(tr.startup_s) // 2]:.3f} s")


def _stat_manifest(root: Path) -> dict[str, tuple[int, int]]:
    """relative path -> (size, mtime seconds) of every regular file: the scan trees'
    restore check (their content is checked by the main tree's restores)."""
    out: dict[str, tuple[int, int]] = {}
    if not root.is_dir():
        return out
    for dirpath, _dirs, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for name in files:
            st = os.lstat(os.path.join(dirpath, name))
            out[os.path.normpath(os.path.join(rel, name))] = (st.st_size, int(st.st_mtime))
    return out


def _verify_files(root: Path, want: dict[str, tuple[int, int, bytes]]) -> list[str]:
    """Check the listed files exist under ``root`` with the right size, mtime and content."""
    problems = []
    for rel, (size, mtime, digest) in want.items():
        p = root / rel
        if not p.is_file():
            problems.append(f"{rel} not restored")
            continue
        data = p.read_bytes()
        if len(data) != size or _hasher(data).digest() != digest:
            problems.append(f"{rel} restored with wrong content")
        elif int(p.stat().st_mtime) != mtime:
            problems.append(f"{rel} restored with wrong mtime")
    return problems
