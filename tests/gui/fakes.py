"""A fake engine for fast service/UI tests (the end-to-end tests use the real one).

:class:`FakeGateway` is a :class:`app.services.vault.VaultGateway` and
:class:`FakeVault` a :class:`app.services.vault.VaultLike`; mypy checks both where
the tests pass them in.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from app.core.cancel import CancelToken
from app.core.errors import AppError, VaultNotFoundError, WrongPasswordError
from app.core.events import (
    BackupResult,
    CheckResult,
    Phase,
    Progress,
    ProgressCallback,
    RestoreResult,
)
from app.core.models import (
    DamagedSnapshot,
    Entry,
    EntryType,
    FileVersion,
    SnapshotInfo,
    VaultStats,
)
from app.services.vault import CopyReport, VaultLike, WaitListener
from app.store.settings import Retention


class FakeVault:
    def __init__(self, store: FakeGateway, repo: str) -> None:
        self._store = store
        self.repo = repo
        self.id = store.ids[repo]
        self.description = repo
        self.thread_ids: set[int] = set()

    def _mark(self) -> None:
        self.thread_ids.add(threading.get_ident())

    def backup(
        self,
        paths: Sequence[str],
        *,
        excludes: Sequence[str] = (),
        on_progress: ProgressCallback,
        cancel: CancelToken,
    ) -> BackupResult:
        self._mark()
        if not Path(self.repo).exists():
            raise VaultNotFoundError(f"The backup at {self.repo} is not there any more.")
        files = [str(p) for root in paths for p in sorted(Path(root).rglob("*")) if p.is_file()]
        steps = self._store.steps
        total = sum(os.path.getsize(f) for f in files)
        for i in range(steps):
            cancel.check()
            time.sleep(self._store.step_s)
            on_progress(
                Progress(
                    Phase.BACKING_UP,
                    files_done=i * len(files) // steps,
                    files_total=len(files),
                    bytes_done=i * total // steps,
                    bytes_total=total,
                    current_path=files[i % len(files)] if files else "",
                    rate_bps=1_000_000,
                    eta_s=(steps - i) * self._store.step_s,
                )
            )
        if self._store.fail_with is not None:
            raise self._store.fail_with
        on_progress(Progress(Phase.DONE, len(files), len(files), total, total, final=True))
        snap = SnapshotInfo(
            id=uuid.uuid4().hex * 2,
            time=datetime.now(UTC),
            hostname="test",
            device_id="dev",
            paths=tuple(paths),
            files=len(files),
            bytes=total,
            tree="00",
        )
        self._store.snaps.setdefault(self.repo, []).append((snap, files))
        return BackupResult(snap.id, len(files), 0, 0, 1, total, total, total, total, 0.1)

    def snapshots(self) -> list[SnapshotInfo]:
        self._mark()
        return [s for s, _ in self._store.snaps.get(self.repo, [])]

    def damaged_snapshots(self) -> list[DamagedSnapshot]:
        self._mark()
        return list(self._store.damaged.get(self.repo, []))

    def list_dir(self, snapshot_id: str, path: str) -> list[Entry]:
        self._mark()
        for snap, files in self._store.snaps.get(self.repo, []):
            if snap.id == snapshot_id:
                now = datetime.now(UTC)
                return [
                    Entry(f, os.path.basename(f), EntryType.FILE, 1, now, 0o644)
                    for f in files
                    if os.path.dirname(f) == path.rstrip("/")
                ]
        raise AppError("no such snapshot")

    def versions(self, path: str) -> list[FileVersion]:
        return []

    def restore(
        self,
        snapshot_id: str,
        target: str,
        paths: Sequence[str] = (),
        *,
        on_progress: ProgressCallback,
        cancel: CancelToken,
    ) -> RestoreResult:
        return self._store.restore_result

    def restore_file(self, snapshot_id: str, path: str, dest: str, *, cancel: CancelToken) -> None:
        Path(dest).write_bytes(Path(path).read_bytes())

    def check(
        self, *, read_data: bool = False, on_progress: ProgressCallback, cancel: CancelToken
    ) -> CheckResult:
        return CheckResult(True, 0)

    def stats(self) -> VaultStats:
        snaps = self._store.snaps.get(self.repo, [])
        return VaultStats(len(snaps), len(snaps), sum(s.bytes for s, _ in snaps), 0)

    def change_passphrase(self, new: str) -> None:
        self._store.passphrases[self.repo] = new

    def close(self) -> None:
        pass


class FakeGateway:
    def __init__(self, steps: int = 5, step_s: float = 0.01) -> None:
        self.passphrases: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        self.snaps: dict[str, list[tuple[SnapshotInfo, list[str]]]] = {}
        self.damaged: dict[str, list[DamagedSnapshot]] = {}  # what damaged_snapshots says
        self.steps = steps
        self.step_s = step_s
        self.fail_with: Exception | None = None
        self.restore_result = RestoreResult(0, 0, 0.0)
        self.removed = 0  # how many backups apply_retention says it thinned
        self.upload_limit_kib = 0
        self.wait_listener: WaitListener | None = None

    def create(self, repo: str, passphrase: str, cache_root: Path | None) -> tuple[FakeVault, str]:
        Path(repo).mkdir(parents=True, exist_ok=True)
        self.passphrases[repo] = passphrase
        self.ids[repo] = uuid.uuid4().hex
        return FakeVault(self, repo), "ABCD-EFGH-IJKL-MNOP"

    def open(
        self, repo: str, passphrase: str | None, recovery_key: str | None, cache_root: Path | None
    ) -> FakeVault:
        if repo not in self.ids:
            raise VaultNotFoundError(f"No backup found at {repo}.")
        if passphrase != self.passphrases[repo] and recovery_key != "ABCD-EFGH-IJKL-MNOP":
            raise WrongPasswordError("That passphrase is not right.")
        return FakeVault(self, repo)

    def describe(self, repo: str) -> str:
        return repo

    def prepare(self, repo: str) -> None:
        pass

    def apply_retention(
        self,
        vault: VaultLike,
        retention: Retention,
        on_progress: ProgressCallback,
        cancel: CancelToken,
    ) -> int:
        return self.removed

    def set_upload_limit(self, kib_per_s: int) -> None:
        self.upload_limit_kib = kib_per_s

    def set_wait_listener(self, listener: WaitListener | None) -> None:
        self.wait_listener = listener

    def mirror(
        self, source: VaultLike, repo: str, on_progress: ProgressCallback, cancel: CancelToken
    ) -> None:
        raise AppError(
            "The fake engine cannot copy a backup (tests/gui/test_move.py uses the real one)."
        )

    def create_new(
        self, repo: str, passphrase: str, like: VaultLike | None, cache_root: Path | None
    ) -> tuple[str, str]:
        vault, key = self.create(repo, passphrase, cache_root)
        return self.ids[repo], key

    def copy_history(
        self,
        source: VaultLike,
        repo: str,
        passphrase: str,
        cache_root: Path | None,
        on_progress: ProgressCallback,
        cancel: CancelToken,
    ) -> CopyReport:
        raise AppError(
            "The fake engine cannot copy history (tests/gui/test_move.py uses the real one)."
        )
