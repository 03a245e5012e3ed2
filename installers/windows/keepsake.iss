; Inno Setup script: packages the PyInstaller one-folder build (dist\keepsake).
; Built by the release workflow on Windows: iscc installers\windows\keepsake.iss
#define AppVersion GetEnv("KEEPSAKE_VERSION")

[Setup]
AppId={{7C1E2B5A-4F55-4C2E-9B0C-4B2A6E0D7E11}
AppName=Keepsake
AppVersion={#AppVersion}
AppPublisher=Keepsake
DefaultDirName={autopf}\Keepsake
DefaultGroupName=Keepsake
OutputDir=..\..\dist
OutputBaseFilename=keepsake-{#AppVersion}-setup
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
PrivilegesRequiredOverridesAllowed=dialog
SetupIconFile=..\..\resources\icons\keepsake.ico
UninstallDisplayIcon={app}\keepsake.exe

[Files]
Source: "..\..\dist\keepsake\*"; DestDir: "{app}"; Flags: recursesubdirs ignoreversion

[Icons]
Name: "{group}\Keepsake"; Filename: "{app}\keepsake.exe"; Parameters: "gui"
Name: "{autodesktop}\Keepsake"; Filename: "{app}\keepsake.exe"; Parameters: "gui"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop icon"; Flags: unchecked

[Run]
Filename: "{app}\keepsake.exe"; Parameters: "gui"; Description: "Start Keepsake"; Flags: nowait postinstall skipifsilent
