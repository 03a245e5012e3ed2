"""End to end with the real engine: wizard -> first backup into a local vault, then
Back up now, Pause/Resume, Cancel, a failing backup, and the GUI thread's stalls."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QElapsedTimer, QTimer
from pytestqt.qtbot import QtBot

from app.core.events import Progress
from app.main import Keepsake
from app.services.backups import State
from app.services.jobs import Outcome
from app.store.history import JobStatus
from app.ui.wizard import PageId
from tests.gui.conftest import DictSecrets
from tests.gui.helpers import drive_wizard, finish, make_app
from tests.schedstat import GapMeter

Cleanup = list[Callable[[], object]]
MiB = 1024 * 1024


@pytest.fixture(scope="session")
def big_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Incompressible files, enough that a backup runs for a noticeable time."""
    root = tmp_path_factory.mktemp("src") / "Pictures"
    (root / "2024").mkdir(parents=True)
    for i in range(24):
        (root / "2024" / f"IMG_{i:04}.jpg").write_bytes(os.urandom(4 * MiB))
    (root / "notes.txt").write_text("hello\n" * 100)
    return root


def small_source(tmp_path: Path) -> Path:
    root = tmp_path / "home" / "Documents"
    root.mkdir(parents=True)
    for i in range(5):
        (root / f"doc{i}.txt").write_text(f"document {i}\n" * 200)
    return root


def set_up(qtbot: QtBot, tmp_path: Path, cleanup: Cleanup, folders: list[Path]) -> Keepsake:
    """The wizard's new-backup path, to the end of the first backup."""
    app = make_app(qtbot, tmp_path, cleanup)
    app.start()
    wiz = drive_wizard(qtbot, app, tmp_path / "vault", folders)
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000) as blocker:
        finish(wiz)
    outcome, record = blocker.args
    assert outcome.ok, outcome.message
    assert record.status is JobStatus.OK
    return app


def test_wizard_first_backup_then_back_up_now(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    src = small_source(tmp_path)
    app = set_up(qtbot, tmp_path, cleanup, [src])
    status = app.service.status()
    assert status.state is State.UP_TO_DATE
    assert status.last_success is not None and status.last_success.files_new == 5
    assert app.tray is not None and app.tray.state is State.UP_TO_DATE
    assert app.window.isVisible()
    assert app.service.settings.is_set_up
    # the passphrase went to the (test) keyring, keyed as the CLI reads it
    assert app.service.remembered_passphrase()
    # Back up now from the overview button: one changed file
    (src / "doc1.txt").write_text("changed\n")
    with qtbot.waitSignal(app.service.jobFinished, timeout=30_000) as blocker:
        app.window.overview.backup_btn.click()
    outcome, record = blocker.args
    assert outcome.ok and record.files_changed == 1
    # Versions: the timeline spans both backups; doc1.txt has two distinct versions
    page = app.window.versions
    qtbot.waitUntil(lambda: page.browser.ready and page.timeline.maximum() == 1, timeout=10_000)
    page.select_path(str(src / "doc1.txt"))
    qtbot.waitUntil(lambda: page.history_model.rowCount() == 2, timeout=10_000)
    assert [v.change.value for v in page.history_model.rows] == ["changed", "added"]
    # the activity log shows both runs
    assert app.window.activity.tree.topLevelItemCount() == 2
    # retention (normally a little after a backup, at most daily) runs as a job
    with qtbot.waitSignal(app.service.jobFinished, timeout=30_000) as blocker:
        app.service.apply_retention_now()
    outcome, record = blocker.args
    assert outcome.kind == "forget" and outcome.ok, outcome.message
    assert outcome.result == 0  # two fresh backups are both kept
    assert app.service.settings.last_retention_run is not None


def test_pause_resume_and_cancel(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup, big_source: Path
) -> None:
    src = small_source(tmp_path)
    app = set_up(qtbot, tmp_path, cleanup, [src])
    app.service.update_settings(app.service.settings.with_(folders=(str(big_source),)))
    overview = app.window.overview
    # Pause as soon as it starts: the state says paused and nothing finishes.
    with qtbot.waitSignal(app.service.progress, timeout=10_000):
        assert app.service.back_up_now()
    with qtbot.waitSignal(app.runner.pausedChanged, timeout=1000):
        overview.pause_btn.click()
    assert app.service.status().state is State.PAUSED
    assert app.tray is not None and app.tray.state is State.PAUSED
    assert overview.resume_btn.isVisibleTo(app.window)
    assert not overview.pause_btn.isVisibleTo(app.window)
    with qtbot.assertNotEmitted(app.service.jobFinished, wait=500):
        pass
    # Resume: it finishes.
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000) as blocker:
        overview.resume_btn.click()
    assert blocker.args[0].ok
    assert app.service.status().state is State.UP_TO_DATE
    # Cancel: takes effect within a second, recorded as cancelled.
    for f in list((big_source / "2024").iterdir())[:12]:
        f.write_bytes(os.urandom(4 * MiB))
    with qtbot.waitSignal(app.service.progress, timeout=10_000):
        assert app.service.back_up_now()
    clock = QElapsedTimer()
    clock.start()
    with qtbot.waitSignal(app.service.jobFinished, timeout=5_000) as blocker:
        overview.cancel_btn.click()
    assert clock.elapsed() < 1000
    outcome, record = blocker.args
    assert outcome.outcome is Outcome.CANCELLED
    assert record.status is JobStatus.CANCELLED
    # a cancelled run is not a failure
    assert app.service.status().state is State.UP_TO_DATE


