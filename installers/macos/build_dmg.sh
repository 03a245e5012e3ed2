#!/usr/bin/env bash
# Wrap the PyInstaller build into Keepsake.app and a .dmg (run on macOS by the
# release workflow after `python installers/build.py`).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
version=$(python3 -c "import sys; sys.path.insert(0, '$root'); import app; print(app.__version__)")
app="$root/dist/Keepsake.app"
rm -rf "$app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"
cp -R "$root/dist/keepsake/." "$app/Contents/MacOS/"
iconset=$(mktemp -d)/keepsake.iconset
mkdir -p "$iconset"
for s in 16 32 128 256 512; do cp "$root/resources/icons/keepsake-$s.png" "$iconset/icon_${s}x${s}.png"; done
iconutil -c icns "$iconset" -o "$app/Contents/Resources/keepsake.icns"
cat > "$app/Contents/Info.plist" <<PLIST
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
  <key>CFBundleName</key><string>Keepsake</string>
  <key>CFBundleIdentifier</key><string>app.keepsake.desktop</string>
  <key>CFBundleVersion</key><string>$version</string>
  <key>CFBundleShortVersionString</key><string>$version</string>
  <key>CFBundleExecutable</key><string>keepsake</string>
  <key>CFBundleIconFile</key><string>keepsake.icns</string>
  <key>LSUIElement</key><false/>
  <key>NSHighResolutionCapable</key><true/>
</dict></plist>
PLIST
hdiutil create -volname Keepsake -srcfolder "$app" -ov -format UDZO "$root/dist/keepsake-$version.dmg"
