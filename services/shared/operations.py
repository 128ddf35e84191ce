"""The operations endpoint of every service, on its metrics port:

- `/metrics`: Prometheus exposition of the service's registry;
- `/healthz`: 200 while the process serves requests (liveness);
- `/readyz`: 200 when every readiness check passes, else 503, with a JSON body naming each
  check (readiness: the broker consumer is consuming, the database answers; for rules, a
  rule set is in force).
"""

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from .errors import ConfigError

Checks = dict[str, Callable[[], bool]]


def serve_operations(port: int, registry: CollectorRegistry, checks: Checks,
                     host: str = "0.0.0.0") -> ThreadingHTTPServer:
    """Starts the endpoint in a daemon thread; returns the server (its port, for tests)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._reply(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif self.path == "/healthz":
                self._reply(200, b"ok\n", "text/plain")
            elif self.path == "/readyz":
                results = {name: _passes(check) for name, check in checks.items()}
                status = 200 if all(results.values()) else 503
                self._reply(status, json.dumps(results).encode(), "application/json")
            else:
                self._reply(404, b"not found\n", "text/plain")

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # probes are not worth a log line
            pass

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as e:
        raise ConfigError(f"METRICS_PORT: cannot listen on port {port} ({e.strerror})") \
            from None
    threading.Thread(target=server.serve_forever, daemon=True, name="operations").start()
    return server


def _passes(check: Callable[[], bool]) -> bool:
    try:
        return bool(check())
    except Exception:  # a failing check means not ready, never a crashed probe
        return False
