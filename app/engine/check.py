"""``check``: prove the vault is readable, naming every damaged object and the files
it affects.

Without ``read_data`` it verifies keys, config, every index and snapshot object,
every reachable tree, that every referenced chunk is indexed and every indexed pack
exists with a plausible size. With ``read_data`` it also downloads every pack,
opens its header and every blob, and recomputes each blob's keyed id.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator

from app.core.cancel import CancelToken
from app.core.errors import NotFoundInStorage, StorageError, VaultCorruptError
from app.core.events import CheckResult, Phase, ProgressCallback
from app.engine import codec
from app.engine.crypto import B_DATA, B_KIND_MASK, B_TREE, T_PACK_HEADER, parse_key_object
from app.engine.names import list_objects, stray_names
from app.engine.packer import pack_name
from app.engine.progress import ProgressMeter
from app.engine.repository import Repository
from app.engine.tree import Node


def _walk_files(
    repo: Repository, tree: bytes, base: bytes, seen: set[bytes], problems: list[str]
) -> Iterator[tuple[bytes, Node]]:
    """Every file below ``tree`` (each tree once), with an explicit stack: no
    recursion limit on deep folders."""
    stack = [(tree, base)]
    while stack:
        tree, base = stack.pop()
        if tree in seen:
            continue
        seen.add(tree)
        try:
            nodes = repo.load_tree(tree)
        except (VaultCorruptError, StorageError) as exc:
            problems.append(f"tree {tree.hex()[:16]} (folder {os.fsdecode(base) or '/'}): {exc}")
            continue
        for node in nodes:
            path = base + b"/" + node.name
            if node.is_file:
                yield path, node
            elif node.is_dir:
                stack.append((node.subtree_id(), path))


def _check_pack(
    repo: Repository, pack: bytes, size: int, expected: dict[bytes, tuple[int, int, int, int]]
) -> list[bytes]:
    """Read a whole pack; return the ids of blobs that are damaged or absent."""
    name = pack_name(pack)
    data = repo.storage.get(name)
    if len(data) != size:
        raise VaultCorruptError(f"{name} changed size while being read")
    bad: list[bytes] = []
    if len(data) < 4:
        return list(expected)
    (header_len,) = struct.unpack_from("<I", data, len(data) - 4)
    body_len = len(data) - 4 - header_len
    header_ok = True
    try:
        if body_len < 0:
            raise VaultCorruptError("bad header length")
        entries, _ = codec.decode_entries(
            codec.decode_payload(
                repo.cipher.open_object(T_PACK_HEADER, name, memoryview(data)[body_len:-4])
            )
        )
        codec.validate_pack_entries(entries, body_len)
    except VaultCorruptError:
        header_ok = False
    for blob_id, (blob_type, offset, length, raw_length) in expected.items():
        try:
            if offset + length > max(body_len, 0):
                raise VaultCorruptError("blob past the end of the pack")
            repo.open_sealed_blob(
                blob_type, blob_id, memoryview(data)[offset : offset + length], raw_length
            )
        except VaultCorruptError:
            bad.append(blob_id)
    if not header_ok and not bad:
        # Blobs are intact but the header is not: still damage (adoption would fail).
        raise VaultCorruptError(f"{name}: pack header is damaged")
    return bad


def run_check(
    repo: Repository, *, read_data: bool, on_progress: ProgressCallback, cancel: CancelToken
) -> CheckResult:
    meter = ProgressMeter(on_progress, Phase.CHECKING)
    problems: list[str] = []
    checked = 0
    for info in list_objects(repo.storage, "keys/"):
        checked += 1
        try:
            parse_key_object(repo.storage.get(info.name))
        except (VaultCorruptError, NotFoundInStorage) as exc:
            problems.append(f"{info.name}: {exc}")
    # Re-read every index and snapshot object from storage, never trusting the cache.
    repo.index_problems.clear()
    repo.cache.clear_index()
    repo.cache.clear_snapshots()
    repo.sync(force=True)
    problems.extend(repo.index_problems)
    pack_sizes = {
        bytes.fromhex(info.name.rsplit("/", 1)[1]): info.size
        for info in list_objects(repo.storage, "data/")
    }
    unindexed = set(pack_sizes) - repo.cache.pack_ids()
    notes: list[str] = []
    if unindexed and not repo.damaged_indexes:  # (the sync read them already if so)
        # Packs no index names: left by an interrupted backup, or their index object
        # was lost. Their headers describe them (FORMAT.md section 13).
        repo.index_from_pack_headers()
        notes.append(
            f"{len(unindexed)} pack(s) named by no index object (an interrupted backup, or "
            "a lost index object): read from their own headers"
        )
    # id -> type, pack, off, len, raw (one location); ``packs`` below has them all: a
    # blob is damaged only when no location of it is good.
    all_rows = list(repo.cache.iter_blobs())
    index_rows = {row[0]: row[1:] for row in all_rows}
    locations: dict[bytes, int] = {}
    for row in all_rows:
        locations[row[0]] = locations.get(row[0], 0) + 1
    checked += len(repo.cache.known_indexes())
    snapshots = repo.snapshots()
    checked += len(snapshots)
    bad: dict[bytes, int] = {}  # blob id -> how many of its locations are bad
    packs: dict[bytes, dict[bytes, tuple[int, int, int, int]]] = {}
    for blob_id, blob_type, pack, offset, length, raw in all_rows:
        packs.setdefault(pack, {})[blob_id] = (blob_type, offset, length, raw)

    def mark_bad(ids: Iterable[bytes]) -> None:
        for blob_id in ids:
            bad[blob_id] = bad.get(blob_id, 0) + 1

    missing_packs: list[bytes] = []
    for pack, blobs in packs.items():
        size = pack_sizes.get(pack)
        if size is None:
            missing_packs.append(pack)
            mark_bad(blobs)
        elif any(off + ln > size for _t, off, ln, _r in blobs.values()):
            problems.append(f"{pack_name(pack)}: truncated")
            mark_bad(b for b, (_t, off, ln, _r) in blobs.items() if off + ln > size)
    # Trees: every tree reachable from a snapshot must open and verify.
    meter.emit(force=True)
    seen_trees: set[bytes] = set()
    referenced: set[bytes] = set()
    tree_problems: list[str] = []
    for snap in snapshots:
        cancel.check()
        for _path, node in _walk_files(
            repo, bytes.fromhex(snap.tree), b"", seen_trees, tree_problems
        ):
            referenced.update(node.content)
    checked += len(seen_trees)
    problems.extend(sorted(set(tree_problems)))
    missing_count = len(referenced - set(index_rows))
    if missing_count:
        problems.append(f"{missing_count} chunk(s) referenced by snapshots are not in any index")
    if read_data:
        meter.files_total = len(packs)
        meter.bytes_total = sum(pack_sizes.get(p, 0) for p in packs)
        for pack, blobs in packs.items():
            cancel.check()
            size = pack_sizes.get(pack)
            if size is None:
                continue
            try:
                bad_here = _check_pack(repo, pack, size, blobs)
            except (VaultCorruptError, StorageError) as exc:
                problems.append(f"{pack_name(pack)}: {exc}")
                bad_here = []
            if bad_here:
                problems.append(f"{pack_name(pack)}: {len(bad_here)} damaged blob(s)")
                mark_bad(bad_here)
            checked += 1
            meter.files_done += 1
            meter.bytes_done += size
            meter.current = pack_name(pack)
            meter.emit()
    damaged = {b for b, count in bad.items() if count >= locations.get(b, 0)}
    damaged.update(referenced - set(index_rows))
    for pack in missing_packs:
        if any(blob_id in damaged for blob_id in packs[pack]):
            problems.append(f"{pack_name(pack)}: missing (named by the index)")
        else:  # e.g. an index object put back after prune: harmless, prune tidies it
            notes.append(
                f"{pack_name(pack)}: named by an index object but not stored; every blob "
                "it held is stored elsewhere ('keepsake prune' removes the stale entry)"
            )
    affected: list[str] = []
    if damaged:
        seen_trees.clear()
        found: set[str] = set()
        sink: list[str] = []
        for snap in snapshots:
            for path, node in _walk_files(repo, bytes.fromhex(snap.tree), b"", seen_trees, sink):
                if any(blob_id in damaged for blob_id in node.content):
                    found.add(os.fsdecode(path))
        affected = sorted(found)
        damaged_trees = [
            b for b in damaged if index_rows.get(b, (B_DATA,))[0] & B_KIND_MASK == B_TREE
        ]
        if damaged_trees:
            problems.append(f"{len(damaged_trees)} folder listing(s) damaged")
    notes += [
        f"{name}: not a Keepsake object (ignored; safe to delete)"
        for name in stray_names(repo.storage)
    ]
    meter.emit(final=True)
    return CheckResult(
        ok=not problems,
        objects_checked=checked,
        problems=tuple(problems),
        affected_files=tuple(affected),
        notes=tuple(notes),
    )
