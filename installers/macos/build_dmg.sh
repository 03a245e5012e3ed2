#!/usr/bin/env bash
# Package dist/Keepsake.app (built by PyInstaller's BUNDLE step in
# installers/pyinstaller/keepsake.spec) into a .dmg with an Applications link, on macOS.
# Signing and notarization run only when the release workflow has the credentials:
#   KEEPSAKE_CODESIGN_IDENTITY   "Developer ID Application: ..." (keychain identity)
#   KEEPSAKE_NOTARY_APPLE_ID, KEEPSAKE_NOTARY_TEAM_ID, KEEPSAKE_NOTARY_PASSWORD
# KEEPSAKE_TARGET_ARCH (arm64 or x86_64) names the .dmg.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
version=$(python3 -c "import sys; sys.path.insert(0, '$root'); import app; print(app.__version__)")
arch=${KEEPSAKE_TARGET_ARCH:-$(uname -m)}
app="$root/dist/Keepsake.app"
dmg="$root/dist/keepsake-$version-macos-$arch.dmg"
[ -d "$app" ] || { echo "build_dmg: $app is missing (run python installers/build.py first)" >&2; exit 1; }

if [ -n "${KEEPSAKE_CODESIGN_IDENTITY:-}" ]; then
  # Hardened runtime is required for notarization; sign inside-out.
  codesign --force --deep --options runtime --timestamp --sign "$KEEPSAKE_CODESIGN_IDENTITY" "$app"
  codesign --verify --deep --strict --verbose=2 "$app"
fi

stage=$(mktemp -d)
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
rm -f "$dmg"
hdiutil create -volname Keepsake -srcfolder "$stage" -ov -format UDZO "$dmg"
rm -rf "$stage"

if [ -n "${KEEPSAKE_CODESIGN_IDENTITY:-}" ]; then
  codesign --force --timestamp --sign "$KEEPSAKE_CODESIGN_IDENTITY" "$dmg"
fi
if [ -n "${KEEPSAKE_NOTARY_APPLE_ID:-}" ] && [ -n "${KEEPSAKE_NOTARY_PASSWORD:-}" ]; then
  xcrun notarytool submit "$dmg" --apple-id "$KEEPSAKE_NOTARY_APPLE_ID" \
    --team-id "$KEEPSAKE_NOTARY_TEAM_ID" --password "$KEEPSAKE_NOTARY_PASSWORD" --wait
  xcrun stapler staple "$dmg"
fi
echo "$dmg"
