"""What the Spark workers compute per row with the project's own code, as pandas UDFs: the
artist keys and the listeners' sample hashes, so that an import on Spark keys artists and
samples listeners exactly as the local import does. Imported only where Spark runs (PySpark
brings pandas; the type hints are how it tells a pandas UDF's kind)."""

from __future__ import annotations

import hashlib

import pandas as pd

from mydiscover.cf.matrix import MBID_KEY_PREFIX
from mydiscover.library.match import artist_key


def artist_keys(names: pd.Series, mbids: pd.Series) -> pd.Series:
    """The key of each (artist name, MBID): :func:`artist_key` of the name, else
    ``mbid:<MBID>`` (an artist known by MBID only), else ""."""
    return pd.Series([artist_key(name) if name else
                      (MBID_KEY_PREFIX + mbid.lower() if mbid else "")
                      for name, mbid in zip(names, mbids, strict=True)])  # fmt: skip


def user_hashes(users: pd.Series) -> pd.Series:
    """Each listener's sample hash (MatrixBuilder's, as 16 hex digits, whose order is the
    numbers' order)."""
    return pd.Series([hashlib.blake2b(user.encode(), digest_size=8).hexdigest()
                      for user in users])  # fmt: skip
