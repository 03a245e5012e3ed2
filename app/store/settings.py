"""Desktop-app settings: one JSON document in the platform config dir.

The document carries a ``schema_version``. Loading an older document migrates it one
version at a time, after copying the original to ``settings.v<N>.bak`` so a bad
migration never loses the user's setup. A newer document (written by a later
Keepsake) is read as far as we understand it and never overwritten with less.

Only the GUI thread writes settings; worker threads receive the values they need.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from app.core.paths import private_dir

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
FILE_NAME = "settings.json"

DEFAULT_EXCLUDES: tuple[str, ...] = (
    "**/.cache",
    "**/cache",
    "**/Cache",
    "**/Caches",
    "**/.Trash*",
    "**/Trash",
    "**/$RECYCLE.BIN",
    "**/tmp",
    "**/.tmp",
    "**/*.tmp",
    "**/*.temp",
    "**/~$*",
    "**/Thumbs.db",
    "**/.DS_Store",
    "**/node_modules",
    "**/__pycache__",
)


class ScheduleMode(StrEnum):
    MANUAL = "manual"
    HOURLY = "hourly"
    EVERY_N_HOURS = "every_n_hours"
    DAILY = "daily"


@dataclass(frozen=True, slots=True)
class Schedule:
    mode: ScheduleMode = ScheduleMode.HOURLY
    every_hours: int = 4  # used by EVERY_N_HOURS
    daily_at: str = "12:00"  # local "HH:MM", used by DAILY

    def describe(self) -> str:
        if self.mode is ScheduleMode.MANUAL:
            return "Only when you press Back up now"
        if self.mode is ScheduleMode.HOURLY:
            return "Every hour"
        if self.mode is ScheduleMode.EVERY_N_HOURS:
            return f"Every {self.every_hours} hours"
        return f"Every day at {self.daily_at}"


@dataclass(frozen=True, slots=True)
class Retention:
    """Time-Machine-like thinning; ``None`` means "forever"."""

    keep_all_hours: int = 24
    keep_daily_days: int = 30
    keep_weekly_weeks: int = 52
    keep_monthly_months: int | None = None

    def describe(self) -> str:
        monthly = (
            "monthly after that"
            if self.keep_monthly_months is None
            else f"monthly for {self.keep_monthly_months} months"
        )
        return (
            f"Every backup for {self.keep_all_hours} hours, daily for "
            f"{self.keep_daily_days} days, weekly for {self.keep_weekly_weeks} weeks, "
            f"{monthly}"
        )


@dataclass(frozen=True, slots=True)
class VaultRef:
    """Where the vault lives (``repo`` is a folder path, ``dropbox:NAME`` or
    ``s3:BUCKET/PREFIX``)."""

    repo: str
    vault_id: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class Settings:
    vault: VaultRef | None = None
    folders: tuple[str, ...] = ()
    excludes: tuple[str, ...] = DEFAULT_EXCLUDES
    schedule: Schedule = field(default_factory=Schedule)
    retention: Retention = field(default_factory=Retention)
    bandwidth_limit_kbps: int = 0  # 0 = unlimited
    start_at_login: bool = True
    stale_after_days: int = 3  # warn when no backup succeeded for this long
    remember_passphrase: bool = True
    tray_hint_shown: bool = False
    dropbox_app_key: str = ""
    s3_endpoint: str = ""  # the S3 keys live in the keyring, never here
    last_retention_run: datetime | None = None
    schema_version: int = SCHEMA_VERSION

    @property
    def is_set_up(self) -> bool:
        return self.vault is not None and bool(self.folders)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


# ---------------------------------------------------------------- (de)serialising


def _to_json(settings: Settings) -> dict[str, Any]:
    data = asdict(settings)
    data["schedule"]["mode"] = settings.schedule.mode.value
    data["last_retention_run"] = (
        settings.last_retention_run.isoformat() if settings.last_retention_run else None
    )
    data["folders"] = list(settings.folders)
    data["excludes"] = list(settings.excludes)
    return data


def _from_json(data: dict[str, Any]) -> Settings:
    """Build Settings from a current-version document, ignoring unknown keys."""
    defaults = Settings()
    vault_data = data.get("vault")
    vault = None
    if isinstance(vault_data, dict) and vault_data.get("repo"):
        vault = VaultRef(
            repo=str(vault_data["repo"]),
            vault_id=str(vault_data.get("vault_id", "")),
            description=str(vault_data.get("description", "")),
        )
    sched_data = data.get("schedule") or {}
    try:
        mode = ScheduleMode(sched_data.get("mode", defaults.schedule.mode.value))
    except ValueError:
        mode = defaults.schedule.mode
    schedule = Schedule(
        mode=mode,
        every_hours=max(1, min(24, int(sched_data.get("every_hours", 4)))),
        daily_at=str(sched_data.get("daily_at", "12:00")),
    )
    ret_data = data.get("retention") or {}
    monthly = ret_data.get("keep_monthly_months")
    retention = Retention(
        keep_all_hours=int(ret_data.get("keep_all_hours", 24)),
        keep_daily_days=int(ret_data.get("keep_daily_days", 30)),
        keep_weekly_weeks=int(ret_data.get("keep_weekly_weeks", 52)),
        keep_monthly_months=None if monthly is None else int(monthly),
    )
    last_ret = data.get("last_retention_run")
    return Settings(
        vault=vault,
        folders=tuple(str(p) for p in data.get("folders", ())),
        excludes=tuple(str(p) for p in data.get("excludes", DEFAULT_EXCLUDES)),
        schedule=schedule,
        retention=retention,
        bandwidth_limit_kbps=max(0, int(data.get("bandwidth_limit_kbps", 0))),
        start_at_login=bool(data.get("start_at_login", True)),
        stale_after_days=max(1, min(365, int(data.get("stale_after_days", 3)))),
        remember_passphrase=bool(data.get("remember_passphrase", True)),
        tray_hint_shown=bool(data.get("tray_hint_shown", False)),
        dropbox_app_key=str(data.get("dropbox_app_key", "")),
        s3_endpoint=str(data.get("s3_endpoint", "")),
        last_retention_run=datetime.fromisoformat(last_ret) if last_ret else None,
        schema_version=SCHEMA_VERSION,
    )


# ---------------------------------------------------------------- migrations


def _migrate_1_to_2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 kept the vault as a bare ``repo`` string and the schedule as ``interval_hours``."""
    out = dict(data)
    repo = out.pop("repo", None)
    if repo and "vault" not in out:
        out["vault"] = {"repo": repo, "vault_id": out.pop("vault_id", ""), "description": ""}
    hours = out.pop("interval_hours", None)
    if hours is not None and "schedule" not in out:
        hours = int(hours)
        if hours <= 0:
            out["schedule"] = {"mode": ScheduleMode.MANUAL.value}
        elif hours == 1:
            out["schedule"] = {"mode": ScheduleMode.HOURLY.value}
        else:
            out["schedule"] = {"mode": ScheduleMode.EVERY_N_HOURS.value, "every_hours": hours}
    out["schema_version"] = 2
    return out


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _migrate_1_to_2}


