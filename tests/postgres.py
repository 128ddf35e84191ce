"""A private PostgreSQL server for tests that stop and start the database (the shared one at
127.0.0.1:5432 must stay up: CI and other tests use it). Made with the server's own initdb and
pg_ctl in a folder of the test's; as root they run as the `postgres` user, as PostgreSQL
refuses to run as root."""

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support import free_port

_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    return next((str(d / name) for d in _BIN_DIRS if (d / name).exists()), None)


@contextlib.contextmanager
def scratch_schema(server_url: str, prefix: str) -> Iterator[str]:
    """A DATABASE_URL for a fresh schema of its own on a server that outlives the caller (the
    shared one), dropped afterwards."""
    import psycopg

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            yield f"{server_url}?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def available() -> bool:
    return bool(_tool("initdb") and _tool("pg_ctl"))


@dataclass
class PrivatePostgres:
    folder: Path
    port: int

    @classmethod
    def create(cls) -> "PrivatePostgres":
        folder = Path(tempfile.mkdtemp(prefix="covenant-pg-"))
        server = cls(folder, free_port())
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
        server._run("initdb", "-D", str(server.data), "-A", "trust", "-U", "postgres",
                    "--no-sync", "-E", "UTF8")
        return server

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w",
                  "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                  "-c fsync=off", "start")

    def stop(self, mode: str = "fast") -> None:
        """`immediate` is a crash (no shutdown checkpoint, clients cut off); `fast` a clean
        stop that disconnects clients."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        subprocess.run([_tool("pg_ctl") or "pg_ctl", "-D", str(self.data), "-m", "immediate",
                        "stop"], capture_output=True, timeout=60, **self._as_owner())
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, tool: str, *args: str) -> None:
        path = _tool(tool)
        assert path, f"{tool} not found"
        subprocess.run([path, *args], check=True, capture_output=True, timeout=120,
                       **self._as_owner())

    @staticmethod
    def _as_owner() -> dict:
        return {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}
