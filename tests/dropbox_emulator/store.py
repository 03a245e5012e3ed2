"""The emulator's file system: an app folder with Dropbox's path and write rules.

Everything here is plain Python with no HTTP: paths are case-insensitive (entries are
keyed by the lowercased path, the first creator's casing is kept for display), every
write gets a new ``rev`` while ``id`` stays stable across overwrite and move, identical
contents are not rewritten, and upload sessions follow the sequential and concurrent
offset rules of files.stone. Contents live in files under ``root/blobs``; the
metadata is in memory and saved to ``root/state.json`` by ``save()`` so the
standalone emulator survives a restart.

Errors are raised as ``WireError(error_union)`` holding the exact JSON value the
real service puts under ``"error"`` in a 409 body.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from app.storage.content_hash import ContentHasher

MiB = 1024 * 1024
SESSION_MAX_BYTES = 2**41 - 2**22
CONCURRENT_UNIT = 4 * MiB
DISALLOWED_NAMES = {"desktop.ini", "thumbs.db", ".ds_store", "icon\r", ".dropbox", ".dropbox.attr"}
KEEP_REVISIONS = 10

Json = dict[str, Any]


class WireError(Exception):
    """A route error: ``error`` is the union value of a 409 body."""

    def __init__(self, error: Json) -> None:
        super().__init__(json.dumps(error))
        self.error = error


class BadRequest(Exception):
    """A 400: the text the service sends for malformed calls."""


def tag(name: str, **fields: Any) -> Json:
    return {".tag": name, **fields}


def lookup_error(kind: str) -> Json:
    return tag(kind)


def format_time(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id() -> str:
    return "id:" + base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")


@dataclass
class FileEntry:
    display: str
    id: str
    rev: str
    size: int
    content_hash: str
    client_modified: float
    server_modified: float
    blob: str  # file name under blobs/
    version: int

    def metadata(self, with_tag: bool) -> Json:
        md: Json = {
            "name": self.display.rsplit("/", 1)[-1],
            "id": self.id,
            "client_modified": format_time(self.client_modified),
            "server_modified": format_time(self.server_modified),
            "rev": self.rev,
            "size": self.size,
            "path_lower": self.display.lower(),
            "path_display": self.display,
            "is_downloadable": True,
            "content_hash": self.content_hash,
        }
        return {".tag": "file", **md} if with_tag else md


@dataclass
class FolderEntry:
    display: str
    id: str
    version: int

    def metadata(self, with_tag: bool) -> Json:
        md: Json = {
            "name": self.display.rsplit("/", 1)[-1],
            "id": self.id,
            "path_lower": self.display.lower(),
            "path_display": self.display,
        }
        return {".tag": "folder", **md} if with_tag else md


@dataclass
class Tombstone:
    display: str
    version: int
    when: float

    def metadata(self) -> Json:
        return {
            ".tag": "deleted",
            "name": self.display.rsplit("/", 1)[-1],
            "path_lower": self.display.lower(),
            "path_display": self.display,
        }


Entry = FileEntry | FolderEntry


@dataclass
class UploadSession:
    id: str
    concurrent: bool
    created: float
    path: Path  # sequential: the data so far; concurrent: a folder of chunk files
    offset: int = 0  # sequential: bytes received; concurrent: total once closed
    closed: bool = False
    hasher: ContentHasher = field(default_factory=ContentHasher)
    chunks: dict[int, int] = field(default_factory=dict)  # concurrent: offset -> length
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class ListCursor:
    """Server-side state behind a list_folder cursor."""

    path: str  # lowercased folder path ("" for the root)
    recursive: bool
    include_deleted: bool
    limit: int
    pending: list[Json]
    version: int  # changes after this version are "new" for continue


@dataclass
class Body:
    """An uploaded request body, already on disk, with its size and content hash."""

    path: Path
    size: int
    content_hash: str


def copy_into(src_path: Path, dst: BinaryIO, hasher: ContentHasher) -> None:
    """Append a file's bytes to ``dst`` while feeding the content hash."""
    with open(src_path, "rb") as src:
        while piece := src.read(4 * MiB):
            hasher.update(piece)
            dst.write(piece)


def split_path(path: str) -> list[str]:
    return path.split("/")[1:]


