"""Issue 12 item 9: Settings › Storage moves the backup to another place without
losing history: a folder, Dropbox (the HTTPS emulator) or S3; connect a backup that
is there, copy this one there as is, or start a new one (new passphrase and
recovery key) with or without the history. Real vaults, real engine; the settings
name the new place only once the copy has committed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.errors import WrongPasswordError
from app.core.events import Phase, Progress
from app.engine.vault import Vault
from app.main import Keepsake
from app.services.jobs import JobOutcome
from app.storage.dropbox.storage import DropboxStorage
from app.storage.factory import open_storage
from app.ui.wizard import PageId
from app.ui.wizard.move import MoveWizard
from tests.dropbox_emulator import DropboxEmulator, Faults
from tests.dropbox_emulator.helpers import approve_in_browser
from tests.gui.helpers import PASSPHRASE, drive_wizard, finish, make_app
from tests.s3_server import ACCESS_KEY, BUCKET, SECRET_KEY, RcloneS3

pytest_plugins = ["tests.dropbox_conftest", "tests.s3_conftest"]

Cleanup = list[Callable[[], object]]
StorageFactory = Callable[..., DropboxStorage]  # tests.dropbox_conftest's fixture
NEW_PASSPHRASE = "violet anchor mountain ledger"


def _backed_up(qtbot: QtBot, tmp_path: Path, cleanup: Cleanup) -> tuple[Keepsake, Path]:
    """An app set up with a local vault holding one backup of ~/Documents."""
    src = tmp_path / "home" / "Documents"
    src.mkdir(parents=True)
    (src / "a.txt").write_text("first\n")
    (src / "photo.bin").write_bytes(bytes(range(256)) * 4000)
    app = make_app(qtbot, tmp_path, cleanup, use_tray=False)
    app.start()
    wiz = drive_wizard(qtbot, app, tmp_path / "vault", [src])
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000) as blocker:
        finish(wiz)
    assert blocker.args[0].ok, blocker.args[0].message
    return app, src


def _open_wizard(app: Keepsake, new_vault: bool) -> MoveWizard:
    page = app.window.settings_page
    if new_vault:
        page.new_btn.click()
    else:
        page.move_btn.click()
    wiz = page.move_wizard  # remembered passphrase, open vault: shown at once
    assert wiz is not None and wiz.currentId() == PageId.MOVE_CHOICE
    return wiz


def _finished(qtbot: QtBot, wiz: MoveWizard, timeout: int = 120_000) -> None:
    page = wiz.finish_page
    qtbot.waitUntil(lambda: not page.busy, timeout=timeout)
    assert page.switched, page.status.text()
    assert page.isComplete()


def _backups(qtbot: QtBot, app: Keepsake) -> int:
    with qtbot.waitCallback(timeout=30_000) as listed:
        app.service.vaults.snapshots(listed)
    outcome: JobOutcome[list[object]] = listed.args[0]
    assert outcome.ok, outcome.message
    return len(outcome.value)


def _back_up(qtbot: QtBot, app: Keepsake) -> None:
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000) as blocker:
        assert app.service.back_up_now()
    assert blocker.args[0].ok, blocker.args[0].message


def _sign_in_dropbox(qtbot: QtBot, wiz: MoveWizard, emulator: DropboxEmulator) -> None:
    assert wiz.currentId() == PageId.DROPBOX
    page = wiz.dropbox_page
    assert page.connector is not None
    page.code.setText(approve_in_browser(page.connector.start(), emulator.ca_path))
    with qtbot.waitSignal(page.completeChanged, timeout=30_000):
        page.connect_btn.click()
    assert page.connected, page.status.text()
    wiz.next()


def test_change_location_copies_to_a_folder_then_connects_the_old_backup_again(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    app, src = _backed_up(qtbot, tmp_path, cleanup)
    old = app.service.settings.vault
    assert old is not None
    wiz = _open_wizard(app, new_vault=False)
    assert wiz.choice_page.first.isChecked()  # copy this backup there
    wiz.next()
    assert wiz.currentId() == PageId.STORAGE
    (tmp_path / "vault-in-the-way" / "config").parent.mkdir()
    (tmp_path / "vault-in-the-way" / "config").write_text("x")
    wiz.storage_page.path.setText(str(tmp_path / "vault-in-the-way"))
    wiz.next()  # refused there: it holds a backup already, said in this wizard's words
    assert wiz.currentId() == PageId.STORAGE
    assert "Use a backup that is already there" in wiz.storage_page.problem.text()
    dest = tmp_path / "new-drive" / "Keepsake Backup"
    dest.parent.mkdir()
    wiz.storage_page.path.setText(str(dest))
    wiz.next()  # no passphrase page: the copy keeps it
    assert wiz.currentId() == PageId.MOVE_FINISH
    _finished(qtbot, wiz)
    vault = app.service.settings.vault
    assert vault is not None and vault.repo == str(dest) and vault.vault_id == old.vault_id
    assert "now go to" in wiz.finish_page.status.text()
    assert (dest / "config").is_file() and (tmp_path / "vault" / "config").is_file()
    assert app.service.remembered_passphrase() == PASSPHRASE
    (src / "a.txt").write_text("second\n")
    _back_up(qtbot, app)
    assert _backups(qtbot, app) == 2  # the history came along
    wiz.accept()

    # Back to the old drive: connect the backup found on it (its root is enough).
    wiz = _open_wizard(app, new_vault=False)
    wiz.choice_page.second.setChecked(True)
    wiz.next()
    wiz.storage_page.path.setText(str(tmp_path))
    (tmp_path / "vault-in-the-way").rename(tmp_path / ".vault-in-the-way")
    wiz.next()
    assert wiz.currentId() == PageId.UNLOCK
    assert not wiz.unlock_page.use_key.isVisibleTo(wiz.unlock_page)
    unlock = wiz.unlock_page
    unlock.secret.setText("not the passphrase")
    wiz.next()
    qtbot.waitUntil(lambda: not unlock.opening, timeout=60_000)
    assert wiz.currentId() == PageId.UNLOCK and unlock.status.text()
    vault = app.service.settings.vault
    assert vault is not None and vault.repo == str(dest)  # a wrong passphrase switches nothing
    unlock.secret.setText(PASSPHRASE)
    wiz.next()
    qtbot.waitUntil(lambda: wiz.currentId() == PageId.MOVE_FINISH, timeout=60_000)
    _finished(qtbot, wiz)
    vault = app.service.settings.vault
    assert vault is not None and vault.repo == str(tmp_path / "vault")
    assert _backups(qtbot, app) == 1  # the old one, as it was left


def test_start_a_new_backup_with_the_history_under_new_keys(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    app, src = _backed_up(qtbot, tmp_path, cleanup)
    old = app.service.settings.vault
    assert old is not None
    browsed: list[str] = []
    app.window.settings_page.browse_other = browsed.append
    wiz = _open_wizard(app, new_vault=True)
    assert wiz.choice_page.first.isChecked()  # copy the history
    wiz.next()
    dest = tmp_path / "fresh"
    wiz.storage_page.path.setText(str(dest))
    wiz.next()
    assert wiz.currentId() == PageId.PASSPHRASE
    created = wiz.passphrase_page
    created.fields.first.setText(NEW_PASSPHRASE)
    created.fields.second.setText(NEW_PASSPHRASE)
    wiz.next()
    rec = wiz.recovery_page
    qtbot.waitUntil(lambda: rec.opened is not None or created.failed(), timeout=60_000)
    assert rec.opened is not None, created.status.text()
    assert wiz.currentId() == PageId.RECOVERY
    assert rec.key.text() and rec.key.isVisible()
    vault = app.service.settings.vault
    assert vault is not None and vault.repo == old.repo  # nothing switched yet
    assert not rec.isComplete()
    rec.confirm.setChecked(True)
    seen: list[Progress] = []
    app.service.progress.connect(seen.append)
    wiz.next()
    assert wiz.currentId() == PageId.MOVE_FINISH
    _finished(qtbot, wiz)
    assert seen and seen[-1].final and seen[-1].phase is Phase.DONE
    assert all(p.phase is Phase.COPYING for p in seen[:-1])
    assert max(p.bytes_done for p in seen) > 1_000_000  # counted as blobs are copied
    assert "1 of 1 backups copied" in wiz.finish_page.detail.text()
    vault = app.service.settings.vault
    assert vault is not None and vault.repo == str(dest)
    assert vault.vault_id != old.vault_id and vault.vault_id == rec.opened.vault_id
    assert app.service.remembered_passphrase() == NEW_PASSPHRASE
    assert _backups(qtbot, app) == 1  # the history is in it
    (src / "b.txt").write_text("new file\n")
    _back_up(qtbot, app)
    assert _backups(qtbot, app) == 2
    # New keys: the old passphrase opens nothing there; the old backup is as it was.
    with (
        pytest.raises(WrongPasswordError),
        Vault.open(open_storage(str(dest)), passphrase=PASSPHRASE),
    ):
        pass
    with Vault.open(open_storage(old.repo), passphrase=PASSPHRASE) as before:
        assert len(before.snapshots()) == 1
    assert wiz.finish_page.browse_btn.isVisibleTo(wiz.finish_page)
    wiz.finish_page.browse_btn.click()
    assert browsed == [old.repo]


def test_copy_to_dropbox_shows_progress_can_be_cancelled_and_switches_only_when_done(
    qtbot: QtBot,
    tmp_path: Path,
    dropbox_emulator: DropboxEmulator,
    dropbox_env: dict[str, str],
    cleanup: Cleanup,  # after the emulator: the app shuts down before it stops
) -> None:
    app, src = _backed_up(qtbot, tmp_path, cleanup)
    old = app.service.settings.vault
    assert old is not None
    wiz = _open_wizard(app, new_vault=False)
    wiz.next()
    wiz.storage_page.dropbox.setChecked(True)
    wiz.storage_page.dropbox_name.setText("Moved")
    wiz.next()
    _sign_in_dropbox(qtbot, wiz, dropbox_emulator)
    dropbox_emulator.faults = Faults(slow=1.0, slow_seconds=0.3, include_oauth=False)
    page = wiz.finish_page
    with qtbot.waitSignal(app.service.progress, timeout=30_000):
        pass  # the copy started (first object sent)
    assert wiz.currentId() == PageId.MOVE_FINISH
    assert page.busy and page.bar.isVisible() and page.cancel_btn.isVisible()
    page.cancel_btn.click()
    qtbot.waitUntil(lambda: not page.busy, timeout=60_000)
    assert not page.switched and not page.isComplete()
    assert "cancelled" in page.status.text() and "still go to" in page.status.text()
    vault = app.service.settings.vault
    assert vault is not None and vault.repo == old.repo  # never half switched
    moved = dropbox_emulator.root / "data"
    assert not [p for p in moved.rglob("config") if "Moved" in str(p)]  # not a vault yet

    # Try again, then the wizard's own Cancel: the copy stops first, then it closes.
    assert page.retry_btn.isVisible()
    page.retry_btn.click()
    with qtbot.waitSignal(app.service.progress, timeout=30_000):
        pass
    wiz.reject()
    assert wiz.isVisible() and page.busy  # still stopping the copy
    settings_page = app.window.settings_page
    qtbot.waitUntil(lambda: settings_page.move_wizard is None, timeout=60_000)  # closed
    vault = app.service.settings.vault
    assert vault is not None and vault.repo == old.repo

    dropbox_emulator.faults = Faults()
    wiz = _open_wizard(app, new_vault=False)
    wiz.next()
    wiz.storage_page.dropbox.setChecked(True)
    wiz.storage_page.dropbox_name.setText("Moved")
    wiz.next()
    _sign_in_dropbox(qtbot, wiz, dropbox_emulator)  # goes on where it stopped
    _finished(qtbot, wiz)
    vault = app.service.settings.vault
    assert vault is not None and vault.repo == "dropbox:Moved" and vault.vault_id == old.vault_id
    (src / "a.txt").write_text("second\n")
    _back_up(qtbot, app)
    assert _backups(qtbot, app) == 2
    stored = [p for p in dropbox_emulator.root.rglob("*") if p.is_file()]
    assert not any(b"second" in p.read_bytes() for p in stored)


def test_start_a_new_empty_backup_in_dropbox(
    qtbot: QtBot,
    tmp_path: Path,
    dropbox_emulator: DropboxEmulator,
    dropbox_env: dict[str, str],
    cleanup: Cleanup,
) -> None:
    app, _src = _backed_up(qtbot, tmp_path, cleanup)
    old = app.service.settings.vault
    assert old is not None
    wiz = _open_wizard(app, new_vault=True)
    wiz.choice_page.second.setChecked(True)  # start empty
    wiz.next()
    wiz.storage_page.dropbox.setChecked(True)
    wiz.storage_page.dropbox_name.setText("Fresh")
    wiz.next()
    _sign_in_dropbox(qtbot, wiz, dropbox_emulator)
    assert wiz.currentId() == PageId.PASSPHRASE
    wiz.passphrase_page.fields.first.setText(NEW_PASSPHRASE)
    wiz.passphrase_page.fields.second.setText(NEW_PASSPHRASE)
    wiz.next()
    rec = wiz.recovery_page
    qtbot.waitUntil(lambda: rec.opened is not None or wiz.passphrase_page.failed(), timeout=60_000)
    assert rec.opened is not None, wiz.passphrase_page.status.text()
    rec.confirm.setChecked(True)
    wiz.next()
    _finished(qtbot, wiz)
    vault = app.service.settings.vault
    assert vault is not None and vault.repo == "dropbox:Fresh"
    assert vault.vault_id != old.vault_id
    assert _backups(qtbot, app) == 0  # empty, as asked
    _back_up(qtbot, app)
    assert _backups(qtbot, app) == 1


@pytest.fixture
def no_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The app must use its own settings and keyring, not this machine's AWS setup."""
    for var in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_PROFILE",
        "KEEPSAKE_S3_ENDPOINT",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.mark.usefixtures("no_aws_env")
