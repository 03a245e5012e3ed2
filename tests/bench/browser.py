"""The version browser's benchmark (``make bench BENCH_ARGS=--browser``).

A generated vault of 100,000 files in 2,000 folders and 50 backups (each changing,
adding and deleting a few hundred files), then the Versions page opened the way
``keepsake gui --browse REPO`` opens it, offscreen, in a fresh process, measuring:

* unlock -> first rows of the tree (from the moment the vault is open; the key
  derivation before it is reported apart), with an empty cache (first time on this
  computer) and with the cache and catalog a first run left (every later time);
* search results (typing to the filtered tree shown), after indexing;
* a file's version list (select a file by path -> its distinct versions shown);
* the longest GUI-thread stall while the page loads, indexes, searches and lists
  (a 10 ms QTimer heartbeat);
* page memory (RSS growth from before the window to the end) and peak RSS.

The figures go to docs/PERFORMANCE.md between ``<!-- browser -->`` markers inside
the hand-written notes (which the main benchmark keeps).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / "docs" / "PERFORMANCE.md"
PASSPHRASE = "bench browser passphrase"
START, END = "<!-- browser -->", "<!-- /browser -->"
NOTES_END = "<!-- /notes -->"
TARGETS = {
    "first_rows_s": 1.0,
    "search_s": 0.2,
    "versions_s": 0.3,
    "stall_s": 0.1,
    "page_mib": 100.0,
}


def log(text: str) -> None:
    print(f"[browser bench] {text}", file=sys.stderr, flush=True)


# -- the vault ------------------------------------------------------------------------


def generate(work: Path, files: int, backups: int, seed: int) -> tuple[Path, Path, str]:
    """Source tree + vault with ``backups`` backups; returns (repo, source, a file)."""
    from app.engine.vault import Vault
    from app.storage.local import LocalStorage

    src = work / "home" / "ann"
    repo = work / "vault"
    stamp = work / f"done-{files}-{backups}-{seed}"
    middle = files // 50 // 2
    probe = src / f"Folder {middle // 40:04}" / f"Album {middle % 40:02}" / "file 00012.txt"
    if stamp.exists():
        return repo, src, str(probe)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    rnd = random.Random(seed)
    per_folder = 50
    folders = files // per_folder
    paths: list[Path] = []
    for f in range(folders):
        d = src / f"Folder {f // 40:04}" / f"Album {f % 40:02}"
        d.mkdir(parents=True, exist_ok=True)
        for i in range(per_folder):
            p = d / f"file {i:05}.txt"
            p.write_bytes(rnd.randbytes(64) + f"{p.name}\n".encode())
            paths.append(p)
    log(f"{len(paths):,} files written; backing up {backups} times")
    repo.mkdir()
    vault, _ = Vault.create(LocalStorage(str(repo)), PASSPHRASE, cache_root=work / "gen-cache")
    try:
        for n in range(backups):
            t = time.monotonic()
            if n:
                for p in rnd.sample(paths, 200):  # edits
                    if p.exists():
                        p.write_bytes(rnd.randbytes(80))
                for p in rnd.sample(paths, 20):  # deletions
                    if p.exists() and p != probe:
                        p.unlink()
                for i in range(20):  # additions
                    p = src / "Folder 0001" / "Album 01" / f"new {n:02}-{i:02}.txt"
                    p.write_bytes(rnd.randbytes(40))
                probe.write_bytes(f"version {n}\n".encode())
            vault.backup([str(src)])
            log(f"backup {n + 1}/{backups}: {time.monotonic() - t:.1f} s")
    finally:
        vault.close()
    stamp.touch()
    return repo, src, str(probe)


# -- one measured session (runs in its own process) -------------------------------------


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(repo: str, probe: str) -> dict[str, Any]:
    """Open the browse window on ``repo`` and time what a person waits for."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer

    from app.devtools.screenshots import wait_until
    from app.main import GUI_SWITCH_INTERVAL_S, browse_window, make_qapp
    from app.services.gc_guard import GuiThreadGc

    qapp = make_qapp()
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)  # as run_browse does
    collector = GuiThreadGc(parent=qapp)
    collector.start()
    import app.engine.browse
    import app.engine.vault  # noqa: F401

    before = rss_mib()
    gaps: list[float] = []
    last = [time.perf_counter()]
    phase = ["unlock"]
    worst: dict[str, float] = {}

    def beat() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        worst[phase[0]] = max(worst.get(phase[0], 0.0), now - last[0])
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setInterval(10)
    heartbeat.timeout.connect(beat)
    heartbeat.start()
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    last[0] = t0
    window = browse_window(repo, PASSPHRASE)
    page = window.page
    opened: list[float] = []
    window.vaults.openedChanged.connect(lambda _: opened.append(time.perf_counter()))
    if not wait_until(lambda: bool(opened), 120_000):
        raise RuntimeError("the vault did not open")
    out["unlock_s"] = opened[0] - t0
    out["unlock_stall_s"] = max(gaps) if gaps else 0.0  # key derivation, not the page
    gaps.clear()
    phase[0] = "first rows"
    cpu = time.process_time()
    if not wait_until(lambda: page.browser.ready and page.model.rowCount() > 0, 300_000):
        raise RuntimeError("no rows")
    out["first_rows_s"] = time.perf_counter() - opened[0]
    phase[0] = "indexing"
    if not wait_until(lambda: page.browser.indexed, 900_000):
        raise RuntimeError("indexing did not finish")
    out["indexed_s"] = time.perf_counter() - opened[0]
    out["indexed_cpu_s"] = time.process_time() - cpu  # all threads: load-independent
    # search: type, then the debounce is skipped so the figure is the work itself
    phase[0] = "search"
    t = time.perf_counter()
    cpu = time.process_time()
    page.search.setText("file 00012")
    page._run_search()
    if not wait_until(lambda: page.search_result is not None, 60_000):
        raise RuntimeError("no search result")
    if not wait_until(lambda: page.model.rowCount() > 0 and _search_shown(page), 60_000):
        raise RuntimeError("search rows not shown")
    out["search_s"] = time.perf_counter() - t
    out["search_cpu_s"] = time.process_time() - cpu
    out["search_matches"] = len(page.search_result.matches) if page.search_result else 0
    page.search.clear()
    page._run_search()
    wait_until(lambda: page.search_result is None and page.model.rowCount() > 0, 60_000)
    # version list of one file, selected by its path (as a drop does)
    phase[0] = "versions"
    t = time.perf_counter()
    cpu = time.process_time()
    page.select_path(probe)
    if not wait_until(lambda: page.history_model.rowCount() > 0, 60_000):
        raise RuntimeError(f"no versions: {page.status.text()}")
    out["versions_s"] = time.perf_counter() - t
    out["versions_cpu_s"] = time.process_time() - cpu
    out["versions_rows"] = page.history_model.rowCount()
    # and again, for a file in a folder already shown
    t = time.perf_counter()
    sibling = str(Path(probe).with_name("file 00013.txt"))
    page.select_path(sibling)
    wait_until(
        lambda: (
            page.selected_entry() is not None
            and page.selected_entry().path == sibling  # type: ignore[union-attr]
            and page.history_model.rowCount() > 0
        ),
        60_000,
    )
    out["versions_again_s"] = time.perf_counter() - t
    heartbeat.stop()
    out["stall_s"] = max(gaps) if gaps else 0.0
    out["stall_by_phase"] = {k: round(v, 3) for k, v in worst.items()}
    out["page_mib"] = rss_mib() - before
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    window.close()
    return out


