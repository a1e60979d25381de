"""End to end: ``mydiscover weekly`` on a generated library, analysed, with a generated history,
a small public dataset and terms from the files' genre tags."""

from __future__ import annotations

import json
import sqlite3
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from mydiscover.history.tables import histories_before, load_history
from mydiscover.recommend.blend import DEFAULT_BLEND, KNOWN_BLEND
from tests.helpers import run_cli
from tests.library_factory import make_track
from tests.scenes import run_stages, scene_track, stage_env, write_history, write_scenes

#: (artist, album, genre, tone in Hz): two scenes that sound apart.
ALBUMS = [
    *[(f"Shoegaze Artist {n}", f"Haze {n}", "Dream Pop", 220.0) for n in range(5)],
    *[(f"Metal Artist {n}", f"Steel {n}", "Thrash", 1760.0) for n in range(4)],
    ("Sigur Rós", "Ágætis byrjun", "Post-Rock", 233.0),  # not in the public data
]
PLAYED = ["Shoegaze Artist 0", "Shoegaze Artist 1"]
NOW = 1_790_000_000  # 2026-09-20


track_path = scene_track


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A scanned and analysed library, a history, a fitted CF model and terms."""
    tmp = tmp_path_factory.mktemp("weekly")
    music = tmp / "Music"
    write_scenes(music, ALBUMS, seconds=4.0)
    history = write_history(tmp / "history.csv", PLAYED, NOW)
    env = stage_env(tmp)
    run_stages(env, tmp, music, history, ["reviews", "crawl", "--source", "feeds"])
    return env, tmp


def weekly(env, *args):
    result = run_cli(
        env,
        "weekly",
        "--no-update",
        "--week",
        "2026-W48",
        "--size",
        "8",
        "--min-length",
        "1",
        *args,
    )
    assert result.returncode == 0, result.stderr
    return result


def m3u_tracks(text: str, week: str = "2026-W48") -> list[tuple[str, str]]:
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U" and lines[1] == f"#PLAYLIST:Discover Weekly {week}"
    pairs = list(zip(lines[2::2], lines[3::2], strict=True))
    assert all(info.startswith("#EXTINF:4,") for info, _ in pairs)
    return [(info.split(",", 1)[1], path) for info, path in pairs]


def test_the_weekly_follows_the_rules(home):
    env, tmp = home
    result = weekly(env)
    tracks = m3u_tracks(result.stdout)
    assert len(tracks) == 8
    assert all(Path(path).is_file() for _, path in tracks)
    artists = [name.split(" - ")[0] for name, _ in tracks]
    assert max(artists.count(a) for a in artists) <= 2  # at most 2 per artist
    albums = [Path(path).parent for _, path in tracks]
    assert len(set(albums)) == len(albums)  # at most 1 per album
    played = {str(track_path(tmp / "Music", a, f"Haze {a[-1]}", 1)) for a in PLAYED}
    assert not played & {path for _, path in tracks}  # nothing the user has been playing
    assert "Discover Weekly 2026-W48: 8 tracks from cf" in result.stderr


def test_the_same_week_gives_the_same_playlist_and_the_next_another(home):
    env, _ = home
    first = weekly(env).stdout
    assert weekly(env).stdout == first
    following = run_cli(
        env, "weekly", "--no-update", "--week", "2026-W49", "--size", "8", "--min-length", "1"
    )
    assert following.returncode == 0, following.stderr
    shown_before = {path for _, path in m3u_tracks(first)}
    after = {line for line in following.stdout.splitlines() if not line.startswith("#")}
    assert not shown_before & after  # last week's picks rest


def test_the_scene_the_user_plays_comes_first(home):
    env, _ = home
    data = json.loads(weekly(env, "--format", "json").stdout)
    tracks = data["tracks"]
    shoegaze = [t for t in tracks if t["artist"].startswith(("Shoegaze", "Sigur"))]
    assert len(shoegaze) >= 4
    assert data["week"] == "2026-W48" and set(data["signals"]) >= {"cf", "text", "audio"}
    explained = [t for t in tracks if t["reasons"]]
    assert len(explained) == len(tracks)
    assert any("listeners of Shoegaze Artist" in r for t in tracks for r in t["reasons"].values())


def test_explain_goes_to_stderr_and_stdout_stays_a_playlist(home):
    env, _ = home
    result = weekly(env, "--explain")
    assert result.stdout.startswith("#EXTM3U\n")
    assert "Why" in result.stderr
    assert "sounds like" in result.stderr or "listeners" in result.stderr


def test_xspf_is_valid_xml_with_percent_encoded_file_uris(home):
    env, _ = home
    root = ElementTree.fromstring(weekly(env, "--format", "xspf").stdout.encode())
    ns = {"x": "http://xspf.org/ns/0/"}
    assert root.find("x:title", ns).text == "Discover Weekly 2026-W48"
    locations = [e.text for e in root.iterfind("x:trackList/x:track/x:location", ns)]
    assert len(locations) == 8 and all(loc.startswith("file:///") for loc in locations)
    assert all(" " not in loc for loc in locations)  # spaces are %20
    assert all(Path(unquote(urlsplit(loc).path)).is_file() for loc in locations)


def test_jspf_is_valid_json(home):
    env, _ = home
    playlist = json.loads(weekly(env, "--format", "jspf").stdout)["playlist"]
    assert playlist["title"] == "Discover Weekly 2026-W48" and len(playlist["track"]) == 8
    assert all(t["location"][0].startswith("file:///") for t in playlist["track"])
    assert all(t["duration"] == 4000 for t in playlist["track"])


def test_path_modes(home):
    env, tmp = home
    out = tmp / "lists" / "discover.m3u"
    weekly(env, "--paths", "relative", "--output", str(out))
    for _, path in m3u_tracks(out.read_text(encoding="utf-8")):
        assert path.startswith("../Music/") and (out.parent / path).is_file()
    rooted = m3u_tracks(weekly(env, "--paths", "music-root").stdout)
    assert all((tmp / "Music" / path).is_file() for _, path in rooted)
    refused = run_cli(env, "weekly", "--paths", "relative")
    assert refused.returncode == 1 and "needs --output" in refused.stderr


def test_non_ascii_names_survive_every_format(home):
    env, _ = home
    data = json.loads(weekly(env, "--format", "json", "--size", "30", "--week", "2026-W33").stdout)
    assert any(t["artist"] == "Sigur Rós" and "Ágætis" in t["path"] for t in data["tracks"])
    m3u = weekly(env, "--size", "30", "--week", "2026-W33").stdout
    assert "Sigur Rós - Song" in m3u and "Ágætis byrjun" in m3u


def test_stats_count_the_picks_that_were_played(home):
    env, tmp = home
    picks = m3u_tracks(weekly(env).stdout)
    artist, title = picks[0][0].split(" - ")
    listens = tmp / "after.csv"
    listens.write_text(f"listened_at,artist,title\n{int(__import__('time').time()) + 60},"
                       f"{artist},{title}\n")  # fmt: skip
    assert run_cli(env, "history", "import", str(listens)).returncode == 0
    stats = run_cli(env, "weekly", "--stats", "--json")
    assert stats.returncode == 0, stats.stderr
    weeks = {row["key"]: row for row in json.loads(stats.stdout)["weeks"]}
    assert weeks["2026-W48"]["played"] == 1 and weeks["2026-W48"]["picks"] == 8
    conn = sqlite3.connect(tmp / "db.sqlite")
    conn.execute("DELETE FROM listens WHERE listened_at > ?", (NOW,))
    conn.commit()
    conn.close()


def test_every_signal_may_be_missing(tmp_path, cli_env):
    music = tmp_path / "Music"
    for n in range(6):
        make_track(music / f"{n}.flac", seconds=1.0, title=f"T{n}", artist=f"A{n}")
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite")}
    assert run_cli(env, "scan", str(music)).returncode == 0
    result = run_cli(env, "weekly", "--offline", "--size", "4", "--min-length", "0.5")
    assert result.returncode == 0, result.stderr
    assert len([line for line in result.stdout.splitlines() if line.endswith(".flac")]) == 4
    assert "no signal yet" in result.stderr
    empty = run_cli(
        {**env, "MYDISCOVER_DB": str(tmp_path / "empty.sqlite")}, "weekly", "--no-update"
    )
    assert empty.returncode == 1 and "run 'mydiscover scan" in empty.stderr


def test_bad_options_are_refused(home):
    env, _ = home
    for args, message in ((["--format", "pls"], "unknown format"),
                          (["--week", "48"], "ISO week"),
                          (["--weights", "vibes=2"], "unknown signal"),
                          (["--json"], "--json goes with --stats"),
                          (["--stats", "--mpd", "h", "--explain"],
                           "it makes none, so it does not go with --mpd, --explain")):  # fmt: skip
        result = run_cli(env, "weekly", *args)
        assert result.returncode == 1 and message in result.stderr


def test_a_banned_track_is_never_offered(home):
    env, _ = home
    everything = m3u_tracks(weekly(env, "--size", "30", "--week", "2026-W40").stdout, "2026-W40")
    victim = everything[0][1]
    banned = run_cli(env, "ban", victim)
    assert banned.returncode == 0 and "banned" in banned.stderr
    again = m3u_tracks(weekly(env, "--size", "30", "--week", "2026-W40").stdout, "2026-W40")
    assert victim not in {path for _, path in again}
    assert run_cli(env, "ban", victim, "--undo").returncode == 0
    missing = run_cli(env, "ban", "Nobody - Nothing")
    assert missing.returncode == 1 and "no track" in missing.stderr


def test_eval_weekly_on_the_users_own_history(home):
    env, tmp = home
    later = tmp / "later.csv"
    rows = ["listened_at,artist,title"]
    for n, artist in enumerate(f"Shoegaze Artist {i}" for i in (2, 3, 4)):
        rows += [f"{NOW + 3600 * (n * 3 + song)},{artist},Song {song}" for song in (1, 2, 3)]
    later.write_text("\n".join(rows) + "\n")
    assert run_cli(env, "history", "import", str(later)).returncode == 0
    try:
        result = run_cli(env, "eval", "weekly", "--cutoff", "2026-09-20", "--k", "8",
                         "--min-length", "1", "--json")  # fmt: skip
        assert result.returncode == 0, result.stderr
        report = {r["method"]: r for r in json.loads(result.stdout)["results"]}
        assert {"blend", "cf", "text", "audio", "popular", "random"} <= set(report)
        assert report["blend"]["hits"] >= 2 and report["blend"]["picks"] == 8
        assert report["blend"]["hit_rate"] >= report["random"]["hit_rate"]
        assert 0 < report["blend"]["artist_diversity"] <= 1 and 0 <= report["blend"]["novelty"] <= 1
        rates = [report["blend"][f"{kind}_artist_hit_rate"] for kind in ("new", "known")]
        assert any(rate is not None for rate in rates)
        table = run_cli(env, "eval", "weekly", "--cutoff", "2026-09-20", "--min-length", "1")
        assert "Hit rate" in table.stdout and "random" in table.stdout
    finally:
        conn = sqlite3.connect(tmp / "db.sqlite")
        conn.execute("DELETE FROM listens WHERE listened_at >= ?", (NOW,))
        conn.commit()
        conn.close()
    bad = run_cli(env, "eval", "weekly", "--cutoff", "yesterday")
    assert bad.returncode == 1 and "YYYY-MM-DD" in bad.stderr


def test_a_file_name_that_would_forge_m3u_lines_is_left_out_with_a_warning(tmp_path, cli_env):
    music = tmp_path / "Music"
    evil = music / "#evil\n#EXTINF:0,Injected\nINJECTED.flac"
    for n, path in enumerate([evil, *(music / f"{n}.flac" for n in range(3))]):
        make_track(path, seconds=1.0, title=f"T{n}", artist=f"A{n}")
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite")}
    assert run_cli(env, "scan", str(music)).returncode == 0
    for mode in ("absolute", "relative", "music-root"):
        out = music / "discover.m3u"
        result = run_cli(env, "weekly", "--no-update", "--size", "4", "--min-length", "0.5",
                         "--paths", mode, "-o", str(out))  # fmt: skip
        assert result.returncode == 0, result.stderr
        text = out.read_text()
        assert "Injected" not in text and "INJECTED" not in text and text.count("#EXTINF") == 3
        warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
        assert warnings == [
            f"warning: left out {music}/#evil\\n#EXTINF:0,Injected\\nINJECTED.flac: its name "
            "holds a line break or control character, which M3U cannot hold"
        ]
        assert "3 tracks" in result.stderr


def test_reasons_name_their_source_and_none_explains_most_picks(home):
    env, _ = home
    data = json.loads(weekly(env, "--format", "json").stdout)
    reasons = [r for t in data["tracks"] for r in t["reasons"].values()]
    text = [r for t in data["tracks"] for name, r in t["reasons"].items() if name == "text"]
    assert all(r.startswith("your tags say") for r in text)  # nothing was fetched
    assert not any("reviews say" in r for r in reasons)
    assert max(reasons.count(r) for r in reasons) <= len(data["tracks"]) // 2


def test_a_history_too_short_to_learn_from_gets_the_defaults_and_says_so(home):
    env, _ = home
    result = weekly(env, "--refresh")
    assert result.returncode == 0, result.stderr
    assert "too few to learn a blend from" in result.stderr
    assert KNOWN_BLEND.described() in result.stderr  # every artist of the library is known
    given = weekly(env, "--weights", "text=0", "--refresh")
    assert "--weights text=0" in given.stderr and "too few to learn" not in given.stderr


def play_now(env, tmp, artist: str, title: str) -> None:
    listens = tmp / "now.csv"
    listens.write_text(f"listened_at,artist,title\n{int(time.time())},{artist},{title}\n")
    assert run_cli(env, "history", "import", str(listens)).returncode == 0


def forget_plays_after_the_fixture(tmp) -> None:
    conn = sqlite3.connect(tmp / "db.sqlite")
    conn.execute("DELETE FROM listens WHERE listened_at > ?", (NOW,))
    conn.commit()
    conn.close()


def test_a_week_stays_fixed_in_every_format_until_refreshed(home):
    env, tmp = home
    week = ("--week", "2026-W30")
    made = weekly(env, *week, "--refresh", "--format", "json")
    assert "made anew (--refresh)" in made.stderr
    formats = ("m3u", "xspf", "jspf", "json")
    before = {fmt: weekly(env, *week, "--format", fmt).stdout for fmt in formats}
    first = json.loads(before["json"])["tracks"][0]
    play_now(env, tmp, first["artist"], first["title"])  # a rebuild would now leave it out
    try:
        for fmt in formats:
            again = weekly(env, *week, "--format", fmt)
            assert again.stdout == before[fmt], fmt
            assert "note: the weekly of 2026-W30 as made on" in again.stderr
        asked_otherwise = weekly(env, *week, "--size", "5")
        assert "it was made with other settings (size 8, not 5)" in asked_otherwise.stderr
        assert asked_otherwise.stdout == before["m3u"]
        stats = json.loads(run_cli(env, "weekly", "--stats", "--json").stdout)
        assert {row["key"]: row["played"] for row in stats["weeks"]}["2026-W30"] == 1
        assert stats["blends"]["2026-W30"].startswith("blend (defaults learned on HetRec 2K, every")
        remade = json.loads(weekly(env, *week, "--refresh", "--format", "json").stdout)
        assert first["path"] not in {track["path"] for track in remade["tracks"]}
    finally:
        forget_plays_after_the_fixture(tmp)


def test_a_damaged_stored_weekly_is_made_anew_with_a_warning(home):
    env, tmp = home
    week = ("--week", "2026-W31")
    weekly(env, *week)
    conn = sqlite3.connect(tmp / "db.sqlite")
    conn.execute("UPDATE weekly_tracks SET reasons = '{not json' WHERE weekly_id = "
                 "(SELECT id FROM weeklies WHERE week = '2026-W31') AND position = 2")  # fmt: skip
    conn.commit()
    conn.close()
    result = weekly(env, *week)
    assert "warning: the stored weekly of 2026-W31 is damaged (" in result.stderr
    assert "Traceback" not in result.stderr and len(m3u_tracks(result.stdout, "2026-W31")) == 8
    assert weekly(env, *week).stdout == result.stdout  # stored again, and kept


def test_a_weekly_shorter_than_asked_says_why(home):
    env, _ = home
    result = weekly(env, "--week", "2026-W34", "--size", "500")
    offered = len(m3u_tracks(result.stdout, "2026-W34"))
    assert offered < 500
    assert f"note: {offered} tracks, not 500: only " in result.stderr
    assert "tracks may be offered (not played in the last 365 days" in result.stderr


def _dream_pop_finder(tmp_path: Path, cli_env: dict[str, str]) -> tuple[dict[str, str], list[int]]:
    """A listener who keeps finding new dream pop: after each 28-day cut-off, 20 tracks never
    played before, which the weekly made then (from its genre-tag terms) could have offered.
    Their environment, and when each 28 days began."""
    music = tmp_path / "Music"
    for scene, genre in (("Dream", "Dream Pop"), ("Steel", "Thrash")):
        for artist in range(8):
            for number in range(10):
                make_track(music / f"{scene} {artist}" / f"{number:02d}.flac", seconds=0.2,
                           title=f"Song {number}", artist=f"{scene} {artist}", album=scene,
                           genre=genre)  # fmt: skip
    now, horizon = int(time.time()), 28 * 86_400
    starts = [now - horizon * back for back in (5, 4, 3, 2, 1)]  # before, three to fit, check
    rows = ["listened_at,artist,title"]
    for window, start in enumerate(starts):
        artists = (0,) if window == 0 else (2 * window - 1, 2 * window) if window < 4 else (7,)
        rows += [f"{start + 3600 * (n + 1)},Dream {artist},Song {n}"
                 for artist in artists for n in range(10)]  # fmt: skip
    plays = tmp_path / "plays.csv"
    plays.write_text("\n".join(rows) + "\n")
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite")}
    for command in (["scan", str(music)], ["history", "import", str(plays)],
                    ["reviews", "crawl", "--source", "feeds"]):  # fmt: skip
        assert run_cli(env, *command).returncode == 0, command
    return env, starts


LEARNED = "learned from your history (60 plays after 3 cut-offs; cf, cold, audio as the defaults)"


def test_a_long_enough_history_teaches_the_weekly_its_blend(tmp_path, cli_env):
    env, starts = _dream_pop_finder(tmp_path, cli_env)
    now = int(time.time())
    result = run_cli(env, "weekly", "--no-update", "--size", "10", "--min-length", "0.1")
    assert result.returncode == 0, result.stderr
    learned = LEARNED
    assert f"note: {learned}: " in result.stderr
    assert "hits in the latest 28 days against the defaults'" in result.stderr
    line = next(x for x in result.stderr.splitlines() if x.startswith(f"note: blend ({learned})"))
    assert DEFAULT_BLEND.signal_described("cf") in line  # cf kept the default
    assert DEFAULT_BLEND.signal_described("text") not in line  # text learned
    following = run_cli(env, "weekly", "--no-update", "--size", "10", "--min-length", "0.1",
                        "--week", "2099-W01")  # fmt: skip
    assert f"note: {learned}: " in following.stderr
    assert f"(learned on {time.strftime('%Y-%m-%d', time.gmtime(now))}, kept 28 days)" \
        in following.stderr  # fmt: skip
    assert line.removeprefix("note: ") in following.stderr  # the same blend, not learned again
    conn = sqlite3.connect(tmp_path / "db.sqlite")
    try:  # the cut-offs' histories from one pass are those of a pass per cut-off
        cutoffs = [start + 7200 for start in starts]
        for cutoff, one_pass in zip(cutoffs, histories_before(conn, cutoffs), strict=True):
            alone = load_history(conn, before=cutoff)
            assert one_pass.track_plays == alone.track_plays and one_pass.track_plays
            assert one_pass.last_played == alone.last_played
            assert sorted(one_pass.artists) == sorted(alone.artists)
    finally:
        conn.close()


def test_the_pipeline_learns_the_blend_so_the_weekly_reads_it_and_a_damaged_one_is_learned_anew(
    tmp_path, cli_env
):
    from mydiscover.config import load_settings
    from mydiscover.db import open_database
    from mydiscover.pipeline import SilentView, learn_blend
    from mydiscover.recommend.rules import Rules

    class Said(SilentView):
        def __init__(self) -> None:
            self.lines: list[str] = []

        def said(self, line: str) -> None:
            self.lines.append(line)

        def note(self, line: str) -> None:
            self.lines.append(line)

    env, _ = _dream_pop_finder(tmp_path, cli_env)
    database = tmp_path / "db.sqlite"
    settings, conn = load_settings(database), open_database(database)
    try:
        # 'update' learns it with the weekly's default rules; these tracks are 0.2 s long
        for view in (first := Said(), again := Said()):
            learn_blend(conn, settings, view, Rules(min_seconds=0.1))
    finally:
        conn.close()
    assert len(first.lines) == 1 and first.lines[0].startswith(f"blend: {LEARNED}: ")
    assert again.lines == []  # kept: nothing to do
    result = run_cli(env, "weekly", "--no-update", "--size", "10", "--min-length", "0.1")
    assert result.returncode == 0, result.stderr
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert f"note: {LEARNED}: " in result.stderr
    assert f"(learned on {today}, kept 28 days)" in result.stderr  # read, not learned again
    conn = sqlite3.connect(database)
    with conn:
        conn.execute("""UPDATE learned_blend SET blend = '{"weights": 3'""")
    conn.close()
    relearned = run_cli(env, "weekly", "--no-update", "--week", "2099-W01", "--size", "10",
                        "--min-length", "0.1")  # fmt: skip
    assert relearned.returncode == 0, relearned.stderr
    assert f"note: {LEARNED}: " in relearned.stderr and "kept 28 days" not in relearned.stderr
    assert "Traceback" not in relearned.stderr


def test_update_says_why_it_learned_no_blend(home):
    env, _ = home
    updated = run_cli(env, "update", "--offline")
    assert updated.returncode == 0, updated.stderr
    assert "blend: " in updated.stderr and "too few to learn a blend from" in updated.stderr


def test_the_jspf_names_every_tagged_track_by_its_musicbrainz_id(tmp_path, cli_env):
    music = tmp_path / "Music"
    tagged = {}
    for number in range(6):
        fields = {"title": f"Song {number}", "artist": f"Artist {number}", "album": f"LP {number}"}
        if number % 3:  # four of six tagged
            fields["mb_recording_id"] = f"00000000-0000-4000-8000-00000000000{number}"
            fields["mb_artist_id"] = f"00000000-0000-4000-9000-00000000000{number}"
        path = make_track(music / f"{number}.flac", seconds=0.5, **fields)
        tagged[path.name] = fields.get("mb_recording_id")
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite")}
    assert run_cli(env, "scan", str(music)).returncode == 0
    result = run_cli(env, "weekly", "--no-update", "--format", "jspf", "--min-length", "0.1",
                     "--size", "6")  # fmt: skip
    assert result.returncode == 0, result.stderr
    tracks = json.loads(result.stdout)["playlist"]["track"]
    assert len(tracks) == 6
    for track in tracks:
        mbid = tagged[Path(unquote(urlsplit(track["location"][0]).path)).name]
        if mbid:
            assert track["identifier"] == f"https://musicbrainz.org/recording/{mbid}"
            artists = track["extension"]["https://musicbrainz.org/doc/jspf#track"]
            assert artists["artist_identifiers"][0].startswith("https://musicbrainz.org/artist/")
        else:
            assert "identifier" not in track


def test_a_weekly_that_updates_the_stages_first_keeps_the_week(home):
    env, _ = home
    args = ("weekly", "--offline", "--week", "2026-W37", "--size", "8", "--min-length", "1")
    first = run_cli(env, *args)
    second = run_cli(env, *args)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert second.stdout == first.stdout
    assert "made anew" not in first.stderr + second.stderr  # only --refresh remakes a week
    refreshed = run_cli(env, *args, "--refresh")
    assert "made anew (--refresh)" in refreshed.stderr
