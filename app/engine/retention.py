"""Which snapshots a retention policy keeps. Pure functions: the clock is a parameter.

Two kinds of rules combine (a snapshot kept by any rule is kept):
* counts, as in restic: ``last`` N snapshots, and the newest snapshot in each of the
  last N hours / days / ISO weeks / months that have one;
* spans, for the Time-Machine-like default: every snapshot within ``all_within``,
  the newest per day within ``daily_within``, per week within ``weekly_within``, and
  per month within ``monthly_within`` (``None`` = forever).
Snapshots are grouped by device and backed-up paths and the policy applies to each
group separately (as restic does); the newest snapshot of every group is always
kept. To leave other computers' snapshots alone entirely, pass only this device's
snapshots (``Vault.forget(host=...)``; the desktop app does).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from app.core.models import SnapshotInfo

BucketKey = Callable[[datetime], tuple[int, ...]]


def _hour(t: datetime) -> tuple[int, ...]:
    return (t.year, t.month, t.day, t.hour)


def _day(t: datetime) -> tuple[int, ...]:
    return (t.year, t.month, t.day)


def _week(t: datetime) -> tuple[int, ...]:
    year, week, _ = t.isocalendar()
    return (year, week)


def _month(t: datetime) -> tuple[int, ...]:
    return (t.year, t.month)


@dataclass(frozen=True)
class RetentionPolicy:
    last: int | None = None
    hourly: int | None = None
    daily: int | None = None
    weekly: int | None = None
    monthly: int | None = None
    all_within: timedelta | None = None
    daily_within: timedelta | None = None
    weekly_within: timedelta | None = None
    monthly_within: timedelta | None = None
    monthly_forever: bool = False

    @classmethod
    def time_machine(cls) -> RetentionPolicy:
        """Every backup for 24 hours, daily for a month, weekly for a year, then monthly."""
        return cls(
            all_within=timedelta(hours=24),
            daily_within=timedelta(days=31),
            weekly_within=timedelta(days=365),
            monthly_forever=True,
        )

    def is_empty(self) -> bool:
        counts = (self.last, self.hourly, self.daily, self.weekly, self.monthly)
        spans = (self.all_within, self.daily_within, self.weekly_within, self.monthly_within)
        return (
            all(c is None for c in counts)
            and all(s is None for s in spans)
            and not self.monthly_forever
        )


def _keep_by_count(
    snaps: list[SnapshotInfo], count: int | None, key: BucketKey, tz: tzinfo | None, keep: set[str]
) -> None:
    if not count:
        return
    last_bucket: tuple[int, ...] | None = None
    kept = 0
    for snap in snaps:  # newest first
        bucket = key(snap.time.astimezone(tz))
        if bucket != last_bucket:
            last_bucket = bucket
            keep.add(snap.id)
            kept += 1
            if kept >= count:
                return


def _keep_by_span(
    snaps: list[SnapshotInfo],
    span: timedelta | None,
    key: BucketKey,
    tz: tzinfo | None,
    now: datetime,
    keep: set[str],
    forever: bool = False,
) -> None:
    if span is None and not forever:
        return
    seen: set[tuple[int, ...]] = set()
    for snap in snaps:  # newest first, so the first in a bucket is its newest
        if not forever and span is not None and now - snap.time > span:
            break
        bucket = key(snap.time.astimezone(tz))
        if bucket not in seen:
            seen.add(bucket)
            keep.add(snap.id)


def apply_policy(
    snapshots: Sequence[SnapshotInfo],
    policy: RetentionPolicy,
    now: datetime,
    tz: tzinfo | None = None,
) -> tuple[list[SnapshotInfo], list[SnapshotInfo]]:
    """Split ``snapshots`` into (keep, remove); both oldest first."""
    groups: dict[tuple[str, tuple[str, ...]], list[SnapshotInfo]] = {}
    for snap in snapshots:
        groups.setdefault((snap.device_id or snap.hostname, tuple(sorted(snap.paths))), []).append(
            snap
        )
    keep: set[str] = set()
    for members in groups.values():
        members.sort(key=lambda s: (s.time, s.id), reverse=True)
        keep.add(members[0].id)  # never remove a group's newest snapshot
        if policy.last:
            keep.update(s.id for s in members[: policy.last])
        _keep_by_count(members, policy.hourly, _hour, tz, keep)
        _keep_by_count(members, policy.daily, _day, tz, keep)
        _keep_by_count(members, policy.weekly, _week, tz, keep)
        _keep_by_count(members, policy.monthly, _month, tz, keep)
        if policy.all_within is not None:
            keep.update(s.id for s in members if now - s.time <= policy.all_within)
        _keep_by_span(members, policy.daily_within, _day, tz, now, keep)
        _keep_by_span(members, policy.weekly_within, _week, tz, now, keep)
        _keep_by_span(
            members, policy.monthly_within, _month, tz, now, keep, forever=policy.monthly_forever
        )
    ordered = sorted(snapshots, key=lambda s: (s.time, s.id))
    return [s for s in ordered if s.id in keep], [s for s in ordered if s.id not in keep]
