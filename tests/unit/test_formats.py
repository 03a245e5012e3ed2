"""Property tests for the chunker and the binary formats, plus crypto edge cases."""

from __future__ import annotations

import contextlib
import io
import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.errors import AppError, VaultCorruptError, WrongPasswordError
from app.core.models import EntryType
from app.engine import codec
from app.engine.chunker import Chunker, ChunkerParams
from app.engine.crypto import (
    B_DATA,
    T_INDEX,
    T_SNAPSHOT,
    Cipher,
    MasterKeys,
    check_kdf_params,
    new_recovery_key,
    normalize_recovery_key,
)
from app.engine.tree import Node

SMALL = ChunkerParams(min_size=64, avg_size=256, max_size=1024, seed=7)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=0, max_size=20_000))
def test_chunks_reassemble_and_respect_bounds(data: bytes) -> None:
    chunker = Chunker(SMALL)
    pieces = [bytes(p) for p in chunker.chunks_of_buffer(data)]
    assert b"".join(pieces) == data
    for piece in pieces[:-1]:
        assert SMALL.min_size <= len(piece) <= SMALL.max_size
    stream_pieces = [bytes(p) for p in Chunker(SMALL).chunks_of_stream(io.BytesIO(data))]
    if len(data) > SMALL.min_size:
        assert stream_pieces == pieces


@pytest.mark.parametrize("seed", range(20))
def test_chunk_boundaries_are_content_defined(seed: int) -> None:
    chunker = Chunker(SMALL)
    data = random.Random(seed).randbytes(200_000)  # about 600 chunks
    before = {bytes(p) for p in chunker.chunks_of_buffer(data)}
    edited = data[:100_000] + b"INSERTED" + data[100_000:]
    new = {bytes(p) for p in chunker.chunks_of_buffer(edited)} - before
    # Only the chunks around the edit change: boundaries resynchronise within a few
    # chunks (at most a few max-size cuts), never the rest of the file.
    assert 1 <= len(new) <= 10
    assert sum(map(len, new)) <= 8 * SMALL.max_size


def test_seed_changes_boundaries() -> None:
    data = os.urandom(100_000)
    a = [len(p) for p in Chunker(SMALL).chunks_of_buffer(data)]
    b = [len(p) for p in Chunker(ChunkerParams(64, 256, 1024, seed=8)).chunks_of_buffer(data)]
    assert a != b


entries_strategy = st.lists(
    st.builds(
        codec.BlobEntry,
        type=st.sampled_from([1, 2, 0x81, 0x82]),
        id=st.binary(min_size=32, max_size=32),
        offset=st.integers(0, 2**32 - 1),
        length=st.integers(0, 2**32 - 1),
        raw_length=st.integers(0, 2**32 - 1),
    ),
    max_size=20,
)


@given(st.dictionaries(st.binary(min_size=32, max_size=32), entries_strategy, max_size=5))
def test_index_roundtrip(packs: dict[bytes, list[codec.BlobEntry]]) -> None:
    assert codec.decode_index(codec.encode_index(packs)) == packs


@given(st.binary(max_size=400))
def test_index_parser_rejects_garbage_cleanly(data: bytes) -> None:
    with contextlib.suppress(VaultCorruptError):
        codec.decode_index(data)


@given(st.binary(max_size=400))
def test_entry_parser_rejects_garbage_cleanly(data: bytes) -> None:
    try:
        entries, end = codec.decode_entries(data)
    except VaultCorruptError:
        return
    assert end <= len(data)
    assert codec.encode_entries(entries) == bytes(data[:end])


@given(st.binary(min_size=1, max_size=255))
def test_names_roundtrip_byte_exact(name: bytes) -> None:
    node = Node(name, EntryType.SYMLINK, 0o120777, 0, target=name[::-1])
    decoded = codec.decode_tree(codec.encode_tree([node]))
    assert decoded == [node]


@given(st.binary(max_size=300))
def test_payload_framing_roundtrip(data: bytes) -> None:
    assert codec.decode_payload(codec.encode_payload(data)) == data


def test_decompression_bomb_is_refused() -> None:
    compressed, payload = codec.compress_blob(b"\0" * (8 << 20), try_compress=True)
    assert compressed
    with pytest.raises(VaultCorruptError):
        codec.decompress_blob(bytes(payload), 1024)


@pytest.mark.parametrize("name", [b"..", b".", b"a/b", b"", b"x\0y"])
def test_unsafe_names(name: bytes) -> None:
    assert not codec.safe_name(name)


def test_sealed_objects_bind_type_and_name() -> None:
    cipher = Cipher(MasterKeys.generate())
    sealed = cipher.seal_object(T_SNAPSHOT, "snapshots/aa", b"payload")
    assert cipher.open_object(T_SNAPSHOT, "snapshots/aa", sealed) == b"payload"
    with pytest.raises(VaultCorruptError):
        cipher.open_object(T_SNAPSHOT, "snapshots/bb", sealed)  # swapped name
    with pytest.raises(VaultCorruptError):
        cipher.open_object(T_INDEX, "snapshots/aa", sealed)  # wrong type
    for i in range(len(sealed)):
        flipped = bytearray(sealed)
        flipped[i] ^= 0x01
        with pytest.raises(VaultCorruptError):
            cipher.open_object(T_SNAPSHOT, "snapshots/aa", bytes(flipped))
    with pytest.raises(VaultCorruptError):
        cipher.open_object(T_SNAPSHOT, "snapshots/aa", sealed[:-1])


