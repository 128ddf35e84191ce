"""Database connections by URL: SQLite by default, PostgreSQL when configured.

`sqlite:///relative/path.db`, `sqlite:////absolute/path.db` and `sqlite://` (in memory) open
SQLite; `postgresql://user@host:5432/db` opens PostgreSQL through psycopg 3. Both speak the
same SQL here: stores write plain `?` placeholders and `Database.sql` adapts them.
"""

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class Database:
    """One connection, serialised by a lock (each service handles one message at a time)."""

    def __init__(self, url: str):
        self.url = url
        scheme = urlsplit(url).scheme
        self._lock = threading.Lock()
        if scheme == "sqlite":
            self.dialect = "sqlite"
            self._conn: Any = _open_sqlite(url)
        elif scheme in ("postgresql", "postgres"):
            import psycopg  # imported here: only needed when PostgreSQL is configured

            self.dialect = "postgresql"
            self._conn = psycopg.connect(url, autocommit=False)
        else:
            raise ValueError(f"unsupported database URL scheme '{scheme}' (sqlite or postgresql)")

    def sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.dialect == "postgresql" else statement

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor inside a transaction, committed on success and rolled back on error."""
        with self._lock:
            cursor = self._conn.cursor()
            try:
                yield cursor
                self._conn.commit()
            except BaseException:
                self._conn.rollback()
                raise
            finally:
                cursor.close()

    def close(self) -> None:
        self._conn.close()


def _open_sqlite(url: str) -> sqlite3.Connection:
    path = url.removeprefix("sqlite://").removeprefix("/")
    if not path:
        return sqlite3.connect(":memory:", check_same_thread=False)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn
