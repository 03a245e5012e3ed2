"""Listing a vault folder: recursive ``list_folder`` pages, resumed by cursor.

A failed page is retried with the same cursor, not the whole listing; a cursor
Dropbox invalidates (``reset``) restarts the listing from the top, a bounded
number of times. Only files under the vault root whose name starts with the
prefix are returned; folders and anything else are skipped.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from dropbox import files as dbx_files
from dropbox.exceptions import ApiError

from app.core.errors import NotFoundInStorage, TransientStorageError
from app.storage.base import ObjectInfo
from app.storage.dropbox.calls import DropboxCalls


class Lister:
    """Lists the objects under one vault root (``/NAME``)."""

    def __init__(self, calls: DropboxCalls, root: str, *, page_size: int) -> None:
        self._calls = calls
        self._client = calls.client
        self._root = root
        self._root_lower = root.lower() + "/"
        self.page_size = page_size

    def objects(self, prefix: str) -> list[ObjectInfo]:
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        folder_path = f"{self._root}/{folder}" if folder else self._root
        restarts = 0
        while True:
            found: dict[str, ObjectInfo] = {}
            try:
                result = self._calls.sdk(
                    f"listing {prefix or 'the vault'}",
                    lambda: self._client.files_list_folder(
                        folder_path, recursive=True, limit=self.page_size
                    ),
                )
            except NotFoundInStorage:
                return []
            while True:
                self._collect(result.entries, prefix, found)
                if not result.has_more:
                    return list(found.values())
                cursor = result.cursor
                try:
                    # A failed page is retried with the same cursor, not the whole listing.
                    result = self._calls.retrying(
                        f"listing {prefix}",
                        functools.partial(self._continue_listing, cursor, prefix),
                    )
                except ApiError as exc:
                    if not exc.error.is_reset():
                        raise self._calls.translate(exc, f"listing {prefix}") from exc
                    restarts += 1
                    if restarts >= self._calls.attempts:
                        raise TransientStorageError(
                            "Dropbox kept invalidating the folder listing."
                        ) from exc
                    break  # the cursor was invalidated: list again from the start
                except Exception as exc:
                    raise self._calls.translate(exc, f"listing {prefix}") from exc

    def _continue_listing(self, cursor: str, prefix: str) -> Any:
        """One page; a cursor reset passes through untranslated so _list can restart."""
        try:
            return self._client.files_list_folder_continue(cursor)
        except ApiError:
            raise
        except Exception as exc:
            raise self._calls.translate(exc, f"listing {prefix}") from exc

    def _collect(self, entries: Iterable[Any], prefix: str, found: dict[str, ObjectInfo]) -> None:
        for entry in entries:
            if not isinstance(entry, dbx_files.FileMetadata):
                continue
            lower = entry.path_lower or (entry.path_display or "").lower()
            if not lower.startswith(self._root_lower):
                continue
            name = lower[len(self._root_lower) :]
            if name.startswith(prefix):
                found[name] = ObjectInfo(name, int(entry.size))
