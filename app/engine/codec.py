"""Byte layouts of vault payloads: compression framing, pack headers, index objects
and trees (JSON <-> ``tree.Node``). Pure functions, no keys, no I/O (docs/FORMAT.md is the spec).

Parsing is defensive: every length is checked before it is used, so a malicious or
damaged payload raises ``VaultCorruptError`` instead of allocating or looping.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import struct
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import zstandard

from app.core.errors import VaultCorruptError
from app.core.models import EntryType
from app.engine.crypto import COMPRESS_NONE, COMPRESS_ZSTD, ID_LEN
from app.engine.tree import Node

MAX_BLOB_RAW = 64 * 1024 * 1024  # refuse to inflate a blob bigger (bomb guard)
# A folder listing whose JSON is longer than this is stored as parts of at most this
# size plus a small list of the parts (docs/FORMAT.md section 9.1), so a folder of any
# size stays far below MAX_BLOB_RAW and within one pack's blob size.
TREE_SPLIT_BYTES = 4 * 1024 * 1024
MAX_OBJECT_RAW = 1024 * 1024 * 1024  # index/snapshot/header objects
_ENTRY = struct.Struct("<B32sIII")  # type, id, offset, length, raw_length
_U32 = struct.Struct("<I")

_local = threading.local()

# Magic numbers of formats that are already compressed: zstd would only burn CPU.
_INCOMPRESSIBLE_MAGIC = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG",
    b"PK\x03\x04",  # zip, docx, xlsx, odt, epub, jar
    b"\x1f\x8b",  # gzip
    b"(\xb5/\xfd",  # zstd
    b"BZh",
    b"\xfd7zXZ",
    b"7z\xbc\xaf",
    b"Rar!",
    b"GIF8",
    b"RIFF",  # webp, avi, wav (wav compresses a little; fine)
    b"OggS",
    b"fLaC",
    b"ID3",
)


def looks_incompressible(head: bytes | memoryview) -> bool:
    start = bytes(head[:12])
    if start[4:8] in (b"ftyp", b"moov", b"mdat"):  # mp4 / mov / heic
        return True
    return start.startswith(_INCOMPRESSIBLE_MAGIC)


def _compressor() -> zstandard.ZstdCompressor:
    comp: zstandard.ZstdCompressor | None = getattr(_local, "comp", None)
    if comp is None:
        comp = zstandard.ZstdCompressor(level=3)
        _local.comp = comp
    return comp


def _decompressor() -> zstandard.ZstdDecompressor:
    dec: zstandard.ZstdDecompressor | None = getattr(_local, "dec", None)
    if dec is None:
        dec = zstandard.ZstdDecompressor()
        _local.dec = dec
    return dec


def encode_payload(data: bytes | memoryview, *, try_compress: bool = True) -> bytes:
    """Frame ``data`` as ``flag byte + body``; zstd only when it saves >= 3%."""
    view = memoryview(data)
    if try_compress and len(view) >= 64:
        # Probe a slice first so big incompressible chunks cost little.
        if len(view) > 256 * 1024:
            probe = _compressor().compress(view[: 64 * 1024])
            if len(probe) > 0.97 * 64 * 1024:
                return bytes([COMPRESS_NONE]) + view
        packed = _compressor().compress(view)
        if len(packed) < 0.97 * len(view):
            return bytes([COMPRESS_ZSTD]) + packed
    return bytes([COMPRESS_NONE]) + view


def compress_blob(
    data: bytes | memoryview, *, try_compress: bool
) -> tuple[bool, bytes | memoryview]:
    """Blob payloads carry no flag byte (that would cost a copy of every chunk): the
    caller puts the compression bit in the blob's type byte instead."""
    view = memoryview(data)
    if not try_compress or len(view) < 64:
        return False, view
    # No sampling: zstd rejects incompressible input at several GB/s, and a sample
    # would miss the compressible half of a mixed file (a PDF with embedded images).
    packed = _compressor().compress(view)
    if len(packed) < 0.97 * len(view):
        return True, packed
    return False, view


def compressible(piece: bytes | memoryview) -> bool:
    """Is ``piece`` worth offering to zstd (``compress_blob``'s test, for batches)?"""
    return len(piece) >= 64 and not looks_incompressible(piece)


