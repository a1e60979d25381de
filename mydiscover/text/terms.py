"""TF-IDF "top terms" per artist and album, and the text similarity they give.

All documents about an entity (reviews, wiki text, tags, the files' genre tags) make one text;
TF-IDF (scikit-learn) over every entity's text, with uni- and bi-grams, sublinear tf, English
and music-domain stop words ("album", "track", "band", "released"...), and the entity's own
name taken out ("Slowdive's second album" must not make "slowdive" Slowdive's top term). The
top terms and weights of each entity are stored; tracks inherit their album's and artist's.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from mydiscover.files import atomic_file
from mydiscover.text.tables import (
    database_file,
    documents_marker,
    entity_texts,
    genre_tags,
    library_entities,
    replace_terms,
    stored_terms,
    terms_build_id,
)

#: Terms kept per entity (100 did better than 40 on HetRec's tags: 0.175 vs 0.149 NDCG@10).
TOP_TERMS = 100
#: How much text makes a description trustworthy: a match is weighed by words / (words + this),
#: so an artist known by two tags does not outrank one known by two hundred (chosen on HetRec).
EVIDENCE_WORDS = 30.0
#: Words that say "this is about music" and nothing about which music.
_MUSIC_WORDS = """
album albums track tracks song songs band bands release released releases record records
recorded recording recordings music musical musician musicians artist artists single singles
ep lp label labels tour toured touring chart charts charted debut sophomore studio live
date year years first second third new later also including include includes
member members group groups listen listened listeners fan fans review reviews reviewer
rating stars score version versions edition deluxe remaster remastered disc cd vinyl
minute minutes length produced producer production wikipedia lastfm read
"""
MUSIC_STOP_WORDS = frozenset(_MUSIC_WORDS.split())
_TOKEN = r"(?u)\b[^\W\d_][^\W\d_']+\b"  # words of two letters or more, no digits


@dataclass(frozen=True)
class TermsReport:
    """What a build did."""

    entities: int
    documents: int
    vocabulary: int


def stop_words() -> list[str]:
    """English and music-domain stop words."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return sorted(ENGLISH_STOP_WORDS | MUSIC_STOP_WORDS)


def word_count(text: str) -> int:
    """The words in ``text``, as evidence counts them."""
    return len(re.findall(r"\w+", text))


def evidence(words: np.ndarray) -> np.ndarray:
    """How far to trust a description of ``words`` words: words / (words + EVIDENCE_WORDS)."""
    return words / (words + EVIDENCE_WORDS)


def strip_names(text: str, names: Iterable[str]) -> str:
    """``text`` without the words of ``names`` (the entity's own names)."""
    words = {w for name in names for w in re.findall(r"\w+", name.lower()) if len(w) > 1}
    if not words:
        return text
    pattern = r"\b(?:" + "|".join(sorted(map(re.escape, words), key=len, reverse=True)) + r")\b"
    return re.sub(pattern, " ", text, flags=re.IGNORECASE)


def tfidf_matrix(texts: list[str]) -> tuple[sp.csr_matrix, list[str]]:
    """TF-IDF rows (L2-normalised) of ``texts`` and the vocabulary of their columns.

    Words count from their first use; a two-word phrase only once two texts use it, else every
    accidental neighbour pair of a single review ("sound critics") would outrank real terms.
    """
    from sklearn.preprocessing import normalize

    parts, vocabulary = [], []
    for ngrams, min_df in (((1, 1), 1), ((2, 2), 2)):
        vectorizer = _vectorizer(ngrams, min_df, max_df=0.5 if len(texts) >= 20 else 1.0)
        try:
            parts.append(vectorizer.fit_transform(texts))
        except ValueError:  # no term of this kind survives (few or tiny texts)
            continue
        vocabulary.extend(vectorizer.get_feature_names_out().tolist())
    if not parts:
        return sp.csr_matrix((len(texts), 0), dtype=np.float32), []
    return normalize(sp.hstack(parts).tocsr()), vocabulary


def keep_top_terms(matrix: sp.csr_matrix, top: int = TOP_TERMS) -> sp.csr_matrix:
    """Each row's ``top`` largest weights, re-normalised: what is stored per entity."""
    from sklearn.preprocessing import normalize

    rows, cols, values = [], [], []
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        best = np.argsort(-matrix.data[start:end], kind="stable")[:top]
        rows.extend([row] * len(best))
        cols.extend(matrix.indices[start:end][best].tolist())
        values.extend(matrix.data[start:end][best].tolist())
    kept = sp.csr_matrix((values, (rows, cols)), shape=matrix.shape, dtype=np.float32)
    return normalize(kept)


def tfidf_top_terms(texts: list[str], top: int = TOP_TERMS) -> list[list[tuple[str, float]]]:
    """The ``top`` terms and TF-IDF weights of each text, best first."""
    matrix, vocabulary = tfidf_matrix(texts)
    tops = []
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        weights, columns = matrix.data[start:end], matrix.indices[start:end]
        best = np.argsort(-weights, kind="stable")[:top]
        tops.append([(vocabulary[columns[i]], float(weights[i])) for i in best])
    return tops


def _vectorizer(ngrams: tuple[int, int], min_df: int, max_df: float) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        ngram_range=ngrams, sublinear_tf=True, stop_words=stop_words(), token_pattern=_TOKEN,
        strip_accents="unicode", min_df=min_df, max_df=max_df, norm=None, dtype=np.float32,
    )  # fmt: skip


