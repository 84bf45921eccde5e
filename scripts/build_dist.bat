@echo off
rem Build the installable Windows bundle (written for the office PCs; not run in CI, which is Linux):
rem   dist\pension-levy\                          the one-folder program: pension-levy.exe (the window, no
rem                                               console) and pension-levy-cli.exe (the batch commands)
rem   dist\pension-levy-VERSION-windows.zip       the same folder zipped, to unpack on each PC
rem   dist\pension-levy-VERSION-setup.exe         when Inno Setup 6 (iscc) is installed: packaging\pension-levy.iss
rem Needs Python 3.10+ (py launcher) and the internet on the machine that builds; not on the office PCs.
chcp 65001 >nul
setlocal
cd /d "%~dp0\.."
if not exist .venv\Scripts\python.exe (
    py -3 -m venv .venv || goto :error
)
.venv\Scripts\python -m pip install -q -e . "pyinstaller>=6.10,<7" || goto :error
if exist build\pyinstaller rmdir /s /q build\pyinstaller
if exist dist\pension-levy rmdir /s /q dist\pension-levy
.venv\Scripts\pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build\pyinstaller packaging\pension-levy.spec || goto :error
for /f "usebackq delims=" %%v in (`.venv\Scripts\python -c "from importlib.metadata import version; print(version('pension-levy'))"`) do set "VERSION=%%v"
dist\pension-levy\pension-levy-cli.exe --version || goto :error
set "QT_QPA_PLATFORM=offscreen"
dist\pension-levy\pension-levy-cli.exe --db "sqlite:///%TEMP%\pension-smoke.db" --smoke-test || goto :error
set "QT_QPA_PLATFORM="
del /q "%TEMP%\pension-smoke.db*" 2>nul
powershell -NoProfile -Command "Compress-Archive -Force -Path dist\pension-levy -DestinationPath dist\pension-levy-%VERSION%-windows.zip" || goto :error
echo 已生成 dist\pension-levy\ 和 dist\pension-levy-%VERSION%-windows.zip
where iscc >nul 2>&1 && (
    iscc /Q /DAppVersion=%VERSION% packaging\pension-levy.iss || goto :error
    echo 已生成安装程序 dist\pension-levy-%VERSION%-setup.exe
)
exit /b 0
:error
echo 生成失败，请查看上面的错误信息。
exit /b 1