def compress_many(pieces: list[bytes]) -> Sequence[bytes | memoryview]:
    """One zstd frame per piece, made in one call that releases the GIL throughout.

    A frame of a ~1 KiB note costs ~12 µs, nearly all of it building entropy tables,
    so the calls cannot get cheaper; made one by one, each would also hand the GIL
    back and forth with the walk's thread. ``multi_compress_to_buffer``
    (python-zstandard's C backend) compresses the whole list without the GIL, so
    it runs on the other core. Frames are the bytes ``compress`` writes; the caller
    keeps a frame only when it saves 3% (as ``compress_blob`` does).
    """
    if not pieces:
        return []
    comp = _compressor()
    multi = getattr(comp, "multi_compress_to_buffer", None)  # absent from the cffi backend
    if multi is None:
        return [comp.compress(p) for p in pieces]
    frames = multi(pieces, threads=1)
    return [frames[i] for i in range(len(pieces))]


def _bounded_decompress(data: bytes, limit: int) -> bytes:
    """Decompress at most ``limit`` bytes, whatever the frame header claims.

    ``ZstdDecompressor.decompress`` trusts a declared content size, so a crafted
    frame could make it allocate gigabytes; stream instead when the size is not the
    one we expect, and stop one byte past the limit.
    """
    try:
        declared = zstandard.get_frame_parameters(data).content_size
        if 0 < declared <= limit:
            return _decompressor().decompress(data)
        reader = _decompressor().stream_reader(io.BytesIO(data), read_across_frames=True)
        out = reader.read(limit + 1)
    except zstandard.ZstdError as exc:
        raise VaultCorruptError(f"Compressed data is damaged ({exc}).") from exc
    if len(out) > limit:
        raise VaultCorruptError("Compressed data expands beyond its declared size.")
    return out


def decompress_blob(data: bytes, raw_length: int) -> bytes:
    if raw_length > MAX_BLOB_RAW:
        raise VaultCorruptError("A blob declares an oversized length.")
    return _bounded_decompress(data, raw_length)


def decompress_blob_into(data: bytes | memoryview, raw_length: int, out: memoryview) -> memoryview:
    """``decompress_blob`` into a caller's reusable buffer (restore's large files: no
    copy of the input and no fresh allocation, so no fresh pages, per chunk). Reads at
    most one byte past ``raw_length`` whatever the frame claims, like the bounded
    path; the caller checks the length and the blob's id as for ``decompress_blob``."""
    if raw_length > MAX_BLOB_RAW:
        raise VaultCorruptError("A blob declares an oversized length.")
    if raw_length + 1 > len(out):
        return memoryview(decompress_blob(bytes(data), raw_length))
    target = out[: raw_length + 1]
    got = 0
    try:
        reader = _decompressor().stream_reader(data, read_across_frames=True)
        while got <= raw_length:
            n = reader.readinto(target[got:])
            if not n:
                break
            got += n
    except zstandard.ZstdError as exc:
        raise VaultCorruptError(f"Compressed data is damaged ({exc}).") from exc
    if got > raw_length:
        raise VaultCorruptError("Compressed data expands beyond its declared size.")
    return out[:got]


def decode_payload(data: bytes, *, max_size: int = MAX_OBJECT_RAW) -> bytes:
    if not data:
        raise VaultCorruptError("Empty payload.")
    flag = data[0]
    if flag == COMPRESS_NONE:
        return data[1:]
    if flag == COMPRESS_ZSTD:
        return _bounded_decompress(data[1:], max_size)
    raise VaultCorruptError(f"Unknown compression flag {flag}.")


# --- Pack headers and index objects --------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlobEntry:
    type: int
    id: bytes
    offset: int
    length: int
    raw_length: int


def encode_entries(entries: list[BlobEntry]) -> bytes:
    out = bytearray(_U32.pack(len(entries)))
    for e in entries:
        out += _ENTRY.pack(e.type, e.id, e.offset, e.length, e.raw_length)
    return bytes(out)


def decode_entries(data: bytes | memoryview, pos: int = 0) -> tuple[list[BlobEntry], int]:
    view = memoryview(data)
    if pos + 4 > len(view):
        raise VaultCorruptError("Entry table is truncated.")
    (count,) = _U32.unpack_from(view, pos)
    pos += 4
    end = pos + count * _ENTRY.size
    if end > len(view):
        raise VaultCorruptError("Entry table is truncated.")
    entries = []
    for i in range(count):
        t, blob_id, offset, length, raw = _ENTRY.unpack_from(view, pos + i * _ENTRY.size)
        entries.append(BlobEntry(t, blob_id, offset, length, raw))
    return entries, end


