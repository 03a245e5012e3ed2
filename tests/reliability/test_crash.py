"""Crash consistency: ``keepsake backup``, ``prune`` and ``forget`` killed with SIGKILL.

Each kill point is a condition on the vault folder (the Nth new pack is stored, an
index or snapshot object appears, a temp file of an unfinished write exists, or a
seeded random delay after the job took its lock), polled by the parent, so no hook
inside the engine is needed and the points are spread over pack upload, index write
and snapshot write. Every kill starts from a copy of the same prepared vault and
cache, which keeps each round small. After every kill:

* ``check --read-data`` finds nothing damaged;
* the next backup completes and uploads less than a full run when packs survived;
* restoring the latest snapshot gives the source tree byte for byte.

Every fifteenth backup round (every tenth prune round) does those three steps with the CLI itself (exit codes), the
others in-process with the same engine calls, to keep the suite fast.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app.engine.retention import RetentionPolicy
from app.engine.vault import Vault
from tests.reliability.harness import (
    VaultTemplate,
    assert_same_tree,
    cli_args,
    cli_env,
    kill_when,
    restored_root,
    run_cli,
    scale,
    write_tree,
)

TMP = ".tmp-"


@dataclass(frozen=True)
class VaultState:
    packs: frozenset[str]
    indexes: frozenset[str]
    snapshots: frozenset[str]
    locks: int
    tmp: tuple[str, ...]  # top folders holding a temp file of an unfinished put


def vault_state(root: Path) -> VaultState:
    found: dict[str, set[str]] = {"data": set(), "index": set(), "snapshots": set(), "locks": set()}
    tmp: set[str] = set()
    for top, names in found.items():
        for _dirpath, _dirs, files in os.walk(root / top):
            for name in files:
                if name.startswith(TMP):
                    tmp.add(top)
                else:
                    names.add(name)
    return VaultState(
        frozenset(found["data"]),
        frozenset(found["index"]),
        frozenset(found["snapshots"]),
        len(found["locks"]),
        tuple(sorted(tmp)),
    )


Trigger = Callable[[VaultState, float | None], bool]


@dataclass
class Prepared:
    """A vault + cache ready for a job, copied afresh for every kill round."""

    vault: Path
    home: Path
    source: Path
    base: VaultState
    full_upload: int = 0
    notes: dict[str, int] = field(default_factory=dict)


def _copy_round(prep: Prepared, dest: Path) -> tuple[Path, Path]:
    vault = dest / "vault"
    home = dest / "home"
    shutil.copytree(prep.vault, vault)
    shutil.copytree(prep.home, home)
    return vault, home


def _run_kill(
    args: list[str], env: dict[str, str], vault: Path, base: VaultState, trigger: Trigger
) -> tuple[bool, VaultState]:
    started: list[float] = []

    def condition() -> bool:
        state = vault_state(vault)
        if not started and state.locks > base.locks:
            started.append(time.monotonic())
        elapsed = time.monotonic() - started[0] if started else None
        return trigger(state, elapsed)

    killed, code = kill_when(args, env, condition)
    if not killed:
        assert code in (0, 3), f"job exited {code} without being killed"
    return killed, vault_state(vault)


def _verify_after_kill(
    template: VaultTemplate,
    prep: Prepared,
    vault_dir: Path,
    home: Path,
    work: Path,
    *,
    use_cli: bool,
    expect_less_upload: bool,
) -> None:
    """The three promises after a kill: check passes, a rerun completes and reuses
    the uploaded data, the latest snapshot restores byte-exact."""
    target = work / "restore"
    if use_cli:
        env = cli_env(home)
        check = run_cli("check", "--repo", str(vault_dir), "--read-data", env=env)
        assert check.returncode == 0, check.stdout + check.stderr
        backup = run_cli("backup", "--repo", str(vault_dir), str(prep.source), "--json", env=env)
        assert backup.returncode == 0, backup.stderr
        uploaded = int(json.loads(backup.stdout)["bytes_uploaded"])
        restore = run_cli(
            "restore", "--repo", str(vault_dir), "latest", "--target", str(target), env=env
        )
        assert restore.returncode == 0, restore.stderr
    else:
        with template.open(vault_dir, home / "cache") as vault:
            result = vault.check(read_data=True)
            assert result.ok, result.problems
            backup_result = vault.backup([str(prep.source)])
            assert not backup_result.warnings
            uploaded = backup_result.bytes_uploaded
            restored = vault.restore("latest", str(target))
            assert not restored.warnings
    if expect_less_upload:
        assert uploaded < prep.full_upload, (uploaded, prep.full_upload)
    else:
        assert uploaded <= prep.full_upload + 64 * 1024, (uploaded, prep.full_upload)
    assert_same_tree(prep.source, restored_root(target, prep.source))
    shutil.rmtree(target)


# --- backup ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prepared_backup(template: VaultTemplate, tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    """One snapshot of a small tree, then ~6 MiB of new and changed files to back up
    (about 25 packs and two index objects at the suite's small pack size)."""
    base = tmp_path_factory.mktemp("crash-backup")
    rng = random.Random(1)
    source = base / "source"
    write_tree(source, rng, files=12, max_size=200_000)
    vault_dir = template.copy_to(base / "vault")
    home = base / "home"
    with template.open(vault_dir, home / "cache") as vault:
        vault.backup([str(source)])
    write_tree(source / "new", rng, files=28 * scale(), max_size=800_000)
    (source / "d0" / "s0" / "f0.bin").write_bytes(rng.randbytes(300_000))
    prep = Prepared(vault_dir, home, source, vault_state(vault_dir))
    # A full, uninterrupted run from the same state: the upload to beat.
    full = base / "full"
    full_vault, full_home = _copy_round(prep, full)
    with template.open(full_vault, full_home / "cache") as vault:
        prep.full_upload = vault.backup([str(source)]).bytes_uploaded
    after = vault_state(full_vault)
    prep.notes["packs"] = len(after.packs - prep.base.packs)
    prep.notes["indexes"] = len(after.indexes - prep.base.indexes)
    shutil.rmtree(full)
    assert prep.notes["packs"] >= 20 and prep.notes["indexes"] >= 2, prep.notes
    return prep


def _count(kind: str, base: VaultState, n: int, *, gone: bool = False) -> Trigger:
    """Holds once ``n`` objects of ``kind`` appeared (``gone``: disappeared) since ``base``."""

    def trigger(state: VaultState, _elapsed: float | None) -> bool:
        now: frozenset[str] = getattr(state, kind)
        then: frozenset[str] = getattr(base, kind)
        return len(then - now if gone else now - then) >= n

    return trigger


def _writing(top: str, after: Trigger | None = None) -> Trigger:
    """Holds while a temp file of an unfinished write exists under ``top``."""

    def trigger(state: VaultState, elapsed: float | None) -> bool:
        return top in state.tmp and (after is None or after(state, elapsed))

    return trigger


def _after_delay(delay: float) -> Trigger:
    """Holds ``delay`` seconds after the job's lock appeared."""

    def trigger(_state: VaultState, elapsed: float | None) -> bool:
        return elapsed is not None and elapsed >= delay

    return trigger


def _backup_triggers(prep: Prepared, seed: int) -> list[tuple[str, Trigger]]:
    base = prep.base
    packs = prep.notes["packs"]
    triggers: list[tuple[str, Trigger]] = []
    if seed == 0:
        for n in range(1, packs + 1):
            triggers.append((f"after pack {n}", _count("packs", base, n)))
        for n in range(1, prep.notes["indexes"] + 1):
            triggers.append((f"after index {n}", _count("indexes", base, n)))
        triggers.append(("during index write", _writing("index")))
        triggers.append(("during snapshot write", _writing("snapshots")))
        triggers.append(("after snapshot write", _count("snapshots", base, 1)))
    else:
        rng = random.Random(seed)
        for n in range(0, packs, max(1, packs // 6)):
            triggers.append(
                (f"while pack {n + 1} is written", _writing("data", _count("packs", base, n)))
            )
        for i in range(16 * scale()):
            delay = rng.uniform(0.0, 0.2)
            triggers.append((f"random delay {i} ({delay * 1000:.0f} ms)", _after_delay(delay)))
    return triggers


def _phase(prep: Prepared, state: VaultState) -> str:
    if len(state.snapshots) > len(prep.base.snapshots):
        return "after snapshot"
    if "snapshots" in state.tmp:
        return "snapshot write"
    if "index" in state.tmp or len(state.indexes) > len(prep.base.indexes):
        return "index write"
    if state.packs - prep.base.packs or "data" in state.tmp:
        return "pack upload"
    return "before first pack"


def _kill_backup_rounds(
    template: VaultTemplate, prep: Prepared, tmp_path: Path, seed: int
) -> dict[str, int]:
    phases: dict[str, int] = {}
    killed_points = 0
    signatures: set[tuple[int, int, int, tuple[str, ...]]] = set()
    for i, (label, trigger) in enumerate(_backup_triggers(prep, seed)):
        work = tmp_path / f"r{i}"
        vault_dir, home = _copy_round(prep, work)
        args = cli_args("backup", "--repo", str(vault_dir), str(prep.source), "--json")
        killed, state = _run_kill(args, cli_env(home), vault_dir, prep.base, trigger)
        new_packs = len(state.packs - prep.base.packs)
        if killed:
            killed_points += 1
            phases[_phase(prep, state)] = phases.get(_phase(prep, state), 0) + 1
            signatures.add(
                (
                    new_packs,
                    len(state.indexes - prep.base.indexes),
                    len(state.snapshots - prep.base.snapshots),
                    state.tmp,
                )
            )
        snapshot_done = len(state.snapshots) > len(prep.base.snapshots)
        _verify_after_kill(
            template,
            prep,
            vault_dir,
            home,
            work,
            use_cli=i % 15 == 0,
            expect_less_upload=new_packs > 0 or snapshot_done,
        )
        shutil.rmtree(work)
        del label
    phases["killed"] = killed_points
    phases["distinct vault states"] = len(signatures)
    return phases


def test_backup_killed_at_every_pack_index_and_snapshot(
    template: VaultTemplate, prepared_backup: Prepared, tmp_path: Path
) -> None:
    phases = _kill_backup_rounds(template, prepared_backup, tmp_path, seed=0)
    print(f"backup kill points (object counts): {phases}")
    # Level-triggered points (the Nth pack, index) always kill; the two mid-write
    # points are caught only if the poll sees the temp file.
    assert phases["killed"] >= prepared_backup.notes["packs"]
    assert phases.get("pack upload", 0) >= 10 and phases.get("index write", 0) >= 2


def test_backup_killed_while_writing_and_at_random_moments(
    template: VaultTemplate, prepared_backup: Prepared, tmp_path: Path
) -> None:
    phases = _kill_backup_rounds(template, prepared_backup, tmp_path, seed=7)
    print(f"backup kill points (random and mid-write): {phases}")
    assert phases["killed"] >= 16


# --- prune and forget --------------------------------------------------------------------


@pytest.fixture(scope="module")
def prepared_prune(template: VaultTemplate, tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    """Six snapshots of a changing tree; the first four are forgotten, leaving many
    packs for prune to delete and some to repack."""
    base = tmp_path_factory.mktemp("crash-prune")
    rng = random.Random(2)
    source = base / "source"
    write_tree(source, rng, files=8, max_size=200_000)
    vault_dir = template.copy_to(base / "vault")
    home = base / "home"
    with template.open(vault_dir, home / "cache") as vault:
        for round_ in range(6):
            folder = source / f"gen{round_}"
            write_tree(folder, rng, files=6 * scale(), max_size=300_000)
            if round_ >= 2:
                shutil.rmtree(source / f"gen{round_ - 2}")
            vault.backup([str(source)])
    return Prepared(vault_dir, home, source, vault_state(vault_dir))


def _spread(count: int, points: int) -> list[int]:
    """Up to ``points`` distinct values spread over 1..count."""
    if count <= 0:
        return []
    return sorted({max(1, round(count * (i + 1) / points)) for i in range(points)})


def _prune_triggers(prep: Prepared, forget_first: bool) -> list[tuple[str, Trigger]]:
    base = prep.base
    notes = prep.notes
    triggers: list[tuple[str, Trigger]] = []
    if forget_first:
        for k in _spread(notes["forgotten"], 3):
            triggers.append((f"after forgetting {k}", _count("snapshots", base, k, gone=True)))
    for n in _spread(notes["new_packs"], 2):
        triggers.append((f"after repacked pack {n}", _count("packs", base, n)))
    triggers.append(("after new index", _count("indexes", base, 1)))
    for k in _spread(notes["old_indexes"], 2):
        triggers.append((f"after old index {k} deleted", _count("indexes", base, k, gone=True)))
    for k in _spread(notes["deleted_packs"], 4 * scale()):
        triggers.append((f"after pack {k} deleted", _count("packs", base, k, gone=True)))
    rng = random.Random(11 if forget_first else 13)
    for i in range(2 * scale()):
        triggers.append((f"random delay {i}", _after_delay(rng.uniform(0.0, 0.08))))
    return triggers


def _kill_prune_rounds(
    template: VaultTemplate,
    prep: Prepared,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    forget_first: bool,
) -> int:
    killed_points = 0
    for i, (_label, trigger) in enumerate(_prune_triggers(prep, forget_first)):
        work = tmp_path / f"p{i}"
        vault_dir, home = _copy_round(prep, work)
        # The killed CLI and this process are one computer: one device id (a lock
        # is judged by pid only on the device that wrote it).
        monkeypatch.setenv("KEEPSAKE_CONFIG_DIR", str(home / "config"))
        if forget_first:
            args = cli_args("forget", "--repo", str(vault_dir), "--keep-last", "2", "--prune")
        else:
            with template.open(vault_dir, home / "cache") as vault:
                vault.forget(RetentionPolicy(last=2))
            args = cli_args("prune", "--repo", str(vault_dir))
        base = prep.base if forget_first else vault_state(vault_dir)
        killed, _state = _run_kill(args, cli_env(home), vault_dir, base, trigger)
        killed_points += killed
        with template.open(vault_dir, home / "cache") as vault:
            result = vault.check(read_data=True)  # every surviving snapshot is intact
            assert result.ok, result.problems
            vault.forget(RetentionPolicy(last=2))
            vault.prune()  # a second prune finishes the job
        _verify_after_kill(
            template,
            prep,
            vault_dir,
            home,
            work,
            use_cli=i % 10 == 0,
            expect_less_upload=False,
        )
        shutil.rmtree(work)
    return killed_points


@pytest.fixture(scope="module")
def prepared_prune_full(
    template: VaultTemplate, prepared_prune: Prepared, tmp_path_factory: pytest.TempPathFactory
) -> Prepared:
    """Measure one uninterrupted forget + prune + backup, to place the kill points."""
    prep = prepared_prune
    work = tmp_path_factory.mktemp("prune-full")
    vault_dir, home = _copy_round(prep, work)
    with template.open(vault_dir, home / "cache") as vault:
        prep.notes["forgotten"] = len(vault.forget(RetentionPolicy(last=2)))
        forgotten = vault_state(vault_dir)
        vault.prune()
        after = vault_state(vault_dir)
        prep.full_upload = vault.backup([str(prep.source)]).bytes_uploaded
    prep.notes["new_packs"] = len(after.packs - forgotten.packs)
    prep.notes["deleted_packs"] = len(forgotten.packs - after.packs)
    prep.notes["old_indexes"] = len(forgotten.indexes - after.indexes)
    assert prep.notes["deleted_packs"] >= 6 and prep.notes["new_packs"] >= 1, prep.notes
    return prep


def test_prune_killed_at_every_step(
    template: VaultTemplate,
    prepared_prune_full: Prepared,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    killed = _kill_prune_rounds(
        template, prepared_prune_full, tmp_path, monkeypatch, forget_first=False
    )
    print(f"prune kill points: {killed}")
    # Late points (the last deletions) can be outrun by the process finishing first;
    # those rounds still verify the finished vault.
    assert killed >= 7


def test_forget_and_prune_killed(
    template: VaultTemplate,
    prepared_prune_full: Prepared,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    killed = _kill_prune_rounds(
        template, prepared_prune_full, tmp_path, monkeypatch, forget_first=True
    )
    print(f"forget --prune kill points: {killed}")
    assert killed >= 9


def test_open_vault_fixture_is_not_shared_state(template: VaultTemplate) -> None:
    """The template's keys open a copy exactly as a new process would."""
    assert isinstance(template.vault, Vault)
