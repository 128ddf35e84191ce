"""Errors shared by every service."""


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
