"""The browser's catalog: one merged tree of every path in every backup, in SQLite.

Why a second SQLite file (``browse.sqlite`` beside the cache): a backup holds the
cache's write transaction for its whole run, and the browser must stay usable
meanwhile. The catalog is written only by the browser's own thread.

What it stores, all rebuildable from the vault:

* ``entries``: the entries of each tree read so far, keyed by tree id (content
  addressed, so never stale);
* ``nodes``: one row per path ever backed up (parent node, name), which gives every
  path a stable integer id and makes search a scan of one narrow table;
* ``seen``: which (path, tree) pairs were ingested. An unchanged folder keeps its
  tree id, so a new backup costs only its changed folders.
* ``snaps``: the backups ingested, oldest first (their position is the timeline).

A path's tree in backup *i* is found by walking tree ids down from the root
(``trees_of``); the merged view of a folder is the union of its distinct trees.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.core.browse import ROOT_NODE, BrowseEntry, History, SearchResult
from app.core.cancel import NEVER_CANCELLED, CancelToken
from app.core.models import Change, EntryType, FileVersion, SnapshotInfo
from app.engine.catalog_rows import (
    LoadTree,
    Row,
    covers,
    info_from_json,
    info_to_json,
    root_of,
    tree_rows,
)

SCHEMA_VERSION = "1"
TREES_OF_CACHE = 4096
SEARCH_LIMIT = 200  # matches shown; the status line says when there are more

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snaps (idx INTEGER PRIMARY KEY, id TEXT UNIQUE, doc TEXT);
CREATE TABLE IF NOT EXISTS entries (
    tree BLOB, name BLOB, type TEXT, size INTEGER, mtime_ns INTEGER, digest BLOB,
    subtree BLOB, PRIMARY KEY (tree, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS trees (tree BLOB PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS nodes (
    id INTEGER PRIMARY KEY, parent INTEGER NOT NULL, name BLOB NOT NULL, lname TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS nodes_by_parent ON nodes (parent, name);
CREATE TABLE IF NOT EXISTS seen (node INTEGER, tree BLOB, PRIMARY KEY (node, tree)) WITHOUT ROWID;
"""


