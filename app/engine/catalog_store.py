"""The browser's catalog, storage half: one merged tree of every path in every backup,
in SQLite (the queries over it are in ``app.engine.catalog``).

Why a second SQLite file (``browse.sqlite`` beside the cache): a backup holds the
cache's write transaction for its whole run, and the browser must stay usable
meanwhile. The catalog is written only by the browser's own thread.

What it stores, all rebuildable from the vault:

* ``trees``: a small integer for each tree id seen (content addressed, so never
  stale), and whether its entries are stored;
* ``entries``: the entries of each tree read so far, keyed by that integer (new
  rows append to the table instead of landing at random 32-byte keys);
* ``nodes``: one row per path ever backed up (parent node, name), which gives every
  path a stable integer id and makes search a scan of one narrow table;
* ``seen``: which (path, tree) pairs were ingested. An unchanged folder keeps its
  tree id, so a new backup reads only its changed folders;
* ``runs``: which tree each folder had in which backups (a run of consecutive
  backups per row), so a folder's trees, a file's history and search are indexed
  lookups instead of walks down from the root.
* ``snaps``: the backups ingested, oldest first (their position is the timeline).

A path's tree in backup *i* comes from ``runs`` once every backup is ingested, and
before that by walking tree ids down from the root (``trees_of``); the merged view
of a folder is the union of its distinct trees.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
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

SCHEMA_VERSION = "2"
TREES_OF_CACHE = 4096
DIRS_CACHE = 200_000  # (folder, tree) pairs whose sub-folders ingest keeps in memory
KIDS_CACHE = 20_000  # folders whose children's nodes are kept in memory
TREE_NOS_CACHE = 500_000
NODE_ROWS_CACHE = 200_000
SEARCH_LIMIT = 200  # matches shown; the status line says when there are more
SEARCH_PAGE = 50  # at least this many matching names checked per query

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snaps (idx INTEGER PRIMARY KEY, id TEXT UNIQUE, doc TEXT);
CREATE TABLE IF NOT EXISTS trees (
    no INTEGER PRIMARY KEY, tree BLOB NOT NULL UNIQUE, known INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS entries (
    tree INTEGER, name BLOB, type TEXT, size INTEGER, mtime_ns INTEGER, digest BLOB,
    subtree BLOB, PRIMARY KEY (tree, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS nodes (
    id INTEGER PRIMARY KEY, parent INTEGER NOT NULL, name BLOB NOT NULL, lname TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS nodes_by_parent ON nodes (parent, name);
CREATE TABLE IF NOT EXISTS seen (node INTEGER, tree INTEGER, PRIMARY KEY (node, tree)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    node INTEGER, first INTEGER, last INTEGER, tree INTEGER, PRIMARY KEY (node, first))
    WITHOUT ROWID;
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


@dataclass(slots=True)
class _Work:
    """One backup being ingested: the folders still to visit and those visited
    (folder node, tree number), and the runs still open from the backup before."""

    idx: int
    stack: list[tuple[int, bytes]]
    visited: list[tuple[int, int]]
    open_runs: dict[int, tuple[int, int]]  # node -> (first backup, tree number)


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
        self._node_rows: dict[int, tuple[int, bytes]] = {}  # node -> (parent, name)
        self._covering_cache: dict[bytes, list[int]] = {}
        self._root_groups: dict[tuple[bytes, ...], list[int]] | None = None  # by roots
        self._tree_nos: dict[bytes, int] = {}  # tree id -> its number in ``trees``
        self._known_trees: set[int] = set()  # tree numbers whose entries are stored
        self._kids: dict[int, dict[bytes, int]] = {}  # folder node -> its children's nodes
        self._dirs: dict[tuple[int, int], tuple[tuple[int, bytes], ...]] = {}  # see ``_subdirs``
        self._done: int | None = None  # backups ingested (``meta``), once read
        self._work: _Work | None = None
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
        nodes and runs are rebuilt, but tree entries are kept (nothing is read twice).
        """
        ordered = sorted(snapshots, key=lambda s: (s.time, s.id))
        with self._lock:
            known = [s.info.id for s in self._snaps]
            ids = [s.id for s in ordered]
            if ids == known:
                return False
            with self._tx():
                if ids[: len(known)] != known:
                    self.db.execute("DELETE FROM snaps")
                    self.db.execute("DELETE FROM runs")
                    self.db.execute("DELETE FROM nodes WHERE id != ?", (ROOT_NODE,))
                    self.db.execute("DELETE FROM meta WHERE key='ingested'")
                    self._paths = {ROOT_NODE: b"/"}
                    self._ancestors = {}
                    self._node_rows = {}
                    self._kids = {}
                    self._dirs = {}
                    self._done = None
                    known = []
                self.db.executemany(
                    "INSERT OR REPLACE INTO snaps VALUES (?,?,?)",
                    [
                        (i, ordered[i].id, info_to_json(ordered[i]))
                        for i in range(len(known), len(ids))
                    ],
                )
            self._snaps = [_Snap(i, tuple(root_of(p) for p in i.paths)) for i in ordered]
            self._trees_of.clear()
            self._covering_cache.clear()
            self._root_groups = None
            self._work = None
        return True

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        """One write transaction; a call inside another joins it (an ingest slice
        commits once, not once per folder). A rollback forgets the in-memory maps,
        which may name rows that are gone."""
        with self._lock:
            if self.db.in_transaction:
                yield
                return
            self.db.execute("BEGIN")
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK")
                self._forget()
                raise
            self.db.execute("COMMIT")

    def _forget(self) -> None:
        self._paths = {ROOT_NODE: b"/"}
        self._ancestors = {}
        self._node_rows = {}
        self._tree_nos = {}
        self._known_trees = set()
        self._kids = {}
        self._dirs = {}
        self._done = None
        self._work = None
        self._trees_of.clear()

    @property
    def complete(self) -> bool:
        """Has every backup been ingested (is search exhaustive)?"""
        return self._ingested() >= len(self._snaps)

    def _ingested(self) -> int:
        if self._done is None:
            with self._lock:
                row = self.db.execute("SELECT value FROM meta WHERE key='ingested'").fetchone()
            self._done = int(row[0]) if row else 0
        return self._done

    def ingest(self, cancel: CancelToken = NEVER_CANCELLED, budget_s: float | None = None) -> bool:
        """Record the paths of backups not yet ingested, for up to ``budget_s`` seconds
        (so listings can run in between); True when everything is ingested.

        Every folder of every backup is visited (that is what ``runs`` records), but
        only a tree never seen before is read and decoded: an unchanged folder keeps
        its tree id, so 50 backups of a mostly unchanged tree read each folder
        version once, and an unchanged folder costs a dictionary look-up. One
        transaction per slice. Progress survives restarts per backup; a backup
        ingested halfway is walked again from the catalog (its trees are stored
        already, so the vault is not read).
        """
        deadline = None if budget_s is None else time.monotonic() + budget_s
        with self._lock:
            while True:
                done = self._ingested()
                if done >= len(self._snaps):
                    return True
                if self._work is None or self._work.idx != done:
                    open_runs = {
                        int(n): (int(f), int(t))
                        for n, f, t in self.db.execute(
                            "SELECT node, first, tree FROM runs WHERE last=?", (done - 1,)
                        )
                    }
                    root = bytes.fromhex(self._snaps[done].info.tree)
                    self._work = _Work(done, [(ROOT_NODE, root)], [], open_runs)
                work = self._work
                with self._tx():
                    while work.stack:
                        if cancel.cancelled or (
                            deadline is not None and time.monotonic() > deadline
                        ):
                            break
                        node, tree = work.stack.pop()
                        no = self._tree_no(tree)
                        work.visited.append((node, no))
                        work.stack.extend(self._subdirs(node, tree, no))
                    if not work.stack:
                        self._finish(work)
                cancel.check()
                if work.stack:
                    return False

    def _finish(self, work: _Work) -> None:
        """A backup's folders are all visited: record their runs, then the backup as
        ingested (one transaction, so a run never names a backup half recorded)."""
        rows = []
        next_open: dict[int, tuple[int, int]] = {}
        for node, no in work.visited:
            run = work.open_runs.get(node)
            first = run[0] if run is not None and run[1] == no else work.idx
            rows.append((node, first, work.idx, no))
            next_open[node] = (first, no)
        self.db.executemany("INSERT OR REPLACE INTO runs VALUES (?,?,?,?)", rows)
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('ingested', ?)", (str(work.idx + 1),))
        self._done = work.idx + 1
        if self._done < len(self._snaps):
            root = bytes.fromhex(self._snaps[self._done].info.tree)
            self._work = _Work(self._done, [(ROOT_NODE, root)], [], next_open)
        else:
            self._work = None

    def _subdirs(self, node: int, tree: bytes, no: int) -> tuple[tuple[int, bytes], ...]:
        """(child node, subtree) of each folder in folder ``node`` holding ``tree``:
        kept in memory, so an unchanged folder costs a dictionary look-up per backup."""
        key = (node, no)
        cached = self._dirs.get(key)
        if cached is not None:
            return cached
        rows = self._rows(tree)
        ids = self._child_ids(node, [r[0] for r in rows])
        dirs = tuple(  # a tuple: the collector soon stops tracking it (and () is shared)
            (ids[name], subtree)
            for name, kind, _size, _mtime, _digest, subtree in rows
            if kind == "dir" and subtree is not None and name in ids
        )
        if len(self._dirs) > DIRS_CACHE:
            self._dirs.clear()
        self._dirs[key] = dirs
        return dirs

    def _child_ids(self, parent: int, names: list[bytes]) -> dict[bytes, int]:
        have = self._kids.get(parent)
        if have is not None and all(n in have for n in names):
            return have
        with self._lock:
            have = {
                bytes(n): int(i)
                for n, i in self.db.execute("SELECT name, id FROM nodes WHERE parent=?", (parent,))
            }
            missing = [n for n in names if n not in have]
            if missing:
                with self._tx():
                    for n in missing:
                        cur = self.db.execute(
                            "INSERT INTO nodes (parent, name, lname) VALUES (?,?,?)",
                            (parent, n, _lower(n)),
                        )
                        have[n] = int(cur.lastrowid or 0)
        if len(self._kids) > KIDS_CACHE:
            self._kids.clear()
        self._kids[parent] = have
        return have

    def _tree_no(self, tree: bytes) -> int:
        """The small integer ``entries`` and ``runs`` know a tree by (made on first use)."""
        no = self._tree_nos.get(tree)
        if no is not None:
            return no
        with self._lock:
            row = self.db.execute("SELECT no, known FROM trees WHERE tree=?", (tree,)).fetchone()
            if row is None:
                with self._tx():
                    cur = self.db.execute("INSERT INTO trees (tree) VALUES (?)", (tree,))
                no = int(cur.lastrowid or 0)
            else:
                no = int(row[0])
                if row[1]:
                    self._known_trees.add(no)
        if len(self._tree_nos) > TREE_NOS_CACHE:
            self._tree_nos.clear()
            self._known_trees.clear()
        self._tree_nos[tree] = no
        return no

    def _known(self, no: int) -> bool:
        """Are this tree's entries stored?"""
        if no in self._known_trees:
            return True
        with self._lock:
            row = self.db.execute("SELECT known FROM trees WHERE no=?", (no,)).fetchone()
        if row is not None and row[0]:
            self._known_trees.add(no)
            return True
        return False

    def _rows(self, tree: bytes) -> list[Row]:
        """A tree's entries, read from the vault the first time only."""
        no = self._tree_no(tree)
        if self._known(no):
            with self._lock:
                return [
                    (bytes(r[0]), r[1], r[2], r[3], r[4], r[5])
                    for r in self.db.execute(
                        "SELECT name, type, size, mtime_ns, digest, subtree FROM entries "
                        "WHERE tree=?",
                        (no,),
                    )
                ]
        rows = tree_rows(self.load_tree(tree))
        with self._tx():
            self.db.executemany(
                "INSERT OR REPLACE INTO entries VALUES (?,?,?,?,?,?,?)",
                [(no, *r) for r in rows],
            )
            self.db.execute("UPDATE trees SET known=1 WHERE no=?", (no,))
            self._known_trees.add(no)
        return rows

    def _rows_named(self, tree: bytes, names: list[bytes]) -> list[Row]:
        """Only these names' entries of a tree (a few rows of a big folder)."""
        no = self._ensure(tree)
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
                        (no, *chunk),
                    )
                ]
        return out

    def _ensure(self, tree: bytes) -> int:
        """Make sure a tree's entries are stored (read it from the vault if not)."""
        no = self._tree_no(tree)
        if not self._known(no):
            self._rows(tree)
        return no

    def _entry(self, tree: bytes, name: bytes) -> Row | None:
        """One entry of a tree, reading the tree first if it was never read (a folder
        seen only in another backup than the one shown so far)."""
        no = self._ensure(tree)
        with self._lock:
            r = self.db.execute(
                "SELECT name, type, size, mtime_ns, digest, subtree FROM entries "
                "WHERE tree=? AND name=?",
                (no, name),
            ).fetchone()
        if r is None:
            return None
        return (bytes(r[0]), r[1], r[2], r[3], r[4], r[5])

    # --- paths and nodes -------------------------------------------------------------

    def _node_row(self, node: int) -> tuple[int, bytes]:
        cached = self._node_rows.get(node)
        if cached is not None:
            return cached
        with self._lock:
            row = self.db.execute("SELECT parent, name FROM nodes WHERE id=?", (node,)).fetchone()
        if row is None:
            raise KeyError(node)
        if len(self._node_rows) > NODE_ROWS_CACHE:
            self._node_rows.clear()
        found = self._node_rows[node] = (int(row[0]), bytes(row[1]))
        return found

    def _prime(self, nodes: list[int]) -> None:
        """Read these nodes and every folder above them, a level at a time, so the
        paths and ancestors of a page of search results cost a few queries, not a
        few per result."""
        todo = {n for n in nodes if n not in self._node_rows and n != ROOT_NODE}
        if len(self._node_rows) + len(todo) > NODE_ROWS_CACHE:
            self._node_rows.clear()
        while todo:
            batch = sorted(todo)
            todo = set()
            with self._lock:
                for i in range(0, len(batch), 500):
                    chunk = batch[i : i + 500]
                    for node, parent, name in self.db.execute(
                        f"SELECT id, parent, name FROM nodes WHERE id IN ({','.join('?' * len(chunk))})",
                        chunk,
                    ):
                        self._node_rows[int(node)] = (int(parent), bytes(name))
                        if parent != ROOT_NODE and parent not in self._node_rows:
                            todo.add(int(parent))

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
        elif self.complete:  # one indexed look-up, no walk from the root
            with self._lock:
                result = {
                    i: bytes(tree)
                    for first, last, tree in self.db.execute(
                        "SELECT r.first, r.last, t.tree FROM runs r JOIN trees t ON t.no = r.tree "
                        "WHERE r.node=?",
                        (node,),
                    )
                    for i in range(first, last + 1)
                }
        else:
            parent, name = self._node_row(node)
            parent_trees = self.trees_of(parent)
            numbers = {tree: self._ensure(tree) for tree in set(parent_trees.values())}
            distinct = list(numbers.values())
            by_no: dict[int, bytes] = {}
            with self._lock:
                for i in range(0, len(distinct), 400):
                    chunk = distinct[i : i + 400]
                    for no, subtree in self.db.execute(
                        "SELECT tree, subtree FROM entries WHERE name=? AND type='dir' "
                        f"AND tree IN ({','.join('?' * len(chunk))})",
                        (name, *chunk),
                    ):
                        if subtree is not None:
                            by_no[int(no)] = bytes(subtree)
            result = {
                idx: by_no[numbers[tree]]
                for idx, tree in parent_trees.items()
                if numbers[tree] in by_no
            }
        self._trees_of[node] = result
        if len(self._trees_of) > TREES_OF_CACHE:
            self._trees_of.popitem(last=False)
        return result
