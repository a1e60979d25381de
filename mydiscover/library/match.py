"""Name normalisation: the one place that decides when two spellings name the same thing."""

from __future__ import annotations

import unicodedata


def normalize_name(text: str | None) -> str:
    """Fold case, Unicode compatibility forms and white space, so equal names compare equal."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(folded.split())
