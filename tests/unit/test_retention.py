"""Retention rules (app/engine/retention.py) with an injected clock and time zone.

Every rule is checked on synthetic snapshot lists; the Time-Machine default is checked
against an independent formulation of its promise ("every backup for 24 hours, the
newest per day for a month, per week for a year, per month forever").
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest

from app.core.models import SnapshotInfo
from app.engine.retention import RetentionPolicy, apply_policy

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday


def snap(
    when: datetime, *, device: str = "dev-a", paths: tuple[str, ...] = ("/data",), n: int = 0
) -> SnapshotInfo:
    """A snapshot whose id sorts like its time, so failures are readable."""
    return SnapshotInfo(
        id=f"{when:%Y%m%d%H%M%S}-{device}-{n}",
        time=when,
        hostname="host-" + device,
        device_id=device,
        paths=paths,
        files=1,
        bytes=1,
        tree="00" * 32,
    )


def every(step: timedelta, count: int, *, end: datetime = NOW, **kw: object) -> list[SnapshotInfo]:
    """``count`` snapshots, ``step`` apart, the newest at ``end``."""
    return [snap(end - i * step, **kw) for i in range(count)]  # type: ignore[arg-type]


def kept_ids(
    snaps: list[SnapshotInfo], policy: RetentionPolicy, tz: tzinfo | None = UTC
) -> set[str]:
    keep, remove = apply_policy(snaps, policy, NOW, tz)
    assert {s.id for s in keep} | {s.id for s in remove} == {s.id for s in snaps}
    assert not {s.id for s in keep} & {s.id for s in remove}
    return {s.id for s in keep}


def newest_per(snaps: Iterable[SnapshotInfo], bucket: Callable[[datetime], Hashable]) -> set[str]:
    best: dict[Hashable, SnapshotInfo] = {}
    for s in snaps:
        key = bucket(s.time)
        if key not in best or s.time > best[key].time:
            best[key] = s
    return {s.id for s in best.values()}


def test_keep_last_keeps_the_newest_n() -> None:
    snaps = every(timedelta(hours=1), 10)
    assert kept_ids(snaps, RetentionPolicy(last=3)) == {s.id for s in snaps[:3]}


def test_keep_hourly_keeps_the_newest_in_each_of_the_last_n_hours() -> None:
    snaps = every(timedelta(minutes=20), 15)  # 12:00, 11:40, 11:20, 11:00, 10:40, ...
    kept = kept_ids(snaps, RetentionPolicy(hourly=3))
    assert kept == {snap(NOW).id, snap(NOW.replace(hour=11, minute=40)).id, snaps[4].id}
    assert snaps[4].time.hour == 10 and snaps[4].time.minute == 40


def test_keep_daily_counts_days_that_have_a_snapshot() -> None:
    # Three per day for a week, then a gap of five days, then three more days.
    snaps = [
        snap(NOW - timedelta(days=d, hours=h))
        for d in [*range(0, 7), *range(12, 15)]
        for h in (0, 3, 6)
    ]
    kept = kept_ids(snaps, RetentionPolicy(daily=9))
    by_day = newest_per(snaps, lambda t: t.date())
    # Nine distinct days back from today: the seven recent ones and the two newest
    # of the older block; the gap does not use up the count.
    days = sorted({s.time.date() for s in snaps}, reverse=True)[:9]
    assert kept == {i for i in by_day if datetime.strptime(i[:8], "%Y%m%d").date() in days}
    assert len(kept) == 9


def test_keep_daily_uses_the_given_time_zone() -> None:
    late = snap(datetime(2026, 11, 24, 23, 30, tzinfo=UTC))
    early = snap(datetime(2026, 11, 25, 0, 30, tzinfo=UTC))
    older = snap(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    snaps = [late, early, older]
    # In UTC the two are on different days: both are the newest of their day.
    assert kept_ids(snaps, RetentionPolicy(daily=2), UTC) == {late.id, early.id}
    # Five hours west they fall on the same evening: only the later one is kept,
    # and the second day counted is the older one.
    west = timezone(timedelta(hours=-5))
    assert kept_ids(snaps, RetentionPolicy(daily=2), west) == {early.id, older.id}


def test_keep_daily_across_a_dst_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")  # clocks went back on 2026-10-25 03:00 -> 02:00
    snaps = [
        snap(datetime(2026, 10, 25, 23, 30, tzinfo=berlin)),  # 22:30 UTC, Oct 25 local
        snap(datetime(2026, 10, 25, 0, 30, tzinfo=berlin)),
        snap(datetime(2026, 10, 24, 23, 30, tzinfo=berlin)),
    ]
    kept = kept_ids(snaps, RetentionPolicy(daily=5), berlin)
    assert kept == {snaps[0].id, snaps[2].id}


def test_keep_weekly_uses_iso_weeks() -> None:
    snaps = every(timedelta(days=1), 30)  # daily at noon, back from Wed 2026-11-25
    kept = kept_ids(snaps, RetentionPolicy(weekly=3))
    newest_by_week = newest_per(snaps, lambda t: t.isocalendar()[:2])
    want = sorted(newest_by_week, reverse=True)[:3]
    assert kept == set(want)
    # This week's newest is today; the two before are Sundays (ISO weeks end on Sunday).
    assert sorted(datetime.strptime(i[:8], "%Y%m%d").weekday() for i in want) == [2, 6, 6]


def test_keep_monthly_keeps_the_newest_of_each_month() -> None:
    snaps = every(timedelta(days=1), 120)
    kept = kept_ids(snaps, RetentionPolicy(monthly=3))
    assert {i[:8] for i in kept} == {"20261125", "20261031", "20260930"}


def test_rules_combine_as_a_union() -> None:
    snaps = every(timedelta(hours=6), 40)  # ten days, four a day
    alone = [kept_ids(snaps, RetentionPolicy(last=2)), kept_ids(snaps, RetentionPolicy(daily=4))]
    assert kept_ids(snaps, RetentionPolicy(last=2, daily=4)) == alone[0] | alone[1]


def test_groups_by_device_and_paths_and_always_keep_each_newest() -> None:
    a = every(timedelta(hours=1), 5, device="dev-a")
    b = every(timedelta(hours=1), 5, device="dev-b", end=NOW - timedelta(days=400))
    c = every(timedelta(hours=1), 5, device="dev-a", paths=("/other",), n=1)
    kept = kept_ids([*a, *b, *c], RetentionPolicy(last=2))
    # Each group keeps its own two newest: one device's policy never thins another's,
    # and an old device's only history is not wiped because it is old.
    assert kept == {s.id for s in (*a[:2], *b[:2], *c[:2])}
    # Even a policy keeping nothing by its own rules keeps every group's newest.
    kept = kept_ids([*a, *b, *c], RetentionPolicy(all_within=timedelta(seconds=1)))
    assert {a[0].id, b[0].id, c[0].id} <= kept
    assert b[1].id not in kept


def test_results_are_oldest_first_and_empty_policy_is_detected() -> None:
    snaps = every(timedelta(hours=5), 12)
    keep, remove = apply_policy(list(reversed(snaps)), RetentionPolicy(last=4), NOW, UTC)
    assert [s.time for s in keep] == sorted(s.time for s in keep)
    assert [s.time for s in remove] == sorted(s.time for s in remove)
    assert RetentionPolicy().is_empty()
    assert not RetentionPolicy(daily=1).is_empty()
    assert not RetentionPolicy.time_machine().is_empty()


@pytest.mark.parametrize("tz", [UTC, ZoneInfo("America/New_York")], ids=["utc", "new-york"])
def test_time_machine_default(tz: tzinfo) -> None:
    """An hourly backup for 400 days, thinned by the default policy."""
    snaps = every(timedelta(hours=1), 400 * 24)
    kept = kept_ids(snaps, RetentionPolicy.time_machine(), tz)

    def local(t: datetime) -> datetime:
        return t.astimezone(tz)

    def within(span: timedelta) -> list[SnapshotInfo]:
        return [s for s in snaps if NOW - s.time <= span]

    want = {s.id for s in within(timedelta(hours=24))}
    want |= newest_per(within(timedelta(days=31)), lambda t: local(t).date())
    want |= newest_per(within(timedelta(days=365)), lambda t: local(t).isocalendar()[:2])
    want |= newest_per(snaps, lambda t: (local(t).year, local(t).month))
    assert kept == want
    # Spot checks of the promise in plain words.
    assert len(within(timedelta(hours=24))) == 25  # both ends included
    two_days_ago = [
        s for s in snaps if local(s.time).date() == (local(NOW) - timedelta(days=2)).date()
    ]
    assert [s.id for s in two_days_ago if s.id in kept] == [
        max(two_days_ago, key=lambda s: s.time).id
    ]
    hundred_days = [s for s in snaps if timedelta(days=100) <= NOW - s.time < timedelta(days=107)]
    assert 1 <= len([s for s in hundred_days if s.id in kept]) <= 2  # about one per week
    older = [s for s in snaps if s.id in kept and NOW - s.time > timedelta(days=365)]
    assert 1 <= len(older) <= 2  # 35 days beyond the year: one or two month-ends
    assert len(kept) < 25 + 31 + 53 + 14
