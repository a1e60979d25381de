"""mydiscover: Discover Weekly for the music you own."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mydiscover")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
