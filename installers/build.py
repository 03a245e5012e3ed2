"""Build the desktop app with PyInstaller, then a Linux .deb from its output.

Usage: python installers/build.py [--skip-pyinstaller]. Output goes to dist/.
Windows (Inno Setup, installers/windows/keepsake.iss) and macOS
(installers/macos/build_dmg.sh) packaging run on their own OS in the release
workflow (installers/release.yml).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
# Qt 6.5+ xcb needs these at run time (the Makefile's QT_RUNTIME_DEBS, same list).
DEB_DEPENDS = [
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
]


def version() -> str:
    sys.path.insert(0, str(ROOT))
    from app import __version__

    return __version__


def run_pyinstaller() -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--distpath",
            str(DIST),
            "--workpath",
            str(ROOT / "build" / "pyinstaller"),
            str(ROOT / "installers" / "keepsake.spec"),
        ],
        check=True,
        cwd=ROOT,
    )
    return DIST / "keepsake"


def build_deb(bundle: Path) -> Path:
    """Lay out /opt/keepsake, a /usr/bin symlink, the .desktop file and icons."""
    ver = version()
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    stage = ROOT / "build" / "deb" / f"keepsake_{ver}_{arch}"
    if stage.exists():
        shutil.rmtree(stage)
    shutil.copytree(bundle, stage / "opt" / "keepsake", symlinks=True)
    (stage / "usr" / "bin").mkdir(parents=True)
    os.symlink("/opt/keepsake/keepsake", stage / "usr" / "bin" / "keepsake")
    apps = stage / "usr" / "share" / "applications"
    apps.mkdir(parents=True)
    shutil.copy(ROOT / "resources" / "keepsake.desktop", apps / "keepsake.desktop")
    icons = ROOT / "resources" / "icons"
    for size in (16, 22, 24, 32, 48, 64, 128, 256, 512):
        png = icons / f"keepsake-{size}.png"
        if png.exists():
            dest = stage / "usr" / "share" / "icons" / "hicolor" / f"{size}x{size}" / "apps"
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy(png, dest / "keepsake.png")
    svg = icons / "keepsake.svg"
    if svg.exists():
        dest = stage / "usr" / "share" / "icons" / "hicolor" / "scalable" / "apps"
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(svg, dest / "keepsake.svg")
    control = stage / "DEBIAN" / "control"
    control.parent.mkdir()
    size_kib = sum(f.stat().st_size for f in stage.rglob("*") if f.is_file() and not f.is_symlink()) // 1024
    control.write_text(
        f"Package: keepsake\nVersion: {ver}\nArchitecture: {arch}\n"
        "Maintainer: Keepsake developers <dev@keepsake.invalid>\n"
        f"Installed-Size: {size_kib}\nDepends: {', '.join(DEB_DEPENDS)}\n"
        "Section: utils\nPriority: optional\n"
        "Description: Encrypted, deduplicated backups of photos and documents\n"
        " Keepsake backs up folders to a local drive or Dropbox, encrypted on this\n"
        " computer, and restores any file as it was on any day.\n"
    )
    DIST.mkdir(exist_ok=True)
    out = DIST / f"keepsake_{ver}_{arch}.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(stage), str(out)], check=True)
    return out


BUILD_CONFIG = ROOT / "app" / "core" / "_build_config.py"


def write_build_config(env: dict[str, str] | None = None) -> None:
    """Bake the packager's Dropbox app key (env ``KEEPSAKE_DROPBOX_APP_KEY`` at build
    time) into the build; without one, the app's wizard guides users to register
    their own. The file is git-ignored; an empty key removes it."""
    key = (env if env is not None else dict(os.environ)).get("KEEPSAKE_DROPBOX_APP_KEY", "")
    if key.strip():
        BUILD_CONFIG.write_text(
            '"""Written by installers/build.py; not in git."""\n\n'
            f"DROPBOX_APP_KEY = {key.strip()!r}\n",
            encoding="utf-8",
        )
        print("Dropbox app key: built in")
    else:
        BUILD_CONFIG.unlink(missing_ok=True)
        print("Dropbox app key: none (the wizard guides users to register one)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-pyinstaller", action="store_true", help="reuse dist/keepsake")
    args = parser.parse_args()
    write_build_config()
    bundle = DIST / "keepsake" if args.skip_pyinstaller else run_pyinstaller()
    print(f"App bundle: {bundle}")
    if shutil.which("dpkg-deb"):
        print(f"Debian package: {build_deb(bundle)}")
    else:
        print("dpkg-deb not found: skipping the .deb (not a Debian system)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
