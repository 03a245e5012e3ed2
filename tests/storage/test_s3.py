"""The S3 backend against a real S3 server on loopback (``rclone serve s3``)."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.awsrequest import AWSRequest

from app.core.errors import (
    AuthRequiredError,
    NotFoundInStorage,
    RateLimitedError,
    StorageError,
    StorageUnavailableError,
    TransientStorageError,
)
from app.storage.factory import describe_repo, open_storage
from app.storage.limiter import LimitedStorage, Limiter
from app.storage.s3 import S3RetryingStorage
from app.storage.s3.backend import MIN_PART, S3Storage
from app.storage.s3.config import (
    ACCESS_KEY_SECRET,
    SECRET_KEY_SECRET,
    S3Location,
    parse_location,
    region_from_endpoint,
    resolve_settings,
)
from tests.s3_server import BUCKET, FaultProxy, RcloneS3, S3Faults
from tests.s3_server.client import S3Factory, server_path, settings_for
from tests.s3_server.faults import Request
from tests.storage.contract import StorageContract

pytest_plugins = ["tests.s3_conftest"]

MiB = 1024 * 1024


def no_sleep(_seconds: float) -> None:
    pass


@pytest.fixture
def proxy(s3_server: RcloneS3) -> Iterator[FaultProxy]:
    with FaultProxy(s3_server.endpoint) as running:
        yield running


def is_part(request: Request) -> bool:
    return request.method == "PUT" and "partNumber=" in request.query


# -- the contract -------------------------------------------------------------------


class TestS3Storage(StorageContract):
    @pytest.fixture
    def storage(self, make_s3_storage: S3Factory) -> S3Storage:
        # A small page size makes test_list_many walk the continuation token.
        return make_s3_storage(list_page_size=50)


class TestS3UnderFaults(StorageContract):
    """The whole contract with 5% of requests failing in every way, retried for us."""

    @pytest.fixture
    def storage(self, make_s3_storage: S3Factory, proxy: FaultProxy) -> S3RetryingStorage:
        proxy.faults = S3Faults(
            drop=0.01, drop_reply=0.01, slow_down=0.01, error_500=0.01, truncate=0.01
        )
        inner = make_s3_storage(endpoint=proxy.endpoint, list_page_size=50, attempts=10)
        return S3RetryingStorage(inner, attempts=10, sleep=no_sleep)


# -- locations and settings -----------------------------------------------------------


def test_locations() -> None:
    assert parse_location("my-backups") == S3Location("my-backups", "")
    assert parse_location("my-backups/laptop/2024/") == S3Location("my-backups", "laptop/2024")
    assert parse_location("b.example/x").root == "x/"
    for bad in ("", "ab", "UPPER/x", "-dash", "a..b/x", "bucket/../x", "bucket/a//b/./c", "b" * 64):
        with pytest.raises(StorageError):
            parse_location(bad)


def test_region_from_endpoints() -> None:
    assert region_from_endpoint("https://s3.us-west-004.backblazeb2.com") == "us-west-004"
    assert region_from_endpoint("s3.eu-central-2.wasabisys.com") == "eu-central-2"
    assert region_from_endpoint("https://s3.eu-west-3.amazonaws.com") == "eu-west-3"
    assert region_from_endpoint("https://acct.r2.cloudflarestorage.com") == "auto"
    assert region_from_endpoint("http://nas.local:9000") is None
    assert region_from_endpoint(None) is None


def test_settings_precedence() -> None:
    stored = {ACCESS_KEY_SECRET: "AKSTORED", SECRET_KEY_SECRET: "stored-secret"}
    env = {"KEEPSAKE_S3_ENDPOINT": "s3.us-west-004.backblazeb2.com"}
    settings = resolve_settings(env, stored.get, endpoint="https://ignored.example")
    assert settings.endpoint == "https://s3.us-west-004.backblazeb2.com"
    assert settings.region == "us-west-004"
    assert settings.credentials.access_key_id == "AKSTORED"
    assert "stored-secret" not in repr(settings)

    # The app's endpoint setting applies when the environment names none; AWS's own
    # variables win over what the app stored.
    env = {"AWS_ACCESS_KEY_ID": "AKENV", "AWS_DEFAULT_REGION": "eu-north-1"}
    settings = resolve_settings(env, stored.get, endpoint="nas.local:9000")
    assert settings.endpoint == "https://nas.local:9000"
    assert settings.region == "eu-north-1"
    assert not settings.credentials.explicit
    assert resolve_settings({}, None).endpoint is None
    assert resolve_settings({}, None).region == "us-east-1"

    with pytest.raises(AuthRequiredError, match="secret key is missing"):
        resolve_settings({}, {ACCESS_KEY_SECRET: "AK"}.get)
    with pytest.raises(StorageError, match="endpoint"):
        resolve_settings({"KEEPSAKE_S3_ENDPOINT": "ftp://x"}, None)


def test_factory_opens_s3_from_the_environment(s3_env: dict[str, str], s3_spec: str) -> None:
    repo = f"s3:{s3_spec}"
    storage = open_storage(repo, max_concurrent_uploads=3)
    try:
        storage.put("config", b"hello")
        assert storage.get("config") == b"hello"
        assert storage.description == describe_repo(repo) == f"S3: {s3_spec}"
        caps = storage.capabilities
        assert (caps.connections, caps.batch_delete, caps.cheap_ranged_reads) == (3, True, False)
    finally:
        storage.close()


def test_factory_puts_s3_behind_the_upload_limiter(s3_env: dict[str, str], s3_spec: str) -> None:
    limiter = Limiter(None)
    storage = open_storage(f"s3:{s3_spec}", max_concurrent_uploads=2, limiter=limiter)
    try:
        assert isinstance(storage, LimitedStorage) and storage.limiter is limiter
        assert storage.capabilities.connections == 2  # forwarded through the decorator
        storage.put("config", b"limited")
        assert storage.get("config") == b"limited"
    finally:
        storage.close()


def test_keyring_credentials_when_the_environment_has_none(
    s3_env: dict[str, str], s3_spec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = {
        ACCESS_KEY_SECRET: s3_env["AWS_ACCESS_KEY_ID"],
        SECRET_KEY_SECRET: s3_env["AWS_SECRET_ACCESS_KEY"],
    }
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    storage = open_storage(f"s3:{s3_spec}", secret_lookup=stored.get)
    try:
        storage.put("config", b"from the keyring")
        assert storage.get("config") == b"from the keyring"
    finally:
        storage.close()
    wrong = {**stored, SECRET_KEY_SECRET: "not-the-secret"}
    storage = open_storage(f"s3:{s3_spec}", secret_lookup=wrong.get)
    try:
        with pytest.raises(AuthRequiredError, match="secret key"):
            storage.get("config")
    finally:
        storage.close()


# -- S3 specifics ---------------------------------------------------------------------


def test_objects_live_under_the_prefix(
    make_s3_storage: S3Factory, s3_server: RcloneS3, s3_spec: str
) -> None:
    storage = make_s3_storage()
    storage.put("data/ab/ab12", b"x" * 10)
    assert (server_path(s3_server, s3_spec) / "data" / "ab" / "ab12").read_bytes() == b"x" * 10
    other = make_s3_storage(f"{BUCKET}/elsewhere-{os.getpid()}")
    assert list(other.list("")) == []
    # A prefix that only starts like ours is another vault.
    sibling = make_s3_storage(s3_spec + "x")
    sibling.put("config", b"sibling")
    assert [o.name for o in storage.list("")] == ["data/ab/ab12"]


def test_get_range_edges(make_s3_storage: S3Factory) -> None:
    storage = make_s3_storage()
    storage.put("p", b"0123456789")
    assert storage.get_range("p", 9, 1) == b"9"
    assert storage.get_range("p", 3, 0) == b""
    assert storage.get_range("p", 10, 0) == b""
    with pytest.raises(NotFoundInStorage):
        storage.get_range("p", 10, 1)
    with pytest.raises(NotFoundInStorage):
        storage.get_range("p", 8, 5)
    with pytest.raises(NotFoundInStorage):
        storage.get_range("p", 11, 0)
    with pytest.raises(NotFoundInStorage):
        storage.get_range("missing", 0, 0)
    with pytest.raises(StorageError):
        storage.get_range("p", -1, 2)
    assert storage.calls["GetObject"] == 3  # one request per ranged read


def test_multipart_upload_parts_and_calls(make_s3_storage: S3Factory) -> None:
    storage = make_s3_storage(multipart_threshold=8 * MiB, part_size=MIN_PART)
    data = random.Random(1).randbytes(12 * MiB + 7)
    storage.put("data/00/big", data)
    assert storage.get("data/00/big") == data
    assert storage.calls["CreateMultipartUpload"] == 1
    assert storage.calls["UploadPart"] == 3
    assert storage.calls["CompleteMultipartUpload"] == 1
    assert storage.bytes_sent == len(data)
    storage.put("data/00/small", data[: 8 * MiB])  # at the threshold: one PUT
    assert storage.calls["PutObject"] == 1


def test_interrupted_multipart_upload_resumes_from_the_server_parts(
    make_s3_storage: S3Factory, proxy: FaultProxy
) -> None:
    storage = make_s3_storage(
        endpoint=proxy.endpoint, multipart_threshold=MIN_PART, part_size=MIN_PART, attempts=2
    )
    data = random.Random(2).randbytes(4 * MIN_PART + 100)
    # Part 3 fails on both in-operation attempts: the put gives up.
    proxy.inject(lambda r: is_part(r) and "partNumber=3" in r.query, "drop", times=2)
    with pytest.raises(TransientStorageError):
        storage.put("data/00/pack", data)
    assert storage.calls["UploadPart"] == 4  # parts 1, 2 and two tries of 3
    # The next attempt (RetryingStorage's) asks which parts arrived and sends the rest.
    storage.put("data/00/pack", data)
    assert storage.calls["ListParts"] == 1
    assert storage.calls["CreateMultipartUpload"] == 1
    assert storage.calls["UploadPart"] == 4 + 3  # parts 3, 4 and 5 only
    assert storage.get("data/00/pack") == data


def test_lost_completion_reply_is_confirmed_not_repeated(
    make_s3_storage: S3Factory, proxy: FaultProxy
) -> None:
    storage = make_s3_storage(
        endpoint=proxy.endpoint, multipart_threshold=MIN_PART, part_size=MIN_PART
    )
    data = random.Random(3).randbytes(2 * MIN_PART + 1)
    proxy.inject(lambda r: r.method == "POST" and "uploadId=" in r.query, "drop_reply")
    wrapped = S3RetryingStorage(storage, sleep=no_sleep)
    wrapped.put("data/00/pack", data)
    assert wrapped.get("data/00/pack") == data
    assert proxy.injected["drop_reply"] == 1


def test_a_damaged_body_is_refused_by_content_md5(
    make_s3_storage: S3Factory, s3_server: RcloneS3, s3_spec: str
) -> None:
    """The server checks the MD5 we declare: a mismatch is a retry, never stored data."""
    storage = make_s3_storage()

    def damage(request: AWSRequest, **_kwargs: object) -> None:
        request.headers.replace_header("Content-MD5", "AAAAAAAAAAAAAAAAAAAAAA==")

    storage._client.meta.events.register_first("before-sign.s3.PutObject", damage)
    with pytest.raises(TransientStorageError, match="BadDigest"):
        storage.put("config", b"payload")
    assert not (server_path(s3_server, s3_spec) / "config").exists()


def test_throttling_waits_and_reports(make_s3_storage: S3Factory, proxy: FaultProxy) -> None:
    inner = make_s3_storage(endpoint=proxy.endpoint)
    waits: list[str] = []
    slept: list[float] = []
    storage = S3RetryingStorage(
        inner, sleep=slept.append, on_wait=lambda _at, msg: waits.append(msg), base_delay=2.0
    )
    proxy.inject(lambda r: r.method == "PUT", "slow_down", times=2)
    storage.put("config", b"x")
    assert storage.get("config") == b"x"
    assert len(slept) == 2 and waits and "slow down" in waits[0]
    with pytest.raises(RateLimitedError):
        proxy.inject(lambda r: r.method == "GET", "slow_down", times=1)
        inner.get("config")


def test_batched_delete(make_s3_storage: S3Factory) -> None:
    storage = make_s3_storage()
    names = [f"data/{i:02x}/p" for i in range(30)]
    for name in names:
        storage.put(name, b"p")
    storage.put("config", b"c")
    storage.delete_many([*names, "data/ff/never-existed"])
    assert [o.name for o in storage.list("")] == ["config"]
    assert storage.calls["DeleteObjects"] == 1
    storage.delete_many([])
    assert storage.calls["DeleteObjects"] == 1


def test_stale_multipart_uploads_are_aborted(make_s3_storage: S3Factory, proxy: FaultProxy) -> None:
    storage = make_s3_storage(
        endpoint=proxy.endpoint, multipart_threshold=MIN_PART, part_size=MIN_PART, attempts=1
    )
    proxy.inject(is_part, "drop", times=1)
    with pytest.raises(TransientStorageError):
        storage.put("data/00/pack", os.urandom(2 * MIN_PART))
    assert storage.remove_stale_temp_files() == 1
    assert storage.remove_stale_temp_files() == 0
    assert list(storage.list("")) == []


# -- clear errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        ({"access_key_id": "nobody"}, "does not know this S3 access key"),
        ({"secret_access_key": "wrong-secret"}, "secret key"),
    ],
)
def test_wrong_credentials_are_clear(
    s3_server: RcloneS3, s3_spec: str, credentials: dict[str, str], message: str
) -> None:
    storage = S3Storage(
        parse_location(s3_spec), settings=settings_for(s3_server.endpoint, **credentials)
    )
    with pytest.raises(AuthRequiredError, match=message):
        storage.get("config")
    with pytest.raises(AuthRequiredError, match=message):
        storage.check_access()
    storage.close()


def test_missing_bucket_is_clear(make_s3_storage: S3Factory) -> None:
    storage = make_s3_storage("no-such-bucket/vault")
    with pytest.raises(StorageUnavailableError, match="bucket no-such-bucket does not exist"):
        storage.check_access()
    with pytest.raises(StorageUnavailableError, match="does not exist"):
        storage.get("config")


def test_no_permission_is_clear(make_s3_storage: S3Factory, proxy: FaultProxy) -> None:
    storage = make_s3_storage(endpoint=proxy.endpoint)
    proxy.inject(lambda r: r.method == "PUT", "access_denied")
    with pytest.raises(AuthRequiredError, match="lacks permission"):
        storage.put("config", b"x")


def test_unreachable_endpoint_is_transient(s3_spec: str) -> None:
    storage = S3Storage(
        parse_location(s3_spec), settings=settings_for("http://127.0.0.1:9"), connect_timeout=2
    )
    with pytest.raises(TransientStorageError, match="Could not connect"):
        storage.stat("config")
    storage.close()


def test_missing_credentials_are_clear(
    s3_env: dict[str, str], s3_spec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var)
    storage = open_storage(f"s3:{s3_spec}", secret_lookup=lambda _name: None)
    try:
        with pytest.raises(AuthRequiredError, match="No S3 credentials"):
            storage.stat("config")
    finally:
        storage.close()


def test_profile_credentials(
    s3_env: dict[str, str], s3_spec: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    creds = tmp_path / "credentials"
    creds.write_text(
        "[backup]\n"
        f"aws_access_key_id = {s3_env['AWS_ACCESS_KEY_ID']}\n"
        f"aws_secret_access_key = {s3_env['AWS_SECRET_ACCESS_KEY']}\n"
    )
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_PROFILE", "backup")
    storage = open_storage(f"s3:{s3_spec}")
    try:
        storage.put("config", b"via profile")
        assert storage.get("config") == b"via profile"
    finally:
        storage.close()
    monkeypatch.setenv("AWS_PROFILE", "nonexistent")
    with pytest.raises(AuthRequiredError, match="nonexistent"):
        open_storage(f"s3:{s3_spec}")


def test_addressing_style() -> None:
    """AWS gets virtual-hosted names except for dotted buckets (TLS could not cover
    them); a custom endpoint always gets paths (no wildcard DNS on a NAS)."""
    from app.storage.s3.backend import make_client
    from app.storage.s3.config import S3Credentials, S3Settings

    def url(endpoint: str | None, bucket: str) -> str:
        settings = S3Settings(endpoint, "eu-west-1", S3Credentials("a", "b"))
        client = make_client(settings, pool_size=1, timeouts=(1.0, 1.0))
        params = {"Bucket": bucket, "Key": "vault/config"}
        link = str(client.generate_presigned_url("get_object", Params=params))
        client.close()
        return link.split("?")[0]

    assert url(None, "my-photos").startswith("https://my-photos.s3.")
    assert url(None, "my.photos").endswith("amazonaws.com/my.photos/vault/config")
    assert (
        url("http://nas.local:9000", "my-photos") == "http://nas.local:9000/my-photos/vault/config"
    )
