"""Where Keepsake keeps its settings, cache and logs on this platform.

Environment overrides (``KEEPSAKE_CONFIG_DIR``, ``KEEPSAKE_CACHE_DIR``,
``KEEPSAKE_LOG_DIR``) let tests and portable installs relocate everything.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "keepsake"


def _dir(env: str, kind: str) -> Path:
    override = os.environ.get(env)
    if override:
        return Path(override)
    import platformdirs

    getter = {
        "config": platformdirs.user_config_dir,
        "cache": platformdirs.user_cache_dir,
        "log": platformdirs.user_log_dir,
        "data": platformdirs.user_data_dir,
    }[kind]
    return Path(getter(APP_NAME, appauthor=False))


def config_dir() -> Path:
    return _dir("KEEPSAKE_CONFIG_DIR", "config")


def cache_dir() -> Path:
    return _dir("KEEPSAKE_CACHE_DIR", "cache")


def log_dir() -> Path:
    return _dir("KEEPSAKE_LOG_DIR", "log")


def data_dir() -> Path:
    return _dir("KEEPSAKE_DATA_DIR", "data")
