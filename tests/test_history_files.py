"""Importing export files: every format, recognised by content, with broken rows and odd
encodings; duplicates; matching to the library; the CLI end to end."""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

import pytest

from mydiscover.history.files import UnknownFormat, detect_format, read_export
from mydiscover.history.importer import import_files
from mydiscover.history.listen import Listen, SkippedRow
from mydiscover.history.tables import history_summary
from tests.helpers import run_cli, scan
from tests.library_factory import make_track

ALISON = 1699990000  # 2023-11-14T19:26:40Z


def lastfm_csv(path: Path) -> Path:
    # lastfm-to-csv: no header, commas and quotes already stripped by the exporter.
    path.write_text(
        "Slowdive,Souvlaki,Alison,14 Nov 2023 19:26\n"
        "Slowdive,Souvlaki,Machine Gun,14 Nov 2023 19:30\n"
        "Slowdive,Souvlaki,Dagger,\n"  # now playing: no date
        "broken row without enough fields\n"
        "Ride,Nowhere,Vapour Trail,31 Feb 2023 10:00\n",  # impossible date
        encoding="utf-8",
    )
    return path


def lastfm_pages(path: Path) -> Path:
    page = {
        "recenttracks": {
            "@attr": {"page": "1", "total": "2", "user": "rj", "perPage": "200", "totalPages": "1"},
            "track": [
                {"@attr": {"nowplaying": "true"}, "artist": {"mbid": "", "#text": "Ride"},
                 "album": {"mbid": "", "#text": "Nowhere"}, "name": "Seagull", "mbid": ""},
                {"artist": {"mbid": "", "#text": "Slowdive"},
                 "album": {"mbid": "", "#text": "Souvlaki"}, "name": "Alison",
                 "mbid": "8e8d1d2a-5b62-4f3e-9d7c-1a2b3c4d5e6f",
                 "date": {"uts": str(ALISON), "#text": "14 Nov 2023, 19:26"}},
                {"artist": {"url": "x", "name": "Ride", "mbid": ""}, "loved": "0",
                 "album": {"mbid": "", "#text": "Nowhere"}, "name": "Vapour Trail", "mbid": "",
                 "date": {"uts": str(ALISON + 600), "#text": "14 Nov 2023, 19:36"}},
            ],
        }
    }  # fmt: skip
    lone = {"recenttracks": {"@attr": {"page": "2"}, "track": {
        "artist": {"#text": "Ride"}, "album": {"#text": "Nowhere"}, "name": "Polar Bear",
        "mbid": "", "date": {"uts": str(ALISON + 900)}}}}  # fmt: skip
    path.write_text(json.dumps([page, lone]), encoding="utf-8")
    return path


def listenbrainz_listen(when: float, artist: str, title: str, recording: str = "") -> dict:
    mapping = {"recording_mbid": recording, "artist_mbids": []} if recording else None
    return {
        "listened_at": when,
        "recording_msid": "2b7b424f-b5f5-4ef2-bd2d-e80834708f02",
        "track_metadata": {
            "artist_name": artist,
            "track_name": title,
            "release_name": "Souvlaki",
            "additional_info": {"duration": 240},
            "mbid_mapping": mapping,
        },
    }


def listenbrainz_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("user.json", json.dumps({"user_id": 1, "username": "rj"}))
        archive.writestr(
            "listens/2023/11.jsonl",
            "\n".join(
                [
                    json.dumps(listenbrainz_listen(ALISON + 0.0, "Slowdive", "Alison")),
                    json.dumps(listenbrainz_listen(ALISON + 60, "Slowdive", "When the Sun Hits")),
                    "{not json",
                    json.dumps({"listened_at": ALISON + 90}),  # no track_metadata
                ]
            ),
        )
        archive.writestr("listens/2023/12.jsonl", "")
    return path


