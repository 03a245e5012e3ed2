"""Issue 12, "the first hour of a new user": each test drives the real engine on real
files (or the real Scheduler against a moving clock) and fails on the bug it names."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.main import AppConfig, Keepsake
from app.services.backups import Secrets
from app.services.jobs import JobKind
from app.services.schedule import Scheduler
from app.store import autostart
from app.store.history import JobStatus
from app.store.settings import Schedule, ScheduleMode
from app.ui.dialogs import NewPassphraseFields, UnlockDialog
from app.ui.wizard import PageId
from tests.gui.conftest import DictSecrets
from tests.gui.helpers import PASSPHRASE, drive_wizard, finish, make_app

Cleanup = list[Callable[[], object]]
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def documents(tmp_path: Path) -> Path:
    root = tmp_path / "home" / "Documents"
    root.mkdir(parents=True, exist_ok=True)
    for i in range(3):
        (root / f"doc{i}.txt").write_text(f"document {i}\n" * 50)
    return root


# -- 1. start at login ------------------------------------------------------------------


def test_wizard_creates_the_login_entry(qtbot: QtBot, tmp_path: Path, cleanup: Cleanup) -> None:
    home = tmp_path / "home"
    secrets = DictSecrets()
    config = AppConfig(
        config_dir=tmp_path / "config",
        cache_dir=tmp_path / "cache",
        log_dir=tmp_path / "log",
        home=home,
        secrets=Secrets(secrets.get, secrets.set, secrets.delete),
        autostart=lambda on: autostart.set_enabled(on, home=home, platform="linux"),
        use_tray=False,
        quit_app=lambda: None,
    )
    app = Keepsake(config)
    cleanup.append(app.shutdown)
    app.start()
    src = documents(tmp_path)
    wiz = drive_wizard(qtbot, app, tmp_path / "vault", [src])
    assert not autostart.is_enabled(home, platform="linux")
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000):
        finish(wiz)
    assert app.service.settings.start_at_login
    assert app.window.settings_page.login.isChecked()
    # The entry Settings claims exists really does, and starts the app minimized.
    entry = home / ".config" / "autostart" / "keepsake.desktop"
    assert autostart.is_enabled(home, platform="linux"), "no autostart entry after the wizard"
    assert "gui --minimized" in entry.read_text()


# -- 2. Back up now survives a wrong passphrase ---------------------------------------------


def _set_up_without_remembering(qtbot: QtBot, tmp_path: Path, cleanup: Cleanup) -> Keepsake:
    app = make_app(qtbot, tmp_path, cleanup, use_tray=False)
    app.start()
    wiz = drive_wizard(qtbot, app, tmp_path / "vault", [documents(tmp_path)])
    wiz.passphrase_page.remember.setChecked(False)
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000) as first:
        finish(wiz)
    assert first.args[0].ok
    assert not app.service.remembered_passphrase()
    with qtbot.waitSignal(app.service.vaults.openedChanged, timeout=10_000):
        app.service.vaults.close()
    assert not app.service.vaults.is_open
    return app


def _answer(qtbot: QtBot, app: Keepsake, passphrase: str, problem_shown: bool = False) -> None:
    def dialog_up() -> None:
        dialog = app.window.unlock_dialog
        assert dialog is not None and dialog.isVisible()
        if problem_shown:
            assert dialog.problem.isVisible() and dialog.problem.text()

    qtbot.waitUntil(dialog_up, timeout=30_000)
    dialog = app.window.unlock_dialog
    assert isinstance(dialog, UnlockDialog)
    dialog.field.setText(passphrase)
    dialog.remember.setChecked(False)
    dialog.accept()


def test_back_up_now_runs_after_a_wrong_then_right_passphrase(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    app = _set_up_without_remembering(qtbot, tmp_path, cleanup)
    backups_before = len(app.history.recent(50, "backup"))
    assert app.service.back_up_now()
    _answer(qtbot, app, "not the passphrase")
    _answer(qtbot, app, PASSPHRASE, problem_shown=True)
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000) as blocker:
        pass
    outcome, record = blocker.args
    assert outcome.kind == "backup" and outcome.ok, outcome.message
    assert record is not None and record.status is JobStatus.OK
    assert len(app.history.recent(50, "backup")) == backups_before + 1


def test_cancelling_the_passphrase_drops_the_waiting_backup(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    app = _set_up_without_remembering(qtbot, tmp_path, cleanup)
    assert app.service.back_up_now()
    qtbot.waitUntil(lambda: app.window.unlock_dialog is not None, timeout=10_000)
    dialog = app.window.unlock_dialog
    assert dialog is not None
    dialog.reject()
    # Unlocking later (e.g. to browse versions) must not start the forgotten backup.
    with qtbot.waitSignal(app.service.vaults.openedChanged, timeout=30_000):
        app.service.unlock(PASSPHRASE, remember=False)
    with qtbot.assertNotEmitted(app.runner.jobStarted, wait=300):
        pass


def test_a_scheduled_backup_waiting_for_the_passphrase_survives_a_wrong_one(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    app = _set_up_without_remembering(qtbot, tmp_path, cleanup)
    app.service._on_backup_due()  # what the scheduler does when the hour comes
    _answer(qtbot, app, "still not it")
    _answer(qtbot, app, PASSPHRASE, problem_shown=True)
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000) as blocker:
        pass
    assert blocker.args[0].kind == "backup" and blocker.args[0].ok


# -- 3. never backed up: no busy loop, the backup starts ----------------------------------------


class MovingClock:
    """A wall clock that moves on by a millisecond every time it is read, as a real
    one does while the scheduler computes."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.reads = 0

    def __call__(self) -> datetime:
        self.reads += 1
        self.now += timedelta(milliseconds=1)
        return self.now

    def monotonic(self) -> float:
        return (self.now - T0).total_seconds()


