import json
import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry

from services.shared.metrics import ServiceMetrics
from services.shared.operations import serve_operations


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@pytest.fixture
def endpoint():
    registry = CollectorRegistry()
    ServiceMetrics.create("rules", registry).received.inc()
    state = {"broker": True}
    server = serve_operations(0, registry, {"broker": lambda: state["broker"],
                                            "rules": lambda: True}, host="127.0.0.1")
    yield server.server_address[1], state
    server.shutdown()


def test_metrics_liveness_and_readiness_share_the_metrics_port(endpoint):
    port, _ = endpoint
    status, body = get(port, "/metrics")
    assert status == 200 and b'covenant_messages_received_total{service="rules"} 1.0' in body
    assert get(port, "/healthz") == (200, b"ok\n")
    status, body = get(port, "/readyz")
    assert (status, json.loads(body)) == (200, {"broker": True, "rules": True})


def test_readiness_fails_while_the_broker_is_away_but_liveness_holds(endpoint):
    port, state = endpoint
    state["broker"] = False
    status, body = get(port, "/readyz")
    assert (status, json.loads(body)) == (503, {"broker": False, "rules": True})
    assert get(port, "/healthz")[0] == 200


def test_a_check_that_raises_means_not_ready():
    registry = CollectorRegistry()

    def boom() -> bool:
        raise RuntimeError("boom")

    server = serve_operations(0, registry, {"x": boom}, host="127.0.0.1")
    try:
        assert get(server.server_address[1], "/readyz") == (503, b'{"x": false}')
    finally:
        server.shutdown()


def test_every_log_line_is_json_also_librarys_lines_and_uncaught_errors():
    import io
    import json as json_
    import logging
    import sys
    import threading

    from services.shared.logging import configure_logging, describe

    stream = io.StringIO()
    hooks = sys.excepthook, threading.excepthook
    try:
        configure_logging("INFO", json=True, stream=stream)
        logging.getLogger("pika.adapters.utils").warning("Socket closed %s", "amqp://u:pw@h/")
        logging.getLogger("pika").info("below WARNING: not logged")

        def crash():
            data = "".join(["Voorbeeld", " Mode"])  # an exception's text may quote data
            raise KeyError(data)

        thread = threading.Thread(target=crash)
        thread.start()
        thread.join()
    finally:
        sys.excepthook, threading.excepthook = hooks
        logging.getLogger().handlers.clear()
    lines = stream.getvalue().splitlines()
    records = [json_.loads(line) for line in lines]  # each line one JSON object
    assert [r["event"] for r in records] == ["Socket closed amqp://***@h/", "uncaught exception"]
    assert records[0]["logger"] == "pika.adapters.utils" and records[0]["level"] == "warning"
    assert records[1]["reason"] == "KeyError" and "in crash" in records[1]["traceback"]
    assert "Voorbeeld" not in stream.getvalue()
    assert describe(ConnectionError()) == "ConnectionError"  # never an empty reason


def test_logging_set_up_lazily_imports_structlog_at_the_first_line_and_logs_it_as_json():
    """A command that may log nothing (`covenant check`) does not import structlog; its first
    line, by a module's logger or by a library through the standard library, sets it up."""
    import subprocess
    import sys

    probe = ("import io, json, logging, sys\n"
             "from services.shared.logging import configure_logging, get_logger\n"
             "stream = io.StringIO()\n"
             "configure_logging('WARNING', json=True, stream=stream, lazily=True)\n"
             "log = get_logger()\n"
             "before = 'structlog' in sys.modules\n"
             "{}\n"
             "log.info('below the level')\n"
             "log.warning('second', n=2)\n"
             "lines = stream.getvalue().splitlines()\n"
             "print(before, [json.loads(line)['event'] for line in lines])\n")
    for first, event in (("log.warning('first', n=1)", "first"),
                         ("logging.getLogger('pika').warning('first %s', 'x')", "first x")):
        done = subprocess.run([sys.executable, "-c", probe.format(first)],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"False {[event, 'second']}"
