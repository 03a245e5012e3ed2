"""The version browser's engine side: catalog, staging, previews and restores.

A :class:`BrowseSession` works beside the vault the app opened, not on it: the app's
vault object belongs to its job thread (which may be busy with a backup for an
hour), so the session reads through its own copy with a read-only connection to
the cache (SQLite WAL readers never wait for the backup's write transaction) and
keeps its merged tree in its own catalog file. Nothing here writes to the cache
or the vault.

Private files (catalog, staged versions for drag and drop, preview thumbnails)
live in the vault's cache folder: folders 0700, files 0600; staged copies are
deleted when the session closes and at the next start.
"""

from __future__ import annotations

import contextlib
import filecmp
import json
import os
import secrets
import shutil
import sqlite3
import stat
import threading
from datetime import datetime
from pathlib import Path

import blake3

from app.core.browse import (
    BrowseEntry,
    History,
    Preview,
    PreviewKind,
    RestoreDone,
    RestorePlan,
    SearchResult,
    restored_name,
)
from app.core.cancel import NEVER_CANCELLED, CancelToken
from app.core.errors import AppError, ErrorCode
from app.core.events import ProgressCallback, ignore_progress
from app.core.models import EntryType, SnapshotInfo
from app.engine.cache import Cache
from app.engine.catalog import Catalog
from app.engine.catalog_rows import safe_load
from app.engine.repository import Repository, snapshot_info
from app.engine.restore import restore_node_as, restore_one_file
from app.engine.tree import resolve, walk_entries

TEXT_PREVIEW_BYTES = 8192
TEXT_PREVIEW_LINES = 40
IMAGE_PREVIEW_MAX = 64 * 1024 * 1024  # larger images show facts, not a thumbnail
TEXT_PREVIEW_MAX = 16 * 1024 * 1024
KEEP_STAGED = 16
IMAGE_SUFFIXES = frozenset(
    [
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".bmp",
        ".webp",
        ".tif",
        ".tiff",
        ".ico",
        ".svg",
        ".pbm",
        ".pgm",
        ".ppm",
        ".xbm",
        ".xpm",
    ]
)
TEXT_SUFFIXES = frozenset(
    [
        ".txt",
        ".md",
        ".rst",
        ".csv",
        ".tsv",
        ".json",
        ".xml",
        ".html",
        ".htm",
        ".css",
        ".js",
        ".ts",
        ".py",
        ".c",
        ".h",
        ".cpp",
        ".java",
        ".sh",
        ".ini",
        ".cfg",
        ".conf",
        ".toml",
        ".yaml",
        ".yml",
        ".log",
        ".tex",
        ".srt",
        ".vcf",
        ".ics",
    ]
)


class _ReadOnlyCache(Cache):
    """The cache opened for reading only: never waits on, or writes to, the app's cache."""

    def _open(self) -> sqlite3.Connection:
        uri = f"{self.path.as_uri()}?mode=ro"
        db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA query_only=1")
        return db

    def _discard(self) -> None:  # never delete the app's cache from here
        return None


def reader_for(repo: Repository) -> Repository:
    """A repository for another thread: same keys and storage (both thread-safe), its
    own read-only cache connection and tree cache. It never syncs: the app's
    repository does, and the cache shows it."""
    return repo.beside(_ReadOnlyCache(repo.cache.path))


def private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)
    return path


