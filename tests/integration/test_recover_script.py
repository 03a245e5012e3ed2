"""tools/keepsake-recover.py: the standalone restore tool written from docs/FORMAT.md.

It runs as a subprocess (as a user would run it, with nothing of Keepsake importable)
and its restore must equal the app's restore byte for byte: contents, symlink
targets, modes and modification times of files, links and folders.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import blake3
import pytest

from app.engine import codec
from app.engine.crypto import B_DATA, B_TREE
from app.engine.packer import Packer
from app.engine.vault import Vault
from app.storage.local import LocalStorage
from tests.helpers import make_tree, random_bytes, write

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "keepsake-recover.py"
PASSPHRASE = "recover me"


def run_script(
    vault_dir: Path, *args: str, password: str | None = PASSPHRASE, recovery: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the script in isolated mode from an empty folder: `app` is not importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEEPSAKE_", "PYTHON"))}
    if password is not None:
        env["KEEPSAKE_PASSWORD"] = password
    if recovery is not None:
        env["KEEPSAKE_RECOVERY_KEY"] = recovery
    return subprocess.run(
        [sys.executable, "-I", str(SCRIPT), str(vault_dir), *args],
        env=env,
        cwd=vault_dir.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def snapshot_of_disk(root: Path, source: Path | None = None) -> dict[str, tuple[Any, ...]]:
    """Everything a restore promises, for every entry under ``root`` (root included).

    The folders above the backed-up ``source`` are kept without a time (they are
    not backed up, only passed through), so their mtimes are whenever they were made.
    """
    out: dict[str, tuple[Any, ...]] = {}
    rootb = os.fsencode(root)
    above: set[bytes] = set()
    if source is not None:
        parts = os.fsencode(os.path.abspath(source)).strip(b"/").split(b"/")
        above = {os.path.join(rootb, *parts[:i]) for i in range(len(parts))}
    entries = [rootb]
    for dirpath, dirnames, filenames in os.walk(rootb):
        entries.extend(os.path.join(dirpath, n) for n in dirnames + filenames)
    for full in entries:
        st = os.lstat(full)
        rel = os.fsdecode(os.path.relpath(full, rootb))
        if stat.S_ISLNK(st.st_mode):
            out[rel] = ("link", os.readlink(full), st.st_mtime_ns)
        elif stat.S_ISDIR(st.st_mode):
            # The target folder itself is not in the snapshot: its mtime is today's.
            mtime = None if full == rootb or full in above else st.st_mtime_ns
            out[rel] = ("dir", stat.S_IMODE(st.st_mode), mtime)
        else:
            with open(full, "rb") as fh:
                data = fh.read()
            out[rel] = ("file", data, stat.S_IMODE(st.st_mode), st.st_mtime_ns)
    return out


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("keepsake_recover", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["keepsake_recover"] = module  # dataclasses look the module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def backed_up(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One vault, two snapshots of a varied tree, restored once by the app."""
    base = tmp_path_factory.mktemp("recover")
    cache = base / "cache"
    src = make_tree(base / "src")
    write(src / "multi-chunk.bin", random_bytes(3 << 20, seed=11) + b"text " * 400_000)
    with open(os.path.join(os.fsencode(src), b"latin1-\xe9\xff.txt"), "wb") as fh:
        fh.write(b"not utf-8 name")
    os.chmod(src / "notes" / "todo.txt", 0o600)
    os.chmod(src / "photos", 0o750)
    write(src / "run.sh", b"#!/bin/sh\necho hi\n").chmod(0o755)
    vault_dir = base / "vault"
    vault_dir.mkdir()
    vault, recovery = Vault.create(LocalStorage(vault_dir), PASSPHRASE, cache_root=cache)
    with vault:
        first = vault.backup([str(src)], hostname="laptop").snapshot_id
        write(src / "notes" / "todo.txt", b"buy bread\n")
        (src / "photos" / "2024" / "img_0002.jpg").unlink()
        second = vault.backup([str(src)], hostname="laptop").snapshot_id
        app_restores = {}
        for snap_id in (first, second):
            target = base / f"app-{snap_id[:8]}"
            result = vault.restore(snap_id, str(target))
            assert not result.warnings
            app_restores[snap_id] = snapshot_of_disk(target, src)
    return {
        "base": base,
        "vault": vault_dir,
        "recovery": recovery,
        "first": first,
        "second": second,
        "app": app_restores,
        "src": src,
    }


def test_latest_with_passphrase_equals_the_apps_restore(backed_up: dict[str, Any]) -> None:
    target = backed_up["base"] / "script-latest"
    done = run_script(backed_up["vault"], "latest", "--target", str(target))
    assert done.returncode == 0, done.stderr
    got = snapshot_of_disk(target, backed_up["src"])
    assert got == backed_up["app"][backed_up["second"]]
    # Sanity: the comparison covers what matters.
    kinds = {v[0] for v in got.values()}
    assert kinds == {"dir", "file", "link"}
    assert any(k.endswith("latin1-\udce9\udcff.txt") for k in got)
    assert any(v[0] == "file" and v[1] == b"" for v in got.values())  # an empty file


