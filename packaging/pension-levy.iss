; Inno Setup 6 script: a per-user installer for the Windows bundle (scripts\build_dist.bat runs it when iscc is
; installed). Written for the office PCs and reviewed, not run in CI. Installs into %LOCALAPPDATA%\Programs (no
; administrator rights needed); a new version installs over the old. The data (%LOCALAPPDATA%\pension-levy)
; is not in the program folder, so updating or uninstalling keeps the database.
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId=pension-levy
AppName=居民养老保险征缴业务系统
AppVersion={#AppVersion}
AppPublisher=县人社局
DefaultDirName={localappdata}\Programs\pension-levy
DefaultGroupName=居民养老保险征缴业务系统
PrivilegesRequired=lowest
OutputDir=..\dist
OutputBaseFilename=pension-levy-{#AppVersion}-setup
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
ArchitecturesInstallIn64BitMode=x64compatible

[Languages]
Name: "chs"; MessagesFile: "compiler:Languages\ChineseSimplified.isl"

[Files]
Source: "..\dist\pension-levy\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; the previous version's libraries: a new build replaces the whole _internal folder
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{group}\居民养老保险征缴业务系统"; Filename: "{app}\pension-levy.exe"
Name: "{autodesktop}\居民养老保险征缴业务系统"; Filename: "{app}\pension-levy.exe"

[Run]
Filename: "{app}\pension-levy.exe"; Description: "启动居民养老保险征缴业务系统"; Flags: nowait postinstall skipifsilent
