"""SQLite: the application's own connection may not take the audit trail's protections apart
(issue 16 follow-up, attack 5).

On SQLite there are no database roles: the connection the application runs with could otherwise
``DROP TRIGGER`` the append-only triggers (``protection.py``), delete rows, re-hash and move the
head. Every SQLite connection Django opens therefore gets an *authorizer* (``sqlite3``'s
``Connection.set_authorizer``): SQLite asks it while it compiles each statement, and a refusal
fails the statement with ``not authorized`` before it runs. Refused, on the audit tables
(``audit_auditevent``, ``audit_audithead``, in any attached schema):

* ``DROP TRIGGER`` and ``CREATE [TEMP] TRIGGER`` (removing the guards, or adding one that
  swallows inserts), ``DROP TABLE``, ``ALTER TABLE``;
* ``DELETE`` on either table, ``UPDATE`` of the events (the head moves forward through its
  trigger);

and anywhere ``PRAGMA writable_schema`` (editing ``sqlite_master`` by hand drops triggers
without ``DROP TRIGGER``). Every connection also runs with ``PRAGMA recursive_triggers = ON``
(and may not switch it off): an ``INSERT OR REPLACE`` that collides with an audit row deletes
that row without a ``DELETE`` statement, and only with recursive triggers does SQLite fire the
delete triggers that refuse it.

Only schema maintenance opens the guard: the ``migrate`` and ``flush`` commands (overridden in
this app, ``management/commands``) run inside ``maintenance()``. What this cannot stop: code
running as the service user that opens the database file with a connection of its own (or edits
the file) - the file is writable by that user. Against that the signed checkpoints outside the
application's reach (``checkpoint.py``, ``docs/audit.md``) detect the rewrite.
"""

import sqlite3
import threading
from contextlib import contextmanager

PROTECTED_TABLES = frozenset({"audit_auditevent", "audit_audithead"})

_lock = threading.Lock()
_open = 0


@contextmanager
def maintenance():
    """Schema maintenance (migrate, flush, a test emptying its database): the guard is open for
    this process while the block runs."""
    global _open
    with _lock:
        _open += 1
    try:
        yield
    finally:
        with _lock:
            _open -= 1


def is_open() -> bool:
    return _open > 0


def _protected(name) -> bool:
    return (name or "").lower() in PROTECTED_TABLES


def authorizer(action, arg1, arg2, dbname, source):
    """sqlite3 authorizer callback: SQLITE_DENY for what takes the trail apart."""
    if _open:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() == "writable_schema":
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() == "recursive_triggers" \
            and arg2 is not None:
        return sqlite3.SQLITE_DENY  # switching it off would let REPLACE delete again
    if action in (sqlite3.SQLITE_DROP_TRIGGER, sqlite3.SQLITE_DROP_TEMP_TRIGGER,
                  sqlite3.SQLITE_CREATE_TRIGGER, sqlite3.SQLITE_CREATE_TEMP_TRIGGER):
        return sqlite3.SQLITE_DENY if _protected(arg2) or (arg1 or "").lower().startswith(
            ("audit_event_", "audit_head_")) else sqlite3.SQLITE_OK
    if action in (sqlite3.SQLITE_DROP_TABLE, sqlite3.SQLITE_DROP_TEMP_TABLE,
                  sqlite3.SQLITE_DELETE):
        return sqlite3.SQLITE_DENY if _protected(arg1) else sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_ALTER_TABLE:
        return sqlite3.SQLITE_DENY if _protected(arg2) else sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_UPDATE and (arg1 or "").lower() == "audit_auditevent":
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def install(sender=None, connection=None, **kwargs):
    """``connection_created`` receiver: every SQLite connection gets the authorizer."""
    if connection is not None and connection.vendor == "sqlite":
        # "INSERT OR REPLACE" deletes the conflicting row without a DELETE statement (the
        # authorizer never sees one) and, by default, without firing DELETE triggers; with
        # recursive triggers on, the append-only triggers fire for those deletions too.
        connection.connection.execute("PRAGMA recursive_triggers = ON")
        connection.connection.set_authorizer(authorizer)