def test_prefix_with_recovery_key_equals_the_apps_restore(backed_up: dict[str, Any]) -> None:
    target = backed_up["base"] / "script-first"
    typed = backed_up["recovery"].lower().replace("-", " ")  # as a person might type it
    done = run_script(
        backed_up["vault"],
        backed_up["first"][:10],
        "--target",
        str(target),
        password=None,
        recovery=typed,
    )
    assert done.returncode == 0, done.stderr
    assert snapshot_of_disk(target, backed_up["src"]) == backed_up["app"][backed_up["first"]]


def test_selected_path_and_listing(backed_up: dict[str, Any]) -> None:
    listing = run_script(backed_up["vault"], "--list")
    assert listing.returncode == 0, listing.stderr
    assert backed_up["first"][:8] in listing.stdout and backed_up["second"][:8] in listing.stdout
    target = backed_up["base"] / "script-part"
    wanted = backed_up["src"] / "notes"
    done = run_script(backed_up["vault"], "latest", str(wanted), "--target", str(target))
    assert done.returncode == 0, done.stderr
    restored = target / str(wanted).lstrip("/")
    assert (restored / "todo.txt").read_bytes() == b"buy bread\n"
    assert (restored / "deep" / "er" / "still" / "file.md").is_file()
    assert not (target / str(backed_up["src"]).lstrip("/") / "photos").exists()


def test_wrong_secrets_exit_4(backed_up: dict[str, Any], tmp_path: Path) -> None:
    wrong = run_script(backed_up["vault"], "latest", "--target", str(tmp_path), password="nope")
    assert wrong.returncode == 4, wrong.stderr
    key = backed_up["recovery"]
    typo = key[:-1] + ("A" if key[-1] != "A" else "B")
    bad = run_script(backed_up["vault"], "--list", password=None, recovery=typo)
    assert bad.returncode == 4 and "typo" in bad.stderr


def test_lost_index_objects_fall_back_to_pack_headers(
    backed_up: dict[str, Any], tmp_path: Path
) -> None:
    copy = tmp_path / "vault-copy"
    shutil.copytree(backed_up["vault"], copy)
    shutil.rmtree(copy / "index")
    target = tmp_path / "out"
    done = run_script(copy, "latest", "--target", str(target))
    assert done.returncode == 0, done.stderr
    assert snapshot_of_disk(target, backed_up["src"]) == backed_up["app"][backed_up["second"]]


def test_a_flipped_byte_is_reported_not_restored(backed_up: dict[str, Any], tmp_path: Path) -> None:
    copy = tmp_path / "vault-copy"
    shutil.copytree(backed_up["vault"], copy)
    biggest = max(
        (p for p in (copy / "data").rglob("*") if p.is_file()), key=lambda p: p.stat().st_size
    )
    data = bytearray(biggest.read_bytes())
    data[100] ^= 0x01  # inside the first blob of the biggest pack
    biggest.write_bytes(bytes(data))
    target = tmp_path / "out"
    done = run_script(copy, "latest", "--target", str(target))
    assert done.returncode == 1
    assert "damaged" in done.stderr
    assert not list(target.rglob(".keepsake-recover-*"))  # no half-written temp file left


def build_malicious_snapshot(vault: Vault, tmp: Path) -> str:
    """A snapshot whose trees try to escape the target in every way we know of."""
    packer = Packer(vault.storage, vault.cipher)
    payload = b"attacker bytes"
    data_id = vault.cipher.blob_id(payload)
    packer.add_blob(B_DATA, data_id, payload, try_compress=False)

    def tree(nodes: list[dict[str, Any]]) -> str:
        raw = codec.encode_tree_docs(nodes)
        tree_id = vault.cipher.blob_id(raw)
        packer.add_blob(B_TREE, tree_id, raw, try_compress=True)
        return tree_id.hex()

    def file(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "type": "file",
            "mode": 0o100644,
            "mtime_ns": 0,
            "size": 14,
            "content": [data_id.hex()],
        }

    outside = str(tmp / "outside")
    inner = tree([file("through-link.txt")])
    root = tree(
        [
            file("../escape-dotdot.txt"),
            file(".."),
            file("a/b.txt"),
            {
                "name_b64": "Li4=",
                "type": "file",
                "mode": 0o100644,
                "mtime_ns": 0,
                "size": 14,
                "content": [data_id.hex()],
            },
            {"name": "lnk", "type": "symlink", "mode": 0o120777, "mtime_ns": 0, "target": outside},
            {"name": "lnk", "type": "dir", "mode": 0o40755, "mtime_ns": 0, "subtree": inner},
            file("ok.txt"),
        ]
    )
    packer.flush()
    packer.close()
    vault.write_index(dict(packer.completed()))
    doc = {
        "v": 1,
        "time": "2030-01-01T00:00:00+00:00",
        "hostname": "evil",
        "device_id": "0" * 32,
        "paths": ["/"],
        "excludes": [],
        "tree": root,
        "files": 1,
        "bytes": 14,
        "tags": [],
    }
    return vault.write_snapshot(doc)


