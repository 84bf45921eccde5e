"""PostgreSQL as the security boundary: login roles, group roles, privileges, row-level security.

Each user of the system is a login role ``<ns>_u_<name>``, a member of one group role per application role
(``<ns>_g_clerk`` ... ``<ns>_g_admin``) and of the cluster-wide ``pension_login``, which pg_hba.conf names
(``host all +pension_login 0.0.0.0/0 scram-sha-256``) so the server itself checks every password. ``<ns>``
is derived from the database (and schema, when the URL sets ``search_path``): roles are cluster-wide and two
databases on one server must not share them.

Only the owner (``init-db``, migrations) runs ``install``. Office PCs connect as the user's login role:

* privileges: no application role may UPDATE, DELETE or TRUNCATE ``audit_log`` / ``refund_event`` /
  ``resident_event``;
  ``app_user`` changes only through the SECURITY DEFINER functions below, which check the caller;
* row-level security: a township clerk's role sees and changes only its township's rows;
* triggers: the audit and refund-event ``username`` is the connected role's user, whatever the client sent;
  a refund case reaches 复核通过 only from a reviewer (or administrator) who neither entered nor passed it.

Failed logins cannot be written by the role that failed: a ``<ns>_gate`` login role with a published
password may only call ``app_login_failed`` / ``app_login_unlock`` (count, audit, lock by NOLOGIN).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from urllib.parse import parse_qs, unquote, urlparse

import peewee as pw

UMBRELLA = "pension_login"
GROUPS = {"乡镇经办": "clerk", "县局审核": "reviewer", "财务": "finance", "管理员": "admin"}
# Public by design: the gate role may only report a failed login (what typing a wrong password does anyway).
GATE_PASSWORD = "pension-gate-only-reports-failed-logins"
LOCK_MINUTES = 15
NO_PASSWORD = "!"  # app_user.password_hash of a login role adopted from an older version, still without one
MAX_FAILED = 5

# Tables whose rows belong to a township, and how a clerk's row is recognised.
_CLERK_SCOPE = {
    "resident": "township_id = app_township()",
    "payer_year": "township_id = app_township()",
    "arrears_assessment": "township_id = app_township()",
    "refund_case": "township_id = app_township()",
    "contribution": "EXISTS (SELECT 1 FROM resident r WHERE r.id = resident_id)",
    "government_payment": "EXISTS (SELECT 1 FROM resident r WHERE r.id = resident_id)",
    "arrears_line": "EXISTS (SELECT 1 FROM arrears_assessment a WHERE a.id = assessment_id)",
    "refund_item": "EXISTS (SELECT 1 FROM refund_case c WHERE c.id = case_id)",
    "refund_event": "EXISTS (SELECT 1 FROM refund_case c WHERE c.id = case_id)",
    "refund_candidate": "EXISTS (SELECT 1 FROM contribution p WHERE p.id = contribution_id)",
    "special_list_entry": "(resident_id IS NULL AND township_text <> '' AND (strpos(app_township_name(), "
    "township_text) > 0 OR strpos(township_text, app_township_name()) > 0)) "
    "OR EXISTS (SELECT 1 FROM resident r WHERE r.id = resident_id)",
    "import_change": "EXISTS (SELECT 1 FROM resident r WHERE r.id = resident_id)",
    # A move is in the history of both townships: the one the person left keeps seeing what happened while
    # the person was theirs; the one they joined sees the person's whole history.
    "resident_event": "township_id = app_township() OR from_township_id = app_township() "
    "OR EXISTS (SELECT 1 FROM resident r WHERE r.id = resident_id)",
    "audit_log": "username = app_username()",  # a clerk reads its own entries only
}
_APPEND_ONLY = ("audit_log", "refund_event", "resident_event")
_ADMIN_ONLY_WRITE = ("township", "policy_year", "app_setting")
_NO_CLERK_READ = ("handoff_line",)  # every township's ID numbers and amounts, as sent to the tax side


class LoginRefused(Exception):
    """The server refused a login: ``kind`` is "password" (wrong password or no such role) or "nologin"."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


# --- names ----------------------------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", text.lower())


def namespace(database: str, schema: str | None) -> str:
    base = _slug(database) + ("" if schema in (None, "", "public") else "_" + _slug(schema))
    if len(base) > 27:
        base = "h" + hashlib.sha256(f"{database}/{schema or ''}".encode()).hexdigest()[:12]
    return f"pl_{base}"


