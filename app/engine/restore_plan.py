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

Parts = tuple[bytes, ...]  # path components below the restore target


@dataclass(slots=True)
class FileItem:
    name: bytes
    node: Node
    blobs: list[BlobLocation] | None  # None: a blob is missing from the index


@dataclass(slots=True)
class Task:
    """Files (and links) of one folder for one writer call."""

    parts: Parts  # the folder, below the target
    files: list[FileItem]
    #: The folder was created empty by this restore: no file can be in the way, so
    #: no stat per file to find out whether one is being replaced.
    fresh: bool
    links: list[Node] = field(default_factory=list)

    def original(self, name: bytes) -> str:
        return os.fsdecode(b"/" + b"/".join((*self.parts, name)))


@dataclass(frozen=True, slots=True)
class FolderMeta:
    parts: Parts
    mode: int
    mtime_ns: int


class FolderMaker(Protocol):
    """What the planner needs from the writing side: create a folder safely and say
    whether it was new."""

    def make(self, parts: Parts) -> bool: ...


def locate_all(repo: Repository, items: list[FileItem]) -> None:
    """Fill in every item's blob locations with one index query for all of them;
    an id the index does not name goes through ``repo.locate`` (which reads the
    headers of unindexed packs once) before the file is given up."""
    ids = {blob_id for item in items for blob_id in item.node.content}
    found = repo.cache.lookup_blobs(ids)
    for item in items:
        item.blobs = locate_one(repo, item.node, found)


def locate_one(
    repo: Repository,
    node: Node,
    found: dict[bytes, tuple[int, bytes, int, int, int]] | None = None,
) -> list[BlobLocation] | None:
    out: list[BlobLocation] = []
    for blob_id in node.content:
        if len(blob_id) != ID_LEN:
            return None
        where = found.get(blob_id) if found is not None else None
        if where is None:
            where = repo.locate(blob_id)
        if where is None or where[0] & B_KIND_MASK != B_DATA:
            return None
        out.append((blob_id, *where))
    return out


class Planner:
    """Walks selected nodes depth first and yields write tasks, folder by folder."""

    def __init__(self, repo: Repository, dirs: FolderMaker, warnings: list[Warning_]) -> None:
        self.repo = repo
        self.dirs = dirs
        self.warnings = warnings
        self.folders: list[FolderMeta] = []  # every folder made, in creation order
        self.budget = TreeBudget()  # refuses exponentially self-nesting (forged) trees
        self.files_planned = 0
        self.bytes_planned = 0

    def tasks(self, parts: Parts, node: Node) -> Iterator[Task]:
        """Tasks for ``node`` (at ``parts`` below the target) and everything below.

        Depth first with an explicit stack, so no recursion limit applies to deep
        trees; the trees on the current path are tracked to refuse a folder that
        contains itself."""
        on_path: dict[bytes, int] = {}
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
                if item.name != item_parts[-1]:  # under the name asked for ("restore as")
                    item = dataclasses.replace(item, name=item_parts[-1])
                yield from self._entries(item_parts[:-1], [item], fresh=False, count=False)
                continue
            tree_id = item.subtree_id()
            if tree_id in on_path:
                self._warn(item_parts, "refused: the folder contains itself")
                continue
            folder = self._folder(item_parts, item, tree_id)
            if folder is None:
                continue
            fresh, children = folder
            on_path[tree_id] = on_path.get(tree_id, 0) + 1
            work.append((None, tree_id))
            subdirs: list[tuple[Parts | None, Node | bytes]] = []
            for child in children:
                if child.is_dir:
                    subdirs.append(((*item_parts, child.name), child))
            yield from self._entries(item_parts, children, fresh=fresh)
            work.extend(reversed(subdirs))

    def _folder(self, parts: Parts, node: Node, tree_id: bytes) -> tuple[bool, list[Node]] | None:
        """Create the folder and read its listing; its safe entries, or None."""
        try:
            fresh = self.dirs.make(parts)
        except (OSError, UnsafePathError) as exc:
            self._warn(parts, f"cannot create folder: {exc}; its contents were not restored")
            return None
        self.folders.append(FolderMeta(parts, node.mode, node.mtime_ns))
        try:
            children = self.repo.load_tree(tree_id, keep=False)
        except (VaultCorruptError, StorageError) as exc:
            self._warn(parts, f"folder listing is damaged ({exc}); its files were not restored")
            return None
        self.budget.read(tree_id, len(children))
        seen: set[bytes] = set()
        safe: list[Node] = []
        for child in children:
            name = child.name
            if not codec.safe_name(name) or name in seen:
                self.warnings.append(
                    Warning_(
                        os.fsdecode(b"/" + b"/".join(parts) + b"/" + name.replace(b"/", b"%2F")),
                        "refused: the name would escape the restore folder",
                    )
                )
                continue
            seen.add(name)
            safe.append(child)
        return fresh, safe

    def _entries(
        self, parts: Parts, nodes: list[Node], *, fresh: bool, count: bool = True
    ) -> Iterator[Task]:
        """The files and links among ``nodes`` (entries of the folder ``parts``) as
        tasks; folders are walked by the caller. Runs once per file: kept lean."""
        too_deep = len(parts) + 1 > MAX_DEPTH
        visit = self.budget.visit
        task = Task(parts, [], fresh)
        files = task.files
        size = 0
        for node in nodes:
            kind = node.type
            if kind is EntryType.DIR:
                continue
            if too_deep:
                self._warn((*parts, node.name), "refused: the folder nesting is absurdly deep")
                continue
            if count:
                visit()
            if kind is EntryType.FILE:
                files.append(FileItem(node.name, node, None))
                size += node.size
                if len(files) >= TASK_FILES or size >= TASK_BYTES:
                    self._count(files, size)
                    yield task
                    task, size = Task(parts, [], fresh), 0
                    files = task.files
            elif kind is EntryType.SYMLINK:
                task.links.append(node)
        if files or task.links:
            self._count(files, size)
            yield task

    def _count(self, files: list[FileItem], size: int) -> None:
        locate_all(self.repo, files)
        self.files_planned += len(files)
        self.bytes_planned += size

    def _warn(self, parts: Parts, message: str) -> None:
        self.warnings.append(Warning_(os.fsdecode(b"/" + b"/".join(parts)), message))
