"""Measure the Dropbox backend: API calls per GiB backed up, and upload rate through
the emulator compared with the local-folder backend, on the same data.

    python -m tests.dropbox_emulator.measure --size-mib 1024

The data is a photo-library-like mix (mostly 2-12 MiB incompressible "photos",
plus small documents). Each run backs the tree up with the real engine into
(a) a local folder and (b) the emulator over HTTPS, then runs a no-change backup
and a full restore on the emulator, and prints the calls per route. The passphrase
KDF is the real one; the numbers in docs/DROPBOX.md come from this script.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from app.engine.vault import Vault
from app.storage.dropbox.factory import DropboxRetryingStorage
from app.storage.local import LocalStorage
from app.storage.retry import RetryingStorage
from tests.dropbox_emulator.helpers import storage_on
from tests.dropbox_emulator.server import DropboxEmulator

MiB = 1024 * 1024
GiB = 1024 * MiB


def make_data(root: Path, size: int, seed: int = 1) -> tuple[int, int]:
    rng = random.Random(seed)
    total = files = 0
    while total < size:
        if rng.random() < 0.8:
            n = rng.randint(2 * MiB, 12 * MiB)
            path = root / "photos" / f"{files // 100:03d}" / f"img_{files:05d}.jpg"
        else:
            n = rng.randint(4_000, 200_000)
            path = root / "docs" / f"{files // 100:03d}" / f"doc_{files:05d}.txt"
        n = min(n, size - total) or 1
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(n))
        total += n
        files += 1
    return total, files


def timed_backup(storage: Any, src: Path, cache: Path) -> tuple[float, Vault]:
    vault, _ = Vault.create(storage, "measure", cache_root=cache)
    start = time.perf_counter()
    vault.backup([str(src)])
    return time.perf_counter() - start, vault


def raw_put_rate(storage: Any, count: int = 32, size: int = 16 * MiB) -> float:
    """MiB/s putting ``count`` pack-sized objects from 4 threads (as the engine does)."""
    blob = random.Random(5).randbytes(size)
    start = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: storage.put(f"data/{i:02x}/{i:064x}", blob), range(count)))
    return count * size / MiB / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.dropbox_emulator.measure")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args(argv)

    work = Path(args.workdir or tempfile.mkdtemp(prefix="keepsake-dbx-measure-"))
    src = work / "src"
    size, files = make_data(src, args.size_mib * MiB)
    gib = size / GiB
    report: dict[str, Any] = {"bytes": size, "files": files}

    local_root = work / "local-vault"
    local_root.mkdir()
    local = RetryingStorage(LocalStorage(local_root))
    seconds, vault = timed_backup(local, src, work / "cache-local")
    vault.close()
    report["local"] = {"seconds": round(seconds, 2), "mib_per_s": round(size / MiB / seconds, 1)}

    with DropboxEmulator(work / "emulator") as emulator:
        storage = DropboxRetryingStorage(storage_on(emulator, timeout=100.0))
        emulator.reset_stats()
        seconds, vault = timed_backup(storage, src, work / "cache-dbx")
        stats = emulator.stats()
        report["dropbox"] = {
            "seconds": round(seconds, 2),
            "mib_per_s": round(size / MiB / seconds, 1),
            "calls": stats["calls"],
            "total_calls": stats["total_calls"],
            "calls_per_gib": round(stats["total_calls"] / gib, 1),
            "uploaded_bytes": stats["bytes_uploaded"],
        }
        emulator.reset_stats()
        start = time.perf_counter()
        vault.backup([str(src)])
        report["no_change_backup"] = {
            "seconds": round(time.perf_counter() - start, 2),
            "calls": emulator.stats()["calls"],
        }
        emulator.reset_stats()
        start = time.perf_counter()
        latest = vault.snapshots()[-1].id
        vault.restore(latest, str(work / "restore"))
        seconds = time.perf_counter() - start
        stats = emulator.stats()
        report["restore"] = {
            "seconds": round(seconds, 2),
            "mib_per_s": round(size / MiB / seconds, 1),
            "calls": stats["calls"],
            "calls_per_gib": round(stats["total_calls"] / gib, 1),
        }
        vault.close()
        storage.close()
    raw_local = work / "raw-local"
    raw_local.mkdir()
    report["raw_put_16mib_x32"] = {
        "local_mib_per_s": round(raw_put_rate(LocalStorage(raw_local)), 1)
    }
    with DropboxEmulator(work / "emulator-raw") as emulator:
        dbx = storage_on(emulator, timeout=100.0)
        report["raw_put_16mib_x32"]["dropbox_mib_per_s"] = round(raw_put_rate(dbx), 1)
        report["raw_put_16mib_x32"]["calls"] = emulator.stats()["calls"]
        dbx.close()
    print(json.dumps(report, indent=2))
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
