"""Shared fixtures for tests that talk to the loopback S3 server.

Use from any test module with ``pytest_plugins = ["tests.s3_conftest"]``:

* ``s3_server``: one ``rclone serve s3`` per test session (per xdist worker);
  tests stay apart by using their own key prefix, never by restarting it.
* ``s3_spec``: a fresh ``BUCKET/PREFIX`` for this test (``s3:`` + it is a REPO).
* ``s3_env``: the server's environment (endpoint, keys, region) applied with
  monkeypatch, for code that reads ``os.environ`` (CLI, factory).
* ``make_s3_storage``: builds an ``S3Storage`` on the server (or on a proxy's
  endpoint); keyword arguments override the constructor defaults.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from app.storage.s3.backend import S3Storage
from app.storage.s3.config import parse_location
from tests.s3_server import BUCKET, RcloneS3
from tests.s3_server.client import S3Factory, settings_for


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RcloneS3]:
    with RcloneS3(tmp_path_factory.mktemp("s3") / "root") as server:
        yield server


@pytest.fixture
def s3_spec() -> str:
    return f"{BUCKET}/t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def s3_env(s3_server: RcloneS3, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = s3_server.env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return env


@pytest.fixture
def make_s3_storage(s3_server: RcloneS3, s3_spec: str) -> Iterator[S3Factory]:
    made: list[S3Storage] = []

    def make(spec: str = s3_spec, *, endpoint: str | None = None, **overrides: Any) -> S3Storage:
        options: dict[str, Any] = {
            "settings": settings_for(endpoint or s3_server.endpoint),
            "sleep": lambda _s: None,
            "read_timeout": 20.0,
        }
        options.update(overrides)
        storage = S3Storage(parse_location(spec), **options)
        made.append(storage)
        return storage

    yield make
    for storage in made:
        storage.close()
