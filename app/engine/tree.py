"""The tree model: a typed ``Node`` per folder entry, and walking trees safely.

A tree is the listing of one folder (docs/FORMAT.md section 9). ``codec`` turns its
JSON into ``Node`` records and back, byte for byte; everything else in the engine
works on ``Node`` and never on the raw JSON, so a missing or mistyped member is
caught once, where the tree is decoded (restic's ``Node``, Borg's ``Item``).

This module knows nothing of storage or keys: resolving a path and walking a
snapshot take any ``TreeLoader`` (the repository is one), which keeps it at the
bottom of the engine's layers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

from app.core.errors import VaultCorruptError
from app.core.models import Entry, EntryType


@dataclass(frozen=True, slots=True)
class Node:
    """One entry of a folder listing, as stored in the vault.

    ``name`` and ``target`` are raw bytes (names are kept byte-exact, whatever their
    encoding). Which of the type-specific members is set follows ``type``: a file
    has ``size`` and ``content`` (its data blob ids, in order), a folder has
    ``subtree`` (the id of its own tree), a link has ``target``.
    """

    name: bytes
    type: EntryType
    mode: int
    mtime_ns: int
    size: int = 0
    content: tuple[bytes, ...] = ()
    subtree: bytes | None = None
    target: bytes | None = None

    @property
    def is_file(self) -> bool:
        return self.type is EntryType.FILE

    @property
    def is_dir(self) -> bool:
        return self.type is EntryType.DIR

    def subtree_id(self) -> bytes:
        """The folder's tree id; a folder entry without one is damage."""
        if self.subtree is None:
            raise VaultCorruptError("A folder entry names no listing.")
        return self.subtree


def root_node(tree_id: bytes) -> Node:
    """The pseudo entry for a snapshot's ``/`` (it has no entry of its own)."""
    return Node(name=b"", type=EntryType.DIR, mode=0o755, mtime_ns=0, subtree=tree_id)


class TreeLoader(Protocol):
    """Anything that can fetch a tree by id (the repository, in the engine)."""

    def load_tree(self, tree_id: bytes) -> list[Node]: ...


def split_path(path: str) -> list[bytes]:
    """Absolute path -> its components as bytes (``/a/b`` -> [b"a", b"b"])."""
    raw = os.fsencode(os.path.normpath(path))
    return [part for part in raw.split(b"/") if part]


def ns_to_datetime(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


class TreeBudget:
    """Stops a walk of a forged vault whose trees nest each other exponentially.

    Identical folders legitimately share one tree, so a walk may visit a tree many
    times; but 41 small valid trees, each naming the next twice, describe 2**40
    files, enough to exhaust memory (restore plans) or run forever (``ls``). A walk
    may visit at most ``RATIO`` entries per distinct entry it has read, beyond a
    floor no real vault's repeated folders come near.
    """

    FLOOR = 200_000
    RATIO = 1000

    def __init__(self) -> None:
        self.visited = 0
        self.distinct = 0
        self._trees: set[bytes] = set()

    def read(self, tree_id: bytes, entries: int) -> None:
        if tree_id not in self._trees:
            self._trees.add(tree_id)
            self.distinct += entries

    def visit(self) -> None:
        self.visit_many(1)

    def visit_many(self, count: int) -> None:
        """``count`` entries visited at once (a folder's files, by the restore)."""
        self.visited += count
        if self.visited > self.FLOOR and self.visited > self.RATIO * self.distinct:
            raise VaultCorruptError(
                "This snapshot's folders contain each other over and over (a damaged or "
                "forged vault); stopped before it could exhaust memory."
            )


def resolve(loader: TreeLoader, root_tree: bytes, path: str) -> Node | None:
    """The entry at ``path`` below the tree ``root_tree`` (a pseudo folder for ``/``),
    or None when no such entry exists."""
    node = root_node(root_tree)
    for part in split_path(path):
        if not node.is_dir:
            return None
        found = [n for n in loader.load_tree(node.subtree_id()) if n.name == part]
        if not found:
            return None
        node = found[0]
    return node


def entry_for(parent: bytes, node: Node) -> Entry:
    """The public record of ``node`` found in the folder ``parent`` (a raw path)."""
    path = os.fsdecode(parent.rstrip(b"/") + b"/" + node.name)
    target = None
    if node.type is EntryType.SYMLINK:
        target = os.fsdecode(node.target or b"")
    return Entry(
        path=path,
        name=os.fsdecode(node.name),
        type=node.type,
        size=node.size,
        mtime=ns_to_datetime(node.mtime_ns),
        mode=node.mode,
        link_target=target,
    )


def list_entries(loader: TreeLoader, root_tree: bytes, path: str) -> list[Entry] | None:
    """The entries of the folder at ``path`` (or the file itself); None if absent."""
    node = resolve(loader, root_tree, path)
    if node is None:
        return None
    if not node.is_dir:
        parent = os.fsencode(os.path.dirname(os.path.normpath(path)))
        return [entry_for(parent, node)]
    base = b"/" + b"/".join(split_path(path))
    return [entry_for(base, n) for n in loader.load_tree(node.subtree_id())]


def walk_entries(loader: TreeLoader, root_tree: bytes, path: str) -> Iterator[Entry] | None:
    """Every entry under ``path``, parents before children; None if ``path`` is absent.

    The walk is bounded by a ``TreeBudget``, so a forged vault cannot make it run
    forever.
    """
    node = resolve(loader, root_tree, path)
    if node is None:
        return None
    return _walk_from(loader, node, split_path(path))


def _walk_from(loader: TreeLoader, node: Node, parts: list[bytes]) -> Iterator[Entry]:
    parent = b"/" + b"/".join(parts[:-1])
    if not node.is_dir:
        yield entry_for(parent, node)
        return
    if parts:
        yield entry_for(parent, node if node.name else replace(node, name=parts[-1]))
    yield from _walk_tree(loader, node.subtree_id(), b"/" + b"/".join(parts), TreeBudget())


def _walk_tree(
    loader: TreeLoader, tree_id: bytes, base: bytes, budget: TreeBudget
) -> Iterator[Entry]:
    """Depth first, parents before children, with an explicit stack (a recursive
    generator would stop at Python's recursion limit, about 1000 levels)."""
    stack: list[tuple[Iterator[Node], bytes]] = []

    def enter(tree: bytes, folder: bytes) -> None:
        nodes = loader.load_tree(tree)
        budget.read(tree, len(nodes))
        stack.append((iter(nodes), folder))

    enter(tree_id, base)
    while stack:
        nodes, folder = stack[-1]
        node = next(nodes, None)
        if node is None:
            stack.pop()
            continue
        budget.visit()
        entry = entry_for(folder, node)
        yield entry
        if node.is_dir:
            enter(node.subtree_id(), os.fsencode(entry.path))
