"""The real engine behind :class:`~app.services.browser.BrowserService`.

Like ``app.services.gateway``, imported only by the composition root: it is the one
place the browser's service reaches ``app.engine.browse``.
"""

from __future__ import annotations

from app.services.browser import BrowseSessionLike
from app.services.gateway import prewarm
from app.services.vault import VaultLike

BROWSER_MODULES = ("app.engine.browse", "app.engine.catalog", "filecmp", "blake3", "shutil")


class EngineBrowseFactory:
    """Makes a ``BrowseSession`` beside an opened vault (called on the vault's thread)."""

    def __init__(self) -> None:
        prewarm(BROWSER_MODULES)  # never import on a worker thread (see prewarm)

    def __call__(self, vault: VaultLike) -> BrowseSessionLike:
        from app.engine.browse import BrowseSession
        from app.engine.vault import Vault

        if not isinstance(vault, Vault):
            raise TypeError("the version browser needs the engine's Vault")
        return BrowseSession(vault.repo)
