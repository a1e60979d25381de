"""Benchmark the TF-IDF term extraction (``mydiscover.text.terms``) on review-like documents.

Run it from the repository root, in the project's virtualenv (``pip install -e .[bench]``)::

    python bench/bench_terms.py                  # 20,000 documents about 8,000 artists/albums
    python bench/bench_terms.py --quick          # a tenth of that
    python bench/bench_terms.py --repeat 3 --json   # best of three, figures as JSON too

The target (from the issue): term extraction for 20,000 documents in under 30 s. It is checked
for both of ours below, scaled to the document count: 3 s for ``--quick``'s 2,000, a smoke run
whose end-to-end verdict is only indicative, since about a second of it (start-up, importing
scikit-learn) does not shrink with the documents. The machine should be otherwise idle: the
measurements are single-threaded wall-clock times.

The first run generates, and later runs reuse, ``bench/.cache/terms-DOCUMENTS-SEED/corpus.json``
(git ignores it; ``--rebuild`` forces a new one). Generation is seeded and vectorised (a few
seconds): DOCUMENTS review-like English texts of 150 to 600 words about DOCUMENTS * 0.4
entities, three in ten artists and the rest their albums. Every entity has one document, most
get one or two more (94% have one to three) and one in fifty gets ten or more (about 40 on
average, a hundred or so at most). The words are drawn with a Zipf law (exponent 1) over about
30,260 ranked words: English function words first, then common review words ("guitar",
"melody", "album"...), then 30,000 made-up ones of one to three syllables; 4% of them are
replaced by music words (about 280 in 25 genre clusters such as "shoegaze dreamy reverb
haze...", mostly from the entity's own genre), 1% by numbers ("1994", "8/10", "3:45"). Texts are
cut into sentences (capitals, commas, full stops) and name their entity (the artist, or the
album and its artist) two to five times. Artist names and album titles are made of the same
made-up and common words.

Each run (``--repeat`` times; the best of each is shown) times:

- the baseline, in this process: a bare scikit-learn ``TfidfVectorizer(ngram_range=(1, 2),
  sublinear_tf=True).fit_transform`` over the entities' texts: plain TF-IDF with bigrams. It
  keeps every word and every pair of neighbours, where ours drops stop words before pairing
  words and keeps only pairs that two texts use, so ours may well cost less;
- ours, the core, in this process: ``strip_names`` on each entity's concatenated documents
  (its own names taken out, as ``build_terms`` does) then ``tfidf_top_terms`` over them; the
  baseline gets the same stripped texts;
- ours, end to end: a fresh database in a temporary folder (made by ``open_database``, untimed)
  holding the documents and a ``tracks`` table with ten tracks per album (with genre tags), so
  that ``library_entities`` knows every entity; then a subprocess that imports mydiscover,
  opens the database and runs ``build_terms(conn)``, what ``mydiscover reviews crawl`` runs
  after crawling: reads, TF-IDF, the terms written back. It is timed from its start to its
  exit and its RSS sampled every 50 ms with psutil, the target checked against the higher of
  that and the kernel's high-water mark (``VmHWM``). The stored rows are then checked: a
  ``term_entities`` row per entity, and ``terms`` rows (up to 100) for each.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from common import (
    REPO_ROOT,
    add_common_arguments,
    add_repo_to_path,
    cache_folder,
    measured_run,
    print_table,
    usable_cores,
    verdict,
)

add_repo_to_path()

from mydiscover.db import open_database, transaction  # noqa: E402
from mydiscover.library.match import artist_key, title_key  # noqa: E402
from mydiscover.text.terms import strip_names, tfidf_top_terms  # noqa: E402

#: Bump when the generated data changes, so stale caches are rebuilt.
GENERATOR_VERSION = 1
DEFAULT_DOCUMENTS = 20_000
DEFAULT_SEED = 20240601
TARGET_SECONDS = 30.0  # for TARGET_DOCUMENTS documents, scaled to the count measured
TARGET_DOCUMENTS = 20_000
SAMPLE_INTERVAL = 0.05

ENTITIES_PER_DOCUMENT = 0.4
ARTIST_SHARE = 0.3  # of the entities; the others are their albums
POPULAR_SHARE = 0.02  # of the entities: ten documents or more
POPULAR_DOCUMENTS = 0.3  # of the documents: about the popular entities
WORDS = (150, 600)
MADE_UP_WORDS = 30_000
ZIPF_EXPONENT = 1.0
MUSIC_SHARE = 0.04  # of the words: music words
OWN_GENRE_SHARE = 0.8  # of those: from the entity's own genre
NUMBER_SHARE = 0.01
SENTENCE_END = 1 / 16
COMMA = 1 / 14
MENTIONS = (2, 5)
TRACKS_PER_ALBUM = 10

#: The most frequent English words, most frequent first (the top of the Zipf ranking).
FUNCTION_WORDS = """
the of and a to in is it that was for with as on his her but this at by from they be are have an
not or which he she their its one all were has had more so like there what out up when can who
been would into about than them only some my over just we you i me no even most much then these
those through before after while where how our any each such very both few other own same too
again once here why because until against between during without within along around off down
under above could should will may might must shall also still yet ever never always often
"""
#: Words reviews use a lot, after the function words in the ranking.
REVIEW_WORDS = """
album song songs track tracks record band sound sounds music voice vocals guitar guitars drums
bass melody melodies lyrics production songwriting chorus verse moments feel feels sense way
time love life world heart night light dark beautiful great good best better little long short
old young sweet hard soft loud quiet slow fast simple strange familiar perfect real true debut
released sense mood tone texture rhythm tempo layers energy space moment listener listen
memorable single singer writer years year first second new later live studio tour label fans
critics review rating stars best favourite classic modern early late career side opener closer
highlight standout title ballad anthem hooks groove noise warm cold bright heavy gentle lush
sparse raw polished catchy haunting intimate epic dense subtle bold stark vivid fragile tender
restless urgent lazy dreamlike playful somber joyful angry sad happy lonely hopeful nostalgic
"""
#: Music words by genre, and the genre tag of the files of each genre's albums.
GENRES = {
    "Shoegaze; Dream Pop": "shoegaze dreamy reverb haze washed hazy swirling ethereal fuzz "
    "droning blurred wall",
    "Thrash Metal": "thrash riffs shredding headbanging breakneck palm muted galloping solos "
    "aggressive pummeling mosh",
    "Ambient": "ambient drone textures atmospheric minimal pads glacial meditative soundscapes "
    "tape loops hiss",
    "Jazz": "jazz saxophone improvisation swing bebop trumpet upright modal brushes standards "
    "quintet changes",
    "Folk": "folk acoustic fingerpicked banjo ballads campfire harmonies fiddle rustic pastoral "
    "storytelling mandolin",
    "Hip-Hop": "hiphop beats rhymes flow samples boombap verses bars hook turntable mixtape "
    "cadence",
    "Techno": "techno kick hypnotic warehouse bpm synths acid modular pulsing rave minimalism "
    "groove",
    "Punk": "punk snotty breakneck diy threechord shouted hardcore anthems sneering scrappy "
    "lofi raw",
    "Soul": "soul gospel falsetto horns grooves motown brass heartfelt croon rhythm strings sweet",
    "Indie Rock": "jangly indie lofi bedroom guitars catchy wistful twee chiming slacker hooks "
    "earnest",
    "Post-Rock": "postrock crescendo instrumental tremolo builds cinematic climaxes sprawling "
    "glockenspiel epic patient quietloud",
    "Doom Metal": "doom sludge heavy crushing downtuned plodding fuzzed monolithic stoner "
    "riffage dirge bleak",
    "Synthpop": "synthpop glossy dancefloor neon chorus sparkling arpeggios eighties polished "
    "bouncy infectious glitter",
    "Black Metal": "blackmetal tremolopicked blastbeats shrieked frostbitten necro misanthropic "
    "atmospheric icy grim corpsepaint raw",
    "Classical": "orchestral symphony concerto violin cello sonata chamber movement adagio "
    "quartet baroque pianist",
    "Reggae": "reggae dub skank riddim basslines offbeat roots echo sunshine rocksteady "
    "toasting melodica",
    "Blues": "blues slide harmonica twelvebar delta gritty howl boogie shuffle juke lament weary",
    "Country": "country twang pedal steel honkytonk outlaw nashville heartbreak whiskey drawl "
    "fiddle highway",
    "Psychedelic Rock": "psychedelic trippy kaleidoscopic fuzz sitar phased swirling lysergic "
    "cosmic jams mellotron backwards",
    "Krautrock": "motorik krautrock repetitive hypnotic analog kosmische propulsive locked "
    "synthesizer drone experimental organ",
    "House": "house deep piano diva vocal chicago garage shuffle filtered disco loops uplifting",
    "Drum and Bass": "jungle breakbeats amen rollers liquid dnb bassline halftime chopped sub "
    "pressure darkside",
    "Emo": "emo confessional twinkly midwest screamed cathartic heartbroken mathy yearning diary "
    "earnest whispered",
    "Grunge": "grunge sludgy flannel distorted angst seattle loudquiet raspy feedback gnarled "
    "dirty heavy",
    "R&B": "rnb smooth silky neosoul slowjam sultry harmonies crooning velvet bedroom lush "
    "falsetto",
}
#: What stands for a number in a text: years, ratings, durations, counts.
NUMBERS = (
    [str(year) for year in range(1960, 2025)]
    + [f"{n}/10" for n in range(4, 11)]
    + [f"{m}:{s:02d}" for m in range(2, 9) for s in (5, 17, 30, 42)]
    + [str(n) for n in range(2, 21)]
)
#: Made-up words are one to three syllables (onset + vowel), the last one with a coda.
ONSETS = "b br c ch cl d dr f fl g gl gr h j k l m n p pl pr qu r s sh sl st t th tr v w z"
VOWELS = "a e i o u ai ea ou oo y"
CODAS = ("", "", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ck", "ve")
SOURCES = {"artist": ("wikipedia", "lastfm"), "album": ("wikipedia", "lastfm", "feed", "page")}
HOSTS = {
    "wikipedia": "en.wikipedia.org",
    "lastfm": "www.last.fm",
    "feed": "reviews.example",
    "page": "blog.example",
}
#: The six spellings of a word: plain or capitalised (a sentence's first), bare, "." or ",".
CAPITALISED = (False, True, False, True, False, True)
SUFFIXES = ("", "", ".", ".", ",", ",")

CHILD = """
import json, sys, time
from pathlib import Path
from mydiscover.db import open_database
from mydiscover.text.terms import build_terms
conn = open_database(Path(sys.argv[1]))
started = time.perf_counter()
report = build_terms(conn)
built = time.perf_counter() - started
conn.close()
print(json.dumps({"build_s": built, "entities": report.entities, "documents": report.documents,
                  "vocabulary": report.vocabulary}))
