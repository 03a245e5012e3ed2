"""The packaging files agree with the app and with the formats their tools read."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from app.core.process import APP_MUTEX_NAMES, hold_app_mutex
from installers.licenses import Bundled, bundled_licenses, debian_copyright
from installers.linux import appstream

ROOT = Path(__file__).resolve().parents[2]
ISS = (ROOT / "installers" / "windows" / "keepsake.iss").read_text(encoding="utf-8")


def _iss_value(key: str) -> str:
    match = re.search(rf"^{key}=(.*)$", ISS, re.MULTILINE)
    assert match, key
    return match.group(1).strip()


def test_inno_setup_waits_for_the_mutex_the_app_holds() -> None:
    assert _iss_value("AppMutex").split(",") == list(APP_MUTEX_NAMES)
    assert hold_app_mutex() is False  # not Windows: nothing to hold, nothing raised


def test_inno_setup_is_64_bit_replaces_the_bundle_and_removes_autostart() -> None:
    assert _iss_value("ArchitecturesInstallIn64BitMode") == "x64compatible"
    assert 'Type: filesandordirs; Name: "{app}\\_internal"' in ISS
    autostart = (ROOT / "app" / "store" / "autostart.py").read_text(encoding="utf-8")
    assert 'QueryValueEx(key, "Keepsake")' in autostart  # the value name the app writes
    run_key = next(line for line in ISS.splitlines() if line.startswith("Root: HKCU;"))
    assert "CurrentVersion\\Run" in run_key
    assert 'ValueName: "Keepsake"' in run_key and "uninsdeletevalue" in run_key
    assert "#ifdef Sign" in ISS and "SignTool=keepsake" in ISS


def test_changelog_headings_become_releases() -> None:
    text = "# Changelog\n\n## [Unreleased]\n\n- x\n\n## [0.2.0] - 2027-01-31\n\n## [0.1.0] - 2026-12-01\n"
    assert appstream.releases(text, "0.3.0", date(2027, 2, 2)) == [
        ("0.3.0", "2027-02-02", "development"),
        ("0.2.0", "2027-01-31", "stable"),
        ("0.1.0", "2026-12-01", "stable"),
    ]


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstreamcli is not installed")
def test_metainfo_validates(tmp_path: Path) -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    path = tmp_path / f"{appstream.APP_ID}.metainfo.xml"
    path.write_text(appstream.metainfo(changelog, "0.1.0", date(2026, 12, 2)), encoding="utf-8")
    proc = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(path)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_debian_copyright_is_machine_readable() -> None:
    items = bundled_licenses()
    names = {item.name.lower() for item in items}
    assert {"pyside6", "cryptography", "dropbox", "zstandard", "python"} <= names
    text = debian_copyright(items, {"libssl.so.3": "libssl3", "libcrypto.so.3": "libssl3"})
    paragraphs = text.strip().split("\n\n")
    assert paragraphs[0].startswith(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
    )
    standalone = {
        p.split("\n", 1)[0].removeprefix("License: ")
        for p in paragraphs
        if p.startswith("License: ")
    }
    for para in paragraphs[1:]:
        fields = [line for line in para.splitlines() if not line.startswith(" ")]
        assert all(re.match(r"^[A-Za-z-]+: ?", line) for line in fields), para[:200]
        if para.startswith("Files: "):
            license_line = next(line for line in fields if line.startswith("License: "))
            has_text = any(
                line.startswith(" ") for line in para.splitlines()[fields.index(license_line) + 1 :]
            )
            if not has_text:  # a bare short name must have a paragraph of its own
                for name in re.split(r" or | and ", license_line.removeprefix("License: ")):
                    assert name in standalone, name
    assert "Files: opt/keepsake/_internal/libcrypto.so.3 opt/keepsake/_internal/libssl.so.3" in text


def test_qt_is_credited_under_the_lgpl() -> None:
    pyside = next(item for item in bundled_licenses() if item.name == "PySide6")
    assert isinstance(pyside, Bundled) and pyside.common_only
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in pyside.texts["LGPL-3"]
