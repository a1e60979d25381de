"""The text model as a recommender, for offline evaluation on public data.

A listener's profile is the sum of their artists' term vectors (weighted by log plays); every
artist scores the cosine of its terms with the profile. Run through the same protocol and
metrics as ``eval cf`` (mydiscover.cf.evaluate), so the numbers compare.

HetRec Last.fm 2K has no reviews, but it has the tags its listeners gave artists
(``user_taggedartists.dat`` + ``tags.dat``): each artist's tags, repeated as often as they were
given, are its document.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from mydiscover.cf.datasets import DatasetError
from mydiscover.library.match import artist_key
from mydiscover.text.terms import TOP_TERMS, evidence, keep_top_terms, tfidf_matrix, word_count


@dataclass
class TextProfile:
    """Recommends by text alone; ``documents`` maps artist keys to their text."""

    keys: list[str]
    documents: dict[str, str]
    top: int = TOP_TERMS
    name: str = "text"
    vectors: sp.csr_matrix | None = field(default=None, repr=False)
    trust: np.ndarray | None = field(default=None, repr=False)

    def fit(self, plays: sp.csr_matrix) -> None:
        """Build the artists' term vectors (the plays are not needed: text knows no listeners)."""
        texts = [self.documents.get(key, "") for key in self.keys]
        matrix, _ = tfidf_matrix(texts)
        self.vectors = keep_top_terms(matrix, self.top)
        self.trust = evidence(np.array([word_count(t) for t in texts], dtype=np.float32))

    def score(self, plays: sp.csr_matrix) -> np.ndarray:
        """Each artist's terms against the listener's profile, weighed by its evidence."""
        assert self.vectors is not None and self.trust is not None, "fit first"
        weights = plays.astype(np.float32, copy=True)
        weights.data = np.log1p(weights.data)
        profiles = weights @ self.vectors
        cosine = np.asarray((profiles @ self.vectors.T).todense(), dtype=np.float32)
        return cosine * self.trust


def hetrec_tag_documents(folder: Path) -> dict[str, str]:
    """Each HetRec artist's tags as its document, keyed by artist key."""
    try:
        names = _table(folder / "artists.dat", "utf-8")
        tags = _table(folder / "tags.dat", "latin-1")
        applied = (folder / "user_taggedartists.dat").read_text(encoding="ascii").splitlines()
    except OSError as error:
        raise DatasetError(f"{folder}: HetRec tags need artists.dat, tags.dat and "
                           f"user_taggedartists.dat ({error.strerror})") from None  # fmt: skip
    words: dict[str, list[str]] = defaultdict(list)
    for line in applied[1:]:
        fields = line.split("\t")
        if len(fields) >= 3 and fields[1] in names and fields[2] in tags:
            words[artist_key(names[fields[1]])].append(tags[fields[2]])
    return {key: ", ".join(values) for key, values in words.items()}


def _table(path: Path, encoding: str) -> dict[str, str]:
    rows = path.read_text(encoding=encoding).splitlines()[1:]
    return {f[0]: f[1] for f in (row.split("\t") for row in rows) if len(f) >= 2}