def _search_shown(page: Any) -> bool:
    result = page.search_result
    if result is None:
        return False
    return all(page.model.index_of(node).isValid() for node in result.matches[:1])


# -- orchestration ----------------------------------------------------------------------


def run_session(repo: Path, probe: str, cache: Path) -> dict[str, Any]:
    env = dict(os.environ)
    env.update(
        KEEPSAKE_CACHE_DIR=str(cache),
        KEEPSAKE_CONFIG_DIR=str(cache.parent / "config"),
        KEEPSAKE_LOG_DIR=str(cache.parent / "log"),
        QT_QPA_PLATFORM="offscreen",
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    load_before = os.getloadavg()[0]
    proc = subprocess.run(
        [sys.executable, "-m", "tests.bench.browser", "--measure", str(repo), probe],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"measuring failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["load"] = (load_before, os.getloadavg()[0])  # 1-minute load average
    return result


def render(cold: dict[str, Any], warm: list[dict[str, Any]], files: int, backups: int) -> str:
    def med(key: str) -> float:
        values = sorted(w[key] for w in warm)
        return float(values[len(values) // 2])

    def ok(key: str, value: float) -> str:
        return "yes" if value < TARGETS[key] else "**no**"

    rows = [
        ("Unlock -> first rows", "first_rows_s", "< 1 s", "s"),
        ("Search results (typing -> rows)", "search_s", "< 200 ms", "ms"),
        ("A file's version list (path -> rows)", "versions_s", "< 300 ms", "ms"),
        ("Longest GUI-thread stall", "stall_s", "< 100 ms", "ms"),
        ("Page memory (RSS growth)", "page_mib", "< 100 MiB", "MiB"),
    ]

    def fmt(value: float, unit: str) -> str:
        if unit == "ms":
            return f"{value * 1000:.0f} ms"
        if unit == "s":
            return f"{value:.2f} s"
        return f"{value:.0f} MiB"

    lines = [
        START,
        "### Version browser (`make bench BENCH_ARGS=--browser`)",
        "",
        f"A generated vault of {files:,} files in {files // 50:,} folders and {backups} backups"
        " (each edits 200, deletes 20 and adds 20 files), opened offscreen by"
        " `app.main.browse_window` in a fresh process. *Warm*: the cache and the"
        " browser's catalog a first run left (every later start); median of"
        f" {len(warm)} runs. *Cold*: an empty cache dir (the first time on a computer:"
        " the vault's index and backup list are read, and every path is indexed in the"
        " background). Unlock (key derivation) took"
        f" {med('unlock_s'):.2f} s warm and is not counted in the first rows.",
        "",
        "| Step | Target | Warm | Target met | Cold |",
        "|---|---|---|---|---|",
    ]
    for label, key, target, unit in rows:
        value = med(key)
        lines.append(
            f"| {label} | {target} | {fmt(value, unit)} | {ok(key, value)} |"
            f" {fmt(float(cold[key]), unit)} |"
        )
    loads = [x for run in [cold, *warm] for x in run.get("load", ())]
    lines += [
        f"| Search, CPU time of the process (all threads) | – |"
        f" {med('search_cpu_s') * 1000:.0f} ms | – | {float(cold['search_cpu_s']) * 1000:.0f} ms |",
        f"| Version list, CPU time of the process | – |"
        f" {med('versions_cpu_s') * 1000:.0f} ms | – |"
        f" {float(cold['versions_cpu_s']) * 1000:.0f} ms |",
        f"| Every path indexed for search (after open) | – | {med('indexed_s'):.2f} s | – |"
        f" {float(cold['indexed_s']):.2f} s (CPU {float(cold['indexed_cpu_s']):.1f} s) |",
        f"| Version list, a second file in the same folder | – |"
        f" {med('versions_again_s') * 1000:.0f} ms | – |"
        f" {float(cold['versions_again_s']) * 1000:.0f} ms |",
        f"| Peak RSS of the whole process | – | {med('peak_rss_mib'):.0f} MiB | – |"
        f" {float(cold['peak_rss_mib']):.0f} MiB |",
        "",
        f"Search for `file 00012` found {cold['search_matches']} matches (the first 200"
        f" are shown); the probed file has {cold['versions_rows']} distinct versions."
        f" 1-minute load average of the 2-core machine during the runs:"
        f" {min(loads, default=0):.1f}-{max(loads, default=0):.1f}; wall times scale"
        " with it, CPU times much less.",
        END,
    ]
    return "\n".join(lines)


def write(doc: Path, section: str) -> None:
    text = doc.read_text() if doc.exists() else ""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        text = head + section + tail
    elif NOTES_END in text:
        text = text.replace(NOTES_END, section + "\n" + NOTES_END, 1)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(text)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.bench --browser")
    p.add_argument("--measure", nargs=2, metavar=("REPO", "FILE"), help=argparse.SUPPRESS)
    p.add_argument("--files", type=int, default=100_000)
    p.add_argument("--backups", type=int, default=50)
    p.add_argument("--runs", type=int, default=3, help="warm runs (default 3)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--work-dir", type=Path, default=REPO_ROOT / "bench-work" / "browser", help="kept"
    )
    p.add_argument("--no-write", action="store_true", help="print only")
    p.add_argument("--output", type=Path, default=DOC)
    args = p.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure[0], args.measure[1])))
        return 0
    repo, _src, probe = generate(args.work_dir / "data", args.files, args.backups, args.seed)
    caches = args.work_dir / "sessions"
    shutil.rmtree(caches, ignore_errors=True)
    log("cold run (empty cache)")
    cold = run_session(repo, probe, caches / "one" / "cache")
    log(json.dumps(cold))
    warm = []
    for n in range(args.runs):
        log(f"warm run {n + 1}/{args.runs}")
        warm.append(run_session(repo, probe, caches / "one" / "cache"))
        log(json.dumps(warm[-1]))
    section = render(cold, warm, args.files, args.backups)
    print(section)
    if not args.no_write:
        write(args.output, section)
        log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
