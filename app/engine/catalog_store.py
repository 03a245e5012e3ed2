"""The browser's catalog, storage half: one merged tree of every path in every backup,
in SQLite (the queries over it are in ``app.engine.catalog``).

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

import contextlib
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.core.browse import ROOT_NODE
from app.core.cancel import NEVER_CANCELLED, CancelToken
from app.core.models import SnapshotInfo
from app.engine.catalog_rows import (
    LoadTree,
    Row,
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


class CatalogStore:
    """The catalog's storage: schema, backups ingested, tree entries, path nodes and
    which trees each path had. Thread-safe (one connection behind a lock); the
    queries the browser asks live in :class:`app.engine.catalog.Catalog`."""

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
