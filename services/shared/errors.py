"""Errors shared by every service."""


class ConfigError(ValueError):
    """A setting that cannot work. The message names the variable, never its value: values
    may be secrets. `covenant` prints it and exits with EX_CONFIG (78)."""