def test_new_backup_with_history_in_s3_then_copied_back_to_a_drive(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup, s3_server: RcloneS3
) -> None:
    app, src = _backed_up(qtbot, tmp_path, cleanup)
    wiz = _open_wizard(app, new_vault=True)
    wiz.next()
    wiz.storage_page.s3.setChecked(True)
    wiz.next()
    assert wiz.currentId() == PageId.S3
    form = wiz.s3_page.form
    assert not form.existing  # a new backup needs an empty place
    prefix = f"move-{uuid.uuid4().hex[:8]}"
    form.set_endpoint(s3_server.endpoint)
    form.bucket.setText(BUCKET)
    form.folder.setText(prefix)
    form.access_key.setText(ACCESS_KEY)
    form.secret_key.setText(SECRET_KEY)
    with qtbot.waitSignal(form.testedChanged, timeout=30_000):
        form.run_test()
    assert wiz.s3_page.isComplete(), form.status.text()
    wiz.next()
    assert wiz.currentId() == PageId.PASSPHRASE
    wiz.passphrase_page.fields.first.setText(NEW_PASSPHRASE)
    wiz.passphrase_page.fields.second.setText(NEW_PASSPHRASE)
    wiz.next()
    rec = wiz.recovery_page
    qtbot.waitUntil(lambda: rec.opened is not None or wiz.passphrase_page.failed(), timeout=60_000)
    assert rec.opened is not None, wiz.passphrase_page.status.text()
    rec.confirm.setChecked(True)
    wiz.next()
    _finished(qtbot, wiz)
    s3_repo = f"s3:{BUCKET}/{prefix}"
    vault = app.service.settings.vault
    assert vault is not None and vault.repo == s3_repo
    assert _backups(qtbot, app) == 1
    (src / "a.txt").write_text("second\n")
    _back_up(qtbot, app)
    wiz.accept()

    # And from S3 to a new drive, as is: the new passphrase keeps working there.
    wiz = _open_wizard(app, new_vault=False)
    wiz.next()
    dest = tmp_path / "usb" / "Keepsake Backup"
    dest.parent.mkdir()
    wiz.storage_page.local.setChecked(True)
    wiz.storage_page.path.setText(str(dest))
    wiz.next()
    _finished(qtbot, wiz)
    vault = app.service.settings.vault
    assert vault is not None and vault.repo == str(dest)
    assert app.service.remembered_passphrase() == NEW_PASSPHRASE
    assert _backups(qtbot, app) == 2


