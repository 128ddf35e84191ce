"""structlog set-up, called once from a composition root.

JSON lines when stdout is not a terminal, readable console output otherwise. Context such as
the message and correlation ids is bound per message; plan contents, e-mail addresses and
secrets are never passed to a logger, and `redact_urls` masks credentials in any URL value.

Every line is one JSON object, also what libraries log through the standard library (pika,
Alembic) and an uncaught exception in any thread: its traceback is one string field, so a log
shipper never splits it into lines of its own.

structlog is imported when a line is first logged, not before: with `rich` beside it, its
import is a quarter of a cold `covenant check`, which usually logs nothing. Modules take their
logger from `get_logger` here; `configure_logging(..., lazily=True)` keeps the set-up until
then (a line logged through the standard library also triggers it).
"""

import logging
import re
import sys
import threading
import traceback
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, TextIO

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


class _Logger:
    """structlog's logger, imported and made on first use."""

    __slots__ = ("_args", "_logger")

    def __init__(self, args: tuple[Any, ...]) -> None:
        self._args = args
        self._logger: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._logger is None:
            self._logger = _structlog().get_logger(*self._args)
        return getattr(self._logger, name)


def get_logger(*args: Any) -> Any:
    """As `structlog.get_logger`, without importing structlog until a line is logged."""
    return _Logger(args)


# the set-up a lazy `configure_logging` keeps until the first line; made by one thread
_deferred: list[Callable[[], None]] = []
_setting_up = threading.RLock()


def _structlog() -> Any:
    import structlog

    if _deferred:
        with _setting_up:
            while _deferred:
                _deferred.pop()()
    return structlog


class _FirstRecord(logging.Handler):
    """Stands in for the real handler until structlog is set up: the first record sets it up
    and goes through it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _structlog()
        except Exception:  # e.g. the stream was closed since: as a handler that cannot write
            self.handleError(record)
            return
        root = logging.getLogger()
        if self not in root.handlers:  # set up now: the record goes through the real handler
            root.handle(record)


def configure_logging(level: str = "INFO", *, json: bool | None = None,
                      stream: TextIO = sys.stdout, lazily: bool = False) -> None:
    """`lazily`: when the first line is logged (a command that may log nothing), unless
    structlog is loaded already."""
    sys.excepthook = _log_uncaught
    threading.excepthook = lambda args: _log_uncaught(
        args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)
    _deferred.clear()
    as_json = not stream.isatty() if json is None else json
    # deferred only while structlog is not loaded: once it is (a test process, a service),
    # anything may configure it directly, and a set-up kept for later would override that
    if lazily and "structlog" not in sys.modules:
        _deferred.append(lambda: _configure(level, as_json, stream))
        root = logging.getLogger()
        root.handlers[:] = [_FirstRecord()]
        root.setLevel(logging.WARNING)
    else:
        _configure(level, as_json, stream)


def _configure(level: str, as_json: bool, stream: TextIO) -> None:
    structlog = _structlog()
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


def _log_uncaught(kind: type[BaseException], error: BaseException, trace: Any) -> None:
    """The exception's type and where it was raised; not its text, which may quote data."""
    _structlog().get_logger().critical(
        "uncaught exception", reason=kind.__name__,
        traceback="".join(traceback.format_tb(trace)))
