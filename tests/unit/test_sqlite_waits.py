"""SQLite, the one-machine default: several processes write one file. A transaction waits for
another's in short pauses, not in SQLite's own sleeps of up to 100 ms, and a file locked for
longer than SQLITE_WAIT_SECONDS makes the database unavailable (the message is held), never a
failed message."""

import sqlite3
import threading

import pytest

from services.shared import db as dbmodule
from services.shared.db import Database, DatabaseUnavailable


def _table(url: str) -> Database:
    database = Database(url, migrate=False)
    with database.transaction() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
    return database


def test_a_writer_waits_for_another_in_short_pauses_then_writes(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/one.db"
    first, second = _table(url), Database(url, migrate=False)
    pauses: list[float] = []
    held, waited = threading.Event(), threading.Event()
    sleep = dbmodule.time.sleep

    def counted(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 12:
            waited.set()
        sleep(seconds)

    monkeypatch.setattr(dbmodule.time, "sleep", counted)

    def holder() -> None:
        with first.transaction() as cur:  # the other process's transaction
            cur.execute("INSERT INTO t VALUES (1)")
            held.set()
            assert waited.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(10)
    with second.transaction() as cur:
        cur.execute("INSERT INTO t VALUES (2)")
    thread.join()
    assert len(pauses) >= 12 and max(pauses) <= dbmodule.SQLITE_PAUSES[1]
    assert pauses[:3] == [0.0002, 0.0004, 0.0008]
    with second.transaction() as cur:
        cur.execute("SELECT n FROM t ORDER BY n")
        assert cur.fetchall() == [(1,), (2,)]


def test_a_file_locked_longer_than_the_wait_makes_the_database_unavailable(
        tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/one.db"
    first, second = _table(url), Database(url, migrate=False)
    monkeypatch.setattr(dbmodule, "SQLITE_WAIT_SECONDS", 0.05)
    with first.transaction() as cur:
        cur.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(DatabaseUnavailable), second.transaction() as other:
            other.execute("INSERT INTO t VALUES (2)")
    with second.transaction() as cur:  # free again: it writes
        cur.execute("INSERT INTO t VALUES (3)")
        cur.execute("SELECT n FROM t ORDER BY n")
        assert cur.fetchall() == [(1,), (3,)]


def test_a_new_file_is_opened_while_another_connection_writes_it(tmp_path, monkeypatch):
    """Switching a new file to WAL fails at once, without SQLite's own wait, while another
    connection writes it: services starting together on a new file met this."""
    path = tmp_path / "new.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE t (n INTEGER)")
    pauses: list[float] = []
    sleep = dbmodule.time.sleep

    def counted(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 5:
            other.execute("COMMIT")  # the other connection's transaction ends
        sleep(seconds)

    monkeypatch.setattr(dbmodule.time, "sleep", counted)
    database = Database(f"sqlite:///{path}", migrate=False)
    assert len(pauses) == 5
    with database.transaction() as cur:
        cur.execute("PRAGMA journal_mode")
        assert cur.fetchone() == ("wal",)
        cur.execute("INSERT INTO t VALUES (1)")