def test_change_location_connects_a_backup_another_computer_made_in_dropbox(
    qtbot: QtBot,
    tmp_path: Path,
    dropbox_emulator: DropboxEmulator,
    dropbox_env: dict[str, str],
    make_dropbox_storage: StorageFactory,
    cleanup: Cleanup,
) -> None:
    other, _key = Vault.create(make_dropbox_storage("Family"), NEW_PASSPHRASE, tmp_path / "c2")
    with other:
        made = tmp_path / "laptop"
        made.mkdir()
        (made / "letter.txt").write_text("from the laptop\n")
        other.backup([str(made)])
        other_id = other.id
    app, _src = _backed_up(qtbot, tmp_path, cleanup)
    wiz = _open_wizard(app, new_vault=False)
    wiz.choice_page.second.setChecked(True)  # use a backup that is already there
    wiz.next()
    wiz.storage_page.dropbox.setChecked(True)
    wiz.storage_page.dropbox_name.setText("Family")
    wiz.next()
    _sign_in_dropbox(qtbot, wiz, dropbox_emulator)
    assert wiz.currentId() == PageId.UNLOCK
    unlock = wiz.unlock_page
    unlock.secret.setText(NEW_PASSPHRASE)
    wiz.next()
    qtbot.waitUntil(lambda: wiz.currentId() == PageId.MOVE_FINISH, timeout=60_000)
    _finished(qtbot, wiz)
    vault = app.service.settings.vault
    assert vault is not None and vault.repo == "dropbox:Family" and vault.vault_id == other_id
    assert app.service.remembered_passphrase() == NEW_PASSPHRASE
    assert _backups(qtbot, app) == 1  # the laptop's backup
    _back_up(qtbot, app)
    assert _backups(qtbot, app) == 2  # this computer's, beside it
