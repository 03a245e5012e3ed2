"""The real engine behind :class:`~app.services.vault.VaultGateway`.

The only services module that imports the engine and storage (lazily, so the app
starts fast). Only the composition root (``app.main``) imports this module.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.cancel import CancelToken
from app.core.events import Phase, Progress, ProgressCallback
from app.services.vault import CopyReport, VaultLike, WaitListener
from app.store.settings import Retention

if TYPE_CHECKING:  # imported lazily at run time, so the app starts fast
    from app.engine.vault import Vault
    from app.storage.base import Storage

log = logging.getLogger(__name__)


ENGINE_MODULES = (
    "app.engine.vault",
    "app.engine.backup",
    "app.engine.restore",
    "app.engine.versions",
    "app.engine.check",
    "app.engine.prune",
    "app.engine.retention",
    "app.engine.mirror",
    "app.storage.factory",
    "base64",
    "humanize",
    "platformdirs",
    "cryptography.hazmat.primitives.kdf.argon2",
    "cryptography.hazmat.primitives.kdf.scrypt",
    "keyring",
    "keyring.errors",
)
DROPBOX_MODULES = ("app.storage.dropbox.factory", "dropbox", "certifi")
S3_MODULES = ("app.storage.s3", "boto3", "botocore.session")


def prewarm(modules: tuple[str, ...]) -> None:
    """Import modules on the GUI thread before any worker thread needs them.

    PySide6 replaces ``__import__`` with a hook that inspects each newly imported
    module's source; running it on a worker thread while the GUI thread runs Python
    can crash the process (seen as a segfault importing pyfastcdc). A module
    imported once is not inspected again, so importing everything the engine
    imports lazily, here and up front, keeps worker threads away from the hook.
    """
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            log.debug("prewarm: %s not available", name)
    try:
        import keyring

        keyring.get_keyring()  # backend discovery imports modules too
    except Exception:
        log.debug("prewarm: no keyring backend")


def _engine_vault(vault: VaultLike) -> Vault:
    from app.engine.vault import Vault

    if not isinstance(vault, Vault):  # only ever given the vaults it opened
        raise TypeError(f"EngineGateway cannot use a {type(vault).__name__}")
    return vault


class EngineGateway:
    """The real engine: ``open_storage`` + ``Vault``. Runs on the worker thread.

    Satisfies :class:`app.services.vault.VaultGateway` (mypy checks it where
    ``app.main`` passes it to ``VaultService``).
    """

    def __init__(
        self,
        secret_lookup: Callable[[str], str | None] | None = None,
        s3_endpoint: Callable[[], str] = lambda: "",
    ) -> None:
        from app.storage.limiter import Limiter

        self._secret_lookup = secret_lookup
        self._s3_endpoint = s3_endpoint  # read on the worker: a str, set by the GUI
        # One upload limit for every storage this app opens; Settings changes its rate
        # at run time (set_upload_limit), also in the middle of a backup.
        self._limiter = Limiter()
        self._wait_listener: WaitListener | None = None
        prewarm(ENGINE_MODULES)

    def set_upload_limit(self, kib_per_s: int) -> None:
        self._limiter.set_rate(kib_per_s * 1024.0 if kib_per_s > 0 else None)

    def set_wait_listener(self, listener: WaitListener | None) -> None:
        self._wait_listener = listener

    def _on_wait(self, resume_at: datetime, message: str) -> None:
        listener = self._wait_listener
        if listener is not None:
            listener(resume_at, message)

    def prepare(self, repo: str) -> None:
        """On the GUI thread, before a job: import what opening ``repo`` will need."""
        from app.storage.factory import is_dropbox, is_s3

        if is_dropbox(repo):
            prewarm(DROPBOX_MODULES)
        if is_s3(repo):
            prewarm(S3_MODULES)
            from app.storage.s3 import warm_up

            warm_up()  # client creation imports ~300 modules: here, not on the worker

    def _storage(self, repo: str) -> Storage:
        from app.storage.factory import open_storage

        return open_storage(
            repo,
            secret_lookup=self._secret_lookup,
            limiter=self._limiter,
            on_wait=self._on_wait,
            s3_endpoint=self._s3_endpoint() or None,
        )

    def _new_place(self, repo: str) -> Storage:
        from app.storage.factory import is_remote

        if not is_remote(repo):
            # A new vault may name a folder that does not exist yet; its parent must
            # (so a disconnected drive is still reported, not silently recreated).
            Path(repo).expanduser().mkdir(exist_ok=True)
        return self._storage(repo)

    def create(self, repo: str, passphrase: str, cache_root: Path | None) -> tuple[VaultLike, str]:
        return self._create(repo, passphrase, None, cache_root)

    def _create(
        self, repo: str, passphrase: str, like: VaultLike | None, cache_root: Path | None
    ) -> tuple[Vault, str]:
        from app.engine.vault import Vault

        storage = self._new_place(repo)
        try:
            config = _engine_vault(like).config if like is not None else None
            vault, key = Vault.create(storage, passphrase, cache_root=cache_root, like=config)
        except BaseException:
            storage.close()
            raise
        return vault, key

    def create_new(
        self, repo: str, passphrase: str, like: VaultLike | None, cache_root: Path | None
    ) -> tuple[str, str]:
        vault, key = self._create(repo, passphrase, like, cache_root)
        with vault:
            return vault.id, key

    def mirror(
        self, source: VaultLike, repo: str, on_progress: ProgressCallback, cancel: CancelToken
    ) -> None:
        from app.engine.mirror import mirror_vault

        dest = self._new_place(repo)
        try:
            mirror_vault(_engine_vault(source).repo, dest, on_progress=on_progress, cancel=cancel)
        finally:
            dest.close()

    def copy_history(
        self,
        source: VaultLike,
        repo: str,
        passphrase: str,
        cache_root: Path | None,
        on_progress: ProgressCallback,
        cancel: CancelToken,
    ) -> CopyReport:
        from app.engine.vault import Vault

        snaps = [0, 0]  # copied, total
        copied = [0]

        def report() -> None:
            on_progress(
                Progress(
                    Phase.COPYING, files_done=snaps[0], files_total=snaps[1], bytes_done=copied[0]
                )
            )

        def each(done: int, total: int) -> None:
            snaps[:] = [done, total]
            report()

        def grew(total_bytes: int) -> None:
            copied[0] = total_bytes
            report()

        storage = self._storage(repo)
        try:
            dest = Vault.open(storage, passphrase=passphrase, cache_root=cache_root)
        except BaseException:
            storage.close()
            raise
        with dest:
            snaps[1] = len(source.snapshots())
            report()
            result = _engine_vault(source).copy_to(
                dest, on_snapshot=each, on_bytes=grew, cancel=cancel
            )
        on_progress(
            Progress(
                Phase.DONE,
                files_done=snaps[1],
                files_total=snaps[1],
                bytes_done=result.bytes_copied,
                final=True,
            )
        )
        return CopyReport(result.snapshots, result.skipped)

    def open(
        self,
        repo: str,
        passphrase: str | None,
        recovery_key: str | None,
        cache_root: Path | None,
    ) -> VaultLike:
        from app.engine.vault import Vault

        storage = self._storage(repo)
        try:
            vault: VaultLike = Vault.open(
                storage, passphrase=passphrase, recovery_key=recovery_key, cache_root=cache_root
            )
        except BaseException:
            storage.close()
            raise
        return vault

    def describe(self, repo: str) -> str:
        from app.storage.factory import describe_repo

        return describe_repo(repo)

    def apply_retention(
        self,
        vault: VaultLike,
        retention: Retention,
        on_progress: ProgressCallback,
        cancel: CancelToken,
    ) -> int:
        from app.engine.device import device_id
        from app.engine.retention import RetentionPolicy
        from app.engine.vault import Vault

        if not isinstance(vault, Vault):  # only ever given the vaults it opened
            raise TypeError(f"EngineGateway cannot thin a {type(vault).__name__}")

        monthly = retention.keep_monthly_months
        policy = RetentionPolicy(
            all_within=timedelta(hours=retention.keep_all_hours),
            daily_within=timedelta(days=retention.keep_daily_days),
            weekly_within=timedelta(weeks=retention.keep_weekly_weeks),
            monthly_within=None if monthly is None else timedelta(days=31 * monthly),
            monthly_forever=monthly is None,
        )
        # Only this computer's snapshots: another device's history is its own business.
        removed = vault.forget(policy, host=device_id())
        if removed:
            cancel.check()
            vault.prune(on_progress=on_progress, cancel=cancel)
        return len(removed)
