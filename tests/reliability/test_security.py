"""Security: what the vault reveals, where secrets end up, and hostile vaults.

* The storage sees no file or folder name, path, host name or content substring.
* After real CLI runs, settings, cache, logs and crash reports hold no passphrase,
  recovery key, master key or cloud token.
* A malicious vault, built with the real keys through the engine's own cipher and
  codec (so every object is validly encrypted), cannot make restore write outside
  the target, follow a symlink out of it, or exhaust memory, and never hangs.
* KDF parameters below the floor (or absurdly above it) are refused before any
  key derivation.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zstandard

from app.core.errors import AppError, ErrorCode, VaultCorruptError
from app.engine import codec
from app.engine.crypto import B_COMPRESSED, B_DATA, B_TREE, parse_key_object
from app.engine.packer import Packer
from app.engine.vault import Vault
from app.storage.local import LocalStorage
from tests.reliability.harness import (
    PASSWORD,
    REPO,
    VaultTemplate,
    cli_env,
    run_cli,
    vault_objects,
)

# --- what the storage sees ------------------------------------------------------------

MARKERS = [
    "Grandmas-Secret-Recipes",
    "passport-scan-QX7.jpg",
    "tax return 2025 FINAL.pdf",
    "Zürich-Ferien-Фото",
]
CONTENT = "CONFIDENTIAL-DIAGNOSIS-ZEBRA-4471"


def _needles(source: Path) -> list[bytes]:
    out = [m.encode() for m in MARKERS] + [CONTENT.encode()]
    if len(socket.gethostname()) >= 6:  # shorter ones occur by chance in random bytes
        out.append(socket.gethostname().encode())
    out += [part.encode() for part in source.parts if len(part) >= 6]
    out += [str(source).encode(), PASSWORD.encode()]
    for needle in list(out):
        out.append(needle.decode().encode("utf-16-le"))
        out.append(base64.b64encode(needle))
    return out


def test_vault_scan_finds_no_plaintext(tmp_path: Path) -> None:
    source = tmp_path / "Documents-of-Ann"
    for i, name in enumerate(MARKERS):
        folder = source / MARKERS[(i + 1) % len(MARKERS)]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(f"{CONTENT} line {i}\n" * 2000)  # compressible
        (folder / f"raw-{i}.dat").write_text(CONTENT)  # tiny: stored uncompressed
    (source / "link-to-secret").symlink_to(MARKERS[0])
    vault_dir = tmp_path / "vault"
    env = cli_env(tmp_path / "home")
    assert run_cli("init", "--repo", str(vault_dir), env=env).returncode == 0
    done = run_cli("backup", "--repo", str(vault_dir), str(source), env=env)
    assert done.returncode == 0, done.stderr
    needles = _needles(source)
    for path in vault_objects(vault_dir):
        rel = str(path.relative_to(vault_dir))
        assert all(
            c in "0123456789abcdef/"
            for c in rel.replace("config", "")
            .replace("keys", "")
            .replace("data", "")
            .replace("index", "")
            .replace("snapshots", "")
        ), rel
        data = path.read_bytes()
        for needle in needles:
            assert needle not in data, f"{needle!r} visible in {rel}"


# --- secrets on disk --------------------------------------------------------------------


def _files_under(*roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.exists():
            for dirpath, _dirs, files in os.walk(root):
                for name in files:
                    yield Path(dirpath) / name


def _secret_forms(secret: bytes) -> list[bytes]:
    return [
        secret,
        secret.hex().encode(),
        base64.b64encode(secret),
        base64.urlsafe_b64encode(secret),
    ]


def test_no_secret_in_settings_cache_logs_or_crash_reports(
    template: VaultTemplate, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    token = "sl.FAKE-DROPBOX-TOKEN-1d5f0c9e"
    new_pass = "a brand new passphrase 9931"
    env = cli_env(home, KEEPSAKE_DROPBOX_ACCESS_TOKEN=token, KEEPSAKE_NEW_PASSWORD=new_pass)
    vault_dir = tmp_path / "vault"
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.txt").write_text("hello\n")
    init = run_cli("init", "--repo", str(vault_dir), env=env)
    assert init.returncode == 0
    recovery = next(
        line.strip() for line in init.stdout.splitlines() if line.strip().count("-") == 10
    )
    runs = [
        ("backup", "--repo", str(vault_dir), str(source)),
        ("snapshots", "--repo", str(vault_dir), "--json"),
        ("check", "--repo", str(vault_dir), "--read-data"),
        ("restore", "--repo", str(vault_dir), "latest", "--target", str(tmp_path / "t")),
        ("key", "--repo", str(vault_dir), "passwd"),
        ("backup", "--repo", str(vault_dir), str(tmp_path / "missing")),  # an error path
    ]
    for args in runs:
        run_cli(*args, env=env)
    wrong = run_cli("check", "--repo", str(vault_dir), env={**env, "KEEPSAKE_PASSWORD": "nope"})
    assert wrong.returncode == 4
    with Vault.open(
        LocalStorage(vault_dir), recovery_key=recovery, cache_root=tmp_path / "probe"
    ) as vault:
        keys = vault.repo.keys
    secrets_: list[bytes] = [PASSWORD.encode(), new_pass.encode(), token.encode()]
    secrets_ += [recovery.encode(), recovery.replace("-", "").encode()]
    for key in (keys.enc_key, keys.id_key):
        secrets_ += _secret_forms(key)
    checked = 0
    for path in _files_under(home):
        data = path.read_bytes()
        checked += 1
        for secret in secrets_:
            assert secret not in data, f"a secret is stored in {path}"
    assert checked >= 1  # the cache and the device id at least
    # A crash report (what the crash dialog shows and saves) from a failure deep in a
    # job whose locals hold the passphrase and keys.
    from app.ui.dialogs import crash_report

    def job(passphrase: str) -> None:
        derived = keys.enc_key  # noqa: F841 - a local the report must not show
        raise RuntimeError("simulated bug inside a job")

    try:
        job(PASSWORD)
    except RuntimeError as exc:
        report = crash_report(type(exc), exc, exc.__traceback__)
    for secret in secrets_:
        assert secret.decode("latin-1") not in report


# --- malicious vaults -------------------------------------------------------------------


class Forger:
    """Writes validly encrypted, hostile objects with the vault's own keys."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.packer = Packer(vault.storage, vault.cipher, target_size=1 << 20)

    def data(self, content: bytes) -> str:
        blob_id = self.vault.cipher.blob_id(content)
        self.packer.add_blob(B_DATA, blob_id, content, try_compress=True)
        return blob_id.hex()

    def raw(self, kind: int, blob_id: bytes, payload: bytes, raw_length: int) -> str:
        self.packer.add(kind, blob_id, payload, raw_length)
        return blob_id.hex()

    def tree(self, nodes: list[dict[str, Any]]) -> str:
        data = codec.encode_tree_docs(nodes)
        blob_id = self.vault.cipher.blob_id(data)
        self.packer.add_blob(B_TREE, blob_id, data, try_compress=True)
        return blob_id.hex()

    def snapshot(self, root_tree: str, paths: list[str]) -> str:
        self.packer.flush()
        done = dict(self.packer.completed())
        if done:
            self.vault.write_index(done)
        return self.vault.write_snapshot(
            {
                "v": 1,
                "time": "2026-01-01T00:00:00+00:00",
                "hostname": "evil",
                "device_id": "0" * 32,
                "paths": paths,
                "tree": root_tree,
                "files": 1,
                "bytes": 1,
                "tags": [],
            }
        )

    def close(self) -> None:
        self.packer.close()


