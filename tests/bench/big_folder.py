"""One folder of 1,000,000 entries with long names: backup, list, restore (issue 11 item 1).

Not part of ``make test`` (it takes minutes and a million inodes). Run:

    .venv/bin/python -m tests.bench.big_folder [--entries N] [--name-length L] [--work DIR]

It creates ``N`` empty files with ``L``-character names in one folder, backs the
folder up into a new local vault (real key derivation, default settings), restores
it, and prints the times, the peak memory and how the listing was stored (how many
parts). Everything it made is deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from app.engine import codec
from app.engine.tree import resolve
from app.engine.vault import Vault
from app.storage.local import LocalStorage


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.big_folder")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--name-length", type=int, default=200)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="keepsake-big-folder-", dir=args.work))
    os.environ.setdefault("KEEPSAKE_CONFIG_DIR", str(work / "config"))
    try:
        src = work / "src" / "big"
        src.mkdir(parents=True)
        started = time.monotonic()
        fd = os.open(src, os.O_RDONLY)
        try:
            for i in range(args.entries):
                name = f"{i:07d}-".ljust(args.name_length, "n")
                os.close(os.open(name, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
        finally:
            os.close(fd)
        print(f"created {args.entries:,} files in {time.monotonic() - started:.1f} s")
        (work / "vault").mkdir()
        vault, _recovery = Vault.create(
            LocalStorage(work / "vault"), "big folder bench", cache_root=work / "cache"
        )
        with vault:
            t = time.monotonic()
            result = vault.backup([str(src)])
            backup_s = time.monotonic() - t
            print(
                f"backup: {backup_s:.1f} s, {result.files_new:,} files, "
                f"{result.bytes_uploaded / 2**20:.1f} MiB uploaded, peak RSS "
                f"{_peak_rss_mib():.0f} MiB"
            )
            snap = vault.snapshots()[-1]
            node = resolve(vault.repo, bytes.fromhex(snap.tree), str(src))
            assert node is not None
            t = time.monotonic()
            nodes = vault.repo.load_tree(node.subtree_id())
            parts = vault.repo.tree_parts.get(node.subtree_id(), ())
            listing = len(codec.encode_tree(nodes))
            print(
                f"listing: {len(nodes):,} entries, {listing / 2**20:.1f} MiB of JSON in "
                f"{len(parts)} parts (split above {codec.TREE_SPLIT_BYTES / 2**20:.0f} MiB); "
                f"read in {time.monotonic() - t:.1f} s"
            )
            t = time.monotonic()
            again = vault.backup([str(src)])
            print(f"no-change backup: {time.monotonic() - t:.1f} s, {again.bytes_uploaded:,} bytes")
            t = time.monotonic()
            restored = vault.restore("latest", str(work / "target"))
            print(
                f"restore: {time.monotonic() - t:.1f} s, {restored.files_restored:,} files, "
                f"{len(restored.warnings)} warnings, peak RSS {_peak_rss_mib():.0f} MiB"
            )
            got = len(os.listdir(work / "target" / str(src).lstrip("/")))
            assert got == args.entries, f"restored {got} of {args.entries}"
            t = time.monotonic()
            check = vault.check()
            print(f"check: {time.monotonic() - t:.1f} s, ok={check.ok}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