def _ns(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


def _display(name: bytes) -> str:
    return os.fsdecode(name)


def _lower(name: bytes) -> str:
    return name.decode("utf-8", "replace").casefold()


@dataclass(frozen=True, slots=True)
class _Snap:
    info: SnapshotInfo
    roots: tuple[bytes, ...]


class Catalog:
    """The merged tree of one vault. Thread-safe (one connection behind a lock)."""

    def __init__(self, path: Path, load_tree: LoadTree) -> None:
        self.path = path
        self.load_tree = load_tree
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self.db = self._open()
        except sqlite3.DatabaseError:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(str(path) + suffix)
            self.db = self._open()
        self._snaps: list[_Snap] = []
        self._trees_of: OrderedDict[int, dict[int, bytes]] = OrderedDict()
        self._paths: dict[int, bytes] = {ROOT_NODE: b"/"}
        self._ancestors: dict[int, list[int]] = {}
        self._covering_cache: dict[bytes, list[int]] = {}
        self._known_trees: set[bytes] = set()  # trees whose entries are stored
        self._work: tuple[int, list[tuple[int, bytes]], set[tuple[int, bytes]]] | None = None
        self._load_snaps()

    def _open(self) -> sqlite3.Connection:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)  # private like the cache
        os.close(fd)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA cache_size=-16000")
            has_meta = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
            ).fetchone()
            version = None
            if has_meta:
                got = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
                version = got[0] if got else None
            if version != SCHEMA_VERSION:
                for (table,) in db.execute(
                    "SELECT name FROM sqlite_master WHERE type='table'"
                ).fetchall():
                    db.execute(f'DROP TABLE IF EXISTS "{table}"')
            db.executescript(_SCHEMA)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            db.execute("INSERT OR IGNORE INTO nodes VALUES (?, -1, x'', '')", (ROOT_NODE,))
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def close(self) -> None:
        with self._lock:
            self.db.close()

    # --- snapshots -------------------------------------------------------------------

    def _load_snaps(self) -> None:
        snaps = []
        for _idx, doc in self.db.execute("SELECT idx, doc FROM snaps ORDER BY idx"):
            info = info_from_json(doc)
            snaps.append(_Snap(info, tuple(root_of(p) for p in info.paths)))
        self._snaps = snaps

    def snapshots(self) -> list[SnapshotInfo]:
        return [s.info for s in self._snaps]

    def refresh(
        self,
        snapshots: list[SnapshotInfo],
        load_tree: LoadTree | None = None,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> bool:
        """``set_snapshots`` then ``ingest`` to the end; True when anything changed."""
        if load_tree is not None:
            self.load_tree = load_tree
        changed = self.set_snapshots(snapshots)
        while not self.ingest(cancel):
            pass
        return changed

    def set_snapshots(self, snapshots: list[SnapshotInfo]) -> bool:
        """Make these backups (in time order) the timeline; True when it changed.

        Listing works at once (trees are read as folders are opened); ``ingest``
        then records every path for search. A backup forgotten, or one sorting before
        those known (another device's, synced late), renumbers the timeline: the
        nodes are rebuilt, but tree entries are kept (nothing is read twice).
        """
        ordered = sorted(snapshots, key=lambda s: (s.time, s.id))
        with self._lock:
            known = [s.info.id for s in self._snaps]
            ids = [s.id for s in ordered]
            if ids == known:
                return False
            self.db.execute("BEGIN")
            if ids[: len(known)] != known:
                self.db.execute("DELETE FROM snaps")
                self.db.execute("DELETE FROM seen")
                self.db.execute("DELETE FROM nodes WHERE id != ?", (ROOT_NODE,))
                self.db.execute("DELETE FROM meta WHERE key='ingested'")
                self._paths = {ROOT_NODE: b"/"}
                self._ancestors = {}
                known = []
            self.db.executemany(
                "INSERT OR REPLACE INTO snaps VALUES (?,?,?)",
                [(i, ordered[i].id, info_to_json(ordered[i])) for i in range(len(known), len(ids))],
            )
            self.db.execute("COMMIT")
            self._snaps = [_Snap(i, tuple(root_of(p) for p in i.paths)) for i in ordered]
            self._trees_of.clear()
            self._covering_cache.clear()
            self._work = None
        return True

    @property
    def complete(self) -> bool:
        """Has every backup been ingested (is search exhaustive)?"""
        return self._ingested() >= len(self._snaps)

    def _ingested(self) -> int:
        with self._lock:
            row = self.db.execute("SELECT value FROM meta WHERE key='ingested'").fetchone()
        return int(row[0]) if row else 0

    def ingest(self, cancel: CancelToken = NEVER_CANCELLED, budget_s: float | None = None) -> bool:
        """Record the paths of backups not yet ingested, for up to ``budget_s`` seconds
        (so listings can run in between); True when everything is ingested.

        An unchanged folder keeps its tree id, so each backup costs only its changed
        folders. Progress survives restarts per backup; a backup ingested halfway is
        walked again (its trees are in ``entries`` already, so the vault is not read).
        """
        deadline = None if budget_s is None else time.monotonic() + budget_s
        done = self._ingested()
        if done >= len(self._snaps):
            return True
        if self._work is None:
            seen = {(int(n), bytes(t)) for n, t in self.db.execute("SELECT node, tree FROM seen")}
            root = bytes.fromhex(self._snaps[done].info.tree)
            self._work = (done, [(ROOT_NODE, root)], seen)
        idx, stack, seen = self._work
        while stack:
            cancel.check()
            if deadline is not None and time.monotonic() > deadline:
                return False
            node, tree = stack.pop()
            if (node, tree) in seen:
                continue  # same tree at the same path: everything below is known
            rows = self._rows(tree)
            with self._lock:
                ids = self._child_ids(node, [r[0] for r in rows])
            seen.add((node, tree))
            for name, kind, _size, _mtime, _digest, subtree in rows:
                if kind == "dir" and subtree is not None and name in ids:
                    stack.append((ids[name], subtree))
        with self._lock:
            self.db.execute("BEGIN")
            # Pairs are stored only once their whole backup is done: a pair means
            # "everything below it is recorded".
            self.db.executemany(
                "INSERT OR IGNORE INTO seen VALUES (?,?)", [(n, t) for n, t in seen]
            )
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('ingested', ?)", (str(idx + 1),))
            self.db.execute("COMMIT")
        self._work = None
        return idx + 1 >= len(self._snaps)

    def _child_ids(self, parent: int, names: list[bytes]) -> dict[bytes, int]:
        have = {
            bytes(n): int(i)
            for n, i in self.db.execute("SELECT name, id FROM nodes WHERE parent=?", (parent,))
        }
        missing = [n for n in names if n not in have]
        if missing:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT OR IGNORE INTO nodes (parent, name, lname) VALUES (?,?,?)",
                [(parent, n, _lower(n)) for n in missing],
            )
            self.db.execute("COMMIT")
            have = {
                bytes(n): int(i)
                for n, i in self.db.execute("SELECT name, id FROM nodes WHERE parent=?", (parent,))
            }
        return have

    def _rows(self, tree: bytes) -> list[Row]:
        """A tree's entries, read from the vault the first time only."""
        with self._lock:
            known = self.db.execute("SELECT 1 FROM trees WHERE tree=?", (tree,)).fetchone()
            if known:
                return [
                    (bytes(r[0]), r[1], r[2], r[3], r[4], r[5])
                    for r in self.db.execute(
                        "SELECT name, type, size, mtime_ns, digest, subtree FROM entries "
                        "WHERE tree=?",
                        (tree,),
                    )
                ]
        rows = tree_rows(self.load_tree(tree))
        with self._lock:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT OR REPLACE INTO entries VALUES (?,?,?,?,?,?,?)",
                [(tree, *r) for r in rows],
            )
            self.db.execute("INSERT OR IGNORE INTO trees VALUES (?)", (tree,))
            self.db.execute("COMMIT")
        return rows

    def _rows_named(self, tree: bytes, names: list[bytes]) -> list[Row]:
        """Only these names' entries of a tree (a few rows of a big folder)."""
        self._ensure(tree)
        out: list[Row] = []
        with self._lock:
            for i in range(0, len(names), 500):
                chunk = names[i : i + 500]
                marks = ",".join("?" * len(chunk))
                out += [
                    (bytes(r[0]), r[1], r[2], r[3], r[4], r[5])
                    for r in self.db.execute(
                        "SELECT name, type, size, mtime_ns, digest, subtree FROM entries "
                        f"WHERE tree=? AND name IN ({marks})",
                        (tree, *chunk),
                    )
                ]
        return out

    def _names_in(self, trees: list[bytes], names: list[bytes]) -> list[tuple[bytes, bytes]]:
        """(name, tree) for each of ``names`` that each of ``trees`` holds: one query."""
        marks = ",".join("?" * len(trees))
        for tree in trees:
            self._ensure(tree)
        out: list[tuple[bytes, bytes]] = []
        with self._lock:
            for i in range(0, len(names), 400):
                chunk = names[i : i + 400]
                out += [
                    (bytes(r[0]), bytes(r[1]))
                    for r in self.db.execute(
                        f"SELECT name, tree FROM entries WHERE tree IN ({marks}) "
                        f"AND name IN ({','.join('?' * len(chunk))})",
                        (*trees, *chunk),
                    )
                ]
        return out

    def _ensure(self, tree: bytes) -> None:
        """Make sure a tree's entries are stored (read it from the vault if not)."""
        if tree in self._known_trees:
            return
        with self._lock:
            known = self.db.execute("SELECT 1 FROM trees WHERE tree=?", (tree,)).fetchone()
        if not known:
            self._rows(tree)
        self._known_trees.add(tree)

    def _entry(self, tree: bytes, name: bytes) -> Row | None:
        """One entry of a tree, reading the tree first if it was never read (a folder
        seen only in another backup than the one shown so far)."""
        with self._lock:
            r = self.db.execute(
                "SELECT name, type, size, mtime_ns, digest, subtree FROM entries "
                "WHERE tree=? AND name=?",
                (tree, name),
            ).fetchone()
            if r is None:
                known = self.db.execute("SELECT 1 FROM trees WHERE tree=?", (tree,)).fetchone()
        if r is not None:
            return (bytes(r[0]), r[1], r[2], r[3], r[4], r[5])
        if known:
            return None
        return next((row for row in self._rows(tree) if row[0] == name), None)

    # --- paths and nodes -------------------------------------------------------------

    def _node_row(self, node: int) -> tuple[int, bytes]:
        with self._lock:
            row = self.db.execute("SELECT parent, name FROM nodes WHERE id=?", (node,)).fetchone()
        if row is None:
            raise KeyError(node)
        return int(row[0]), bytes(row[1])

    def raw_path(self, node: int) -> bytes:
        cached = self._paths.get(node)
        if cached is not None:
            return cached
        parent, name = self._node_row(node)
        base = self.raw_path(parent)
        path = base.rstrip(b"/") + b"/" + name
        if len(self._paths) > 100_000:
            self._paths = {ROOT_NODE: b"/"}
        self._paths[node] = path
        return path

    def path_of(self, node: int) -> str:
        return os.fsdecode(self.raw_path(node))

    def find(self, path: str) -> int | None:
        """The node of an absolute path, if any backup ever held it (folders not yet
        indexed are listed on the way, so this works before ``ingest`` is done)."""
        node = ROOT_NODE
        raw = os.fsencode(os.path.normpath(os.path.abspath(path)))
        for part in [p for p in raw.split(b"/") if p]:
            found = self._child(node, part)
            if found is None and not self.complete:
                self.children(node, show_deleted=True)  # records its entries' nodes
                found = self._child(node, part)
            if found is None:
                return None
            node = found
        return node

    def _child(self, node: int, name: bytes) -> int | None:
        with self._lock:
            row = self.db.execute(
                "SELECT id FROM nodes WHERE parent=? AND name=?", (node, name)
            ).fetchone()
        return None if row is None else int(row[0])

    def ancestors(self, node: int) -> list[int]:
        """From the root down to ``node``'s parent."""
        if node == ROOT_NODE:
            return []
        parent, _ = self._node_row(node)
        cached = self._ancestors.get(parent)
        if cached is None:
            cached = [*self.ancestors(parent), parent]
            if len(self._ancestors) > 50_000:
                self._ancestors.clear()
            self._ancestors[parent] = cached
        return cached

    def trees_of(self, node: int) -> dict[int, bytes]:
        """Backup index -> the tree id of folder ``node`` in that backup."""
        cached = self._trees_of.get(node)
        if cached is not None:
            self._trees_of.move_to_end(node)
            return cached
        if node == ROOT_NODE:
            result = {i: bytes.fromhex(s.info.tree) for i, s in enumerate(self._snaps)}
        else:
            parent, name = self._node_row(node)
            parent_trees = self.trees_of(parent)
            distinct = list(set(parent_trees.values()))
            for tree in distinct:
                self._ensure(tree)
            by_tree: dict[bytes, bytes] = {}
            with self._lock:
                for i in range(0, len(distinct), 400):
                    chunk = distinct[i : i + 400]
                    for tree, subtree in self.db.execute(
                        "SELECT tree, subtree FROM entries WHERE name=? AND type='dir' "
                        f"AND tree IN ({','.join('?' * len(chunk))})",
                        (name, *chunk),
                    ):
                        if subtree is not None:
                            by_tree[bytes(tree)] = bytes(subtree)
            result = {idx: by_tree[tree] for idx, tree in parent_trees.items() if tree in by_tree}
        self._trees_of[node] = result
        if len(self._trees_of) > TREES_OF_CACHE:
            self._trees_of.popitem(last=False)
        return result

    # --- listing ---------------------------------------------------------------------

    def children(
        self,
        node: int,
        *,
        as_of: int | None = None,
        show_deleted: bool = False,
        only: frozenset[int] | None = None,
    ) -> list[BrowseEntry]:
        """Folder ``node``'s entries: merged over all backups, or as of backup ``as_of``;
        ``only`` limits them to these nodes (search results: no full listings).

        Folders first, then by name (case-insensitive), so every view sorts alike.
        """
        trees = self.trees_of(node)
        base = self.raw_path(node)
        out: list[BrowseEntry] = []
        names: list[bytes] | None = None
        if only is not None:
            with self._lock:
                names = [
                    bytes(n)
                    for n, i in self.db.execute(
                        "SELECT name, id FROM nodes WHERE parent=?", (node,)
                    )
                    if int(i) in only
                ]
        if as_of is not None:
            tree = trees.get(as_of)
            if tree is None:
                return []
            snap = self._snaps[as_of].info.id
            rows = self._rows(tree) if names is None else self._rows_named(tree, names)
            with self._lock:
                ids = self._child_ids(node, [r[0] for r in rows])
            for row in rows:
                out.append(self._make(node, ids[row[0]], base, row, snap, None))
        else:
            last_of: dict[bytes, int] = {}
            for idx, tree in trees.items():
                last_of[tree] = max(last_of.get(tree, -1), idx)
            newest: dict[bytes, tuple[Row, int]] = {}
            for tree in sorted(last_of, key=lambda t: -last_of[t]):
                rows = self._rows(tree) if names is None else self._rows_named(tree, names)
                for row in rows:
                    if row[0] not in newest:
                        newest[row[0]] = (row, last_of[tree])
            with self._lock:
                ids = self._child_ids(node, list(newest))
            covering = self._covering(base)
            for name, (row, last) in newest.items():
                child = base.rstrip(b"/") + b"/" + name
                gone = self._deleted_at(child, last, covering)
                if gone is not None and not show_deleted:
                    continue
                snap = self._snaps[last].info.id
                out.append(self._make(node, ids[name], base, row, snap, gone))
        out.sort(key=_order)
        return out

    def _make(
        self, parent: int, node: int, base: bytes, row: Row, snap: str, gone: datetime | None
    ) -> BrowseEntry:
        name, kind, size, mtime_ns, _digest, _subtree = row
        try:
            etype = EntryType(kind)
        except ValueError:
            etype = EntryType.FILE
        path = base.rstrip(b"/") + b"/" + name
        self._paths.setdefault(node, path)
        return BrowseEntry(
            node=node,
            parent=parent,
            name=_display(name),
            path=os.fsdecode(path),
            type=etype,
            size=size,
            mtime=_ns(mtime_ns) if mtime_ns else None,
            snapshot=snap,
            deleted_at=gone,
        )

    def _covering(self, folder: bytes) -> list[int]:
        """Backups (indexes, ascending) whose roots hold ``folder``; backups share a
        few root sets, so each set is checked once."""
        cached = self._covering_cache.get(folder)
        if cached is not None:
            return cached
        groups: dict[tuple[bytes, ...], list[int]] = {}
        for i, snap in enumerate(self._snaps):
            groups.setdefault(snap.roots, []).append(i)
        result = sorted(i for roots, idxs in groups.items() if covers(roots, folder) for i in idxs)
        if len(self._covering_cache) > 10_000:
            self._covering_cache.clear()
        self._covering_cache[folder] = result
        return result

    def _deleted_at(self, path: bytes, last: int, covering_parent: list[int]) -> datetime | None:
        """Time of the first backup after ``last`` that covers ``path`` without it."""
        pos = bisect.bisect_right(covering_parent, last)
        if pos < len(covering_parent):
            return self._snaps[covering_parent[pos]].info.time
        for idx in range(last + 1, len(self._snaps)):  # ``path`` may be a backup root
            if covers(self._snaps[idx].roots, path):
                return self._snaps[idx].info.time
        return None

    def entry(self, node: int, *, as_of: int | None = None) -> BrowseEntry | None:
        """One node as ``children`` would show it (deleted included)."""
        if node == ROOT_NODE:
            return None
        parent, name = self._node_row(node)
        for e in self.children(parent, as_of=as_of, show_deleted=True):
            if e.node == node:
                return e
        return None

    # --- search ----------------------------------------------------------------------

    def search(
        self,
        text: str,
        *,
        as_of: int | None = None,
        show_deleted: bool = False,
        limit: int = SEARCH_LIMIT,
    ) -> SearchResult:
        """Paths whose name contains ``text`` (case-insensitive), with their folders'
        rows ready to show (one answer, no listing per folder).

        Answered from ``nodes`` (one scan of a narrow table), then checked against the
        view (deleted hidden, or the timeline's backup) with one query per folder
        holding matches or their folders, newest tree first.
        """
        needle = text.strip().casefold()
        if not needle:
            return SearchResult(text, (), frozenset({ROOT_NODE}), False)
        with self._lock:
            rows = self.db.execute(
                "SELECT id, parent, name FROM nodes WHERE instr(lname, ?) > 0 AND id != ? LIMIT ?",
                (needle, ROOT_NODE, limit * 4 + 1),
            ).fetchall()
        by_parent: dict[int, dict[bytes, int]] = {}
        for node, parent, name in rows:
            by_parent.setdefault(int(parent), {})[bytes(name)] = int(node)
        matches: list[BrowseEntry] = []
        truncated = len(rows) > limit * 4
        folders = list(by_parent.items())
        shown: dict[int, BrowseEntry] = {}
        for start in range(0, len(folders), 50):  # stop as soon as there are enough
            chunk = folders[start : start + 50]
            visible = self._folders_shown([p for p, _ in chunk], as_of, show_deleted, shown)
            for parent, names in chunk:
                if parent in visible:
                    matches.extend(self._present(parent, names, as_of, show_deleted))
            if len(matches) >= limit:
                truncated = truncated or len(matches) > limit or start + 50 < len(folders)
                matches = matches[:limit]
                break
        tree: dict[int, dict[int, BrowseEntry]] = {}
        for entry in matches:
            node = entry.node
            tree.setdefault(entry.parent, {})[node] = entry
            for folder in reversed(self.ancestors(node)):
                if folder == ROOT_NODE or folder not in shown:
                    continue
                above = shown[folder]
                tree.setdefault(above.parent, {})[folder] = above
        listing = {
            parent: tuple(sorted(kids.values(), key=_order)) for parent, kids in tree.items()
        }
        visible_nodes = {ROOT_NODE} | {n for kids in tree.values() for n in kids}
        return SearchResult(
            text,
            tuple(e.node for e in matches),
            frozenset(visible_nodes),
            truncated,
            listing,
        )

    def _present(
        self, parent: int, names: dict[bytes, int], as_of: int | None, show_deleted: bool
    ) -> list[BrowseEntry]:
        """The rows of folder ``parent`` named ``names`` that the view shows (folders
        above aside): ``children`` for a few names, newest tree first."""
        trees = self.trees_of(parent)
        base = self.raw_path(parent)
        wanted = list(names)
        if as_of is not None:
            tree = trees.get(as_of)
            if tree is None:
                return []
            snap = self._snaps[as_of].info.id
            return [
                self._make(parent, names[r[0]], base, r, snap, None)
                for r in self._rows_named(tree, wanted)
            ]
        last_of: dict[bytes, int] = {}
        for idx, tree in trees.items():
            last_of[tree] = max(last_of.get(tree, -1), idx)
        found: dict[bytes, tuple[Row, int]] = {}
        remaining = set(wanted)
        for tree in sorted(last_of, key=lambda t: -last_of[t]):  # newest first
            if not remaining:
                break  # most names are in the newest tree: one query
            for row in self._rows_named(tree, list(remaining)):
                found[row[0]] = (row, last_of[tree])
                remaining.discard(row[0])
        covering = self._covering(base)
        out = []
        for name, (row, last) in found.items():
            child = base.rstrip(b"/") + b"/" + name
            gone = self._deleted_at(child, last, covering)
            if gone is not None and not show_deleted:
                continue
            out.append(self._make(parent, names[name], base, row, self._snaps[last].info.id, gone))
        return out

    def _folders_shown(
        self,
        folders: list[int],
        as_of: int | None,
        show_deleted: bool,
        shown: dict[int, BrowseEntry],
    ) -> set[int]:
        """Which folders the view shows (themselves and all above them present): one
        question per folder *holding* some of them; ``shown`` collects their rows."""
        chains = {f: [n for n in [*self.ancestors(f), f] if n != ROOT_NODE] for f in folders}
        todo = {n for chain in chains.values() for n in chain if n not in shown}
        by_parent: dict[int, dict[bytes, int]] = {}
        for node in todo:
            parent, name = self._node_row(node)
            by_parent.setdefault(parent, {})[name] = node
        for parent, names in by_parent.items():
            for entry in self._present(parent, names, as_of, show_deleted):
                shown[entry.node] = entry
        return {f for f, chain in chains.items() if all(n in shown for n in chain)}

    # --- history ---------------------------------------------------------------------

    def history(self, node: int) -> History:
        """Every backup that holds ``node``'s folder, as ``keepsake versions`` lists it.

        For a folder, a version is a change of its tree (any file below changed).
        """
        parent, name = self._node_row(node)
        path = self.raw_path(node)
        trees = self.trees_of(parent)
        kinds: dict[bytes, Row | None] = {}
        versions: list[FileVersion] = []
        is_dir = False
        for idx in range(len(self._snaps)):
            tree = trees.get(idx)
            if tree is not None and tree not in kinds:
                kinds[tree] = self._entry(tree, name)
            found = kinds.get(tree) if tree is not None else None
            if found is not None and found[1] == "dir":
                is_dir = True
        previous: Row | None = None
        seen = False
        for idx, snap in enumerate(self._snaps):
            tree = trees.get(idx)
            found = kinds.get(tree) if tree is not None else None
            if is_dir:
                if found is not None and found[1] != "dir":
                    found = None
                if not covers(snap.roots, path) and found is None:
                    continue
            else:
                if not covers(snap.roots, path):
                    continue
                if found is not None and found[1] == "dir":
                    found = None  # a folder of that name is not the file
            info = snap.info
            if found is None:
                if seen and previous is not None:
                    versions.append(FileVersion(info.id, info.time, 0, None, Change.DELETED))
                previous = None
                continue
            if previous is None:
                change = Change.ADDED
            elif (previous[1], previous[2], previous[4], previous[5]) == (
                found[1],
                found[2],
                found[4],
                found[5],
            ):
                change = Change.UNCHANGED
            else:
                change = Change.CHANGED
            versions.append(FileVersion(info.id, info.time, found[2], _ns(found[3]), change))
            previous = found
            seen = True
        return History(node, os.fsdecode(path), is_dir, tuple(versions))

    def index_of(self, snapshot_id: str) -> int | None:
        for i, s in enumerate(self._snaps):
            if s.info.id == snapshot_id:
                return i
        return None


def _order(entry: BrowseEntry) -> tuple[bool, str, str]:
    """Folders first, then by name (case-insensitive): every view sorts alike."""
    return (not entry.is_dir, entry.name.casefold(), entry.name)
