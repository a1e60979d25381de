"""Benchmark ``mydiscover history import`` on a synthetic ListenBrainz JSONL export.

Run it from the repository root, in the project's virtualenv (``pip install -e .[bench]``)::

    python bench/bench_history.py                       # 1,000,000 listens, 50,000 tracks
    python bench/bench_history.py --repeat 3 --json     # three runs, figures as JSON too
    python bench/bench_history.py --tracks 5000 --listens 100000   # a quick smoke run

The target (from the issue): import and match 1,000,000 listens against a 50,000-track catalog
in under 60 s wall clock, with a peak RSS under 1 GB.

The first run generates, under ``bench/.cache/history-TRACKS-LISTENS/`` (git ignores it), and
later runs reuse (``--rebuild`` forces a new one):

- ``catalog.db``: a fresh mydiscover database (made by ``open_database``) whose ``tracks``
  table is filled directly: TRACKS / 10 artists of 10 tracks each, with accented names,
  "The ..." bands, some "feat." credits and, for most tracks, a MusicBrainz recording ID.
- ``listens.jsonl``: LISTENS lines of a ListenBrainz export spread over 8 years, one listen
  object a line. Songs are drawn with a Zipf-like skew (the favourites are played thousands of
  times). About 70% are songs of the catalog: some carry the recording MBID, some only names,
  spelt as the catalog spells them or with the usual variations (case, "(Remastered 2011)",
  "The " dropped, "feat. X" added, accents dropped, a typo). The other 30% are songs the
  catalog lacks: by artists it does not hold, or other songs by artists it does. About 0.1% of
  the lines are written twice.
- ``truth.npz``: the ground truth: every distinct listen's time (listens are two minutes apart
  at least, so none is taken for a repeat of another) and the track id it should match (0: a
  song the catalog lacks).

Generation is seeded (``--seed``), so the same arguments always give the same files.

Each run (``--repeat`` times) copies the catalog to a temporary folder and times
``python -m mydiscover history import --db COPY listens.jsonl`` as a subprocess (wall clock,
interpreter start-up included), sampling its RSS every 50 ms with psutil; the kernel's
high-water mark of the process (``VmHWM`` in ``/proc/PID/status``, read at each sample) is
shown beside it, and the target is checked against the higher of the two. Only the exit status
and the summary line the command prints on stderr are used. The copy is then queried: listens
stored, listens matched, and, against the ground truth, catalog listens left unmatched,
listens matched to the wrong track, and listens of songs the catalog lacks that were matched
anyway (false matches).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import numpy as np
from common import (
    REPO_ROOT,
    TreeMemorySampler,
    add_common_arguments,
    add_repo_to_path,
    cache_folder,
    cli_environment,
    failure_report,
    print_table,
    usable_cores,
    verdict,
)

add_repo_to_path()

from mydiscover.db.connection import open_database, transaction  # noqa: E402
from mydiscover.library.match import artist_key, title_key  # noqa: E402

#: Bump when the generated data changes, so stale caches are rebuilt.
GENERATOR_VERSION = 2
DEFAULT_TRACKS = 50_000
DEFAULT_LISTENS = 1_000_000
DEFAULT_SEED = 20240601
TRACKS_PER_ARTIST = 10

TARGET_SECONDS = 60.0
TARGET_RSS_MB = 1024.0
SAMPLE_INTERVAL = 0.05

CATALOG_SHARE = 0.70  # of the listens: songs of the catalog
OTHER_SONGS_PER_TRACK = 0.5  # songs the catalog lacks, per catalogued track
OTHER_BY_KNOWN_ARTIST = 0.4  # of those: other songs by artists of the catalog
OTHER_SONGS_PER_ARTIST = 3  # songs per artist the catalog does not hold
ZIPF_EXPONENT = 0.7
DUPLICATE_SHARE = 0.001
MBID_SHARE = 0.8  # of the catalogued tracks: tagged with a recording MBID
FEAT_SHARE = 0.06  # of the catalogued tracks: a "feat." credit in the artist tag
#: How often a listen uses each of a song's four spellings: 0: exact names (+ the MBID for a
#: catalogued song that has one), 1: exact names, no MBID, 2 and 3: a variation.
VARIANT_WEIGHTS = (0.45, 0.25, 0.2, 0.1)
#: Titles of one artist at least this different (difflib's ratio of their keys), so a typo
#: or a song the catalog lacks cannot be mistaken for another title of the same artist.
DISTINCT_TITLES = 0.8
#: Seconds at least between two listens (the shortest song lasts two minutes): the importer
#: takes the same song within a minute for one listen, so closer ones would be merged.
MIN_GAP = 120
START = 1_483_228_800  # 2017-01-01 UTC
SPAN = 8 * 365 * 86_400 + 2 * 86_400  # eight years, two leap days
CLIENTS = ("navidrome", "Pano Scrobbler", "BrainzPlayer", "Web Scrobbler", "Jellyfin")

FIRST_NAMES = (
    "Ana", "Björn", "Chloé", "Dmitri", "Élodie", "Farah", "Gustavo", "Hélène", "Ingrid",
    "José", "Kateřina", "Lars", "Maël", "Nadia", "Oscar", "Paloma", "Quentin", "Renée",
    "Søren", "Tomás", "Ulla", "Víctor", "Wanda", "Xavier", "Yasmin", "Zoë", "Amélie", "Bruno",
    "Camille", "Dagny", "Emil", "Frida", "Gaël", "Hanne", "Iñaki", "Jürgen", "Kenji", "Léa",
    "Matías", "Noémie", "Ola", "Pilar", "Rafael", "Sinéad", "Teodor", "Úrsula", "Vera",
    "Wilhelm", "Yusuf", "Zdeněk", "Aoife", "Benoît", "Clara", "Dolores", "Esteban", "Fátima",
    "Grete", "Håkon", "Isabel", "Joaquín", "Mira", "Nils", "Otto", "Raúl", "Selin", "Tove",
)  # fmt: skip
LAST_NAMES = (
    "Andersson", "Brändström", "Castillo", "Duarte", "Eriksen", "Fernández", "García",
    "Håkansson", "Ibáñez", "Jovanović", "Kowalski", "López", "Müller", "Nørgaard", "O'Brien",
    "Petrović", "Quiñones", "Rønning", "Sánchez", "Takahashi", "Urbański", "Vázquez", "Weiß",
    "Yamamoto", "Zieliński", "Almeida", "Berger", "Cohen", "Dubois", "Esposito", "Fischer",
    "Gonçalves", "Horváth", "Ivanova", "Janssen", "Kovač", "Lindqvist", "Moreau", "Novák",
    "Öztürk", "Papadopoulos", "Rossi", "Schäfer", "Tanaka", "Virtanen", "Wójcik", "Zapata",
    "Acosta", "Blanc", "Costa", "Dahl", "Ekström", "Font", "Gallagher", "Hoffmann", "Keller",
    "Lefèvre", "Marín", "Nakamura", "Okafor", "Pérez", "Ruiz", "Sørensen", "Thérien",
)  # fmt: skip
ADJECTIVES = (
    "Golden", "Silent", "Electric", "Broken", "Velvet", "Midnight", "Crimson", "Hollow",
    "Neon", "Paper", "Silver", "Wild", "Lonely", "Burning", "Frozen", "Secret", "Distant",
    "Gentle", "Restless", "Shattered", "Empty", "Endless", "Fading", "Hidden", "Lucky",
    "Magnetic", "Northern", "Painted", "Quiet", "Rusty", "Savage", "Tender", "Violet",
    "Wicked", "Young", "Bitter", "Cosmic", "Dusty", "Fragile", "Glass", "Heavy", "Iron",
    "Jaded", "Little", "Mellow", "Naked", "Open", "Purple", "Rolling", "Sweet", "Blue",
    "Dorée", "Noire", "Perdido", "Süße", "Bonne", "Étrange", "Última", "Brûlée", "Schöne",
)  # fmt: skip
NOUNS = (
    "Heart", "River", "Sky", "Fire", "Dream", "Light", "Road", "Night", "Summer", "Winter",
    "Ocean", "Mountain", "City", "Garden", "Shadow", "Mirror", "Window", "Highway", "Harbour",
    "Machine", "Horizon", "Thunder", "Rain", "Angel", "Ghost", "Diamond", "Feather", "Island",
    "Lantern", "Meadow", "Orchard", "Planet", "Rocket", "Sparrow", "Tiger", "Valley", "Wolf",
    "Anchor", "Bridge", "Canyon", "Desert", "Echo", "Forest", "Galaxy", "Hurricane", "Jungle",
    "Kingdom", "Lighthouse", "Monsoon", "Nebula", "Prairie", "Satellite", "Tide", "Volcano",
    "Café", "Corazón", "Mañana", "Rêve", "Straße", "Fjäril", "Été", "Lágrima", "Soleil",
    "Sehnsucht", "Ciudad", "Déjà Vu", "Saudade", "Kärlek", "Noche",
)  # fmt: skip
PLURALS = (
    "Owls", "Wolves", "Foxes", "Strangers", "Pilots", "Sailors", "Ravens", "Kings", "Saints",
    "Machines", "Shadows", "Rockets", "Lions", "Ghosts", "Hearts", "Rivers", "Echoes",
    "Tigers", "Giants", "Dreamers", "Sparrows", "Comets", "Monks", "Wanderers", "Thieves",
    "Lovers", "Outlaws", "Sirens", "Twins", "Vandals", "Drifters", "Magpies", "Orphans",
    "Cowboys", "Poets", "Hounds", "Bandits", "Astronauts", "Daughters", "Sons", "Dandies",
)  # fmt: skip
GERUNDS = (
    "Chasing", "Waiting for", "Dancing in", "Running from", "Falling into", "Dreaming of",
    "Holding", "Breaking", "Burning", "Leaving", "Finding", "Losing", "Crossing", "Calling",
    "Following", "Remembering", "Watching", "Building", "Riding", "Counting",
)  # fmt: skip
PHRASES = (
    "Don't Let Me Go", "I'll Be There", "Say It Again", "Take Me Home", "We Were Young",
    "All I Want", "Never Look Back", "Tell Me Why", "Just Like You", "Where Did You Go",
    "One More Time", "Come Back to Me", "It's Over Now", "Stay With Me", "Hold On Tight",
    "Nobody Knows", "Somebody Else", "Ça Va Pas", "Qué Será", "Ich Weiß Nicht",
)  # fmt: skip
ENSEMBLES = ("Trio", "Quartet", "Band", "Orchestra", "Collective", "Ensemble", "Project")
REMASTERS = (
    " (Remastered 2011)", " - Remastered 2009", " - 2015 Remaster", " [Remastered]",
    " (2019 Remaster)", " - Single Version", " (Radio Edit)", " - Remastered",
)  # fmt: skip
FEATURING = ("feat.", "ft.", "featuring", "Feat.")


@dataclass
class Song:
    """One song listened to: a catalogued track (``track_id`` > 0) or one the catalog lacks."""

    track_id: int
    artist: str
    title: str
    album: str
    recording_mbid: str | None  # the catalog's tag (catalogued songs) or MusicBrainz's
    release_mbid: str
    artist_mbid: str


@dataclass
class Generated:
    """What the cache holds, and how it was made."""

    version: int
    seed: int
    tracks: int
    listens: int
    distinct_listens: int
    catalog_listens: int
    duplicate_lines: int
    other_songs: int
    jsonl_bytes: int
    build_seconds: float


def _mbid(kind: str, key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mydiscover-bench/{kind}/{key}"))


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize(
        "NFC", "".join(char for char in decomposed if not unicodedata.combining(char))
    )


class Names:
    """Deterministic, unique-by-key artist names and per-artist distinct titles."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.artist_keys: set[str] = set()

    def person(self) -> str:
        return f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"

    def _artist_candidate(self) -> str:
        rng = self.rng
        form = rng.random()
        if form < 0.35:
            return self.person()
        if form < 0.55:
            return f"The {rng.choice(ADJECTIVES)} {rng.choice(PLURALS)}"
        if form < 0.70:
            return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
        if form < 0.80:
            return f"{rng.choice(NOUNS)} & the {rng.choice(PLURALS)}"
        if form < 0.90:
            return f"{self.person()} {rng.choice(ENSEMBLES)}"
        if form < 0.95:
            return f"{rng.choice(FIRST_NAMES)} and the {rng.choice(PLURALS)}"
        return f"DJ {rng.choice(NOUNS)}"

    def artist(self) -> str:
        """A new artist name whose matching key no earlier artist has."""
        while True:
            name = self._artist_candidate()
            key = artist_key(name)
            if key not in self.artist_keys:
                self.artist_keys.add(key)
                return name

    def _title_candidate(self) -> str:
        rng = self.rng
        form = rng.random()
        if form < 0.35:
            return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
        if form < 0.50:
            return f"{rng.choice(NOUNS)} of the {rng.choice(NOUNS)}"
        if form < 0.65:
            return f"{rng.choice(GERUNDS)} the {rng.choice(NOUNS)}"
        if form < 0.75:
            return rng.choice(PHRASES)
        if form < 0.85:
            return f"The {rng.choice(NOUNS)}"
        if form < 0.93:
            return f"{rng.choice(NOUNS)} {rng.choice(NOUNS)}"
        return f"{rng.choice(ADJECTIVES)} {rng.choice(PLURALS)} Pt. {rng.randint(2, 4)}"

    def titles(self, count: int, avoid: Sequence[str] = ()) -> list[str]:
        """``count`` titles whose keys are far from each other and from ``avoid``'s."""
        keys = [title_key(title) for title in avoid]
        chosen: list[str] = []
        attempts = 0
        while len(chosen) < count:
            attempts += 1
            title = self._title_candidate()
            if attempts > 200:  # a crowded artist: make it unique by a number
                title = f"{title} No. {attempts}"
            key = title_key(title)
            if all(not _close(key, other) for other in keys):
                keys.append(key)
                chosen.append(title)
        return chosen