def test_names_that_escape_the_target_are_refused(tmp_path: Path) -> None:
    vault_dir = tmp_path / "vault"
    vault_dir.mkdir()
    (tmp_path / "outside").mkdir()
    vault, _ = Vault.create(LocalStorage(vault_dir), PASSPHRASE, cache_root=tmp_path / "cache")
    with vault:
        snap_id = build_malicious_snapshot(vault, tmp_path)
    target = tmp_path / "deep" / "target"
    done = run_script(vault_dir, snap_id[:8], "--target", str(target))
    assert done.returncode == 1
    assert (target / "ok.txt").read_bytes() == b"attacker bytes"
    assert "unsafe name" in done.stderr
    assert not list((tmp_path / "outside").iterdir())
    assert not (tmp_path / "deep" / "escape-dotdot.txt").exists()
    assert sorted(os.listdir(target)) in (["lnk", "ok.txt"], ["ok.txt"])
    assert not (target / "lnk").is_dir() or (target / "lnk").is_symlink()


def test_script_imports_only_stdlib_cryptography_and_zstandard() -> None:
    tree = ast.parse(SCRIPT.read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"__future__"}
    assert third_party == {"cryptography", "zstandard"}


@pytest.mark.parametrize("size", [0, 1, 64, 65, 1023, 1024, 1025, 2048, 3073, 9000, 70_000])
def test_pure_python_blake3_matches_the_reference(size: int) -> None:
    module = load_script()
    data = random_bytes(size, seed=size)
    key = random_bytes(32, seed=size + 1)
    assert module.blake3(data) == blake3.blake3(data).digest()
    assert module.blake3(data, key) == blake3.blake3(data, key=key).digest()


def test_recovery_key_checksum_agrees_with_the_app() -> None:
    from app.engine.crypto import new_recovery_key, normalize_recovery_key

    module = load_script()
    for _ in range(5):
        key = new_recovery_key()
        assert module.canonical_recovery_key(key.lower()) == normalize_recovery_key(key) == key


def test_format_doc_names_what_the_script_relies_on() -> None:
    doc = (SCRIPT.parents[1] / "docs" / "FORMAT.md").read_text()
    for needle in (
        "KSV1",
        "KSB1",
        "keepsake-key-v1",
        "<B32sIII",
        "ABCDEFGHJKLMNPQRSTUVWXYZ23456789",
        "0x80",
    ):
        assert needle in doc
    assert json.loads(json.dumps({"ok": True}))  # keep json imported for readers' copy-paste


def test_a_folder_swapped_for_a_link_mid_restore_is_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11 item 10: whoever owns the target swaps a folder for a link to a
    folder outside after the script made it. Run as root, the script must neither
    write through the link nor chmod what it points to (here: to 1777)."""
    src = tmp_path / "src"
    write(src / "shared" / "a.txt", b"first")
    write(src / "shared" / "b.txt", b"second")
    (src / "shared").chmod(0o1777)
    vault_dir = tmp_path / "vault"
    vault_dir.mkdir()
    vault, _ = Vault.create(LocalStorage(vault_dir), PASSPHRASE, cache_root=tmp_path / "cache")
    with vault:
        vault.backup([str(src)], hostname="laptop")
    outside = tmp_path / "outside"
    outside.mkdir()
    outside.chmod(0o755)
    target = tmp_path / "target"
    shared = Path(os.fsdecode(os.path.join(os.fsencode(target), *split_abs(src / "shared"))))

    module = load_script()
    original = module.Vault.read_blob
    swapped: list[bool] = []

    def read_blob_then_swap(self: Any, blob_id: bytes, kind: int) -> bytes:
        if kind == module.KIND_DATA and not swapped:  # writing into `shared` now
            shared.rename(shared.with_name("shared-moved"))
            shared.symlink_to(outside)
            swapped.append(True)
        result: bytes = original(self, blob_id, kind)
        return result

    monkeypatch.setattr(module.Vault, "read_blob", read_blob_then_swap)
    monkeypatch.setenv("KEEPSAKE_PASSWORD", PASSPHRASE)
    status = module.main([str(vault_dir), "latest", "--target", str(target)])
    assert swapped
    assert stat.S_IMODE(outside.stat().st_mode) == 0o755  # not chmod-ed through the link
    assert list(outside.iterdir()) == []  # nothing written through it
    moved = shared.with_name("shared-moved")
    assert (moved / "a.txt").read_bytes() == b"first"  # into the folder it opened
    assert (moved / "b.txt").read_bytes() == b"second"
    assert status == 1  # and it says the folder changed under it


def split_abs(path: Path) -> list[bytes]:
    return [p for p in os.fsencode(os.path.abspath(path)).split(b"/") if p]