def _file(name: str, blob: str, size: int) -> dict[str, Any]:
    return {
        "name": name,
        "type": "file",
        "mode": 0o644,
        "mtime_ns": 0,
        "size": size,
        "content": [blob],
    }


def _dir(name: str, tree: str) -> dict[str, Any]:
    return {"name": name, "type": "dir", "mode": 0o755, "mtime_ns": 0, "subtree": tree}


def _wrap(forger: Forger, inner: list[dict[str, Any]]) -> str:
    """Root tree holding ``/evil/<inner>``."""
    return forger.tree([_dir("evil", forger.tree(inner))])


def _bomb(size: int) -> bytes:
    """A zstd frame of ``size`` zero bytes that does not declare its size."""
    comp = zstandard.ZstdCompressor(level=1, write_content_size=False)
    out = comp.compressobj()
    chunk = bytes(1 << 20)
    parts = [out.compress(chunk) for _ in range(size >> 20)]
    parts.append(out.flush())
    return b"".join(parts)


def _lying_bomb(size: int) -> bytes:
    """A frame that declares (and holds) ``size`` bytes."""
    return zstandard.ZstdCompressor(level=1).compress(bytes(size))


def build_hostile_vault(
    template: VaultTemplate, vault_dir: Path, cache: Path, outside: Path
) -> dict[str, str]:
    """One snapshot per attack; returns attack -> snapshot id."""
    template.copy_to(vault_dir)
    snaps: dict[str, str] = {}
    with template.open(vault_dir, cache) as vault:
        forger = Forger(vault)
        good = forger.data(b"harmless\n")
        names = [
            "..",
            ".",
            "",
            "/abs-escape",
            "a/../../escape",
            "x\0y",
            "../../../../../../../../tmp/keepsake-pwned",
        ]
        snaps["names"] = forger.snapshot(
            _wrap(forger, [_file(n, good, 9) for n in names] + [_file("ok.txt", good, 9)]),
            ["/evil"],
        )
        snaps["dup"] = forger.snapshot(
            _wrap(forger, [_file("same", good, 9), _file("same", forger.data(b"second\n"), 7)]),
            ["/evil"],
        )
        link = {
            "name": "link",
            "type": "symlink",
            "mode": 0o777,
            "mtime_ns": 0,
            "target": str(outside),
        }
        snaps["link"] = forger.snapshot(_wrap(forger, [link]), ["/evil"])
        snaps["through-link"] = forger.snapshot(
            _wrap(forger, [_dir("link", forger.tree([_file("pwned", good, 9)]))]), ["/evil"]
        )
        snaps["link-and-dir"] = forger.snapshot(
            _wrap(forger, [link, _dir("link", forger.tree([_file("pwned", good, 9)]))]),
            ["/evil"],
        )
        snaps["huge-size"] = forger.snapshot(
            _wrap(forger, [_file("huge", good, 2**50), _file("ok.txt", good, 9)]), ["/evil"]
        )
        bomb_id = os.urandom(32)
        snaps["bomb"] = forger.snapshot(
            _wrap(
                forger,
                [
                    _file(
                        "bomb",
                        forger.raw(B_DATA | B_COMPRESSED, bomb_id, _bomb(1 << 30), 1024),
                        1024,
                    ),
                    _file(
                        "declared",
                        forger.raw(
                            B_DATA | B_COMPRESSED, os.urandom(32), _lying_bomb(1 << 27), 1024
                        ),
                        1024,
                    ),
                    _file(
                        "oversize",
                        forger.raw(
                            B_DATA | B_COMPRESSED, os.urandom(32), _bomb(1 << 22), 2**32 - 1
                        ),
                        2**32 - 1,
                    ),
                    _file("ok.txt", good, 9),
                ],
            ),
            ["/evil"],
        )
        tree_bomb_id = os.urandom(32)
        snaps["tree-bomb"] = forger.snapshot(
            forger.tree(
                [
                    _dir(
                        "evil", forger.raw(B_TREE | B_COMPRESSED, tree_bomb_id, _bomb(1 << 30), 512)
                    ),
                    _dir("fine", forger.tree([_file("ok.txt", good, 9)])),
                ]
            ),
            ["/evil", "/fine"],
        )
        # A cycle needs a tree whose id names itself: impossible with keyed-hash ids
        # unless the id lies, which the id check catches. Forge the lie.
        cycle_id = os.urandom(32)
        looping = codec.encode_tree_docs([_dir("loop", cycle_id.hex()), _file("ok.txt", good, 9)])
        forger.raw(B_TREE, cycle_id, b"\x00" * 0 + looping, len(looping))
        snaps["cycle"] = forger.snapshot(forger.tree([_dir("evil", cycle_id.hex())]), ["/evil"])
        # A DAG that doubles at every level: 2**40 paths from 41 small, valid trees.
        level = forger.tree([_file("leaf", good, 9)])
        for _ in range(40):
            level = forger.tree([_dir("a", level), _dir("b", level)])
        snaps["dag-bomb"] = forger.snapshot(forger.tree([_dir("evil", level)]), ["/evil"])
        forger.close()
    return snaps


