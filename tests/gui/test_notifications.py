"""Issue 12 item 11 with the real engine: the notifications a desktop user expects
(first backup done, failure with its reason, no success for N days, the backup's
location or a folder missing), each opening the page it is about when clicked."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pytestqt.qtbot import QtBot

from app.main import Keepsake
from tests.gui.helpers import drive_wizard, finish, make_app

Cleanup = list[Callable[[], object]]
Note = tuple[str, str, str, str]


class Clock:
    def __init__(self) -> None:
        self.shift = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift


def _set_up(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup, clock: Clock
) -> tuple[Keepsake, list[Note], Path]:
    src = tmp_path / "home" / "Documents"
    src.mkdir(parents=True)
    (src / "a.txt").write_text("a\n" * 100)
    app = make_app(qtbot, tmp_path, cleanup, clock=clock)
    notes: list[Note] = []
    app.service.notify.connect(lambda *args: notes.append(args))
    app.start()
    wiz = drive_wizard(qtbot, app, tmp_path / "vault", [src])
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000):
        finish(wiz)
    return app, notes, src


def test_first_backup_failure_and_missing_location_notify(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    app, notes, src = _set_up(qtbot, tmp_path, cleanup, Clock())
    assert notes == [
        (
            "Your first backup is complete",
            "Keepsake will now keep your files backed up automatically.",
            "info",
            "Overview",
        )
    ]
    # The second one is not "first" any more.
    notes.clear()
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000):
        app.service.back_up_now()
    assert notes == []
    # A folder disappears: said by name, clicking opens Folders.
    moved = src.rename(src.with_name("Docs"))
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000):
        app.service.back_up_now()
    assert [(n[0], n[3]) for n in notes] == [("A folder is missing", "Folders")]
    assert str(src) in notes[0][1]
    moved.rename(src)
    # The drive holding the backup is gone.
    notes.clear()
    shutil.rmtree(tmp_path / "vault")
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000):
        app.service.back_up_now()
    assert len(notes) == 1
    title, message, level, page = notes[0]
    assert (title, level, page) == ("Backup location not found", "error", "Overview")
    assert str(tmp_path / "vault") in message


def test_no_backup_for_days_is_configurable(qtbot: QtBot, tmp_path: Path, cleanup: Cleanup) -> None:
    clock = Clock()
    app, notes, _src = _set_up(qtbot, tmp_path, cleanup, clock)
    notes.clear()
    clock.shift = timedelta(days=4)
    app.window.settings_page.stale_days.setValue(7)  # the user allows a week
    assert app.service.settings.stale_after_days == 7
    app.service.check_stale()
    assert notes == []
    clock.shift = timedelta(days=8)
    app.service.check_stale()
    app.service.check_stale()  # once per stale spell, not every check
    assert [(n[0], n[2], n[3]) for n in notes] == [
        ("Backups are out of date", "warning", "Overview")
    ]
    assert "8 days" in notes[0][1]
    assert app.service.status().headline == "Backups are out of date"


def test_clicking_a_notification_opens_its_page(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    app, _notes, _src = _set_up(qtbot, tmp_path, cleanup, Clock())
    tray = app.tray
    assert tray is not None
    app.window.show_page("Settings")
    app.window.hide()
    app.service.notify.emit("A folder is missing", "Documents …", "warning", "Folders")
    assert tray.last_notification is not None and tray.last_notification[3] == "Folders"
    tray.icon.messageClicked.emit()
    assert app.window.isVisible()
    assert app.window.stack.currentWidget() is app.window.folders
