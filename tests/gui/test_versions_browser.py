"""The version browser with the real engine and a real vault on disk, opened the way
``keepsake gui --browse REPO`` opens it (``app.main.browse_window``)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QModelIndex, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QCheckBox, QLineEdit, QSlider, QWidget
from pytestqt.qtbot import QtBot

from app.core.browse import ROOT_NODE, BrowseEntry, ConflictChoice, History, RestorePlan
from app.core.models import Change, FileVersion
from app.engine.vault import Vault
from app.main import browse_window
from app.storage.local import LocalStorage
from app.ui.browse_window import BrowseWindow
from app.ui.versions import VersionsPage
from app.ui.versions.history_model import HistoryModel
from tests.browse.vaultdata import PASSPHRASE, HistoryVault, build_history_vault

Cleanup = list[Callable[[], object]]
WAIT = 20_000


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> HistoryVault:
    root = tmp_path_factory.mktemp("browser")
    return build_history_vault(root, root / "build-cache")


def open_page(qtbot: QtBot, history: HistoryVault, cleanup: Cleanup) -> VersionsPage:
    window = browse_window(str(history.repo), PASSPHRASE)
    assert isinstance(window, BrowseWindow) and window.isVisible()
    cleanup.append(window.close)
    page = window.findChild(QWidget, "versionsPage")
    assert isinstance(page, VersionsPage)
    qtbot.waitUntil(lambda: page.browser.ready and page.model.rowCount() > 0, timeout=WAIT)
    return page


def load(qtbot: QtBot, page: VersionsPage, index: QModelIndex) -> None:
    """Fetch every row of the folder at ``index`` (root when invalid)."""
    node = ROOT_NODE if not index.isValid() else page.model.entry(index).node  # type: ignore[union-attr]
    if page.model.canFetchMore(index):
        page.model.fetchMore(index)
    qtbot.waitUntil(lambda: page.model.is_loaded(node), timeout=WAIT)
    page.model.fetch_all(index)


def shown(qtbot: QtBot, page: VersionsPage) -> dict[str, BrowseEntry]:
    """Every row of the tree's current view, by path (all folders loaded)."""
    out: dict[str, BrowseEntry] = {}
    stack = [QModelIndex()]
    while stack:
        parent = stack.pop()
        load(qtbot, page, parent)
        for row in range(page.model.rowCount(parent)):
            index = page.model.index(row, 0, parent)
            entry = page.model.entry(index)
            assert entry is not None
            out[entry.path] = entry
            if entry.is_dir:
                stack.append(index)
    return out


def select(qtbot: QtBot, page: VersionsPage, path: Path | str) -> None:
    page.select_path(str(path))

    def selected() -> bool:
        entry = page.selected_entry()
        return entry is not None and entry.path == str(path)

    try:
        qtbot.waitUntil(selected, timeout=WAIT)
    except Exception:
        raise AssertionError(f"not selected; status: {page.status.text()!r}") from None
    qtbot.waitUntil(lambda: page.history_model.rowCount() > 0, timeout=WAIT)