"""


# --- the corpus ------------------------------------------------------------------------------


@dataclass
class Corpus:
    """What the cache holds: the library's artists and albums, the documents, and how."""

    version: int
    seed: int
    artists: list[str]
    albums: list[tuple[int, str, str]]  # (artist index, title, genre tag)
    #: (entity, source, URL, title, text); entity i < len(artists) is artist i, else the
    #: album i - len(artists)
    documents: list[tuple[int, str, str, str, str]]
    build_seconds: float

    def entity_names(self, entity: int) -> tuple[str, str]:
        """The entity's (artist, album) names; album '' for an artist."""
        if entity < len(self.artists):
            return self.artists[entity], ""
        artist, title, _ = self.albums[entity - len(self.artists)]
        return self.artists[artist], title

    def entity_key(self, entity: int) -> tuple[str, str]:
        """The entity's (artist key, album key), as the database keys its documents."""
        artist, album = self.entity_names(entity)
        return artist_key(artist), title_key(album) if album else ""


def vocabulary(gen: np.random.Generator) -> list[str]:
    """The ranked words: function words, review words, then MADE_UP_WORDS made-up ones."""
    real = list(dict.fromkeys(FUNCTION_WORDS.split() + REVIEW_WORDS.split()))
    onsets, vowels = ONSETS.split(), VOWELS.split()
    taken = set(real) | {w for words in GENRES.values() for w in words.split()}
    candidates = 3 * MADE_UP_WORDS
    syllables = gen.choice([1, 2, 3], size=candidates, p=[0.25, 0.5, 0.25])
    parts = [gen.integers(0, len(kind), size=(candidates, 3)) for kind in (onsets, vowels, CODAS)]
    made_up = dict.fromkeys(
        "".join(onsets[o[i]] + vowels[v[i]] + (CODAS[c[i]] if i == n - 1 else "") for i in range(n))
        for n, o, v, c in zip(syllables.tolist(), *(p.tolist() for p in parts), strict=True)
    )
    fresh = [word for word in made_up if word not in taken][:MADE_UP_WORDS]
    if len(fresh) < MADE_UP_WORDS:
        raise RuntimeError("too few distinct made-up words; draw more candidates")
    return real + fresh


