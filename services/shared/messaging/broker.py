"""How a process reaches RabbitMQ.

AMQP_URL names one node, or the nodes of a cluster separated by commas; a consumer connects
to the first and moves on to the next node at every reconnect, so when a node goes away it
resumes on another (the quorum queues live on all of them). A comma inside a password is
written %2C.

An amqps:// URL uses TLS. The broker's certificate is verified against AMQP_CA_FILE (default:
the system's CAs) and its host name; AMQP_CERT_FILE and AMQP_KEY_FILE add a client
certificate for brokers that require one. (pika's own amqps:// support sets no server name
and so cannot verify a host; these parameters always do.)

Every connection has bounds, so a node that freezes (a paused VM, blocked disk I/O) is noticed
rather than waited on: a client heartbeat (AMQP_HEARTBEAT_S, 30 s; pika's default would take
the server's 60 s. A handler runs on the connection's thread, so no heartbeat goes out while it
works: the interval must exceed the longest handling time, about 20 s for the largest banking
plan ingest accepts), a bound on opening a connection (AMQP_CONNECT_TIMEOUT_S: the TCP connect, and
the whole AMQP handshake, which a frozen node accepts at the TCP level and never answers) and
on a connection the broker blocks for a resource alarm (AMQP_BLOCKED_TIMEOUT_S). A value in a
node's URL (`?heartbeat=30`, `?socket_timeout=5`, ...) wins over these defaults."""

import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pika

from ..errors import ConfigError


class BrokerConfigError(ConfigError):
    pass


@dataclass(frozen=True)
class Bounds:
    heartbeat: int = 30
    connect_timeout: float = 10.0
    blocked_timeout: float = 60.0


def broker_parameters(urls: str, *, ca_file: Path | None = None, cert_file: Path | None = None,
                      key_file: Path | None = None, bounds: Bounds | None = None
                      ) -> list[pika.URLParameters]:
    """Connection parameters for each node in AMQP_URL, in order. Error messages never quote
    a URL: it holds a password."""
    bounds = bounds or Bounds()
    nodes = [url.strip() for url in urls.split(",") if url.strip()]
    if not nodes:
        raise BrokerConfigError("AMQP_URL names no broker")
    if key_file and not cert_file:
        raise BrokerConfigError("AMQP_KEY_FILE needs AMQP_CERT_FILE")
    found = []
    for position, url in enumerate(nodes, start=1):
        try:
            if urlsplit(url).scheme not in ("amqp", "amqps"):
                raise ValueError("scheme")
            parameters = pika.URLParameters(url)
        except Exception as e:
            raise BrokerConfigError(f"AMQP_URL node {position} is not an amqp:// or amqps:// "
                                    f"URL ({type(e).__name__})") from None
        if parameters.ssl_options is not None:
            parameters.ssl_options = pika.SSLOptions(_tls(ca_file, cert_file, key_file),
                                                     server_hostname=parameters.host)
        elif cert_file or ca_file:
            raise BrokerConfigError(f"AMQP_URL node {position} is amqp://, but TLS files are "
                                    "set: use amqps:// (the certificates would be ignored)")
        _bound(parameters, parse_qs(urlsplit(url).query), bounds)
        found.append(parameters)
    return found


def _bound(parameters: pika.URLParameters, query: dict[str, list[str]], bounds: Bounds) -> None:
    """The defaults of `bounds`, where the node's URL does not set its own."""
    if "heartbeat" not in query:
        parameters.heartbeat = bounds.heartbeat
    if "socket_timeout" not in query:
        parameters.socket_timeout = bounds.connect_timeout
    if "stack_timeout" not in query:
        parameters.stack_timeout = bounds.connect_timeout
    if "blocked_connection_timeout" not in query:
        parameters.blocked_connection_timeout = bounds.blocked_timeout
    if "connection_attempts" not in query:
        parameters.connection_attempts = 1  # the next node is the next attempt


def _tls(ca_file: Path | None, cert_file: Path | None, key_file: Path | None) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as e:
        raise BrokerConfigError(f"AMQP_CA_FILE cannot be read ({type(e).__name__})") from None
    if cert_file:
        try:
            context.load_cert_chain(cert_file, key_file)
        except (OSError, ssl.SSLError) as e:
            raise BrokerConfigError("AMQP_CERT_FILE / AMQP_KEY_FILE cannot be read "
                                    f"({type(e).__name__})") from None
    return context


def node_of(parameters: pika.URLParameters) -> str:
    """host:port, for logs (no credentials)."""
    return f"{parameters.host}:{parameters.port}"
