"""Composition root of the desktop app: paths, logging, settings, keyring, services,
window, tray. Nothing happens at import time; ``run_gui`` is called by ``app.cli``
(and ``app.devtools.screenshots`` builds the same app for ``keepsake screenshots``).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import TextIOWrapper
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.core import paths
from app.core.process import disable_core_dumps, hold_app_mutex
from app.services.backups import BackupService, Secrets
from app.services.browse_gateway import EngineBrowseFactory
from app.services.browser import BrowserService, SessionFactory
from app.services.dropbox import DropboxConnector
from app.services.gateway import EngineGateway
from app.services.gc_guard import GuiThreadGc
from app.services.jobs import JobRunner
from app.services.pyside_check import pyside_problem
from app.services.s3 import S3Connector
from app.services.schedule import Scheduler
from app.services.single_instance import SingleInstance
from app.services.vault import VaultGateway, VaultService
from app.store import autostart, secrets
from app.store.history import FILE_NAME as HISTORY_FILE
from app.store.history import HistoryStore
from app.store.settings import SettingsStore
from app.ui import icons
from app.ui.browse_window import BrowseWindow
from app.ui.dialogs import CrashDialog, crash_report
from app.ui.i18n import install_translators
from app.ui.main_window import MainWindow
from app.ui.tray import Tray
from app.ui.wizard import SetupWizard

log = logging.getLogger("keepsake")

GUI_SWITCH_INTERVAL_S = 0.002


def keyring_secrets() -> Secrets:
    """The OS keyring; plaintext and null backends are refused (app.store.secrets)."""
    return Secrets(
        secrets.get_secret,
        secrets.set_secret,
        secrets.delete_secret,
        available=secrets.keyring_available,
    )


@dataclass
class AppConfig:
    """Everything that differs between a real session, a test and the screenshots."""

    config_dir: Path = field(default_factory=paths.config_dir)
    cache_dir: Path = field(default_factory=paths.cache_dir)
    log_dir: Path = field(default_factory=paths.log_dir)
    home: Path = field(default_factory=Path.home)
    secrets: Secrets = field(default_factory=keyring_secrets)
    gateway: VaultGateway | None = None
    browse_factory: SessionFactory | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    scheduler_factory: Callable[..., Scheduler] | None = None
    autostart: Callable[[bool], None] | None = None
    use_tray: bool = True
    quit_app: Callable[[], None] = field(default=lambda: QApplication.quit())


class Keepsake(QObject):
    """The running desktop app: owns services and windows, and shuts them down."""

    def __init__(self, config: AppConfig, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.runner = JobRunner("keepsake-vault", self)
        gateway = config.gateway or EngineGateway(
            secret_lookup=config.secrets.get,
            s3_endpoint=lambda: self.service.settings.s3_endpoint,
        )
        self.vaults = VaultService(self.runner, gateway, config.cache_dir, self)
        self.history = HistoryStore(config.config_dir / HISTORY_FILE)
        self.service = BackupService(
            settings_store=SettingsStore(config.config_dir),
            history=self.history,
            vaults=self.vaults,
            secrets=config.secrets,
            clock=config.clock,
            scheduler_factory=config.scheduler_factory,
            autostart=config.autostart,
            parent=self,
        )
        self.dropbox = DropboxConnector(
            self.runner,
            config.secrets.set,
            lambda: (
                self.service.settings.dropbox_app_key
                or os.environ.get("KEEPSAKE_DROPBOX_APP_KEY", "")
            ),
        )
        self.s3 = S3Connector(
            self.runner,
            config.secrets.set,
            lambda endpoint: self.service.update_settings(
                self.service.settings.with_(s3_endpoint=endpoint)
            ),
        )
        tray_ok = config.use_tray and Tray.available()
        self.tray: Tray | None = Tray(self.service, self) if config.use_tray else None
        self.browser = BrowserService(
            self.vaults, config.browse_factory or EngineBrowseFactory(), self
        )
        self.window = MainWindow(
            self.service,
            browser=self.browser,
            home=config.home,
            log_dir=config.log_dir,
            state_dir=config.config_dir,
            tray_available=tray_ok,
        )
        if S3Connector.available():
            self.window.settings_page.s3 = self.s3
        settings_page = self.window.settings_page
        settings_page.home = config.home
        settings_page.dropbox = self.dropbox if DropboxConnector.available() else None
        settings_page.browse_other = self.browse_other
        self.browse_windows: list[BrowseWindow] = []
        self.wizard: SetupWizard | None = None
        self.window.quitRequested.connect(self.quit)
        if self.tray is not None:
            self.tray.openRequested.connect(self.show_window)
            self.tray.pageRequested.connect(self.show_page)
            self.tray.quitRequested.connect(self.quit)
        self._quitting = False
        self._shut_down = False

    def start(self, minimized: bool = False) -> None:
        settings = self.service.settings
        self.service.start()
        if self.tray is not None and Tray.available():
            self.tray.show()
        if not settings.is_set_up:
            self.show_wizard()
            return
        remembered = self.service.remembered_passphrase()
        if remembered:
            self.service.unlock(remembered, remember=False)
        if not minimized:
            self.window.show()

    def show_wizard(self) -> SetupWizard:
        if self.wizard is None:
            self.wizard = SetupWizard(
                self.service,
                home=self.config.home,
                dropbox=self.dropbox if DropboxConnector.available() else None,
                s3=self.s3 if S3Connector.available() else None,
            )
            self.wizard.completed.connect(self._wizard_done)
            self.wizard.rejected.connect(self._wizard_cancelled)
        self.wizard.show()
        self.wizard.raise_()
        return self.wizard

    def _wizard_done(self) -> None:
        self.wizard = None
        self.window.show_page("Overview")
        self.window.bring_to_front()

    def _wizard_cancelled(self) -> None:
        self.wizard = None
        if not self.service.settings.is_set_up:
            self.quit()

    def show_window(self) -> None:
        if not self.service.settings.is_set_up:
            self.show_wizard()
        else:
            self.window.bring_to_front()

    def browse_other(self, repo: str) -> None:
        """A window on another vault (the one backed up into before a move), as
        ``keepsake gui --browse REPO``: its own thread, asks for its passphrase."""
        window = browse_window(repo, "")
        self.browse_windows = [w for w in self.browse_windows if w.isVisible()] + [window]

    def show_page(self, page: str) -> None:
        """A clicked notification: the window, on the page it is about."""
        if not self.service.settings.is_set_up:
            self.show_wizard()
            return
        if page in self.window.PAGES:
            self.window.show_page(page)
        self.window.bring_to_front()

    def quit(self) -> None:
        if self._quitting:
            return
        self._quitting = True
        self.shutdown()
        self.config.quit_app()

    def shutdown(self) -> None:
        """Stop the scheduler, cancel the running job and wait for the worker thread."""
        if self._shut_down:
            return
        self._shut_down = True
        self.service.shutdown()
        self.browser.shutdown()
        self.runner.shutdown()
        if self.tray is not None:
            self.tray.hide()
        if self.wizard is not None:
            self.wizard.close()
        self.window.quit_now()
        self.history.close()


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """The log names backed-up files and folders: each log file is created 0600."""

    def _open(self) -> TextIOWrapper:
        paths.create_private_file(Path(self.baseFilename))
        return super()._open()


def setup_logging(log_dir: Path) -> None:
    """Log to a rotating file in the platform log dir (never secrets: we never log them)."""
    try:
        paths.private_dir(log_dir)
        handler: logging.Handler = PrivateRotatingFileHandler(
            log_dir / "keepsake.log", maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def install_excepthook(log_dir: Path) -> None:
    """Unhandled exceptions on the GUI thread show a copyable report, not a dead app."""
    showing = False

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        nonlocal showing
        report = crash_report(exc_type, exc, tb)
        log.error("Unhandled exception:\n%s", report)
        if showing or QApplication.instance() is None:
            sys.__excepthook__(exc_type, exc, tb)
            return
        showing = True
        try:
            CrashDialog(report, str(log_dir)).exec()
        finally:
            showing = False

    sys.excepthook = hook


def refuse_bad_pyside() -> bool:
    """True (after saying why on stderr) when this PySide6 would crash Keepsake."""
    problem = pyside_problem()
    if problem:
        print(f"keepsake: {problem}", file=sys.stderr)
    return bool(problem)


def make_qapp() -> QApplication:
    """The one QApplication, made (and named) if it does not exist yet."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QApplication(sys.argv[:1])
    app.setApplicationName("Keepsake")
    app.setApplicationDisplayName("Keepsake")
    app.setOrganizationName("Keepsake")
    app.setDesktopFileName("io.github.keepsake.Keepsake")  # the .deb's desktop entry id
    app.setWindowIcon(icons.app_icon())
    app.setQuitOnLastWindowClosed(False)
    install_translators(app)
    return app


