"""Restore's planning half: the selected trees, folder by folder, as write tasks.

The plan is streamed: a folder is read, created and turned into tasks (its files,
at most ``TASK_FILES`` or ``TASK_BYTES`` per task, with every blob located by one
index query per task) just before the writers need them, so memory follows the
largest folder and the few tasks in flight, not the size of the snapshot. What is
kept for the whole run is one small record per folder (its times and mode are set
last, deepest first, once nothing more is written into it).

Names from the vault are untrusted; the checks are the ones ``app.engine.restore``
describes (unsafe or duplicate names, folders that contain themselves, absurd
depth, exponentially self-nesting trees).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from app.core.errors import StorageError, UnsafePathError, VaultCorruptError
from app.core.events import Warning_
from app.core.models import EntryType
from app.engine import codec
from app.engine.crypto import B_DATA, B_KIND_MASK, ID_LEN
from app.engine.repository import Repository
from app.engine.restore_read import BlobLocation
from app.engine.tree import Node, TreeBudget

MAX_DEPTH = 32768  # far beyond real trees; walks are iterative, so only a bound
TASK_FILES = 256
TASK_BYTES = 8 * 1024 * 1024
SMALL_FILE_BYTES = 64 * 1024  # a task's average file size below this: small files

Parts = tuple[bytes, ...]  # path components below the restore target


@dataclass(slots=True)
class FileItem:
    """One file to write: what its listing entry says (no ``Node``: a full restore
    makes one of these per file of the snapshot) and where its blobs are."""

    name: bytes
    mode: int
    mtime_ns: int
    size: int
    content: tuple[bytes, ...]
    blobs: list[BlobLocation] | None  # None: a blob is missing from the index

    @classmethod
    def of(cls, name: bytes, node: Node, blobs: list[BlobLocation] | None) -> FileItem:
        return cls(name, node.mode, node.mtime_ns, node.size, node.content, blobs)


@dataclass(slots=True)
class Task:
    """Files (and links) of one folder for one writer call."""

    parts: Parts  # the folder, below the target
    files: list[FileItem]
    #: The folder was created empty by this restore: no file can be in the way, so
    #: no stat per file to find out whether one is being replaced.
    fresh: bool
    links: list[Node] = field(default_factory=list)
    size: int = 0  # the files' bytes

    @property
    def small_files(self) -> bool:
        """Files of a few KiB on average (notes, code, mail): what costs is the
        Python and the system calls per file, not bytes (see ``restore``)."""
        return self.size < SMALL_FILE_BYTES * len(self.files)

    def original(self, name: bytes) -> str:
        return os.fsdecode(self.original_raw(name))

    def original_raw(self, name: bytes) -> bytes:
        return b"/" + b"/".join((*self.parts, name))


@dataclass(frozen=True, slots=True)
class FolderMeta:
    parts: Parts
    mode: int
    mtime_ns: int


class FolderMaker(Protocol):
    """What the planner needs from the writing side: create a folder safely and say
    whether it was new."""

    def make(self, parts: Parts) -> bool: ...


class Locations(Protocol):
    """Blob id -> (type, pack, offset, length, raw length), or None when unknown
    (``app.engine.locmap.LocationMap``)."""

    def get(self, blob_id: bytes, /) -> tuple[int, bytes, int, int, int] | None: ...


def locate_all(repo: Repository, items: list[FileItem], where: Locations | None = None) -> None:
    """Fill in every item's blob locations: from ``where`` (a full restore's map of
    the whole index) or with one index query for all of them; an id neither names
    goes through ``repo.locate`` (which reads the headers of unindexed packs once)
    before the file is given up."""
    if where is None:
        where = repo.cache.lookup_blobs({blob_id for item in items for blob_id in item.content})
    get = where.get
    for item in items:
        content = item.content
        if len(content) == 1:  # the common case, inline
            blob_id = content[0]
            found = get(blob_id)
            if found is not None and len(blob_id) == ID_LEN and found[0] & B_KIND_MASK == B_DATA:
                item.blobs = [(blob_id, *found)]
                continue
        item.blobs = locate_one(repo, content, where)


def locate_one(
    repo: Repository, content: tuple[bytes, ...], where: Locations | None = None
) -> list[BlobLocation] | None:
    out: list[BlobLocation] = []
    for blob_id in content:
        if len(blob_id) != ID_LEN:
            return None
        found = where.get(blob_id) if where is not None else None
        if found is None:
            found = repo.locate(blob_id)
        if found is None or found[0] & B_KIND_MASK != B_DATA:
            return None
        out.append((blob_id, *found))
    return out


class Planner:
    """Walks selected nodes depth first and yields write tasks, folder by folder.

    ``locations``: where every blob is (a full restore's in-memory map of the index),
    else each task's blobs are looked up in the cache with one query."""

    def __init__(
        self,
        repo: Repository,
        dirs: FolderMaker,
        warnings: list[Warning_],
        locations: Locations | None = None,
    ) -> None:
        self.repo = repo
        self.dirs = dirs
        self.warnings = warnings
        self.locations = locations
        self.folders: list[FolderMeta] = []  # every folder made, in creation order
        self.budget = TreeBudget()  # refuses exponentially self-nesting (forged) trees
        self.files_planned = 0
        self.bytes_planned = 0
        #: Folders not to walk (another process restores them: ``restore_split``).
        self.skip: set[Parts] = set()

    def tasks(self, parts: Parts, node: Node, ancestors: tuple[bytes, ...] = ()) -> Iterator[Task]:
        """Tasks for ``node`` (at ``parts`` below the target) and everything below.

        Depth first with an explicit stack, so no recursion limit applies to deep
        trees; the trees on the current path (starting with ``ancestors``, the trees
        of the folders above ``node``) are tracked to refuse a folder that contains
        itself."""
        on_path: dict[bytes, int] = {}
        for tree in ancestors:
            on_path[tree] = on_path.get(tree, 0) + 1
        # (parts, node) to plan, or (None, tree id) once a folder's children are done.
        work: list[tuple[Parts | None, Node | bytes]] = [(parts, node)]
        while work:
            item_parts, item = work.pop()
            if item_parts is None:
                assert isinstance(item, bytes)
                on_path[item] -= 1
                if not on_path[item]:
                    del on_path[item]
                continue
            assert isinstance(item, Node)
            if len(item_parts) > MAX_DEPTH:
                self._warn(item_parts, "refused: the folder nesting is absurdly deep")
                continue
            self.budget.visit()
            if not item.is_dir:  # a selected file or link: a task in its parent,
                name = item_parts[-1]  # under the name asked for ("restore as")
                row: codec.FileRow | Node
                if item.is_file:
                    row = (name, item.mode, item.mtime_ns, item.size, item.content)
                else:
                    row = dataclasses.replace(item, name=name)
                yield from self._entries(item_parts[:-1], [row], [], fresh=False, count=False)
                continue
            tree_id = item.subtree_id()
            if tree_id in on_path:
                self._warn(item_parts, "refused: the folder contains itself")
                continue
            folder = self._folder(item_parts, item, tree_id)
            if folder is None:
                continue
            fresh, rows = folder
            on_path[tree_id] = on_path.get(tree_id, 0) + 1
            work.append((None, tree_id))
            subdirs: list[tuple[Parts | None, Node | bytes]] = []
            yield from self._entries(item_parts, rows, subdirs, fresh=fresh)
            work.extend(reversed(subdirs))

    def _folder(
        self, parts: Parts, node: Node, tree_id: bytes
    ) -> tuple[bool, list[codec.FileRow | Node]] | None:
        """Create the folder and read its listing; its entries, or None."""
        try:
            fresh = self.dirs.make(parts)
        except (OSError, UnsafePathError) as exc:
            self._warn(parts, f"cannot create folder: {exc}; its contents were not restored")
            return None
        self.folders.append(FolderMeta(parts, node.mode, node.mtime_ns))
        try:
            rows = self.repo.load_tree_rows(tree_id)
        except (VaultCorruptError, StorageError) as exc:
            self._warn(parts, f"folder listing is damaged ({exc}); its files were not restored")
            return None
        self.budget.read(tree_id, len(rows))
        return fresh, rows

    def _entries(
        self,
        parts: Parts,
        rows: list[codec.FileRow | Node],
        subdirs: list[tuple[Parts | None, Node | bytes]],
        *,
        fresh: bool,
        count: bool = True,
    ) -> Iterator[Task]:
        """The files and links among ``rows`` (entries of the folder ``parts``) as
        tasks; its folders go to ``subdirs``, for the caller to walk. Names that
        could escape the folder, and second entries of one name, are refused.
        Runs once per file of the restore: kept lean (no call per file but the
        ``FileItem``)."""
        too_deep = len(parts) + 1 > MAX_DEPTH
        task = Task(parts, [], fresh)
        files = task.files
        size = 0
        seen: set[bytes] = set()
        sep = _SEP
        for row in rows:
            name = row[0] if type(row) is tuple else row.name  # type: ignore[union-attr]
            if (
                not name
                or name == b"."
                or name == b".."
                or b"/" in name
                or b"\0" in name
                or sep in name
                or name in seen
            ):
                self.warnings.append(
                    Warning_(
                        os.fsdecode(b"/" + b"/".join(parts) + b"/" + name.replace(b"/", b"%2F")),
                        "refused: the name would escape the restore folder",
                    )
                )
                continue
            seen.add(name)
            if type(row) is tuple:
                if too_deep:
                    self._warn((*parts, name), "refused: the folder nesting is absurdly deep")
                    continue
                files.append(FileItem(name, row[1], row[2], row[3], row[4], None))
                size += row[3]
                if len(files) >= TASK_FILES or size >= TASK_BYTES:
                    self._count(task, size, count)
                    yield task
                    task, size = Task(parts, [], fresh), 0
                    files = task.files
                continue
            assert isinstance(row, Node)
            kind = row.type
            if kind is EntryType.DIR:
                below = (*parts, name)
                if below not in self.skip:
                    subdirs.append((below, row))
                continue
            if too_deep:
                self._warn((*parts, name), "refused: the folder nesting is absurdly deep")
                continue
            if kind is EntryType.SYMLINK:
                if count:
                    self.budget.visit()
                task.links.append(row)
        if files or task.links:
            self._count(task, size, count)
            yield task

    def _count(self, task: Task, size: int, count: bool) -> None:
        files = task.files
        if count:
            self.budget.visit_many(len(files))
        locate_all(self.repo, files, self.locations)
        task.size = size
        self.files_planned += len(files)
        self.bytes_planned += size

    def _warn(self, parts: Parts, message: str) -> None:
        self.warnings.append(Warning_(os.fsdecode(b"/" + b"/".join(parts)), message))


_SEP = os.sep.encode()
