"""Errors that bpviz reports to users as one clear line (exit status 2 on the command line)."""


class BpvizError(Exception):
    """Bad input: a message that says what is wrong and where."""


class DataError(BpvizError):
    """A dataset or CSV file that cannot be used."""


class ConfigError(BpvizError):
    """A configuration value out of range or inconsistent."""


class SessionError(BpvizError):
    """A session file that cannot be read."""
