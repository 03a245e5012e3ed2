"""``keepsake screenshots DIR``: every page of the app, rendered offscreen to PNG
against a demo vault built on the fly in a temporary folder (real engine, real
files, nothing from the user's settings, keyring or home).

Not part of the desktop product (it lived in ``app/ui`` until the UI package was
kept to what users see); it stays in the shipped ``app`` package because
``keepsake screenshots DIR`` is a CLI verb and ``make screenshots`` runs it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QEventLoop, QModelIndex, QRect, QSize, QTimer
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter
from PySide6.QtWidgets import QApplication, QWidget, QWizard

from app.core.events import Phase, Progress
from app.main import AppConfig, Keepsake, make_qapp, refuse_bad_pyside
from app.services import damage
from app.services.backups import Secrets, State, Status
from app.services.damage import DamagedBackup
from app.store.secrets import MemorySecrets
from app.ui.versions import VersionsPage
from app.ui.wizard import PageId

log = logging.getLogger(__name__)

PASSPHRASE = "maple river lantern quietly"
WIZARD_SIZE = QSize(700, 560)
WINDOW_SIZE = QSize(920, 640)


def wait_until(predicate: Callable[[], bool], timeout_ms: int = 60_000) -> bool:
    """Run the event loop until ``predicate()`` holds (checked every 20 ms)."""
    if predicate():
        return True
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(20)

    def check() -> None:
        if predicate():
            loop.quit()

    poll.timeout.connect(check)
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    poll.start()
    deadline.start(timeout_ms)
    loop.exec()
    poll.stop()
    return predicate()


def settle(ms: int = 60) -> None:
    """Let pending layout and paint events run (a short event-loop turn)."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def _photo(path: Path, hue: int, size: tuple[int, int] = (640, 480)) -> None:
    image = QImage(size[0], size[1], QImage.Format.Format_RGB32)
    painter = QPainter(image)
    gradient = QLinearGradient(0, 0, size[0], size[1])
    gradient.setColorAt(0, QColor.fromHsv(hue % 360, 120, 230))
    gradient.setColorAt(1, QColor.fromHsv((hue + 60) % 360, 200, 120))
    painter.fillRect(QRect(0, 0, size[0], size[1]), gradient)
    painter.end()
    image.save(str(path), quality=85)


def make_demo_files(home: Path) -> list[Path]:
    pictures = home / "Pictures"
    documents = home / "Documents"
    for sub in ("2025 Summer holiday", "2026 Garden", "Family"):
        (pictures / sub).mkdir(parents=True, exist_ok=True)
    for i in range(12):
        _photo(pictures / "2025 Summer holiday" / f"IMG_{2301 + i}.jpg", i * 25)
    for i in range(6):
        _photo(pictures / "2026 Garden" / f"IMG_{4410 + i}.jpg", 90 + i * 12)
    _photo(pictures / "Family" / "Grandma's 90th.jpg", 20)
    (documents / "Letters").mkdir(parents=True, exist_ok=True)
    (documents / "Taxes 2025.pdf").write_bytes(os.urandom(180_000))
    (documents / "Recipes.odt").write_bytes(os.urandom(40_000))
    (documents / "Letters" / "To the council.txt").write_text("Dear council,\n" * 200)
    (documents / "Budget.ods").write_bytes(os.urandom(25_000))
    return [pictures, documents]


class Shooter:
    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.written: list[Path] = []

    def shoot(self, widget: QWidget, name: str) -> None:
        settle()
        pixmap = widget.grab()
        path = self.out_dir / f"{name}.png"
        if not pixmap.save(str(path), "PNG"):
            raise OSError(f"could not write {path}")
        self.written.append(path)
        log.info("wrote %s", path)


def render_screenshots(out_dir: str) -> int:
    """``keepsake screenshots DIR``: every page against a demo vault, as PNG files.

    Returns the process exit status: 1, with a sentence on stderr, when anything
    goes wrong (never a traceback for the caller to print).
    """
    if refuse_bad_pyside():
        return 1
    app = make_qapp()
    try:
        return render_all(app, Path(out_dir))
    except Exception as exc:
        log.exception("Screenshots failed")
        print(f"keepsake: screenshots failed: {exc}", file=sys.stderr)
        return 1


DEMO_ROOT = Path(tempfile.gettempdir()) / "keepsake-demo"


