"""Errors shared by every service."""

import difflib
from collections.abc import Iterable


class ConfigError(ValueError):
    """A setting that cannot work. The message names the variable, never its value: values
    may be secrets. `covenant` prints it and exits with EX_CONFIG (78)."""


class Unavailable(Exception):
    """A dependency (the database, the mail server) cannot be reached or refused for a
    reason of its own: the message is not at fault. Handlers let it propagate; the Processor
    holds the message and handles it again later without spending one of its deliveries.
    Say which dependency in `reason`, never with contents or addresses."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def did_you_mean(name: str, known: Iterable[str], n: int = 3) -> str:
    """" (did you mean a or b?)" with up to `n` of the known names close to a name that is
    none of them; "" when none is close."""
    close = difflib.get_close_matches(name, list(known), n=n)
    return f" (did you mean {' or '.join(close)}?)" if close else ""
