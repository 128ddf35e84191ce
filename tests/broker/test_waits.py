"""The wait for services to start says why one did not, in its own words."""

import subprocess
import sys
import time

import pytest

from tests.broker.amqp import wait_consuming
from tests.support import wait_for

pytestmark = pytest.mark.broker


def _process(tmp_path, name: str, code: str):
    with (tmp_path / f"{name}.log").open("w") as log:
        return subprocess.Popen([sys.executable, "-c", code], stdout=log,
                                stderr=subprocess.STDOUT)


def test_a_service_that_exits_while_starting_fails_the_wait_at_once_with_its_log(
        amqp_url, tmp_path):
    services = {"rules": _process(tmp_path, "rules",
                                  "print('Address already in use'); raise SystemExit(3)")}
    started = time.monotonic()
    with pytest.raises(AssertionError) as failed:
        wait_consuming(amqp_url, services, tmp_path, timeout=60)
    assert time.monotonic() - started < 30
    assert str(failed.value).splitlines() == [
        "a service exited while starting",
        "rules: exited with code 3; its log ends:",
        "Address already in use"]


def test_a_service_not_consuming_at_the_deadline_is_named_with_its_log(amqp_url, tmp_path):
    services = {"ingest": _process(tmp_path, "ingest",
                                   "import time; print('connecting', flush=True); "
                                   "time.sleep(60)")}
    try:
        wait_for(lambda: "connecting" in (tmp_path / "ingest.log").read_text(), what="its log")
        with pytest.raises(AssertionError) as failed:
            wait_consuming(amqp_url, services, tmp_path, timeout=1)
    finally:
        services["ingest"].kill()
        services["ingest"].wait()
    assert str(failed.value).splitlines() == [
        "timed out after 1s waiting for consumers of ['ingest']",
        "ingest: still running; its log ends:",
        "connecting"]
