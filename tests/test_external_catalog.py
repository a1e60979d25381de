"""Cataloguing another program's tracks (beets): added, refreshed, and marked missing."""

from __future__ import annotations

from mydiscover.history.tables import load_history
from mydiscover.library.external import ExternalTrack, catalog_external
from mydiscover.library.tags import Tags
from tests.helpers import scan, tracks
from tests.library_factory import make_track


def external(path, **fields) -> ExternalTrack:
    values = {"format": "flac", "title": "Song", "artist": "Artist", **fields}
    return ExternalTrack(bytes(path), bytes(path.parent), Tags(**values))


def test_new_known_and_vanished_files(conn, library):
    song = make_track(library / "a.flac", title="Song", artist="Artist")
    other = make_track(library / "b.flac", title="Other", artist="Artist")
    report = catalog_external(conn, [external(song), external(other, title="Other")])
    assert (report.added, report.updated, report.missing) == (2, 0, 0)
    other.unlink()
    report = catalog_external(conn, [external(song, genre="Dream Pop"), external(other)])
    assert (report.added, report.updated, report.missing) == (0, 1, 1)
    rows = tracks(conn)
    assert rows[bytes(song)]["genre"] == "Dream Pop"
    assert rows[bytes(other)]["status"] == "missing"  # never offered again


def test_what_the_other_program_does_not_know_is_kept(conn, library):
    make_track(library / "a.mp3", title="Song", artist="Artist", rating=0.8, play_count=12)
    scan(conn, library)
    catalog_external(conn, [external(library / "a.mp3", format="mp3")])
    row = tracks(conn)[bytes(library / "a.mp3")]
    assert row["rating"] == 0.8 and row["play_count"] == 12


def test_undated_plays_belong_to_the_track_artist_and_the_larger_count_wins(conn, library):
    make_track(library / "c.flac", title="Song", artist="Real Artist",
               album_artist="Various Artists", play_count=50)  # fmt: skip
    scan(conn, library)
    conn.execute(
        "INSERT INTO listens (listened_at, artist, title, source, artist_key, title_key, "
        "track_id) SELECT 1, 'Real Artist', 'Song', 'file:csv', 'real artist', 'song', id "
        "FROM tracks"
    )
    history = load_history(conn)
    assert list(history.track_plays.values()) == [50]
    assert [(a.key, a.plays) for a in history.artists] == [("real artist", 50)]
