"""Database connections by URL: SQLite by default, PostgreSQL when configured.

`sqlite:///relative/path.db`, `sqlite:////absolute/path.db` and `sqlite://` (in memory) open
SQLite; `postgresql://user@host:5432/db` opens PostgreSQL through psycopg 3. Both speak the
same SQL here: stores write plain `?` placeholders and `Database.sql` adapts them.

A database that goes away delays work; it never fails it. The connection is opened on first
use and opened again after the server dropped it (a restart, a fail-over, a network cut): a
transaction that fails for such a reason raises `DatabaseUnavailable`, which the message
handlers' Processor answers by holding the message and handling it again later, without
spending one of its deliveries (messaging/handling.py). Errors of the statement itself (a
constraint, a syntax error) raise as they are.
"""

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError, Unavailable

CONNECT_TIMEOUT_SECONDS = 5  # a server that does not answer is unavailable, not slow
PROBE_LOCK_SECONDS = 1.0  # readiness does not wait longer for a transaction in progress
# SQLite: how long a transaction waits for another process's to end before the database counts
# as unavailable, and the pauses between its attempts (doubling from the first to the longest)
SQLITE_WAIT_SECONDS = 30.0
SQLITE_PAUSES = (0.0002, 0.005)


class DatabaseUnavailable(Unavailable):
    """The database cannot be reached or dropped the connection: try again later."""


class Database:
    """One connection, serialised by a lock (each service handles one message at a time),
    reopened after the server dropped it."""

    def __init__(self, url: str, migrate: bool = True):
        """`migrate`: bring the schema to this release's on first use (migrations/), or only
        check that it is (False: the deployment runs `covenant db upgrade` itself)."""
        self.url = url
        self.migrate = migrate
        scheme = urlsplit(url).scheme
        self._lock = threading.Lock()
        self._schema_ready = False
        self._conn: Any = None
        if scheme == "sqlite":
            self.dialect = "sqlite"
            self._conn = _open_sqlite(url)  # in memory must stay one connection: opened now
        elif scheme in ("postgresql", "postgres"):
            import psycopg  # imported here: only needed when PostgreSQL is configured

            self.dialect = "postgresql"
            self._psycopg = psycopg
            self._connection()  # a wrong URL or password shows at start, not at first use
        else:
            raise ConfigError(f"DATABASE_URL: unsupported scheme '{scheme}' (sqlite:///path or "
                              "postgresql://...)")

    def ensure_schema(self) -> None:
        """Every store calls this before its first statement: the schema is migrated to this
        release's (or checked to be, without `migrate`) once per Database."""
        if self._schema_ready:
            return
        from .migrations import migrate, require_current  # Alembic only when a store needs it

        with self._lock:
            if self.migrate:
                migrate(self)
            else:
                require_current(self)
            self._schema_ready = True

    def raw_connection(self) -> Any:
        """The SQLite connection, for the migrations (an in-memory database has only it)."""
        return self._conn

    def sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.dialect == "postgresql" else statement

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor inside a transaction, committed on success and rolled back on error.
        Raises DatabaseUnavailable when the server cannot be reached or dropped the
        connection (the transaction did not happen)."""
        with self._lock:
            conn = self._connection()
            try:
                cursor = conn.cursor()
            except Exception as e:
                if self._is_unavailable(e):
                    raise self._unavailable(e) from e
                raise
            try:
                if self.dialect == "sqlite":
                    # the write lock from the start: no statement of the transaction then
                    # waits for another writer. Read-only transactions take it too; every one
                    # here reads what it needs at once, so it is held briefly
                    _when_free(conn, "BEGIN IMMEDIATE")
                yield cursor
                conn.commit()
            except BaseException as e:
                self._rollback(conn)
                if isinstance(e, Exception) and self._is_unavailable(e):
                    raise self._unavailable(e) from e
                raise
            finally:
                self._close_quietly(cursor)

    def reachable(self) -> bool:
        """For readiness: the server answers a trivial query now. A transaction in progress
        counts as an answer."""
        if not self._lock.acquire(timeout=PROBE_LOCK_SECONDS):
            return True
        try:
            conn = self._connection()
            cursor = conn.cursor()
            try:
                cursor.execute("SELECT 1")
                cursor.fetchall()
            finally:
                self._close_quietly(cursor)
            conn.rollback()
            return True
        except Exception as e:
            if self._is_unavailable(e):
                self._forget()
                return False
            raise
        finally:
            self._lock.release()

    def close(self) -> None:
        if self._conn is not None:
            self._close_quietly(self._conn)
            self._conn = None

    # --- connection state (called with the lock held) ----------------------------------------

    def _connection(self) -> Any:
        if self._conn is None:
            try:
                self._conn = self._psycopg.connect(self.url, autocommit=False,
                                                   connect_timeout=CONNECT_TIMEOUT_SECONDS)
            except self._psycopg.OperationalError as e:
                raise DatabaseUnavailable(f"database unavailable: {type(e).__name__}") from e
        return self._conn

    def _is_unavailable(self, error: Exception) -> bool:
        if self.dialect == "sqlite":  # the file is locked by another writer for too long
            return isinstance(error, sqlite3.OperationalError) and (
                "locked" in str(error) or "busy" in str(error))
        return isinstance(error, self._psycopg.OperationalError | self._psycopg.InterfaceError) \
            or bool(self._conn is not None and self._conn.closed)

    def _unavailable(self, error: Exception) -> DatabaseUnavailable:
        if self.dialect == "postgresql":
            self._forget()
        return DatabaseUnavailable(f"database unavailable: {type(error).__name__}")

    def _forget(self) -> None:
        """Drops a PostgreSQL connection that the server closed: the next use opens a new one."""
        if self.dialect == "postgresql" and self._conn is not None:
            self._close_quietly(self._conn)
            self._conn = None

    def _rollback(self, conn: Any) -> None:
        try:
            conn.rollback()
        except Exception:  # the connection is gone: nothing to roll back
            self._forget()

    @staticmethod
    def _close_quietly(thing: Any) -> None:
        with suppress(Exception):
            thing.close()


def _when_free(conn: sqlite3.Connection, statement: str) -> None:
    """Runs the statement once no other connection's lock stands in its way, trying again in
    pauses from SQLITE_PAUSES' first to its longest, doubling, for SQLITE_WAIT_SECONDS at most.
    SQLite's own wait sleeps 1, 2, 5, 10 and up to 100 ms between its tries whatever the other
    holds the lock for: with the services writing one file, notify slept half of every second
    while the others committed in about a millisecond, and the cores stood idle while it
    caught up."""
    deadline = time.monotonic() + SQLITE_WAIT_SECONDS
    pause, longest = SQLITE_PAUSES
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                conn.execute(statement)
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(2 * pause, longest)
    finally:  # for what can still be busy under the lock (a checkpoint's readers): wait
        conn.execute(f"PRAGMA busy_timeout = {int(SQLITE_WAIT_SECONDS * 1000)}")


def _open_sqlite(url: str) -> sqlite3.Connection:
    path = url.removeprefix("sqlite://").removeprefix("/")
    if not path:
        return sqlite3.connect(":memory:", check_same_thread=False)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, timeout=SQLITE_WAIT_SECONDS)
    # another connection's lock makes this fail at once, without SQLite's wait
    _when_free(conn, "PRAGMA journal_mode=WAL")
    return conn
