"""The app's wiring against a fake engine: fast checks of the UI flow and states."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.services.backups import State
from tests.gui.fakes import FakeGateway
from tests.gui.helpers import drive_wizard, finish, make_app


@pytest.mark.parametrize("run", [1, 2])
def test_wizard_to_first_backup_with_fake_engine(
    run: int, qtbot: QtBot, tmp_path: Path, cleanup: list[Callable[[], object]]
) -> None:
    src = tmp_path / "home" / "Pictures"
    src.mkdir(parents=True)
    (src / "a.jpg").write_bytes(b"x" * 1000)
    gw = FakeGateway()
    app = make_app(qtbot, tmp_path, cleanup, gateway=gw)
    app.start()
    assert app.wizard is not None
    wiz = drive_wizard(qtbot, app, tmp_path / "vault", [src])
    with qtbot.waitSignal(app.service.jobFinished, timeout=10_000) as blocker:
        finish(wiz)
    outcome, record = blocker.args
    assert outcome.ok, outcome.message
    assert record.files_new == 1
    assert app.service.status().state is State.UP_TO_DATE
    assert app.tray is not None
    assert app.tray.state is State.UP_TO_DATE
    assert app.window.isVisible()