@contextlib.contextmanager
def demo_root(root: Path = DEMO_ROOT, *, wait: bool = True) -> Iterator[Path]:
    """An empty ``root`` that only this process uses until the block ends.

    The root is fixed and short so the paths in the pictures read well and stay put
    from one run to the next; a lock file next to it makes concurrent runs (two
    ``make screenshots``, parallel test workers) take turns instead of wiping each
    other's demo vault. With ``wait=False`` a busy root raises ``BlockingIOError``.
    The lock is advisory (``flock``) where the platform has it; elsewhere runs are
    not serialised.
    """
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.with_name(root.name + ".lock"), "a+b") as lock:
        _lock(lock.fileno(), wait)
        try:
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            try:
                yield root
            finally:
                shutil.rmtree(root, ignore_errors=True)
        finally:
            _unlock(lock.fileno())


def _lock(fd: int, wait: bool) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: no flock; one run at a time is up to the caller
        return
    fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)


def _unlock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:
        return
    fcntl.flock(fd, fcntl.LOCK_UN)


def render_all(app: QApplication, out_dir: Path) -> int:
    """Render every page; returns a process exit status."""
    out_dir.mkdir(parents=True, exist_ok=True)
    shooter = Shooter(out_dir)
    with demo_root() as tmp:
        home = tmp / "home" / "ann"
        folders = make_demo_files(home)
        secrets = MemorySecrets()
        config = AppConfig(
            config_dir=tmp / "config",
            cache_dir=tmp / "cache",
            log_dir=tmp / "log",
            home=home,
            secrets=Secrets(secrets.get, secrets.set, secrets.delete),
            autostart=lambda on: None,
            quit_app=lambda: None,
        )
        keepsake = Keepsake(config)
        try:
            _wizard(keepsake, shooter, tmp, home, folders)
            _restore_wizard(shooter, tmp, home)
            _main_window(keepsake, shooter, folders)
            _failure_and_move(keepsake, shooter, tmp)
        finally:
            keepsake.shutdown()
    print(f"{len(shooter.written)} screenshots in {out_dir}")
    return 0


def _wizard(
    keepsake: Keepsake, shooter: Shooter, tmp: Path, home: Path, folders: list[Path]
) -> None:
    wiz = keepsake.show_wizard()
    wiz.resize(WIZARD_SIZE)
    shooter.shoot(wiz, "wizard-1-welcome")
    wiz.next()
    wiz.storage_page.path.setText(str(tmp / "media" / "usb-drive" / "Keepsake Backup"))
    (tmp / "media" / "usb-drive").mkdir(parents=True)
    # The demo's "USB drive" is a folder on the same disk: no same-disk warning here.
    wiz.storage_page.same_disk_note.hide()
    shooter.shoot(wiz, "wizard-2-storage")
    storage = wiz.storage_page
    if storage.s3.isEnabled():  # the S3 page, filled in (not tested: no server here)
        storage.s3.setChecked(True)
        wiz.next()
        form = wiz.s3_page.form
        form.set_endpoint("https://s3.us-west-004.backblazeb2.com")
        form.bucket.setText("ann-photos")
        form.access_key.setText("0041a2b3c4d5e6f0000000001")
        form.secret_key.setText("K004demo-not-a-real-key")
        shooter.shoot(wiz, "wizard-2-s3")
        wiz.back()
        storage.local.setChecked(True)
    wiz.next()
    wiz.passphrase_page.fields.first.setText(PASSPHRASE)
    wiz.passphrase_page.fields.second.setText(PASSPHRASE)
    shooter.shoot(wiz, "wizard-3-passphrase")
    wiz.next()
    rec = wiz.recovery_page
    if not wait_until(lambda: rec.opened is not None or wiz.passphrase_page.failed()):
        raise RuntimeError("creating the demo vault timed out")
    if rec.opened is None:
        raise RuntimeError(wiz.passphrase_page.status.text())
    rec.confirm.setChecked(True)
    shooter.shoot(wiz, "wizard-4-recovery-key")
    wiz.next()
    wiz.folders_page.editor.set_folders([str(f) for f in folders])
    shooter.shoot(wiz, "wizard-5-folders")
    wiz.next()
    shooter.shoot(wiz, "wizard-6-schedule")
    wiz.next()
    shooter.shoot(wiz, "wizard-7-done")
    done: list[object] = []
    keepsake.service.jobFinished.connect(lambda *a: done.append(a))
    wiz.button(QWizard.WizardButton.FinishButton).click()
    if not wait_until(lambda: bool(done)):
        raise RuntimeError("the demo backup timed out")
    # Offscreen there is no tray to show it: the app's own bubble does (app.ui.notice).
    if keepsake.tray is not None and keepsake.tray.popup.isVisible():
        shooter.shoot(keepsake.tray.popup, "notification-first-backup")
    # a second backup with a few changes, so Versions and Activity have history
    _photo(folders[0] / "2026 Garden" / "IMG_4416.jpg", 200)
    _photo(folders[0] / "2026 Garden" / "IMG_4412.jpg", 300)  # edited: two versions
    (folders[1] / "Letters" / "To the council.txt").write_text(
        "Dear council,\n\nThe oak on Mill Lane is ours to keep.\n" * 40
    )
    (folders[1] / "Budget.ods").unlink()  # a deleted file for the version browser
    done.clear()
    keepsake.service.back_up_now()
    if not wait_until(lambda: bool(done)):
        raise RuntimeError("the second demo backup timed out")