class BrowseSession:
    """Everything the version browser asks of one vault (see the module docstring)."""

    def __init__(self, repo: Repository) -> None:
        self.vault_id = repo.id
        self.root = private_dir(repo.cache.path.parent)
        self.reader = reader_for(repo)
        self._stager = reader_for(repo)  # for drags, answered on the GUI thread
        self._stage_lock = threading.Lock()
        reader = self.reader
        self.catalog = Catalog(
            self.root / "browse.sqlite",
            safe_load(lambda tree: reader.load_tree(tree, keep=False)),  # the catalog keeps it
        )
        self.staging = private_dir(self.root / "staging")
        self.previews = private_dir(self.root / "previews")
        self._staged: list[Path] = []
        self._clean_staging()

    def close(self) -> None:
        with self._stage_lock:  # a preview or a drag may be staging on another thread
            self._clean_staging()
            self._stager.cache.close()
        self.catalog.close()
        self.reader.cache.close()

    # --- catalog -----------------------------------------------------------------------

    def cached_snapshots(self) -> list[SnapshotInfo]:
        """The backups the app's cache knows (synced by the app's vault)."""
        docs = self.reader.cache.snapshot_docs()
        infos = [snapshot_info(i, json.loads(d)) for i, d in docs.items()]
        infos.sort(key=lambda s: (s.time, s.id))
        return infos

    def refresh(self, cancel: CancelToken = NEVER_CANCELLED) -> list[SnapshotInfo]:
        """Bring the merged tree up to date with the cache's backups; oldest first."""
        self.catalog.refresh(self.cached_snapshots(), cancel=cancel)
        return self.catalog.snapshots()

    def set_snapshots(self) -> tuple[bool, list[SnapshotInfo]]:
        """Take the cache's backups as the timeline (fast); ``ingest`` does the rest."""
        changed = self.catalog.set_snapshots(self.cached_snapshots())
        return changed, self.catalog.snapshots()

    def ingest(self, cancel: CancelToken = NEVER_CANCELLED, budget_s: float = 0.05) -> bool:
        """A slice of indexing every path for search; True when all is indexed."""
        return self.catalog.ingest(cancel, budget_s)

    def snapshots(self) -> list[SnapshotInfo]:
        return self.catalog.snapshots()

    def children(
        self,
        node: int,
        *,
        as_of: int | None = None,
        show_deleted: bool = False,
        only: frozenset[int] | None = None,
    ) -> list[BrowseEntry]:
        return self.catalog.children(node, as_of=as_of, show_deleted=show_deleted, only=only)

    def search(
        self, text: str, *, as_of: int | None = None, show_deleted: bool = False
    ) -> SearchResult:
        return self.catalog.search(text, as_of=as_of, show_deleted=show_deleted)

    def history(self, node: int) -> History:
        return self.catalog.history(node)

    def find(self, path: str) -> int | None:
        return self.catalog.find(path)

    def entry(self, node: int, *, as_of: int | None = None) -> BrowseEntry | None:
        return self.catalog.entry(node, as_of=as_of)

    def ancestors(self, node: int) -> list[int]:
        return self.catalog.ancestors(node)

    def _snapshot(self, snapshot_id: str) -> SnapshotInfo:
        for s in self.catalog.snapshots():
            if s.id == snapshot_id:
                return s
        for s in self.cached_snapshots():
            if s.id == snapshot_id:
                return s
        raise AppError(
            "That backup is no longer in the vault (it was removed since the list was made).",
            code=ErrorCode.SNAPSHOT_NOT_FOUND,
        )

    # --- restoring ---------------------------------------------------------------------

    def restore_as(
        self,
        source: str,
        snapshot_id: str,
        dest: str,
        *,
        on_progress: ProgressCallback = ignore_progress,
        cancel: CancelToken = NEVER_CANCELLED,
        repo: Repository | None = None,
    ) -> RestoreDone:
        """Restore file or folder ``source`` of a backup to exactly ``dest`` (its new
        full path), verified, written under temp names and renamed into place."""
        repo = repo or self.reader
        snapshot = self._snapshot(snapshot_id)
        node = resolve(repo, bytes.fromhex(snapshot.tree), source)
        if node is None:
            raise AppError(
                f"{source} is not in the backup of {snapshot.time:%Y-%m-%d %H:%M}.",
                code=ErrorCode.PATH_NOT_FOUND,
            )
        dest_b = os.fsencode(os.path.abspath(dest))
        result = restore_node_as(repo, node, dest_b, on_progress=on_progress, cancel=cancel)
        return RestoreDone(
            os.fsdecode(dest_b),
            result.files_restored,
            result.bytes_restored,
            tuple(f"{w.path}: {w.message}" for w in result.warnings),
        )

    def plan(self, source: str, snapshot_id: str, dest: str) -> RestorePlan:
        """Would restoring to ``dest`` replace something different? (asks before it does)"""
        snapshot = self._snapshot(snapshot_id)
        node = resolve(self.reader, bytes.fromhex(snapshot.tree), source)
        if node is None:
            raise AppError(f"{source} is not in that backup.", code=ErrorCode.PATH_NOT_FOUND)
        if not os.path.lexists(dest):
            return RestorePlan(source, snapshot_id, dest, conflict=False, identical=False)
        st = os.lstat(dest)
        if node.is_file:
            if not stat.S_ISREG(st.st_mode) or st.st_size != node.size:
                return RestorePlan(source, snapshot_id, dest, conflict=True, identical=False)
            staged = self.stage([(source, snapshot_id)])[0]
            same = filecmp.cmp(staged, dest, shallow=False)
            return RestorePlan(source, snapshot_id, dest, conflict=not same, identical=same)
        if not stat.S_ISDIR(st.st_mode):
            return RestorePlan(source, snapshot_id, dest, conflict=True, identical=False)
        differing = 0
        base = source.rstrip("/")
        for entry in walk_entries(self.reader, bytes.fromhex(snapshot.tree), source) or ():
            if entry.type is not EntryType.FILE:
                continue
            target = os.path.join(dest, os.path.relpath(entry.path, base))
            try:
                there = os.lstat(target)
            except FileNotFoundError:
                continue
            mtime_ns = int(entry.mtime.timestamp() * 1e9)
            if (
                not stat.S_ISREG(there.st_mode)
                or there.st_size != entry.size
                or abs(there.st_mtime_ns - mtime_ns) > 1_000_000
            ):
                differing += 1
        return RestorePlan(
            source,
            snapshot_id,
            dest,
            conflict=differing > 0,
            identical=False,
            differing=differing,
        )

    # --- staging (drag and drop) and previews ----------------------------------------------

    def stage(self, items: list[tuple[str, str]]) -> list[Path]:
        """Restore (path, snapshot) items into a fresh private folder under their own
        names; returns their paths. Safe to call from any one thread at a time."""
        with self._stage_lock:
            folder = private_dir(self.staging / secrets.token_hex(8))
            self._staged.append(folder)
            while len(self._staged) > KEEP_STAGED:
                shutil.rmtree(self._staged.pop(0), ignore_errors=True)
            out: list[Path] = []
            used: set[str] = set()
            for source, snapshot_id in items:
                name = os.path.basename(source.rstrip("/")) or "restored"
                if name in used:
                    name = restored_name(name, datetime.now().astimezone(), used.__contains__)
                used.add(name)
                dest = folder / name
                snapshot = self._snapshot(snapshot_id)
                node = resolve(self._stager, bytes.fromhex(snapshot.tree), source)
                if node is not None and node.is_file:
                    # one file: no restore plan (which scans the whole blob index)
                    restore_one_file(
                        self._stager, snapshot, source, str(dest), cancel=NEVER_CANCELLED
                    )
                else:
                    done = self.restore_as(source, snapshot_id, str(dest), repo=self._stager)
                    if done.warnings and done.files == 0 and not os.path.lexists(done.dest):
                        raise AppError(done.warnings[0], code=ErrorCode.PATH_NOT_FOUND)
                _private_tree(dest)
                out.append(dest)
            return out

    def _clean_staging(self) -> None:
        for child in list(self.staging.iterdir()) if self.staging.exists() else []:
            shutil.rmtree(child, ignore_errors=True)
        self._staged.clear()

    def preview(self, path: str, snapshot_id: str, size: int, mtime: datetime | None) -> Preview:
        """An image's staged bytes (the UI makes the thumbnail), a text's first lines, or
        facts. Nothing about the file leaves the private cache folder. Runs on a thread
        of its own (it stages through the staging reader, under its lock)."""
        suffix = os.path.splitext(path)[1].lower()
        facts = (("Size", f"{size:,} bytes"), ("Backed up in", snapshot_id[:8]))
        thumb = self.previews / f"{self._preview_key(path, snapshot_id)}.png"
        if suffix in IMAGE_SUFFIXES and size <= IMAGE_PREVIEW_MAX:
            if thumb.exists():
                return Preview(path, snapshot_id, PreviewKind.IMAGE, size, mtime,
                               thumbnail=str(thumb), facts=facts)  # fmt: skip
            staged = self.stage([(path, snapshot_id)])[0]
            return Preview(path, snapshot_id, PreviewKind.IMAGE, size, mtime,
                           file=str(staged), thumbnail=str(thumb), facts=facts)  # fmt: skip
        if size <= TEXT_PREVIEW_MAX and (suffix in TEXT_SUFFIXES or size <= 1024 * 1024):
            staged = self.stage([(path, snapshot_id)])[0]
            with open(staged, "rb") as fh:
                head = fh.read(TEXT_PREVIEW_BYTES)
            if b"\0" not in head:
                text = head.decode("utf-8", "replace")
                lines = text.splitlines()[:TEXT_PREVIEW_LINES]
                return Preview(path, snapshot_id, PreviewKind.TEXT, size, mtime,
                               text="\n".join(lines), facts=facts)  # fmt: skip
        return Preview(path, snapshot_id, PreviewKind.OTHER, size, mtime, facts=facts)

    def _preview_key(self, path: str, snapshot_id: str) -> str:
        """A thumbnail's file name: a keyed hash, so file names say nothing of paths."""
        key = self.reader.cipher.blob_id(b"preview\0" + os.fsencode(path))
        return blake3.blake3(key + snapshot_id.encode()).hexdigest()[:40]


def _private_tree(path: Path) -> None:
    """Staged copies are for this user only (the staging folder is 0700 too)."""
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            for dirpath, _dirs, files in os.walk(path):
                os.chmod(dirpath, 0o700)
                for f in files:
                    full = os.path.join(dirpath, f)
                    if not os.path.islink(full):
                        os.chmod(full, 0o600)
        elif not path.is_symlink():
            os.chmod(path, 0o600)