def validate_pack_entries(entries: list[BlobEntry], body_length: int) -> None:
    """Entries must tile the pack body without overlap or overflow."""
    for e in entries:
        if (
            (e.type & 0x7F) not in (1, 2)
            or e.type & 0x7C
            or e.offset + e.length > body_length
            or e.length < 28
        ):
            raise VaultCorruptError("Pack header names an impossible blob.")
        if e.raw_length > MAX_BLOB_RAW:
            raise VaultCorruptError("Pack header declares an oversized blob.")


def encode_index(packs: dict[bytes, list[BlobEntry]]) -> bytes:
    out = bytearray(b"\x01")  # index payload version
    out += _U32.pack(len(packs))
    for pack_id, entries in packs.items():
        out += pack_id
        out += encode_entries(entries)
    return bytes(out)


def decode_index(data: bytes) -> dict[bytes, list[BlobEntry]]:
    view = memoryview(data)
    if len(view) < 5 or view[0] != 1:
        raise VaultCorruptError("Index object has an unknown version.")
    (count,) = _U32.unpack_from(view, 1)
    pos = 5
    packs: dict[bytes, list[BlobEntry]] = {}
    for _ in range(count):
        if pos + ID_LEN > len(view):
            raise VaultCorruptError("Index object is truncated.")
        pack_id = bytes(view[pos : pos + ID_LEN])
        entries, pos = decode_entries(view, pos + ID_LEN)
        packs.setdefault(pack_id, []).extend(entries)
    return packs


# --- Trees (JSON, names kept byte-exact) ---------------------------------------------


def _encode_name(name: bytes, key: str, doc: dict[str, Any]) -> None:
    """Store a name as text when it is valid UTF-8, else base64 of the raw bytes."""
    try:
        doc[key] = name.decode("utf-8")
    except UnicodeDecodeError:
        doc[key + "_b64"] = base64.b64encode(name).decode("ascii")


def _decode_name(doc: dict[str, Any], key: str) -> bytes:
    if key in doc:
        value = doc[key]
        if not isinstance(value, str):
            raise VaultCorruptError("Tree entry has a bad name.")
        try:
            return value.encode("utf-8", "surrogatepass")
        except UnicodeEncodeError as exc:
            raise VaultCorruptError("Tree entry has a bad name.") from exc
    raw = doc.get(key + "_b64")
    if not isinstance(raw, str):
        raise VaultCorruptError("Tree entry has no name.")
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise VaultCorruptError("Tree entry has a bad name.") from exc


def node_to_doc(node: Node) -> dict[str, Any]:
    """A node as its JSON object in a tree (exactly the members FORMAT.md lists)."""
    doc: dict[str, Any] = {"type": node.type.value, "mode": node.mode, "mtime_ns": node.mtime_ns}
    _encode_name(node.name, "name", doc)
    if node.type is EntryType.FILE:
        doc["size"] = node.size
        doc["content"] = [blob_id.hex() for blob_id in node.content]
    elif node.type is EntryType.DIR:
        doc["subtree"] = (node.subtree or b"").hex()
    else:
        _encode_name(node.target or b"", "target", doc)
    return doc


_KINDS = {kind.value: kind for kind in EntryType}
_BAD_ENTRY = "A folder listing (tree) has a bad entry."


def _int(doc: dict[str, Any], key: str) -> int:
    value = doc.get(key)
    if type(value) is not int:
        raise VaultCorruptError(f"A folder listing (tree) entry has a bad {key}.")
    return value


def _ids(values: object) -> tuple[bytes, ...]:
    """Hex ids -> bytes (``bytes.fromhex`` refuses anything but a hex string)."""
    if not isinstance(values, list):
        raise VaultCorruptError("A folder listing (tree) entry has a bad content list.")
    try:
        return tuple(map(bytes.fromhex, values))
    except (TypeError, ValueError):
        raise VaultCorruptError("A folder listing (tree) entry has a bad id.") from None


def node_from_doc(doc: object) -> Node:
    """Check one JSON tree entry and make it a ``Node`` (VaultCorruptError if damaged).

    Every member FORMAT.md requires for the entry's type must be there with the
    right JSON type; members it does not list are ignored. This runs for every
    entry of every tree read, so the common case takes the shortest path.
    """
    if not isinstance(doc, dict):
        raise VaultCorruptError(_BAD_ENTRY)
    value = doc.get("type")
    kind = _KINDS.get(value) if isinstance(value, str) else None
    if kind is None:
        raise VaultCorruptError(_BAD_ENTRY)
    text = doc.get("name")
    name = text.encode("utf-8", "surrogatepass") if type(text) is str else _decode_name(doc, "name")
    mode, mtime_ns = _int(doc, "mode"), _int(doc, "mtime_ns")
    if kind is EntryType.FILE:
        content = _ids(doc.get("content"))
        return Node(name, kind, mode, mtime_ns, size=_int(doc, "size"), content=content)
    if kind is EntryType.DIR:
        (subtree,) = _ids([doc.get("subtree")])
        return Node(name, kind, mode, mtime_ns, subtree=subtree)
    return Node(name, kind, mode, mtime_ns, target=_decode_name(doc, "target"))


