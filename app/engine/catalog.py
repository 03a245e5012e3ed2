"""The browser's catalog, query half: folder listings (merged or as of one backup),
search, and a file's distinct versions, answered from the SQLite catalog that
:class:`~app.engine.catalog_store.CatalogStore` keeps (see that module for what it
stores and why it is a file of its own).
"""

from __future__ import annotations

import bisect
import os
from datetime import datetime

from app.core.browse import ROOT_NODE, BrowseEntry, History, SearchResult
from app.core.models import Change, EntryType, FileVersion
from app.engine.catalog_rows import (
    Row,
    covers,
)
from app.engine.catalog_store import (
    SEARCH_LIMIT,
    SEARCH_PAGE,
    CatalogStore,
    _display,
    _ns,
)


class Catalog(CatalogStore):
    """The merged tree of one vault: what the Versions page asks."""

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
        groups = self._root_groups
        if groups is None or sum(len(idxs) for idxs in groups.values()) != len(self._snaps):
            groups = {}
            for i, snap in enumerate(self._snaps):
                groups.setdefault(snap.roots, []).append(i)
            self._root_groups = groups
        if len(groups) == 1:  # the usual case: every backup of the same folders
            ((roots, idxs),) = groups.items()
            result = idxs if covers(roots, folder) else []
        else:
            result = sorted(
                i for roots, idxs in groups.items() if covers(roots, folder) for i in idxs
            )
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
        if self.complete:
            return self._search_indexed(text, needle, as_of, show_deleted, limit)
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

    def _search_indexed(
        self, text: str, needle: str, as_of: int | None, show_deleted: bool, limit: int
    ) -> SearchResult:
        """Search once every backup is ingested: matching names from one scan of
        ``nodes``, read a page at a time, and each page's rows (and their folders')
        from one join of ``runs`` and ``entries``: no walk down from the root, no
        query per folder, and it stops as soon as ``limit`` rows are shown."""
        matches: list[BrowseEntry] = []
        shown: dict[int, BrowseEntry | None] = {}  # folder -> its row (None: hidden)
        truncated = False
        with self._lock:
            cursor = self.db.execute(
                "SELECT id FROM nodes WHERE instr(lname, ?) > 0 AND id != ?", (needle, ROOT_NODE)
            )
            while not truncated:
                wanted = max(limit + 1 - len(matches), SEARCH_PAGE)
                page = [int(r[0]) for r in cursor.fetchmany(wanted)]
                if not page:
                    break
                found = self._view_rows(page, as_of, show_deleted)
                self._show_folders({e.parent for e in found.values()}, as_of, show_deleted, shown)
                for node in page:
                    entry = found.get(node)
                    if entry is None or not self._chain_shown(entry.parent, shown):
                        continue
                    if len(matches) == limit:
                        truncated = True
                        break
                    matches.append(entry)
            cursor.close()
        tree: dict[int, dict[int, BrowseEntry]] = {}
        for entry in matches:
            tree.setdefault(entry.parent, {})[entry.node] = entry
            for folder in self.ancestors(entry.node):
                above = shown.get(folder)
                if above is not None:
                    tree.setdefault(above.parent, {})[folder] = above
        listing = {
            parent: tuple(sorted(kids.values(), key=_order)) for parent, kids in tree.items()
        }
        visible_nodes = {ROOT_NODE} | {n for kids in tree.values() for n in kids}
        return SearchResult(
            text, tuple(e.node for e in matches), frozenset(visible_nodes), truncated, listing
        )

    def _view_rows(
        self, nodes: list[int], as_of: int | None, show_deleted: bool
    ) -> dict[int, BrowseEntry]:
        """These nodes' rows as ``children`` shows them (absent or hidden ones left
        out), in one query: the tree each parent had (``runs``) joined with its entry
        of the node's name; merged, the newest backup holding it wins."""
        out: dict[int, BrowseEntry] = {}
        if not nodes:
            return out
        self._prime(nodes)
        marks = ",".join("?" * len(nodes))
        cols = "n.id, n.parent, e.name, e.type, e.size, e.mtime_ns, e.digest, e.subtree"
        with self._lock:
            if as_of is not None:
                rows = self.db.execute(
                    f"SELECT {cols}, r.last FROM nodes n "
                    "JOIN runs r ON r.node = n.parent AND r.first <= ? AND r.last >= ? "
                    "JOIN entries e ON e.tree = r.tree AND e.name = n.name "
                    f"WHERE n.id IN ({marks})",
                    (as_of, as_of, *nodes),
                ).fetchall()
            else:  # SQLite: the other columns come from the row holding MAX(r.last)
                rows = self.db.execute(
                    f"SELECT {cols}, MAX(r.last) FROM nodes n "
                    "JOIN runs r ON r.node = n.parent "
                    "JOIN entries e ON e.tree = r.tree AND e.name = n.name "
                    f"WHERE n.id IN ({marks}) GROUP BY n.id",
                    nodes,
                ).fetchall()
        for node, parent, name, kind, size, mtime_ns, digest, subtree, last in rows:
            row: Row = (bytes(name), kind, size, mtime_ns, digest, subtree)
            base = self.raw_path(parent)
            if as_of is not None:
                out[node] = self._make(parent, node, base, row, self._snaps[as_of].info.id, None)
                continue
            child = base.rstrip(b"/") + b"/" + row[0]
            gone = self._deleted_at(child, last, self._covering(base))
            if gone is not None and not show_deleted:
                continue
            out[node] = self._make(parent, node, base, row, self._snaps[last].info.id, gone)
        return out

    def _show_folders(
        self,
        parents: set[int],
        as_of: int | None,
        show_deleted: bool,
        shown: dict[int, BrowseEntry | None],
    ) -> None:
        """Add the rows of these folders and every folder above them to ``shown``."""
        need = {
            f for p in parents for f in [*self.ancestors(p), p] if f != ROOT_NODE and f not in shown
        }
        rows = self._view_rows(sorted(need), as_of, show_deleted)
        for folder in need:
            shown[folder] = rows.get(folder)

    def _chain_shown(self, parent: int, shown: dict[int, BrowseEntry | None]) -> bool:
        return all(
            shown.get(f) is not None for f in [*self.ancestors(parent), parent] if f != ROOT_NODE
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
