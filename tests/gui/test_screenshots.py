"""``keepsake screenshots DIR`` renders every page against a demo vault."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from app.devtools.screenshots import demo_root

EXPECTED = {
    "wizard-1-welcome",
    "wizard-2-storage",
    "wizard-2-s3",
    "wizard-3-passphrase",
    "wizard-4-recovery-key",
    "wizard-5-folders",
    "wizard-6-schedule",
    "wizard-7-done",
    "wizard-restore-unlock",
    "overview-idle",
    "overview-backing-up",
    "overview-damaged",  # a backup in the vault that cannot be read
    "folders",
    "versions",
    "versions-search",
    "versions-deleted",
    "versions-timeline",
    "settings",
    "activity",
    "tray-menu",
    "tray-menu-folder-missing",
    "folders-missing",
    "tray-icons",
    "notification-first-backup",  # the app's own bubble (no tray offscreen)
    "notification-backup-failed",
    "move-new-backup",  # Settings › Storage
    "move-1-choice",
    "move-2-done",
}


def test_render_screenshots(qtbot: QtBot, tmp_path: Path) -> None:
    from app.devtools.screenshots import render_screenshots

    out = tmp_path / "shots"
    assert render_screenshots(str(out)) == 0
    assert {p.stem for p in out.glob("*.png")} == EXPECTED
    for png in out.glob("*.png"):
        image = QImage(str(png))
        assert not image.isNull() and image.width() >= 100, png.name


HOLD_THE_ROOT = """
import sys
from pathlib import Path
from app.devtools.screenshots import demo_root
with demo_root(Path(sys.argv[1])) as root:
    (root / "theirs").write_text("a demo vault in use")
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_concurrent_renders_take_turns_on_the_demo_root(tmp_path: Path) -> None:
    """The demo root is a fixed path (so the pictures show stable paths): a second
    run must not wipe it under the first (as parallel test workers did)."""
    root = tmp_path / "keepsake-demo"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_ROOT, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(BlockingIOError), demo_root(root, wait=False):
            pass
        assert (root / "theirs").read_text() == "a demo vault in use"
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        assert holder.wait(timeout=60) == 0
    assert not root.exists()  # the holder cleaned up after itself
    with demo_root(root, wait=False) as mine:
        assert mine == root and list(mine.iterdir()) == []