_json_str = json.encoder.encode_basestring_ascii  # what json.dumps does to a str, in C


def _json_name(name: bytes, key: str) -> str:
    """``"key":"text"`` or ``"key_b64":"..."``, exactly as ``_encode_name`` + json.dumps."""
    try:
        return f'"{key}":' + _json_str(name.decode("utf-8"))
    except UnicodeDecodeError:
        return f'"{key}_b64":"' + base64.b64encode(name).decode("ascii") + '"'


def entry_json(
    kind: EntryType, name: bytes, mode: int, mtime_ns: int, size: int, payload: bytes
) -> str:
    """One tree entry's compact JSON, byte for byte what ``encode_tree`` writes for the
    same ``Node`` (keys sorted), built without a ``Node``, a dict or the JSON encoder.

    A backup encodes every entry of every new folder; through ``Node`` and
    ``json.dumps(sort_keys=True)`` that cost ~10 µs per entry on the walk's thread.
    ``payload`` is the concatenated content ids (file), the subtree id (folder) or
    the link target. tests/unit/test_tree_encoding.py holds the two paths equal.
    """
    head = f'"mode":{mode:d},"mtime_ns":{mtime_ns:d},{_json_name(name, "name")}'
    if kind is EntryType.FILE:
        hexed = payload.hex()
        step = 2 * ID_LEN
        ids = '","'.join(hexed[i : i + step] for i in range(0, len(hexed), step))
        content = f'"{ids}"' if ids else ""
        return f'{{"content":[{content}],{head},"size":{size:d},"type":"file"}}'
    if kind is EntryType.DIR:
        return f'{{{head},"subtree":"{payload.hex()}","type":"dir"}}'
    return f'{{{head},{_json_name(payload, "target")},"type":"symlink"}}'


def tree_from_entries(entries: Sequence[str]) -> bytes:
    """The tree bytes for entries made by ``entry_json`` (same as ``encode_tree``)."""
    return ('{"nodes":[' + ",".join(entries) + '],"v":1}').encode("ascii")


def encode_tree_docs(docs: list[dict[str, Any]]) -> bytes:
    """The exact tree bytes for raw JSON entries (tests use it to forge hostile trees)."""
    return json.dumps({"v": 1, "nodes": docs}, separators=(",", ":"), sort_keys=True).encode()


def encode_tree(nodes: Sequence[Node]) -> bytes:
    return encode_tree_docs([node_to_doc(node) for node in nodes])


def _tree_entries(data: bytes) -> list[Any]:
    """A tree blob's entries, still JSON; the blob's envelope checked."""
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise VaultCorruptError("A folder listing (tree) is damaged.") from exc
    if not isinstance(doc, dict) or doc.get("v") != 1 or not isinstance(doc.get("nodes"), list):
        raise VaultCorruptError("A folder listing (tree) has an unknown format.")
    entries: list[Any] = doc["nodes"]
    return entries


def decode_tree(data: bytes) -> list[Node]:
    """Parse a tree blob; any damaged entry makes the whole listing damaged."""
    return [node_from_doc(entry) for entry in _tree_entries(data)]


# A file entry for a reader that does not need a ``Node`` per file (restore): name,
# mode, mtime_ns, size, content ids.
FileRow = tuple[bytes, int, int, int, tuple[bytes, ...]]


def decode_tree_rows(data: bytes) -> list[FileRow | Node]:
    """``decode_tree`` with file entries as ``FileRow`` tuples, in listing order
    (folders and links stay ``Node``s).

    A full restore decodes every file entry of the snapshot once, on the thread
    that plans it; a frozen ``Node`` costs ~2 µs to build and is dropped right
    after. The checks are exactly ``node_from_doc``'s: the common case (a file with
    a text name and every member of the right JSON type) is taken inline, anything
    else goes through ``node_from_doc`` itself, so the same listings are refused
    with the same errors (tests/unit/test_tree_encoding.py holds the two equal).
    """
    entries = _tree_entries(data)
    out: list[FileRow | Node] = []
    append = out.append
    fromhex = bytes.fromhex
    for entry in entries:
        if type(entry) is dict and entry.get("type") == "file":
            name = entry.get("name")
            mode = entry.get("mode")
            mtime_ns = entry.get("mtime_ns")
            size = entry.get("size")
            content = entry.get("content")
            if (
                type(name) is str
                and type(mode) is int
                and type(mtime_ns) is int
                and type(size) is int
                and type(content) is list
            ):
                try:
                    append(
                        (
                            name.encode("utf-8", "surrogatepass"),
                            mode,
                            mtime_ns,
                            size,
                            tuple(map(fromhex, content)),
                        )
                    )
                    continue
                except (TypeError, ValueError):
                    pass  # node_from_doc says what is wrong, in its own words
        node = node_from_doc(entry)
        if node.type is EntryType.FILE:
            append((node.name, node.mode, node.mtime_ns, node.size, node.content))
        else:
            append(node)
    return out


