"""The main window: a sidebar of pages (Overview, Folders, Versions, Settings,
Activity), the menus, and what closing the window means (keep running in the tray)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QStyle,
    QWidget,
)

from app.services.backups import BackupService
from app.services.browser import BrowserService
from app.services.jobs import JobOutcome
from app.services.vault import OpenedVault
from app.ui import icons
from app.ui.activity import ActivityPage
from app.ui.dialogs import UnlockDialog
from app.ui.folders import FoldersPage
from app.ui.overview import OverviewPage
from app.ui.settings_page import SettingsPage
from app.ui.versions import VersionsPage


class MainWindow(QMainWindow):
    quitRequested = Signal()

    PAGES = ("Overview", "Folders", "Versions", "Settings", "Activity")

    def __init__(
        self,
        service: BackupService,
        *,
        browser: BrowserService,
        home: Path,
        log_dir: Path,
        state_dir: Path | None = None,
        tray_available: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.log_dir = log_dir
        self.tray_available = tray_available
        self.setWindowTitle(self.tr("Keepsake"))
        self.setWindowIcon(icons.app_icon())
        self.resize(880, 600)
        # Size and place are the user's: kept across runs in the config folder.
        self._geometry_file = state_dir / "window.ini" if state_dir is not None else None
        self._restore_geometry()
        self.setMinimumSize(720, 500)

        self.overview = OverviewPage(service)
        self.folders = FoldersPage(service, home)
        self.versions = VersionsPage(browser, unlock=lambda: service.ensure_open())
        self.settings_page = SettingsPage(service)
        self.activity = ActivityPage(service)
        self.overview.checkRequested.connect(self.check_backup)
        self.stack = QStackedWidget()
        self.sidebar = QListWidget()
        self.sidebar.setAccessibleName(self.tr("Pages"))
        self.sidebar.setIconSize(QSize(20, 20))
        self.sidebar.setFixedWidth(170)
        self.sidebar.setSpacing(2)
        style = self.style()
        page_icons = (
            icons.app_icon(),
            style.standardIcon(QStyle.StandardPixmap.SP_DirIcon),
            style.standardIcon(QStyle.StandardPixmap.SP_FileDialogDetailedView),
            style.standardIcon(QStyle.StandardPixmap.SP_FileDialogInfoView),
            style.standardIcon(QStyle.StandardPixmap.SP_FileDialogListView),
        )
        titles = (
            self.tr("Overview"),
            self.tr("Folders"),
            self.tr("Versions"),
            self.tr("Settings"),
            self.tr("Activity"),
        )  # PAGES are the names code uses; these are what people read
        for name, page, icon in zip(
            titles,
            (self.overview, self.folders, self.versions, self.settings_page, self.activity),
            page_icons,
            strict=True,
        ):
            item = QListWidgetItem(icon, name)
            item.setSizeHint(QSize(0, 34))
            self.sidebar.addItem(item)
            self.stack.addWidget(page)
        self.sidebar.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.sidebar.setCurrentRow(0)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self._menus()
        self.unlock_dialog: UnlockDialog | None = None
        self._force_quit = False
        service.passphraseNeeded.connect(self.ask_passphrase)

    def _menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu(self.tr("&File"))
        self.backup_action = QAction(self.tr("&Back up now"), self)
        self.backup_action.setShortcut(QKeySequence("Ctrl+B"))
        self.backup_action.triggered.connect(self.service.back_up_now)
        file_menu.addAction(self.backup_action)
        file_menu.addSeparator()
        close = QAction(self.tr("&Close window"), self)
        close.setShortcut(QKeySequence.StandardKey.Close)
        close.triggered.connect(self.close)
        file_menu.addAction(close)
        quit_action = QAction(self.tr("&Quit Keepsake"), self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.quitRequested)
        file_menu.addAction(quit_action)
        help_menu = bar.addMenu(self.tr("&Help"))
        help_menu.addAction(self.tr("Open &log folder")).triggered.connect(self.open_log_folder)
        help_menu.addAction(self.tr("&About Keepsake")).triggered.connect(self._about)

    def show_page(self, name: str) -> None:
        self.sidebar.setCurrentRow(self.PAGES.index(name))

    def check_backup(self) -> None:
        """The Versions page's "Check backup" (it names what a damage affects)."""
        self.show_page("Versions")
        self.versions.check_backup()

    def bring_to_front(self) -> None:
        self.show()
        self.setWindowState(
            (self.windowState() & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive
        )
        self.raise_()
        self.activateWindow()

    def open_log_folder(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.log_dir)))

    def _about(self) -> None:
        from app import __version__

        QMessageBox.about(
            self,
            self.tr("About Keepsake"),
            self.tr(
                "<b>Keepsake {version}</b><p>Encrypted, incremental backups of your photos "
                "and documents. Licensed under the GPL 3.0 or later.</p>"
            ).format(version=__version__),
        )

    # -- passphrase --------------------------------------------------------------------

    def ask_passphrase(self, problem: str = "") -> None:
        """Non-modal, so a scheduled backup waiting for it never blocks the event loop."""
        if self.unlock_dialog is not None and self.unlock_dialog.isVisible():
            self.unlock_dialog.problem.setText(problem)
            self.unlock_dialog.problem.setVisible(bool(problem))
            return
        vault = self.service.settings.vault
        where = (vault.description or vault.repo) if vault else ""
        dialog = UnlockDialog(where, problem, self)
        dialog.remember.setChecked(self.service.settings.remember_passphrase)
        if not self.service.can_remember():
            dialog.remember.setChecked(False)
            dialog.remember.hide()
        dialog.accepted.connect(lambda: self._unlock(dialog))
        dialog.rejected.connect(self.service.cancel_pending_backup)
        self.unlock_dialog = dialog
        dialog.open()

    def _unlock(self, dialog: UnlockDialog) -> None:
        def done(outcome: JobOutcome[OpenedVault]) -> None:
            if not outcome.ok:
                self.ask_passphrase(outcome.message)

        self.service.unlock(dialog.passphrase(), dialog.remember.isChecked(), done)

    # -- closing -----------------------------------------------------------------------

    def _restore_geometry(self) -> None:
        path = self._geometry_file
        if path is None or not path.is_file():
            return
        data = QSettings(str(path), QSettings.Format.IniFormat).value("geometry")
        if isinstance(data, QByteArray) and not data.isEmpty():
            self.restoreGeometry(data)

    def save_geometry(self) -> None:
        """Remember size and position (called when the window closes or hides)."""
        path = self._geometry_file
        if path is None or not self.isVisible():
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            store = QSettings(str(path), QSettings.Format.IniFormat)
            store.setValue("geometry", self.saveGeometry())
            store.sync()
            path.chmod(0o600)
        except OSError:
            pass  # a read-only config folder: the next start uses the default size

    def quit_now(self) -> None:
        self.save_geometry()
        self._force_quit = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_geometry()
        if self._force_quit:
            event.accept()
            return
        if self.tray_available:
            event.ignore()
            self.hide()
            settings = self.service.settings
            if not settings.tray_hint_shown:
                self.service.notify.emit(
                    self.tr("Keepsake is still running"),
                    self.tr(
                        "Backups continue in the background. Open Keepsake from its icon in "
                        "the tray."
                    ),
                    "info",
                    "Overview",
                )
                self.service.update_settings(settings.with_(tray_hint_shown=True))
            return
        answer = QMessageBox.question(
            self,
            self.tr("Quit Keepsake?"),
            self.tr(
                "There is no system tray here, so closing the window quits Keepsake and "
                "scheduled backups will not run until you open it again."
            ),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            event.accept()
            self.quitRequested.emit()
        else:
            event.ignore()