def _scheduler(clock: MovingClock, busy: list[bool]) -> Scheduler:
    return Scheduler(
        schedule=lambda: Schedule(ScheduleMode.HOURLY),
        last_success=lambda: None,  # never backed up
        is_busy=lambda: busy[0],
        clock=clock,
        monotonic=clock.monotonic,
        check_interval_s=0.05,
        catch_up_delay_s=0,
    )


def test_scheduler_starts_the_first_backup_against_a_moving_clock(qtbot: QtBot) -> None:
    clock = MovingClock(T0)
    busy = [False]
    sched = _scheduler(clock, busy)
    fired: list[int] = []

    def started() -> None:
        fired.append(clock.reads)
        busy[0] = True  # the service started the backup

    sched.backupDue.connect(started)
    with qtbot.waitSignal(sched.backupDue, timeout=2_000):
        sched.start()
    reads = clock.reads
    # While the backup runs, the scheduler looks again at its check interval only.
    qtbot.wait(300)
    assert clock.reads - reads < 60, f"{clock.reads - reads} clock reads in 0.3 s: a busy loop"
    assert len(fired) == 1
    sched.stop()


def test_scheduler_does_not_spin_while_a_restore_runs(qtbot: QtBot) -> None:
    clock = MovingClock(T0)
    busy = [True]  # "Restore from an existing backup": the restore runs first
    sched = _scheduler(clock, busy)
    sched.start()
    reads = clock.reads
    qtbot.wait(300)
    QApplication.processEvents()
    assert clock.reads - reads < 60, f"{clock.reads - reads} clock reads in 0.3 s: a busy loop"
    busy[0] = False  # the restore ended: the first backup follows
    with qtbot.waitSignal(sched.backupDue, timeout=2_000):
        sched.replan()
    sched.stop()


# -- 8. smaller things ---------------------------------------------------------------------


def test_a_passphrase_of_spaces_is_refused(qtbot: QtBot) -> None:
    fields = NewPassphraseFields()
    qtbot.addWidget(fields)
    for bad in (" " * 10, " " * 30, "a" + " " * 12, "abababababab"):
        fields.first.setText(bad)
        fields.second.setText(bad)
        assert not fields.valid(), repr(bad)
        assert fields.hint.text().startswith("Too")
    fields.first.setText(PASSPHRASE)
    fields.second.setText(PASSPHRASE)
    assert fields.valid()


def test_gui_errors_give_no_command_line_advice(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    app = make_app(qtbot, tmp_path, cleanup, use_tray=False)
    app.start()
    empty = tmp_path / "not-a-vault"
    empty.mkdir()
    wiz = app.show_wizard()
    wiz.welcome_page.restore.setChecked(True)
    wiz.next()
    wiz.storage_page.path.setText(str(empty))
    wiz.next()
    assert wiz.currentId() == PageId.UNLOCK
    wiz.unlock_page.secret.setText(PASSPHRASE)
    wiz.next()
    page = wiz.unlock_page
    qtbot.waitUntil(lambda: not page.opening and bool(page.status.text()), timeout=30_000)
    text = page.status.text()
    assert "no Keepsake vault" in text
    assert "keepsake init" not in text and "'keepsake" not in text, text


def test_restore_shows_the_download_icon_not_the_upload_one(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    app = make_app(qtbot, tmp_path, cleanup)
    app.start()
    wiz = drive_wizard(qtbot, app, tmp_path / "vault", [documents(tmp_path)])
    backup_icons: list[str] = []
    restore_icons: list[str] = []
    tray = app.tray
    assert tray is not None

    def record(_: object) -> None:
        job = app.runner.current_kind
        if job is JobKind.BACKUP:
            backup_icons.append(tray.icon_name)
        elif job is JobKind.RESTORE:
            restore_icons.append(tray.icon_name)

    app.service.statusChanged.connect(record)
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000):
        finish(wiz)
    target = tmp_path / "restored"
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000) as blocker:
        app.service.vaults.restore("latest", str(target))
    assert blocker.args[0].ok, blocker.args[0].message
    assert backup_icons and set(backup_icons) == {"running"}
    assert restore_icons and set(restore_icons) == {"restoring"}


def test_window_size_and_position_are_remembered(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    app = make_app(qtbot, tmp_path, cleanup, use_tray=False)
    app.window.show()
    app.window.setGeometry(QRect(50, 40, 740, 530))
    qtbot.waitUntil(lambda: app.window.width() == 740)
    app.shutdown()
    again = make_app(qtbot, tmp_path, cleanup, use_tray=False)
    again.window.show()
    assert (again.window.width(), again.window.height()) == (740, 530)
    assert (again.window.geometry().x(), again.window.geometry().y()) == (50, 40)
