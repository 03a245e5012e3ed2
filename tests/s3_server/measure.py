"""Measure the S3 backend: API calls and bytes per GiB backed up, and the rates through
the loopback S3 server (``rclone serve s3``) next to the local-folder backend.

    python -m tests.s3_server.measure --size-mib 1024

Same photo-library-like data as the Dropbox measurement. The engine, KDF and boto3
are the real ones; the calls are counted by the backend itself (one per S3 request,
by operation), the bytes are request and response bodies. docs/S3.md quotes it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from app.engine.vault import Vault
from app.storage.local import LocalStorage
from app.storage.retry import RetryingStorage
from app.storage.s3.backend import S3Storage
from app.storage.s3.config import parse_location
from tests.dropbox_emulator.measure import make_data, raw_put_rate
from tests.s3_server.client import settings_for
from tests.s3_server.server import BUCKET, RcloneS3

MiB = 1024 * 1024
GiB = 1024 * MiB


def snapshot(storage: S3Storage) -> dict[str, Any]:
    return {
        "calls": dict(storage.calls),
        "total": sum(storage.calls.values()),
        "sent": storage.bytes_sent,
        "received": storage.bytes_received,
    }


def delta(before: dict[str, Any], after: dict[str, Any], gib: float) -> dict[str, Any]:
    calls = {k: v - before["calls"].get(k, 0) for k, v in after["calls"].items()}
    calls = {k: v for k, v in sorted(calls.items()) if v}
    total = after["total"] - before["total"]
    return {
        "calls": calls,
        "total_calls": total,
        "calls_per_gib": round(total / gib, 1),
        "mib_sent_per_gib": round((after["sent"] - before["sent"]) / MiB / gib, 1),
        "mib_received_per_gib": round((after["received"] - before["received"]) / MiB / gib, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.s3_server.measure")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args(argv)

    work = Path(args.workdir or tempfile.mkdtemp(prefix="keepsake-s3-measure-"))
    src = work / "src"
    size, files = make_data(src, args.size_mib * MiB)
    gib = size / GiB
    report: dict[str, Any] = {"bytes": size, "files": files}

    local_root = work / "local-vault"
    local_root.mkdir()
    local = RetryingStorage(LocalStorage(local_root))
    vault, _ = Vault.create(local, "measure", cache_root=work / "cache-local")
    start = time.perf_counter()
    vault.backup([str(src)])
    seconds = time.perf_counter() - start
    latest = vault.snapshots()[-1].id
    start = time.perf_counter()
    vault.restore(latest, str(work / "restore-local"))
    restore_seconds = time.perf_counter() - start
    vault.close()
    shutil.rmtree(work / "restore-local")
    report["local"] = {
        "backup_mib_per_s": round(size / MiB / seconds, 1),
        "restore_mib_per_s": round(size / MiB / restore_seconds, 1),
    }

    with RcloneS3(work / "s3" / "root") as server:
        inner = S3Storage(parse_location(f"{BUCKET}/vault"), settings=settings_for(server.endpoint))
        storage = RetryingStorage(inner)
        start_counts = snapshot(inner)
        vault, _ = Vault.create(storage, "measure", cache_root=work / "cache-s3")
        start = time.perf_counter()
        vault.backup([str(src)])
        seconds = time.perf_counter() - start
        after_backup = snapshot(inner)
        report["init_and_backup"] = {
            **delta(start_counts, after_backup, gib),
            "mib_per_s": round(size / MiB / seconds, 1),
        }
        start = time.perf_counter()
        vault.backup([str(src)])
        after_nochange = snapshot(inner)
        report["no_change_backup"] = {
            **delta(after_backup, after_nochange, gib),
            "seconds": round(time.perf_counter() - start, 2),
        }
        latest = vault.snapshots()[-1].id
        vault.close()
        # A fresh cache, as on a new computer: the restore reads everything back.
        before_restore = snapshot(inner)
        with Vault.open(storage, passphrase="measure", cache_root=work / "cache-s3-2") as again:
            start = time.perf_counter()
            again.restore(latest, str(work / "restore"))
            seconds = time.perf_counter() - start
        report["open_and_restore"] = {
            **delta(before_restore, snapshot(inner), gib),
            "mib_per_s": round(size / MiB / seconds, 1),
        }
        shutil.rmtree(work / "restore")
        before_check = snapshot(inner)
        with Vault.open(storage, passphrase="measure", cache_root=work / "cache-s3-2") as again:
            check = again.check(read_data=True)
        assert check.ok, check.problems
        report["check_read_data"] = delta(before_check, snapshot(inner), gib)
        raw = S3Storage(parse_location(f"{BUCKET}/raw"), settings=settings_for(server.endpoint))
        report["raw_put_16mib_x32_mib_per_s"] = {
            "local": round(raw_put_rate(LocalStorage(_mkdir(work / "raw-local"))), 1),
            "s3": round(raw_put_rate(raw), 1),
        }
        raw.close()
        storage.close()
    print(json.dumps(report, indent=2))
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


if __name__ == "__main__":
    raise SystemExit(main())