class SettingsStore:
    """Loads and atomically saves :class:`Settings` in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / FILE_NAME
        self._newer_than_us = False

    def load(self) -> Settings:
        """Read settings; a missing file gives defaults, an unreadable one is set aside.

        A corrupt file is renamed to ``settings.json.corrupt`` (not deleted) and
        defaults are returned, so the app starts and the wizard can run again.
        """
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Settings()
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            version = int(data.get("schema_version", 1))
        except (ValueError, TypeError) as exc:
            log.warning("Settings file %s is unreadable (%s); starting fresh", self.path, exc)
            shutil.copy2(self.path, self.path.with_suffix(".json.corrupt"))
            return Settings()
        if version > SCHEMA_VERSION:
            log.warning("Settings were written by a newer Keepsake (v%d); read-only", version)
            self._newer_than_us = True
            return _from_json(data)
        if version < SCHEMA_VERSION:
            backup = self.directory / f"settings.v{version}.bak"
            shutil.copy2(self.path, backup)
            while version < SCHEMA_VERSION:
                data = MIGRATIONS[version](data)
                version = int(data["schema_version"])
            settings = _from_json(data)
            self.save(settings)
            log.info("Migrated settings to schema v%d (backup in %s)", SCHEMA_VERSION, backup)
            return settings
        return _from_json(data)

    def save(self, settings: Settings) -> None:
        """Write atomically (temp file + rename) so a crash never leaves half a file."""
        if self._newer_than_us:
            log.warning("Not saving settings over a newer schema")
            return
        private_dir(self.directory)
        text = json.dumps(_to_json(settings), indent=2, sort_keys=True)
        fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def load_configured_repo(directory: Path | None = None) -> str | None:
    """The vault the desktop app is set up with (for the CLI's default REPO)."""
    if directory is None:
        from app.core.paths import config_dir

        directory = config_dir()
    vault = SettingsStore(directory).load().vault
    return vault.repo if vault else None


def utc_now() -> datetime:
    return datetime.now(UTC)
