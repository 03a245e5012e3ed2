"""Issue 12 item 12: user-visible strings go through Qt's translation machinery, and
the ``.ts`` file a translator starts from is what ``pyside6-lupdate`` makes of the
source today."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QLocale, QTranslator
from pytestqt.qtbot import QtBot

from app.ui import fmt
from app.ui.i18n import install_translators, remove_translators, translations_dir
from tests.gui.helpers import drive_wizard, finish, make_app

Cleanup = list[Callable[[], object]]
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _messages(ts: Path) -> set[tuple[str, str]]:
    root = ET.parse(ts).getroot()
    return {
        (ctx.findtext("name") or "", msg.findtext("source") or "")
        for ctx in root.iter("context")
        for msg in ctx.iter("message")
    }


def _sources() -> list[str]:
    ui = ROOT / "app" / "ui"
    files = sorted(
        [
            *ui.glob("*.py"),
            *(ui / "wizard").glob("*.py"),
            *(ui / "versions").glob("*.py"),
            *(ROOT / "app" / "services").glob("*.py"),
        ]
    )
    return [str(f) for f in files]


@pytest.mark.skipif(not (BIN / "pyside6-lupdate").exists(), reason="no pyside6-lupdate")
def test_the_ts_file_is_up_to_date_with_the_source(tmp_path: Path) -> None:
    committed = translations_dir() / "keepsake_de.ts"
    fresh = tmp_path / "fresh.ts"
    subprocess.run(
        [str(BIN / "pyside6-lupdate"), *_sources(), "-locations", "none", "-ts", str(fresh)],
        check=True,
        capture_output=True,
    )
    new = _messages(fresh)
    assert ("OverviewPage", "Back up now") in new
    assert ("WelcomePage", "Welcome to Keepsake") in new
    assert ("VersionsPage", "Show deleted files") in new  # the version browser too
    assert ("VersionsPage", "Restored to {dest}.") in new  # its restore mixin
    assert ("HistoryModel", "What changed") in new  # column titles (QT_TRANSLATE_NOOP)
    assert len(new) > 120
    assert _messages(committed) == new, "run `make translations`"


@pytest.mark.skipif(not (BIN / "pyside6-lrelease").exists(), reason="no pyside6-lrelease")
def test_a_translation_shows_in_the_window_and_the_wizard(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    ts = (translations_dir() / "keepsake_de.ts").read_text(encoding="utf-8")
    for source, german in (
        ("Back up now", "Jetzt sichern"),
        ("Welcome to Keepsake", "Willkommen bei Keepsake"),
    ):
        ts = ts.replace(
            f'<source>{source}</source>\n        <translation type="unfinished"></translation>',
            f"<source>{source}</source>\n        <translation>{german}</translation>",
        )
    (tmp_path / "keepsake_de.ts").write_text(ts, encoding="utf-8")
    subprocess.run(
        [str(BIN / "pyside6-lrelease"), str(tmp_path / "keepsake_de.ts")],
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "keepsake_de.qm").exists()
    app = QCoreApplication.instance()
    assert app is not None
    installed = install_translators(app, QLocale("de_DE"), tmp_path)
    try:
        assert installed, "the German translation did not load"
        keepsake = make_app(qtbot, tmp_path, cleanup, use_tray=False)
        assert keepsake.window.overview.backup_btn.text() == "Jetzt sichern"
        assert keepsake.show_wizard().welcome_page.title() == "Willkommen bei Keepsake"
    finally:
        remove_translators(app, installed)


def _german(tmp_path: Path, words: dict[str, str]) -> list[QTranslator]:
    """The committed catalog with ``words`` (source -> German, in any context)
    filled in, compiled with the project's lrelease and installed."""
    tree = ET.parse(translations_dir() / "keepsake_de.ts")
    filled = set()
    for msg in tree.getroot().iter("message"):
        source = msg.findtext("source") or ""
        translation = msg.find("translation")
        if source in words and translation is not None:
            translation.text = words[source]
            translation.attrib.pop("type", None)
            filled.add(source)
    assert filled == set(words), f"not in keepsake_de.ts: {set(words) - filled}"
    tree.write(tmp_path / "keepsake_de.ts", encoding="utf-8", xml_declaration=True)
    subprocess.run(
        [str(BIN / "pyside6-lrelease"), str(tmp_path / "keepsake_de.ts")],
        check=True,
        capture_output=True,
    )
    app = QCoreApplication.instance()
    assert app is not None
    installed = install_translators(app, QLocale("de_DE"), tmp_path)
    assert installed, "the German translation did not load"
    return installed


@pytest.mark.skipif(not (BIN / "pyside6-lrelease").exists(), reason="no pyside6-lrelease")
def test_status_headline_tray_and_notifications_come_out_translated(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    """Issue 12 item 12's leftover: the words the services compose (the status the
    Overview and the tray show, the notifications) go through the translator too."""
    installed = _german(
        tmp_path,
        {
            "Up to date": "Aktuell",
            "Your files are backed up and encrypted.": "Ihre Dateien sind gesichert.",
            "Your first backup is complete": "Ihre erste Sicherung ist fertig",
            "Keepsake will now keep your files backed up automatically.": (
                "Keepsake sichert Ihre Dateien ab jetzt automatisch."
            ),
            "Keepsake: {headline}": "Keepsake – {headline}",
            "Last backup {when}": "Letzte Sicherung: {when}",
            "just now": "gerade eben",
            "{n} new file": "{n} neue Datei",
        },
    )
    app = QCoreApplication.instance()
    assert app is not None
    try:
        src = tmp_path / "home" / "Documents"
        src.mkdir(parents=True)
        (src / "a.txt").write_text("a\n")
        keepsake = make_app(qtbot, tmp_path, cleanup)
        notes: list[tuple[str, str, str, str]] = []
        keepsake.service.notify.connect(lambda *args: notes.append(args))
        keepsake.start()
        wiz = drive_wizard(qtbot, keepsake, tmp_path / "vault", [src])
        with qtbot.waitSignal(keepsake.service.jobFinished, timeout=60_000) as done:
            finish(wiz)
        assert done.args[0].ok
        assert notes == [
            (
                "Ihre erste Sicherung ist fertig",
                "Keepsake sichert Ihre Dateien ab jetzt automatisch.",
                "info",
                "Overview",
            )
        ]
        status = keepsake.service.status()
        assert (status.headline, status.detail) == ("Aktuell", "Ihre Dateien sind gesichert.")
        overview = keepsake.window.overview
        assert overview.headline.text() == "Aktuell"
        assert overview.detail.text() == "Ihre Dateien sind gesichert."
        assert "1 neue Datei" in overview.last.text()
        assert keepsake.tray is not None
        assert keepsake.tray.tooltip() == "Keepsake – Aktuell\nLetzte Sicherung: gerade eben"
        # humanize's phrases follow the same language.
        assert fmt.when(datetime.now(UTC) - timedelta(minutes=5)) == "vor 5 Minuten"
    finally:
        remove_translators(app, installed)