def _restore_wizard(shooter: Shooter, tmp: Path, home: Path) -> None:
    """The "new computer" path: a second app, fresh settings, the same vault."""
    secrets = MemorySecrets()
    config = AppConfig(
        config_dir=tmp / "config2",
        cache_dir=tmp / "cache2",
        log_dir=tmp / "log",
        home=home,
        secrets=Secrets(secrets.get, secrets.set, secrets.delete),
        autostart=lambda on: None,
        quit_app=lambda: None,
        use_tray=False,
    )
    other = Keepsake(config)
    try:
        wiz = other.show_wizard()
        wiz.resize(WIZARD_SIZE)
        wiz.welcome_page.restore.setChecked(True)
        wiz.next()
        wiz.storage_page.path.setText(str(tmp / "media" / "usb-drive" / "Keepsake Backup"))
        wiz.next()
        assert wiz.currentId() == PageId.UNLOCK
        wiz.unlock_page.secret.setText(PASSPHRASE)
        shooter.shoot(wiz, "wizard-restore-unlock")
        wiz.close()
    finally:
        other.shutdown()


def _main_window(keepsake: Keepsake, shooter: Shooter, folders: list[Path]) -> None:
    window = keepsake.window
    window.resize(WINDOW_SIZE)
    window.show()
    keepsake.window.overview.refresh_stats()
    settle(400)
    window.show_page("Overview")
    shooter.shoot(window, "overview-idle")

    # Mid-backup, as the overview shows it (a paused real job would say "paused").
    status = keepsake.service.status()
    total_files, total_bytes = 2_614, 8_300_000_000
    progress = Progress(
        Phase.BACKING_UP,
        files_done=1_087,
        files_total=total_files,
        bytes_done=3_486_000_000,
        bytes_total=total_bytes,
        current_path=str(folders[0] / "2025 Summer holiday" / "IMG_2309.jpg"),
        rate_bps=11_800_000,
        eta_s=405,
    )
    running = Status(
        State.RUNNING,
        "Backing up… 42%",
        last_backup=status.last_backup,
        last_success=status.last_success,
        next_run=status.next_run,
        progress=progress,
    )
    window.overview.show_status(running)
    shooter.shoot(window, "overview-backing-up")
    if keepsake.tray is not None:
        keepsake.tray.show_status(running)
    _damaged_overview(keepsake, shooter, status)
    window.overview.show_status(keepsake.service.status())

    window.show_page("Folders")
    shooter.shoot(window, "folders")

    window.show_page("Versions")
    _versions(window.versions, shooter, folders)
    window.show_page("Versions")

    window.show_page("Settings")
    shooter.shoot(window, "settings")

    window.show_page("Activity")
    window.activity.tree.expandAll()
    shooter.shoot(window, "activity")

    if keepsake.tray is not None:
        tray = keepsake.tray
        tray.build_menu()
        tray.menu.adjustSize()
        shooter.shoot(tray.menu, "tray-menu")
        _tray_states(shooter)
        # A backed-up folder unplugged: named in the tray menu and on the Overview.
        gone = folders[-1]
        moved = gone.rename(gone.with_name(gone.name + " (unplugged)"))
        try:
            tray.show_status(keepsake.service.status())
            tray.build_menu()
            tray.menu.adjustSize()
            shooter.shoot(tray.menu, "tray-menu-folder-missing")
            window.show_page("Folders")
            window.folders.mark_missing()
            shooter.shoot(window, "folders-missing")
        finally:
            moved.rename(gone)


def _damaged_overview(keepsake: Keepsake, shooter: Shooter, status: Status) -> None:
    """A backup in the vault that cannot be read (issue 11 item 4), as the Overview
    names it: this computer's last backup, so its time is known."""
    made = status.last_success.finished if status.last_success else None
    hurt = (DamagedBackup("5e03586a" + "0" * 56, "damaged or tampered with", made),)
    keepsake.window.overview.show_status(
        replace(
            status,
            state=State.WARNING,
            headline=damage.headline(hurt),
            detail=damage.summary(hurt),
            damaged=hurt,
        )
    )
    shooter.shoot(keepsake.window, "overview-damaged")


