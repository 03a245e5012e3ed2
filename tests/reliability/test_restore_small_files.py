"""Round 3 (issue 14): a full restore of many files locates blobs through an
in-memory map of the index (``app.engine.locmap``) and writes small files on the
planning thread. Same results, same refusals, same fallbacks as the per-task index
queries: real vaults, real files."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest

import app.engine.restore as restore_module
from app.engine.cache import Cache
from tests.reliability.harness import (
    VaultTemplate,
    assert_same_tree,
    random_bytes,
    restored_root,
    write_tree,
)


def _mixed_tree(root: Path) -> None:
    write_tree(root, random.Random(51), files=60, max_size=3000)  # small notes
    big = root / "big"
    big.mkdir()
    (big / "photo.bin").write_bytes(random_bytes(random.Random(52), 5 << 20))  # several chunks
    (big / "empty").write_bytes(b"")
    os.symlink("photo.bin", big / "link")


def _count_index_queries(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = Cache.lookup_blobs

    def lookup_blobs(self: Cache, ids: Any) -> Any:
        calls.append(1)
        return real(self, ids)

    monkeypatch.setattr(Cache, "lookup_blobs", lookup_blobs)
    return calls


def test_full_restore_through_the_location_map(
    template: VaultTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    _mixed_tree(src)
    vault_dir = template.copy_to(tmp_path / "vault")
    with template.open(vault_dir, tmp_path / "c0") as vault:
        vault.backup([str(src)])
    monkeypatch.setattr(restore_module, "MAP_MIN_FILES", 1)
    queries = _count_index_queries(monkeypatch)
    with template.open(vault_dir, tmp_path / "c1") as vault:
        result = vault.restore("latest", str(tmp_path / "t"))
    assert not result.warnings, result.warnings[:3]
    assert result.files_restored == 62
    assert_same_tree(src, restored_root(tmp_path / "t", src))
    assert queries == []  # every blob found in the map, none looked up one task at a time


def test_a_partial_or_small_restore_queries_the_index(
    template: VaultTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    _mixed_tree(src)
    vault_dir = template.copy_to(tmp_path / "vault")
    with template.open(vault_dir, tmp_path / "c0") as vault:
        vault.backup([str(src)])
    queries = _count_index_queries(monkeypatch)
    with template.open(vault_dir, tmp_path / "c1") as vault:
        result = vault.restore("latest", str(tmp_path / "t"))  # fewer than MAP_MIN_FILES
    assert not result.warnings and result.files_restored == 62
    assert_same_tree(src, restored_root(tmp_path / "t", src))
    assert queries  # no map for 62 files: the index is asked per task


def test_location_map_restore_falls_back_to_pack_headers_for_blobs_it_lacks(
    template: VaultTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every index object damaged: the map is empty, and each blob is found the way
    a per-task lookup finds it (the packs' own headers, read once)."""
    src = tmp_path / "src"
    _mixed_tree(src)
    vault_dir = template.copy_to(tmp_path / "vault")
    with template.open(vault_dir, tmp_path / "c0") as vault:
        vault.backup([str(src)])
    for index in (vault_dir / "index").iterdir():
        data = bytearray(index.read_bytes())
        data[len(data) // 2] ^= 0x40
        index.write_bytes(bytes(data))
    monkeypatch.setattr(restore_module, "MAP_MIN_FILES", 1)
    with template.open(vault_dir, tmp_path / "c1") as vault:
        result = vault.restore("latest", str(tmp_path / "t"))
    assert not result.warnings, result.warnings[:3]
    assert_same_tree(src, restored_root(tmp_path / "t", src))
