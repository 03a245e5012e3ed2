"""Job history: one SQLite table of past runs (backups, restores, checks) and their
warnings, shown in the activity log and used to decide "up to date" or "stale".

Written only from the GUI thread (the job's finish is delivered there), so one
connection with ``check_same_thread`` left on is enough and catches mistakes.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from app.core.events import Warning_
from app.core.paths import create_private_file

FILE_NAME = "history.sqlite3"
SCHEMA_VERSION = 1


class JobStatus(StrEnum):
    OK = "ok"
    WARNINGS = "warnings"  # finished, but some files were skipped
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def succeeded(self) -> bool:
        return self in (JobStatus.OK, JobStatus.WARNINGS)


@dataclass(frozen=True, slots=True)
class JobRecord:
    kind: str  # "backup", "restore", "check", "forget"
    started: datetime
    finished: datetime
    status: JobStatus
    message: str = ""
    snapshot_id: str = ""
    files_total: int = 0
    files_new: int = 0
    files_changed: int = 0
    bytes_total: int = 0
    bytes_added: int = 0
    bytes_uploaded: int = 0
    warnings: tuple[Warning_, ...] = field(default_factory=tuple)
    id: int = 0

    @property
    def duration_s(self) -> float:
        return max(0.0, (self.finished - self.started).total_seconds())


_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    snapshot_id TEXT NOT NULL DEFAULT '',
    files_total INTEGER NOT NULL DEFAULT 0,
    files_new INTEGER NOT NULL DEFAULT 0,
    files_changed INTEGER NOT NULL DEFAULT 0,
    bytes_total INTEGER NOT NULL DEFAULT 0,
    bytes_added INTEGER NOT NULL DEFAULT 0,
    bytes_uploaded INTEGER NOT NULL DEFAULT 0,
    warnings TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS jobs_kind_finished ON jobs(kind, finished);
"""

_COLUMNS = (
    "id, kind, started, finished, status, message, snapshot_id, files_total, files_new, "
    "files_changed, bytes_total, bytes_added, bytes_uploaded, warnings"
)

MAX_WARNINGS_KEPT = 1000


def _ts(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


class HistoryStore:
    """Append and query job records. ``path`` may be ``:memory:`` in tests."""

    def __init__(self, path: Path | str) -> None:
        if isinstance(path, Path):
            create_private_file(path)  # 0600: it names files and folders
        self._db = sqlite3.connect(str(path))
        self._db.executescript(_SCHEMA)
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if int(version) < SCHEMA_VERSION:
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._db.commit()

    def close(self) -> None:
        self._db.close()

    def add(self, record: JobRecord) -> JobRecord:
        warnings = [
            {"path": w.path, "message": w.message} for w in record.warnings[:MAX_WARNINGS_KEPT]
        ]
        cur = self._db.execute(
            "INSERT INTO jobs (kind, started, finished, status, message, snapshot_id, "
            "files_total, files_new, files_changed, bytes_total, bytes_added, bytes_uploaded, "
            "warnings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.kind,
                _ts(record.started),
                _ts(record.finished),
                record.status.value,
                record.message,
                record.snapshot_id,
                record.files_total,
                record.files_new,
                record.files_changed,
                record.bytes_total,
                record.bytes_added,
                record.bytes_uploaded,
                json.dumps(warnings),
            ),
        )
        self._db.commit()
        rowid = cur.lastrowid
        assert rowid is not None
        return replace(record, id=int(rowid))

    def recent(self, limit: int = 200, kind: str | None = None) -> list[JobRecord]:
        """Newest first."""
        if kind is None:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM jobs ORDER BY finished DESC, id DESC LIMIT ?", (limit,)
            )
        else:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE kind = ? "
                "ORDER BY finished DESC, id DESC LIMIT ?",
                (kind, limit),
            )
        return [_row_to_record(row) for row in rows.fetchall()]

    def last(self, kind: str = "backup") -> JobRecord | None:
        found = self.recent(1, kind)
        return found[0] if found else None

    def last_success(self, kind: str = "backup") -> JobRecord | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM jobs WHERE kind = ? AND status IN (?, ?) "
            "ORDER BY finished DESC, id DESC LIMIT 1",
            (kind, JobStatus.OK.value, JobStatus.WARNINGS.value),
        ).fetchone()
        return _row_to_record(row) if row else None

    def by_snapshot(self, snapshot_id: str) -> JobRecord | None:
        """The backup of this computer that made ``snapshot_id``, if it is recorded:
        when a snapshot object is damaged its own time is unreadable, and this is
        the only other place that knows it."""
        if not snapshot_id:
            return None
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM jobs WHERE kind = 'backup' AND snapshot_id = ? "
            "ORDER BY id DESC LIMIT 1",
            (snapshot_id,),
        ).fetchone()
        return _row_to_record(row) if row else None

    def count(self) -> int:
        (n,) = self._db.execute("SELECT COUNT(*) FROM jobs").fetchone()
        return int(n)


def _row_to_record(row: tuple[object, ...]) -> JobRecord:
    warnings_data = json.loads(str(row[13]) or "[]")
    return JobRecord(
        id=int(str(row[0])),
        kind=str(row[1]),
        started=datetime.fromisoformat(str(row[2])),
        finished=datetime.fromisoformat(str(row[3])),
        status=JobStatus(str(row[4])),
        message=str(row[5]),
        snapshot_id=str(row[6]),
        files_total=int(str(row[7])),
        files_new=int(str(row[8])),
        files_changed=int(str(row[9])),
        bytes_total=int(str(row[10])),
        bytes_added=int(str(row[11])),
        bytes_uploaded=int(str(row[12])),
        warnings=tuple(Warning_(str(w["path"]), str(w["message"])) for w in warnings_data),
    )
