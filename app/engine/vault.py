"""The vault facade: open or create a vault and run jobs on it.

This is the API the CLI and the services layer use, and nothing more: a
``Repository`` does the reading and writing (keys, config, index, snapshots, blobs,
trees), the ``tree`` module resolves paths and walks snapshots, and each job
(backup, restore, check, prune, versions, retention) lives in its own module and
takes the repository. No module below this one imports it (an import-linter layers
contract in pyproject.toml checks that).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.core.cancel import NEVER_CANCELLED, CancelToken
from app.core.errors import AppError, ErrorCode
from app.core.events import (
    BackupResult,
    CheckResult,
    ProgressCallback,
    RestoreResult,
    ignore_progress,
)
from app.core.models import DamagedSnapshot, Entry, FileVersion, SnapshotInfo, VaultStats
from app.engine.cache import Cache
from app.engine.check import run_check
from app.engine.chunker import ChunkerParams
from app.engine.codec import BlobEntry
from app.engine.copy import CopyResult, copy_vault
from app.engine.crypto import Cipher, new_recovery_key
from app.engine.device import device_id
from app.engine.prune import PruneStats, forget_snapshots, run_prune
from app.engine.repository import Repository
from app.engine.restore import restore_one_file, run_restore
from app.engine.retention import RetentionPolicy, apply_policy
from app.engine.tree import Node, list_entries, walk_entries
from app.engine.versions import file_versions
from app.storage.base import Storage


class Vault:
    """One open vault: a ``Repository`` plus the jobs, behind one small API."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo

    # --- lifecycle -------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        storage: Storage,
        passphrase: str,
        cache_root: Path | None = None,
        *,
        like: dict[str, Any] | None = None,
    ) -> tuple[Vault, str]:
        """Write a new vault (keys first, config last) and return it with its recovery key.

        ``like``: another vault's config whose chunker and pack size to reuse (a copy
        into new keys, so later backups find the copied chunks).
        """
        repo, recovery = Repository.create(storage, passphrase, cache_root, like=like)
        return cls(repo), recovery

    @classmethod
    def open(
        cls,
        storage: Storage,
        *,
        passphrase: str | None = None,
        recovery_key: str | None = None,
        cache_root: Path | None = None,
    ) -> Vault:
        return cls(
            Repository.open(
                storage, passphrase=passphrase, recovery_key=recovery_key, cache_root=cache_root
            )
        )

    def close(self) -> None:
        self.repo.close()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the repository's parts that callers (and tests) read ---------------------------

    @property
    def id(self) -> str:
        return self.repo.id

    @property
    def description(self) -> str:
        return self.repo.description

    @property
    def storage(self) -> Storage:
        return self.repo.storage

    @property
    def cipher(self) -> Cipher:
        return self.repo.cipher

    @property
    def cache(self) -> Cache:
        return self.repo.cache

    @property
    def config(self) -> dict[str, Any]:
        return self.repo.config

    @property
    def chunker_params(self) -> ChunkerParams:
        return self.repo.chunker_params

    @property
    def pack_size(self) -> int:
        return self.repo.pack_size

    @property
    def index_problems(self) -> list[str]:
        return self.repo.index_problems

    def sync(self, *, force: bool = False) -> None:
        self.repo.sync(force=force)

    def write_index(self, packs: dict[bytes, list[BlobEntry]]) -> int:
        return self.repo.write_index(packs)

    def write_snapshot(self, doc: dict[str, Any]) -> str:
        return self.repo.write_snapshot(doc)

    def read_blob(self, blob_id: bytes, expected_type: int | None = None) -> bytes:
        return self.repo.read_blob(blob_id, expected_type)

    def load_tree(self, tree_id: bytes) -> list[Node]:
        return self.repo.load_tree(tree_id)

    # --- key management -------------------------------------------------------------------

    def change_passphrase(self, new: str) -> None:
        """Add a key for ``new``, then remove the old passphrase keys (never zero keys)."""
        if not new:
            raise AppError("The new passphrase is empty.", code=ErrorCode.USAGE)
        self.repo.replace_key("passphrase", new)

    def replace_recovery_key(self) -> str:
        recovery = new_recovery_key()
        self.repo.replace_key("recovery", recovery)
        return recovery

    # --- snapshots and browsing ------------------------------------------------------------

    def snapshots(self) -> list[SnapshotInfo]:
        return self.repo.snapshots()

    def damaged_snapshots(self) -> list[DamagedSnapshot]:
        """Snapshot objects that cannot be read (left out of ``snapshots()``); the
        CLI names them on stderr and the desktop app should show them."""
        return self.repo.damaged_snapshots()

    def find_snapshot(self, ref: str) -> SnapshotInfo:
        return self.repo.find_snapshot(ref)

    def list_dir(self, snapshot_id: str, path: str = "/") -> list[Entry]:
        snapshot = self.find_snapshot(snapshot_id)
        entries = list_entries(self.repo, bytes.fromhex(snapshot.tree), path)
        if entries is None:
            raise AppError(
                f"{path} is not in snapshot {snapshot.short_id}.", code=ErrorCode.PATH_NOT_FOUND
            )
        return entries

    def walk(self, snapshot_id: str, path: str | None = None) -> Iterator[Entry]:
        """Every entry under ``path`` (recursively, parents before children)."""
        snapshot = self.find_snapshot(snapshot_id)
        start = path or "/"
        entries = walk_entries(self.repo, bytes.fromhex(snapshot.tree), start)
        if entries is None:
            raise AppError(
                f"{start} is not in snapshot {snapshot.short_id}.", code=ErrorCode.PATH_NOT_FOUND
            )
        yield from entries

    def stats(self) -> VaultStats:
        return self.repo.stats()

    # --- jobs --------------------------------------------------------------------------

    def backup(
        self,
        paths: Sequence[str],
        *,
        excludes: Sequence[str] = (),
        on_progress: ProgressCallback = ignore_progress,
        cancel: CancelToken = NEVER_CANCELLED,
        hostname: str | None = None,
        tags: Sequence[str] = (),
    ) -> BackupResult:
        # Imported here: restores, listings and checks (one process per CLI command)
        # need none of the backup side, whose import is ~25 ms of their start-up.
        from app.engine.backup.job import run_backup

        return run_backup(
            self.repo,
            paths,
            excludes=excludes,
            on_progress=on_progress,
            cancel=cancel,
            hostname=hostname or socket.gethostname(),
            device=device_id(),
            tags=tags,
        )

    def restore(
        self,
        snapshot_id: str,
        target: str,
        paths: Sequence[str] = (),
        *,
        on_progress: ProgressCallback = ignore_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> RestoreResult:
        return run_restore(
            self.repo,
            self.find_snapshot(snapshot_id),
            target,
            paths,
            on_progress=on_progress,
            cancel=cancel,
        )

    def restore_file(
        self, snapshot_id: str, path: str, dest: str, *, cancel: CancelToken = NEVER_CANCELLED
    ) -> None:
        restore_one_file(self.repo, self.find_snapshot(snapshot_id), path, dest, cancel=cancel)

    def versions(self, path: str) -> list[FileVersion]:
        return file_versions(self.repo, path)

    def check(
        self,
        *,
        read_data: bool = False,
        on_progress: ProgressCallback = ignore_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> CheckResult:
        return run_check(self.repo, read_data=read_data, on_progress=on_progress, cancel=cancel)

    def forget(
        self, policy: RetentionPolicy, now: datetime | None = None, host: str | None = None
    ) -> list[SnapshotInfo]:
        """Delete the snapshots ``policy`` does not keep; returns them (data stays until prune).

        ``host`` (a hostname or device-id prefix) limits it to one computer's
        snapshots: the desktop app passes its own device id so it never thins out
        another computer's history.
        """
        candidates = [s for s in self.snapshots() if host is None or s.matches_host(host)]
        _keep, remove = apply_policy(candidates, policy, now or datetime.now(UTC))
        forget_snapshots(self.repo, remove)
        return remove

    def copy_to(
        self,
        dest: Vault,
        *,
        on_snapshot: Callable[[int, int], None] | None = None,
        on_bytes: Callable[[int], None] | None = None,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> CopyResult:
        """Copy every snapshot into ``dest``, a vault with other keys (``app.engine.copy``)."""
        return copy_vault(
            self.repo, dest.repo, on_snapshot=on_snapshot, on_bytes=on_bytes, cancel=cancel
        )

    def prune(
        self,
        *,
        on_progress: ProgressCallback = ignore_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> PruneStats:
        return run_prune(self.repo, on_progress=on_progress, cancel=cancel)
