"""Restore's lean listing decode and its in-memory location map.

``codec.decode_tree_rows`` must accept and refuse exactly what ``decode_tree`` does
(a forged listing is refused the same way whichever reader meets it), and
``LocationMap`` must answer exactly what the cache's own lookup answers.
"""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.errors import VaultCorruptError
from app.core.models import EntryType
from app.engine import codec
from app.engine.locmap import LocationMap
from app.engine.tree import Node
from tests.unit.test_tree_encoding import _nodes


def _rows_of(nodes: list[Node]) -> list[codec.FileRow | Node]:
    return [
        (n.name, n.mode, n.mtime_ns, n.size, n.content) if n.type is EntryType.FILE else n
        for n in nodes
    ]


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_nodes(), max_size=8))
def test_rows_decode_the_same_entries_as_nodes(nodes: list[Node]) -> None:
    data = codec.encode_tree(nodes)
    assert codec.decode_tree_rows(data) == _rows_of(codec.decode_tree(data))


_GOOD = {"type": "file", "name": "a", "mode": 420, "mtime_ns": 1, "size": 3, "content": ["00" * 32]}
_DAMAGED: list[object] = [
    [],
    "file",
    {**_GOOD, "type": "fifo"},
    {**_GOOD, "name": 7},
    {k: v for k, v in _GOOD.items() if k != "name"},
    {**_GOOD, "mode": "420"},
    {**_GOOD, "mode": True},
    {**_GOOD, "mtime_ns": 1.5},
    {**_GOOD, "size": None},
    {k: v for k, v in _GOOD.items() if k != "size"},
    {**_GOOD, "content": "00" * 32},
    {**_GOOD, "content": ["zz"]},
    {**_GOOD, "content": [7]},
    {**_GOOD, "name": "\udcff"},  # a lone surrogate: kept byte-exact, not refused
    {**_GOOD, "name_b64": "YQ==", "name": 3},
    {**{k: v for k, v in _GOOD.items() if k != "name"}, "name_b64": "YQ=="},
    {**{k: v for k, v in _GOOD.items() if k != "name"}, "name_b64": "!!"},
]


@pytest.mark.parametrize("entry", _DAMAGED)
def test_rows_refuse_what_nodes_refuse(entry: object) -> None:
    data = json.dumps({"v": 1, "nodes": [_GOOD, entry]}).encode()
    try:
        want: object = _rows_of(codec.decode_tree(data))
    except VaultCorruptError as exc:
        want = str(exc)
    try:
        got: object = codec.decode_tree_rows(data)
    except VaultCorruptError as exc:
        got = str(exc)
    assert got == want


def test_location_map_answers_as_the_index_does() -> None:
    rng = random.Random(7)
    packs = [rng.randbytes(32) for _ in range(5)]
    rows = []
    for i in range(3000):
        blob_id = rng.randbytes(32)
        for pack in rng.sample(packs, 1 + (i % 7 == 0)):  # some blobs in two packs
            rows.append((blob_id, 1 | (i % 2) << 7, pack, i * 100, 90 + i % 50, 2000 + i))
    rows.sort(key=lambda r: (r[0], r[2]))
    first: dict[bytes, tuple[int, bytes, int, int, int]] = {}
    for r in rows:
        first.setdefault(r[0], (r[1], r[2], r[3], r[4], r[5]))
    locations = LocationMap(rows[i : i + 500] for i in range(0, len(rows), 500))
    assert len(locations) == len(rows)
    for blob_id, where in first.items():
        assert locations.get(blob_id) == where
    for _ in range(200):
        assert locations.get(rng.randbytes(32)) is None
    assert locations.get(b"short") is None


def test_location_map_ignores_a_match_across_two_ids() -> None:
    a = bytes([1, 1]) + b"\x00" * 14 + bytes([1, 1]) + b"\x00" * 14
    b = bytes([1, 1]) + b"\xff" * 30
    straddling = a[16:] + b[:16]  # in the same bucket, found inside a + b at offset 16
    assert (a + b).find(straddling) == 16 and straddling[:2] == a[:2]
    locations = LocationMap([[(a, 1, b"p" * 32, 0, 50, 10), (b, 1, b"p" * 32, 50, 50, 11)]])
    assert locations.get(straddling) is None
    assert locations.get(a) == (1, b"p" * 32, 0, 50, 10)
    assert locations.get(b) == (1, b"p" * 32, 50, 50, 11)


def test_location_map_refuses_rows_out_of_order() -> None:
    a, b = b"\x02" * 32, b"\x01" * 32
    with pytest.raises(ValueError):
        LocationMap([[(a, 1, b"p" * 32, 0, 50, 10)], [(b, 1, b"p" * 32, 50, 50, 10)]])
