"""The Dropbox backend against the emulator: the contract suite and Dropbox specifics."""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trustme
from dropbox.content_hash import DropboxContentHasher

from app.core.errors import (
    AuthRequiredError,
    NotFoundInStorage,
    RateLimitedError,
    StorageError,
    StorageFullError,
    StorageUnavailableError,
    TransientStorageError,
)
from app.storage import content_hash as ch
from app.storage.dropbox.config import DropboxCredentials, check_vault_name, resolve_credentials
from app.storage.dropbox.factory import DropboxRetryingStorage, open_dropbox_storage
from app.storage.dropbox.storage import DropboxStorage
from app.storage.factory import open_storage
from app.storage.limiter import Limiter
from tests.dropbox_emulator import DropboxEmulator, Faults
from tests.dropbox_emulator.helpers import storage_on
from tests.dropbox_emulator.store import FileEntry
from tests.storage.contract import StorageContract

pytest_plugins = ["tests.dropbox_conftest"]

StorageFactory = Callable[..., DropboxStorage]

MiB = 1024 * 1024


def no_sleep(_seconds: float) -> None:
    pass


# -- content hash -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (b"abc", "4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358"),
        (bytes(4_194_304), "c7e946d101855255d919ef0c70718633adf77d3dfb3adeeecf5d0cb4e951be58"),
        (bytes(4_194_305), "14a4d47f23a30177885d9820122f17d2d3a55fe63f7f5c27b95f689e0b2accd6"),
        (bytes(9_711_423), "9b386648f4e571a3cda647ca487f1db5d14b1c586b3655dc480fea1e5bd48933"),
    ],
    ids=["empty", "abc", "one-block", "block-plus-one", "milky-way-size-zeros"],
)
def test_content_hash_vectors(data: bytes, expected: str) -> None:
    assert ch.content_hash(data) == expected
    assert ch.combine(ch.block_digests(data)) == expected


def test_content_hash_published_milky_way_vector() -> None:
    """The official example, rebuilt from its published block hashes (image is offline)."""
    blocks = [
        "2a846fa617c3361fc117e1c5c1e1838c336b6a5cef982c1a2d9bdf68f2f1992a",
        "c68469027410ea393eba6551b9fa1e26db775f00eae70a0c3c129a0011a39cf9",
        "7376192de020925ce6c5ef5a8a0405e931b0a9a8c75517aacd9ca24a8a56818b",
    ]
    assert ch.combine([bytes.fromhex(b) for b in blocks]) == (
        "485291fa0ee50c016982abbfa943957bcd231aae0492ccbaa22c58e3997b35e0"
    )


def test_incremental_hash_matches_one_shot_and_the_sdk() -> None:
    data = random.Random(7).randbytes(9 * MiB + 12345)
    hasher = ch.ContentHasher()
    for start in range(0, len(data), 1_000_003):
        hasher.update(memoryview(data)[start : start + 1_000_003])
    sdk = DropboxContentHasher()
    sdk.update(data)
    assert hasher.hexdigest() == ch.content_hash(data) == sdk.hexdigest()
    assert ch.content_hash(b"") == hashlib.sha256(b"").hexdigest()


# -- the contract -------------------------------------------------------------------


class TestDropboxStorage(StorageContract):
    @pytest.fixture
    def storage(self, make_dropbox_storage: StorageFactory) -> DropboxStorage:
        # A small page size makes test_list_many walk the list_folder cursor.
        return make_dropbox_storage(list_page_size=50)


class TestDropboxUnderFaults(StorageContract):
    """The whole contract with 5% of calls failing in every way, retried for us."""

    @pytest.fixture
    def storage(self, dropbox_emulator: DropboxEmulator) -> DropboxRetryingStorage:
        dropbox_emulator.faults = Faults(
            error_500=0.01,
            error_503=0.01,
            rate_limit_json=0.01,
            rate_limit_text=0.01,
            drop=0.01,
            truncate=0.01,
            cursor_reset=0.05,
        )
        inner = storage_on(dropbox_emulator, list_page_size=50)
        return DropboxRetryingStorage(inner, attempts=10, sleep=no_sleep)