def unique_names(count: int, make: Callable[[], str], key: Callable[[str], str]) -> list[str]:
    """``count`` names from ``make()`` whose ``key`` no earlier one has."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        name = make()
        if key(name) not in seen:
            seen.add(key(name))
            names.append(name)
    return names


def library(
    gen: np.random.Generator, entities: int, words: list[str]
) -> tuple[list[str], list[tuple[int, str, str]], np.ndarray]:
    """Artist names, albums (artist index, title, genre tag), ``entities`` in all; and each
    artist's genre (an index into GENRES), which four in five of its albums share."""
    artists = max(1, round(entities * ARTIST_SHARE))
    albums = entities - artists
    if albums < artists:
        raise ValueError("too few documents for an album per artist")
    made_up = words[-MADE_UP_WORDS:]
    pool = words[len(FUNCTION_WORDS.split()) :][:5000]  # common and made-up words

    def artist_name() -> str:
        a, b = (made_up[i].capitalize() for i in gen.integers(0, len(made_up), size=2))
        return (a, f"{a} {b}", f"The {a}s", f"{a} & the {b}s")[gen.integers(0, 4)]

    def album_title() -> str:
        chosen = gen.integers(0, len(pool), size=gen.integers(1, 4))
        return " ".join(pool[i].capitalize() for i in chosen)

    names = unique_names(artists, artist_name, artist_key)
    owners = np.concatenate([np.arange(artists), gen.integers(0, artists, size=albums - artists)])
    owned = np.bincount(owners, minlength=artists)
    artist_genre = gen.integers(0, len(GENRES), size=artists)
    genre_names = list(GENRES)
    rows = []
    for artist, count in enumerate(owned.tolist()):
        for title in unique_names(count, album_title, title_key):
            own = gen.random() < OWN_GENRE_SHARE
            genre = artist_genre[artist] if own else gen.integers(0, len(GENRES))
            rows.append((artist, title, genre_names[genre]))
    return names, rows, artist_genre


