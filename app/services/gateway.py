"""The real engine behind :class:`~app.services.vault.VaultGateway`.

The only services module that imports the engine and storage (lazily, so the app
starts fast). Only the composition root (``app.main``) imports this module.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.services.vault import VaultLike


class EngineGateway:
    """The real engine: ``open_storage`` + ``Vault``. Runs on the worker thread."""

    def __init__(self, secret_lookup: Callable[[str], str | None] | None = None) -> None:
        self._secret_lookup = secret_lookup

    def _storage(self, repo: str) -> Any:
        from app.storage.factory import open_storage

        kwargs: dict[str, Any] = {}
        if (
            self._secret_lookup is not None
            and "secret_lookup" in inspect.signature(open_storage).parameters
        ):
            kwargs["secret_lookup"] = self._secret_lookup
        return open_storage(repo, **kwargs)

    def create(self, repo: str, passphrase: str, cache_root: Path | None) -> tuple[VaultLike, str]:
        from app.engine.vault import Vault

        storage = self._storage(repo)
        try:
            vault, key = Vault.create(storage, passphrase, cache_root=cache_root)
        except BaseException:
            storage.close()
            raise
        return vault, key

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
