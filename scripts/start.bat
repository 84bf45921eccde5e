@echo off
rem Set up and start the application on Windows (Python 3.10+ from python.org, with the "py" launcher).
rem   scripts\start.bat          the office database (SQLite in %LOCALAPPDATA%\pension-levy, or %PENSION_DB_URL%)
rem   scripts\start.bat --demo   a separate demo database, filled with a demo county on first start
setlocal
cd /d "%~dp0\.."
if not exist .venv\Scripts\python.exe py -3 -m venv .venv || goto :error
.venv\Scripts\python -m pip install -q -e . || goto :error
if /i "%~1"=="--demo" (
    if not exist "%LOCALAPPDATA%\pension-levy" mkdir "%LOCALAPPDATA%\pension-levy"
    set "PENSION_DB_URL=sqlite:///%LOCALAPPDATA%\pension-levy\demo.db"
    .venv\Scripts\python main.py init-db >nul || goto :error
    .venv\Scripts\python -c "import sys; from core.database import open_database; from dao.models import Resident; open_database(); sys.exit(0 if Resident.select().exists() else 1)" || (.venv\Scripts\python -c "from core import auth; from core.database import open_database; from dao.models import User; open_database(); User.select().exists() or auth.create_user(None, 'admin', 'demo12345', auth.ADMIN, display_name='\u7cfb\u7edf\u7ba1\u7406\u5458')" & set "PENSION_PASSWORD=demo12345" & .venv\Scripts\python main.py --user admin demo-data --residents 5000 & set "PENSION_PASSWORD=")
    shift
)
.venv\Scripts\pythonw main.py %1 %2 %3 %4
exit /b 0
:error
echo 安装或启动失败，请查看上面的错误信息。
pause
exit /b 1
