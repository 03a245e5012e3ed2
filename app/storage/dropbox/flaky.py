"""Flaky-link mode: after a failed upload, send big objects in small session chunks.

A pack of 16 MiB sent in one request over a link that drops every few megabytes
never gets through; sent as 8 MiB session chunks, a failure resends one chunk (the
session resumes from the server's offset). The mode starts at any transient upload
failure and ends after 20 successful uploads in a row, so a good link returns to
one request per pack.
"""

from __future__ import annotations

import threading

#: Successful uploads needed to leave flaky-link mode.
CALM_AFTER = 20


class FlakyLink:
    """Whether the link recently failed; shared by every upload thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until = 0  # upload successes still to see before leaving flaky mode

    def is_flaky(self) -> bool:
        with self._lock:
            return self._until > 0

    def note_failure(self) -> None:
        with self._lock:
            self._until = CALM_AFTER

    def note_success(self) -> None:
        with self._lock:
            self._until = max(0, self._until - 1)
