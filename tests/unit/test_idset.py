"""The compact blob-id set behaves like ``set[bytes]`` for what the engine asks of it."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine.idset import BlobIdSet

ids32 = st.binary(min_size=32, max_size=32)


@settings(max_examples=50)
@given(st.lists(ids32, max_size=200), st.lists(ids32, max_size=50))
def test_membership_matches_a_set(added: list[bytes], probes: list[bytes]) -> None:
    compact = BlobIdSet(added)
    reference = set(added)
    assert len(compact) == len(reference)
    for blob_id in [*added, *probes]:
        assert (blob_id in compact) == (blob_id in reference)
    assert set(compact) == reference


def test_a_match_straddling_two_ids_is_not_a_member() -> None:
    # Two ids in one bucket whose concatenation holds a third id (same bucket prefix)
    # at offset 16: bytearray.find sees it, the set must not.
    first = b"\x00\x01" + b"x" * 14 + b"\x00\x01" + b"y" * 14
    second = b"\x00\x01" + b"y" * 30
    straddling = (first + second)[16:48]
    assert straddling[:2] == b"\x00\x01" and straddling not in (first, second)
    compact = BlobIdSet([first, second])
    assert straddling not in compact
    assert first in compact and second in compact
    compact.add(straddling)  # and once added, it is found at its own aligned place
    assert straddling in compact and len(compact) == 3


def test_wrong_lengths_and_types_are_not_members() -> None:
    compact = BlobIdSet([os.urandom(32)])
    assert b"" not in compact
    assert b"\x00" * 31 not in compact
    assert 5 not in compact
    with pytest.raises(ValueError):
        compact.add(b"short")


def test_extend_unique_loads_ids_and_add_ignores_duplicates() -> None:
    ids = [os.urandom(32) for _ in range(1000)]
    compact = BlobIdSet()
    compact.extend_unique(ids)
    compact.add(ids[0])
    compact.update(ids[:10])
    assert len(compact) == 1000
    assert all(blob_id in compact for blob_id in ids)
    assert os.urandom(32) not in compact
