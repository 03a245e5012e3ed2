"""The emulator is only useful if it is faithful: these tests pin its wire format
(checked by the SDK's own decoders or by raw HTTP) and the Dropbox rules it keeps."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from dropbox import files
from dropbox.exceptions import ApiError, AuthError

from app.storage.content_hash import content_hash
from app.storage.dropbox.client import SdkClient
from app.storage.dropbox.config import DropboxCredentials
from app.storage.dropbox.transport import make_session
from tests.dropbox_emulator import DropboxEmulator
from tests.dropbox_emulator.helpers import emulator_endpoints

pytest_plugins = ["tests.dropbox_conftest"]

MiB = 1024 * 1024
CONCURRENT = files.UploadSessionType.concurrent


@pytest.fixture
def dbx(dropbox_emulator: DropboxEmulator) -> Iterator[SdkClient]:
    client = SdkClient(
        endpoints=emulator_endpoints(dropbox_emulator),
        oauth2_access_token=dropbox_emulator.static_token,
        max_retries_on_error=0,
        max_retries_on_rate_limit=0,
        session=make_session(ca_bundle=str(dropbox_emulator.ca_path)),
    )
    yield client
    client.close()


@pytest.fixture
def raw(dropbox_emulator: DropboxEmulator) -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(dropbox_emulator.ca_path)
    yield session
    session.close()


def url(emu: DropboxEmulator, route: str) -> str:
    return f"https://{emu.address}/2/{route}"


# -- raw HTTP shapes ------------------------------------------------------------------


def test_rpc_reply_shapes(dropbox_emulator: DropboxEmulator, raw: requests.Session) -> None:
    auth = {"Authorization": f"Bearer {dropbox_emulator.static_token}"}
    ok = raw.post(
        url(dropbox_emulator, "users/get_space_usage"),
        data="null",
        headers={**auth, "Content-Type": "application/json"},
    )
    assert ok.status_code == 200
    assert ok.headers["Content-Type"] == "application/json"  # exactly: the SDK asserts it
    assert ok.headers["X-Dropbox-Request-Id"]
    assert ok.json()["allocation"][".tag"] == "individual"

    missing = raw.post(
        url(dropbox_emulator, "files/get_metadata"),
        data=json.dumps({"path": "/nope"}),
        headers={**auth, "Content-Type": "application/json"},
    )
    assert missing.status_code == 409
    assert missing.json() == {
        "error_summary": "path/not_found/..",
        "error": {".tag": "path", "path": {".tag": "not_found"}},
    }

    unknown = raw.post(url(dropbox_emulator, "files/nope"), data="null", headers=auth)
    assert unknown.status_code == 400 and unknown.headers["Content-Type"].startswith("text/plain")

    root = raw.post(
        url(dropbox_emulator, "files/list_folder"),
        data=json.dumps({"path": "/"}),
        headers={**auth, "Content-Type": "application/json"},
    )
    assert root.status_code == 400 and "empty string" in root.text

    too_many = raw.post(
        url(dropbox_emulator, "files/list_folder"),
        data=json.dumps({"path": "", "limit": 5000}),
        headers={**auth, "Content-Type": "application/json"},
    )
    assert too_many.status_code == 400

    bad_type = raw.post(
        url(dropbox_emulator, "files/list_folder"),
        data=json.dumps({"path": ""}),
        headers={**auth, "Content-Type": "text/plain"},
    )
    assert bad_type.status_code == 400

    no_auth = raw.post(
        url(dropbox_emulator, "files/list_folder"),
        data=json.dumps({"path": ""}),
        headers={"Content-Type": "application/json"},
    )
    assert no_auth.status_code == 400 and "Authorization" in no_auth.text

    bad_token = raw.post(
        url(dropbox_emulator, "files/list_folder"),
        data=json.dumps({"path": ""}),
        headers={"Authorization": "Bearer sl.wrong", "Content-Type": "application/json"},
    )
    assert bad_token.status_code == 401
    assert bad_token.headers["Content-Type"] == "application/json"
    assert bad_token.json()["error"] == {".tag": "invalid_access_token"}


def test_upload_and_download_headers(
    dropbox_emulator: DropboxEmulator, raw: requests.Session
) -> None:
    auth = {"Authorization": f"Bearer {dropbox_emulator.static_token}"}
    # The SDK sends ASCII-escaped JSON in the header; accept void members as strings too.
    arg = json.dumps({"path": "/Vault/\u00c9t\u00e9.bin", "mode": "overwrite"})
    up = raw.post(
        url(dropbox_emulator, "files/upload"),
        data=b"summer",
        headers={**auth, "Content-Type": "application/octet-stream", "Dropbox-API-Arg": arg},
    )
    assert up.status_code == 200, up.text
    assert up.json()["path_display"] == "/Vault/\u00c9t\u00e9.bin"
    assert up.json()["content_hash"] == content_hash(b"summer")

    down = raw.post(
        url(dropbox_emulator, "files/download"),
        headers={
            **auth,
            "Dropbox-API-Arg": json.dumps({"path": "/vault/\u00e9t\u00e9.bin"}),
            "Range": "bytes=1-3",
        },
    )
    assert down.status_code == 206 and down.content == b"umm"
    assert down.headers["Content-Range"] == "bytes 1-3/6"
    result = down.headers["Dropbox-API-Result"]
    assert result.isascii() and json.loads(result)["size"] == 6

    past = raw.post(
        url(dropbox_emulator, "files/download"),
        headers={
            **auth,
            "Dropbox-API-Arg": json.dumps({"path": "/vault/\u00e9t\u00e9.bin"}),
            "Range": "bytes=6-9",
        },
    )
    assert past.status_code == 416


def test_rate_limit_shapes(dropbox_emulator: DropboxEmulator, raw: requests.Session) -> None:
    auth = {
        "Authorization": f"Bearer {dropbox_emulator.static_token}",
        "Content-Type": "application/json",
    }
    dropbox_emulator.faults.retry_after = 2
    dropbox_emulator.fail_next("*", "rate_limit_json")
    dropbox_emulator.fail_next("*", "rate_limit_text")
    first = raw.post(url(dropbox_emulator, "users/get_space_usage"), data="null", headers=auth)
    assert first.status_code == 429 and first.headers["Retry-After"] == "2"
    assert first.headers["Content-Type"] == "application/json"
    assert first.json()["error"] == {
        "reason": {".tag": "too_many_write_operations"},
        "retry_after": 2,
    }
    second = raw.post(url(dropbox_emulator, "users/get_space_usage"), data="null", headers=auth)
    assert second.status_code == 429 and second.headers["Content-Type"].startswith("text/plain")


# -- through the SDK ------------------------------------------------------------------


def test_account_and_space(dbx: SdkClient, dropbox_emulator: DropboxEmulator) -> None:
    account = dbx.users_get_current_account()
    assert len(account.account_id) == 40 and account.email == "ann@example.com"
    dbx.files_upload(b"12345", "/v/a")
    usage = dbx.users_get_space_usage()
    assert (
        usage.used == 5
        and usage.allocation.get_individual().allocated == dropbox_emulator.quota_bytes
    )


def test_write_modes(dbx: SdkClient) -> None:
    first = dbx.files_upload(b"one", "/Docs/Report.txt")
    same = dbx.files_upload(b"one", "/docs/report.TXT")  # identical contents: no new rev
    assert same.rev == first.rev and same.path_display == "/Docs/Report.txt"
    with pytest.raises(ApiError) as info:
        dbx.files_upload(b"two", "/docs/report.txt")
    assert info.value.error.get_path().reason.get_conflict().is_file()
    assert info.value.error.get_path().upload_session_id
    renamed = dbx.files_upload(b"two", "/docs/report.txt", autorename=True)
    assert renamed.path_display == "/Docs/Report (1).txt"
    new = dbx.files_upload(b"three", "/docs/report.txt", mode=files.WriteMode.overwrite)
    assert new.id == first.id and new.rev != first.rev
    with pytest.raises(ApiError):
        dbx.files_upload(b"four", "/docs/report.txt", mode=files.WriteMode.update(first.rev))
    ok = dbx.files_upload(b"four", "/docs/report.txt", mode=files.WriteMode.update(new.rev))
    assert ok.size == 4
    with pytest.raises(ApiError):
        dbx.files_upload(
            b"four", "/docs/report.txt", mode=files.WriteMode.overwrite, strict_conflict=True
        )
    revisions = dbx.files_list_revisions("/docs/report.txt")
    assert [r.size for r in revisions.entries] == [4, 5, 3]  # newest first
    with pytest.raises(ApiError) as info:
        dbx.files_upload(b"x", "/docs")  # a folder is there
    assert info.value.error.get_path().reason.get_conflict().is_folder()
    with pytest.raises(ApiError) as info:
        dbx.files_upload(b"x", "/docs/report.txt/child")
    assert info.value.error.get_path().reason.get_conflict().is_file_ancestor()
    with pytest.raises(ApiError) as info:
        dbx.files_upload(b"x", "/docs/desktop.ini")
    assert info.value.error.get_path().reason.is_disallowed_name()


def test_content_hash_per_call_and_payload_limit(
    dbx: SdkClient, dropbox_emulator: DropboxEmulator
) -> None:
    with pytest.raises(ApiError) as info:
        dbx.files_upload(b"abc", "/h", content_hash=content_hash(b"abd"))
    assert info.value.error.is_content_hash_mismatch()
    dropbox_emulator.max_request_bytes = 10
    with pytest.raises(ApiError) as info:
        dbx.files_upload(b"x" * 11, "/big")
    assert info.value.error.is_payload_too_large()


def test_sequential_sessions(dbx: SdkClient, dropbox_emulator: DropboxEmulator) -> None:
    start = dbx.files_upload_session_start(b"abc")
    cursor = files.UploadSessionCursor(start.session_id, 3)
    dbx.files_upload_session_append_v2(b"def", cursor)
    with pytest.raises(ApiError) as info:
        dbx.files_upload_session_append_v2(b"def", cursor)  # offset 3 again
    assert info.value.error.get_incorrect_offset().correct_offset == 6
    md = dbx.files_upload_session_finish(
        b"gh", files.UploadSessionCursor(start.session_id, 6), files.CommitInfo("/s/file")
    )
    assert md.size == 8 and md.content_hash == content_hash(b"abcdefgh")
    with pytest.raises(ApiError) as info:
        dbx.files_upload_session_append_v2(b"x", files.UploadSessionCursor(start.session_id, 8))
    assert info.value.error.is_not_found()

    expired = dbx.files_upload_session_start(b"abc")
    dropbox_emulator.store.session_ttl = 0.0
    with pytest.raises(ApiError) as info:
        dbx.files_upload_session_append_v2(b"d", files.UploadSessionCursor(expired.session_id, 3))
    assert info.value.error.is_not_found()


def test_concurrent_session_rules(dbx: SdkClient) -> None:
    with pytest.raises(ApiError) as info:
        dbx.files_upload_session_start(b"data", session_type=CONCURRENT)
    assert info.value.error.is_concurrent_session_data_not_allowed()
    sid = dbx.files_upload_session_start(b"", session_type=CONCURRENT).session_id
    block = os.urandom(4 * MiB)
    with pytest.raises(ApiError) as info:
        dbx.files_upload_session_append_v2(b"x" * 10, files.UploadSessionCursor(sid, 0))
    assert info.value.error.is_concurrent_session_invalid_data_size()
    dbx.files_upload_session_append_v2(block, files.UploadSessionCursor(sid, 4 * MiB))
    commit = files.CommitInfo("/c/file")
    with pytest.raises(ApiError) as info:
        dbx.files_upload_session_finish(b"", files.UploadSessionCursor(sid, 8 * MiB + 3), commit)
    assert info.value.error.is_concurrent_session_not_closed()
    dbx.files_upload_session_append_v2(b"end", files.UploadSessionCursor(sid, 8 * MiB), close=True)
    with pytest.raises(ApiError) as info:
        dbx.files_upload_session_finish(b"", files.UploadSessionCursor(sid, 8 * MiB + 3), commit)
    assert info.value.error.is_concurrent_session_missing_data()
    dbx.files_upload_session_append_v2(block, files.UploadSessionCursor(sid, 0))
    md = dbx.files_upload_session_finish(b"", files.UploadSessionCursor(sid, 8 * MiB + 3), commit)
    assert md.content_hash == content_hash(block + block + b"end")


@pytest.mark.filterwarnings("ignore:upload_session/finish_batch is deprecated")
def test_finish_batches(dbx: SdkClient) -> None:
    a = dbx.files_upload_session_start(b"aa", close=True).session_id
    b = dbx.files_upload_session_start(b"bb").session_id  # not closed
    entries = [
        files.UploadSessionFinishArg(files.UploadSessionCursor(a, 2), files.CommitInfo("/b/a")),
        files.UploadSessionFinishArg(files.UploadSessionCursor(b, 2), files.CommitInfo("/b/b")),
    ]
    result = dbx.files_upload_session_finish_batch_v2(entries)
    assert result.entries[0].is_success() and result.entries[0].get_success().size == 2
    assert result.entries[1].get_failure().get_lookup_failed().is_not_closed()
    c = dbx.files_upload_session_start(b"cc", close=True).session_id
    launch = dbx.files_upload_session_finish_batch(
        [files.UploadSessionFinishArg(files.UploadSessionCursor(c, 2), files.CommitInfo("/b/c"))]
    )
    job = launch.get_async_job_id()
    assert dbx.files_upload_session_finish_batch_check(job).is_in_progress()
    done = dbx.files_upload_session_finish_batch_check(job)
    assert done.get_complete().entries[0].is_success()


def test_metadata_listing_and_deletes(dbx: SdkClient) -> None:
    dbx.files_upload(b"1", "/L/x/one")
    dbx.files_upload(b"2", "/L/y/two")
    md = dbx.files_get_metadata("/l/X/ONE")
    assert isinstance(md, files.FileMetadata) and md.path_display == "/L/x/one"
    assert isinstance(dbx.files_get_metadata("/l/x"), files.FolderMetadata)
    listing = dbx.files_list_folder("/l", recursive=True, limit=2)
    entries = list(listing.entries)
    while listing.has_more:
        listing = dbx.files_list_folder_continue(listing.cursor)
        entries += listing.entries
    assert {e.path_lower for e in entries} >= {"/l/x/one", "/l/y/two", "/l/x", "/l/y"}
    flat = dbx.files_list_folder("/l")
    assert {e.name for e in flat.entries} == {"x", "y"}

    deleted = dbx.files_delete_v2("/l/x/one")
    assert isinstance(deleted.metadata, files.FileMetadata)
    gone = dbx.files_get_metadata("/l/x/one", include_deleted=True)
    assert isinstance(gone, files.DeletedMetadata)
    changes = dbx.files_list_folder_continue(listing.cursor)
    assert any(isinstance(e, files.DeletedMetadata) for e in changes.entries)
    with pytest.raises(ApiError) as info:
        dbx.files_delete_v2("/l/x/one")
    assert info.value.error.get_path_lookup().is_not_found()
    with pytest.raises(ApiError) as info:
        dbx.files_list_folder_continue("AAEnot-a-cursor")
    assert info.value.error.is_reset()
    with pytest.raises(ApiError) as info:
        dbx.files_list_folder("/l/y/two")
    assert info.value.error.get_path().is_not_folder()


def test_folders_and_moves(dbx: SdkClient) -> None:
    folder = dbx.files_create_folder_v2("/M/Sub")
    assert folder.metadata.path_display == "/M/Sub"
    with pytest.raises(ApiError) as info:
        dbx.files_create_folder_v2("/m/sub")
    assert info.value.error.get_path().get_conflict().is_folder()
    original = dbx.files_upload(b"m", "/m/sub/file")
    moved = dbx.files_move_v2("/m/sub", "/m/other")
    assert isinstance(moved.metadata, files.FolderMetadata)
    now = dbx.files_get_metadata("/m/other/file")
    assert now.id == original.id
    with pytest.raises(ApiError) as info:
        dbx.files_move_v2("/m/other", "/m/other/inner")
    assert info.value.error.is_cant_move_folder_into_itself()
    with pytest.raises(ApiError) as info:
        dbx.files_move_v2("/m/nothing", "/m/x")
    assert info.value.error.get_from_lookup().is_not_found()


def test_expired_tokens(dbx: SdkClient, dropbox_emulator: DropboxEmulator) -> None:
    dropbox_emulator.expire_access_tokens(include_static=True)
    with pytest.raises(AuthError) as info:
        dbx.files_list_folder("")
    assert info.value.error.is_expired_access_token()


def test_refresh_grant(dropbox_emulator: DropboxEmulator) -> None:
    refresh = dropbox_emulator.issue_refresh_token()
    creds = DropboxCredentials(refresh_token=refresh, app_key=dropbox_emulator.app_key)
    client = SdkClient(
        endpoints=emulator_endpoints(dropbox_emulator),
        oauth2_refresh_token=creds.refresh_token,
        app_key=creds.app_key,
        max_retries_on_error=0,
        session=make_session(ca_bundle=str(dropbox_emulator.ca_path)),
    )
    assert client.users_get_current_account().email
    dropbox_emulator.revoke_refresh_tokens()
    dropbox_emulator.expire_access_tokens()
    with pytest.raises(AuthError) as info:  # 400 invalid_grant, as the SDK maps it
        client.users_get_current_account()
    assert info.value.error.is_invalid_access_token()
    client.close()


# -- the standalone runner ------------------------------------------------------------


def _start_runner(root: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.dropbox_emulator", "--root", str(root), "--port", "0"],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    env: dict[str, str] = {}
    while len(env) < 6:
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else "runner exited"
        key, _, value = line.removeprefix("export ").strip().partition("=")
        env[key] = shlex.split(value)[0]
    return proc, env


def test_standalone_runner_prints_env_and_keeps_state(tmp_path: Path) -> None:
    from app.storage.dropbox.factory import open_dropbox_storage

    proc, env = _start_runner(tmp_path / "dbx")
    try:
        assert env["DROPBOX_API_HOST"].startswith("127.0.0.1:")
        assert Path(env["KEEPSAKE_DROPBOX_CA_BUNDLE"]).is_file()
        storage = open_dropbox_storage("Standalone", env=env, sleep=lambda _s: None)
        storage.put("config", b"persisted")
        control = requests.Session()
        control.trust_env = False
        base = f"https://{env['DROPBOX_API_HOST']}/_emulator"
        answer = control.post(
            f"{base}/faults", json={"error_503": 0.5}, verify=env["KEEPSAKE_DROPBOX_CA_BUNDLE"]
        )
        assert answer.json()["faults"]["error_503"] == 0.5
        assert storage.get("config") == b"persisted"  # retried through the 503s
        stats = control.get(f"{base}/stats", verify=env["KEEPSAKE_DROPBOX_CA_BUNDLE"]).json()
        assert stats["calls"]["files/upload"] == 1
        storage.close()
        control.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    proc, env = _start_runner(tmp_path / "dbx")
    try:
        storage = open_dropbox_storage("standalone", env=env, sleep=lambda _s: None)
        assert storage.get("config") == b"persisted"
        storage.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert proc.returncode == 0  # the runner exits cleanly on SIGTERM