def documents_per_entity(gen: np.random.Generator, documents: int, entities: int) -> np.ndarray:
    """One document each, popular entities ten or more, the others a Poisson-drawn few more."""
    counts = np.ones(entities, dtype=np.int64)
    popular = gen.choice(entities, size=max(1, round(entities * POPULAR_SHARE)), replace=False)
    budget = max(round(documents * POPULAR_DOCUMENTS), 9 * len(popular))
    shares = gen.dirichlet(np.full(len(popular), 3.0))
    counts[popular] += 9 + gen.multinomial(budget - 9 * len(popular), shares)
    others = np.setdiff1d(np.arange(entities), popular)
    counts[others] += gen.multinomial(
        documents - counts.sum(), np.full(len(others), 1 / len(others))
    )
    return counts


def generate(documents: int, seed: int) -> Corpus:
    """The seeded corpus: ``documents`` texts about ``documents * ENTITIES_PER_DOCUMENT``
    artists and albums."""
    started = time.perf_counter()
    gen = np.random.default_rng(seed)
    words = vocabulary(gen)
    entities = max(2, round(documents * ENTITIES_PER_DOCUMENT))
    artists, albums, artist_genre = library(gen, entities, words)
    genre_index = {name: i for i, name in enumerate(GENRES)}
    entity_genre = np.concatenate([artist_genre, [genre_index[album[2]] for album in albums]])

    counts = documents_per_entity(gen, documents, entities)
    entity_of = gen.permutation(np.repeat(np.arange(entities), counts))
    lengths = gen.integers(WORDS[0], WORDS[1] + 1, size=documents)
    total = int(lengths.sum())
    starts = np.concatenate([[0], np.cumsum(lengths)])
    doc_of_word = np.repeat(np.arange(documents), lengths)

    # Words: Zipf over the ranked vocabulary, some music words (from the entity's genre mostly).
    weights = np.arange(1, len(words) + 1, dtype=np.float64) ** -ZIPF_EXPONENT
    ids = gen.choice(len(words), size=total, p=weights / weights.sum())
    music = [w.split() for w in GENRES.values()]
    per_genre = len(music[0])
    vocab = words + [w for genre in music for w in genre]
    is_music = gen.random(total) < MUSIC_SHARE
    genre = entity_genre[entity_of[doc_of_word[is_music]]]
    other = gen.random(len(genre)) >= OWN_GENRE_SHARE
    genre[other] = gen.integers(0, len(GENRES), size=int(other.sum()))
    ids[is_music] = len(words) + genre * per_genre + gen.integers(0, per_genre, size=len(genre))

    # Sentences: a capital after each full stop, commas here and there, a full stop at the end.
    end = gen.random(total) < SENTENCE_END
    end[starts[1:] - 1] = True
    first = np.zeros(total, dtype=bool)
    first[starts[:-1]] = True
    first[1:] |= end[:-1]
    comma = (gen.random(total) < COMMA) & ~end
    spelling = first.astype(np.int64) + 2 * end + 4 * comma
    spellings = list(zip(CAPITALISED, SUFFIXES, strict=True))
    table = np.array(
        [[(w.capitalize() if cap else w) + suffix for cap, suffix in spellings] for w in vocab],
        dtype=object,
    )
    tokens = table[ids, spelling]
    is_number = gen.random(total) < NUMBER_SHARE
    numbers = np.array(NUMBERS, dtype=object)[gen.integers(0, len(NUMBERS), int(is_number.sum()))]
    tokens[is_number] = numbers + np.array(SUFFIXES, dtype=object)[spelling[is_number]]
    tokens = tokens.tolist()

    # The entity named two to five times (its album or its artist), the source, the title.
    names = [(artist, "") for artist in artists]
    names += [(artists[artist], title) for artist, title, _ in albums]
    rows = []
    for doc, entity in enumerate(entity_of.tolist()):
        artist, album = names[entity]
        start, length = int(starts[doc]), int(lengths[doc])
        mentions = gen.integers(MENTIONS[0], MENTIONS[1] + 1)
        for position in gen.choice(length, size=min(mentions, length), replace=False).tolist():
            name = album if album and gen.random() < 0.6 else artist
            if gen.random() < 0.2:
                name += "'s"
            token = tokens[start + position]
            tokens[start + position] = name + (token[-1] if token[-1] in ".," else "")
        kind = "album" if album else "artist"
        source = SOURCES[kind][gen.integers(0, len(SOURCES[kind]))]
        title = f"{album} by {artist}" if album else artist
        text = " ".join(tokens[start : start + length])
        rows.append((entity, source, f"https://{HOSTS[source]}/{doc}", title, text))
    return Corpus(GENERATOR_VERSION, seed, artists, albums, rows, time.perf_counter() - started)


