"""Issue 12 item 4 against the Dropbox emulator: Settings' upload speed limit reaches
the storage (a throttled backup takes the time the limit says, and a change applies
to the running backup), and a 429 Retry-After shows "Dropbox asked us to slow down,
resuming at HH:MM" in the window."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from pytestqt.qtbot import QtBot

from app.core.events import Phase, Progress
from app.main import Keepsake
from app.services.jobs import JobOutcome
from app.services.vault import OpenedVault
from app.store.history import JobStatus
from app.store.settings import Schedule, ScheduleMode, VaultRef
from tests.dropbox_emulator import DropboxEmulator, Faults
from tests.gui.helpers import PASSPHRASE, make_app

pytest_plugins = ["tests.dropbox_conftest"]

Cleanup = list[Callable[[], object]]
KiB = 1024


def _dropbox_app(qtbot: QtBot, tmp_path: Path, cleanup: Cleanup, src: Path) -> Keepsake:
    app = make_app(qtbot, tmp_path, cleanup, use_tray=False)
    repo = "dropbox:Throttled"
    with qtbot.waitCallback(timeout=60_000) as created:
        app.service.vaults.create(repo, PASSPHRASE, created)
    outcome: JobOutcome[OpenedVault] = created.args[0]
    assert outcome.ok, outcome.message
    app.service.update_settings(
        app.service.settings.with_(
            vault=VaultRef(repo, outcome.value.vault_id, "Dropbox"),
            folders=(str(src),),
            schedule=Schedule(ScheduleMode.MANUAL),
        )
    )
    app.start()
    return app


def _write(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))


def test_upload_limit_paces_the_backup_and_changes_while_it_runs(
    qtbot: QtBot, tmp_path: Path, dropbox_env: dict[str, str], cleanup: Cleanup
) -> None:
    # dropbox_env before cleanup: the emulator stops after the app shut down.
    src = tmp_path / "home" / "Pictures"
    _write(src / "a.jpg", 768 * KiB)
    app = _dropbox_app(qtbot, tmp_path, cleanup, src)
    settings_page = app.window.settings_page
    settings_page.bandwidth.setValue(256)  # KB/s, as a user types it
    assert app.service.settings.bandwidth_limit_kbps == 256
    started = time.monotonic()
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000) as blocker:
        app.window.overview.backup_btn.click()
    elapsed = time.monotonic() - started
    outcome, record = blocker.args
    assert outcome.ok, outcome.message
    sent = record.bytes_uploaded
    assert sent >= 768 * KiB
    # The bucket starts with a burst of 64 KiB; the rest goes at 256 KiB/s.
    expected = (sent - 64 * KiB) / (256 * KiB)
    assert elapsed >= 0.85 * expected, f"{sent} bytes in {elapsed:.1f} s at 256 KiB/s"
    assert elapsed < expected + 20

    # A crawl (would take a minute), lifted while the backup runs.
    _write(src / "b.jpg", 1536 * KiB)
    settings_page.bandwidth.setValue(24)
    started = time.monotonic()
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000) as blocker:
        app.window.overview.backup_btn.click()
        qtbot.wait(1500)
        assert app.runner.busy, "the throttled backup finished too soon"
        settings_page.bandwidth.setValue(0)  # Unlimited
    elapsed = time.monotonic() - started
    assert blocker.args[0].ok, blocker.args[0].message
    assert elapsed < 30, f"the lifted limit did not reach the running backup ({elapsed:.0f} s)"


def test_a_429_shows_when_the_backup_resumes(
    qtbot: QtBot,
    tmp_path: Path,
    dropbox_env: dict[str, str],
    dropbox_emulator: DropboxEmulator,
    cleanup: Cleanup,
) -> None:
    src = tmp_path / "home" / "Documents"
    _write(src / "letter.txt", 64 * KiB)
    app = _dropbox_app(qtbot, tmp_path, cleanup, src)
    seen: list[tuple[Progress, str]] = []
    phase_label = app.window.overview.phase
    app.service.progress.connect(lambda p: seen.append((p, phase_label.text())))
    # The backup's first upload is answered "429, retry after 2 s".
    dropbox_emulator.faults = Faults(retry_after=2)
    dropbox_emulator.fail_next("files/upload", "rate_limit_json")
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000) as blocker:
        app.window.overview.backup_btn.click()
    outcome, record = blocker.args
    assert outcome.ok, outcome.message
    assert record.status is JobStatus.OK
    assert dropbox_emulator.faults_injected["rate_limit_json"] == 1
    waiting = [(p, text) for p, text in seen if p.phase is Phase.WAITING]
    assert waiting, [p.phase for p, _ in seen]
    progress, text = waiting[0]
    assert progress.resume_at is not None
    assert re.fullmatch(r"Dropbox asked us to slow down, resuming at \d\d:\d\d", text), text
    assert f"{progress.resume_at.astimezone():%H:%M}" in text