def maloja(path: Path) -> Path:
    path.write_text(
        json.dumps(
            {
                "maloja": {"export_time": ALISON + 5000},
                "scrobbles": [
                    {"time": ALISON, "track": {"artists": ["Slowdive"], "title": "Alison",
                     "album": {"artists": ["Slowdive"], "albumtitle": "Souvlaki"}, "length": None},
                     "duration": 240, "origin": "client:navidrome"},
                    {"time": ALISON + 1200, "track": {"artists": ["Irene", "Seulgi"],
                     "title": "Monster", "album": None, "length": None}, "duration": None,
                     "origin": "import:lastfm"},
                    {"time": "soon", "track": {"artists": ["X"], "title": "Y"}},
                ],
            },
            indent=3,
        ),
        encoding="utf-8",
    )  # fmt: skip
    return path


def own_csv(path: Path, encoding: str = "utf-8-sig") -> Path:
    path.write_text(
        "listened_at,artist,title,album,mb_recording_id\n"
        "2023-11-14T19:26:40Z,Slowdive,Alison,Souvlaki,\n"
        "1699990300,Björk,Jóga,Homogenic,\n"
        "2023-11-14 20:00:00,Sigur Rós,Hoppípolla,Takk...,\n"  # no zone: UTC
        "yesterday,Nobody,Nothing,,\n",
        encoding=encoding,
    )
    return path


WRITERS = {
    "lastfm-csv": (lastfm_csv, "export.csv"),
    "lastfm-json": (lastfm_pages, "pages.json"),
    "listenbrainz": (listenbrainz_zip, "listenbrainz_rj_1700000000.zip"),
    "maloja": (maloja, "maloja_export.json"),
    "csv": (own_csv, "mine.csv"),
}


@pytest.mark.parametrize("fmt", WRITERS)
def test_format_is_detected_by_content_not_name(tmp_path: Path, fmt: str) -> None:
    write, name = WRITERS[fmt]
    path = write(tmp_path / name)
    renamed = path.rename(tmp_path / "history.dat")  # the name says nothing

    assert detect_format(renamed) == fmt


@pytest.mark.parametrize(
    ("fmt", "listens", "skipped"),
    [
        ("lastfm-csv", 2, 2),
        ("lastfm-json", 3, 0),
        ("listenbrainz", 2, 2),
        ("maloja", 2, 1),
        ("csv", 3, 1),
    ],
)
def test_each_format_reads_listens_and_reports_broken_rows(tmp_path, fmt, listens, skipped):
    write, name = WRITERS[fmt]

    _, records = read_export(write(tmp_path / name))
    records = list(records)

    assert sum(isinstance(r, Listen) for r in records) == listens
    assert sum(isinstance(r, SkippedRow) for r in records) == skipped
    assert all(r.where and r.reason for r in records if isinstance(r, SkippedRow))


def test_field_details(tmp_path: Path) -> None:
    _, records = read_export(lastfm_pages(tmp_path / "p.json"))
    alison, vapour, polar = records
    assert alison == Listen(
        ALISON, "Slowdive", "Alison", "Souvlaki", "8e8d1d2a-5b62-4f3e-9d7c-1a2b3c4d5e6f"
    )
    assert vapour.artist == "Ride"  # the extended format names the artist differently
    assert polar.title == "Polar Bear"  # a page with one track sends an object, not a list

    _, records = read_export(maloja(tmp_path / "m.json"))
    assert next(r for r in records if isinstance(r, Listen)).album == "Souvlaki"

    _, records = read_export(own_csv(tmp_path / "o.csv"))
    first, bjork, sigur = [r for r in records if isinstance(r, Listen)]
    assert first.listened_at == ALISON and bjork.listened_at == ALISON + 300
    assert sigur.listened_at == 1699992000


def test_windows_1252_csv_is_read(tmp_path: Path) -> None:
    path = own_csv(tmp_path / "latin.csv", encoding="cp1252")

    _, records = read_export(path)

    assert "Björk" in {r.artist for r in records if isinstance(r, Listen)}


