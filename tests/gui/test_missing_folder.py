"""Issue 12 item 7 with the real engine: a chosen folder renamed away is named on the
Overview, in the tray and on the Folders page (with Locate… and Remove), not counted
as "1 file could not be read"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytestqt.qtbot import QtBot

from app.main import Keepsake
from app.services.backups import State
from app.store.history import JobStatus
from tests.gui.helpers import drive_wizard, finish, make_app

Cleanup = list[Callable[[], object]]


def _two_folders(tmp_path: Path) -> tuple[Path, Path]:
    docs = tmp_path / "home" / "Documents"
    pics = tmp_path / "home" / "Pictures"
    for folder, name in ((docs, "a.txt"), (pics, "b.jpg")):
        folder.mkdir(parents=True)
        (folder / name).write_text(f"{name}\n" * 100)
    return docs, pics


def _set_up(qtbot: QtBot, tmp_path: Path, cleanup: Cleanup, folders: list[Path]) -> Keepsake:
    app = make_app(qtbot, tmp_path, cleanup)
    app.start()
    wiz = drive_wizard(qtbot, app, tmp_path / "vault", folders)
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000) as blocker:
        finish(wiz)
    assert blocker.args[0].ok
    return app


def test_a_missing_folder_is_named_and_can_be_located_or_removed(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    docs, pics = _two_folders(tmp_path)
    app = _set_up(qtbot, tmp_path, cleanup, [docs, pics])
    moved = pics.with_name("Pictures (old laptop)")
    pics.rename(moved)

    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000) as blocker:
        app.window.overview.backup_btn.click()
    outcome, record = blocker.args
    assert outcome.ok
    assert record.status is JobStatus.WARNINGS
    assert "Pictures" in record.message and "issing" in record.message
    assert "could not be read" not in record.message

    status = app.service.status()
    assert status.state is State.WARNING
    assert status.headline == "A folder is missing"
    overview = app.window.overview
    assert str(pics) in overview.detail.text() and overview.detail.isVisible()
    assert "1 file" not in overview.last.text()
    assert app.tray is not None and str(pics) in app.tray.tooltip()

    page = app.window.folders
    assert page.is_marked_missing(str(pics))
    assert not page.is_marked_missing(str(docs))
    assert [row.folder for row in page.missing_rows] == [str(pics)]
    row = page.missing_rows[0]
    assert row.locate.isVisibleTo(page) and row.remove.isVisibleTo(page)

    # Locate…: the folder is backed up from where it is now.
    page.choose_folder = lambda _old: str(moved)
    row.locate.click()
    assert app.service.settings.folders == (str(docs), str(moved))
    assert page.missing_rows == []
    assert app.service.status().state is not State.WARNING or "missing" not in (
        app.service.status().headline
    )
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000) as blocker:
        app.window.overview.backup_btn.click()
    assert blocker.args[1].status is JobStatus.OK
    assert app.service.status().state is State.UP_TO_DATE

    # Remove: a folder deleted for good stops being backed up.
    for f in docs.iterdir():
        f.unlink()
    docs.rmdir()
    app.window.overview.show_status(app.service.status())
    page.mark_missing()
    assert [r.folder for r in page.missing_rows] == [str(docs)]
    page.missing_rows[0].remove.click()
    folders: tuple[str, ...] = app.service.settings.folders  # not the narrowed pair above
    assert folders == (str(moved),)
    assert app.service.status().state is State.UP_TO_DATE
