"""Issue 16, lost connections: the PostgreSQL backend is terminated under the running program (a network blip,
a server restart). Reads reconnect transparently; a write in flight is rolled back and the user is told in
Chinese to try again; the program goes on without a restart."""

from __future__ import annotations

import pytest

from core import admin as administration
from core import audit
from core.database import open_database
from core.errors import ConnectionLost, UserError
from dao import db as dao_db
from dao.models import AuditLog, Township
from gui.operations import wait_all
from tests.conftest import _pg_admin


def _kill_backend() -> None:
    """pg_terminate_backend of the program's own connection, from another one."""
    pid = dao_db.current().execute_sql("SELECT pg_backend_pid()").fetchone()[0]
    with _pg_admin() as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
        assert cur.fetchone()[0] is True


def test_reads_reconnect_and_writes_in_flight_are_rolled_back(pg_schema, admin):
    open_database(pg_schema.url)
    towns = Township.select().count()
    first = dao_db.current().execute_sql("SELECT pg_backend_pid()").fetchone()[0]

    _kill_backend()
    assert Township.select().count() == towns  # a read: repeated on a new connection
    assert dao_db.current().execute_sql("SELECT pg_backend_pid()").fetchone()[0] != first

    _kill_backend()
    with dao_db.current().atomic():  # BEGIN on the dead connection: nothing done yet, so reconnected
        audit.record("tester", "probe", "x", "after-idle-drop")
    assert AuditLog.select().where(AuditLog.entity_id == "after-idle-drop").count() == 1

    name = Township.get_by_id(1).name
    database = dao_db.current()
    with (
        pytest.raises(ConnectionLost, match="与数据库的连接中断，本次操作未保存，请重试") as caught,
        database.atomic(),
    ):
        Township.update(name="改了一半").where(Township.id == 1).execute()
        _kill_backend()  # the connection dies in the middle of the transaction
        Township.update(name="又改").where(Township.id == 2).execute()
    assert isinstance(caught.value, UserError)
    assert Township.get_by_id(1).name == name  # rolled back by the server; the program goes on
    with (
        pytest.raises(ConnectionLost),
        database.atomic(),
        database.atomic(),
    ):  # a savepoint inside unwinds too
        Township.update(name="改了一半").where(Township.id == 1).execute()
        _kill_backend()
        Township.get_by_id(2)
    assert Township.get_by_id(1).name == name
    assert not database.in_transaction()


def test_a_core_action_after_a_drop_works_and_a_write_without_transaction_says_try_again(
    pg_schema, admin, tmp_path
):
    open_database(pg_schema.url)
    _kill_backend()
    data = administration.PolicyInput(2031, ["100", "300"], "100")
    administration.save_policy(admin, data)  # its transaction starts on a new connection
    _kill_backend()
    with pytest.raises(ConnectionLost):  # an INSERT outside a transaction: not repeated (it may have run)
        audit.record("tester", "probe", "x", "lone")
    assert AuditLog.select().where(AuditLog.entity_id == "lone").count() == 0
    assert [p.year for p in administration.policy.years()][-1] == 2031


def test_cli_exit_code_for_a_lost_connection(tmp_path, monkeypatch, capsys):
    from core import statistics
    from main import main
    from tests.clirun import TEST_PASSWORD, office_db

    url = office_db(tmp_path)
    monkeypatch.setenv("PENSION_PASSWORD", TEST_PASSWORD)

    def lost(*args, **kwargs):
        raise ConnectionLost(dao_db.LOST_MESSAGE)

    monkeypatch.setattr(statistics, "year_stats", lost)
    assert main(["--db", url, "--user", "boss", "stats", "--year", "2020"]) == 3
    assert "与数据库的连接中断，本次操作未保存，请重试" in capsys.readouterr().err


def test_the_gui_goes_on_after_the_backend_is_terminated(qtbot, pg_schema, admin, message_boxes):
    """The administrator's tab on PostgreSQL: the backend dies between two clicks; the next refresh and the
    next change work without a restart, and a change cut off half-way says so in Chinese."""
    from gui.admin_tab import AdminTab

    open_database(pg_schema.url)
    tab = AdminTab(admin)
    qtbot.addWidget(tab)
    _kill_backend()
    tab.refresh()  # reads: reconnected
    tab.mask_boxes["财务"].setChecked(True)
    _kill_backend()
    tab.save_settings()  # a change: its transaction starts on a new connection
    wait_all()
    assert message_boxes[-1] == ("系统管理", "设置已保存。")

    def cut_off(*args, **kwargs):  # the connection dies in the middle of the change
        with dao_db.current().atomic():
            audit.record("tester", "probe", "x", "half")
            _kill_backend()
            audit.record("tester", "probe", "x", "half")

    tab._do(cut_off)
    wait_all()
    assert message_boxes[-1] == ("系统管理", dao_db.LOST_MESSAGE)
    assert AuditLog.select().where(AuditLog.entity_id == "half").count() == 0
    tab.refresh_audit()  # and it goes on


def test_a_worker_thread_reuses_the_connection_the_last_one_left(pg_schema, admin):
    """Each GUI action runs in a new thread: it picks up a kept connection instead of opening one (several
    round trips each over a township's network); a connection a server restart killed is never handed out."""
    import threading

    from core.database import close_thread_connection

    open_database(pg_schema.url)
    database = dao_db.current()

    def backend_of_a_worker(kill: bool = False) -> int:
        out: list[int] = []

        def work() -> None:
            out.append(database.execute_sql("SELECT pg_backend_pid()").fetchone()[0])
            if kill:
                _kill_backend()
            close_thread_connection()

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        return out[0]

    first = backend_of_a_worker()
    assert backend_of_a_worker() == first and len(database._idle) == 1  # kept, then taken again

    database.begin()  # a connection left in a transaction is closed, not kept
    database.close()
    assert len(database._idle) == 1

    backend_of_a_worker(kill=True)  # the kept connection dies: the next worker gets a fresh one
    assert backend_of_a_worker() != first and Township.select().count() > 0
    dao_db.close(database)
    assert database._idle == []