def cli_versions(
    history: HistoryVault,
    path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> list[dict[str, object]]:
    from app.cli import main

    monkeypatch.setenv("KEEPSAKE_PASSWORD", PASSPHRASE)
    capsys.readouterr()
    assert main(["versions", "--repo", str(history.repo), str(path), "--json"]) == 0
    rows: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return rows


def test_object_names(qtbot: QtBot, history: HistoryVault, cleanup: Cleanup) -> None:
    page = open_page(qtbot, history, cleanup)
    assert isinstance(page.findChild(QLineEdit, "versionsSearch"), QLineEdit)
    assert page.findChild(QWidget, "versionsTree") is page.tree
    deleted = page.findChild(QCheckBox, "versionsShowDeleted")
    assert deleted is not None and deleted.isCheckable()
    assert page.findChild(QWidget, "versionsList") is page.list
    assert page.findChild(QWidget, "versionsPreview") is page.preview
    timeline = page.findChild(QSlider, "versionsTimeline")
    assert timeline is not None
    assert (timeline.minimum(), timeline.maximum()) == (0, len(history.snapshots) - 1)
    assert page.findChild(QWidget, "restoreButton") is page.restore_btn


def test_search_then_distinct_versions_as_the_cli_lists_them(
    qtbot: QtBot,
    history: HistoryVault,
    cleanup: Cleanup,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = open_page(qtbot, history, cleanup)
    qtbot.waitUntil(lambda: page.browser.indexed, timeout=WAIT)
    page.search.setText("REPORT")
    qtbot.waitUntil(lambda: page.search_result is not None, timeout=WAIT)
    rows = shown(qtbot, page)
    files = [p for p, e in rows.items() if not e.is_dir]
    assert files == [str(history.report)]  # only the match, with its folders
    select(qtbot, page, history.report)
    expected = [
        r
        for r in reversed(cli_versions(history, history.report, capsys, monkeypatch))
        if r["change"] != "unchanged"
    ]
    got = page.history_model.rows
    assert [(v.snapshot, v.size, v.change.value) for v in got] == [
        (r["snapshot"], r["size"], r["change"]) for r in expected
    ]
    assert [v.change for v in got] == [Change.CHANGED, Change.CHANGED, Change.ADDED]


def test_preview_shows_an_image_and_a_text(
    qtbot: QtBot, history: HistoryVault, cleanup: Cleanup
) -> None:
    page = open_page(qtbot, history, cleanup)
    select(qtbot, page, history.picture)
    qtbot.waitUntil(page.preview.shows_image, timeout=WAIT)
    pixmap = page.preview.image.pixmap()
    colour = pixmap.toImage().pixelColor(pixmap.width() // 2, pixmap.height() // 2)
    assert colour.blue() > 150 and colour.red() < 100  # the newest version is blue
    thumbs = list((Path(os.environ["KEEPSAKE_CACHE_DIR"])).rglob("previews/*.png"))
    assert thumbs and all((t.stat().st_mode & 0o777) == 0o600 for t in thumbs)
    # the older (red) version
    page.list.setCurrentIndex(page.history_model.index(1, 0))
    qtbot.waitUntil(
        lambda: (
            page.preview.shows_image()
            and page.preview.image.pixmap().toImage().pixelColor(10, 10).red() > 150
        ),
        timeout=WAIT,
    )
    select(qtbot, page, history.report)
    qtbot.waitUntil(lambda: page.preview.currentWidget() is page.preview.text, timeout=WAIT)
    assert page.preview.text.toPlainText().splitlines()[0] == "Quarterly report"
    assert page.preview.text.toPlainText().splitlines()[1] == "final"


def test_drag_out_gives_the_chosen_versions_bytes(
    qtbot: QtBot, history: HistoryVault, cleanup: Cleanup
) -> None:
    page = open_page(qtbot, history, cleanup)
    select(qtbot, page, history.report)
    versions = page.history_model.rows
    for row, content in enumerate(reversed(history.report_versions)):
        index = page.history_model.index(row, 0)
        data = page.history_model.mimeData([index])
        (url,) = data.urls()
        assert url.isLocalFile()
        staged = Path(url.toLocalFile())
        assert staged.name == "report.txt"
        assert staged.read_bytes() == content, versions[row]
    # from the tree, as of the timeline's moment: the oldest backup
    page.show_backup(0)
    rows = shown(qtbot, page)
    index = page.model.index_of(rows[str(history.report)].node)
    (url,) = page.model.mimeData([index]).urls()
    assert Path(url.toLocalFile()).read_bytes() == history.report_versions[0]
    folder = page.model.index_of(rows[str(history.source / "Documents")].node)
    (url,) = page.model.mimeData([folder]).urls()
    assert sorted(os.listdir(url.toLocalFile())) == ["report.txt"]  # new.txt came later


def test_a_dropped_file_is_selected(qtbot: QtBot, history: HistoryVault, cleanup: Cleanup) -> None:
    page = open_page(qtbot, history, cleanup)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(history.picture))])
    enter = QDragEnterEvent(
        QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(page, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(page, drop)

    def selected() -> bool:
        entry = page.selected_entry()
        return entry is not None and entry.path == str(history.picture)

    qtbot.waitUntil(selected, timeout=WAIT)
    assert page.tree.currentIndex().isValid()
    qtbot.waitUntil(lambda: page.history_model.rowCount() == 2, timeout=WAIT)


def test_deleted_files_appear_only_with_the_toggle(
    qtbot: QtBot, history: HistoryVault, cleanup: Cleanup
) -> None:
    page = open_page(qtbot, history, cleanup)
    assert str(history.notes) not in shown(qtbot, page)
    page.show_deleted.setChecked(True)
    rows = shown(qtbot, page)
    notes = rows[str(history.notes)]
    assert notes.deleted and notes.deleted_at == history.snapshots[3].time
    index = page.model.index_of(notes.node)
    assert page.model.data(index, Qt.ItemDataRole.ForegroundRole) is not None  # greyed
    modified = page.model.data(index.siblingAtColumn(2))
    assert modified.startswith("Deleted")
    # The whole "Deleted <date> <time>" fits its column, not cut to "Deleted 02 Dec 20…".
    width = page.tree.fontMetrics().horizontalAdvance(modified)
    assert page.tree.header().sectionSize(2) >= width
    page.show_deleted.setChecked(False)
    assert str(history.notes) not in shown(qtbot, page)


def test_timeline_shows_exactly_each_backup(
    qtbot: QtBot, history: HistoryVault, cleanup: Cleanup, tmp_path: Path
) -> None:
    page = open_page(qtbot, history, cleanup)
    vault = Vault.open(
        LocalStorage(str(history.repo)), passphrase=PASSPHRASE, cache_root=tmp_path / "c"
    )
    try:
        for i, snap in enumerate(vault.snapshots()):
            page.show_backup(i)
            assert page.timeline.value() == i
            expected = {e.path: (e.type.value, e.size) for e in vault.walk(snap.id)}
            got = {
                p: (e.type.value, e.size if not e.is_dir else expected.get(p, ("", 0))[1])
                for p, e in shown(qtbot, page).items()
            }
            assert got == expected, i
    finally:
        vault.close()


def test_restore_to_the_original_place_asks_when_different(
    qtbot: QtBot, history: HistoryVault, cleanup: Cleanup
) -> None:
    page = open_page(qtbot, history, cleanup)
    select(qtbot, page, history.report)
    page.list.setCurrentIndex(page.history_model.index(2, 0))  # the first version
    oldest = history.report_versions[0]
    asked: list[RestorePlan] = []
    local = b"a local edit made after the last backup\n"

    def run(choice: ConflictChoice) -> None:
        history.report.write_bytes(local)
        asked.clear()

        def answer(plan: RestorePlan, keep: str) -> ConflictChoice:
            asked.append(plan)
            return choice

        page.ask_conflict = answer
        if choice is ConflictChoice.CANCEL:
            page.restore_btn.click()
            qtbot.waitUntil(lambda: "cancelled" in page.status.text(), timeout=WAIT)
        else:
            with qtbot.waitSignal(page.browser.restoreFinished, timeout=WAIT) as blocker:
                page.restore_btn.click()
            assert blocker.args[0].ok, blocker.args[0].message
        assert len(asked) == 1 and asked[0].conflict

    run(ConflictChoice.CANCEL)
    assert history.report.read_bytes() == local
    run(ConflictChoice.KEEP_BOTH)
    assert history.report.read_bytes() == local
    copies = [p for p in history.report.parent.iterdir() if "(restored " in p.name]
    assert len(copies) == 1 and copies[0].suffix == ".txt"
    assert copies[0].read_bytes() == oldest
    copies[0].unlink()
    run(ConflictChoice.REPLACE)
    assert history.report.read_bytes() == oldest
    # the same version again: nothing to ask, nothing to do
    page.ask_conflict = lambda plan, keep: pytest.fail("asked about an identical file")
    page.restore_btn.click()
    qtbot.waitUntil(lambda: "nothing to do" in page.status.text(), timeout=WAIT)
    history.report.write_bytes(history.report_versions[-1])


def test_restore_to_puts_it_directly_in_the_chosen_folder(
    qtbot: QtBot, history: HistoryVault, cleanup: Cleanup, tmp_path: Path
) -> None:
    page = open_page(qtbot, history, cleanup)
    shown_after: list[str] = []
    page.offer_show = shown_after.append
    out = tmp_path / "chosen"
    out.mkdir()
    page.choose_folder = lambda: str(out)
    select(qtbot, page, history.report)
    page.list.setCurrentIndex(page.history_model.index(1, 0))  # the second version
    with qtbot.waitSignal(page.browser.restoreFinished, timeout=WAIT) as blocker:
        page.restore_to_btn.click()
    assert blocker.args[0].ok, blocker.args[0].message
    assert sorted(os.listdir(out)) == ["report.txt"]
    assert (out / "report.txt").read_bytes() == history.report_versions[1]
    assert shown_after == [str(out / "report.txt")]
    assert str(out / "report.txt") in page.status.text()
    # a folder, as of the oldest backup
    page.show_backup(0)
    rows = shown(qtbot, page)
    documents = page.model.index_of(rows[str(history.source / "Documents")].node)
    page.tree.setCurrentIndex(documents)
    qtbot.waitUntil(lambda: page.history_model.rowCount() > 0, timeout=WAIT)
    with qtbot.waitSignal(page.browser.restoreFinished, timeout=WAIT) as blocker:
        page.restore_to_btn.click()
    assert blocker.args[0].ok, blocker.args[0].message
    assert sorted(os.listdir(out)) == ["Documents", "report.txt"]
    assert os.listdir(out / "Documents") == ["report.txt"]
    assert (out / "Documents" / "report.txt").read_bytes() == history.report_versions[0]


def test_check_backup_says_healthy_or_names_the_damage(
    qtbot: QtBot, history: HistoryVault, cleanup: Cleanup, tmp_path: Path
) -> None:
    import shutil

    page = open_page(qtbot, history, cleanup)
    assert page.check_btn.isEnabled()
    dialog = page.check_backup()
    assert dialog.objectName() == "checkDialog"
    with qtbot.waitSignal(page.browser.vaults.runner.jobFinished, timeout=WAIT):
        dialog.start_btn.click()
    assert dialog.check_result is not None and dialog.check_result.ok
    assert "healthy" in dialog.summary.text()
    dialog.close()
    # a copy of the vault with every data pack damaged, read in full
    damaged = tmp_path / "damaged"
    shutil.copytree(history.repo, damaged)
    for pack in (damaged / "data").rglob("*"):
        if pack.is_file():
            raw = bytearray(pack.read_bytes())
            raw[len(raw) // 2] ^= 0xFF
            pack.write_bytes(bytes(raw))
    window = browse_window(str(damaged), PASSPHRASE)
    cleanup.append(window.close)
    other = window.findChild(VersionsPage, "versionsPage")
    assert isinstance(other, VersionsPage)
    qtbot.waitUntil(lambda: other.browser.vaults.is_open, timeout=WAIT)
    dialog = other.check_backup()
    dialog.read_data.setChecked(True)
    with qtbot.waitSignal(other.browser.vaults.runner.jobFinished, timeout=WAIT):
        dialog.start_btn.click()
    assert dialog.check_result is not None and not dialog.check_result.ok
    assert dialog.summary.text().startswith("Damage found")
    assert dialog.details.isVisibleTo(dialog) and dialog.details.toPlainText()


def test_gui_browse_flag_takes_repo_and_password_from_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import app.main
    from app.cli import main

    seen: list[tuple[str, str]] = []

    def fake_run_browse(repo: str, passphrase: str) -> int:
        seen.append((repo, passphrase))
        return 0

    monkeypatch.setattr(app.main, "run_browse", fake_run_browse)
    monkeypatch.delenv("KEEPSAKE_REPO", raising=False)
    monkeypatch.setenv("KEEPSAKE_PASSWORD", "from the environment")
    assert main(["gui", "--browse", str(tmp_path)]) == 0
    monkeypatch.setenv("KEEPSAKE_REPO", "dropbox:Family")
    assert main(["gui", "--browse"]) == 0
    assert seen == [
        (str(tmp_path), "from the environment"),
        ("dropbox:Family", "from the environment"),
    ]


def test_every_history_column_shows_at_the_main_windows_size(
    qtbot: QtBot, history: HistoryVault, cleanup: Cleanup
) -> None:
    """The version list sat beside the tree, its Modified and What changed columns
    behind a horizontal scroll bar; now it spans the page under the tree and preview."""
    page = open_page(qtbot, history, cleanup)
    page.window().resize(700, 600)  # the page's room in the main window (880 x 600)
    select(qtbot, page, history.report)
    QApplication.processEvents()
    header = page.list.header()
    metrics = page.list.fontMetrics()
    assert not page.list.horizontalScrollBar().isVisible()
    assert header.length() <= page.list.viewport().width()
    for column in range(page.history_model.columnCount()):
        title = str(page.history_model.headerData(column, Qt.Orientation.Horizontal))
        widest = max(
            [metrics.horizontalAdvance(title)]
            + [
                metrics.horizontalAdvance(str(page.history_model.index(row, column).data()))
                for row in range(page.history_model.rowCount())
            ]
        )
        assert header.sectionSize(column) >= widest, title


def test_a_selected_path_brings_its_versions_in_the_same_trip(
    qtbot: QtBot,
    history: HistoryVault,
    cleanup: Cleanup,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Selecting a path (a drop, the bench's probe) shows its distinct versions from the
    answer that locates it: no second question once the tree has revealed the row."""
    page = open_page(qtbot, history, cleanup)
    asked: list[int] = []
    ask = page.browser.history

    def counting(node: int, done: Callable[..., None]) -> None:
        asked.append(node)
        ask(node, done)

    monkeypatch.setattr(page.browser, "history", counting)
    select(qtbot, page, history.report)
    expected = [
        (r["snapshot"], r["size"], r["change"])
        for r in reversed(cli_versions(history, history.report, capsys, monkeypatch))
        if r["change"] != "unchanged"
    ]
    got = [(v.snapshot, v.size, v.change.value) for v in page.history_model.rows]
    assert got == expected
    assert asked == []
    assert page.selected_version() == page.history_model.rows[0]
    page.tree.setCurrentIndex(page.model.index_of(page.selected_entry().parent))  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: asked != [], timeout=WAIT)  # another row: asked as before


def test_a_selected_path_opens_its_folders_from_one_answer(
    qtbot: QtBot, history: HistoryVault, cleanup: Cleanup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folders on the way to a selected path come with the answer that locates it:
    the tree opens to it without a listing per folder."""
    page = open_page(qtbot, history, cleanup)
    model = page.model
    qtbot.waitUntil(lambda: all(model.is_loaded(n) for n in model.requested_nodes()), timeout=WAIT)
    listed: list[int] = []
    ask = page.browser.list_children

    def counting(node: int, *args: object, **kwargs: object) -> None:
        listed.append(node)
        ask(node, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(page.browser, "list_children", counting)
    select(qtbot, page, history.report)
    assert listed == []
    index = model.index_of(page.selected_entry().node)  # type: ignore[union-attr]
    assert index.isValid() and page.tree.currentIndex().internalId() == index.internalId()
    parent = index.parent()
    while parent.isValid():
        assert page.tree.isExpanded(parent)
        parent = parent.parent()


def test_backups_made_in_the_same_minute_read_apart(qtbot: QtBot) -> None:
    """Two backups a few seconds apart showed the same 'Backed up' minute: they now
    show their seconds, and only they do."""
    base = datetime(2026, 12, 2, 12, 11, 5, tzinfo=UTC)
    versions = tuple(
        FileVersion(f"{i:064x}", when, 10 + i, when, change)
        for i, (when, change) in enumerate(
            (
                (base - timedelta(hours=1), Change.ADDED),
                (base, Change.CHANGED),
                (base + timedelta(seconds=40), Change.CHANGED),
            )
        )
    )
    model = HistoryModel(lambda _: [])
    model.set_history(History(1, "/notes.txt", False, versions))
    shown = [str(model.index(row, 0).data()) for row in range(model.rowCount())]
    assert len(set(shown)) == 3, shown  # newest first
    assert [text.count(":") for text in shown] == [2, 2, 1], shown  # seconds only if needed
