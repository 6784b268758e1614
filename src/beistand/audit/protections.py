"""Are the audit trail's protections in place? Not the rows (``services.verify_chain``) but what
keeps them from being changed: the append-only triggers (``protection.py``) and, on PostgreSQL,
the grants of ``deploy/postgres/grants.sql``.

``problems()`` is what ``beistand audit verify`` reports as a failure: a missing, disabled or
altered trigger (or trigger function, or one without its fixed ``search_path``, or one turned
into ``SECURITY DEFINER``), and any role other than the tables' owner that may
UPDATE, DELETE or TRUNCATE the events. ``own_privilege_problems()`` is what ``/health/ready``
adds: the role this process logs in as cannot do its work (``grants.sql`` not run after a
restore or migration), or holds rights on the trail it must not have.

Texts are German (they reach the operator's terminal and the health page); they never hold
personal data.
"""

import re

from django.db import connection as default_connection

from beistand.audit import protection

EVENTS = "audit_auditevent"
HEAD = "audit_audithead"
# Rights of the application role on the trail (grants.sql): it appends events and moves the head.
TRAIL_NEEDS = {EVENTS: ("SELECT", "INSERT"), HEAD: ("SELECT", "INSERT", "UPDATE")}
TRAIL_FORBIDDEN = {EVENTS: ("UPDATE", "DELETE", "TRUNCATE")}
# Every other table: read and write (grants.sql); the migration record only read.
DATA_NEEDS = ("SELECT", "INSERT", "UPDATE", "DELETE")
READ_ONLY = {"django_migrations": ("SELECT",)}

_CREATE_TRIGGER = re.compile(
    r"CREATE TRIGGER (?:IF NOT EXISTS )?(\w+) .*? ON (\w+)", re.IGNORECASE | re.DOTALL)
_CREATE_FUNCTION = re.compile(
    r"CREATE OR REPLACE FUNCTION (\w+)\(\) RETURNS trigger AS \$\$(.*)\$\$",
    re.IGNORECASE | re.DOTALL)


def _norm(sql: str) -> str:
    return " ".join(sql.replace(";", " ").split()).lower()


def expected_triggers(vendor: str) -> dict[str, tuple[str, str]]:
    """name -> (table, normalised definition) of the triggers ``protection.install`` creates."""
    out = {}
    for sql in protection.INSTALL.get(vendor, []):
        found = _CREATE_TRIGGER.search(sql)
        if found and sql.lstrip().upper().startswith("CREATE TRIGGER"):
            out[found.group(1)] = (found.group(2), _norm(sql.replace("IF NOT EXISTS ", "")))
    return out


def expected_functions(schema: str = "public") -> dict[str, str]:
    out = {}
    for sql in protection.install_statements("postgresql", schema):
        found = _CREATE_FUNCTION.search(sql)
        if found:
            out[found.group(1)] = _norm(found.group(2))
    return out


def trigger_problems(connection=None) -> list[str]:
    connection = connection or default_connection
    if connection.vendor == "sqlite":
        return _sqlite_triggers(connection)
    if connection.vendor == "postgresql":
        return _postgres_triggers(connection)
    return [f"Datenbank {connection.vendor!r}: Schutz des Audit-Protokolls nicht prüfbar"]


def _sqlite_triggers(connection) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' "
                       "AND tbl_name IN (%s, %s)", [EVENTS, HEAD])
        present = {name: (table, _norm(sql or "")) for name, table, sql in cursor.fetchall()}
    problems = []
    for name, (table, definition) in expected_triggers("sqlite").items():
        if name not in present:
            problems.append(f"Trigger {name} auf {table} fehlt")
        elif present[name] != (table, definition):
            problems.append(f"Trigger {name} auf {table} ist verändert")
    return problems


