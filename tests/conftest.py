"""Shared fixtures. Real services only: RabbitMQ at 127.0.0.1:5672 and PostgreSQL at
127.0.0.1:5432 when present. Without them those tests are skipped with a loud reason, except
under CI=true or REQUIRE_BROKER=1, where a missing service fails the run."""

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
import structlog
from aiosmtpd.controller import Controller

from services.shared.db import Database
from tests.broker.amqp import vhost_of
from tests.broker.nodes import Node, make_nodes
from tests.broker.nodes import available as nodes_available
from tests.broker.nodes import remove as remove_nodes
from tests.postgres import scratch_schema
from tests.support import Inbox, free_port, missing

BROKER_HOST = os.environ.get("TEST_BROKER_HOST", "127.0.0.1")
BROKER_PORT = int(os.environ.get("TEST_BROKER_PORT", "5672"))
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


_FIGURES: list[str] = []


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    """A copy of the bundled rules folder (rule files, covenants, reference data) to edit."""
    copy = tmp_path / "rules"
    shutil.copytree(Path(__file__).resolve().parents[1] / "rules", copy)
    return copy


@pytest.fixture
def report_figures(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Records a suite's figures (sent, assessed, lost, ...); they are printed together at the
    end of the run, so CI's output shows them too."""
    return lambda text: _FIGURES.append(f"{request.node.name}:\n{text.strip()}")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist a worker hands its figures to the controller, which prints them."""
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["figures"] = json.dumps(_FIGURES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    _FIGURES.extend(json.loads(getattr(node, "workeroutput", {}).get("figures", "[]")))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _FIGURES:
        terminalreporter.section("figures")
        for text in _FIGURES:
            terminalreporter.write_line(text)


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="session")
def broker() -> str:
    """Checks once that RabbitMQ answers and that rabbitmqctl can make vhosts."""
    try:
        pika.BlockingConnection(pika.ConnectionParameters(
            BROKER_HOST, BROKER_PORT, connection_attempts=1, socket_timeout=3)).close()
    except pika.exceptions.AMQPError as e:
        missing("RabbitMQ", f"{BROKER_HOST}:{BROKER_PORT}: {type(e).__name__}", "REQUIRE_BROKER")
    if not shutil.which("rabbitmqctl"):
        missing("rabbitmqctl", "needed to create a vhost per test", "REQUIRE_BROKER")
    return f"{BROKER_HOST}:{BROKER_PORT}"


def _ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def amqp_url(broker: str) -> Iterator[str]:
    """A fresh vhost for this test, deleted afterwards."""
    vhost = f"test-{uuid.uuid4().hex[:12]}"
    _ctl("add_vhost", vhost)
    _ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    try:
        yield f"amqp://guest:guest@{broker}/{vhost}?heartbeat=30"
    finally:
        _ctl("delete_vhost", vhost)


@pytest.fixture
def broker_user(amqp_url: str) -> Iterator[Callable[[str], tuple[str, str, str]]]:
    """Makes broker users with a random password, allowed on the test's vhost and deleted
    afterwards: make(prefix) -> (name, password, the test's AMQP URL as that user)."""
    made: list[str] = []

    def make(prefix: str) -> tuple[str, str, str]:
        name, password = f"{prefix}-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
        _ctl("add_user", name, password)
        made.append(name)
        _ctl("set_permissions", "-p", vhost_of(amqp_url), name, ".*", ".*", ".*")
        return name, password, amqp_url.replace("guest:guest@", f"{name}:{password}@")

    try:
        yield make
    finally:
        for name in made:
            _ctl("delete_user", name)


@pytest.fixture
def rabbit_nodes(tmp_path: Path) -> Iterator[Callable[..., list[Node]]]:
    """Makes private RabbitMQ nodes (tests/broker/nodes.py), not started: make(count,
    config="", tls=False). All are stopped and removed afterwards."""
    if not nodes_available():
        missing("RabbitMQ's server scripts", "/usr/lib/rabbitmq/bin", "REQUIRE_BROKER")
    made: list[Node] = []

    def make(count: int, config: str = "", tls: bool = False) -> list[Node]:
        made.extend(make_nodes(tmp_path / f"rabbit{len(made)}", count, config, tls))
        return made[-count:]

    try:
        yield make
    finally:
        remove_nodes(made)


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server (aiosmtpd) on a free port, keeping what it receives."""
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """Each test that takes it runs twice: on SQLite (the default) and on PostgreSQL, there in
    a schema of its own that is dropped afterwards (the server outlives test runs)."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path}/test.sqlite3")
        yield db
        db.close()
        return
    db = Database(request.getfixturevalue("postgres_schema"))
    try:
        yield db
    finally:
        db.close()


@pytest.fixture
def postgres_schema(postgres_url: str) -> Iterator[str]:
    """A DATABASE_URL for a PostgreSQL schema of this test's own, dropped afterwards (the
    server outlives test runs)."""
    with scratch_schema(postgres_url, "test") as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    try:
        import psycopg

        psycopg.connect(TEST_DATABASE_URL, connect_timeout=3).close()
    except Exception as e:
        missing("PostgreSQL", f"{TEST_DATABASE_URL}: {type(e).__name__}", "REQUIRE_BROKER")
    return TEST_DATABASE_URL


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Selenium (nothing downloaded by Selenium itself)."""
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        missing("Debian's chromium and chromium-driver", "apt-get install chromium "
                "chromium-driver", "REQUIRE_BROWSER")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=760,1400",
                 "--disable-dev-shm-usage", "--hide-scrollbars"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()
