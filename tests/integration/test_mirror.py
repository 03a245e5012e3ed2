"""``app.engine.mirror``: a vault copied object for object to another storage
(Settings › Storage › Change location…). ``config`` comes last, so an interrupted
mirror is not a vault, and a second run finishes it without copying twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.cancel import CancelToken
from app.core.errors import AppError, CancelledError, ErrorCode, NotFoundInStorage
from app.core.events import Phase, Progress
from app.engine.mirror import mirror_vault
from app.engine.vault import Vault
from app.storage.local import LocalStorage
from app.storage.memory import MemoryStorage
from tests.helpers import make_tree, restored_root, tree_digest

PASSWORD = "mirror mirror on the wall"


def test_mirror_keeps_keys_and_history_and_resumes_after_a_cancel(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", seed=3, big=3 * 1024 * 1024)
    (tmp_path / "vault").mkdir()
    source, _key = Vault.create(
        LocalStorage(tmp_path / "vault"), PASSWORD, cache_root=tmp_path / "cache"
    )
    with source:
        source.backup([str(src)])
        (src / "late.txt").write_text("second backup\n")
        source.backup([str(src)])
        dest = MemoryStorage()
        token = CancelToken()
        seen: list[Progress] = []

        def cancel_after_two(progress: Progress) -> None:
            seen.append(progress)
            if len(seen) == 2:
                token.cancel()

        with pytest.raises(CancelledError):
            mirror_vault(source.repo, dest, on_progress=cancel_after_two, cancel=token)
        with pytest.raises(NotFoundInStorage):
            dest.stat("config")  # not a vault yet
        partial = {i.name for i in dest.list("")}
        assert len(partial) == 2 and all(p.phase is Phase.COPYING for p in seen)

        progress: list[Progress] = []
        result = mirror_vault(source.repo, dest, on_progress=progress.append)
        everything = {i.name for i in source.storage.list("") if not i.name.startswith("locks/")}
        assert {i.name for i in dest.list("") if not i.name.startswith("locks/")} == everything
        assert result.objects == len(everything) - len(partial)  # nothing copied twice
        assert progress[-1].final and progress[-1].bytes_done == progress[-1].bytes_total > 0

        with pytest.raises(AppError) as exists:
            mirror_vault(source.repo, dest)
        assert exists.value.code is ErrorCode.VAULT_EXISTS

    with Vault.open(dest, passphrase=PASSWORD, cache_root=tmp_path / "cache2") as copy:
        snaps = copy.snapshots()
        assert len(snaps) == 2
        copy.restore(snaps[-1].id, str(tmp_path / "out"))
    assert tree_digest(restored_root(tmp_path / "out", src)) == tree_digest(src)
