"""The browser's engine side against a real vault on disk: the merged tree, the
timeline, search, per-file history (the same as ``keepsake versions``), staging
for drag and drop, and restores with conflict plans."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.browse import ROOT_NODE, BrowseEntry, restored_name
from app.core.models import Change, EntryType
from app.engine.browse import BrowseSession
from app.engine.catalog import Catalog
from app.engine.tree import Node
from app.engine.vault import Vault
from app.storage.local import LocalStorage
from tests.browse.vaultdata import PASSPHRASE, HistoryVault, build_history_vault


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> HistoryVault:
    root = tmp_path_factory.mktemp("browse")
    return build_history_vault(root, root / "build-cache")


@pytest.fixture
def vault(history: HistoryVault, tmp_path: Path) -> Iterator[Vault]:
    v = Vault.open(
        LocalStorage(str(history.repo)), passphrase=PASSPHRASE, cache_root=tmp_path / "cache"
    )
    v.sync()
    yield v
    v.close()


@pytest.fixture
def session(vault: Vault) -> Iterator[BrowseSession]:
    s = BrowseSession(vault.repo)
    s.refresh()
    yield s
    s.close()


def all_paths(vault: Vault) -> set[tuple[str, str]]:
    return {(e.path, e.type.value) for s in vault.snapshots() for e in vault.walk(s.id)}


def test_history_matches_versions_command_for_every_file(
    vault: Vault, session: BrowseSession
) -> None:
    files = sorted(p for p, kind in all_paths(vault) if kind == "file")
    assert len(files) == 5
    for path in files:
        node = session.find(path)
        assert node is not None, path
        assert list(session.history(node).all_versions) == vault.versions(path), path


def test_distinct_versions_newest_first(history: HistoryVault, session: BrowseSession) -> None:
    node = session.find(str(history.report))
    assert node is not None
    versions = session.history(node).versions
    assert [v.change for v in versions] == [Change.CHANGED, Change.CHANGED, Change.ADDED]
    assert [v.size for v in versions] == [len(b) for b in reversed(history.report_versions)]
    notes = session.find(str(history.notes))
    assert notes is not None
    assert [v.change for v in session.history(notes).versions] == [Change.DELETED, Change.ADDED]


def test_timeline_shows_exactly_each_backup(vault: Vault, session: BrowseSession) -> None:
    snaps = session.snapshots()
    assert [s.id for s in snaps] == [s.id for s in vault.snapshots()]
    for i, snap in enumerate(snaps):
        expected = {(e.path, e.type.value, e.size) for e in vault.walk(snap.id)}
        got: set[tuple[str, str, int]] = set()
        stack = [ROOT_NODE]
        while stack:
            for e in session.children(stack.pop(), as_of=i):
                got.add((e.path, e.type.value, e.size if e.type is EntryType.FILE else 0))
                if e.is_dir:
                    stack.append(e.node)
        expected = {(p, k, s if k == "file" else 0) for p, k, s in expected}
        assert got == expected, i


def test_deleted_files_only_with_the_toggle(history: HistoryVault, session: BrowseSession) -> None:
    folder = session.find(str(history.source))
    assert folder is not None
    names = [e.name for e in session.children(folder)]
    assert "notes.txt" not in names and "Documents" in names
    shown = {e.name: e for e in session.children(folder, show_deleted=True)}
    assert shown["notes.txt"].deleted
    assert shown["notes.txt"].deleted_at == history.snapshots[3].time
    assert shown["notes.txt"].snapshot == history.snapshots[2].id  # its last version
    assert not shown["Documents"].deleted


def test_search_is_case_insensitive_and_respects_deleted(
    history: HistoryVault, session: BrowseSession
) -> None:
    report = session.find(str(history.report))
    result = session.search("REPORT")
    assert result.matches == (report,)
    assert set(session.ancestors(report or 0)) <= result.visible
    assert session.search("notes").matches == ()
    assert session.search("notes", show_deleted=True).matches == (session.find(str(history.notes)),)
    assert session.search("notes", as_of=0).matches == (session.find(str(history.notes)),)


def test_stage_gives_each_version_byte_for_byte_in_a_private_folder(
    history: HistoryVault, session: BrowseSession
) -> None:
    node = session.find(str(history.report))
    assert node is not None
    versions = session.history(node).versions  # newest first
    for version, content in zip(versions, reversed(history.report_versions), strict=True):
        (staged,) = session.stage([(str(history.report), version.snapshot)])
        assert staged.name == "report.txt"
        assert staged.read_bytes() == content
        assert stat.S_IMODE(staged.stat().st_mode) == 0o600
        assert stat.S_IMODE(staged.parent.stat().st_mode) == 0o700
    (folder,) = session.stage([(str(history.source / "Documents"), history.snapshots[0].id)])
    assert (folder / "report.txt").read_bytes() == history.report_versions[0]
    assert not (folder / "new.txt").exists()  # did not exist yet in backup 1
    staging = session.staging
    session.close()
    assert list(staging.iterdir()) == []


def test_restore_plans_and_restores(
    history: HistoryVault, session: BrowseSession, tmp_path: Path
) -> None:
    first = history.snapshots[0].id
    dest = tmp_path / "out" / "report.txt"
    plan = session.plan(str(history.report), first, str(dest))
    assert not plan.conflict and not plan.identical
    done = session.restore_as(str(history.report), first, str(dest))
    assert dest.read_bytes() == history.report_versions[0]
    assert done.dest == str(dest) and done.files == 1
    assert session.plan(str(history.report), first, str(dest)).identical
    dest.write_bytes(b"local edit\n")
    assert session.plan(str(history.report), first, str(dest)).conflict
    folder = tmp_path / "out" / "Documents"
    session.restore_as(str(history.source / "Documents"), first, str(folder))
    assert sorted(os.listdir(folder)) == ["report.txt"]
    assert not session.plan(str(history.source / "Documents"), first, str(folder)).conflict
    (folder / "report.txt").write_bytes(b"changed")
    plan = session.plan(str(history.source / "Documents"), first, str(folder))
    assert plan.conflict and plan.differing == 1


def test_restored_name_is_unique() -> None:
    from datetime import UTC, datetime

    when = datetime(2026, 11, 25, 12, tzinfo=UTC)
    taken = {"a (restored 2026-11-25).txt"}
    assert restored_name("a.txt", when, taken.__contains__) == "a (restored 2026-11-25 2).txt"
    assert restored_name("Folder", when, taken.__contains__) == "Folder (restored 2026-11-25)"


def test_catalog_follows_new_and_forgotten_backups(history: HistoryVault, tmp_path: Path) -> None:
    import shutil

    from app.engine.prune import forget_snapshots

    repo = tmp_path / "copy"
    shutil.copytree(history.repo, repo)  # the module's vault stays untouched
    vault = Vault.open(LocalStorage(str(repo)), passphrase=PASSPHRASE, cache_root=tmp_path / "c")
    try:
        session = BrowseSession(vault.repo)
        vault.sync()
        assert len(session.refresh()) == len(history.snapshots)
        assert not session.catalog.refresh(vault.snapshots(), vault.load_tree)
        forget_snapshots(vault.repo, [vault.snapshots()[0]])
        vault.sync(force=True)
        session.refresh()
        assert len(session.snapshots()) == len(history.snapshots) - 1
        node = session.find(str(history.report))
        assert node is not None
        assert list(session.history(node).all_versions) == vault.versions(str(history.report))
        session.close()
    finally:
        vault.close()


def test_listing_before_indexing_reads_trees_as_needed(history: HistoryVault, vault: Vault) -> None:
    """Folders open at once (trees read lazily), before every path is indexed; a
    backup shown first must not hide what other backups hold."""
    session = BrowseSession(vault.repo)
    try:
        changed, snaps = session.set_snapshots()
        assert changed and len(snaps) == len(history.snapshots)
        assert not session.catalog.complete
        assert session.find(str(history.report)) is not None  # found before indexing
        node = ROOT_NODE
        for part in history.source.parts[1:]:
            node = next(e.node for e in session.children(node, as_of=0) if e.name == part)
        assert "notes.txt" in [e.name for e in session.children(node, as_of=0)]
        docs = next(e.node for e in session.children(node, as_of=0) if e.name == "Documents")
        assert "new.txt" in [e.name for e in session.children(docs, as_of=4)]
        report = session.find(str(history.report))
        assert session.search("REPORT").matches == (report,)  # what is indexed so far
        while not session.ingest(budget_s=0.001):
            pass
        assert session.catalog.complete
        assert session.search("new.txt").matches
    finally:
        session.close()


def _view(session: BrowseSession, as_of: int | None, show_deleted: bool) -> list[BrowseEntry]:
    """Every row of a view, by listing each folder (the path search must agree with)."""
    out: list[BrowseEntry] = []
    stack = [ROOT_NODE]
    while stack:
        for e in session.children(stack.pop(), as_of=as_of, show_deleted=show_deleted):
            out.append(e)
            if e.is_dir:
                stack.append(e.node)
    return out


@pytest.mark.parametrize("text", ["e", "REPORT", "t.p", "notes", "Documents", "zz"])
def test_search_answers_what_listing_every_folder_shows(session: BrowseSession, text: str) -> None:
    """The search query (one indexed pass over the catalog) finds exactly the rows a
    full listing of the same view holds whose name contains the text, with the same
    facts, and the rows of every folder above them."""
    for as_of in [None, *range(len(session.snapshots()))]:
        for show_deleted in (False, True):
            rows = _view(session, as_of, show_deleted)
            by_node = {e.node: e for e in rows}
            expected = {e.node for e in rows if text.casefold() in e.name.casefold()}
            result = session.search(text, as_of=as_of, show_deleted=show_deleted)
            assert set(result.matches) == expected, (text, as_of, show_deleted)
            assert not result.truncated
            listed = {e.node: e for kids in result.rows.values() for e in kids}
            for node in expected:
                assert listed[node] == by_node[node]
                for folder in session.ancestors(node)[1:]:
                    assert listed[folder] == by_node[folder]
            assert set(listed) <= set(by_node)


def test_search_stops_at_the_limit_and_says_so(session: BrowseSession) -> None:
    everything = session.catalog.search("e")
    assert len(everything.matches) > 2 and not everything.truncated
    first = session.catalog.search("e", limit=2)
    assert first.truncated and len(first.matches) == 2
    assert set(first.matches) <= set(everything.matches)


def test_indexing_reads_each_folder_version_once_and_records_its_backups(
    vault: Vault, tmp_path: Path
) -> None:
    """An unchanged folder keeps its tree id: indexing all backups reads each distinct
    tree once (not once per backup), and the runs it records give every folder the
    same trees per backup as walking down from the root does."""
    distinct: set[bytes] = set()
    for snap in vault.snapshots():
        stack = [bytes.fromhex(snap.tree)]
        while stack:
            tree = stack.pop()
            distinct.add(tree)
            stack += [n.subtree_id() for n in vault.load_tree(tree) if n.is_dir]
    reads: list[bytes] = []

    def counting(tree: bytes) -> list[Node]:
        reads.append(tree)
        return vault.load_tree(tree)

    indexed = Catalog(tmp_path / "indexed.sqlite", counting)
    indexed.refresh(vault.snapshots())
    assert indexed.complete
    assert sorted(reads) == sorted(distinct)  # each once
    walking = Catalog(tmp_path / "walking.sqlite", vault.load_tree)
    walking.set_snapshots(vault.snapshots())
    assert not walking.complete
    folders = {
        e.path for s in vault.snapshots() for e in vault.walk(s.id) if e.type is EntryType.DIR
    }
    assert len(folders) > 3
    for path in sorted(folders):
        a, b = indexed.find(path), walking.find(path)
        assert a is not None and b is not None
        assert indexed.trees_of(a) == walking.trees_of(b), path
    indexed.close()
    walking.close()
