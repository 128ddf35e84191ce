"""structlog set-up, called once from a composition root.

JSON lines when stdout is not a terminal, readable console output otherwise. Context such as
the message and correlation ids is bound per message; plan contents, e-mail addresses and
secrets are never passed to a logger, and `redact_urls` masks credentials in any URL value.
"""

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog

_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


def redact_credentials(text: str) -> str:
    return _CREDENTIALS.sub(r"\g<scheme>***@", text)


def _redact_urls(_: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    return {k: redact_credentials(v) if isinstance(v, str) else v for k, v in event.items()}


def configure_logging(level: str = "INFO", *, json: bool | None = None,
                      stream: TextIO = sys.stdout) -> None:
    as_json = not stream.isatty() if json is None else json
    renderer: Any = structlog.processors.JSONRenderer() if as_json else \
        structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact_urls,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    # pika logs connection details (never payloads) through the standard library
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
