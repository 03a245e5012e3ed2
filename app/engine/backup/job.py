"""One backup run: take the shared lock, walk, flush, commit the snapshot.

Ordering is the crash-safety argument (docs/FORMAT.md): packs, then the index
objects naming them, then the snapshot. Whatever finished before a failure or a
cancel is indexed on the way out, so a rerun reuses it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from app import __version__
from app.core.cancel import CancelToken
from app.core.errors import AppError, ErrorCode
from app.core.events import BackupResult, Phase, ProgressCallback
from app.engine.backup.blobs import adopt_orphan_packs
from app.engine.backup.scan import count_files, normalize_roots, previous_totals
from app.engine.backup.walker import Walker
from app.engine.locks import VaultLock
from app.engine.progress import ProgressMeter
from app.engine.repository import Repository


def run_backup(
    repo: Repository,
    paths: Sequence[str],
    *,
    excludes: Sequence[str],
    on_progress: ProgressCallback,
    cancel: CancelToken,
    hostname: str,
    device: str,
    tags: Sequence[str] = (),
) -> BackupResult:
    started = time.monotonic()
    roots = normalize_roots(paths)
    if not roots:
        raise AppError("Nothing to back up: give at least one folder.", code=ErrorCode.USAGE)
    missing = [r for r in roots if not os.path.lexists(r)]
    if len(missing) == len(roots):
        raise AppError(
            f"{os.fsdecode(missing[0])} does not exist; nothing was backed up.",
            code=ErrorCode.PATH_NOT_FOUND,
        )
    meter = ProgressMeter(on_progress, Phase.OPENING)
    meter.emit(force=True)
    with VaultLock(repo.storage, repo.cipher, exclusive=False) as lock:
        # Sync only once the shared lock is held, and always: a prune by another device
        # that finished before our lock (or since a long-running process last synced)
        # may have deleted blobs the cache still lists; deduplicating against those
        # would commit a snapshot that references missing data.
        repo.sync(force=True)
        adopt_orphan_packs(repo)
        walker = Walker(repo, roots, excludes, meter, cancel)
        previous = previous_totals(repo, roots)
        if previous is not None:
            meter.files_total, meter.bytes_total = previous
        else:
            meter.files_total = count_files(roots, excludes, cancel)
            walker.estimate_bytes = True
        meter.emit(force=True, phase=Phase.BACKING_UP)
        repo.cache.begin()
        try:
            root_tree = walker.run()
            meter.emit(force=True, phase=Phase.FINISHING)
            walker.sink.flush()
            walker.sink.collect_packs(force=True)
        except BaseException:
            walker.abort.set()  # stops the readers still running
            repo.cache.commit()  # what was indexed stays valid (content-addressed)
            # Keep what finished: index the packs already stored so a rerun reuses them.
            with contextlib.suppress(BaseException):
                walker.sink.flush()
            with contextlib.suppress(BaseException):
                walker.sink.collect_packs(force=True)
            raise
        finally:
            walker.abort.set()
            walker.sink.close()
        doc = {
            "v": 1,
            "time": datetime.now(UTC).isoformat(),
            "hostname": hostname or socket.gethostname(),
            "device_id": device,
            "paths": [os.fsdecode(r) for r in roots],
            "excludes": list(excludes),
            "tree": root_tree.hex(),
            "files": walker.total_files,
            "bytes": walker.total_bytes,
            "tags": list(tags),
            "program": f"keepsake {__version__}",
        }
        try:
            lock.ensure_held()  # a prune may have run while we were suspended
            snapshot_id = repo.write_snapshot(doc)
        finally:
            repo.cache.commit()
    meter.files_total = walker.total_files
    meter.bytes_total = walker.total_bytes
    meter.emit(final=True)
    return BackupResult(
        snapshot_id=snapshot_id,
        files_new=walker.files_new,
        files_changed=walker.files_changed,
        files_unchanged=walker.files_unchanged,
        dirs=walker.dirs,
        bytes_read=walker.bytes_read,
        bytes_added=walker.bytes_added,
        bytes_uploaded=walker.sink.packer.bytes_written + walker.sink.index_bytes,
        bytes_total=walker.total_bytes,
        duration_s=time.monotonic() - started,
        warnings=tuple(walker.warnings),
        notes=tuple(walker.notes),
    )