def ensure_corpus(folder: Path, documents: int, seed: int, rebuild: bool) -> tuple[Corpus, bool]:
    """The cached corpus, generated first unless one made the same way is there; and whether
    it was reused."""
    path = folder / "corpus.json"
    if path.is_file() and not rebuild:
        with contextlib.suppress(ValueError, TypeError):
            cached = Corpus(**json.loads(path.read_text(encoding="utf-8")))
            made = (cached.version, cached.seed, len(cached.documents))
            if made == (GENERATOR_VERSION, seed, documents):
                return cached, True
    corpus = generate(documents, seed)
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(asdict(corpus), ensure_ascii=False), encoding="utf-8")
    partial.replace(path)
    return corpus, False


# --- the database ----------------------------------------------------------------------------


def write_database(path: Path, corpus: Corpus) -> None:
    """A fresh database: TRACKS_PER_ALBUM tracks per album (with the album's genre tag), and
    every document under its entity's keys."""
    tracks = []
    for artist, album, genre in corpus.albums:
        name = corpus.artists[artist]
        for number in range(1, TRACKS_PER_ALBUM + 1):
            text = f"/music/{name}/{album}/{number:02d} - Track {number}.flac"
            row = (text.encode(), text, b"/music", 30_000_000, 1_700_000_000 * 10**9)
            tracks.append((*row, f"Track {number}", name, album, name, genre))
    documents = [
        (*corpus.entity_key(entity), source, url, title, text, 1_700_000_000)
        for entity, source, url, title, text in corpus.documents
    ]
    conn = open_database(path)
    try:
        with transaction(conn):
            conn.executemany(
                "INSERT INTO tracks (path, path_text, root, size, mtime_ns, title, artist, album, "
                "album_artist, genre) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                tracks,
            )
            conn.executemany(
                "INSERT INTO documents (artist_key, album_key, source, url, title, text, "
                "fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                documents,
            )
    finally:
        conn.close()


