"""mydiscover: Discover Weekly for the music you own."""

# The one place the version is written; pyproject.toml reads it from here. (Asking
# importlib.metadata instead would add 17 ms to every command's start-up.)
__version__ = "0.1.0"
