"""Issue 11 item 4, the app's half: a damaged snapshot is never skipped without a word.

The engine leaves a snapshot object it cannot read out of every listing (its time is
in the damaged part, so it may have been the newest backup). The CLI says so on
stderr; these tests hold the desktop app to the same: the Overview names the damaged
backup (its time when this computer made it) and says what to do, the tray says it,
and the Versions page shows a banner above the tree. Real engine, real vault on disk.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from app.core.errors import AppError
from app.core.models import DamagedSnapshot
from app.engine.vault import Vault
from app.main import Keepsake, browse_window
from app.services.backups import State
from app.storage.local import LocalStorage
from app.store.secrets import passphrase_secret_name
from app.store.settings import Schedule, ScheduleMode, Settings, SettingsStore, VaultRef
from app.ui import fmt
from app.ui.versions import VersionsPage
from tests.gui.conftest import DictSecrets
from tests.gui.fakes import FakeGateway
from tests.gui.helpers import PASSPHRASE, drive_wizard, finish, make_app

Cleanup = list[Callable[[], object]]
WAIT = 60_000


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-5] ^= 1
    path.write_bytes(bytes(data))


def _banner(page: VersionsPage) -> QLabel:
    banner = page.findChild(QWidget, "versionsDamaged")
    assert banner is not None, "no damaged-backup banner on the Versions page"
    label = banner.findChild(QLabel, "versionsDamagedText")
    assert isinstance(label, QLabel)
    return label


def _wait_damaged(qtbot: QtBot, app: Keepsake, count: int) -> None:
    qtbot.waitUntil(lambda: app.vaults.is_open, timeout=WAIT)
    qtbot.waitUntil(lambda: len(app.service.status().damaged) == count, timeout=WAIT)
    banner = app.window.versions.findChild(QWidget, "versionsDamaged")
    assert banner is not None
    qtbot.waitUntil(lambda: banner.isVisibleTo(app.window.versions), timeout=WAIT)


def test_a_damaged_newest_backup_is_named_on_the_overview_tray_and_versions(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    docs = tmp_path / "home" / "Documents"
    docs.mkdir(parents=True)
    (docs / "a.txt").write_text("first\n")
    secrets = DictSecrets()
    app = make_app(qtbot, tmp_path, cleanup, secrets=secrets)
    app.start()
    wiz = drive_wizard(qtbot, app, tmp_path / "vault", [docs])
    with qtbot.waitSignal(app.service.jobFinished, timeout=WAIT) as first:
        finish(wiz)
    assert first.args[0].ok
    (docs / "a.txt").write_text("second\n")
    with qtbot.waitSignal(app.service.jobFinished, timeout=WAIT) as second:
        app.window.overview.backup_btn.click()
    record = second.args[1]
    assert second.args[0].ok and record.snapshot_id
    # Nothing is damaged yet: no warning anywhere.
    assert app.service.status().damaged == ()
    assert not app.window.overview.damaged_box.isVisibleTo(app.window.overview)
    app.shutdown()

    # The newest snapshot object's bytes flipped on the storage; this computer's
    # cache is gone (a new cache, as after a reinstall), so the app reads the vault.
    newest = record.snapshot_id
    _flip(tmp_path / "vault" / "snapshots" / newest)
    shutil.rmtree(tmp_path / "cache")
    again = make_app(qtbot, tmp_path, cleanup, secrets=secrets)
    again.start()
    _wait_damaged(qtbot, again, 1)

    status = again.service.status()
    assert status.state is State.WARNING
    assert status.headline == "A backup is damaged"
    overview = again.window.overview
    assert overview.damaged_box.isVisibleTo(overview)
    text = overview.damaged_text.text()
    assert newest[:8] in text
    assert fmt.stamp(record.finished) in text  # this computer made it: its time is known
    assert "this computer" in text
    assert "next backup" in text.lower()  # what happens now
    assert overview.check_damage_btn.isVisibleTo(overview)
    assert again.tray is not None
    assert newest[:8] in again.tray.tooltip() and "damaged" in again.tray.tooltip()

    label = _banner(again.window.versions)
    assert newest[:8] in label.text() and "damaged" in label.text()
    # "Check backup…" on the Overview opens the Versions page's check.
    overview.check_damage_btn.click()
    assert again.window.stack.currentWidget() is again.window.versions
    assert again.window.versions.check_dialog is not None
    assert again.window.versions.check_dialog.isVisible()
    again.window.versions.check_dialog.close()


def _engine_vault(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """Three backups made by the engine (another computer, as far as the app knows)."""
    src = tmp_path / "home" / "Pictures"
    src.mkdir(parents=True)
    repo = tmp_path / "vault"
    repo.mkdir()
    vault, _key = Vault.create(
        LocalStorage(str(repo)), PASSPHRASE, cache_root=tmp_path / "build-cache"
    )
    ids = []
    with vault:
        for i in range(3):
            (src / "cat.txt").write_text(f"version {i}\n")
            ids.append(vault.backup([str(src)]).snapshot_id)
    return repo, src, ids


def test_swapped_snapshots_are_named_in_the_app_and_the_browse_window(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    repo, src, ids = _engine_vault(tmp_path)
    oldest, newest = repo / "snapshots" / ids[0], repo / "snapshots" / ids[2]
    a, b = oldest.read_bytes(), newest.read_bytes()
    oldest.write_bytes(b)
    newest.write_bytes(a)

    # This computer's app, set up with that vault (passphrase remembered).
    secrets = DictSecrets()
    secrets.set(passphrase_secret_name(str(repo)), PASSPHRASE)
    SettingsStore(tmp_path / "config").save(
        Settings(
            vault=VaultRef(str(repo), "", str(repo)),
            folders=(str(src),),
            schedule=Schedule(mode=ScheduleMode.MANUAL),
        )
    )
    app = make_app(qtbot, tmp_path, cleanup, secrets=secrets)
    app.start()
    _wait_damaged(qtbot, app, 2)
    status = app.service.status()
    assert status.state is State.WARNING
    assert status.headline == "2 backups are damaged"
    text = app.window.overview.damaged_text.text()
    assert ids[0][:8] in text and ids[2][:8] in text and ids[1][:8] not in text
    assert app.tray is not None and ids[2][:8] in app.tray.tooltip()
    label = _banner(app.window.versions)
    assert ids[0][:8] in label.text() and ids[2][:8] in label.text()
    # The readable backup is still there to browse.
    qtbot.waitUntil(lambda: len(app.browser.snapshots) == 1, timeout=WAIT)
    app.shutdown()

    # ``keepsake gui --browse REPO`` shows the same banner.
    window = browse_window(str(repo), PASSPHRASE)
    cleanup.append(window.close)
    page = window.findChild(VersionsPage, "versionsPage")
    assert isinstance(page, VersionsPage)
    banner = page.findChild(QWidget, "versionsDamaged")
    assert banner is not None
    qtbot.waitUntil(lambda: banner.isVisibleTo(page), timeout=WAIT)
    assert ids[0][:8] in _banner(page).text() and ids[2][:8] in _banner(page).text()


def test_no_banner_when_nothing_is_damaged(qtbot: QtBot, tmp_path: Path, cleanup: Cleanup) -> None:
    repo, _src, _ids = _engine_vault(tmp_path)
    window = browse_window(str(repo), PASSPHRASE)
    cleanup.append(window.close)
    page = window.findChild(VersionsPage, "versionsPage")
    assert isinstance(page, VersionsPage)
    qtbot.waitUntil(lambda: page.browser.ready and len(page.browser.snapshots) == 3, timeout=WAIT)
    with qtbot.waitSignal(page.browser.damagedChanged, timeout=WAIT):
        page.browser.refresh()  # looks for damage again
    banner = page.findChild(QWidget, "versionsDamaged")
    assert banner is not None and not banner.isVisibleTo(page)


def test_damage_is_told_once_and_a_failed_backup_outranks_it(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    """The rules, fast (fake engine): one notification per newly damaged backup, a
    failed backup leads the headline while the Overview box and the tray still name
    the damage, and everything clears when the damage is gone."""
    src = tmp_path / "home" / "Pictures"
    src.mkdir(parents=True)
    (src / "a.jpg").write_bytes(b"x" * 100)
    gateway = FakeGateway()
    app = make_app(qtbot, tmp_path, cleanup, gateway=gateway)
    notes: list[tuple[str, str, str, str]] = []
    app.service.notify.connect(lambda *args: notes.append(args))
    app.start()
    wiz = drive_wizard(qtbot, app, tmp_path / "vault", [src])
    with qtbot.waitSignal(app.service.jobFinished, timeout=10_000):
        finish(wiz)
    _settle(qtbot, app)
    repo = str(tmp_path / "vault")
    damaged = "ab" * 32
    gateway.damaged[repo] = [DamagedSnapshot(damaged, f"snapshots/{damaged} is damaged")]
    notes.clear()

    app.browser.refresh()  # looks for damage again
    _settle(qtbot, app)
    status = app.service.status()
    assert status.state is State.WARNING and status.headline == "A backup is damaged"
    assert "backup abababab (time unknown)" in status.detail
    assert [(n[0], n[2], n[3]) for n in notes] == [("A backup is damaged", "warning", "Overview")]
    assert "abababab" in notes[0][1] and "next backup" in notes[0][1]

    # Looked at again after a backup: the same damage is not told twice.
    _back_up(qtbot, app)
    assert len(notes) == 1

    # A failed backup leads; the damage stays in view.
    gateway.fail_with = AppError("The disk is on fire.")
    _back_up(qtbot, app)
    status = app.service.status()
    assert status.state is State.ERROR and status.headline == "Last backup failed"
    overview = app.window.overview
    assert overview.damaged_box.isVisibleTo(overview)
    assert "abababab" in overview.damaged_text.text()
    assert app.tray is not None and "Damaged: backup abababab" in app.tray.tooltip()

    # The damage gone (the object repaired or removed): nothing is left of it.
    gateway.fail_with = None
    gateway.damaged[repo] = []
    _back_up(qtbot, app)
    assert app.service.status().state is State.UP_TO_DATE
    assert not overview.damaged_box.isVisibleTo(overview)
    assert "amaged" not in app.tray.tooltip()


def _back_up(qtbot: QtBot, app: Keepsake) -> None:
    """A backup, and every look for damage it set off answered."""
    with qtbot.waitSignal(app.service.jobFinished, timeout=10_000):
        app.service.back_up_now()
    _settle(qtbot, app)


def _settle(qtbot: QtBot, app: Keepsake) -> None:
    """Every look for damage asked so far answered: one more, queued after them on
    the vault's thread, answers last."""
    with qtbot.waitSignal(app.vaults.damagedChanged, timeout=10_000):
        app.vaults.look_for_damage()
