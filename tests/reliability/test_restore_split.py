"""Round 3 (issue 14): a full restore of many files shared with a helper process
(``app.engine.restore_split``). Real vaults, real files, a real spawned process:
the result is the same tree, the helper stops with a cancel, and a helper that dies
leaves nothing missing (the parent restores its unfinished folders again)."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import app.engine.restore as restore_module
import app.engine.restore_split as split_module
from app.core.cancel import CancelToken
from app.core.errors import CancelledError
from app.core.events import Progress
from app.engine.restore_write import Writer
from tests.reliability.harness import VaultTemplate, assert_same_tree, restored_root


def _notes(root: Path, folders: int, per_folder: int) -> int:
    rng = random.Random(61)
    for f in range(folders):
        for g in range(3):
            box = root / f"area-{f}" / f"box-{g}"
            box.mkdir(parents=True)
            for i in range(per_folder):
                (box / f"note-{i}.txt").write_bytes(rng.randbytes(rng.randint(0, 3000)))
    (root / "area-0" / "top.txt").write_bytes(b"a file above the units")
    return folders * 3 * per_folder + 1


def _capture_splits(
    monkeypatch: pytest.MonkeyPatch, then: Callable[[split_module.Split], None] = lambda s: None
) -> list[split_module.Split]:
    """Let a small restore split, keep the helper's handle for the test, and have
    this process's first write wait until the helper has claimed a folder (a tree
    this small is otherwise all restored before the helper has started), then do
    ``then``. The wrapped writer is this process's only: the helper is spawned."""
    monkeypatch.setattr(split_module, "SPLIT_MIN_FILES", 1)
    started: list[split_module.Split] = []
    real_start = split_module.start_split
    real_write = Writer.write_task

    def start_split(*args: Any) -> split_module.Split | None:
        split = real_start(*args)
        if split is not None:
            started.append(split)
        return split

    def write_task(self: Writer, task: Any) -> Any:
        if started and not getattr(started[0], "_tested", False):
            started[0]._tested = True  # type: ignore[attr-defined]
            assert started[0].wait_started(60), "the helper never claimed a folder"
            then(started[0])
        return real_write(self, task)

    monkeypatch.setattr(restore_module, "start_split", start_split)
    monkeypatch.setattr(Writer, "write_task", write_task)
    return started


def test_full_restore_shared_with_a_helper_process_is_whole(
    template: VaultTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    files = _notes(src, 6, 40)
    vault_dir = template.copy_to(tmp_path / "vault")
    with template.open(vault_dir, tmp_path / "c0") as vault:
        vault.backup([str(src)])
    started = _capture_splits(monkeypatch)
    events: list[Progress] = []
    with template.open(vault_dir, tmp_path / "c1") as vault:
        result = vault.restore("latest", str(tmp_path / "t"), on_progress=events.append)
    assert len(started) == 1, "no helper process was started"
    helper = started[0]
    assert helper.error is None and helper.restored > 0, helper.error  # it did part of the work
    assert not result.warnings, result.warnings[:3]
    assert result.files_restored == files
    assert_same_tree(src, restored_root(tmp_path / "t", src))  # content, mode, times
    assert events[-1].files_done == files


def test_cancel_stops_the_helper_process(
    template: VaultTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    _notes(src, 6, 40)
    vault_dir = template.copy_to(tmp_path / "vault")
    with template.open(vault_dir, tmp_path / "c0") as vault:
        vault.backup([str(src)])
    cancel = CancelToken()
    started = _capture_splits(monkeypatch, lambda split: cancel.cancel())
    with template.open(vault_dir, tmp_path / "c1") as vault, pytest.raises(CancelledError):
        vault.restore("latest", str(tmp_path / "t"), cancel=cancel)
    assert len(started) == 1
    assert not started[0].alive()


def test_a_helper_that_dies_leaves_nothing_missing(
    template: VaultTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    files = _notes(src, 6, 40)
    vault_dir = template.copy_to(tmp_path / "vault")
    with template.open(vault_dir, tmp_path / "c0") as vault:
        vault.backup([str(src)])
    started = _capture_splits(monkeypatch, lambda split: split.kill_for_test())
    with template.open(vault_dir, tmp_path / "c1") as vault:
        result = vault.restore("latest", str(tmp_path / "t"))
    assert started and not started[0].alive()
    assert not result.warnings, result.warnings[:3]
    assert_same_tree(src, restored_root(tmp_path / "t", src))
    assert result.files_restored >= files - started[0].files_done
