"""Facts about the bundle's ELF files the .deb must declare: the newest glibc symbol
version any of them needs (``libc6 (>= X)``), and libraries they load from the system."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

_GLIBC = re.compile(rb"GLIBC_(\d+)\.(\d+)(?:\.(\d+))?")


def is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def elf_files(bundle: Path) -> list[Path]:
    return [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink() and is_elf(p)]


def min_glibc(files: list[Path]) -> str:
    """The highest ``GLIBC_x.y`` version referenced by any file (what dpkg-shlibdeps
    would put in ``libc6 (>= ...)``)."""
    best = (2, 17, 0)
    for path in files:
        for m in _GLIBC.finditer(path.read_bytes()):
            best = max(best, (int(m[1]), int(m[2]), int(m[3] or 0)))
    return ".".join(str(n) for n in (best if best[2] else best[:2]))


def needed(path: Path) -> list[str]:
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def system_needed(bundle: Path, files: list[Path]) -> set[str]:
    """Shared libraries some bundled file needs that the bundle does not carry."""
    carried = {p.name for p in bundle.rglob("*.so*")}
    wanted: set[str] = set()
    for path in files:
        wanted.update(needed(path))
    return {n for n in wanted if n not in carried}


def drop_foreign_runpaths(files: list[Path], bundle: Path) -> list[Path]:
    """Remove RUNPATHs that point at the build machine (a pyenv or CI Python's lib
    folder): the bundle loads its libraries itself, and on a user's machine such a
    path would make the loader search a folder that may hold an incompatible library.
    Needs patchelf; returns the files changed."""
    import shutil

    patchelf = shutil.which("patchelf")
    if patchelf is None:
        return []
    changed = []
    for path in files:
        out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True).stdout
        paths = re.findall(r"\((?:RUNPATH|RPATH)\)\s+Library (?:runpath|rpath): \[([^\]]*)\]", out)
        if paths and any(not p.startswith("$ORIGIN") for entry in paths for p in entry.split(":")):
            subprocess.run([patchelf, "--remove-rpath", str(path)], check=True)
            changed.append(path)
    return changed
