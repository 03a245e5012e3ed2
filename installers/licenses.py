"""Third-party licence texts for the bundle and a machine-readable Debian copyright.

The distributions bundled are Keepsake's runtime requirements and everything they
require in turn (markers evaluated for this platform), read from the build
environment's metadata, so the list cannot drift from what PyInstaller collects.
Qt/PySide6 wheels ship no licence file; their licence (LGPL-3.0) is written from the
system's common-licenses copy. Shared libraries PyInstaller copies from the build
system are credited through the Debian copyright files of the packages that own them.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
COMMON_LICENSES = Path("/usr/share/common-licenses")
_LICENSE_FILE = re.compile(r"(LICEN[CS]E|COPYING|NOTICE)", re.IGNORECASE)


@dataclass
class Bundled:
    name: str
    version: str
    license: str
    texts: dict[str, str] = field(default_factory=dict)  # file name -> text
    top_levels: list[str] = field(default_factory=list)  # import folders it installs
    common_only: bool = False  # no text of its own: refer to common-licenses


def _field(meta: md.PackageMetadata, name: str) -> str:
    """A metadata field or "" (missing fields raise KeyError in newer importlib_metadata)."""
    try:
        return str(meta[name] or "")
    except KeyError:
        return ""


def _license_expression(dist: md.Distribution) -> str:
    meta = dist.metadata
    expr = _field(meta, "License-Expression")
    if not expr:
        short = _field(meta, "License").strip()
        expr = short if short and "\n" not in short and len(short) < 60 else ""
    if not expr:
        for classifier in meta.get_all("Classifier") or []:
            if classifier.startswith("License :: OSI Approved :: "):
                expr = classifier.rsplit(" :: ", 1)[1].replace(" License", "")
    return expr or "see licence text"


def runtime_distributions(root: str = "keepsake-backup") -> list[md.Distribution]:
    """The installed distributions ``root`` needs at run time, itself excluded."""
    seen: dict[str, md.Distribution] = {}
    todo = [root]
    while todo:
        dist = md.distribution(todo.pop())
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            key = req.name.lower().replace("_", "-")
            if key in seen:
                continue
            try:
                seen[key] = md.distribution(req.name)
            except md.PackageNotFoundError:
                continue
            todo.append(req.name)
    return sorted(seen.values(), key=lambda d: d.metadata["Name"].lower())


def bundled_licenses() -> list[Bundled]:
    out: list[Bundled] = []
    for dist in runtime_distributions():
        item = Bundled(dist.metadata["Name"], dist.version, _license_expression(dist))
        tops: set[str] = set()
        for f in dist.files or []:
            first = f.parts[0] if f.parts else ""
            if ".dist-info" in first or first in ("..", "bin", "share", "include"):
                if _LICENSE_FILE.search(f.name) and ".dist-info" in first:
                    item.texts[f.name] = Path(str(dist.locate_file(f))).read_text(
                        encoding="utf-8", errors="replace"
                    )
                continue
            tops.add(first.removesuffix(".py") if len(f.parts) == 1 else first)
        item.top_levels = sorted(
            t for t in tops if t and not t.endswith(".pth") and t != "__pycache__"
        )
        if not item.texts and "LGPL-3.0" in item.license:
            item.common_only = True
            for name in ("LGPL-3", "GPL-3", "GPL-2"):
                item.texts[name] = (COMMON_LICENSES / name).read_text(encoding="utf-8")
        out.append(item)
    python_license = (
        Path(sys.base_prefix)
        / "lib"
        / f"python{sys.version_info.major}.{sys.version_info.minor}"
        / "LICENSE.txt"
    )
    py = Bundled("Python", sys.version.split()[0], "PSF-2.0")
    if python_license.exists():
        py.texts["LICENSE.txt"] = python_license.read_text(encoding="utf-8", errors="replace")
    out.append(py)
    return out


def write_license_folder(dest: Path, items: list[Bundled]) -> None:
    """``licenses/<name>/<file>`` for every bundled distribution, plus an index."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "Keepsake-LICENSE").write_text(
        (ROOT / "LICENSE").read_text(encoding="utf-8"), encoding="utf-8"
    )
    lines = ["Third-party software bundled with Keepsake", ""]
    for item in items:
        folder = dest / item.name
        folder.mkdir(exist_ok=True)
        for name, text in item.texts.items():
            (folder / name).write_text(text, encoding="utf-8")
        lines.append(f"{item.name} {item.version}: {item.license}")
    (dest / "README.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def owning_packages(files: list[Path]) -> dict[str, str]:
    """Debian package owning each bundled system library, by library file name."""
    names = sorted({f.name for f in files})
    if not names:
        return {}
    proc = subprocess.run(
        ["dpkg", "-S", *[f"*/{n}" for n in names]], capture_output=True, text=True
    )
    owners: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        pkg, _, path = line.partition(": ")
        owners.setdefault(Path(path).name, pkg.split(":")[0].split(",")[0].strip())
    return owners


def _is_apache_text(text: str) -> bool:
    return "Apache License" in text and "Version 2.0, January 2004" in text


def _dep5_text(text: str) -> str:
    return "\n".join(" " + (line if line.strip() else ".") for line in text.rstrip().splitlines())


def debian_copyright(items: list[Bundled], system_libs: dict[str, str]) -> str:
    """DEP-5 (machine-readable) copyright for /usr/share/doc/keepsake/copyright."""
    paras = [
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        "Upstream-Name: Keepsake\n"
        "Source: https://github.com/keepsake/keepsake\n"
        "Comment: Keepsake is a PyInstaller bundle under /opt/keepsake. Each bundled\n"
        " component's licence text is also in /opt/keepsake/_internal/licenses/.",
        "Files: *\nCopyright: Keepsake developers\nLicense: GPL-3+",
    ]
    used_common: set[str] = set()
    for item in items:
        short = item.license.replace(" OR ", " or ").replace(" AND ", " and ")
        where = [f"opt/keepsake/_internal/{top}" for top in item.top_levels] or [
            f"opt/keepsake/_internal/licenses/{item.name}/*"
        ]
        para = f"Files: {' '.join(where)}\nCopyright: the {item.name} authors ({item.name} {item.version})\n"
        if item.common_only:
            para += "License: LGPL-3 or GPL-2 or GPL-3"
        else:
            # Debian policy: refer to common-licenses for the Apache licence, never inline it.
            names = re.split(r" or | and ", short)
            texts = [t for t in item.texts.values() if not _is_apache_text(t)]
            if not texts and all((COMMON_LICENSES / n).exists() for n in names):
                para += f"License: {short}"
                used_common.update(names)
            else:
                para += f"License: {short}\n" + _dep5_text(
                    "\n\n".join(texts or item.texts.values())
                )
        paras.append(para)
    by_pkg: dict[str, list[str]] = {}
    for lib, pkg in system_libs.items():
        by_pkg.setdefault(pkg, []).append(lib)
    for pkg, libs in sorted(by_pkg.items()):
        paras.append(
            "Files: " + " ".join(f"opt/keepsake/_internal/{lib}" for lib in sorted(libs)) + "\n"
            f"Copyright: see the Debian package {pkg}\n"
            f"License: other\n"
            f" Copied from the Debian package {pkg}; its copyright file is in\n"
            f" /opt/keepsake/_internal/licenses/debian/{pkg}.copyright."
        )
    commons = [("GPL-3+", "GPL-3"), ("LGPL-3", "LGPL-3"), ("GPL-2", "GPL-2"), ("GPL-3", "GPL-3")]
    commons += [(name, name) for name in sorted(used_common) if name not in dict(commons)]
    for short, common in commons:
        paras.append(
            f"License: {short}\n On Debian systems the full text of this licence is in\n"
            f" /usr/share/common-licenses/{common}."
        )
    return "\n\n".join(paras) + "\n"