# -- configuration ------------------------------------------------------------------


def test_vault_names() -> None:
    assert check_vault_name("Photos 2024") == "Photos 2024"
    for bad in ("", "a/b", "..", ".hidden", "x" * 101, "desktop.ini", "trailing.", "a\\b"):
        with pytest.raises(StorageError):
            check_vault_name(bad)


def test_credentials_resolution_and_secrecy() -> None:
    env = {"KEEPSAKE_DROPBOX_ACCESS_TOKEN": "sl.secret-access"}
    creds = resolve_credentials(env, None)
    assert creds.access_token == "sl.secret-access"
    assert "secret" not in repr(creds)

    secrets = {"dropbox-refresh-token": "refresh-secret", "dropbox-app-key": "stored-key"}
    creds = resolve_credentials({"KEEPSAKE_DROPBOX_APP_KEY": "env-key"}, secrets.get)
    assert (creds.refresh_token, creds.app_key) == ("refresh-secret", "stored-key")
    assert "refresh-secret" not in repr(creds)

    creds = resolve_credentials(
        {"KEEPSAKE_DROPBOX_APP_KEY": "env-key"}, {"dropbox-refresh-token": "r"}.get
    )
    assert creds.app_key == "env-key"

    with pytest.raises(AuthRequiredError, match="connect dropbox"):
        resolve_credentials({}, lambda _name: None)
    with pytest.raises(AuthRequiredError, match="app key"):
        resolve_credentials({}, {"dropbox-refresh-token": "r"}.get)


