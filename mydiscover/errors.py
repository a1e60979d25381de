"""Errors that reach the user as one clear line."""


class MydiscoverError(Exception):
    """Base of every error the command line reports without a traceback."""


class ConfigError(MydiscoverError):
    """The configuration file or an environment override is unusable."""


class DatabaseError(MydiscoverError):
    """The database file cannot be opened, read or upgraded."""


class BusyError(MydiscoverError):
    """Another process holds a lock this command needs."""


class DatasetError(MydiscoverError):
    """A public dataset that cannot be read as the format asked for."""