def url_parts(url: str) -> tuple[str, str | None]:
    """(database name, first search_path schema) of a postgresql:// URL."""
    parsed = urlparse(url)
    database = unquote(parsed.path.lstrip("/"))
    schema = None
    for option in parse_qs(parsed.query).get("options", []):
        match = re.search(r"-c\s*search_path\s*=\s*([^,\s]+)", unquote(option))
        if match:
            schema = match.group(1).strip('"')
    return database, schema


def namespace_of_url(url: str) -> str:
    return namespace(*url_parts(url))


def namespace_of(db: pw.Database) -> str:
    database, schema = db.execute_sql("SELECT current_database(), current_schema()").fetchone()
    return namespace(database, schema)


def user_role(ns: str, username: str) -> str:
    """The login role of a user; every spelling of a name (any case) is the same role."""
    name = username.strip().lower()
    slug = (
        name
        if re.fullmatch(r"[a-z0-9_]{1,30}", name)
        else "x" + hashlib.sha256(name.encode()).hexdigest()[:16]
    )
    return f"{ns}_u_{slug}"


def group_role(ns: str, role: str) -> str:
    return f"{ns}_g_{GROUPS[role]}"


def gate_role(ns: str) -> str:
    return f"{ns}_gate"


def scram_verifier(password: str, iterations: int = 4096) -> str:
    """A SCRAM-SHA-256 verifier made on the client (RFC 5802/7677): the password never reaches the server's
    statement log, only this."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = base64.b64encode
    return f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}${b64(stored_key).decode()}:{b64(server_key).decode()}"


# --- connecting as a role -------------------------------------------------------------------------------


def connect_params(db: pw.PostgresqlDatabase) -> dict:
    """Host, port, database and options of an open database, without its user and password."""
    params = {k: v for k, v in db.connect_params.items() if k not in ("user", "password")}
    params["database"] = db.database
    return params


def open_as(params: dict, role: str, password: str) -> pw.PostgresqlDatabase:
    """A peewee database connected as ``role``; LoginRefused when the server says no."""
    import psycopg2

    kwargs = {k: v for k, v in params.items() if k != "database"}
    kwargs.setdefault("connect_timeout", 5)
    from dao.db import AppPostgresqlDatabase

    db = AppPostgresqlDatabase(params["database"], user=role, password=password, **kwargs)
    try:
        db.connect()
    except (pw.OperationalError, psycopg2.OperationalError) as exc:
        text = str(exc)
        unknown_role = 'role "' in text and "does not exist" in text  # pg_hba lines after ours may trust
        if unknown_role or "password authentication failed" in text or "no password" in text:
            raise LoginRefused("password") from exc
        if "not permitted to log in" in text:
            raise LoginRefused("nologin") from exc
        raise
    return db


def report_failure(params: dict, ns: str, username: str, kind: str) -> bool:
    """Tell the database about a refused login through the gate role; True when an expired lock was lifted
    (the caller may try once more)."""
    gate = open_as(params, gate_role(ns), GATE_PASSWORD)
    try:
        if kind == "nologin":
            return bool(gate.execute_sql("SELECT app_login_unlock(%s)", (username,)).fetchone()[0])
        gate.execute_sql("SELECT app_login_failed(%s)", (username,))
        return False
    finally:
        gate.close()


# --- install (owner only) -------------------------------------------------------------------------------


def _exec(db: pw.Database, sql: str, params: tuple = ()) -> None:
    # the driver formats every statement: a literal % (format(), RAISE) is written %% unless params are given
    db.execute_sql(sql if params else sql.replace("%", "%%"), params)


def _ensure_role(db: pw.Database, name: str, options: str) -> None:
    if not db.execute_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
        _exec(db, f'CREATE ROLE "{name}" {options}')


def install(db: pw.PostgresqlDatabase) -> str:
    """Roles, privileges, policies, functions and triggers for the schema in use; idempotent. Returns the
    namespace. Run by the owner (who needs CREATEROLE) after creating or upgrading the schema."""
    ns = namespace_of(db)
    schema = db.execute_sql("SELECT current_schema()").fetchone()[0]
    owner = db.execute_sql("SELECT current_user").fetchone()[0]
    groups = {role: group_role(ns, role) for role in GROUPS}
    gate = gate_role(ns)
    _ensure_role(db, UMBRELLA, "NOLOGIN")
    for name in groups.values():
        _ensure_role(db, name, "NOLOGIN")
    _ensure_role(db, gate, f"LOGIN PASSWORD '{GATE_PASSWORD}' IN ROLE {UMBRELLA}")
    everyone = ", ".join(f'"{g}"' for g in groups.values())
    clerk, admin = f'"{groups["乡镇经办"]}"', f'"{groups["管理员"]}"'
    q = f'"{schema}"'

    # Named lists, not "ON ALL TABLES IN SCHEMA": that form took 0.45 s each on a database with many schemas.
    relations = db.execute_sql(
        "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'S')",
        (schema,),
    ).fetchall()
    all_tables = ", ".join(f'"{name}"' for name, kind in relations if kind != "S")
    sequences = ", ".join(f'"{name}"' for name, kind in relations if kind == "S")
    _exec(db, f'GRANT USAGE ON SCHEMA {q} TO {everyone}, "{gate}"')
    _exec(db, f'REVOKE ALL ON TABLE {all_tables} FROM PUBLIC, {everyone}, "{gate}"')
    _exec(db, f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {all_tables} TO {everyone}")
    if sequences:
        _exec(db, f"GRANT USAGE, SELECT ON SEQUENCE {sequences} TO {everyone}")
    for table in _APPEND_ONLY:
        _exec(db, f'REVOKE UPDATE, DELETE, TRUNCATE ON "{table}" FROM {everyone}')
    _exec(db, f'REVOKE INSERT, UPDATE, DELETE ON "app_user", "schema_version" FROM {everyone}')
    for table in _ADMIN_ONLY_WRITE:
        _exec(db, f'REVOKE INSERT, UPDATE, DELETE ON "{table}" FROM {everyone}')
        _exec(db, f'GRANT INSERT, UPDATE, DELETE ON "{table}" TO {admin}')
    _exec(db, f'REVOKE UPDATE, DELETE ON "village" FROM {everyone}')
    _exec(db, f'GRANT UPDATE, DELETE ON "village" TO {admin}')
    for table in _NO_CLERK_READ:
        _exec(db, f'REVOKE ALL ON "{table}" FROM {clerk}')

    _install_functions(db, ns, schema, owner, groups, gate)

    _adopt_existing_users(db, ns, groups)
    tables = {name for name, kind in relations if kind != "S"}
    for table, rule in _CLERK_SCOPE.items():
        if table not in tables:
            continue
        _exec(db, f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
        _exec(db, f'DROP POLICY IF EXISTS county ON "{table}"')
        _exec(db, f'DROP POLICY IF EXISTS township ON "{table}"')
        others = ", ".join(f'"{g}"' for role, g in groups.items() if role != "乡镇经办")
        _exec(db, f'CREATE POLICY county ON "{table}" TO {others} USING (true) WITH CHECK (true)')
        check = "(true)" if table == "audit_log" else f"({rule})"
        _exec(db, f'CREATE POLICY township ON "{table}" TO {clerk} USING ({rule}) WITH CHECK {check}')
    return ns


def _adopt_existing_users(db: pw.Database, ns: str, groups: dict[str, str]) -> None:
    """Users from before login roles get one, without a password (the server keeps none of theirs): the owner
    sets a new one with ``init-db --set-password NAME``. Their scrypt hashes go: app roles may read app_user."""
    rows = db.execute_sql("SELECT id, username, role, active FROM app_user WHERE db_role IS NULL").fetchall()
    for user_id, username, role, active in rows:
        name = user_role(ns, username)
        _ensure_role(db, name, "LOGIN" if active else "NOLOGIN")
        _exec(db, f'GRANT {UMBRELLA}, "{groups[role]}" TO "{name}"')
        db.execute_sql(
            "UPDATE app_user SET db_role = %s, password_hash = %s WHERE id = %s", (name, NO_PASSWORD, user_id)
        )


def users_without_password(db: pw.Database) -> list[str]:
    """Users whose login role has no password yet (adopted from an older version)."""
    rows = db.execute_sql(
        "SELECT username FROM app_user WHERE password_hash = %s ORDER BY username", (NO_PASSWORD,)
    )
    return [r[0] for r in rows]


def _install_functions(db: pw.Database, ns: str, schema: str, owner: str, groups: dict, gate: str) -> None:
    definer = f'SECURITY DEFINER SET search_path = "{schema}", pg_temp'
    admin_group = groups["管理员"]
    group_case = " ".join(f"WHEN '{role}' THEN '{name}'" for role, name in groups.items())
    all_groups = ", ".join(f'"{g}"' for g in groups.values())
    functions = {
        # The application user of this connection (session_user: SET ROLE cannot change it).
        "app_username()": f"""RETURNS text LANGUAGE sql STABLE {definer} AS $$
            SELECT username FROM app_user WHERE db_role = session_user $$""",
        "app_township()": f"""RETURNS integer LANGUAGE sql STABLE {definer} AS $$
            SELECT township_id FROM app_user WHERE db_role = session_user $$""",
        "app_township_name()": f"""RETURNS text LANGUAGE sql STABLE {definer} AS $$
            SELECT t.name FROM app_user u JOIN township t ON t.id = u.township_id
            WHERE u.db_role = session_user $$""",
        # A clerk's import must tell "registered in another township" from "new" without seeing the row.
        "app_registered_elsewhere(text[])": f"""RETURNS SETOF text LANGUAGE sql STABLE {definer} AS $$
            SELECT id_number FROM resident WHERE id_number = ANY(p_numbers)
              AND township_id IS DISTINCT FROM app_township() $$""",
        # Before insert on audit_log / refund_event: the user is the connection's, not the client's word.
        "app_stamp_username()": f"""RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE who text;
            BEGIN
              IF current_user = '{owner}' THEN RETURN NEW; END IF;  -- the owner, or our definer functions
              who := app_username();
              IF who IS NULL THEN
                RAISE EXCEPTION 'role % is not a user of the system', session_user USING ERRCODE = '42501';
              END IF;
              NEW.username := who;
              RETURN NEW;
            END $$""",
        # Maker-checker in the database: who entered, passed and reviewed a refund case.
        "app_refund_guard()": f"""RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE who text; what text;
            BEGIN
              IF current_user = '{owner}' THEN RETURN NEW; END IF;
              SELECT username, role INTO who, what FROM app_user WHERE db_role = session_user AND active;
              IF who IS NULL THEN
                RAISE EXCEPTION 'role % is not a user of the system', session_user USING ERRCODE = '42501';
              END IF;
              IF TG_OP = 'INSERT' THEN
                NEW.entered_by := who; NEW.passed_by := ''; NEW.reviewed_by := '';
                RETURN NEW;
              END IF;
              NEW.entered_by := OLD.entered_by;
              IF NEW.state IS DISTINCT FROM OLD.state AND NEW.state = '已初审' THEN
                NEW.passed_by := who;
              ELSE
                NEW.passed_by := OLD.passed_by;
              END IF;
              IF NEW.state IS DISTINCT FROM OLD.state AND NEW.state IN ('复核通过', '已退回') THEN
                IF what NOT IN ('县局审核', '管理员') THEN
                  RAISE EXCEPTION '复核须由县局审核人员办理（%）', who USING ERRCODE = '42501';
                END IF;
                IF who IN (OLD.entered_by, OLD.passed_by) THEN
                  RAISE EXCEPTION '复核人不能是该案件的受理人或初审人（%）', who USING ERRCODE = '42501';
                END IF;
                NEW.reviewed_by := who;
              ELSE
                NEW.reviewed_by := OLD.reviewed_by;
              END IF;
              RETURN NEW;
            END $$""",
        # User administration: only an active administrator of this database (or the owner).
        "app_check_admin()": f"""RETURNS void LANGUAGE plpgsql {definer} AS $$
            BEGIN
              IF EXISTS (SELECT 1 FROM app_user WHERE db_role = session_user) AND NOT EXISTS (
                  SELECT 1 FROM app_user WHERE db_role = session_user AND role = '管理员' AND active) THEN
                RAISE EXCEPTION '只有管理员可以管理用户' USING ERRCODE = '42501';
              END IF;
            END $$""",
        "app_user_create(text, text, text, integer, text, text)": f"""RETURNS integer LANGUAGE plpgsql
            {definer} AS $$
            DECLARE new_id integer;
            BEGIN
              PERFORM app_check_admin();
              IF left(p_db_role, {len(ns) + 3}) <> '{ns}_u_' THEN
                RAISE EXCEPTION 'role name % outside this database', p_db_role;
              END IF;
              INSERT INTO app_user (username, display_name, role, township_id, password_hash, active,
                                    failed_attempts, created_at, db_role)
              VALUES (p_username, p_display, p_role, p_township, '', true, 0, localtimestamp(0), p_db_role)
              RETURNING id INTO new_id;
              IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_db_role) THEN
                EXECUTE format('ALTER ROLE %I LOGIN PASSWORD %L', p_db_role, p_verifier);
              ELSE
                EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', p_db_role, p_verifier);
              END IF;
              EXECUTE format('GRANT {UMBRELLA} TO %I', p_db_role);
              EXECUTE format('GRANT %I TO %I', CASE p_role {group_case} END, p_db_role);
              RETURN new_id;
            END $$""",
        "app_user_update(text, text, integer, boolean, text)": f"""RETURNS void LANGUAGE plpgsql
            {definer} AS $$
            DECLARE r text; g text;
            BEGIN
              PERFORM app_check_admin();
              UPDATE app_user SET role = p_role, township_id = p_township, active = p_active,
                     display_name = p_display WHERE username = p_username RETURNING db_role INTO r;
              IF r IS NULL THEN RAISE EXCEPTION 'no user %', p_username; END IF;
              FOREACH g IN ARRAY ARRAY[{", ".join(f"'{g}'" for g in groups.values())}] LOOP
                EXECUTE format('REVOKE %I FROM %I', g, r);
              END LOOP;
              EXECUTE format('GRANT %I TO %I', CASE p_role {group_case} END, r);
              IF p_active THEN
                UPDATE app_user SET failed_attempts = 0, locked_until = NULL WHERE db_role = r;
                EXECUTE format('ALTER ROLE %I LOGIN', r);
              ELSE
                EXECUTE format('ALTER ROLE %I NOLOGIN', r);
              END IF;
            END $$""",
        "app_user_password(text, text)": f"""RETURNS void LANGUAGE plpgsql {definer} AS $$
            DECLARE r text; live boolean;
            BEGIN
              PERFORM app_check_admin();
              UPDATE app_user SET failed_attempts = 0, locked_until = NULL, password_hash = ''
                WHERE username = p_username RETURNING db_role, active INTO r, live;
              IF r IS NULL THEN RAISE EXCEPTION 'no user %', p_username; END IF;
              EXECUTE format('ALTER ROLE %I PASSWORD %L', r, p_verifier);
              IF live THEN EXECUTE format('ALTER ROLE %I LOGIN', r); END IF;
            END $$""",
        # A successful login: the failure count starts again; recorded in the audit log.
        "app_login_ok()": f"""RETURNS void LANGUAGE plpgsql {definer} AS $$
            DECLARE u record;
            BEGIN
              SELECT * INTO u FROM app_user WHERE db_role = session_user AND active;
              IF u.id IS NULL THEN
                RAISE EXCEPTION 'role % is not a user of the system', session_user USING ERRCODE = '42501';
              END IF;
              UPDATE app_user SET failed_attempts = 0, locked_until = NULL WHERE id = u.id;
              INSERT INTO audit_log (at, username, action, entity, entity_id, before, after)
              VALUES (localtimestamp(0), u.username, 'login', 'user', u.id::text, '', '');
            END $$""",
        # Through the gate: a wrong password (or a name that is no user) is counted and audited.
        "app_login_failed(text)": f"""RETURNS void LANGUAGE plpgsql {definer} AS $$
            DECLARE u record; failed integer;
            BEGIN
              SELECT * INTO u FROM app_user WHERE lower(username) = lower(p_name);
              IF u.id IS NULL OR NOT u.active THEN
                INSERT INTO audit_log (at, username, action, entity, entity_id, before, after)
                VALUES (localtimestamp(0), left(p_name, 60), 'login_failed', 'user', coalesce(u.id::text, ''),
                        '', '');
                RETURN;
              END IF;
              failed := u.failed_attempts + 1;
              IF failed >= {MAX_FAILED} THEN
                UPDATE app_user SET failed_attempts = 0,
                       locked_until = localtimestamp(0) + interval '{LOCK_MINUTES} minutes' WHERE id = u.id;
                EXECUTE format('ALTER ROLE %I NOLOGIN', u.db_role);
              ELSE
                UPDATE app_user SET failed_attempts = failed WHERE id = u.id;
              END IF;
              INSERT INTO audit_log (at, username, action, entity, entity_id, before, after)
              VALUES (localtimestamp(0), u.username, 'login_failed', 'user', u.id::text, '',
                      json_build_object('failed_attempts', failed)::text);
            END $$""",
        # Through the gate: the right password for a locked role; lifts the lock once its time is over.
        "app_login_unlock(text)": f"""RETURNS boolean LANGUAGE plpgsql {definer} AS $$
            DECLARE u record;
            BEGIN
              SELECT * INTO u FROM app_user WHERE lower(username) = lower(p_name);
              IF u.id IS NOT NULL AND u.active AND u.locked_until IS NOT NULL
                 AND u.locked_until <= localtimestamp(0) THEN
                UPDATE app_user SET locked_until = NULL, failed_attempts = 0 WHERE id = u.id;
                EXECUTE format('ALTER ROLE %I LOGIN', u.db_role);
                RETURN true;
              END IF;
              INSERT INTO audit_log (at, username, action, entity, entity_id, before, after)
              VALUES (localtimestamp(0), coalesce(u.username, left(p_name, 60)), 'login_failed', 'user',
                      coalesce(u.id::text, ''), '', '{{"refused": "locked or inactive"}}');
              RETURN false;
            END $$""",
    }
    params = {
        "app_user_create": "p_username text, p_display text, p_role text, p_township integer, p_verifier text, "
        "p_db_role text",
        "app_user_update": "p_username text, p_role text, p_township integer, p_active boolean, p_display text",
        "app_user_password": "p_username text, p_verifier text",
        "app_login_failed": "p_name text",
        "app_registered_elsewhere": "p_numbers text[]",
        "app_login_unlock": "p_name text",
    }
    for signature, body in functions.items():
        name = signature.split("(")[0]
        args = params.get(name, "")
        _exec(db, f"CREATE OR REPLACE FUNCTION {name}({args}) {body}")
        _exec(db, f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    for name in ("app_username()", "app_township()", "app_township_name()", "app_login_ok()",
                 "app_registered_elsewhere(text[])"):  # fmt: skip
        _exec(db, f"GRANT EXECUTE ON FUNCTION {name} TO {all_groups}")
    for name in ("app_check_admin()", "app_user_create(text, text, text, integer, text, text)",
                 "app_user_update(text, text, integer, boolean, text)", "app_user_password(text, text)"):  # fmt: skip
        _exec(db, f'GRANT EXECUTE ON FUNCTION {name} TO "{admin_group}"')
    for name in ("app_login_failed(text)", "app_login_unlock(text)"):
        _exec(db, f'GRANT EXECUTE ON FUNCTION {name} TO "{gate}"')
    for table in _APPEND_ONLY:
        _exec(db, f'DROP TRIGGER IF EXISTS {table}_stamp_user ON "{table}"')
        _exec(db, f'CREATE TRIGGER {table}_stamp_user BEFORE INSERT ON "{table}" '
                  "FOR EACH ROW EXECUTE FUNCTION app_stamp_username()")  # fmt: skip
    _exec(db, 'DROP TRIGGER IF EXISTS refund_case_guard ON "refund_case"')
    _exec(db, 'CREATE TRIGGER refund_case_guard BEFORE INSERT OR UPDATE ON "refund_case" '
              "FOR EACH ROW EXECUTE FUNCTION app_refund_guard()")  # fmt: skip


def connected_user(db: pw.Database) -> str | None:
    """The application user of a PostgreSQL connection made as a login role; None for SQLite and the owner."""
    if not isinstance(db, pw.PostgresqlDatabase):
        return None
    return db.execute_sql("SELECT app_username()").fetchone()[0]


def registered_elsewhere(db: pw.Database, numbers: list[str]) -> set[str]:
    """ID numbers (of ``numbers``) registered in a township the connected clerk cannot see (row-level
    security hides the rows themselves). Empty for the owner and county-wide roles."""
    if not numbers or not isinstance(db, pw.PostgresqlDatabase):
        return set()
    # One round trip: for the owner and county-wide roles nothing is hidden, so every number asked about
    # (not among the rows they see) is registered nowhere and the function returns none of them.
    return {r[0] for r in db.execute_sql("SELECT app_registered_elsewhere(%s)", (numbers,))}


def drop_roles(db: pw.Database, ns: str) -> None:
    """Drop every role of a namespace (tests' throw-away schemas; a database taken out of service)."""
    names = [
        r[0]
        for r in db.execute_sql(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (ns.replace("_", "\\_") + "\\_%",)
        )
    ]
    for name in names:
        _exec(db, f'DROP OWNED BY "{name}" CASCADE')
    for name in names:
        _exec(db, f'DROP ROLE IF EXISTS "{name}"')


def change_own_password(db: pw.Database, password: str) -> None:
    """ALTER ROLE for the connected role itself (any role may change its own password)."""
    _exec(db, f"ALTER ROLE CURRENT_USER PASSWORD '{scram_verifier(password)}'")