def test_factory_reads_hosts_and_ca_after_the_sdk_was_imported(
    dropbox_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK froze DROPBOX_*_HOST at import (long before this test set them)."""
    import dropbox.session

    assert dropbox_env["DROPBOX_API_HOST"] != dropbox.session.API_HOST
    # requests would let this override the emulator CA; our session keeps both.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    storage = open_storage("dropbox:Docs", secret_lookup=lambda _name: None)
    try:
        storage.put("config", b"hello")
        assert storage.get("config") == b"hello"
        assert storage.description == "Dropbox: Docs"
    finally:
        storage.close()


def test_without_the_emulator_ca_the_certificate_is_refused(
    dropbox_emulator: DropboxEmulator,
) -> None:
    storage = storage_on(dropbox_emulator, ca_bundle=None)
    with pytest.raises(StorageUnavailableError, match="certificate"):
        storage.stat("config")
    storage.close()


def test_an_unrelated_ca_file_does_not_make_the_server_trusted(
    dropbox_emulator: DropboxEmulator, tmp_path: Path
) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    storage = storage_on(dropbox_emulator, ca_bundle=str(other))
    with pytest.raises(StorageUnavailableError, match="certificate"):
        storage.stat("config")
    storage.close()


def test_missing_ca_file_is_a_clear_error(
    dropbox_emulator: DropboxEmulator, tmp_path: Path
) -> None:
    with pytest.raises(StorageUnavailableError, match="CA file"):
        storage_on(dropbox_emulator, ca_bundle=str(tmp_path / "nope.pem"))


# -- Dropbox specifics ----------------------------------------------------------------


def test_vault_folder_and_case_insensitive_paths(
    dropbox_emulator: DropboxEmulator, make_dropbox_storage: StorageFactory
) -> None:
    upper = make_dropbox_storage("Photos")
    upper.put("data/ab/ab12", b"x" * 10)
    lower = make_dropbox_storage("photos")
    assert lower.get("data/ab/ab12") == b"x" * 10
    assert [o.name for o in lower.list("data/")] == ["data/ab/ab12"]
    entry = dropbox_emulator.store.entries["/photos/data/ab/ab12"]
    assert entry.display == "/Photos/data/ab/ab12"
    other = make_dropbox_storage("Other")
    assert list(other.list("")) == []


def test_get_range_edges(make_dropbox_storage: StorageFactory) -> None:
    storage = make_dropbox_storage()
    storage.put("p", b"0123456789")
    assert storage.get_range("p", 9, 1) == b"9"
    assert storage.get_range("p", 3, 0) == b""
    with pytest.raises(NotFoundInStorage):
        storage.get_range("p", 10, 1)
    with pytest.raises(NotFoundInStorage):
        storage.get_range("missing", 0, 0)
    with pytest.raises(StorageError):
        storage.get_range("p", -1, 2)


def test_session_upload_chunks_and_verifies(
    dropbox_emulator: DropboxEmulator, make_dropbox_storage: StorageFactory
) -> None:
    storage = make_dropbox_storage(session_threshold=5 * MiB, chunk_size=4 * MiB)
    data = random.Random(1).randbytes(13 * MiB + 7)
    storage.put("data/aa/big", data)
    calls = dropbox_emulator.stats()["calls"]
    assert calls["files/upload_session/start"] == 1
    assert calls["files/upload_session/append_v2"] == 2
    assert calls["files/upload_session/finish"] == 1
    assert "files/upload" not in calls
    assert storage.get("data/aa/big") == data
    entry = dropbox_emulator.store.entries["/vault/data/aa/big"]
    assert isinstance(entry, FileEntry)
    assert entry.content_hash == ch.content_hash(data)


def test_session_resumes_from_server_offset_after_a_lost_reply(
    dropbox_emulator: DropboxEmulator, make_dropbox_storage: StorageFactory
) -> None:
    storage = make_dropbox_storage(session_threshold=5 * MiB, chunk_size=4 * MiB)
    data = random.Random(2).randbytes(14 * MiB)
    # The second chunk lands but its reply is lost: the retry must be told the
    # correct offset and carry on, not resend or start over.
    dropbox_emulator.fail_next("files/upload_session/append_v2", "drop_after")
    dropbox_emulator.fail_next("files/upload_session/append_v2", "error_503")
    storage.put("data/bb/big", data)
    calls = dropbox_emulator.stats()["calls"]
    assert calls["files/upload_session/start"] == 1
    assert calls["files/upload_session/append_v2"] == 4  # 2 chunks + lost reply + 503
    assert storage.get("data/bb/big") == data


def test_session_finish_whose_reply_was_lost_is_confirmed_by_hash(
    dropbox_emulator: DropboxEmulator, make_dropbox_storage: StorageFactory
) -> None:
    storage = make_dropbox_storage(session_threshold=5 * MiB, chunk_size=4 * MiB)
    data = random.Random(3).randbytes(6 * MiB)
    dropbox_emulator.fail_next("files/upload_session/finish", "drop_after")
    storage.put("data/cc/big", data)
    calls = dropbox_emulator.stats()["calls"]
    assert calls["files/upload_session/start"] == 1
    assert calls["files/upload_session/finish"] == 2
    assert calls["files/get_metadata"] == 1
    assert storage.get("data/cc/big") == data


def test_flaky_link_switches_big_objects_to_sessions(
    dropbox_emulator: DropboxEmulator, make_dropbox_storage: StorageFactory
) -> None:
    inner = make_dropbox_storage(flaky_chunk_size=4 * MiB)
    storage = DropboxRetryingStorage(inner, sleep=no_sleep)
    data = random.Random(4).randbytes(9 * MiB)
    dropbox_emulator.fail_next("files/upload", "drop_before")
    storage.put("data/dd/p1", data)
    calls = dropbox_emulator.stats()["calls"]
    assert calls["files/upload"] == 1
    assert calls["files/upload_session/start"] == 1
    assert storage.get("data/dd/p1") == data


def test_damaged_uploads_are_never_accepted(
    dropbox_emulator: DropboxEmulator, make_dropbox_storage: StorageFactory
) -> None:
    storage = make_dropbox_storage()
    dropbox_emulator.fail_next("files/upload", "corrupt_in_transit")
    with pytest.raises(TransientStorageError, match="damaged"):
        storage.put("a", b"payload" * 100)
    dropbox_emulator.fail_next("files/upload", "corrupt_stored")
    with pytest.raises(TransientStorageError, match="differently"):
        storage.put("b", b"payload" * 100)
    retrying = DropboxRetryingStorage(storage, sleep=no_sleep)
    dropbox_emulator.fail_next("files/upload", "corrupt_stored")
    retrying.put("b", b"payload" * 100)
    assert retrying.get("b") == b"payload" * 100


def test_truncated_download_is_detected_then_retried(
    dropbox_emulator: DropboxEmulator, make_dropbox_storage: StorageFactory
) -> None:
    storage = make_dropbox_storage()
    data = os.urandom(300_000)
    storage.put("pack", data)
    dropbox_emulator.fail_next("files/download", "truncate")
    with pytest.raises(TransientStorageError):
        storage.get("pack")
    retrying = DropboxRetryingStorage(storage, sleep=no_sleep)
    dropbox_emulator.fail_next("files/download", "truncate", times=2)
    assert retrying.get("pack") == data
    dropbox_emulator.fail_next("files/download", "truncate")
    assert retrying.get_range("pack", 1000, 50_000) == data[1000:51_000]


def test_rate_limits_honour_the_servers_wait_and_report_it(
    dropbox_emulator: DropboxEmulator, make_dropbox_storage: StorageFactory
) -> None:
    slept: list[float] = []
    waits: list[tuple[datetime, str]] = []
    storage = DropboxRetryingStorage(
        make_dropbox_storage(),
        sleep=slept.append,
        on_wait=lambda when, message: waits.append((when, message)),
    )
    dropbox_emulator.faults.retry_after = 7
    dropbox_emulator.fail_next("files/upload", "rate_limit_json")
    dropbox_emulator.fail_next("files/upload", "rate_limit_text")
    before = datetime.now(UTC)
    storage.put("index/aa", b"i")
    assert slept == [7.0, 7.0]  # JSON: body retry_after; text: the Retry-After header
    assert len(waits) == 2 and "throttling" in waits[0][1]
    assert 6 <= (waits[0][0] - before).total_seconds() <= 9


def test_bare_backend_raises_rate_limited_with_retry_after(
    dropbox_emulator: DropboxEmulator, make_dropbox_storage: StorageFactory
) -> None:
    storage = make_dropbox_storage()
    dropbox_emulator.faults.retry_after = 3
    dropbox_emulator.fail_next("files/get_metadata", "rate_limit_json")
    with pytest.raises(RateLimitedError) as info:
        storage.stat("x")
    assert info.value.retry_after == 3.0


def test_quota_full_stops_with_a_clear_message(
    dropbox_emulator: DropboxEmulator, make_dropbox_storage: StorageFactory
) -> None:
    dropbox_emulator.quota_bytes = 1 * MiB
    storage = DropboxRetryingStorage(
        make_dropbox_storage(session_threshold=5 * MiB, chunk_size=4 * MiB), sleep=no_sleep
    )
    storage.put("data/00/small", b"x" * 1000)
    with pytest.raises(StorageFullError, match="Dropbox is full") as info:
        storage.put("data/00/pack", b"y" * (2 * MiB))
    assert "safe" in info.value.message
    with pytest.raises(StorageFullError):
        storage.put("data/00/huge", b"z" * (6 * MiB))  # via an upload session
    assert storage.retries == 0  # an answer, not a hiccup
    assert storage.get("data/00/small") == b"x" * 1000
    assert [o.name for o in storage.list("data/")] == ["data/00/small"]


def test_access_token_expiring_mid_run_is_refreshed(dropbox_emulator: DropboxEmulator) -> None:
    refresh = dropbox_emulator.issue_refresh_token()
    creds = DropboxCredentials(refresh_token=refresh, app_key=dropbox_emulator.app_key)
    storage = storage_on(dropbox_emulator, credentials=creds)
    storage.put("config", b"1")
    assert dropbox_emulator.stats()["calls"]["oauth2/token"] == 1
    dropbox_emulator.expire_access_tokens()
    storage.put("snapshots/aa", b"2")
    assert storage.get("config") == b"1"
    calls = dropbox_emulator.stats()["calls"]
    assert calls["oauth2/token"] == 2
    assert calls["files/upload"] == 3  # one was refused with 401 and replayed


def test_revoked_sign_in_asks_to_reconnect(dropbox_emulator: DropboxEmulator) -> None:
    refresh = dropbox_emulator.issue_refresh_token()
    creds = DropboxCredentials(refresh_token=refresh, app_key=dropbox_emulator.app_key)
    storage = DropboxRetryingStorage(
        storage_on(dropbox_emulator, credentials=creds), sleep=no_sleep
    )
    storage.put("config", b"1")
    dropbox_emulator.revoke_refresh_tokens()
    dropbox_emulator.expire_access_tokens()
    with pytest.raises(AuthRequiredError, match="Reconnect Dropbox"):
        storage.get("config")
    assert storage.retries == 0


def test_expired_static_token_names_the_variable(dropbox_emulator: DropboxEmulator) -> None:
    storage = storage_on(dropbox_emulator)
    dropbox_emulator.expire_access_tokens(include_static=True)
    with pytest.raises(AuthRequiredError, match="KEEPSAKE_DROPBOX_ACCESS_TOKEN"):
        storage.stat("config")


def test_wrong_app_key_is_an_auth_problem(dropbox_emulator: DropboxEmulator) -> None:
    refresh = dropbox_emulator.issue_refresh_token()
    creds = DropboxCredentials(refresh_token=refresh, app_key="not-our-key")
    with pytest.raises(AuthRequiredError, match="app key"):
        storage_on(dropbox_emulator, credentials=creds).stat("config")


def test_list_survives_cursor_reset(
    dropbox_emulator: DropboxEmulator, make_dropbox_storage: StorageFactory
) -> None:
    storage = make_dropbox_storage(list_page_size=5)
    names = {f"index/{i:02x}" for i in range(23)}
    for name in names:
        storage.put(name, b"i")
    dropbox_emulator.fail_next("files/list_folder/continue", "cursor_reset")
    assert {o.name for o in storage.list("index/")} == names
    assert {o.name for o in storage.list("index/1")} == {
        n for n in names if n.startswith("index/1")
    }


def test_delete_many_batches_and_ignores_missing(
    dropbox_emulator: DropboxEmulator,
    make_dropbox_storage: StorageFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    storage = make_dropbox_storage()
    names = [f"data/{i:02x}/p{i}" for i in range(12)]
    storage.put_many([(n, n.encode()) for n in names])
    monkeypatch.setattr("app.storage.dropbox.config.BATCH_LIMIT", 5)
    dropbox_emulator.batch_polls_in_progress = 2
    storage.delete_many([*names[:10], "data/ff/never-existed"])
    assert sorted(o.name for o in storage.list("data/")) == sorted(names[10:])
    calls = dropbox_emulator.stats()["calls"]
    assert calls["files/delete_batch"] == 3
    assert calls["files/delete_batch/check"] == 9  # 2 in progress + 1 complete, per job


def test_put_many_commits_in_one_batch(
    dropbox_emulator: DropboxEmulator, make_dropbox_storage: StorageFactory
) -> None:
    storage = DropboxRetryingStorage(make_dropbox_storage(), sleep=no_sleep)
    items = [(f"index/{i:02x}", os.urandom(100 + i)) for i in range(20)]
    storage.put_many(items)
    calls = dropbox_emulator.stats()["calls"]
    assert calls["files/upload_session/start"] == 20
    assert calls["files/upload_session/finish_batch_v2"] == 1
    for name, data in items:
        assert storage.get(name) == data


def test_dropbox_declares_batches_and_connections(
    make_dropbox_storage: StorageFactory,
) -> None:
    inner = make_dropbox_storage(max_concurrent_uploads=3)
    caps = DropboxRetryingStorage(inner, sleep=no_sleep).capabilities
    assert caps == inner.capabilities
    assert caps.connections == 3
    assert caps.batch_put and caps.batch_delete
    assert not caps.cheap_ranged_reads and not caps.read_into


def test_a_failed_batch_commit_is_retried(
    dropbox_emulator: DropboxEmulator, make_dropbox_storage: StorageFactory
) -> None:
    storage = DropboxRetryingStorage(make_dropbox_storage(), sleep=no_sleep)
    dropbox_emulator.fail_next("files/upload_session/finish_batch_v2", "error_503")
    items = [(f"index/{i:02x}", os.urandom(64)) for i in range(5)]
    storage.put_many(items)
    assert dropbox_emulator.stats()["calls"]["files/upload_session/finish_batch_v2"] == 2
    assert all(storage.get(name) == data for name, data in items)


def test_concurrent_uploads_are_capped(
    dropbox_emulator: DropboxEmulator, make_dropbox_storage: StorageFactory
) -> None:
    storage = make_dropbox_storage(max_concurrent_uploads=2)
    dropbox_emulator.faults = Faults(slow=1.0, slow_seconds=0.05)
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for i in range(3):
                storage.put(f"data/{k:02x}/o{i}", b"z" * 1000)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert dropbox_emulator.stats()["inflight_max"] == 2


def test_bandwidth_limit_slows_uploads(make_dropbox_storage: StorageFactory) -> None:
    storage = make_dropbox_storage(bandwidth_limit_kib=4096)
    start = time.monotonic()
    storage.put("data/ee/p", os.urandom(2 * MiB))
    elapsed = time.monotonic() - start
    assert elapsed >= 0.24  # (2 MiB - 1 MiB burst) / 4 MiB/s = 0.25 s at the very least


def test_uploads_follow_a_shared_limiter_and_its_rate_changes(
    make_dropbox_storage: StorageFactory,
) -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = Limiter(MiB, burst=64 * 1024, clock=lambda: now[0], sleep=sleep)
    storage = make_dropbox_storage(limiter=limiter)
    assert storage.limiter is limiter
    storage.put("data/ee/p1", os.urandom(2 * MiB))
    paced = now[0]
    assert 1.9 <= paced <= 2.1  # 2 MiB (+ headers) at 1 MiB/s, minus a 64 KiB burst
    limiter.set_rate(None)  # the user lifts the limit
    storage.put("data/ee/p2", os.urandom(2 * MiB))
    assert now[0] == paced
    limiter.set_rate(4 * MiB)
    storage.put("data/ee/p3", os.urandom(2 * MiB))
    assert 0.45 <= now[0] - paced <= 0.55


def test_open_storage_passes_the_limiter_on(
    dropbox_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    limiter = Limiter(None)
    storage = open_storage("dropbox:Limited", limiter=limiter)
    try:
        assert isinstance(storage, DropboxRetryingStorage)
        assert storage.inner.limiter is limiter
    finally:
        storage.close()


def test_open_dropbox_storage_without_a_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEEPSAKE_DROPBOX_ACCESS_TOKEN", raising=False)
    with pytest.raises(AuthRequiredError):
        open_dropbox_storage("V", secret_lookup=lambda _n: None, env={})


def test_slow_replies_time_out_and_are_retried(
    dropbox_emulator: DropboxEmulator, make_dropbox_storage: StorageFactory
) -> None:
    storage = DropboxRetryingStorage(make_dropbox_storage(timeout=0.3), sleep=no_sleep)
    dropbox_emulator.faults.slow_seconds = 1.0
    dropbox_emulator.fail_next("files/upload", "slow")
    storage.put("config", b"c")
    assert storage.retries == 1
    assert storage.get("config") == b"c"
