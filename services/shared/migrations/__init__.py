"""The database schema of every store (ingest's ledger, the rules' history, notify's ledger
and archive), as one Alembic migration history (`versions/`).

`migrate(db)` brings a database to this release's schema: from empty, from any earlier
revision, or from a database the first release made with its own CREATE TABLE statements
(before there were migrations: it is recognised by its tables, stamped as revision 0001 and
upgraded from there). On PostgreSQL an advisory lock makes services that start together
migrate one after the other. `covenant db upgrade|current|history` runs the same from the
command line; with DATABASE_MIGRATE=false the services only check that the schema is current
and refuse to start otherwise.
"""

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.pool import StaticPool

from ..errors import ConfigError

HERE = Path(__file__).parent
FIRST_RELEASE = "0001"
# tables the first release created without migrations: any of them means "revision 0001"
FIRST_RELEASE_TABLES = ("ingest_submissions", "rules_assessments", "notify_events")
_LOCK_KEY = 0x0C0E_2017  # pg_advisory_lock key: one migration at a time per database


class SchemaOutdated(ConfigError):
    """The database's schema is not this release's, and the service may not migrate it."""


def script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str:
    revision = script().get_current_head()
    assert revision is not None
    return revision


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    return config


@contextmanager
def _file_lock(db: Any) -> Iterator[None]:
    """For a SQLite file: one process migrates at a time (services sharing the file start
    together); the others find the schema current when their turn comes."""
    path = db.url.removeprefix("sqlite://").removeprefix("/")
    if db.dialect != "sqlite" or not path:
        yield
        return
    with open(f"{path}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def _connection(db: Any) -> Iterator[sa.Connection]:
    """A SQLAlchemy connection to the database `db` (services/shared/db.py) uses: the same
    connection for SQLite (an in-memory database exists only there), a new one for
    PostgreSQL. Held alone: an advisory lock on PostgreSQL, a file lock on SQLite."""
    if db.dialect == "sqlite":
        with _file_lock(db):
            engine = sa.create_engine("sqlite://", creator=lambda: db.raw_connection(),
                                      poolclass=StaticPool)
            with engine.connect() as connection:
                yield connection
        return
    url = sa.engine.make_url(db.url).set(drivername="postgresql+psycopg")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
            connection.commit()
            try:
                yield connection
            finally:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                connection.commit()
    finally:
        engine.dispose()


def current(connection: sa.Connection) -> str | None:
    """The revision the database is at; FIRST_RELEASE for a first-release database; None
    for an empty one."""
    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is None and set(FIRST_RELEASE_TABLES) & set(sa.inspect(connection)
                                                            .get_table_names()):
        return FIRST_RELEASE
    return revision


def revision_of(db: Any) -> str | None:
    with _connection(db) as connection:
        return current(connection)


def migrate(db: Any, revision: str = "head") -> tuple[str | None, str]:
    """Upgrades the database to `revision`; returns (from, to)."""
    with _connection(db) as connection:
        before = current(connection)
        config = _config()
        config.attributes["connection"] = connection
        if before == FIRST_RELEASE and MigrationContext.configure(
                connection).get_current_revision() is None:
            command.stamp(config, FIRST_RELEASE)
        command.upgrade(config, revision)
        connection.commit()
        return before, current(connection) or ""


def require_current(db: Any) -> None:
    """Raises SchemaOutdated unless the database is at this release's head."""
    at, wanted = revision_of(db), head()
    if at != wanted:
        raise SchemaOutdated(
            f"DATABASE_URL: the database schema is at {at or 'nothing (empty)'}, this release "
            f"needs {wanted}: run `covenant db upgrade` (or set DATABASE_MIGRATE=true)")