@pytest.fixture(scope="module")
def hostile(
    template: VaultTemplate, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    base = tmp_path_factory.mktemp("hostile")
    outside = base / "outside"
    outside.mkdir()
    vault_dir = base / "vault"
    return vault_dir, build_hostile_vault(template, vault_dir, base / "cache", outside)


def _outside_listing(root: Path, target: Path) -> set[str]:
    return {
        str(p) for p in _files_under(root) if target not in p.parents and "cache" not in p.parts
    }


RESTORE_SCRIPT = """
import json, os, pathlib, resource, sys
sys.path.insert(0, {repo!r})
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from app.engine.vault import Vault
from app.storage.local import LocalStorage
from app.core.errors import AppError
vault = Vault.open(
    LocalStorage({vault!r}), passphrase={password!r}, cache_root=pathlib.Path({cache!r})
)
out = {{"warnings": [], "error": None}}
for snap in {snaps!r}:
    try:
        result = vault.restore(snap, {target!r})
        out["warnings"] += [w.path + ": " + w.message for w in result.warnings]
    except AppError as exc:
        out["error"] = exc.message
print(json.dumps(out))
"""


@pytest.mark.parametrize(
    "attacks",
    [
        ["names"],
        ["dup"],
        ["link", "through-link"],
        ["link-and-dir"],
        ["huge-size"],
        ["bomb"],
        ["tree-bomb"],
        ["cycle"],
        ["dag-bomb"],
    ],
    ids=lambda a: "+".join(a),
)
def test_malicious_vault_cannot_escape_or_exhaust(
    template: VaultTemplate,
    hostile: tuple[Path, dict[str, str]],
    tmp_path: Path,
    attacks: list[str],
) -> None:
    """Restore in a child with a 1.5 GiB address-space limit and a time limit: it
    must finish, write only inside the target, and name what it refused."""
    vault_dir, snaps = hostile
    target = tmp_path / "target"
    watch = tmp_path.parent
    before = _outside_listing(watch, target)
    script = RESTORE_SCRIPT.format(
        repo=str(REPO),
        limit=1536 * 1024 * 1024,
        vault=str(vault_dir),
        password=PASSWORD,
        cache=str(tmp_path / "cache"),
        snaps=[snaps[a] for a in attacks],
        target=str(target),
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["warnings"] or result["error"], result
    after = _outside_listing(watch, target)
    assert after - before <= {str(p) for p in _files_under(tmp_path) if "cache" in str(p)}, sorted(
        after - before
    )
    assert not os.path.lexists("/tmp/keepsake-pwned")
    assert not any((hostile[0].parent / "outside").iterdir()), "wrote through a symlink"
    for path in _files_under(target):  # whatever was restored is the harmless content
        if not path.is_symlink():
            assert path.read_bytes() in (b"harmless\n", b"second\n"), path


@pytest.mark.parametrize(
    "command",
    [
        ["check", "--read-data"],
        ["ls", "dag-bomb"],
        ["ls", "cycle"],
        ["ls", "names"],
        ["prune"],
        ["snapshots"],
    ],
    ids=" ".join,
)
def test_hostile_vault_commands_finish(
    hostile: tuple[Path, dict[str, str]], tmp_path: Path, command: list[str]
) -> None:
    """check, ls, prune and snapshots on the hostile vault end (no hang, no traceback);
    prune refuses to delete anything when it cannot read everything."""
    command = [hostile[1].get(word, word) for word in command]
    vault_dir = Path(shutil.copytree(hostile[0], tmp_path / "vault"))
    before = sorted(str(p) for p in vault_objects(vault_dir) if "locks" not in p.parts)
    args = [command[0], "--repo", str(vault_dir), *command[1:]]
    done = run_cli(*args, env=cli_env(tmp_path / "home"), timeout=120)
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    if command[0] == "check":
        assert done.returncode == 1
    if command[0] == "prune":
        after = sorted(str(p) for p in vault_objects(vault_dir) if "locks" not in p.parts)
        assert set(before) <= set(after), "prune deleted data from a vault it cannot read"


# --- KDF floor ----------------------------------------------------------------------------

WEAK = [
    {"algorithm": "argon2id", "memory_kib": 1024, "iterations": 3, "lanes": 4},
    {"algorithm": "argon2id", "memory_kib": 65536, "iterations": 1, "lanes": 4},
    {"algorithm": "argon2id", "memory_kib": 65536, "iterations": 3, "lanes": 0},
    {"algorithm": "scrypt", "log2_n": 14, "r": 8, "p": 1},
    {"algorithm": "scrypt", "log2_n": 17, "r": 1, "p": 1},
]
ABSURD = [
    {"algorithm": "argon2id", "memory_kib": 2**40, "iterations": 3, "lanes": 4},
    {"algorithm": "scrypt", "log2_n": 40, "r": 8, "p": 1},
]


def _rewrite_keys(vault_dir: Path, params: dict[str, Any]) -> None:
    for path in (vault_dir / "keys").iterdir():
        doc = parse_key_object(path.read_bytes())
        salt = doc["kdf"]["salt"]
        doc["kdf"] = {**params, "salt": salt}
        path.write_text(json.dumps(doc))


@pytest.mark.parametrize("params", WEAK + ABSURD, ids=lambda p: json.dumps(p, sort_keys=True))
def test_kdf_parameters_below_the_floor_are_refused(
    template: VaultTemplate, tmp_path: Path, params: dict[str, Any]
) -> None:
    vault_dir = template.copy_to(tmp_path / "vault")
    _rewrite_keys(vault_dir, params)
    storage = LocalStorage(vault_dir)
    with pytest.raises(AppError) as raised:
        Vault.open(storage, passphrase=PASSWORD, cache_root=tmp_path / "c")
    if params in WEAK:
        assert raised.value.code == ErrorCode.WEAK_KDF
    else:
        assert isinstance(raised.value, VaultCorruptError)


def test_cli_refuses_a_weak_kdf(template: VaultTemplate, tmp_path: Path) -> None:
    vault_dir = template.copy_to(tmp_path / "vault")
    _rewrite_keys(vault_dir, WEAK[0])
    done = run_cli("snapshots", "--repo", str(vault_dir), env=cli_env(tmp_path / "home"))
    assert done.returncode == 1
    assert "weaker password hashing" in done.stderr and "Traceback" not in done.stderr


def test_desktop_logs_settings_and_history_hold_no_secret(
    template: VaultTemplate, tmp_path: Path
) -> None:
    """What the desktop app writes: its rotating log (here at DEBUG, so every
    library's chatter is in it), the settings file and the job history, after a
    vault is created, unlocked, backed up, restored, checked, rekeyed, opened with a
    wrong passphrase, and a job crashed with the secrets in its locals."""
    import logging
    from datetime import UTC, datetime

    from app.main import setup_logging
    from app.store.history import HistoryStore, JobRecord, JobStatus
    from app.store.settings import Settings, SettingsStore, VaultRef

    log_dir = tmp_path / "log"
    config = tmp_path / "config"
    setup_logging(log_dir)
    root_logger = logging.getLogger()
    old_level = root_logger.level
    root_logger.setLevel(logging.DEBUG)
    new_pass = "another fresh passphrase 5521"
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.txt").write_text("hello\n")
    history = HistoryStore(config / "history.sqlite")
    try:
        storage = LocalStorage(tmp_path / "vault")
        (tmp_path / "vault").mkdir()
        vault, recovery = Vault.create(storage, PASSWORD, cache_root=tmp_path / "cache")
        keys = vault.repo.keys
        with vault:
            vault.backup([str(source)])
            vault.restore("latest", str(tmp_path / "t"))
            vault.check(read_data=True)
            vault.change_passphrase(new_pass)
        try:
            Vault.open(storage, passphrase=PASSWORD, cache_root=tmp_path / "cache")
        except AppError as exc:
            logging.getLogger("app.services.jobs").error("open failed: %s", exc)
            history.add(
                JobRecord(
                    "backup",
                    datetime.now(UTC),
                    datetime.now(UTC),
                    JobStatus.FAILED,
                    message=exc.message,
                )
            )

        def job(passphrase: str) -> None:
            secret_keys = keys  # noqa: F841 - locals a logged traceback must not show
            raise RuntimeError("simulated crash in a job")

        try:
            job(new_pass)
        except RuntimeError:
            logging.getLogger("app.services.jobs").exception("backup crashed")
        SettingsStore(config).save(
            Settings(vault=VaultRef(str(tmp_path / "vault"), keys.vault_id, "test vault"))
        )
    finally:
        root_logger.setLevel(old_level)
        for handler in list(root_logger.handlers):
            if getattr(handler, "baseFilename", "").startswith(str(log_dir)):
                root_logger.removeHandler(handler)
                handler.close()
        history.close()
    secrets_ = [PASSWORD.encode(), new_pass.encode(), recovery.encode()]
    for key in (keys.enc_key, keys.id_key):
        secrets_ += _secret_forms(key)
    files = list(_files_under(log_dir, config))
    assert any(p.name == "keepsake.log" for p in files), files
    for path in files:
        data = path.read_bytes()
        for secret in secrets_:
            assert secret not in data, f"a secret is stored in {path}"
