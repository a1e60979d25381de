"""End to end: ``mydiscover cf`` and ``eval cf`` on a real database, library and dataset."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from mydiscover.cf.store import dataset_path, model_path
from tests.colistening import (
    mlhd_line,
    planted_plays,
    write_hetrec,
    write_lastfm_360k,
    write_mlhd,
)
from tests.helpers import run_cli
from tests.library_factory import make_track

PLAYED = [f"Shoegaze Artist {n}" for n in range(6)]
MBID = "5cbef01b-cc35-4f52-af7b-d0df0c4f61b9"


@pytest.fixture
def setup(tmp_path, cli_env):
    """A library, a history of shoegaze listens, and a HetRec-format public dataset."""
    music = tmp_path / "Music"
    for name in [*PLAYED, "Shoegaze Artist 11", "Metal Artist 13", "Nobody Knows Us"]:
        make_track(music / name / "song.flac", title=f"Song of {name}", artist=name)
    history = tmp_path / "history.csv"
    lines = ["listened_at,artist,title"]
    for day in range(30):
        for number, name in enumerate(PLAYED):
            lines.append(f"{1_700_000_000 + day * 86_400 + number * 600},{name},Song of {name}")
    history.write_text("\n".join(lines) + "\n")
    db = tmp_path / "data" / "mydiscover.db"
    env = {**cli_env, "MYDISCOVER_DB": str(db)}
    for command in (["scan", str(music)], ["history", "import", str(history)]):
        assert run_cli(env, *command).returncode == 0
    return env, db, write_hetrec(tmp_path / "hetrec")


def scores(db) -> dict[str, tuple]:
    conn = sqlite3.connect(db)
    try:
        return {
            artist: (score, percentile, matched_by, because)
            for artist, score, percentile, matched_by, because in conn.execute(
                "SELECT tracks.artist, score, percentile, matched_by, because FROM cf_scores "
                "JOIN tracks ON tracks.id = cf_scores.track_id"
            )
        }
    finally:
        conn.close()


def test_import_fit_and_score_the_library(setup):
    env, db, hetrec = setup
    imported = run_cli(env, "cf", "import", str(hetrec))
    assert imported.returncode == 0, imported.stderr
    assert "240 listeners x 60 artists" in imported.stderr
    assert dataset_path(db).exists() and imported.stdout == ""

    fitted = run_cli(env, "cf", "fit", "--factors", "8", "--regularization", "1")
    assert fitted.returncode == 0, fitted.stderr
    assert "folded you in: 6 of your 6 artists are in the public data" in fitted.stderr
    assert model_path(db).exists()

    scored = scores(db)
    assert "Nobody Knows Us" not in scored  # not in the public data: no CF score
    assert set(scored) == {*PLAYED, "Shoegaze Artist 11", "Metal Artist 13"}
    # The unplayed artist of the user's scene beats the one from another scene.
    assert scored["Shoegaze Artist 11"][0] > scored["Metal Artist 13"][0]
    assert scored["Shoegaze Artist 11"][3] in PLAYED
    assert all(row[2] == "name" for row in scored.values())

    top = json.loads(run_cli(env, "cf", "top", "--json").stdout)["artists"]
    assert top[0]["artist"].startswith("Shoegaze")
    assert [row["artist"] for row in top].index("Metal Artist 13") == len(top) - 1

    status = json.loads(run_cli(env, "cf", "status", "--json").stdout)
    assert status["dataset"]["listeners"] == 240
    assert status["model"]["engine"] == "implicit"
    assert status["model"]["parameters"]["factors"] == 8
    assert status["fold"]["scored_tracks"] == 8
    human = run_cli(env, "cf", "status")
    assert "240 listeners" in human.stdout and "6 of 6 artists known" in human.stdout


def test_score_again_after_new_history_without_refitting(setup, tmp_path):
    env, db, hetrec = setup
    run_cli(env, "cf", "import", str(hetrec))
    run_cli(env, "cf", "fit", "--factors", "8", "--regularization", "1")
    fitted_at = model_path(db).stat().st_mtime_ns
    before = scores(db)["Metal Artist 13"][0]
    metal = tmp_path / "metal.csv"
    rows = ["listened_at,artist,title"] + [
        f"{1_710_000_000 + n * 300},Metal Artist {n % 4},Riff {n % 4}" for n in range(400)
    ]
    metal.write_text("\n".join(rows) + "\n")
    assert run_cli(env, "history", "import", str(metal)).returncode == 0
    result = run_cli(env, "cf", "score")
    assert result.returncode == 0, result.stderr
    assert "6 of your 10 artists" not in result.stderr and "of your 10 artists" in result.stderr
    assert scores(db)["Metal Artist 13"][0] > before
    assert model_path(db).stat().st_mtime_ns == fitted_at


def test_similar_artists_from_the_model(setup):
    env, _, hetrec = setup
    run_cli(env, "cf", "import", str(hetrec))
    run_cli(env, "cf", "fit", "--factors", "8", "--regularization", "1")
    result = run_cli(env, "cf", "similar", "shoegaze artist 2", "-n", "5", "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["artist"] == "Shoegaze Artist 2"
    assert sum(row["artist"].startswith("Shoegaze") for row in answer["similar"]) >= 4
    missing = run_cli(env, "cf", "similar", "Nobody Knows Us")
    assert missing.returncode == 1 and "not in the public co-listening data" in missing.stderr


def test_tracks_match_public_artists_by_mbid_first(tmp_path, cli_env):
    music = tmp_path / "Music"
    alias = "Shoegaze Artist Zero (alias)"
    make_track(music / "a.flac", title="x", artist=alias, mb_artist_id=MBID)
    make_track(music / "b.flac", title="y", artist="Shoegaze Artist 3")
    rows = []
    for listener, _, group, index, plays in planted_plays():
        mbid = MBID if (group, index) == (0, 0) else ""
        name = ("Shoegaze", "Metal", "Jazz", "Techno")[group] + f" Artist {index}"
        rows.append(f"user{listener}\t{mbid}\t{name}\t{plays}")
    dataset = write_lastfm_360k(tmp_path / "usersha1-artmbid-artname-plays.tsv.gz", rows)
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite")}
    history = tmp_path / "h.csv"
    history.write_text("listened_at,artist,title\n1700000000,Shoegaze Artist 1,t\n")
    for command in (["scan", str(music)], ["history", "import", str(history)],
                    ["cf", "import", str(dataset)], ["cf", "fit", "--factors", "4"]):  # fmt: skip
        result = run_cli(env, *command)
        assert result.returncode == 0, (command, result.stderr)
    scored = scores(tmp_path / "db.sqlite")
    assert scored["Shoegaze Artist Zero (alias)"][2] == "mbid"
    assert scored["Shoegaze Artist 3"][2] == "name"


def test_clear_errors_before_any_data(setup, tmp_path):
    env, _, _ = setup
    fit = run_cli(env, "cf", "fit")
    assert fit.returncode == 1 and "run 'mydiscover cf import' first" in fit.stderr
    score = run_cli(env, "cf", "score")
    assert score.returncode == 1 and "run 'mydiscover cf fit' first" in score.stderr
    missing = run_cli(env, "cf", "import", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and "no such file or folder" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    top = run_cli(env, "cf", "top")
    assert top.returncode == 1 and "no CF scores yet" in top.stderr
    status = run_cli(env, "cf", "status")
    assert "none: run 'mydiscover cf import'" in status.stdout


def test_fit_without_history_keeps_the_model_and_says_why(tmp_path, cli_env):
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite")}
    assert run_cli(env, "cf", "import", str(write_hetrec(tmp_path / "h"))).returncode == 0
    result = run_cli(env, "cf", "fit", "--factors", "4")
    assert result.returncode == 0, result.stderr
    assert "not folded in: no listening history" in result.stderr
    assert model_path(tmp_path / "db.sqlite").exists()


@pytest.mark.parametrize("protocol", ["holdout", "kfold"])
def test_eval_cf_measures_models_against_baselines(tmp_path, cli_env, protocol):
    hetrec = write_hetrec(tmp_path / "h")
    result = run_cli(
        cli_env, "eval", "cf", "--dataset", str(hetrec), "--protocol", protocol, "--folds", "3",
        "--models", "popular,itemknn,als", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    by_model = {row["model"]: row for row in report["results"]}
    assert set(by_model) == {"popular", "itemknn", "als"}
    assert by_model["als"]["ndcg"] > by_model["popular"]["ndcg"]
    assert 0 < by_model["als"]["coverage"] <= 1
    assert report["protocol"] == protocol and report["listeners"] == 240


def test_eval_cf_table_and_bad_options(tmp_path, cli_env):
    hetrec = write_hetrec(tmp_path / "h")
    table = run_cli(cli_env, "eval", "cf", "--dataset", str(hetrec), "--models", "popular")
    assert table.returncode == 0 and "NDCG@10" in table.stdout and "popular" in table.stdout
    bad = run_cli(cli_env, "eval", "cf", "--dataset", str(hetrec), "--models", "svd")
    assert bad.returncode == 1 and "unknown model svd" in bad.stderr
    missing = tmp_path / "never-downloaded"  # the protocol is refused before any reading
    for command in ("cf", "text"):
        refused = run_cli(cli_env, "eval", command, "--dataset", str(missing), "--protocol", "x")
        assert refused.returncode == 1 and "unknown protocol 'x'" in refused.stderr


def test_mlhd_knows_artists_by_mbid_and_learns_their_names_from_the_library(tmp_path, cli_env):
    """An MLHD archive (artists by MBID only) of the planted listeners: a tagged track is
    matched by MBID; an untagged one by the name its artist's tagged track gives the MBID."""

    def mbid(group: int, index: int) -> str:
        return f"{group:04x}{index:04x}-0000-4000-8000-000000000000"

    music = tmp_path / "Music"
    make_track(music / "a.flac", title="x", artist="Shoegaze Artist 1", mb_artist_id=mbid(0, 1))
    make_track(music / "b.flac", title="y", artist="Shoegaze Artist 1")  # untagged
    make_track(music / "c.flac", title="z", artist="Nobody Knows Us")  # untagged, unknown
    listeners: dict[str, list[str]] = {}
    for listener, _, group, index, plays in planted_plays():
        lines = listeners.setdefault(f"{listener:08x}-aaaa-4aaa-8aaa-aaaaaaaaaaaa", [])
        lines += [mlhd_line(1_600_000_000 + n, [mbid(group, index)]) for n in range(min(plays, 5))]
        lines.append(mlhd_line(1_560_000_000, [mbid(group, index)]))  # 2019: --since drops it
    dataset = write_mlhd(tmp_path / "MLHD_000.tar", listeners, ".txt.zst")
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite")}
    history = tmp_path / "h.csv"
    history.write_text("listened_at,artist,title\n1700000000,Shoegaze Artist 1,x\n")
    for command in (["scan", str(music)], ["history", "import", str(history)]):
        assert run_cli(env, *command).returncode == 0, command
    imported = run_cli(env, "cf", "import", str(dataset), "--since", "2020-09-13")
    assert imported.returncode == 0, imported.stderr
    assert "imported mlhd: 240 listeners x 60 artists" in imported.stderr
    assert "(2,880 rows left out by the filters)" in imported.stderr
    assert ("note: this dataset knows artists by MusicBrainz ID only (1 of them named from "
            "your tags and listens): 1 of your library's 3 tracks have no artist MBID") \
        in imported.stderr  # fmt: skip
    fitted = run_cli(env, "cf", "fit", "--factors", "4")
    assert fitted.returncode == 0, fitted.stderr
    scored = scores(tmp_path / "db.sqlite")
    assert scored["Shoegaze Artist 1"][2] in {"mbid", "name"}
    assert "Nobody Knows Us" not in scored
    conn = sqlite3.connect(tmp_path / "db.sqlite")
    matched = sorted(row[0] for row in conn.execute("SELECT matched_by FROM cf_scores"))
    conn.close()
    assert matched == ["mbid", "name"]  # the tagged track, and the untagged one by name


