"""JobRunner, Scheduler (injectable clock), settings and history stores, tray states,
single instance and the recovery kit PDF: fast tests with fakes, no real engine."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QElapsedTimer
from pytestqt.qtbot import QtBot

from app.core.cancel import CancelToken
from app.core.errors import AppError
from app.core.events import Phase, Progress, ProgressCallback, RestoreResult, Warning_
from app.services.backups import State
from app.services.jobs import PROGRESS_INTERVAL_S, JobKind, JobOutcome, JobRunner, Outcome
from app.services.schedule import INT32_MAX_MS, Scheduler, clamp_ms, next_due, retry_delay
from app.store.history import HistoryStore, JobRecord, JobStatus
from app.store.settings import (
    SCHEMA_VERSION,
    Retention,
    Schedule,
    ScheduleMode,
    Settings,
    SettingsStore,
    VaultRef,
    load_configured_repo,
)
from tests.gui.fakes import FakeGateway
from tests.gui.helpers import make_app

Cleanup = list[Callable[[], object]]
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


# -- JobRunner ---------------------------------------------------------------------


@pytest.fixture
def runner(cleanup: Cleanup) -> JobRunner:
    r = JobRunner("test-worker")
    cleanup.append(r.shutdown)
    return r


def looping_job(steps: int = 1000, step_s: float = 0.002) -> Callable[..., str]:
    def job(on_progress: ProgressCallback, cancel: CancelToken) -> str:
        for i in range(steps):
            cancel.check()
            time.sleep(step_s)
            on_progress(Progress(Phase.BACKING_UP, files_done=i, files_total=steps))
        on_progress(Progress(Phase.DONE, steps, steps, final=True))
        return "done"

    return job


def test_runner_runs_off_the_gui_thread_with_throttled_progress(
    qtbot: QtBot, runner: JobRunner
) -> None:
    threads: list[int] = []
    progress: list[Progress] = []
    runner.jobProgress.connect(progress.append)

    took: list[float] = []

    def job(on_progress: ProgressCallback, cancel: CancelToken) -> int:
        threads.append(threading.get_ident())
        t0 = time.monotonic()
        for i in range(200):
            on_progress(Progress(Phase.BACKING_UP, files_done=i, files_total=200))
            time.sleep(0.002)
        took.append(time.monotonic() - t0)
        on_progress(Progress(Phase.DONE, 200, 200, final=True))
        return 42

    with qtbot.waitSignal(runner.jobFinished, timeout=10_000) as blocker:
        assert runner.start(JobKind.BACKUP, job) is not None
        assert runner.busy
        assert runner.start(JobKind.BACKUP, job) is None  # one job at a time
    outcome: JobOutcome[object] = blocker.args[0]
    assert outcome.ok and outcome.result == 42
    assert threads and threads[0] != threading.get_ident()
    # At most 5 per second (one per phase change), plus the final: ~0.4 s of work
    # gives a handful; a loaded machine stretches the work, not the rate.
    assert 1 <= len(progress) <= 3 + took[0] / PROGRESS_INTERVAL_S
    assert progress[-1].final
    assert not runner.busy


def test_runner_pause_resume_and_cancel_within_a_second(qtbot: QtBot, runner: JobRunner) -> None:
    with qtbot.waitSignal(runner.jobProgress, timeout=5000):
        runner.start(JobKind.BACKUP, looping_job())
    with qtbot.waitSignal(runner.pausedChanged, timeout=1000):
        runner.pause()
    assert runner.paused
    with qtbot.assertNotEmitted(runner.jobProgress, wait=400):
        pass
    with qtbot.waitSignal(runner.jobProgress, timeout=2000):
        runner.resume()
    runner.pause()  # cancel must also wake a paused job
    clock = QElapsedTimer()
    clock.start()
    with qtbot.waitSignal(runner.jobFinished, timeout=2000) as blocker:
        runner.cancel()
    assert clock.elapsed() < 1000
    assert blocker.args[0].outcome is Outcome.CANCELLED


def test_runner_turns_errors_into_messages(qtbot: QtBot, runner: JobRunner) -> None:
    def fails(on_progress: ProgressCallback, cancel: CancelToken) -> None:
        raise AppError("The backup drive is full. Free some space and try again.")

    def crashes(on_progress: ProgressCallback, cancel: CancelToken) -> None:
        raise KeyError("internal detail")

    with qtbot.waitSignal(runner.jobFinished) as blocker:
        runner.start(JobKind.BACKUP, fails)
    assert blocker.args[0].outcome is Outcome.FAILED
    assert blocker.args[0].message.startswith("The backup drive is full")
    with qtbot.waitSignal(runner.jobFinished) as blocker:
        runner.start(JobKind.BACKUP, crashes)
    outcome = blocker.args[0]
    assert outcome.outcome is Outcome.FAILED
    assert "internal detail" not in outcome.message and "Traceback" not in outcome.message
    assert "KeyError" in outcome.details  # kept for the log


def squarer(i: int) -> Callable[[CancelToken], int]:
    return lambda _cancel: i * i


def test_runner_short_calls_come_back_in_order(qtbot: QtBot, runner: JobRunner) -> None:
    results: list[object] = []
    for i in range(5):
        runner.call(JobKind.STATS, squarer(i), lambda o: results.append(o.result))
    qtbot.waitUntil(lambda: len(results) == 5, timeout=5000)
    assert results == [0, 1, 4, 9, 16]


# -- Scheduler -----------------------------------------------------------------------


def test_next_due_maths() -> None:
    hourly = Schedule(ScheduleMode.HOURLY)
    assert next_due(Schedule(ScheduleMode.MANUAL), T0, T0) is None
    assert next_due(hourly, None, T0) == T0  # never backed up: now
    assert next_due(hourly, T0, T0) == T0 + timedelta(hours=1)
    assert next_due(Schedule(ScheduleMode.EVERY_N_HOURS, every_hours=6), T0, T0) == T0 + timedelta(
        hours=6
    )
    daily = Schedule(ScheduleMode.DAILY, daily_at="12:00")
    # last success yesterday 13:00, now 09:30: today's 12:00 slot is next
    assert next_due(daily, T0 - timedelta(hours=20, minutes=30), T0, UTC) == T0.replace(
        hour=12, minute=0
    )
    # missed yesterday's slot (last success two days ago): overdue, due at that slot
    assert next_due(daily, T0 - timedelta(days=2), T0, UTC) == (T0 - timedelta(days=1)).replace(
        hour=12, minute=0
    )
    assert retry_delay(0) == timedelta(0)
    assert retry_delay(1) == timedelta(minutes=5)
    assert retry_delay(99) == timedelta(hours=3)
    assert clamp_ms(timedelta(days=60)) == INT32_MAX_MS  # QTimer's int32 limit
    assert clamp_ms(timedelta(seconds=-5)) == 0


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.mono = 1000.0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono


def make_scheduler(
    clock: FakeClock, last: list[datetime | None], busy: list[bool], schedule: Schedule
) -> Scheduler:
    return Scheduler(
        schedule=lambda: schedule,
        last_success=lambda: last[0],
        is_busy=lambda: busy[0],
        clock=clock,
        monotonic=clock.monotonic,
        check_interval_s=0.05,
        catch_up_delay_s=0,
    )


def test_scheduler_catches_up_a_missed_run_and_after_wake(qtbot: QtBot) -> None:
    clock = FakeClock(T0)
    last: list[datetime | None] = [T0 - timedelta(hours=3)]  # missed while closed
    busy = [False]
    sched = make_scheduler(clock, last, busy, Schedule(ScheduleMode.HOURLY))
    with qtbot.waitSignal(sched.backupDue, timeout=2000):
        sched.start()
    last[0] = clock.now  # the catch-up backup ran
    sched.record_result(True)
    with qtbot.assertNotEmitted(sched.backupDue, wait=200):
        pass
    assert sched.next_run() == T0 + timedelta(hours=1)
    # The machine sleeps 5 hours: the wall clock jumps, the monotonic one does not.
    clock.now += timedelta(hours=5)
    with qtbot.waitSignal(sched.backupDue, timeout=2000):
        sched.tick()
    sched.stop()


def test_scheduler_never_overlaps_and_backs_off_after_failure(qtbot: QtBot) -> None:
    clock = FakeClock(T0)
    last: list[datetime | None] = [None]
    busy = [True]
    sched = make_scheduler(clock, last, busy, Schedule(ScheduleMode.HOURLY))
    sched.start()
    with qtbot.assertNotEmitted(sched.backupDue, wait=200):  # busy: never two at once
        pass
    busy[0] = False
    sched.record_result(False)  # the run failed: retry in 5 minutes, not at once
    assert sched.next_run() == T0 + timedelta(minutes=5)
    with qtbot.assertNotEmitted(sched.backupDue, wait=200):
        pass
    clock.now += timedelta(minutes=5)
    with qtbot.waitSignal(sched.backupDue, timeout=2000):
        pass
    sched.record_result(False)
    assert sched.next_run() == clock.now + timedelta(minutes=15)
    sched.pause_until(clock.now + timedelta(hours=1))
    assert sched.next_run() == clock.now + timedelta(hours=1)
    sched.stop()


# -- stores --------------------------------------------------------------------------


def test_settings_round_trip_and_migration_with_backup(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    assert store.load() == Settings()
    s = Settings(
        vault=VaultRef("/media/usb/vault", "abc", "USB"),
        folders=("/home/ann/Pictures",),
        schedule=Schedule(ScheduleMode.DAILY, daily_at="21:15"),
        retention=Retention(keep_monthly_months=24),
        last_retention_run=T0,
    )
    store.save(s)
    assert SettingsStore(tmp_path).load() == s
    assert load_configured_repo(tmp_path) == "/media/usb/vault"
    v1 = {"schema_version": 1, "repo": "/old/vault", "interval_hours": 6, "folders": ["/a"]}
    (tmp_path / "settings.json").write_text(json.dumps(v1))
    migrated = SettingsStore(tmp_path).load()
    assert migrated.vault == VaultRef("/old/vault", "", "")
    assert migrated.schedule == Schedule(ScheduleMode.EVERY_N_HOURS, every_hours=6)
    assert json.loads((tmp_path / "settings.v1.bak").read_text()) == v1  # backup first
    assert json.loads((tmp_path / "settings.json").read_text())["schema_version"] == SCHEMA_VERSION
    (tmp_path / "settings.json").write_text("{not json")
    assert SettingsStore(tmp_path).load() == Settings()
    assert (tmp_path / "settings.json.corrupt").exists()


def test_history_records_and_queries(tmp_path: Path) -> None:
    h = HistoryStore(tmp_path / "h.sqlite3")
    ok = h.add(JobRecord("backup", T0, T0 + timedelta(seconds=5), JobStatus.OK, files_new=3))
    h.add(
        JobRecord(
            "backup",
            T0 + timedelta(hours=1),
            T0 + timedelta(hours=1, seconds=2),
            JobStatus.FAILED,
            message="The drive is gone.",
            warnings=(Warning_("/a", "unreadable"),),
        )
    )
    assert ok.id > 0
    assert h.last() is not None and h.last().status is JobStatus.FAILED  # type: ignore[union-attr]
    assert h.last_success() == ok
    assert [r.status for r in h.recent()] == [JobStatus.FAILED, JobStatus.OK]
    assert h.recent()[0].warnings == (Warning_("/a", "unreadable"),)
    h.close()


# -- tray, single instance, recovery kit ---------------------------------------------


def test_tray_follows_the_state(qtbot: QtBot, tmp_path: Path, cleanup: Cleanup) -> None:
    src = tmp_path / "home" / "Pictures"
    src.mkdir(parents=True)
    (src / "a.jpg").write_bytes(b"x" * 10)
    clock = FakeClock(datetime.now(UTC))
    gw = FakeGateway(steps=150, step_s=0.005)
    app = make_app(qtbot, tmp_path, cleanup, gateway=gw, clock=clock)
    tray = app.tray
    assert tray is not None
    assert tray.state is State.NOT_SET_UP

    def state() -> State:  # read afresh: mypy would keep the narrowed value
        assert tray is not None
        return tray.state

    repo = str(tmp_path / "vault")
    with qtbot.waitCallback() as created:
        app.vaults.create(repo, "pw", created)
    app.service.update_settings(
        app.service.settings.with_(
            vault=VaultRef(repo), folders=(str(src),), schedule=Schedule(ScheduleMode.MANUAL)
        )
    )
    assert state() is State.WARNING  # set up, but no backup yet
    with qtbot.waitSignal(app.service.progress, timeout=5000):
        app.service.back_up_now()
    assert state() is State.RUNNING
    qtbot.waitUntil(lambda: "%" in tray.tooltip(), timeout=5000)
    app.service.pause(timedelta(hours=1))
    assert state() is State.PAUSED
    tray.build_menu()
    texts = [a.text() for a in tray.menu.actions()]
    assert "Resume" in texts and "Open Keepsake" in texts and "Quit" in texts
    with qtbot.waitSignal(app.service.jobFinished, timeout=10_000):
        app.service.resume()
    assert state() is State.UP_TO_DATE
    tray.build_menu()
    texts = [a.text() for a in tray.menu.actions()]
    assert "Back up now" in texts and "Pause for 1 hour" in texts
    clock.now += timedelta(days=4)  # no successful backup for 3+ days: warning
    app.service.scheduler.replan()
    assert state() is State.WARNING
    gw.fail_with = AppError("The backup drive is not connected.")
    with qtbot.waitSignal(app.service.jobFinished, timeout=10_000):
        app.service.back_up_now()
    assert state() is State.ERROR
    assert "not connected" in tray.tooltip()


def test_recovery_kit_pdf_holds_the_key(qtbot: QtBot, tmp_path: Path) -> None:
    from pypdf import PdfReader

    from app.ui.recovery_kit import write_recovery_kit

    key = "AER2S-WMEBB-GMDVC-KGSNX-2VH69-P8BXK"
    path = tmp_path / "kit.pdf"
    write_recovery_kit(str(path), recovery_key=key, where="/media/usb/Keepsake", vault_id="ab12")
    reader = PdfReader(str(path))
    assert len(reader.pages) == 1
    text = " ".join(reader.pages[0].extract_text().split())  # Qt separates words by tabs
    assert key in text
    assert "/media/usb/Keepsake" in text
    assert "new computer" in text


def test_start_at_login_entries(tmp_path: Path) -> None:
    from app.store import autostart

    cmd = ["/opt/keepsake/keepsake", "gui", "--minimized"]
    autostart.set_enabled(True, home=tmp_path, platform="linux", command=cmd)
    desktop = tmp_path / ".config" / "autostart" / "keepsake.desktop"
    assert "Exec=/opt/keepsake/keepsake gui --minimized" in desktop.read_text()
    assert autostart.is_enabled(home=tmp_path, platform="linux")
    autostart.set_enabled(False, home=tmp_path, platform="linux", command=cmd)
    assert not desktop.exists()
    autostart.set_enabled(True, home=tmp_path, platform="darwin", command=cmd)
    assert autostart.is_enabled(home=tmp_path, platform="darwin")


def test_a_failed_outcome_has_no_value(qtbot: QtBot, runner: JobRunner) -> None:
    outcomes: list[JobOutcome[int]] = []

    def fails(_cancel: CancelToken) -> int:
        raise AppError("No.")

    runner.call(JobKind.STATS, squarer(3), outcomes.append)
    runner.call(JobKind.STATS, fails, outcomes.append)
    qtbot.waitUntil(lambda: len(outcomes) == 2, timeout=5000)
    assert outcomes[0].kind is JobKind.STATS and outcomes[0].value == 9
    assert not outcomes[1].ok and outcomes[1].result is None
    with pytest.raises(ValueError, match="stats did not succeed: No."):
        _ = outcomes[1].value


def test_restores_and_thinning_are_recorded_by_their_result_type(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    gw = FakeGateway()
    gw.restore_result = RestoreResult(3, 300, 0.1, warnings=(Warning_("/a", "unreadable"),))
    gw.removed = 2
    app = make_app(qtbot, tmp_path, cleanup, gateway=gw)
    with qtbot.waitCallback() as created:
        app.vaults.create(str(tmp_path / "vault"), "pw", created)
    with qtbot.waitSignal(app.service.jobFinished, timeout=5000) as restored:
        assert app.vaults.restore("snap", str(tmp_path / "out")) is not None
    outcome, record = restored.args
    assert outcome.kind is JobKind.RESTORE and outcome.value == gw.restore_result
    assert (record.kind, record.files_total, record.bytes_total) == ("restore", 3, 300)
    assert record.status is JobStatus.WARNINGS
    assert record.message == "1 file could not be read and was skipped."
    with qtbot.waitSignal(app.service.jobFinished, timeout=5000) as thinned:
        assert app.vaults.apply_retention(app.service.settings.retention) is not None
    _, record = thinned.args
    assert (record.kind, record.status, record.message) == (
        "forget",
        JobStatus.OK,
        "Removed 2 old backups.",
    )
    assert [r.kind for r in app.history.recent(10)] == ["forget", "restore"]
