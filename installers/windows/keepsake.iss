; Inno Setup script: packages the PyInstaller one-folder build (dist\keepsake), which
; holds the windowed keepsake.exe (the app) and the console keepsake-cli.exe (the
; command line). Built by the release workflow on Windows:
;   iscc installers\windows\keepsake.iss                      (unsigned)
;   iscc /DSign "/Skeepsake=signtool sign /fd sha256 ... $f" installers\windows\keepsake.iss
#define AppVersion GetEnv("KEEPSAKE_VERSION")

[Setup]
AppId={{7C1E2B5A-4F55-4C2E-9B0C-4B2A6E0D7E11}
AppName=Keepsake
AppVersion={#AppVersion}
AppPublisher=Keepsake
AppPublisherURL=https://github.com/keepsake/keepsake
DefaultDirName={autopf}\Keepsake
DefaultGroupName=Keepsake
OutputDir=..\..\dist
OutputBaseFilename=keepsake-{#AppVersion}-setup
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
; A 64-bit program: install into Program Files, not Program Files (x86).
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequiredOverridesAllowed=dialog
SetupIconFile=..\..\resources\icons\keepsake.ico
UninstallDisplayIcon={app}\keepsake.exe
LicenseFile=..\..\LICENSE
; keepsake.exe holds this mutex while it runs (app/services/app_mutex.py), so setup
; and uninstall ask the user to close Keepsake instead of failing on locked files.
AppMutex=KeepsakeRunning,Global\KeepsakeRunning
CloseApplications=yes
#ifdef Sign
SignTool=keepsake
SignedUninstaller=yes
#endif

[InstallDelete]
; An upgrade replaces the whole bundle: files a newer version no longer ships must
; not linger next to the new ones (PyInstaller loads whatever it finds there).
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "..\..\dist\keepsake\*"; DestDir: "{app}"; Flags: recursesubdirs ignoreversion

[Icons]
Name: "{group}\Keepsake"; Filename: "{app}\keepsake.exe"; Parameters: "gui"
Name: "{autodesktop}\Keepsake"; Filename: "{app}\keepsake.exe"; Parameters: "gui"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop icon"; Flags: unchecked

[Registry]
; Start at login is the app's own Run value (app/store/autostart.py); setup never
; creates it, but uninstalling removes it so Windows does not start a missing program.
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: none; ValueName: "Keepsake"; Flags: uninsdeletevalue dontcreatekey

[Run]
Filename: "{app}\keepsake.exe"; Parameters: "gui"; Description: "Start Keepsake"; Flags: nowait postinstall skipifsilent