def test_a_dataset_imported_on_spark_is_shown_fitted_there_only_and_replaced_by_a_local_import(
    setup, tmp_path
):
    from mydiscover.cf.spark_data import SparkDataset
    from mydiscover.cf.store import spark_dataset_path

    env, db, _ = setup
    imported = SparkDataset(
        "hdfs:///mydiscover/plays-1", 40, 120, ["shoegaze artist 0", "mbid:" + MBID],
        ["Shoegaze Artist 0", MBID], ["", MBID], np.array([30, 12]),
        {"source": "hdfs:///dumps/mlhd", "dataset_format": "mlhd", "engine": "spark"},
    )  # fmt: skip
    imported.save(spark_dataset_path(db))
    status = json.loads(run_cli(env, "cf", "status", "--json").stdout)["dataset"]
    assert status["engine"] == "spark" and status["format"] == "mlhd"
    assert (status["listeners"], status["artists"], status["play_counts"]) == (40, 2, 120)
    local = run_cli(env, "cf", "fit")
    assert local.returncode == 1
    assert "imported on Spark, so it is fitted there: 'mydiscover cf fit --engine als-spark'" \
        in local.stderr  # fmt: skip
    assert not model_path(db).exists()
    update = run_cli(env, "update", "--offline")
    assert "the dataset imported on Spark is fitted there" in update.stderr
    wrong = run_cli(env, "cf", "import", "--engine", "ease", str(tmp_path))
    assert wrong.returncode != 0 and "choose als or als-spark" in wrong.stderr
    assert run_cli(env, "cf", "import", str(write_hetrec(tmp_path / "h"))).returncode == 0
    assert dataset_path(db).exists() and not spark_dataset_path(db).exists()
    assert json.loads(run_cli(env, "cf", "status", "--json").stdout)["dataset"]["engine"] == "local"