def test_blobs_bind_id_and_type() -> None:
    cipher = Cipher(MasterKeys.generate())
    data = b"chunk"
    blob_id = cipher.blob_id(data)
    out = bytearray(100)
    n = cipher.seal_blob_into(B_DATA, blob_id, data, memoryview(out))
    sealed = bytes(out[:n])
    assert cipher.open_blob(B_DATA, blob_id, sealed) == data
    with pytest.raises(VaultCorruptError):
        cipher.open_blob(B_DATA | 0x80, blob_id, sealed)
    with pytest.raises(VaultCorruptError):
        cipher.open_blob(B_DATA, bytes(32), sealed)


def test_blob_ids_are_keyed() -> None:
    a, b = Cipher(MasterKeys.generate()), Cipher(MasterKeys.generate())
    assert a.blob_id(b"same") != b.blob_id(b"same")


def test_recovery_key_format_and_typos() -> None:
    key = new_recovery_key()
    groups = key.split("-")
    assert len(groups) == 11 and all(len(g) == 5 for g in groups)
    assert normalize_recovery_key(key.lower().replace("-", "  ")) == key
    typo = key[:3] + ("A" if key[3] != "A" else "B") + key[4:]
    with pytest.raises(WrongPasswordError):
        normalize_recovery_key(typo)
    with pytest.raises(WrongPasswordError):
        normalize_recovery_key("not a key")


@pytest.mark.parametrize(
    "params",
    [
        {"algorithm": "argon2id", "memory_kib": 32768, "iterations": 3, "lanes": 4},
        {"algorithm": "argon2id", "memory_kib": 65536, "iterations": 2, "lanes": 4},
        {"algorithm": "scrypt", "log2_n": 14, "r": 8, "p": 1},
        {"algorithm": "pbkdf2"},
    ],
)
def test_weak_kdf_refused(params: dict[str, object]) -> None:
    with pytest.raises(AppError):
        check_kdf_params(params)


def test_concurrent_key_derivations_finish() -> None:
    """Two threads unlocking at once (the GUI and a CLI-like helper) must not hang."""
    import threading

    from app.engine.crypto import DEFAULT_KDF, derive_kek

    results: list[bytes] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(derive_kek("pw", dict(DEFAULT_KDF), b"s" * 16))
        )
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == 2 and results[0] == results[1]


_BLOB, _SUB = bytes(range(32)), bytes(32)
# The golden tree of docs/FORMAT.md: also checked against the backup's fast encoder
# (tests/unit/test_tree_encoding.py).
GOLDEN_NODES = [
    Node(b"a.txt", EntryType.FILE, 0o100644, 5, size=6, content=(_BLOB,)),
    Node(b"link", EntryType.SYMLINK, 0o120777, 5, target=b"a.txt"),
    Node(b"sub\xff", EntryType.DIR, 0o40755, 0, subtree=_SUB),
]
GOLDEN_TREE_BYTES = (
    '{"nodes":[{"content":["' + _BLOB.hex() + '"],"mode":33188,"mtime_ns":5,'
    '"name":"a.txt","size":6,"type":"file"},'
    '{"mode":41471,"mtime_ns":5,"name":"link","target":"a.txt","type":"symlink"},'
    '{"mode":16877,"mtime_ns":0,"name_b64":"c3Vi/w==","subtree":"' + _SUB.hex() + '",'
    '"type":"dir"}],"v":1}'
).encode()


def test_tree_bytes_match_the_documented_format() -> None:
    """Nodes encode to exactly the JSON docs/FORMAT.md shows (tree ids depend on it)."""
    assert codec.encode_tree(GOLDEN_NODES) == GOLDEN_TREE_BYTES
    assert codec.decode_tree(GOLDEN_TREE_BYTES) == GOLDEN_NODES


@pytest.mark.parametrize(
    "entry",
    [
        {"name": "a", "type": "fifo", "mode": 0, "mtime_ns": 0},
        {"type": "dir", "mode": 0, "mtime_ns": 0, "subtree": "00"},
        {"name": 5, "type": "dir", "mode": 0, "mtime_ns": 0, "subtree": "00"},
        {"name": "a", "type": "dir", "mode": "0", "mtime_ns": 0, "subtree": "00"},
        {"name": "a", "type": "dir", "mode": 0, "mtime_ns": 0},
        {"name": "a", "type": "dir", "mode": 0, "mtime_ns": 0, "subtree": "zz"},
        {"name": "a", "type": "file", "mode": 0, "mtime_ns": 0, "content": []},
        {"name": "a", "type": "file", "mode": 0, "mtime_ns": 0, "size": 1, "content": [7]},
        {"name": "a", "type": "symlink", "mode": 0, "mtime_ns": 0},
        {"name_b64": "!!", "type": "symlink", "mode": 0, "mtime_ns": 0, "target": "x"},
    ],
)
def test_a_damaged_tree_entry_damages_the_listing(entry: dict[str, object]) -> None:
    with pytest.raises(VaultCorruptError):
        codec.decode_tree(codec.encode_tree_docs([entry]))
