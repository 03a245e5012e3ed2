"""Client-side helpers for tests: settings and storages pointed at the loopback server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.storage.s3.backend import S3Storage
from app.storage.s3.config import S3Credentials, S3Settings
from tests.s3_server.server import ACCESS_KEY, REGION, SECRET_KEY, RcloneS3

S3Factory = Callable[..., S3Storage]


def settings_for(endpoint: str, **credentials: Any) -> S3Settings:
    creds = {"access_key_id": ACCESS_KEY, "secret_access_key": SECRET_KEY, **credentials}
    return S3Settings(endpoint=endpoint, region=REGION, credentials=S3Credentials(**creds))


def server_path(server: RcloneS3, spec: str) -> Path:
    """Where the server keeps the objects of ``spec`` on disk."""
    return server.root / spec
