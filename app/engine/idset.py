"""A compact set of 32-byte blob ids: memory that stays flat as the vault grows.

A Python ``set`` of ``bytes`` costs about 100 bytes per id (a 65-byte object plus
its share of the hash table): 20 MiB for a home folder of 200,000 small files and
100 MiB at a million, which made peak memory grow with the vault. Here ids live in
65,536 buckets chosen by their first two bytes (ids are keyed hashes, so buckets fill
evenly); a bucket is one ``bytearray`` of whole ids back to back, searched with
``bytearray.find`` in C. That is 32 bytes per id plus ~4 MiB of fixed bucket
overhead, and a lookup scans a handful of ids (15 per bucket at a million ids).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

ID_SIZE = 32
_BUCKETS = 1 << 16


class BlobIdSet:
    """The ``in``/``add``/``update``/iteration subset of ``set[bytes]`` for blob ids.

    Ids of any other length are refused (``ValueError``) rather than stored: a
    misaligned match inside a bucket could otherwise report an id that is not there.
    """

    __slots__ = ("_buckets", "_len")

    def __init__(self, ids: Iterable[bytes] = ()) -> None:
        # Buckets are created on first use: an empty or small vault costs a list of
        # 65,536 None references (512 KiB), not 65,536 bytearrays.
        self._buckets: list[bytearray | None] = [None] * _BUCKETS
        self._len = 0
        self.update(ids)

    def __len__(self) -> int:
        return self._len

    def __contains__(self, blob_id: object) -> bool:
        try:
            bucket = self._buckets[(blob_id[0] << 8) | blob_id[1]]  # type: ignore[index]
        except (TypeError, IndexError, KeyError):
            return False
        if bucket is None or len(blob_id) != ID_SIZE:  # type: ignore[arg-type]
            return False
        pos = bucket.find(blob_id)  # type: ignore[arg-type]
        while pos >= 0:
            if pos % ID_SIZE == 0:
                return True
            # A match straddling two ids: keep looking from the next id boundary.
            pos = bucket.find(blob_id, pos - pos % ID_SIZE + ID_SIZE)  # type: ignore[arg-type]
        return False

    def extend_unique(self, ids: Iterable[bytes]) -> None:
        """Add ids known to be distinct and absent (the cache's primary keys): no
        lookup per id, so loading a million ids takes a fraction of a second."""
        buckets = self._buckets
        count = 0
        for blob_id in ids:
            if len(blob_id) != ID_SIZE:
                raise ValueError(f"blob ids are {ID_SIZE} bytes, not {len(blob_id)}")
            index = (blob_id[0] << 8) | blob_id[1]
            bucket = buckets[index]
            if bucket is None:
                buckets[index] = bytearray(blob_id)
            else:
                bucket += blob_id
            count += 1
        self._len += count

    def add(self, blob_id: bytes) -> None:
        if len(blob_id) != ID_SIZE:
            raise ValueError(f"blob ids are {ID_SIZE} bytes, not {len(blob_id)}")
        if blob_id in self:
            return
        index = (blob_id[0] << 8) | blob_id[1]
        bucket = self._buckets[index]
        if bucket is None:
            self._buckets[index] = bytearray(blob_id)
        else:
            bucket += blob_id
        self._len += 1

    def update(self, ids: Iterable[bytes]) -> None:
        for blob_id in ids:
            self.add(blob_id)

    def __iter__(self) -> Iterator[bytes]:
        for bucket in self._buckets:
            if bucket is not None:
                for start in range(0, len(bucket), ID_SIZE):
                    yield bytes(bucket[start : start + ID_SIZE])
