"""Issue 12 item 5 with the real engine: one big file shows its phases and its bytes
while it is read, not "Opening the vault · 0%" until the end."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.events import Phase, Progress
from tests.gui.helpers import drive_wizard, finish, make_app

Cleanup = list[Callable[[], object]]
MiB = 1024 * 1024


def test_one_big_file_shows_phases_and_bytes_as_they_are_read(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Faster ticks than the app's five a second, so a fast machine still shows several.
    monkeypatch.setattr("app.services.jobs.PROGRESS_INTERVAL_S", 0.02)
    monkeypatch.setattr("app.engine.progress.DEFAULT_INTERVAL_S", 0.02)
    src = tmp_path / "home" / "Videos"
    src.mkdir(parents=True)
    size = 96 * MiB
    with open(src / "holiday.mov", "wb") as fh:
        for _ in range(size // (8 * MiB)):
            fh.write(os.urandom(8 * MiB))
    app = make_app(qtbot, tmp_path, cleanup, use_tray=False)
    app.start()
    wiz = drive_wizard(qtbot, app, tmp_path / "vault", [src])
    seen: list[tuple[Progress, str]] = []
    overview = app.window.overview
    app.service.progress.connect(lambda p: seen.append((p, overview.phase.text())))
    with qtbot.waitSignal(app.service.jobFinished, timeout=120_000) as blocker:
        finish(wiz)
    assert blocker.args[0].ok, blocker.args[0].message
    phases = [p.phase for p, _ in seen]
    assert Phase.BACKING_UP in phases, phases
    assert Phase.FINISHING in phases, phases
    assert phases.index(Phase.BACKING_UP) < phases.index(Phase.FINISHING)
    inside = [p for p, _ in seen if p.files_done == 0 and 0 < p.bytes_done < size]
    assert inside, [(p.phase, p.files_done, p.bytes_done) for p, _ in seen]
    assert any(text == "Backing up" for _, text in seen)
    done = [p.bytes_done for p, _ in seen]
    assert done == sorted(done), "bytes went backwards"
