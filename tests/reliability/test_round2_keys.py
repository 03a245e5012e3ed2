"""Issue 11, items 11 and 12: forged key objects and mistyped recovery keys.

* A key object is plain JSON anyone who can write to the storage can forge. Its
  hashing cost is capped at what a desktop can afford (no 128 GiB scrypt, no
  minutes of Argon2id), the cheapest key objects are tried first, the total work of
  one unlock is bounded, and running out of memory is a clear error, never an
  "internal error".
* A recovery key whose first character sets the 3 unused top bits is a typo, not
  a key that "does not open this vault".
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import AppError, VaultCorruptError, WrongPasswordError
from app.engine import crypto
from app.engine.crypto import (
    DEFAULT_KDF,
    KDF_TOTAL_BUDGET,
    b64e,
    check_kdf_params,
    kdf_cost,
    new_recovery_key,
    normalize_recovery_key,
    parse_key_object,
)
from app.engine.vault import Vault
from app.storage.local import LocalStorage
from tests.reliability.harness import PASSWORD, VaultTemplate, cli_env, run_cli

# Each of these passed the old ceilings (1 GiB / 64 passes; scrypt 2^24 x r 64 is
# 128 GiB) and made an unlock run out of memory or take minutes.
TOO_COSTLY = [
    {"algorithm": "scrypt", "log2_n": 24, "r": 64, "p": 16},
    {"algorithm": "scrypt", "log2_n": 20, "r": 64, "p": 1},
    {"algorithm": "argon2id", "memory_kib": 1024 * 1024, "iterations": 64, "lanes": 4},
    {"algorithm": "argon2id", "memory_kib": 512 * 1024, "iterations": 16, "lanes": 4},
]
AFFORDABLE = [
    dict(DEFAULT_KDF),
    {"algorithm": "argon2id", "memory_kib": 512 * 1024, "iterations": 4, "lanes": 4},
    {"algorithm": "argon2id", "memory_kib": 256 * 1024, "iterations": 8, "lanes": 16},
    {"algorithm": "scrypt", "log2_n": 17, "r": 8, "p": 1},
    {"algorithm": "scrypt", "log2_n": 20, "r": 8, "p": 1},
]


@pytest.mark.parametrize("params", TOO_COSTLY, ids=lambda p: json.dumps(p, sort_keys=True))
def test_kdf_ceiling_refuses_what_a_desktop_cannot_afford(params: dict[str, Any]) -> None:
    with pytest.raises(VaultCorruptError, match="afford"):
        check_kdf_params(params)


@pytest.mark.parametrize("params", AFFORDABLE, ids=lambda p: json.dumps(p, sort_keys=True))
def test_kdf_ceiling_keeps_real_settings(params: dict[str, Any]) -> None:
    check_kdf_params(params)


def _forged_key(params: dict[str, Any]) -> bytes:
    doc = {
        "version": 1,
        "kind": "passphrase",
        "kdf": {**params, "salt": b64e(secrets.token_bytes(16))},
        "nonce": b64e(secrets.token_bytes(12)),
        "wrapped": b64e(secrets.token_bytes(96)),
    }
    return json.dumps(doc).encode()


class _DerivationSpy:
    """Records each real derivation's parameters; refuses to run costly ones (a test
    must not spend a minute or a GiB proving that it would have)."""

    def __init__(self, real: Any, fake_costly: bool = True) -> None:
        self.real = real
        self.calls: list[dict[str, Any]] = []
        self.fake_costly = fake_costly

    def __call__(self, secret: str, params: dict[str, Any], salt: bytes) -> bytes:
        self.calls.append(dict(params))
        if kdf_cost(params) > kdf_cost(DEFAULT_KDF):
            if self.fake_costly:
                return secrets.token_bytes(32)  # a derivation that opens nothing
            raise AssertionError(f"derived a costly forged key before the real one: {params}")
        result: bytes = self.real(secret, params, salt)
        return result


def test_unlock_tries_the_cheapest_key_objects_first(
    template: VaultTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three forged costly key objects beside the real one: the real one is tried
    first and opens; none of the forged ones is derived."""
    vault_dir = template.copy_to(tmp_path / "vault")
    for i in range(3):
        forged = {"algorithm": "argon2id", "memory_kib": 512 * 1024, "iterations": 4, "lanes": 4}
        # Names sorting before the real key's, so listing order would try them first.
        (vault_dir / "keys" / f"{i:032x}").write_bytes(_forged_key(forged))
    spy = _DerivationSpy(crypto._derive, fake_costly=False)
    monkeypatch.setattr(crypto, "_derive", spy)
    with Vault.open(LocalStorage(vault_dir), passphrase=PASSWORD, cache_root=tmp_path / "c") as v:
        assert v.id == template.vault.id
    assert spy.calls == [{k: v for k, v in DEFAULT_KDF.items()}]