def test_failing_backup_shows_a_clear_message(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    src = small_source(tmp_path)
    app = set_up(qtbot, tmp_path, cleanup, [src])
    shutil.rmtree(tmp_path / "vault")
    with qtbot.waitSignal(app.service.notify, timeout=30_000) as note:
        app.service.back_up_now()
    title, message, level, page = note.args
    assert (title, level, page) == ("Backup location not found", "error", "Overview")
    status = app.service.status()
    assert status.state is State.ERROR
    assert app.tray is not None and app.tray.state is State.ERROR
    overview = app.window.overview
    assert overview.headline.text() == "Last backup failed"
    for text in (message, overview.detail.text(), status.detail):
        assert text and "Traceback" not in text and 'File "' not in text
    item = app.window.activity.tree.topLevelItem(0)
    assert item is not None and "Traceback" not in item.text(3)


def _longest_stall(qtbot: QtBot, app: Keepsake) -> tuple[float, list[tuple[float, str]]]:
    """Run one backup with a 10 ms QTimer heartbeat; the longest gap between beats
    that our code caused: each gap less the time the machine kept the process from
    running (``tests.schedstat``; nothing is taken off outside Linux or when idle)."""
    gaps: list[float] = []
    marks: list[tuple[float, str]] = []
    t0 = time.perf_counter()
    last = [t0]
    meter = GapMeter()

    def beat() -> None:
        now = time.perf_counter()
        gap = now - last[0]
        code = meter.code_part(gap * 1000) / 1000
        gaps.append(code)
        if gap > 0.05:
            marks.append((round(last[0] - t0, 3), f"gap {gap:.3f} (code's part {code:.3f})"))
        last[0] = now

    def mark(what: str) -> None:
        marks.append((round(time.perf_counter() - t0, 3), what))

    heartbeat = QTimer()
    heartbeat.setInterval(10)
    heartbeat.timeout.connect(beat)
    progress: list[Progress] = []
    app.service.progress.connect(progress.append)
    app.service.progress.connect(lambda p: mark(f"progress {p.phase.value}"))
    heartbeat.start()
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000) as blocker:
        last[0] = time.perf_counter()
        meter.code_part(0.0)  # start counting run-queue waits from here
        app.service.back_up_now()
    heartbeat.stop()
    assert blocker.args[0].ok, blocker.args[0].message
    assert progress, "progress reached the GUI"
    assert len(gaps) > 5
    return max(gaps), sorted(marks)


