"""File paths as the catalog keeps them: raw bytes, shown to people as text."""

from __future__ import annotations


def display_path(path: bytes) -> str:
    """A byte path as text for people; bytes that are not UTF-8 show as ``\\xNN``."""
    return path.decode("utf-8", "backslashreplace")
