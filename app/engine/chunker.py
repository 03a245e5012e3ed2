"""Content-defined chunking (FastCDC 2020, compiled, via pyfastcdc).

Boundaries depend on content, so an insert in the middle of a file changes only the
chunks around it. The gear table is personalised by a random seed kept in the vault's
encrypted config: chunk sizes then do not fingerprint known files for someone who
can see pack sizes (docs/FORMAT.md, section 12).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from pyfastcdc.cy import FastCDC

MIN_SIZE = 256 * 1024
AVG_SIZE = 1024 * 1024
MAX_SIZE = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ChunkerParams:
    min_size: int = MIN_SIZE
    avg_size: int = AVG_SIZE
    max_size: int = MAX_SIZE
    seed: int = 0


class Chunker:
    """Not thread-safe (pyfastcdc keeps state); make one per worker thread."""

    def __init__(self, params: ChunkerParams) -> None:
        self.params = params
        self._cdc = FastCDC(
            params.avg_size, min_size=params.min_size, max_size=params.max_size, seed=params.seed
        )

    def chunks_of_stream(self, stream: BinaryIO) -> Iterator[memoryview]:
        """Yield chunk views valid only until the next one is requested."""
        for chunk in self._cdc.cut_stream(stream):
            yield chunk.data

    def chunks_of_buffer(self, data: bytes | memoryview) -> Iterator[memoryview]:
        if len(data) <= self.params.min_size:
            yield memoryview(data)
            return
        for chunk in self._cdc.cut_buf(data):
            yield chunk.data
