"""AppStream metainfo for software centres, with releases read from CHANGELOG.md.

A heading ``## [1.2.0] - 2027-01-31`` becomes a stable release; ``## [Unreleased]`` at
the top becomes a development release of the current version dated at build time.
"""

from __future__ import annotations

import re
from datetime import date
from xml.sax.saxutils import escape

APP_ID = "io.github.keepsake.Keepsake"
SCREENSHOT_BASE = "https://raw.githubusercontent.com/keepsake/keepsake/main/docs/screenshots/"
SCREENSHOTS = (
    ("overview-idle.png", "The overview: when the last backup ran and when the next one will"),
    ("versions.png", "Find a file as it was on any day and restore it"),
    ("wizard-2-storage.png", "Choose where backups go: a drive or Dropbox"),
)
_HEADING = re.compile(
    r"^## \[(?P<ver>[^\]]+)\](?:\s*-\s*(?P<date>\d{4}-\d{2}-\d{2}))?", re.MULTILINE
)


def releases(changelog: str, version: str, today: date) -> list[tuple[str, str, str]]:
    """(version, ISO date, type) newest first."""
    out: list[tuple[str, str, str]] = []
    for m in _HEADING.finditer(changelog):
        if m["ver"].lower() == "unreleased":
            if not out:
                out.append((version, today.isoformat(), "development"))
        elif m["date"]:
            out.append((m["ver"], m["date"], "stable"))
    return out


def metainfo(changelog: str, version: str, today: date) -> str:
    rel = "\n".join(
        f'    <release version="{escape(v)}" date="{d}" type="{t}"/>'
        for v, d, t in releases(changelog, version, today)
    )
    default = ' type="default"'
    shots = "\n".join(
        f"    <screenshot{default if i == 0 else ''}>\n"
        f"      <image>{SCREENSHOT_BASE}{name}</image>\n      <caption>{escape(caption)}</caption>\n"
        "    </screenshot>"
        for i, (name, caption) in enumerate(SCREENSHOTS)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<component type="desktop-application">
  <id>{APP_ID}</id>
  <metadata_license>CC0-1.0</metadata_license>
  <project_license>GPL-3.0-or-later</project_license>
  <name>Keepsake</name>
  <summary>Encrypted backups of your photos and documents</summary>
  <developer id="io.github.keepsake">
    <name>Keepsake developers</name>
  </developer>
  <description>
    <p>
      Keepsake backs up the folders you choose to an external drive, a folder or your
      own Dropbox, on a schedule, in the background. Everything is encrypted on your
      computer before it leaves it, and only what changed is stored again.
    </p>
    <p>Features:</p>
    <ul>
      <li>Client-side encryption with a passphrase and a printable recovery key</li>
      <li>Incremental, deduplicated backups: renames and copies cost nothing</li>
      <li>Find any file as it was on any day and restore it, or drag it out of the window</li>
      <li>A tray icon that says whether your files are safe</li>
    </ul>
  </description>
  <launchable type="desktop-id">{APP_ID}.desktop</launchable>
  <icon type="stock">keepsake</icon>
  <url type="homepage">https://github.com/keepsake/keepsake</url>
  <url type="bugtracker">https://github.com/keepsake/keepsake/issues</url>
  <categories>
    <category>Utility</category>
    <category>Archiving</category>
  </categories>
  <keywords>
    <keyword>backup</keyword>
    <keyword>restore</keyword>
    <keyword>encryption</keyword>
    <keyword>dropbox</keyword>
  </keywords>
  <provides>
    <binary>keepsake</binary>
  </provides>
  <content_rating type="oars-1.1"/>
  <screenshots>
{shots}
  </screenshots>
  <releases>
{rel}
  </releases>
</component>
"""