def run_gui(minimized: bool = False) -> int:
    """``keepsake gui [--minimized]``: one instance per session, tray + window."""
    disable_core_dumps()  # again, for callers that skip app.cli.main
    hold_app_mutex()  # Windows: lets the installer ask to close a running Keepsake
    if refuse_bad_pyside():
        return 1
    config = AppConfig(autostart=lambda on: autostart.set_enabled(on))
    paths.secure_local_state([config.config_dir, config.cache_dir, config.log_dir])
    setup_logging(config.log_dir)
    app = make_qapp()
    instance = SingleInstance(paths.runtime_dir())
    if not instance.claim():
        print("Keepsake is already running; showing its window.", file=sys.stderr)
        return 0
    install_excepthook(config.log_dir)
    # Hand the GIL to the GUI thread more often than every 5 ms while engine
    # threads work, so the window never lags behind a backup.
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)
    collector = GuiThreadGc(parent=app)
    collector.start()
    keepsake = Keepsake(config)
    instance.raiseRequested.connect(keepsake.show_window)
    if not config.use_tray or not Tray.available():
        app.setQuitOnLastWindowClosed(True)
    try:
        keepsake.start(minimized=minimized and Tray.available())
    except Exception as exc:  # e.g. an unreadable config dir: say so, do not traceback
        log.exception("Start-up failed")
        QMessageBox.critical(None, "Keepsake could not start", str(exc))
        return 1
    code = app.exec()
    keepsake.shutdown()
    instance.release()
    return int(code)


