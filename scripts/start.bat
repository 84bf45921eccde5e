@echo off
rem Set up and start the application on Windows from the source folder (Python 3.10+ from python.org, with the
rem "py" launcher). Offices without Python use the installed build instead (README: 在办公电脑上安装).
rem   scripts\start.bat                   the office database (%LOCALAPPDATA%\pension-levy, or %PENSION_DB_URL%)
rem   scripts\start.bat --demo            a separate demo database, filled with a demo county on first start
rem   scripts\start.bat --db URL ...      any other arguments go to the program as they are
rem The first start installs (needs the internet); later starts install again only when setup.cfg or
rem pyproject.toml changed (the copy in .venv is the stamp), so an installed PC starts offline.
chcp 65001 >nul
setlocal
cd /d "%~dp0\.."

set "ARGS="
set "DEMO="
:parse
if "%~1"=="" goto :parsed
if /i "%~1"=="--demo" (set "DEMO=1") else (set ARGS=%ARGS% %1)
shift
goto :parse
:parsed

if not exist .venv\Scripts\python.exe (
    py -3 -m venv .venv || goto :error
)
copy /b /y setup.cfg+pyproject.toml .venv\setup.now >nul || goto :error
fc /b .venv\setup.now .venv\setup.installed >nul 2>&1
if errorlevel 1 (
    echo 正在安装程序所需的组件（仅首次或升级后，需要联网）……
    .venv\Scripts\python -m pip install -q -e . || goto :error
    copy /y .venv\setup.now .venv\setup.installed >nul
)

if defined DEMO (
    if not exist "%LOCALAPPDATA%\pension-levy" mkdir "%LOCALAPPDATA%\pension-levy"
    set "PENSION_DB_URL=sqlite:///%LOCALAPPDATA%\pension-levy\demo.db"
)
if defined DEMO (
    .venv\Scripts\python main.py init-db >nul || goto :error
    .venv\Scripts\python -c "import sys; from core.database import open_database; from dao.models import Resident; open_database(); sys.exit(0 if Resident.select().exists() else 1)" || (.venv\Scripts\python -c "from core import auth; from core.database import open_database; from dao.models import User; open_database(); User.select().exists() or auth.create_user(None, 'admin', 'demo12345', auth.ADMIN, display_name='\u7cfb\u7edf\u7ba1\u7406\u5458')" && set "PENSION_PASSWORD=demo12345" && .venv\Scripts\python main.py --user admin demo-data --residents 5000 && set "PENSION_PASSWORD=") || goto :error
)
rem pythonw: the window opens and this console closes.
start "" .venv\Scripts\pythonw.exe main.py %ARGS%
exit /b 0

:error
echo 安装或启动失败，请查看上面的错误信息。
pause
exit /b 1