def build_terms(conn: sqlite3.Connection, top: int = TOP_TERMS) -> TermsReport:
    """Rebuild every entity's terms from the stored documents and the files' genre tags."""
    names = {(e.artist_key, e.album_key): (e.artist, e.album) for e in library_entities(conn)}
    marker = documents_marker(conn)
    texts = entity_texts(conn)
    documents = sum(len(t) for t in texts.values())
    for entity, genres in genre_tags(conn).items():
        texts.setdefault(entity, []).append(", ".join(dict.fromkeys(genres)))
    entities = sorted(texts)
    prepared = [
        strip_names("\n\n".join(texts[entity]), names.get(entity, ("", ""))) for entity in entities
    ]
    tops = tfidf_top_terms(prepared, top)
    words = [word_count(text) for text in prepared]
    store_terms(conn, entities, tops, words, marker)
    return TermsReport(len(entities), documents, len({t for terms in tops for t, _ in terms}))


def store_terms(
    conn: sqlite3.Connection,
    entities: list[tuple[str, str]],
    tops: list[list[tuple[str, float]]],
    words: list[int],
    marker: str,
) -> None:
    """Store each entity's (term, weight) pairs and word count, replacing every earlier build:
    the vector file first (for the weekly), then the rows, which name the file's build."""
    build_id = uuid.uuid4().hex
    database = database_file(conn)
    if database is not None:
        _save_vectors(vectors_path(database), build_id, entities, tops)
    rows = [
        (artist, album, term, weight)
        for (artist, album), terms in zip(entities, tops, strict=True)
        for term, weight in terms
    ]
    counts = [(a, b, n) for (a, b), n in zip(entities, words, strict=True)]
    replace_terms(conn, rows, counts, {"documents_marker": marker, "entities": len(entities),
                                       "build_id": build_id})  # fmt: skip


def vectors_path(database: Path) -> Path:
    """The term-vector file beside the database."""
    return database.parent / f"{database.stem}-terms.npz"


def term_vectors(
    conn: sqlite3.Connection,
) -> tuple[list[tuple[str, str]], sp.csr_matrix, list[str]]:
    """The stored terms as unit-length sparse vectors: (entities, matrix, vocabulary).

    Read from the file the last build wrote (milliseconds), or from the ``terms`` table when
    that file is missing or from another build (a second or so for 100,000 entities).
    """
    database = database_file(conn)
    build_id = terms_build_id(conn)
    if database is not None and build_id is not None:
        try:
            with np.load(vectors_path(database), allow_pickle=False) as arrays:
                if str(arrays["build_id"]) == build_id:
                    matrix = sp.csr_matrix(
                        (arrays["data"], arrays["indices"], arrays["indptr"]),
                        shape=tuple(arrays["shape"]),
                    )
                    entities = list(zip(arrays["artists"].tolist(), arrays["albums"].tolist(),
                                        strict=True))  # fmt: skip
                    return entities, matrix, arrays["vocabulary"].tolist()
        except (OSError, ValueError, KeyError):
            pass  # rebuilt from the table below
    terms = stored_terms(conn)
    entities = sorted(terms)
    return (entities, *_vectors([list(terms[entity].items()) for entity in entities]))


def _vectors(tops: list[list[tuple[str, float]]]) -> tuple[sp.csr_matrix, list[str]]:
    """Unit-length rows of each entity's (term, weight) pairs, and the vocabulary."""
    vocabulary: dict[str, int] = {}
    rows, cols, values = [], [], []
    for row, terms in enumerate(tops):
        for term, weight in terms:
            rows.append(row)
            cols.append(vocabulary.setdefault(term, len(vocabulary)))
            values.append(weight)
    matrix = sp.csr_matrix((values, (rows, cols)), shape=(len(tops), len(vocabulary)),
                           dtype=np.float32)  # fmt: skip
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return (sp.diags(1.0 / np.maximum(norms, 1e-12)) @ matrix).tocsr(), list(vocabulary)


def _save_vectors(
    path: Path, build_id: str, entities: list[tuple[str, str]], tops: list[list[tuple[str, float]]]
) -> None:
    matrix, vocabulary = _vectors(tops)
    with atomic_file(path) as handle:
        np.savez(
            handle, build_id=np.array(build_id), data=matrix.data, indices=matrix.indices,
            indptr=matrix.indptr, shape=np.array(matrix.shape),
            artists=np.array([a for a, _ in entities], dtype=np.str_),
            albums=np.array([b for _, b in entities], dtype=np.str_),
            vocabulary=np.array(vocabulary, dtype=np.str_),
        )  # fmt: skip


def nearest_artists(
    entities: list[tuple[str, str]], matrix: sp.csr_matrix, index: int, count: int
) -> list[tuple[str, float]]:
    """The ``count`` artists (keys) whose terms are nearest (cosine) to entity ``index``."""
    similarity = np.asarray((matrix @ matrix[index].T).todense()).ravel()
    similarity[index] = -np.inf
    for row, (_, album) in enumerate(entities):
        if album:
            similarity[row] = -np.inf
    best = np.argsort(-similarity, kind="stable")[:count]
    return [(entities[i][0], float(similarity[i])) for i in best if similarity[i] > 0]
