"""The Debian package: /opt/keepsake (the bundle), /usr/bin/keepsake, desktop entry,
AppStream metainfo, icons, and a machine-readable copyright file."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from installers.licenses import Bundled, debian_copyright, owning_packages
from installers.linux import appstream, elf

ROOT = Path(__file__).resolve().parents[2]
# Qt 6.5+ xcb needs these at run time (the Makefile's QT_RUNTIME_DEBS); the bundle does not carry them.
QT_RUNTIME = [
    "libxcb-cursor0",
    "libxkbcommon-x11-0",
    "libxcb-icccm4",
    "libxcb-keysyms1",
    "libxcb-shape0",
    "libxcb-render-util0",
    "libxcb-image0",
    "libegl1",
    "libgl1",
    "libfontconfig1",
    "libdbus-1-3",
    # The Wayland platform plugin (bundled) loads these from the system.
    "libwayland-client0",
    "libwayland-cursor0",
    "libwayland-egl1",
]


def _arch() -> str:
    return subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()


def depends(bundle: Path) -> list[str]:
    """libc6 at the newest glibc the bundle's files ask for, the packages owning the
    system libraries they load, and Qt's xcb run-time libraries."""
    files = elf.elf_files(bundle)
    # sensible-utils: Python's webbrowser module (the Dropbox sign-in) runs sensible-browser.
    deps = [f"libc6 (>= {elf.min_glibc(files)})", "sensible-utils"]
    owners = owning_packages([Path(n) for n in elf.system_needed(bundle, files)])
    for pkg in sorted(set(owners.values()) | set(QT_RUNTIME)):
        if pkg != "libc6" and pkg not in deps:
            deps.append(pkg)
    return deps


def build_deb(bundle: Path, version: str, items: list[Bundled], dist: Path) -> Path:
    arch = _arch()
    stage = ROOT / "build" / "deb" / f"keepsake_{version}_{arch}"
    if stage.exists():
        shutil.rmtree(stage)
    shutil.copytree(bundle, stage / "opt" / "keepsake", symlinks=True)
    (stage / "usr" / "bin").mkdir(parents=True)
    os.symlink("/opt/keepsake/keepsake", stage / "usr" / "bin" / "keepsake")
    share = stage / "usr" / "share"
    (share / "applications").mkdir(parents=True)
    desktop = (ROOT / "resources" / "keepsake.desktop").read_text(encoding="utf-8")
    (share / "applications" / f"{appstream.APP_ID}.desktop").write_text(desktop, encoding="utf-8")
    (share / "metainfo").mkdir()
    today = datetime.fromtimestamp(
        int(os.environ.get("SOURCE_DATE_EPOCH", datetime.now(UTC).timestamp())), UTC
    ).date()
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    (share / "metainfo" / f"{appstream.APP_ID}.metainfo.xml").write_text(
        appstream.metainfo(changelog, version, today), encoding="utf-8"
    )
    icons = ROOT / "resources" / "icons"
    for size in (16, 22, 24, 32, 48, 64, 128, 256, 512):
        png = icons / f"keepsake-{size}.png"
        dest = share / "icons" / "hicolor" / f"{size}x{size}" / "apps"
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(png, dest / "keepsake.png")
    dest = share / "icons" / "hicolor" / "scalable" / "apps"
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(icons / "keepsake.svg", dest / "keepsake.svg")
    doc = share / "doc" / "keepsake"
    doc.mkdir(parents=True)
    system_libs = owning_packages([p for p in (bundle / "_internal").glob("lib*.so*")])
    (doc / "copyright").write_text(debian_copyright(items, system_libs), encoding="utf-8")
    with gzip.GzipFile(doc / "changelog.gz", "wb", mtime=0, compresslevel=9) as f:
        f.write(changelog.encode())
    for path in stage.rglob("*"):  # lintian: no group/other write; libraries not executable
        if not path.is_symlink():
            library = ".so" in path.suffixes or path.name.endswith(".so")
            executable = path.is_dir() or (os.access(path, os.X_OK) and not library)
            path.chmod(0o755 if executable else 0o644)
    control = stage / "DEBIAN" / "control"
    control.parent.mkdir()
    size_kib = (
        sum(f.stat().st_size for f in stage.rglob("*") if f.is_file() and not f.is_symlink())
        // 1024
    )
    control.write_text(
        f"Package: keepsake\nVersion: {version}\nArchitecture: {arch}\n"
        "Maintainer: Keepsake developers <dev@keepsake.invalid>\n"
        f"Installed-Size: {size_kib}\nDepends: {', '.join(depends(bundle))}\n"
        "Section: utils\nPriority: optional\nHomepage: https://github.com/keepsake/keepsake\n"
        "Description: encrypted, deduplicated backups of photos and documents\n"
        " Keepsake backs up folders to a local drive or Dropbox, encrypted on this\n"
        " computer, and restores any file as it was on any day.\n"
    )
    dist.mkdir(exist_ok=True)
    out = dist / f"keepsake_{version}_{arch}.deb"
    subprocess.run(
        ["dpkg-deb", "-Zxz", "--root-owner-group", "--build", str(stage), str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out


def copy_system_copyrights(bundle: Path) -> None:
    """The Debian copyright file of each system library PyInstaller copied in."""
    dest = bundle / "_internal" / "licenses" / "debian"
    dest.mkdir(parents=True, exist_ok=True)
    for pkg in set(owning_packages(list((bundle / "_internal").glob("lib*.so*"))).values()):
        src = Path("/usr/share/doc") / pkg / "copyright"
        if src.exists():
            shutil.copy(src, dest / f"{pkg}.copyright")