def _close(a: str, b: str) -> bool:
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return (
        matcher.real_quick_ratio() >= DISTINCT_TITLES
        and matcher.quick_ratio() >= DISTINCT_TITLES
        and matcher.ratio() >= DISTINCT_TITLES
    )


def build_songs(tracks: int, rng: random.Random) -> tuple[list[Song], list[Song]]:
    """The catalogued tracks (ids 1..tracks) and the songs the catalog lacks."""
    names = Names(rng)
    artists = -(-tracks // TRACKS_PER_ARTIST)
    catalog: list[Song] = []
    known: list[tuple[str, str, list[str]]] = []  # (artist, its MBID, its catalogued titles)
    for a in range(artists):
        artist = names.artist()
        artist_mbid = _mbid("artist", artist)
        count = min(TRACKS_PER_ARTIST, tracks - len(catalog))
        titles = names.titles(count)
        album = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
        if rng.random() < 0.3:
            album = titles[0]  # the title track
        for title in titles:
            track_id = len(catalog) + 1
            credit = artist
            if rng.random() < FEAT_SHARE:
                credit = f"{artist} feat. {names.person()}"
            catalog.append(
                Song(
                    track_id,
                    credit,
                    title,
                    album,
                    _mbid("recording", str(track_id)) if rng.random() < MBID_SHARE else None,
                    _mbid("release", f"{a}/{album}"),
                    artist_mbid,
                )
            )
        known.append((artist, artist_mbid, titles))

    other_total = int(tracks * OTHER_SONGS_PER_TRACK)
    by_known = int(other_total * OTHER_BY_KNOWN_ARTIST)
    others: list[Song] = []
    for n in range(by_known):  # other songs by artists of the catalog
        artist, artist_mbid, owned = known[rng.randrange(len(known))]
        (title,) = names.titles(1, avoid=owned)
        owned.append(title)  # the next one must differ from this one too
        album = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
        others.append(
            Song(0, artist, title, album, _mbid("other", str(n)), _mbid("release", album),
                 artist_mbid)
        )  # fmt: skip
    while len(others) < other_total:  # artists the catalog does not hold
        artist = names.artist()
        artist_mbid = _mbid("artist", artist)
        album = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
        for title in names.titles(min(OTHER_SONGS_PER_ARTIST, other_total - len(others))):
            n = len(others)
            mbid = _mbid("other", str(n)) if rng.random() < 0.6 else None
            others.append(Song(0, artist, title, album, mbid, _mbid("release", album), artist_mbid))
    return catalog, others


def write_catalog(path: Path, catalog: Sequence[Song], rng: random.Random) -> None:
    """A fresh database with ``catalog`` in its ``tracks`` table, inserted directly."""
    root = b"/music"
    rows = []
    for song in catalog:
        relative = f"{song.artist}/{song.album}/{song.track_id:06d} - {song.title}.flac"
        text = f"/music/{relative}"
        rows.append(
            (
                song.track_id,
                text.encode(),
                text,
                root,
                "flac",
                rng.randint(3_000_000, 60_000_000),
                1_600_000_000_000_000_000 + song.track_id * 1_000_000_007,
                "ok",
                song.title,
                song.artist,
                song.album,
                song.recording_mbid,
                song.release_mbid,
                song.artist_mbid,
                round(rng.uniform(120, 480), 3),
            )
        )
    conn = open_database(path)
    try:
        with transaction(conn):
            conn.executemany(
                "INSERT INTO tracks (id, path, path_text, root, format, size, mtime_ns, status, "
                "title, artist, album, mb_recording_id, mb_release_id, mb_artist_id, duration) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
    finally:
        conn.close()


def _variation(song: Song, rng: random.Random, names: Names) -> tuple[str, str, str | None]:
    """One way a scrobbler may spell ``song``: (artist, title, release name)."""
    artist, title, album = song.artist, song.title, song.album
    main_artist = artist.split(" feat. ")[0]
    kinds = ["lower", "upper", "remaster", "feat-artist", "feat-title", "main-artist"]
    if main_artist.startswith("The "):
        kinds += ["drop-the", "drop-the"]
    if _strip_accents(artist + title) != artist + title:
        kinds += ["accents", "accents"]
    if len(title_key(title)) >= 12:
        kinds.append("typo")
    chosen = rng.sample(kinds, 2 if rng.random() < 0.25 else 1)
    for kind in sorted(chosen, key=lambda kind: kind != "typo"):  # a typo in the title itself
        if kind == "lower":
            artist, title = artist.lower(), title.lower()
        elif kind == "upper":
            title = title.upper()
        elif kind == "remaster":
            title += rng.choice(REMASTERS)
        elif kind == "feat-artist":
            artist = f"{main_artist} {rng.choice(FEATURING)} {names.person()}"
        elif kind == "feat-title":
            title = f"{title} (feat. {names.person()})"
        elif kind == "main-artist":
            artist = main_artist
        elif kind == "drop-the":
            artist = artist[4:] if artist.startswith("The ") else artist
        elif kind == "accents":
            artist, title = _strip_accents(artist), _strip_accents(title)
        elif kind == "typo":
            letters = [i for i in range(1, len(title) - 1) if title[i].isalpha()]
            cut = rng.choice(letters)
            title = title[:cut] + title[cut + 1 :]
    if rng.random() < 0.15:
        album = None if rng.random() < 0.5 else f"{album} (Deluxe Edition)"
    return artist, title, album


def _fragment(
    artist: str, title: str, album: str | None, song: Song, mbid: bool, rng: random.Random
) -> str:
    """A listen object's JSON after ``"listened_at": N, `` (and its closing brace)."""
    metadata: dict[str, Any] = {"artist_name": artist, "track_name": title}
    if album:
        metadata["release_name"] = album
    metadata["additional_info"] = {
        "submission_client": rng.choice(CLIENTS),
        "duration_ms": rng.randint(120_000, 480_000),
    }
    if mbid and song.recording_mbid:
        metadata["mbid_mapping"] = {
            "recording_mbid": song.recording_mbid,
            "release_mbid": song.release_mbid,
            "artist_mbids": [song.artist_mbid],
            "recording_name": song.title,
        }
    msid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    body = json.dumps({"track_metadata": metadata, "recording_msid": msid}, ensure_ascii=False)
    return body[1:]  # without the opening brace


def song_fragments(songs: Sequence[Song], rng: random.Random) -> list[str]:
    """Four spellings per song, as JSON fragments: index ``song * 4 + variant``."""
    names = Names(rng)
    fragments: list[str] = []
    for song in songs:
        fragments.append(_fragment(song.artist, song.title, song.album, song, True, rng))
        fragments.append(_fragment(song.artist, song.title, song.album, song, False, rng))
        for _ in range(2):
            artist, title, album = _variation(song, rng, names)
            fragments.append(_fragment(artist, title, album, song, rng.random() < 0.3, rng))
    return fragments


def zipf_draws(gen: np.random.Generator, pool: int, size: int) -> np.ndarray:
    """``size`` indices into ``pool`` songs, rank r drawn with weight r^-s, ranks shuffled."""
    weights = np.arange(1, pool + 1, dtype=np.float64) ** -ZIPF_EXPONENT
    weights /= weights.sum()
    ranks = gen.choice(pool, size=size, p=weights)
    return gen.permutation(pool)[ranks]


def generate(folder: Path, tracks: int, listens: int, seed: int) -> Generated:
    """Write ``catalog.db``, ``listens.jsonl`` and ``truth.npz`` into ``folder``."""
    started = time.perf_counter()
    rng = random.Random(seed)
    gen = np.random.default_rng(seed)
    catalog, others = build_songs(tracks, rng)
    songs = catalog + others
    write_catalog(folder / "catalog.db", catalog, rng)
    fragments = song_fragments(songs, rng)

    duplicates = int(listens * DUPLICATE_SHARE)
    distinct = listens - duplicates
    if MIN_GAP * distinct >= SPAN:
        raise ValueError(f"{distinct:,} listens do not fit in eight years {MIN_GAP} s apart")
    times = np.sort(gen.integers(0, SPAN - MIN_GAP * distinct, size=distinct))
    times += START + MIN_GAP * np.arange(distinct)  # increasing, MIN_GAP apart at least
    in_catalog = gen.random(distinct) < CATALOG_SHARE
    song = np.empty(distinct, dtype=np.int64)
    song[in_catalog] = zipf_draws(gen, len(catalog), int(in_catalog.sum()))
    song[~in_catalog] = len(catalog) + zipf_draws(gen, len(others), int((~in_catalog).sum()))
    variant = gen.choice(len(VARIANT_WEIGHTS), size=distinct, p=VARIANT_WEIGHTS)
    expected = np.where(in_catalog, song + 1, 0).astype(np.int32)  # track ids are 1-based
    doubled = np.zeros(distinct, dtype=bool)
    doubled[gen.choice(distinct, size=duplicates, replace=False)] = True

    jsonl = folder / "listens.jsonl"
    chunk = 50_000
    with open(jsonl, "w", encoding="utf-8") as handle:
        for begin in range(0, distinct, chunk):
            end = min(begin + chunk, distinct)
            lines = []
            for when, index, twice in zip(
                times[begin:end].tolist(),
                (song[begin:end] * 4 + variant[begin:end]).tolist(),
                doubled[begin:end].tolist(),
                strict=True,
            ):
                line = f'{{"listened_at": {when}, {fragments[index]}\n'
                lines.append(line)
                if twice:
                    lines.append(line)
            handle.write("".join(lines))
    np.savez(folder / "truth.npz", listened_at=times, track_id=expected)
    return Generated(
        version=GENERATOR_VERSION,
        seed=seed,
        tracks=len(catalog),
        listens=listens,
        distinct_listens=distinct,
        catalog_listens=int(in_catalog.sum()),
        duplicate_lines=duplicates,
        other_songs=len(others),
        jsonl_bytes=jsonl.stat().st_size,
        build_seconds=time.perf_counter() - started,
    )


def ensure_data(
    folder: Path, tracks: int, listens: int, seed: int, rebuild: bool
) -> tuple[Generated, bool]:
    """The cached data set, generated first unless a complete one made the same way is there;
    and whether it was reused.

    ``meta.json`` is written last: a folder without it is an interrupted build.
    """
    meta = folder / "meta.json"
    if meta.is_file() and not rebuild:
        with contextlib.suppress(ValueError, TypeError):
            cached = Generated(**json.loads(meta.read_text()))
            if (cached.version, cached.seed) == (GENERATOR_VERSION, seed):
                return cached, True
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    generated = generate(folder, tracks, listens, seed)
    meta.write_text(json.dumps(asdict(generated), indent=2) + "\n")
    return generated, False


# --- the run -------------------------------------------------------------------------------


@dataclass
class Run:
    """One timed import."""

    seconds: float
    peak_rss_mb: float  # sampled with psutil
    hwm_mb: float | None  # the kernel's high-water mark (VmHWM), as last sampled
    exit_status: int
    summary: str
    stored: int
    matched: int

    @property
    def rss_mb(self) -> float:
        """The higher of the two peaks: what the target is checked against."""
        return max(self.peak_rss_mb, self.hwm_mb or 0.0)


class ImportFailed(RuntimeError):
    """The import command exited with an error."""


def timed_import(db: Path, jsonl: Path, env: dict[str, str], logs: Path) -> Run:
    """Run ``mydiscover history import`` on ``db``; wall seconds, peak RSS, stored counts."""
    command = [sys.executable, "-m", "mydiscover", "history", "import", "--db", str(db)]
    command.append(str(jsonl))
    with open(logs / "stdout", "wb") as out, open(logs / "stderr", "wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=REPO_ROOT)
        sampler = TreeMemorySampler(process.pid, SAMPLE_INTERVAL, read_hwm=True)
        sampler.start()
        process.wait()
        elapsed = time.perf_counter() - started
        sampler.stop()
    stderr = (logs / "stderr").read_text(errors="replace")
    if process.returncode != 0:
        stdout = (logs / "stdout").read_text(errors="replace")
        raise ImportFailed(failure_report(command, process.returncode, stdout, stderr))
    summary = " ".join(stderr.split())  # rich wraps its lines at 80 columns off a terminal
    with contextlib.closing(sqlite3.connect(db)) as conn:
        stored, matched = conn.execute("SELECT count(*), count(track_id) FROM listens").fetchone()
    return Run(
        seconds=elapsed,
        peak_rss_mb=sampler.peak_mb,
        hwm_mb=sampler.hwm_mb,
        exit_status=process.returncode,
        summary=summary,
        stored=stored,
        matched=matched,
    )


def match_quality(db: Path, truth: Path) -> dict[str, Any]:
    """The imported listens against the generator's ground truth."""
    expected_data = np.load(truth)
    times, expected = expected_data["listened_at"], expected_data["track_id"]
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT listened_at, coalesce(track_id, -1) FROM listens").fetchall()
        methods = dict(
            conn.execute("SELECT coalesce(matched_by, '-'), count(*) FROM listens GROUP BY 1")
        )
    got = np.array(rows, dtype=np.int64).reshape(-1, 2)
    at = np.searchsorted(times, got[:, 0])
    at = np.minimum(at, len(times) - 1)
    known = times[at] == got[:, 0]
    want = np.where(known, expected[at], -2)
    track = got[:, 1]
    catalog = want > 0
    other = want == 0
    stored = len(got)
    matched = int((track > 0).sum())
    catalog_listens = int((expected > 0).sum())
    return {
        "distinct_listens": len(times),
        "stored": stored,
        "missing": len(times) - int(known.sum()),
        "unexpected": int((~known).sum()),
        "matched": matched,
        "match_rate": matched / stored if stored else 0.0,
        "expected_rate": catalog_listens / len(times),
        "catalog_listens": catalog_listens,
        "catalog_matched_right": int((catalog & (track == want)).sum()),
        "catalog_matched_wrong_track": int((catalog & (track > 0) & (track != want)).sum()),
        "catalog_unmatched": int((catalog & (track < 0)).sum()),
        "other_listens": int(other.sum()),
        "false_matches": int((other & (track > 0)).sum()),
        "matched_by": methods,
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark 'mydiscover history import' on a synthetic ListenBrainz export."
    )
    parser.add_argument(
        "--tracks", type=int, default=DEFAULT_TRACKS, help="catalog size (default: %(default)s)"
    )
    parser.add_argument(
        "--listens",
        type=int,
        default=DEFAULT_LISTENS,
        help="lines of the JSONL file, duplicates included (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="generator seed (default: %(default)s)"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="where to build / reuse the data (default: bench/.cache/history-TRACKS-LISTENS)",
    )
    parser.add_argument("--rebuild", action="store_true", help="regenerate the cached data")
    add_common_arguments(
        parser,
        repeat_default=1,
        repeat_help="timed imports",
        json_help="also print the figures as JSON",
    )
    args = parser.parse_args(argv)
    if args.tracks < TRACKS_PER_ARTIST or args.listens < 1000 or args.repeat < 1:
        parser.error(f"need --tracks >= {TRACKS_PER_ARTIST}, --listens >= 1000, --repeat >= 1")
    args.cache = cache_folder(args.cache, f"history-{args.tracks}-{args.listens}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    folder: Path = args.cache
    data, reused = ensure_data(folder, args.tracks, args.listens, args.seed, args.rebuild)
    print(
        f"data: {'reusing' if reused else 'generated'} {data.tracks:,} tracks, "
        f"{data.listens:,} listens ({data.jsonl_bytes / 2**20:,.0f} MiB JSONL, "
        f"{data.duplicate_lines:,} duplicate lines) in {folder}; "
        f"generation took {data.build_seconds:.1f} s"
    )
    jsonl = folder / "listens.jsonl"
    with open(jsonl, "rb") as handle:  # untimed: the import finds the file in the page cache
        while handle.read(1 << 24):
            pass

    runs: list[Run] = []
    quality: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        env = cli_environment(Path(tmp) / "config")
        for attempt in range(args.repeat):
            work = Path(tmp) / f"run-{attempt}"
            work.mkdir()
            db = work / "mydiscover.db"
            shutil.copyfile(folder / "catalog.db", db)
            try:
                run = timed_import(db, jsonl, env, work)
            except ImportFailed as exc:
                print("error: the import failed:", file=sys.stderr)
                print(exc, file=sys.stderr)
                return 1
            runs.append(run)
            print(f"run {attempt + 1}: {run.summary}")
            if attempt == 0:
                quality = match_quality(db, folder / "truth.npz")
            shutil.rmtree(work)

    header = (
        "run", "listens", "tracks", "seconds", "listens/s", "peak RSS MB", "VmHWM MB",
        f"< {TARGET_SECONDS:.0f} s", f"< {TARGET_RSS_MB:.0f} MB",
    )  # fmt: skip
    rows = []
    for number, run in enumerate(runs, start=1):
        rows.append(
            (
                str(number),
                f"{data.listens:,}",
                f"{data.tracks:,}",
                f"{run.seconds:.1f}",
                f"{data.listens / run.seconds:,.0f}",
                f"{run.peak_rss_mb:,.0f}",
                f"{run.hwm_mb:,.0f}" if run.hwm_mb is not None else "-",
                verdict(run.seconds < TARGET_SECONDS),
                verdict(run.rss_mb < TARGET_RSS_MB),
            )
        )
    median = statistics.median(run.seconds for run in runs)
    worst_rss = max(run.rss_mb for run in runs)
    if len(runs) > 1:
        rows.append(
            (
                "median",
                f"{data.listens:,}",
                f"{data.tracks:,}",
                f"{median:.1f}",
                f"{data.listens / median:,.0f}",
                f"{max(run.peak_rss_mb for run in runs):,.0f}",
                f"{max(run.hwm_mb or 0.0 for run in runs):,.0f}",
                verdict(median < TARGET_SECONDS),
                verdict(worst_rss < TARGET_RSS_MB),
            )
        )
    cores = usable_cores()
    print(
        f"\nmydiscover history import benchmark: {args.repeat} run(s), {cores} cores, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )
    print_table(rows, header, right_aligned_columns={1, 2, 3, 4, 5, 6})

    q = quality
    print(
        f"\nmatch quality (run 1): {q['stored']:,} listens stored of {q['distinct_listens']:,} "
        f"distinct ({q['missing']:,} missing, {q['unexpected']:,} unexpected)"
    )
    print(
        f"  matched: {q['matched']:,} = {q['match_rate']:.2%}; ground truth (catalog songs): "
        f"{q['catalog_listens']:,} = {q['expected_rate']:.2%}"
    )
    print(
        f"  catalog listens: {q['catalog_matched_right']:,} matched right, "
        f"{q['catalog_matched_wrong_track']:,} to a wrong track, "
        f"{q['catalog_unmatched']:,} unmatched"
    )
    print(
        f"  non-catalog listens: {q['other_listens']:,}, of which {q['false_matches']:,} "
        f"matched (false matches)"
    )
    by = ", ".join(f"{method} {count:,}" for method, count in sorted(q["matched_by"].items()))
    print(f"  matched_by: {by}")

    if args.json:
        figures = {
            "listens": data.listens,
            "tracks": data.tracks,
            "data": asdict(data),
            "runs": [asdict(run) for run in runs],
            "seconds": median,
            "listens_per_s": data.listens / median,
            "peak_rss_mb": worst_rss,
            "targets": {"seconds": TARGET_SECONDS, "peak_rss_mb": TARGET_RSS_MB},
            "pass": median < TARGET_SECONDS and worst_rss < TARGET_RSS_MB,
            "quality": quality,
            "cores": cores,
            "python": platform.python_version(),
        }
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