# --- the measurements ------------------------------------------------------------------------


def entity_texts(corpus: Corpus) -> tuple[list[str], list[tuple[str, str]]]:
    """Each entity's documents joined as ``build_terms`` joins them, in its order (by keys);
    and the entity's names."""
    texts: dict[tuple[str, str], list[str]] = {}
    names: dict[tuple[str, str], tuple[str, str]] = {}
    for entity, _, _, _, text in corpus.documents:
        key = corpus.entity_key(entity)
        texts.setdefault(key, []).append(text)
        names[key] = corpus.entity_names(entity)
    keys = sorted(texts)
    return ["\n\n".join(texts[key]) for key in keys], [names[key] for key in keys]


def time_baseline(texts: list[str]) -> float:
    """Seconds for a bare TF-IDF with bigrams over ``texts``."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    started = time.perf_counter()
    TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(texts)
    return time.perf_counter() - started


def time_core(texts: list[str], names: list[tuple[str, str]]) -> tuple[float, float, list[str]]:
    """Seconds for ``strip_names`` over the texts, then for ``tfidf_top_terms``; the stripped
    texts."""
    started = time.perf_counter()
    stripped = [strip_names(text, pair) for text, pair in zip(texts, names, strict=True)]
    strip_s = time.perf_counter() - started
    started = time.perf_counter()
    tfidf_top_terms(stripped)
    return strip_s, time.perf_counter() - started, stripped


@dataclass
class EndToEnd:
    """One ``build_terms`` subprocess and what it stored."""

    seconds: float  # the whole process: start-up, imports, reads, TF-IDF, writes
    build_s: float  # build_terms(conn) alone, as the child timed it
    rss_mb: float  # the higher of the sampled tree peak and the kernel's high-water mark
    entities: int
    vocabulary: int
    terms_rows: int
    entities_with_terms: int
    term_entities_rows: int


def time_end_to_end(corpus: Corpus, scratch: Path) -> EndToEnd:
    """Write a fresh database under ``scratch`` and time ``build_terms`` on it in a child."""
    db = scratch / "mydiscover.db"
    write_database(db, corpus)
    run = measured_run([sys.executable, "-c", CHILD, str(db)], cwd=REPO_ROOT,
                       interval=SAMPLE_INTERVAL)  # fmt: skip
    child = json.loads(run.stdout)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        terms, with_terms = conn.execute(
            "SELECT count(*), count(DISTINCT artist_key || '/' || album_key) FROM terms"
        ).fetchone()
        entities = conn.execute("SELECT count(*) FROM term_entities").fetchone()[0]
    db.unlink()
    return EndToEnd(
        run.seconds,
        child["build_s"],
        run.peak_mb,
        child["entities"],
        child["vocabulary"],
        terms,
        with_terms,
        entities,
    )


# --- the run ---------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--documents",
        type=int,
        default=DEFAULT_DOCUMENTS,
        help="documents to generate (default: %(default)s)",
    )
    parser.add_argument("--quick", action="store_true", help="a tenth of --documents")
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="generator seed (default: %(default)s)"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="where to build / reuse the corpus (default: bench/.cache/terms-DOCUMENTS-SEED)",
    )
    parser.add_argument("--rebuild", action="store_true", help="regenerate the cached corpus")
    add_common_arguments(
        parser, repeat_default=1, repeat_help="timed runs of each", json_help="print JSON too"
    )
    args = parser.parse_args()
    if args.quick:
        args.documents //= 10
    if args.documents < 100 or args.repeat < 1:
        parser.error("need --documents >= 100 (after --quick) and --repeat >= 1")
    args.cache = cache_folder(args.cache, f"terms-{args.documents}-{args.seed}")
    return args


def main() -> None:
    """Generate the corpus if needed, time the baseline and ours, print the table."""
    args = parse_args()
    corpus, reused = ensure_corpus(args.cache, args.documents, args.seed, args.rebuild)
    documents = len(corpus.documents)
    texts, names = entity_texts(corpus)
    words = sum(len(document[4].split()) for document in corpus.documents)
    per_entity = np.bincount([doc[0] for doc in corpus.documents])
    print(
        f"corpus: {'reusing' if reused else 'generated'} {documents:,} documents "
        f"({words:,} words, {sum(map(len, texts)) / 2**20:,.0f} MiB) about {len(texts):,} "
        f"entities ({len(corpus.artists):,} artists, {len(corpus.albums):,} albums; "
        f"{(per_entity <= 3).mean():.0%} with 1-3 documents, {(per_entity >= 10).sum():,} with "
        f"10+, at most {per_entity.max()}) in {args.cache}; generation took "
        f"{corpus.build_seconds:.1f} s"
    )
    import sklearn.feature_extraction.text  # noqa: F401  (imported untimed, as in a warm process)

    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-terms-") as scratch:
        for _ in range(args.repeat):
            strip_s, tfidf_s, stripped = time_core(texts, names)
            baseline_s = time_baseline(stripped)
            e2e = time_end_to_end(corpus, Path(scratch))
            times = {"baseline_s": baseline_s, "strip_s": strip_s, "tfidf_s": tfidf_s}
            runs.append({**times, "core_s": strip_s + tfidf_s, **asdict(e2e), "rss_mb": e2e.rss_mb})
    timed = ("baseline_s", "strip_s", "tfidf_s", "core_s", "seconds", "build_s")
    best = {key: min(run[key] for run in runs) for key in timed}
    last = runs[-1]
    rss = max(run["rss_mb"] for run in runs)
    target = TARGET_SECONDS * documents / TARGET_DOCUMENTS
    base = best["baseline_s"]

    def row(name: str, seconds: float, rss_cell: str = "", checked: bool = False) -> list[str]:
        check = [f"< {target:.0f} s", verdict(seconds < target)] if checked else ["", ""]
        return [
            name,
            f"{seconds:.2f}",
            f"{documents / seconds:,.0f}",
            rss_cell,
            *check,
            f"{seconds / base:.2f} x",
        ]

    table = [
        row("baseline: bare TfidfVectorizer (1, 2)", base),
        row("ours, core: strip_names + tfidf_top_terms", best["core_s"], checked=True),
        row("  of which strip_names", best["strip_s"]),
        row("  of which tfidf_top_terms", best["tfidf_s"]),
        row("ours, end to end: build_terms subprocess", best["seconds"], f"{rss:,.0f} MB", True),
        row("  of which build_terms(conn)", best["build_s"]),
    ]
    counts_ok = last["term_entities_rows"] == last["entities_with_terms"] == len(texts)
    print(
        f"\nmydiscover term extraction benchmark: {args.repeat} run(s), best shown, "
        f"{usable_cores()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )
    header = ["measurement", "seconds", "docs/s", "peak RSS", "target", "check", "vs baseline"]
    print_table(table, header, {1, 2, 3, 6})
    print(
        f"\nstored: {last['terms_rows']:,} terms rows ({last['terms_rows'] / len(texts):.1f} per "
        f"entity, {last['vocabulary']:,} distinct terms) for {last['entities_with_terms']:,} "
        f"entities, {last['term_entities_rows']:,} term_entities rows; {len(texts):,} entities: "
        f"{verdict(counts_ok)}"
    )
    if args.json:
        figures = {
            "documents": documents,
            "words": words,
            "entities": len(texts),
            "target_s": target,
            "best": best,
            "peak_rss_mb": rss,
            "pass": best["core_s"] < target and best["seconds"] < target and counts_ok,
            "runs": runs,
            "cores": usable_cores(),
            "python": platform.python_version(),
        }
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
