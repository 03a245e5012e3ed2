"""``python -m tests.bench``: the side-by-side benchmark (``make bench``).

Defaults reproduce the performance issue's setup: 1 GiB / 10,000 files plus 200,000
small files, Keepsake, restic and Borg, three runs, everything on tmpfs. ``--quick``
is a smoke run small enough to iterate on the engine.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from tests.bench import datagen, peers, profiling, report
from tests.bench.runner import BenchConfig, Runner, load_result, log
from tests.bench.tools import TOOLS

REPO = Path(__file__).resolve().parents[2]
TMPFS_WORK = Path("/dev/shm/keepsake-bench")
DISK_WORK = REPO / "bench-work" / "work"
DOC = REPO / "docs" / "PERFORMANCE.md"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m tests.bench",
        description="Benchmark Keepsake against restic and Borg and write docs/PERFORMANCE.md.",
    )
    p.add_argument(
        "--tools",
        default="keepsake,keepsake-s3,restic,borg",
        help="comma-separated subset of keepsake,keepsake-s3,restic,borg (default: all;"
        " keepsake-s3 is Keepsake with its vault on a loopback S3 server)",
    )
    p.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="data size factor: 1.0 = 1 GiB / 10,000 files + 200,000 small files",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 50 MiB / 500 files + 5,000 small files, 1 run, no document written",
    )
    p.add_argument("--runs", type=int, help="runs per step (default 3; 1 with --quick)")
    p.add_argument(
        "--on-disk",
        action="store_true",
        help=f"data, vaults and restores on disk under {DISK_WORK.relative_to(REPO)}/ (default: tmpfs)",
    )
    p.add_argument("--work-dir", type=Path, help="override the work directory")
    p.add_argument("--seed", type=int, default=1, help="data generator seed (default 1)")
    p.add_argument("--no-scan", action="store_true", help="skip the many-small-files scan case")
    p.add_argument(
        "--huge",
        nargs="?",
        type=int,
        const=1_000_000,
        default=0,
        metavar="FILES",
        help="also run the many-small-files case at 1,000,000 files (or FILES): initial,"
        " no-change and full restore with peak RSS, one run each (long: ~30 min)",
    )
    p.add_argument(
        "--no-app",
        action="store_true",
        help="skip the desktop app's no-change backup (worker thread, GUI heartbeat)",
    )
    p.add_argument("--keep", action="store_true", help="keep the work directory (debugging)")
    p.add_argument("--step-timeout", type=float, default=3600.0, help="seconds per step")
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=10.0,
        help="before each step, wait up to this many seconds for other processes to use"
        " < 0.3 cores (default 10; 0 disables)",
    )
    write = p.add_mutually_exclusive_group()
    write.add_argument("--write", action="store_true", help="write the document even with --quick")
    write.add_argument(
        "--no-write", action="store_true", help="print only, do not write the document"
    )
    p.add_argument("--output", type=Path, default=DOC, help="document to write")
    p.add_argument("--json", type=Path, help="also dump all raw samples to this JSON file")
    p.add_argument(
        "--from-json",
        type=Path,
        help="do not measure: re-render (and write) the report from an earlier --json dump",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="profile Keepsake's backups with py-spy/pyinstrument instead of benchmarking",
    )
    p.add_argument("--profile-rate", type=int, default=250, help="py-spy samples per second")
    p.add_argument("--native", action="store_true", help="py-spy: include native frames")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--browser" in argv:  # the version browser's own benchmark (tests/bench/browser.py)
        from tests.bench import browser

        return browser.main([a for a in argv if a != "--browser"])
    args = parse_args(argv)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = [t for t in tools if t not in TOOLS]
    if unknown or not tools:
        print(f"unknown tool(s) {unknown}; choose from {', '.join(TOOLS)}", file=sys.stderr)
        return 2
    scale = datagen.QUICK if args.quick else datagen.Scale.from_factor(args.scale)
    runs = args.runs if args.runs is not None else (1 if args.quick else 3)
    if runs < 1:
        print("--runs must be at least 1", file=sys.stderr)
        return 2
    mode = "disk" if args.on_disk else "tmpfs"
    work = args.work_dir or (DISK_WORK if args.on_disk else TMPFS_WORK)

    if args.profile:
        return profiling.profile(
            scale, args.seed, work, REPO / "bench-work" / "profile", args.profile_rate, args.native
        )

    if args.from_json:
        result = load_result(args.from_json)
        print(report.results_section(result))
        if not args.no_write:
            report.write_document(args.output, result)
            log(f"wrote {args.output}")
        return 0

    available = peers.ensure_peers([t for t in tools if not t.startswith("keepsake")])
    for name, ok in available.items():
        if not ok:
            log(
                f"{name} is not installed and could not be installed; it will be reported as not run"
            )

    cfg = BenchConfig(
        tools=tools,
        scale=scale,
        runs=runs,
        work_dir=work,
        mode=mode,
        seed=args.seed,
        scan=not args.no_scan,
        keep=args.keep,
        step_timeout_s=args.step_timeout,
        quiet_wait_s=args.quiet_wait,
        huge_files=args.huge,
        app=not args.no_app,
    )
    result = Runner(cfg).run()
    section = report.results_section(result)
    print()
    print(section)
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=1, default=str))
    if args.write or (not args.quick and not args.no_write):
        report.write_document(args.output, result)
        log(f"wrote {args.output}")
    else:
        log("document not written (--quick or --no-write; pass --write to force)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