def test_gui_thread_never_stalls_during_backup(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup, big_source: Path
) -> None:
    """The GUI thread's longest stall during a backup stays under 100 ms.

    Each attempt backs up new data. Other processes on a busy 2-core CI machine can
    starve the whole process for a moment: the time the kernel kept our threads
    waiting for a CPU is taken off each gap (``tests.schedstat``), up to three
    attempts are made and the best must pass; every attempt's timeline is reported
    on failure.
    """
    src = small_source(tmp_path)
    app = set_up(qtbot, tmp_path, cleanup, [src])
    app.service.update_settings(app.service.settings.with_(folders=(str(big_source),)))
    attempts = []
    for attempt in range(3):
        if attempt:
            for f in list((big_source / "2024").iterdir())[:8]:
                f.write_bytes(os.urandom(4 * MiB))
        stall, marks = _longest_stall(qtbot, app)
        attempts.append((stall, marks))
        if stall < 0.100:
            break
    best = min(s for s, _ in attempts)
    assert best < 0.100, f"GUI thread stalled {best * 1000:.0f} ms: {attempts}"


def test_new_computer_restores_everything_with_the_recovery_key(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    src = small_source(tmp_path)
    original = {p.name: p.read_bytes() for p in src.iterdir()}
    first = make_app(qtbot, tmp_path, cleanup)
    first.start()
    wiz = drive_wizard(qtbot, first, tmp_path / "vault", [src])
    key = wiz.recovery_page.recovery_key()
    with qtbot.waitSignal(first.service.jobFinished, timeout=60_000):
        finish(wiz)
    first.shutdown()
    shutil.rmtree(src)  # the laptop is gone

    # A new computer: empty settings, cache and keyring.
    new = make_app(qtbot, tmp_path / "new", cleanup)
    new.start()
    wiz = new.show_wizard()
    wiz.welcome_page.restore.setChecked(True)
    wiz.next()
    wiz.storage_page.path.setText(str(tmp_path / "vault"))
    wiz.next()
    page = wiz.unlock_page
    page.use_key.setChecked(True)
    page.secret.setText("not the key")
    wiz.next()  # opens asynchronously and stays on the page when it fails
    qtbot.waitUntil(lambda: not page.opening, timeout=30_000)
    assert page.opened is None and page.status.text()
    assert "Traceback" not in page.status.text()
    page.secret.setText(key)
    wiz.next()
    qtbot.waitUntil(lambda: wiz.currentId() == PageId.FOLDERS, timeout=30_000)
    # the folders of the latest backup are suggested for this computer too
    qtbot.waitUntil(lambda: wiz.folders_page.editor.folders() == [str(src)], timeout=10_000)
    wiz.next()
    wiz.next()
    assert wiz.currentId() == PageId.DONE and wiz.done_page.restore_all.isChecked()
    with qtbot.waitSignal(new.service.jobFinished, timeout=60_000) as blocker:
        finish(wiz)
    outcome, record = blocker.args
    assert outcome.kind == "restore" and outcome.ok, outcome.message
    assert {p.name: p.read_bytes() for p in src.iterdir()} == original
    assert new.service.settings.is_set_up


def test_drive_missing_at_start_is_a_failed_backup_not_a_passphrase_prompt(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    src = small_source(tmp_path)
    secrets = DictSecrets()
    first = make_app(qtbot, tmp_path, cleanup, secrets=secrets)
    first.start()
    wiz = drive_wizard(qtbot, first, tmp_path / "vault", [src])
    with qtbot.waitSignal(first.service.jobFinished, timeout=60_000):
        finish(wiz)
    first.shutdown()
    (tmp_path / "vault").rename(tmp_path / "unplugged")
    # Next session: same settings and keyring, the drive is not there.
    app = make_app(qtbot, tmp_path, cleanup, secrets=secrets)
    asked: list[str] = []
    app.service.passphraseNeeded.connect(asked.append)
    app.start()
    with qtbot.waitSignal(app.service.jobFinished, timeout=30_000) as blocker:
        app.service.back_up_now()
    outcome, record = blocker.args
    assert outcome.outcome is Outcome.FAILED and record.status is JobStatus.FAILED
    assert not asked
    status = app.service.status()
    assert status.state is State.ERROR
    assert "Traceback" not in status.detail and status.detail