class Store:
    def __init__(self, root: Path, *, quota_bytes: int = 2 * 1024**4) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.sessions_dir = root / "sessions"
        self.incoming = root / "incoming"
        for d in (self.blobs, self.sessions_dir, self.incoming):
            d.mkdir(parents=True, exist_ok=True)
        self.quota_bytes = quota_bytes
        self.session_ttl = 7 * 24 * 3600.0
        self.lock = threading.RLock()
        self.entries: dict[str, Entry] = {}
        self.revisions: dict[str, list[FileEntry]] = {}
        self.tombstones: dict[str, Tombstone] = {}
        self.sessions: dict[str, UploadSession] = {}
        self.cursors: dict[str, ListCursor] = {}
        self.version = 0
        self._rev_counter = int(time.time()) << 8
        self.load()

    # -- persistence ---------------------------------------------------------------

    def save(self) -> None:
        with self.lock:
            state = {
                "version": self.version,
                "rev_counter": self._rev_counter,
                "files": [vars(e) for e in self.entries.values() if isinstance(e, FileEntry)],
                "folders": [vars(e) for e in self.entries.values() if isinstance(e, FolderEntry)],
                "revisions": {k: [vars(r) for r in v] for k, v in self.revisions.items()},
                "tombstones": [vars(t) for t in self.tombstones.values()],
            }
            tmp = self.root / "state.json.tmp"
            tmp.write_text(json.dumps(state))
            os.replace(tmp, self.root / "state.json")

    def load(self) -> None:
        path = self.root / "state.json"
        if not path.exists():
            return
        state = json.loads(path.read_text())
        self.version = state["version"]
        self._rev_counter = state["rev_counter"]
        for f in state["files"]:
            entry = FileEntry(**f)
            self.entries[entry.display.lower()] = entry
        for f in state["folders"]:
            folder = FolderEntry(**f)
            self.entries[folder.display.lower()] = folder
        self.revisions = {k: [FileEntry(**r) for r in v] for k, v in state["revisions"].items()}
        for t in state["tombstones"]:
            tomb = Tombstone(**t)
            self.tombstones[tomb.display.lower()] = tomb

    # -- helpers -------------------------------------------------------------------

    def _next_version(self) -> int:
        self.version += 1
        return self.version

    def _new_rev(self) -> str:
        self._rev_counter += 1
        return f"{self._rev_counter:012x}"

    def used_bytes(self) -> int:
        with self.lock:
            return sum(e.size for e in self.entries.values() if isinstance(e, FileEntry))

    def incoming_file(self) -> Path:
        return self.incoming / secrets.token_hex(12)

    @staticmethod
    def check_write_path(path: str) -> None:
        """Raise the WriteError a bad write path gets (empty parts, long or banned names)."""
        if not path.startswith("/") or path == "/":
            raise WireError(tag("malformed_path", malformed_path=None))
        for part in split_path(path):
            if not part or len(part) > 255 or part.endswith(" "):
                raise WireError(tag("malformed_path", malformed_path=None))
            if part.lower() in DISALLOWED_NAMES:
                raise WireError(tag("disallowed_name"))

    def resolve(self, path: str) -> tuple[str, Entry | None]:
        """Map a read path (``/a/b``, ``id:…``, ``rev:…``) to its key and live entry."""
        with self.lock:
            if path.startswith("id:"):
                for key, entry in self.entries.items():
                    if entry.id == path:
                        return key, entry
                return "", None
            if path.startswith("rev:"):
                rev = path[4:]
                for key, revs in self.revisions.items():
                    for r in revs:
                        if r.rev == rev:
                            return key, r
                return "", None
            if not path.startswith("/") or path.endswith("/") or "//" in path:
                raise WireError(tag("malformed_path", malformed_path=None))
            key = path.lower()
            return key, self.entries.get(key)

    def _ensure_parents(self, display: str) -> str:
        """Create missing ancestor folders; return the display path of the parent."""
        parts = split_path(display)
        current_display = ""
        for part in parts[:-1]:
            candidate = f"{current_display}/{part}"
            existing = self.entries.get(candidate.lower())
            if isinstance(existing, FileEntry):
                raise WireError(tag("conflict", conflict=tag("file_ancestor")))
            if existing is None:
                self.entries[candidate.lower()] = FolderEntry(
                    candidate, new_id(), self._next_version()
                )
                self.tombstones.pop(candidate.lower(), None)
                current_display = candidate
            else:
                current_display = existing.display
        return current_display

    def _free_name(self, display: str, suffix: str) -> str:
        parent, name = display.rsplit("/", 1)
        stem, dot, ext = name.rpartition(".")
        if not dot or not stem:
            stem, ext = name, ""
        n = 1
        while True:
            label = (
                f" ({suffix})" if suffix and n == 1 else f" ({suffix} {n})" if suffix else f" ({n})"
            )
            candidate = f"{parent}/{stem}{label}{'.' + ext if ext else ''}"
            if candidate.lower() not in self.entries:
                return candidate
            n += 1

    # -- writes --------------------------------------------------------------------

    def commit(
        self,
        path: str,
        body: Body,
        *,
        mode: Json,
        autorename: bool,
        strict_conflict: bool,
        client_modified: float | None,
    ) -> FileEntry:
        """Apply the write rules of files.stone to put ``body`` at ``path``.

        Raises ``WireError`` with a WriteError value; the caller wraps it in the
        route's own error union. ``body.path`` is consumed on success.
        """
        self.check_write_path(path)
        with self.lock:
            key = path.lower()
            existing = self.entries.get(key)
            display = path
            if isinstance(existing, FolderEntry):
                if not autorename:
                    raise WireError(tag("conflict", conflict=tag("folder")))
                display = self._free_name(existing.display, "")
                existing = None
            mode_tag = mode[".tag"]
            if isinstance(existing, FileEntry):
                same = existing.content_hash == body.content_hash and existing.size == body.size
                if same and not strict_conflict:
                    body.path.unlink(missing_ok=True)
                    return existing
                if mode_tag == "add" or (
                    mode_tag == "update" and mode.get("update") != existing.rev
                ):
                    if not autorename:
                        raise WireError(tag("conflict", conflict=tag("file")))
                    suffix = "" if mode_tag == "add" else "conflicted copy"
                    display = self._free_name(existing.display, suffix)
                    existing = None
                elif strict_conflict and same:
                    raise WireError(tag("conflict", conflict=tag("file")))
                else:
                    display = existing.display
            elif mode_tag == "update" and strict_conflict:
                raise WireError(tag("conflict", conflict=tag("file")))
            old_size = existing.size if isinstance(existing, FileEntry) else 0
            if self.used_bytes() - old_size + body.size > self.quota_bytes:
                raise WireError(tag("insufficient_space"))
            parent = self._ensure_parents(display)
            display = f"{parent}/{display.rsplit('/', 1)[-1]}"
            now = time.time()
            rev = self._new_rev()
            blob_name = f"{rev}"
            os.replace(body.path, self.blobs / blob_name)
            entry = FileEntry(
                display=display,
                id=existing.id if isinstance(existing, FileEntry) else new_id(),
                rev=rev,
                size=body.size,
                content_hash=body.content_hash,
                client_modified=client_modified if client_modified is not None else now,
                server_modified=now,
                blob=blob_name,
                version=self._next_version(),
            )
            key = display.lower()
            self.entries[key] = entry
            self.tombstones.pop(key, None)
            history = self.revisions.setdefault(key, [])
            history.insert(0, entry)
            for old in history[KEEP_REVISIONS:]:
                (self.blobs / old.blob).unlink(missing_ok=True)
            del history[KEEP_REVISIONS:]
            return entry

    def create_folder(self, path: str, autorename: bool) -> FolderEntry:
        self.check_write_path(path)
        with self.lock:
            existing = self.entries.get(path.lower())
            display = path
            if existing is not None:
                if not autorename:
                    kind = "folder" if isinstance(existing, FolderEntry) else "file"
                    raise WireError(tag("conflict", conflict=tag(kind)))
                display = self._free_name(existing.display, "")
            parent = self._ensure_parents(display)
            display = f"{parent}/{display.rsplit('/', 1)[-1]}"
            folder = FolderEntry(display, new_id(), self._next_version())
            self.entries[display.lower()] = folder
            self.tombstones.pop(display.lower(), None)
            return folder

    def delete(self, path: str, parent_rev: str | None = None) -> Json:
        """Delete a file or a folder tree; returns its metadata (with ``.tag``).

        Raises ``WireError`` with a DeleteError value.
        """
        with self.lock:
            try:
                key, entry = self.resolve(path)
            except WireError as exc:
                raise WireError(tag("path_lookup", path_lookup=exc.error)) from None
            if entry is None or key not in self.entries or self.entries[key] is not entry:
                raise WireError(tag("path_lookup", path_lookup=lookup_error("not_found")))
            if parent_rev is not None and (
                not isinstance(entry, FileEntry) or entry.rev != parent_rev
            ):
                raise WireError(tag("path_write", path_write=tag("conflict", conflict=tag("file"))))
            md = entry.metadata(with_tag=True)
            now = time.time()
            doomed = [k for k in self.entries if k == key or k.startswith(key + "/")]
            for k in doomed:
                gone = self.entries.pop(k)
                self.tombstones[k] = Tombstone(gone.display, self._next_version(), now)
            return md

    def move(self, from_path: str, to_path: str, autorename: bool) -> Json:
        """Move a file or folder tree; raises ``WireError`` with a RelocationError."""
        try:
            self.check_write_path(to_path)
        except WireError as exc:
            raise WireError(tag("to", to=exc.error)) from None
        with self.lock:
            try:
                key, entry = self.resolve(from_path)
            except WireError as exc:
                raise WireError(tag("from_lookup", from_lookup=exc.error)) from None
            if entry is None or self.entries.get(key) is not entry:
                raise WireError(tag("from_lookup", from_lookup=lookup_error("not_found")))
            to_key = to_path.lower()
            if to_key == key:
                # Case-only renames are unsupported (files.stone:2675-2678).
                raise WireError(tag("to", to=tag("conflict", conflict=tag("file"))))
            if to_key.startswith(key + "/"):
                raise WireError(tag("cant_move_folder_into_itself"))
            display = to_path
            if to_key in self.entries:
                if not autorename:
                    kind = "folder" if isinstance(self.entries[to_key], FolderEntry) else "file"
                    raise WireError(tag("to", to=tag("conflict", conflict=tag(kind))))
                display = self._free_name(self.entries[to_key].display, "")
            try:
                parent = self._ensure_parents(display)
            except WireError as exc:
                raise WireError(tag("to", to=exc.error)) from None
            display = f"{parent}/{display.rsplit('/', 1)[-1]}"
            new_key = display.lower()
            now = time.time()
            moved = sorted(k for k in self.entries if k == key or k.startswith(key + "/"))
            result: Json = {}
            for k in moved:
                old = self.entries.pop(k)
                suffix = old.display[len(entry.display) :]
                target = display + suffix
                self.tombstones[k] = Tombstone(old.display, self._next_version(), now)
                new: Entry
                if isinstance(old, FileEntry):
                    new = FileEntry(
                        display=target,
                        id=old.id,
                        rev=self._new_rev(),
                        size=old.size,
                        content_hash=old.content_hash,
                        client_modified=old.client_modified,
                        server_modified=now,
                        blob=old.blob,
                        version=self._next_version(),
                    )
                    self.revisions[target.lower()] = [new]
                    self.revisions.pop(k, None)
                else:
                    new = FolderEntry(target, old.id, self._next_version())
                self.entries[target.lower()] = new
                self.tombstones.pop(target.lower(), None)
                if target.lower() == new_key:
                    result = new.metadata(with_tag=True)
            return result

    # -- reads ---------------------------------------------------------------------

    def lookup_file(self, path: str) -> FileEntry:
        """The file at a read path; raises ``WireError`` with a LookupError value."""
        _key, entry = self.resolve(path)
        if entry is None:
            raise WireError(lookup_error("not_found"))
        if not isinstance(entry, FileEntry):
            raise WireError(lookup_error("not_file"))
        return entry

    def blob_path(self, entry: FileEntry) -> Path:
        return self.blobs / entry.blob

    def _children(self, key: str, recursive: bool) -> Iterator[str]:
        prefix = key + "/"
        for k in self.entries:
            if not k.startswith(prefix):
                continue
            if recursive or "/" not in k[len(prefix) :]:
                yield k

    def list_folder(
        self, path: str, recursive: bool, include_deleted: bool, limit: int
    ) -> tuple[list[Json], str, bool]:
        """First page of a listing; raises ``WireError`` with a LookupError value."""
        with self.lock:
            if path == "":
                key = ""
            else:
                key, entry = self.resolve(path)
                if entry is None:
                    raise WireError(lookup_error("not_found"))
                if not isinstance(entry, FolderEntry):
                    raise WireError(lookup_error("not_folder"))
            keys = sorted(self._children(key, recursive))
            entries: list[Json] = []
            if recursive and key:
                # A recursive listing starts with the folder itself.
                entries.append(self.entries[key].metadata(with_tag=True))
            entries.extend(self.entries[k].metadata(with_tag=True) for k in keys)
            if include_deleted:
                prefix = key + "/"
                entries.extend(
                    t.metadata()
                    for k, t in sorted(self.tombstones.items())
                    if k.startswith(prefix) and (recursive or "/" not in k[len(prefix) :])
                )
            cursor = ListCursor(key, recursive, include_deleted, limit, entries, self.version)
            return self._page(cursor)

    def _page(self, cursor: ListCursor) -> tuple[list[Json], str, bool]:
        page, cursor.pending = cursor.pending[: cursor.limit], cursor.pending[cursor.limit :]
        token = "AAE" + secrets.token_urlsafe(24)
        self.cursors[token] = cursor
        return page, token, bool(cursor.pending)

    def list_folder_continue(self, token: str) -> tuple[list[Json], str, bool]:
        """Next page, or the changes since the listing finished; ``reset`` if unknown."""
        with self.lock:
            cursor = self.cursors.pop(token, None)
            if cursor is None:
                raise WireError(tag("reset"))
            if not cursor.pending:
                prefix = cursor.path + "/"

                def inside(k: str) -> bool:
                    rest = k[len(prefix) :]
                    return k.startswith(prefix) and (cursor.recursive or "/" not in rest)

                changed: list[Json] = []
                for k, t in sorted(self.tombstones.items()):
                    if inside(k) and t.version > cursor.version and k not in self.entries:
                        changed.append(t.metadata())
                for k in sorted(self.entries):
                    e = self.entries[k]
                    if inside(k) and e.version > cursor.version:
                        changed.append(e.metadata(with_tag=True))
                cursor.pending = changed
                cursor.version = self.version
            return self._page(cursor)

    def list_revisions(self, path: str, by_id: bool, limit: int, before_rev: str | None) -> Json:
        with self.lock:
            if by_id:
                key, entry = self.resolve(path)
                if entry is None:
                    raise WireError(lookup_error("not_found"))
            else:
                key, entry = self.resolve(path)
            history = self.revisions.get(key, [])
            if not history:
                if isinstance(entry, FolderEntry):
                    raise WireError(lookup_error("not_file"))
                raise WireError(lookup_error("not_found"))
            if before_rev is not None:
                revs = [r.rev for r in history]
                if before_rev not in revs:
                    raise WireError(tag("invalid_before_rev"))
                history = history[revs.index(before_rev) + 1 :]
            result: Json = {
                "is_deleted": key not in self.entries,
                "entries": [r.metadata(with_tag=False) for r in history[:limit]],
                "has_more": len(history) > limit,
            }
            if key not in self.entries and key in self.tombstones:
                result["server_deleted"] = format_time(self.tombstones[key].when)
            return result

    def metadata(self, path: str, include_deleted: bool) -> Json:
        with self.lock:
            key, entry = self.resolve(path)
            if entry is not None:
                return entry.metadata(with_tag=True)
            if include_deleted and key in self.tombstones:
                return self.tombstones[key].metadata()
            raise WireError(lookup_error("not_found"))

    # -- upload sessions -----------------------------------------------------------

    def start_session(self, body: Body, close: bool, concurrent: bool) -> str:
        if concurrent and body.size:
            raise WireError(tag("concurrent_session_data_not_allowed"))
        if concurrent and close:
            raise WireError(tag("concurrent_session_close_not_allowed"))
        sid = "AAAAAAAA" + secrets.token_urlsafe(18)
        path = self.sessions_dir / sid
        session = UploadSession(sid, concurrent, time.time(), path, closed=close)
        if concurrent:
            path.mkdir()
            body.path.unlink(missing_ok=True)
        else:
            with open(path, "wb") as dst:
                copy_into(body.path, dst, session.hasher)
            body.path.unlink(missing_ok=True)
            session.offset = body.size
        with self.lock:
            self.sessions[sid] = session
        return sid

    def adopt_session(self, body: Body) -> str:
        """Keep a failed ``files/upload`` body as a closed session (UploadWriteFailed)."""
        return self.start_session(body, close=True, concurrent=False)

    def _session(self, sid: str) -> UploadSession:
        with self.lock:
            session = self.sessions.get(sid)
            if session is not None and time.time() - session.created > self.session_ttl:
                self.drop_session(sid)
                session = None
            if session is None:
                raise WireError(tag("not_found"))
            return session

    def drop_session(self, sid: str) -> None:
        with self.lock:
            session = self.sessions.pop(sid, None)
        if session is None:
            return
        if session.path.is_dir():
            for child in session.path.iterdir():
                child.unlink(missing_ok=True)
            session.path.rmdir()
        else:
            session.path.unlink(missing_ok=True)

    def append(self, sid: str, offset: int, body: Body, close: bool) -> None:
        """Append ``body`` at ``offset``; raises ``WireError`` with an append error."""
        session = self._session(sid)
        with session.lock:
            if session.closed and not (
                # Concurrent chunks may arrive after the closing one, inside its end.
                session.concurrent and not close and offset + body.size <= session.offset
            ):
                raise WireError(tag("closed"))
            if offset + body.size > SESSION_MAX_BYTES:
                raise WireError(tag("too_large"))
            if session.concurrent:
                if offset % CONCURRENT_UNIT:
                    raise WireError(tag("concurrent_session_invalid_offset"))
                if not close and body.size % CONCURRENT_UNIT:
                    raise WireError(tag("concurrent_session_invalid_data_size"))
                os.replace(body.path, session.path / f"{offset:016d}")
                session.chunks[offset] = body.size
                if close:
                    session.closed = True
                    session.offset = offset + body.size
                return
            if offset != session.offset:
                body.path.unlink(missing_ok=True)
                raise WireError(tag("incorrect_offset", correct_offset=session.offset))
            with open(session.path, "ab") as dst:
                copy_into(body.path, dst, session.hasher)
            body.path.unlink(missing_ok=True)
            session.offset += body.size
            session.closed = close

    def assemble(self, sid: str, offset: int, body: Body | None, *, batch: bool) -> Body:
        """Check a finish cursor and return the session's whole data as one body.

        Raises ``WireError`` with an UploadSessionFinishError value. The session is
        consumed only by the caller's successful commit (``drop_session``).
        """
        try:
            session = self._session(sid)
        except WireError as exc:
            raise WireError(tag("lookup_failed", lookup_failed=exc.error)) from None
        with session.lock:
            if session.concurrent:
                if body is not None and body.size:
                    raise WireError(tag("concurrent_session_data_not_allowed"))
                if not session.closed:
                    raise WireError(tag("concurrent_session_not_closed"))
                expected = 0
                for start in sorted(session.chunks):
                    if start != expected:
                        raise WireError(tag("concurrent_session_missing_data"))
                    expected += session.chunks[start]
                if expected != session.offset:
                    raise WireError(tag("concurrent_session_missing_data"))
                if offset != session.offset:
                    raise WireError(
                        tag(
                            "lookup_failed",
                            lookup_failed=tag("incorrect_offset", correct_offset=session.offset),
                        )
                    )
                out = self.incoming_file()
                hasher = ContentHasher()
                with open(out, "wb") as dst:
                    for start in sorted(session.chunks):
                        copy_into(session.path / f"{start:016d}", dst, hasher)
                return Body(out, session.offset, hasher.hexdigest())
            if batch and not session.closed:
                raise WireError(tag("lookup_failed", lookup_failed=tag("not_closed")))
            if offset != session.offset:
                raise WireError(
                    tag(
                        "lookup_failed",
                        lookup_failed=tag("incorrect_offset", correct_offset=session.offset),
                    )
                )
            if body is not None and body.size:
                if session.closed:
                    raise WireError(tag("lookup_failed", lookup_failed=tag("closed")))
                with open(session.path, "ab") as dst:
                    copy_into(body.path, dst, session.hasher)
                session.offset += body.size
            if body is not None:
                body.path.unlink(missing_ok=True)
            out = self.incoming_file()
            os.link(session.path, out)
            return Body(out, session.offset, session.hasher.hexdigest())