def test_unlock_bounds_the_total_work_of_many_forged_key_objects(
    template: VaultTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forty forged floor-cost objects and a wrong passphrase: the unlock stops after
    a bounded amount of hashing, with a clear message."""
    vault_dir = template.copy_to(tmp_path / "vault")
    for i in range(40):
        (vault_dir / "keys" / f"{i:032x}").write_bytes(_forged_key(dict(DEFAULT_KDF)))

    calls: list[float] = []

    def fast(secret: str, params: dict[str, Any], salt: bytes) -> bytes:
        calls.append(kdf_cost(params))
        return secrets.token_bytes(32)

    monkeypatch.setattr(crypto, "_derive", fast)
    with pytest.raises(VaultCorruptError, match="tampered"):
        Vault.open(LocalStorage(vault_dir), passphrase="wrong", cache_root=tmp_path / "c")
    assert 1 <= len(calls) < 41 and sum(calls) <= KDF_TOTAL_BUDGET


def test_out_of_memory_while_hashing_is_a_clear_error(
    template: VaultTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault_dir = template.copy_to(tmp_path / "vault")

    def no_memory(secret: str, params: dict[str, Any], salt: bytes) -> bytes:
        raise MemoryError

    monkeypatch.setattr(crypto, "_derive", no_memory)
    with pytest.raises(AppError, match="memory") as raised:
        Vault.open(LocalStorage(vault_dir), passphrase=PASSWORD, cache_root=tmp_path / "c")
    assert not isinstance(raised.value, WrongPasswordError)


def test_cli_names_a_forged_costly_key_instead_of_an_internal_error(
    template: VaultTemplate, tmp_path: Path
) -> None:
    """The ~300-byte forged key of the review: 128 GiB scrypt as the only passphrase
    key. The CLI says it is damaged (exit 1), quickly, without "internal error"."""
    vault_dir = template.copy_to(tmp_path / "vault")
    for path in (vault_dir / "keys").iterdir():
        if parse_key_object(path.read_bytes())["kind"] == "passphrase":
            path.write_bytes(_forged_key(TOO_COSTLY[0]))
    done = run_cli("snapshots", "--repo", str(vault_dir), env=cli_env(tmp_path / "home"))
    assert done.returncode == 1, done.stderr
    assert "internal error" not in done.stderr and "afford" in done.stderr


def test_recovery_key_with_top_bits_set_is_a_typo() -> None:
    key = new_recovery_key()
    assert key[0] in "ABCD"  # 55 digits x 5 bits = 275 bits; the top 3 are zero
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    for high in (4, 8, 16):
        bad = alphabet[alphabet.index(key[0]) + high] + key[1:]
        with pytest.raises(WrongPasswordError, match="typo"):
            normalize_recovery_key(bad)
    assert normalize_recovery_key(key) == key


def test_recover_tool_agrees_on_top_bits_and_ceilings() -> None:
    """tools/keepsake-recover.py follows the same rules (it is written from FORMAT.md)."""
    from tests.integration.test_recover_script import load_script

    tool = load_script()
    key = new_recovery_key()
    assert tool.canonical_recovery_key(key) == key
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    with pytest.raises(tool.WrongSecret):
        tool.canonical_recovery_key(alphabet[alphabet.index(key[0]) + 4] + key[1:])
    for params in TOO_COSTLY:
        with pytest.raises(tool.Damaged):
            tool.derive_kek("x", {**params, "salt": b64e(b"s" * 16)})