def _tree_from_docs(docs: list[bytes]) -> bytes:
    """The same bytes as ``encode_tree`` of the nodes whose compact JSON is ``docs``
    (sorted keys put "nodes" before "v")."""
    return b'{"nodes":[' + b",".join(docs) + b'],"v":1}'


def split_tree(nodes: Sequence[Node]) -> list[bytes] | None:
    """The parts of a listing too big for one blob, or None when it fits.

    Each part is an ordinary tree (version 1) holding a run of consecutive entries,
    at most ``TREE_SPLIT_BYTES`` long unless a single entry is longer. Cut points
    are content-defined: after an entry whose name's CRC-32 has its low ``k`` bits
    zero (``k`` chosen so parts average about a quarter of the limit), once the part
    holds a sixteenth of it. A changed file therefore changes one part, not every
    part after it, and the same entries always give the same parts.
    """
    docs = [
        json.dumps(node_to_doc(n), separators=(",", ":"), sort_keys=True).encode() for n in nodes
    ]
    wrapper = len(_tree_from_docs([]))
    total = wrapper + sum(len(d) + 1 for d in docs)
    limit = TREE_SPLIT_BYTES
    if total <= limit or not docs:
        return None
    target = max(limit // 4, 1)
    minimum = limit // 16
    average = total / len(docs)
    k = max(0, round(math.log2(max(target / average, 1.0))))
    mask = (1 << k) - 1
    parts: list[bytes] = []
    current: list[bytes] = []
    size = wrapper
    for doc, node in zip(docs, nodes, strict=True):
        if current and size + len(doc) + 1 > limit:
            parts.append(_tree_from_docs(current))
            current, size = [], wrapper
        current.append(doc)
        size += len(doc) + 1
        if size >= minimum and zlib.crc32(node.name) & mask == 0:
            parts.append(_tree_from_docs(current))
            current, size = [], wrapper
    if current:
        parts.append(_tree_from_docs(current))
    return parts


def encode_tree_parts(part_ids: Sequence[bytes]) -> bytes:
    """The listing of a split folder: its parts' tree ids, in order (version 2)."""
    doc = {"parts": [p.hex() for p in part_ids], "v": 2}
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def decode_tree_parts(data: bytes | memoryview) -> list[bytes] | None:
    """The part ids if ``data`` is a split folder's listing (version 2), else None
    (an ordinary tree, for ``decode_tree``)."""
    if bytes(data[:9]) != b'{"parts":':
        return None
    try:
        doc = json.loads(bytes(data))
    except ValueError as exc:
        raise VaultCorruptError("A folder listing (tree) is damaged.") from exc
    if not isinstance(doc, dict) or doc.get("v") != 2:
        raise VaultCorruptError("A folder listing (tree) has an unknown format.")
    parts = doc.get("parts")
    if not isinstance(parts, list) or not parts:
        raise VaultCorruptError("A folder listing (tree) has an unknown format.")
    ids = list(_ids(parts))
    if any(len(i) != ID_LEN for i in ids):
        raise VaultCorruptError("A folder listing (tree) names a bad part.")
    return ids


def check_joined_order(nodes: Sequence[Node] | Sequence[FileRow | Node]) -> None:
    """The entries of a split listing, joined, must be in strictly increasing name
    order (as one listing is): parts out of order or overlapping are damage."""
    names = [n[0] if type(n) is tuple else n.name for n in nodes]  # type: ignore[union-attr]
    for before, after in zip(names, names[1:], strict=False):
        if not before < after:
            raise VaultCorruptError("A split folder listing has parts out of order.")


def safe_name(name: bytes) -> bool:
    """A name that cannot escape its folder when joined to it."""
    return (
        bool(name)
        and name not in (b".", b"..")
        and b"/" not in name
        and b"\0" not in name
        and (os.sep.encode() not in name)
    )