def _versions(page: VersionsPage, shooter: Shooter, folders: list[Path]) -> None:
    """History with an image preview, search results, deleted files, time travel."""
    if not wait_until(lambda: page.browser.ready and page.browser.indexed, 30_000):
        raise RuntimeError("the version browser did not load")
    page.select_path(str(folders[0] / "2026 Garden" / "IMG_4412.jpg"))
    wait_until(lambda: page.history_model.rowCount() == 2 and page.preview.shows_image(), 20_000)
    shooter.shoot(page.window(), "versions")
    page.search.setText("img_44")
    wait_until(lambda: page.search_result is not None, 20_000)
    wait_until(lambda: _all_loaded(page), 20_000)
    shooter.shoot(page.window(), "versions-search")
    page.search.clear()
    wait_until(lambda: page.search_result is None, 20_000)
    page.show_deleted.setChecked(True)
    page.select_path(str(folders[1] / "Budget.ods"))
    wait_until(lambda: page.history_model.rowCount() == 2, 20_000)
    shooter.shoot(page.window(), "versions-deleted")
    page.show_deleted.setChecked(False)
    page.show_backup(0)
    page.select_path(str(folders[1] / "Letters" / "To the council.txt"))
    wait_until(lambda: page.preview.currentWidget() is page.preview.text, 20_000)
    shooter.shoot(page.window(), "versions-timeline")
    page.back_to_now()


def _all_loaded(page: VersionsPage) -> bool:
    """Every folder the search opened has its rows, and every match is shown."""
    model = page.model
    result = page.search_result
    if result is None or not all(model.index_of(n).isValid() for n in result.matches):
        return False
    stack = [QModelIndex()]
    while stack:
        parent = stack.pop()
        for row in range(model.rowCount(parent)):
            index = model.index(row, 0, parent)
            entry = model.entry(index)
            if entry is not None and entry.is_dir:
                if not model.is_loaded(entry.node):
                    return False
                stack.append(index)
    return True


def _tray_states(shooter: Shooter) -> None:
    """All tray icons on a light and a dark panel, to check they read on both."""
    from app.ui import icons

    names = [icons.TRAY_FILE[s] for s in (State.UP_TO_DATE, State.RUNNING)]
    names += ["restoring"] + [icons.TRAY_FILE[s] for s in (State.PAUSED, State.WARNING)]
    states = [*names, icons.TRAY_FILE[State.ERROR]]
    cell, pad = 40, 12
    image = QImage(
        pad + len(states) * (cell + pad), 2 * (cell + pad) + pad, QImage.Format.Format_ARGB32
    )
    painter = QPainter(image)
    for row, colour in enumerate(("#f2f2f2", "#262626")):
        y = pad + row * (cell + pad)
        painter.fillRect(0, y - pad // 2, image.width(), cell + pad, QColor(colour))
        for i, state in enumerate(states):
            pm = icons.tray_icon(state).pixmap(24, 24)
            painter.drawPixmap(pad + i * (cell + pad) + (cell - 24) // 2, y + (cell - 24) // 2, pm)
    painter.end()
    path = shooter.out_dir / "tray-icons.png"
    image.save(str(path))
    shooter.written.append(path)


def _failure_and_move(keepsake: Keepsake, shooter: Shooter, tmp: Path) -> None:
    """The drive unplugged (a failed backup's notification), then Settings › Storage
    moving the backup to another drive with its history (the move wizard)."""
    drive = tmp / "media" / "usb-drive"
    unplugged = drive.rename(drive.with_name("usb-drive-unplugged"))
    done: list[object] = []
    keepsake.service.jobFinished.connect(lambda *a: done.append(a))
    try:
        keepsake.service.back_up_now()
        if not wait_until(lambda: bool(done)):
            raise RuntimeError("the failing demo backup timed out")
        if keepsake.tray is not None and keepsake.tray.popup.isVisible():
            shooter.shoot(keepsake.tray.popup, "notification-backup-failed")
    finally:
        unplugged.rename(drive)
    if keepsake.tray is not None:
        keepsake.tray.popup.hide()
    page = keepsake.window.settings_page
    fresh = page.show_move_wizard(True, PASSPHRASE)
    fresh.resize(WIZARD_SIZE)
    shooter.shoot(fresh, "move-new-backup")
    fresh.reject()
    wiz = page.show_move_wizard(False, PASSPHRASE)
    wiz.resize(WIZARD_SIZE)
    shooter.shoot(wiz, "move-1-choice")
    wiz.next()
    (tmp / "media" / "big-drive").mkdir(parents=True)
    wiz.storage_page.path.setText(str(tmp / "media" / "big-drive" / "Keepsake Backup"))
    wiz.storage_page.same_disk_note.hide()  # the demo's "drive" shares the disk
    wiz.next()
    if not wait_until(lambda: not wiz.finish_page.busy):
        raise RuntimeError("moving the demo backup timed out")
    shooter.shoot(wiz, "move-2-done")
    wiz.accept()