def _postgres_triggers(connection) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT t.tgname, c.relname, t.tgenabled, p.proname, p.prosrc,
                      coalesce(array_to_string(p.proconfig, '|'), ''), p.prosecdef
               FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
               JOIN pg_proc p ON p.oid = t.tgfoid
               WHERE NOT t.tgisinternal AND c.relname IN (%s, %s)
                 AND c.relnamespace = to_regnamespace(current_schema())""", [EVENTS, HEAD])
        present = {name: (table, enabled, function, source, config, definer)
                   for name, table, enabled, function, source, config, definer
                   in cursor.fetchall()}
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
    functions = expected_functions(schema)
    problems = []
    for name, (table, definition) in expected_triggers("postgresql").items():
        if name not in present:
            problems.append(f"Trigger {name} auf {table} fehlt")
            continue
        got_table, enabled, function, source, config, definer = present[name]
        if got_table != table:
            problems.append(f"Trigger {name} liegt auf {got_table} statt {table}")
        # 'D': disabled; 'R': fires only in replica mode, which is as good as disabled here.
        if enabled in ("D", "R"):
            problems.append(f"Trigger {name} auf {table} ist abgeschaltet")
        if f"execute function {function}()" not in definition:
            problems.append(f"Trigger {name} ruft {function}() statt der Schutzfunktion")
        elif _norm(source) != functions.get(function):
            problems.append(f"Schutzfunktion {function}() ist verändert")
        # A function without a fixed search_path resolves its tables through the caller's path
        # (a temporary table of the same name would stand in for the trail).
        if protection.FUNCTION_SEARCH_PATH not in config.split("|"):
            problems.append(f"Schutzfunktion {function}() hat keinen festen search_path")
        if definer:
            problems.append(f"Schutzfunktion {function}() läuft als SECURITY DEFINER")
    return problems


def grant_problems(connection=None) -> list[str]:
    """PostgreSQL: nobody but the owner (and superusers, who bypass grants anyway) may change
    or delete audit events, and nobody but the owner may write the migration record."""
    connection = connection or default_connection
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname, COALESCE(r.rolname, 'PUBLIC'), a.privilege_type
               FROM pg_class c
               CROSS JOIN LATERAL aclexplode(COALESCE(c.relacl, acldefault('r', c.relowner))) a
               LEFT JOIN pg_roles r ON r.oid = a.grantee
               WHERE c.relname IN (%s, %s)
                 AND c.relnamespace = to_regnamespace(current_schema())
                 AND a.grantee <> c.relowner
                 AND (c.relname = %s AND a.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE')
                      OR c.relname = %s AND a.privilege_type IN
                         ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'))
               ORDER BY 1, 2, 3""",
            [EVENTS, "django_migrations", EVENTS, "django_migrations"])
        rows = cursor.fetchall()
    held: dict[tuple[str, str], list[str]] = {}
    for table, role, privilege in rows:
        held.setdefault((table, role), []).append(privilege)
    return [f"Rolle {role} darf {', '.join(privs)} auf {table} (grants.sql erneut ausführen)"
            for (table, role), privs in held.items()]


def problems(connection=None) -> list[str]:
    """Everything ``audit verify`` reports: triggers, then grants."""
    connection = connection or default_connection
    return trigger_problems(connection) + grant_problems(connection)


def own_privilege_problems(connection=None, role: str | None = None) -> list[str]:
    """PostgreSQL: tables this process's role (or ``role``) cannot use as it must (grants.sql
    missing), and rights on the trail it must not hold (unless it owns the tables, as in
    development)."""
    connection = connection or default_connection
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(%s, current_user::text)", [role])
        role = cursor.fetchone()[0]
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            return [f"Rolle {role} gibt es nicht"]
        cursor.execute(
            """SELECT c.relname, pg_get_userbyid(c.relowner) = %(r)s
                      OR (SELECT rolsuper FROM pg_roles WHERE rolname = %(r)s),
                      has_table_privilege(%(r)s, c.oid, 'SELECT'),
                      has_table_privilege(%(r)s, c.oid, 'INSERT'),
                      has_table_privilege(%(r)s, c.oid, 'UPDATE'),
                      has_table_privilege(%(r)s, c.oid, 'DELETE'),
                      has_table_privilege(%(r)s, c.oid, 'TRUNCATE')
               FROM pg_class c
               WHERE c.relkind IN ('r', 'p')
                 AND c.relnamespace = to_regnamespace(current_schema())""", {"r": role})
        rows = cursor.fetchall()
        cursor.execute(
            """SELECT count(*) FROM pg_class c WHERE c.relkind = 'S'
                 AND c.relnamespace = to_regnamespace(current_schema())
                 AND CASE WHEN c.relkind = 'S'
                          THEN NOT has_sequence_privilege(%s, c.oid, 'USAGE')
                          ELSE false END""", [role])
        sequences = cursor.fetchone()[0]
    missing, excess = [], []
    for table, owner, *flags in rows:
        has = dict(zip(("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"), flags, strict=True))
        needs = TRAIL_NEEDS.get(table) or READ_ONLY.get(table) or DATA_NEEDS
        if not all(has[p] for p in needs):
            missing.append(table)
        if not owner and any(has[p] for p in TRAIL_FORBIDDEN.get(table, ())):
            excess.append(table)
    out = []
    if missing:
        out.append(f"fehlende Rechte auf {len(missing)} Tabellen (z. B. {', '.join(missing[:3])});"
                   " grants.sql ausführen")
    if sequences:
        out.append(f"fehlende Rechte auf {sequences} Sequenzen; grants.sql ausführen")
    if excess:
        out.append("diese Rolle darf das Audit-Protokoll ändern oder löschen ("
                   + ", ".join(excess) + "); grants.sql ausführen")
    return out
