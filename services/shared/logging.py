"""structlog set-up, called once from a composition root.

JSON lines when stdout is not a terminal, readable console output otherwise. Context such as
the message and correlation ids is bound per message; plan contents, e-mail addresses and
secrets are never passed to a logger, and `redact_urls` masks credentials in any URL value.

Every line is one JSON object, also what libraries log through the standard library (pika,
Alembic) and an uncaught exception in any thread: its traceback is one string field, so a log
shipper never splits it into lines of its own.
"""

import logging
import re
import sys
import threading
import traceback
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog

_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


def redact_credentials(text: str) -> str:
    return _CREDENTIALS.sub(r"\g<scheme>***@", text)


def _redact_urls(_: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    return {k: redact_credentials(v) if isinstance(v, str) else v for k, v in event.items()}


LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def describe(error: BaseException) -> str:
    """An exception in words for a log's `reason`: its type, and its text when it has one
    (some of pika's have none), credentials masked."""
    text = redact_credentials(" ".join(str(error).split()))[:300]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def configure_logging(level: str = "INFO", *, json: bool | None = None,
                      stream: TextIO = sys.stdout) -> None:
    as_json = not stream.isatty() if json is None else json
    renderer: Any = structlog.processors.JSONRenderer() if as_json else \
        structlog.dev.ConsoleRenderer()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, _redact_urls, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    # pika and Alembic log through the standard library (connection details, never
    # payloads): the same JSON lines on the same stream, from WARNING up
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _redact_urls,
                    structlog.processors.format_exc_info, renderer]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    sys.excepthook = _log_uncaught
    threading.excepthook = lambda args: _log_uncaught(
        args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)


def _log_uncaught(kind: type[BaseException], error: BaseException, trace: Any) -> None:
    """The exception's type and where it was raised; not its text, which may quote data."""
    structlog.get_logger().critical("uncaught exception", reason=kind.__name__,
                                    traceback="".join(traceback.format_tb(trace)))
