"""Where every indexed blob is, in memory, for a restore that needs most of them.

A full restore looks up every data blob of a snapshot. Through SQLite that is a
B-tree descent over random 32-byte keys per blob (~4-5 µs each, and the index of a
home folder is larger than the cache's page budget, so many of them read pages from
the file), on the thread that plans the restore. One scan of the index in key order
costs about a microsecond per row instead, and a lookup in the result about as much.

Memory stays flat and small: the ids are kept sorted, back to back in one
``bytearray`` (32 bytes each), with a directory of where each two-byte prefix starts
(ids are keyed hashes, so prefixes are evenly spread: a lookup searches a handful of
ids with ``bytearray.find`` in C); the locations are parallel arrays of 32-bit
integers (offsets and lengths in packs are 32-bit in the format, docs/FORMAT.md),
the packs a list of the few distinct pack ids. 49 bytes per blob: ~10 MiB at
200,000 blobs, ~47 MiB at 1,000,000 (a ``dict`` of ``bytes`` would take ~150 bytes
per blob).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from itertools import accumulate

ID_SIZE = 32
_PREFIXES = 1 << 16

Location = tuple[int, bytes, int, int, int]  # type, pack, offset, length, raw length


class LocationMap:
    """Blob id -> (type, pack, offset, length, raw length), read-only once built.

    ``rows`` are the index's rows (id, type, pack, offset, length, raw length)
    in id order, as batches. An id named by several packs keeps every row; a lookup
    answers with the first, as ``Cache.lookup_blobs`` does.
    """

    __slots__ = (
        "_ids",
        "_starts",
        "_types",
        "_packs",
        "_offsets",
        "_lengths",
        "_raws",
        "_pack_ids",
    )

    def __init__(
        self, batches: Iterable[Sequence[tuple[bytes, int, bytes, int, int, int]]]
    ) -> None:
        self._ids = bytearray()
        self._types = array("B")
        self._packs = array("I")
        self._offsets = array("I")
        self._lengths = array("I")
        self._raws = array("I")
        self._pack_ids: list[bytes] = []
        pack_index: dict[bytes, int] = {}
        counts = [0] * _PREFIXES
        last = b""
        for rows in batches:
            if not rows:
                continue
            ids, types, packs, offsets, lengths, raws = zip(*rows, strict=True)
            if set(map(len, ids)) != {ID_SIZE} or not last <= ids[0]:
                raise ValueError("index rows must be 32-byte ids in id order")
            last = ids[-1]
            for blob_id in ids:
                counts[(blob_id[0] << 8) | blob_id[1]] += 1
            self._ids += b"".join(ids)
            self._types.extend(types)
            for pack in packs:
                if pack not in pack_index:
                    pack_index[pack] = len(self._pack_ids)
                    self._pack_ids.append(pack)
            self._packs.extend(map(pack_index.__getitem__, packs))
            self._offsets.extend(offsets)
            self._lengths.extend(lengths)
            self._raws.extend(raws)
        self._starts = array("I", accumulate(counts, initial=0))

    def __len__(self) -> int:
        return len(self._types)

    def get(self, blob_id: bytes) -> Location | None:
        if len(blob_id) != ID_SIZE:
            return None
        prefix = (blob_id[0] << 8) | blob_id[1]
        starts = self._starts
        end = starts[prefix + 1] * ID_SIZE
        ids = self._ids
        pos = ids.find(blob_id, starts[prefix] * ID_SIZE, end)
        while pos % ID_SIZE:  # a match straddling two ids (-1 is not a multiple either)
            if pos < 0:
                return None
            pos = ids.find(blob_id, pos - pos % ID_SIZE + ID_SIZE, end)
        i = pos // ID_SIZE
        return (
            self._types[i],
            self._pack_ids[self._packs[i]],
            self._offsets[i],
            self._lengths[i],
            self._raws[i],
        )
