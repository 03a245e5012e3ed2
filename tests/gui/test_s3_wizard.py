"""The wizard's S3 path, end to end against a real S3 server on loopback (``rclone
serve s3``): a custom endpoint, a connection test that refuses a wrong secret and
passes with the right one, keys into the keyring only, a first backup into
``s3:BUCKET/PREFIX``; then Settings › Storage's S3 dialog for the same vault."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.services.jobs import JobOutcome
from app.services.s3_presets import PRESETS
from app.store.history import JobStatus
from app.ui.s3_form import S3Dialog, S3Form, preset_for
from app.ui.wizard import PageId
from tests.gui.conftest import DictSecrets
from tests.gui.helpers import PASSPHRASE, finish, make_app
from tests.s3_server import ACCESS_KEY, BUCKET, SECRET_KEY, RcloneS3

pytest_plugins = ["tests.s3_conftest"]

Cleanup = list[Callable[[], object]]


@pytest.fixture
def no_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The app must use its own settings and keyring, not this machine's AWS setup."""
    for var in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_PROFILE",
        "AWS_DEFAULT_REGION",
        "KEEPSAKE_S3_ENDPOINT",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


def test_presets_round_trip() -> None:
    for index, preset in enumerate(PRESETS[:-1]):
        endpoint = preset.endpoint("abc-1")
        assert preset_for(endpoint) == (index, "abc-1")
    assert preset_for("http://127.0.0.1:9000") == (len(PRESETS) - 1, "http://127.0.0.1:9000")
    assert PRESETS[0].endpoint("us-west-004") == "https://s3.us-west-004.backblazeb2.com"
    assert PRESETS[0].endpoint("") == ""


def fill(form: S3Form, endpoint: str, prefix: str, secret: str) -> None:
    form.set_endpoint(endpoint)
    form.bucket.setText(BUCKET)
    form.folder.setText(prefix)
    form.access_key.setText(ACCESS_KEY)
    form.secret_key.setText(secret)


def run_test(qtbot: QtBot, form: S3Form) -> None:
    form.run_test()
    qtbot.waitUntil(lambda: form.test_button.isEnabled(), timeout=30_000)


@pytest.mark.usefixtures("no_aws_env")
def test_wizard_tests_s3_and_backs_up_into_it(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup, s3_server: RcloneS3
) -> None:
    src = tmp_path / "home" / "Documents"
    src.mkdir(parents=True)
    for i in range(4):
        (src / f"letter{i}.txt").write_text(f"dear council {i}\n" * 300)
    secrets = DictSecrets()
    app = make_app(qtbot, tmp_path, cleanup, secrets=secrets)
    app.start()
    wiz = app.show_wizard()
    wiz.welcome_page.new.setChecked(True)
    wiz.next()
    storage = wiz.storage_page
    assert storage.s3.isEnabled()
    storage.s3.setChecked(True)
    assert not storage.path.isEnabled()
    wiz.next()
    assert wiz.currentId() == PageId.S3
    page = wiz.s3_page
    form = page.form
    assert not page.isComplete()
    prefix = f"wizard-{uuid.uuid4().hex[:8]}"

    fill(form, s3_server.endpoint, prefix, "not-the-secret")
    assert form.provider.currentIndex() == len(PRESETS) - 1  # "Other": a custom endpoint
    run_test(qtbot, form)
    assert not page.isComplete()
    assert "secret key" in form.status.text()
    assert secrets.get("s3-secret-access-key") is None  # nothing kept from a failed test

    form.secret_key.setText(SECRET_KEY)
    with qtbot.waitSignal(form.testedChanged, timeout=30_000):
        form.run_test()
    assert page.isComplete(), form.status.text()
    assert secrets.get("s3-access-key-id") == ACCESS_KEY
    assert secrets.get("s3-secret-access-key") == SECRET_KEY
    assert app.service.settings.s3_endpoint == s3_server.endpoint
    settings_file = (tmp_path / "config").rglob("*")
    assert not any(SECRET_KEY.encode() in p.read_bytes() for p in settings_file if p.is_file())
    form.folder.setText(prefix + "x")  # any change asks for a new test
    assert not page.isComplete()
    form.folder.setText(prefix)
    with qtbot.waitSignal(form.testedChanged, timeout=30_000):
        form.run_test()

    wiz.next()
    assert wiz.currentId() == PageId.PASSPHRASE
    wiz.passphrase_page.fields.first.setText(PASSPHRASE)
    wiz.passphrase_page.fields.second.setText(PASSPHRASE)
    wiz.next()
    rec = wiz.recovery_page
    created = wiz.passphrase_page
    qtbot.waitUntil(lambda: rec.opened is not None or created.failed(), timeout=60_000)
    assert rec.opened is not None, created.status.text()
    rec.confirm.setChecked(True)
    wiz.next()
    wiz.folders_page.editor.set_folders([str(src)])
    wiz.next()
    wiz.schedule_page.editor.manual.setChecked(True)
    wiz.next()
    assert wiz.currentId() == PageId.DONE
    with qtbot.waitSignal(app.service.jobFinished, timeout=120_000) as blocker:
        finish(wiz)
    outcome: JobOutcome[object] = blocker.args[0]
    record = blocker.args[1]
    assert outcome.ok, outcome.message
    assert record.status is JobStatus.OK and record.files_new == 4
    vault = app.service.settings.vault
    assert vault is not None and vault.repo == f"s3:{BUCKET}/{prefix}"
    stored = [p for p in (s3_server.root / BUCKET / prefix).rglob("*") if p.is_file()]
    assert any(p.parent.parent.name == "data" for p in stored)
    assert not any(b"dear council" in p.read_bytes() for p in stored)

    # Settings › Storage offers the S3 dialog for this vault, prefilled.
    settings_page = app.window.settings_page
    assert not settings_page.s3_button.isHidden()
    dialog = S3Dialog(settings_page.s3, vault.repo, app.service.settings.s3_endpoint)
    qtbot.addWidget(dialog)
    assert (dialog.form.bucket.text(), dialog.form.folder.text()) == (BUCKET, prefix)
    assert dialog.form.endpoint() == s3_server.endpoint and dialog.form.existing
    dialog.form.access_key.setText(ACCESS_KEY)
    dialog.form.secret_key.setText(SECRET_KEY)
    with qtbot.waitSignal(dialog.form.testedChanged, timeout=30_000):
        dialog.form.run_test()
    assert "Connected" in dialog.form.status.text()


@pytest.mark.usefixtures("no_aws_env")
def test_restoring_needs_a_vault_in_the_bucket(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup, s3_server: RcloneS3
) -> None:
    app = make_app(qtbot, tmp_path, cleanup)
    app.start()
    wiz = app.show_wizard()
    wiz.welcome_page.restore.setChecked(True)
    wiz.next()
    wiz.storage_page.s3.setChecked(True)
    wiz.next()
    form = wiz.s3_page.form
    assert form.existing
    fill(form, s3_server.endpoint, f"empty-{uuid.uuid4().hex[:8]}", SECRET_KEY)
    run_test(qtbot, form)
    assert not wiz.s3_page.isComplete()
    assert "no Keepsake backup" in form.status.text()