@pytest.mark.parametrize(
    "content",
    [b"", b"just some text\nnot a history\n", b'{"photos": []}', b"\x89PNG\r\n\x1a\n"],
)
def test_unknown_files_are_refused_clearly(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "thing.json"
    path.write_bytes(content)

    with pytest.raises(UnknownFormat):
        detect_format(path)


def test_import_matches_dedupes_and_rematches(conn, library: Path, tmp_path: Path) -> None:
    make_track(library / "alison.flac", title="Alison", artist="Slowdive", album="Souvlaki")
    scan(conn, library)
    files = [lastfm_csv(tmp_path / "a.csv"), listenbrainz_zip(tmp_path / "b.zip")]

    report, failures = import_files(conn, files)

    assert failures == []
    # Alison is in both files at the same moment: stored once.
    assert (report.added, report.duplicates, report.skipped) == (3, 1, 4)
    summary = history_summary(conn)
    assert (summary["listens"], summary["matched"]) == (3, 1)
    assert {row["artist"] for row in summary["top_unmatched_artists"]} == {"Slowdive"}

    again, _ = import_files(conn, files)
    assert (again.added, again.duplicates) == (0, 4)

    # A file for an unmatched song arrives: the next re-match finds it.
    from mydiscover.history.tables import rematch_unmatched

    make_track(library / "gun.flac", title="Machine Gun", artist="Slowdive")
    scan(conn, library)
    assert rematch_unmatched(conn) == 1
    assert history_summary(conn)["matched"] == 2


def test_a_bad_file_does_not_stop_the_others(conn, tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("dear diary")

    report, failures = import_files(conn, [bad, maloja(tmp_path / "m.json")])

    assert report.added == 2
    assert [path for path, _ in failures] == [bad]


def test_history_cli_end_to_end(cli_env, library: Path, db_path: Path, tmp_path: Path) -> None:
    make_track(library / "alison.flac", title="Alison", artist="Slowdive")
    export = own_csv(tmp_path / "mine.csv")
    db = ["--db", str(db_path)]

    imported = run_cli(cli_env, "history", "import", *db, str(export))
    assert imported.returncode == 0, imported.stderr
    assert "3 listens added, 0 already there; 0 of those read match a track" in imported.stderr
    assert "1 skipped" in imported.stderr
    assert "skipped mine.csv, line 5" in imported.stderr

    scanned = run_cli(cli_env, "scan", *db, str(library))  # the library arrives later
    assert "1 earlier listens now match a track" in scanned.stderr

    status = json.loads(run_cli(cli_env, "history", "status", "--json", *db).stdout)
    assert (status["listens"], status["matched"]) == (3, 1)
    assert [row["source"] for row in status["sources"]] == ["file:csv"]
    table = run_cli(cli_env, "history", "status", *db).stdout
    assert "Top unmatched artists" in table and "Björk" in table

    bad = run_cli(cli_env, "history", "import", *db, str(tmp_path / "missing.csv"))
    assert bad.returncode == 1 and "Traceback" not in bad.stderr


def test_a_short_song_played_twice_in_a_row_is_two_listens(conn, tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text(
        "listened_at,artist,title\n1699990000,Wire,Field Day for the Sundays\n"
        "1699990030,Wire,Field Day for the Sundays\n1699990030,Wire,Field Day for the Sundays\n"
    )

    report, _ = import_files(conn, [path])

    assert (report.added, report.duplicates) == (2, 1)


def test_a_file_with_a_stray_byte_is_read_once(conn, tmp_path: Path) -> None:
    lines = [f"{ALISON + 300 * n},Björk,Song {n}" for n in range(200)]
    path = tmp_path / "mixed.csv"
    data = ("listened_at,artist,title\n" + "\n".join(lines) + "\n").encode()
    path.write_bytes(data + f"{ALISON + 90000},Bj\xf6rk,Late\n".encode("cp1252"))

    report, _ = import_files(conn, [path])

    assert report.added == 201
    artists = {row[0] for row in conn.execute("SELECT DISTINCT artist FROM listens")}
    assert artists == {"Björk"}


@pytest.mark.parametrize(
    "line",
    [
        '{"listened_at": 1699990000, "track_metadata": {"artist_name": "A", "track_name": "B",'
        ' "mbid_mapping": ["odd"], "additional_info": "odd"}}',
        '{"listened_at": 1e400, "track_metadata": {"artist_name": "A", "track_name": "B"}}',
        '{"listened_at": [1], "track_metadata": []}',
        "[[1, 2], [3]]",
    ],
)
def test_odd_json_types_are_skipped_not_fatal(conn, tmp_path: Path, line: str) -> None:
    odd = tmp_path / "odd.jsonl"
    odd.write_text(line + "\n" + json.dumps(listenbrainz_listen(ALISON, "Ride", "Seagull")) + "\n")
    good = maloja(tmp_path / "m.json")

    report, failures = import_files(conn, [odd, good], fmt=None)

    assert report.added >= 2  # the Maloja file at least, whatever became of the odd one
    assert all("Traceback" not in reason for _, reason in failures)


def test_damaged_zip_is_a_failure_for_that_file_only(conn, tmp_path: Path) -> None:
    archive = listenbrainz_zip(tmp_path / "lb.zip")
    data = bytearray(archive.read_bytes())
    member = data.find(b"Slowdive")
    data[member : member + 8] = b"XXXXXXXX"  # the CRC no longer matches
    archive.write_bytes(bytes(data))

    report, failures = import_files(conn, [archive, maloja(tmp_path / "m.json")])

    assert [path for path, _ in failures] == [archive]
    assert report.added >= 2


def test_tracks_a_scan_stored_but_never_matched_are_tried_by_the_next(conn, library, tmp_path):
    """A scan interrupted (or killed) after storing tracks, before matching earlier listens to
    them: the next scan still matches those listens, not only its own new tracks'."""
    from mydiscover.pipeline import SilentView, scan_music

    export = tmp_path / "mine.csv"
    export.write_text("listened_at,artist,title\n1700000000,Slowdive,Alison\n"
                      "1700000100,Ride,Vapour Trail\n")  # fmt: skip
    import_files(conn, [export])
    database = Path(conn.execute("PRAGMA database_list").fetchone()[2])
    make_track(library / "old" / "ride.flac", title="Other", artist="Lush")
    scan_music(conn, database, [library], SilentView())  # listens tried against the catalog
    make_track(library / "a" / "alison.flac", title="Alison", artist="Slowdive")
    scan(conn, library)  # stored, never matched: what an interrupted scan leaves
    make_track(library / "b" / "vapour.flac", title="Vapour Trail", artist="Ride")
    assert scan_music(conn, database, [library], SilentView()).rematched == 2


def test_a_scans_new_tracks_match_only_the_listens_they_can(conn, library: Path, tmp_path: Path):
    """After a scan, earlier listens are tried against just the tracks it brought (found by
    artist key, or by recording ID under another spelling); the others are not touched."""
    from mydiscover.history.tables import rematch_unmatched
    from mydiscover.library.match import TrackMatcher
    from mydiscover.library.tables import entries_updated_since, now_stamp

    recording = "5cbef01b-cc35-4f52-af7b-d0df0c4f61b9"
    export = tmp_path / "mine.csv"
    export.write_text(
        "listened_at,artist,title,album,mb_recording_id\n"
        "1700000000,Slowdive,Alison,Souvlaki,\n"
        f"1700000100,Rachel Goswell,Something Else,,{recording.upper()}\n"
        "1700000200,Ride,Vapour Trail,Nowhere,\n"
    )
    make_track(library / "old" / "ride.flac", title="Other Song", artist="Ride")
    scan(conn, library / "old")
    import_files(conn, [export])
    time.sleep(1.05)  # the stamp is to the second: the old track's second is past
    stamp = now_stamp(conn)
    make_track(library / "new" / "alison.flac", title="Alison", artist="Slowdive",
               mb_recording_id=recording)  # fmt: skip
    scan(conn, library / "new")
    arrived = TrackMatcher(entries_updated_since(conn, stamp))
    assert len(arrived) == 1  # the old track is not among them
    assert rematch_unmatched(conn, arrived) == 2
    matched = dict(conn.execute("SELECT title, matched_by FROM listens WHERE track_id IS NOT NULL"))
    assert matched == {"Alison": "name", "Something Else": "mbid"}
