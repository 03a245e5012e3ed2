"""Zero knowledge and a hostile vault: names and content never appear in storage, and
a crafted tree cannot write outside the restore target."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from app.engine import codec
from app.engine.crypto import B_TREE, T_SNAPSHOT
from app.engine.tree import Node
from app.engine.vault import Vault
from app.storage.local import LocalStorage
from tests.helpers import write


def test_vault_bytes_hold_no_names_or_content(tmp_path: Path) -> None:
    vault_dir = tmp_path / "vault"
    vault_dir.mkdir()
    vault, _ = Vault.create(LocalStorage(vault_dir), "pw")
    src = tmp_path / "SecretProjectFolder"
    needles = [
        b"SecretProjectFolder",
        b"tax-return-2026",
        b"holiday_photo",
        b"ssn-123-45-6789",
        b"confidential memo text",
    ]
    write(src / "tax-return-2026.pdf", b"%PDF-1.4 ssn-123-45-6789 " * 200)
    write(src / "holiday_photo.txt", b"confidential memo text " * 500)
    vault.backup([str(src)])
    for path in vault_dir.rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            for needle in needles:
                assert needle not in blob, (path, needle)
            assert b"pytest" not in blob and os.fsencode(tmp_path.name) not in blob
    for path in vault_dir.rglob("*"):  # object names are random hex too
        assert all(n.decode() not in path.name for n in needles)


def test_crafted_tree_cannot_escape_target(tmp_path: Path) -> None:
    vault_dir = tmp_path / "vault"
    vault_dir.mkdir()
    vault, _ = Vault.create(LocalStorage(vault_dir), "pw")
    src = tmp_path / "src"
    write(src / "payload.txt", b"evil")
    good = vault.backup([str(src)])
    # Build a hostile root tree by hand, with valid keys (an attacker who has them).
    payload_node = vault.load_tree(bytes.fromhex(vault.snapshots()[0].tree))[0]
    file_node = _find_file(vault, bytes.fromhex(vault.find_snapshot(good.snapshot_id).tree))
    assert file_node is not None
    evil_nodes: list[dict[str, Any]] = []
    for name in ["../escaped.txt", "/abs.txt", "..", "ok.txt", "ok.txt"]:
        evil_nodes.append({**codec.node_to_doc(file_node), "name": name})
    link = {
        "name": "link",
        "type": "symlink",
        "mode": 0o120777,
        "mtime_ns": 0,
        "target": str(tmp_path / "outside"),
    }
    through = {
        "name": "link",
        "type": "dir",
        "mode": 0o40755,
        "mtime_ns": 0,
        "subtree": (payload_node.subtree or b"").hex(),
    }
    evil_nodes += [link, through]
    tree_bytes = codec.encode_tree_docs(evil_nodes)
    tree_id = vault.cipher.blob_id(tree_bytes)
    from app.engine.packer import Packer

    packer = Packer(vault.storage, vault.cipher)
    packer.add_blob(B_TREE, tree_id, tree_bytes, try_compress=True)
    packer.flush()
    vault.write_index(dict(packer.completed()))
    doc = {
        "v": 1,
        "time": "2030-01-01T00:00:00+00:00",
        "hostname": "evil",
        "device_id": "x",
        "paths": ["/"],
        "tree": tree_id.hex(),
        "files": 1,
        "bytes": 4,
    }
    name = "snapshots/" + "ab" * 32
    vault.storage.put(
        name,
        vault.cipher.seal_object(T_SNAPSHOT, name, codec.encode_payload(json.dumps(doc).encode())),
    )
    vault.sync(force=True)
    (tmp_path / "outside").mkdir()
    target = tmp_path / "target"
    result = vault.restore("ab" * 32, str(target))
    assert (target / "ok.txt").read_bytes() == b"evil"
    assert not (tmp_path / "escaped.txt").exists()
    assert not Path("/abs.txt").exists()
    assert list((tmp_path / "outside").iterdir()) == []
    assert len(result.warnings) >= 4  # ../x, /abs, .., duplicate ok.txt


def _find_file(vault: Vault, tree: bytes) -> Node | None:
    for node in vault.load_tree(tree):
        if node.is_file:
            return node
        if node.is_dir:
            found = _find_file(vault, node.subtree_id())
            if found is not None:
                return found
    return None