class BrowseApp(QObject):
    """``keepsake gui --browse REPO``: its own vault thread, vault and browser; no
    settings, history or scheduler, so this computer's backup is left alone."""

    def __init__(
        self,
        repo: str,
        *,
        cache_dir: Path | None = None,
        gateway: VaultGateway | None = None,
        browse_factory: SessionFactory | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = JobRunner("keepsake-browse-vault", self)
        gateway = gateway or EngineGateway(secret_lookup=secrets.get_secret)
        self.vaults = VaultService(self.runner, gateway, cache_dir or paths.cache_dir(), self)
        self.browser = BrowserService(self.vaults, browse_factory or EngineBrowseFactory(), self)
        self.window = BrowseWindow(self.vaults, self.browser, repo, on_close=self.shutdown)
        self._shut_down = False

    def shutdown(self) -> None:
        if self._shut_down:
            return
        self._shut_down = True
        self.browser.shutdown()
        self.vaults.close()
        self.runner.shutdown()


def browse_window(repo: str, passphrase: str) -> BrowseWindow:
    """The window of ``keepsake gui --browse REPO``, shown, its vault unlocking
    (the Versions page fills when it is open). An empty passphrase asks for one."""
    make_qapp()
    session = BrowseApp(repo)
    window = session.window
    window.session = session  # lives as long as the window
    window.show()
    if passphrase:
        window.unlock(passphrase)
    else:
        QTimer.singleShot(0, window.ask_secret)
    return window


def run_browse(repo: str, passphrase: str) -> int:
    """``keepsake gui --browse REPO``: one window, quits when it closes."""
    config = AppConfig()
    setup_logging(config.log_dir)
    app = make_qapp()
    install_excepthook(config.log_dir)
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)
    collector = GuiThreadGc(parent=app)
    collector.start()
    app.setQuitOnLastWindowClosed(True)
    window = browse_window(repo, passphrase)
    code = app.exec()
    if isinstance(window.session, BrowseApp):
        window.session.shutdown()
    return int(code)
