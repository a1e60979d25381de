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

from mydiscover.errors import DatasetError
from mydiscover.library.match import artist_key
from mydiscover.text.terms import TOP_TERMS, evidence, keep_top_terms, tfidf_matrix, word_count


@dataclass
class TextProfile:
    """Recommends by text alone: ``documents`` maps artist keys to their text, or ``tags``
    makes them from listeners' tags, honestly (see :class:`HetrecTags`)."""

    keys: list[str]
    documents: dict[str, str] | None = None
    tags: HetrecTags | None = None
    top: int = TOP_TERMS
    name: str = "text"
    vectors: sp.csr_matrix | None = field(default=None, repr=False)
    trust: np.ndarray | None = field(default=None, repr=False)

    def fit(self, plays: sp.csr_matrix) -> None:
        """Build the artists' term vectors (from ``plays``, only which pairs are visible)."""
        documents = self.tags.documents(plays, self.keys) if self.tags else self.documents or {}
        texts = [documents.get(key, "") for key in self.keys]
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

    def described(self) -> np.ndarray:
        """Which artists have any text (a bool mask): the others the model cannot judge."""
        assert self.vectors is not None, "fit first"
        return np.diff(self.vectors.indptr) > 0


@dataclass(frozen=True)
class HetrecTags:
    """HetRec's tag applications with what is needed to withhold the held-out ones: the full
    play matrix and its rows' user ids. A listener's tag on an artist held out from them
    (visible in ``plays`` but not in the training part) is left out of the documents."""

    applications: list[TagApplication]
    user_rows: dict[str, int]
    plays: sp.csr_matrix

    def documents(self, train: sp.csr_matrix, keys: list[str]) -> dict[str, str]:
        """The artists' documents without the tags of pairs held out of ``train``."""
        held = (self.plays != 0).astype(np.int8) - (train != 0).astype(np.int8)
        rows, cols = (held > 0).nonzero()
        users = {row: user for user, row in self.user_rows.items()}
        withheld = {(users[r], keys[c]) for r, c in zip(rows.tolist(), cols.tolist(), strict=True)}
        return tag_documents(self.applications, withheld)


@dataclass(frozen=True)
class TagApplication:
    """One HetRec listener's tag on one artist."""

    user: str  # HetRec's user id
    artist: str  # artist key
    tag: str


def hetrec_tag_applications(folder: Path) -> list[TagApplication]:
    """Every tag a HetRec listener gave an artist (``user_taggedartists.dat``), by artist key."""
    try:
        names = _table(folder / "artists.dat", "utf-8")
        tags = _table(folder / "tags.dat", "latin-1")
        applied = (folder / "user_taggedartists.dat").read_text(encoding="ascii").splitlines()
    except OSError as error:
        raise DatasetError(f"{folder}: HetRec tags need artists.dat, tags.dat and "
                           f"user_taggedartists.dat ({error.strerror})") from None  # fmt: skip
    found = []
    for line in applied[1:]:
        fields = line.split("\t")
        if len(fields) >= 3 and fields[1] in names and fields[2] in tags:
            found.append(TagApplication(fields[0], artist_key(names[fields[1]]), tags[fields[2]]))
    return found


def tag_documents(
    applications: list[TagApplication], withheld: set[tuple[str, str]] | None = None
) -> dict[str, str]:
    """Each artist's tags, repeated as often as they were given, as its document; the tags of
    the (user, artist key) pairs in ``withheld`` are left out: a listener's own tags on the
    artists held out from them would tell the text model the answer."""
    words: dict[str, list[str]] = defaultdict(list)
    for applied in applications:
        if not withheld or (applied.user, applied.artist) not in withheld:
            words[applied.artist].append(applied.tag)
    return {key: ", ".join(values) for key, values in words.items()}


def hetrec_tags(folder: Path, plays: sp.csr_matrix) -> HetrecTags:
    """The tags of the HetRec 2K folder, for ``plays`` read from it (its user_artists.dat)."""
    return HetrecTags(hetrec_tag_applications(folder), hetrec_user_rows(folder), plays)


def hetrec_tag_documents(folder: Path) -> dict[str, str]:
    """Each HetRec artist's tags as its document, keyed by artist key (every tag: for models
    evaluated without a holdout of their own listeners' tags)."""
    return tag_documents(hetrec_tag_applications(folder))


def hetrec_user_rows(folder: Path) -> dict[str, int]:
    """HetRec user id -> row of the play matrix 'cf import' builds: users are numbered in the
    order they first appear in ``user_artists.dat`` (mydiscover.cf.matrix.MatrixBuilder)."""
    rows: dict[str, int] = {}
    with open(folder / "user_artists.dat", encoding="ascii") as lines:
        for line in lines:
            fields = line.split()
            if len(fields) == 3 and fields[2].isdigit():
                rows.setdefault(fields[0], len(rows))
    return rows


def _table(path: Path, encoding: str) -> dict[str, str]:
    rows = path.read_text(encoding=encoding).splitlines()[1:]
    return {f[0]: f[1] for f in (row.split("\t") for row in rows) if len(f) >= 2}
