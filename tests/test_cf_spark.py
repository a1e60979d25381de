"""The Spark engine on ``local[2]``: the same model file, the same fold-in, the same quality."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from mydiscover.cf.store import load_model, model_path
from tests.colistening import (
    artist_name,
    listenbrainz_line,
    listens_dump_members,
    mlhd_line,
    mlhd_members,
    planted_plays,
    write_files,
    write_hetrec,
)
from tests.helpers import run_cli
from tests.library_factory import make_track

pytest.importorskip("pyspark", reason="the Spark engine is optional: pip install '.[spark]'")
if shutil.which("java") is None:
    pytest.skip("Spark needs a Java runtime", allow_module_level=True)


def _shoegaze_listener(tmp_path: Path, cli_env: dict[str, str]) -> tuple[dict[str, str], Path]:
    """A library of three artists and a history of shoegaze listens (not yet scanned or
    imported): the environment and the database."""
    music = tmp_path / "Music"
    for name in ("Shoegaze Artist 1", "Shoegaze Artist 12", "Techno Artist 12"):
        make_track(music / f"{name}.flac", title="t", artist=name)
    plays = tmp_path / "plays.csv"
    plays.write_text(
        "listened_at,artist,title\n"
        + "".join(f"{1_700_000_000 + n * 600},Shoegaze Artist {n % 3},t\n" for n in range(30))
    )
    db = tmp_path / "db.sqlite"
    env = {**cli_env, "MYDISCOVER_DB": str(db)}
    return env, db


def _assert_shoegaze_first(db: Path) -> None:
    """The fold-in scored the library: the shoegaze listener's shoegaze above techno."""
    conn = sqlite3.connect(db)
    scores = dict(
        conn.execute("SELECT tracks.artist, score FROM cf_scores JOIN tracks ON id = track_id")
    )
    conn.close()
    assert scores["Shoegaze Artist 12"] > scores["Techno Artist 12"]


def test_spark_fit_writes_the_model_the_local_engine_reads(tmp_path, cli_env):
    env, db = _shoegaze_listener(tmp_path, cli_env)
    for command in (["scan", str(tmp_path / "Music")],
                    ["history", "import", str(tmp_path / "plays.csv")],
                    ["cf", "import", str(write_hetrec(tmp_path / "h"))]):  # fmt: skip
        assert run_cli(env, *command).returncode == 0, command
    result = run_cli(
        env, "cf", "fit", "--engine", "spark", "--spark-master", "local[2]", "--factors", "8",
        "--iterations", "8",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "folded you in: 3 of your 3 artists" in result.stderr
    model = load_model(model_path(db))
    assert model.meta["engine"] == "spark"
    assert model.meta["parameters"]["scale_regularization"] is True
    assert model.als.item_factors is not None and model.als.item_factors.shape == (60, 8)
    assert model.als.item_factors.any(axis=1).all()  # every artist got factors back from Spark
    _assert_shoegaze_first(db)
    status = json.loads(run_cli(env, "cf", "status", "--json").stdout)
    assert status["model"]["engine"] == "spark"


def test_unreachable_spark_master_is_one_clear_error(tmp_path, cli_env):
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite")}
    assert run_cli(env, "cf", "import", str(write_hetrec(tmp_path / "h"))).returncode == 0
    result = run_cli(env, "cf", "fit", "--engine", "spark", "--spark-master", "nonsense://x")
    assert result.returncode == 1
    assert "could not start Spark on nonsense://x" in result.stderr


def _planted_dump(folder: Path, damaged: bool = True) -> Path:
    """The planted co-listening of tests/colistening.py as an extracted ListenBrainz dump:
    a listen per play (at most 6 per pair, a minute apart), some damaged lines."""
    listens: dict[str, list[str]] = {}
    for listener, _, group, index, plays in planted_plays(listeners=80, per_listener=10):
        user = f"listener {listener}"
        listens.setdefault(user, []).extend(
            listenbrainz_line(user, artist_name(group, index), None,
                              1_600_000_000 + 60 * n + listener)
            for n in range(min(plays, 6))
        )  # fmt: skip
    if damaged:
        listens["listener 0"] += ["{not json", '{"user_name": "x"}', "[1, 2]"]
    return write_files(folder, listens_dump_members(listens))


def _same_data(local, spark) -> None:
    assert spark.shape == local.shape and spark.pairs == local.pairs
    assert dict(zip(spark.keys, spark.popularity.tolist(), strict=True)) == dict(
        zip(local.keys, local.popularity.tolist(), strict=True)
    )
    for count in ("rows_read", "rows_skipped", "rows_filtered"):
        assert spark.meta[count] == local.meta[count], count


def test_an_import_on_spark_keys_filters_and_counts_as_the_local_import_does(tmp_path):
    from mydiscover.cf.datasets import read_dataset
    from mydiscover.cf.matrix import ImportFilters
    from mydiscover.cf.spark_data import SparkDataset, import_on_spark
    from mydiscover.errors import DatasetError

    dump = _planted_dump(tmp_path / "lb")
    mbids = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(12)]
    mlhd = write_files(tmp_path / "mlhd", mlhd_members({
        f"{user:08x}-1111-4000-8000-000000000000": [
            mlhd_line(1_500_000_000 + n, [mbids[(user * 7 + n * n) % 12], mbids[0]], "r", "c")
            for n in range(user + 3)
        ] + ["damaged", "123\t"]
        for user in range(15)
    }))  # fmt: skip
    filters = ImportFilters(since=1_600_000_120, min_listeners=3, min_items=2, sample_users=50)
    kept: list[SparkDataset] = []
    cases = [(dump, "listenbrainz", filters), (dump, "auto", None), (mlhd, "auto", None)]
    for number, (path, fmt, given) in enumerate(cases):
        local = read_dataset(path, "mlhd" if path == mlhd else "listenbrainz", None, given)
        output = (tmp_path / f"out{number}").as_uri()
        spark = import_on_spark(str(path), fmt, output, "local[2]", kept.append, given)
        assert kept[-1] is spark
        _same_data(local, spark)
        assert spark.meta["dataset_format"] == ("mlhd" if path == mlhd else "listenbrainz")
        assert spark.ratings.startswith(f"file:{tmp_path}/out{number}/plays-")
        assert list((tmp_path / f"out{number}").glob("plays-*/_SUCCESS"))
    assert kept[0].meta["rows_filtered"] > 0 and kept[0].meta["rows_skipped"] == 3
    assert kept[-1].keys[0] == "mbid:" + mbids[0]  # MLHD's artists by MBID
    with pytest.raises(DatasetError, match="Spark cannot read it"):
        import_on_spark(str(tmp_path / "missing"), "auto", output, "local[2]", kept.append)


def test_cf_import_and_fit_on_spark_end_to_end_leave_the_model_the_weekly_folds_into(
    tmp_path, cli_env
):
    env, db = _shoegaze_listener(tmp_path, cli_env)
    for command in (["scan", str(tmp_path / "Music")],
                    ["history", "import", str(tmp_path / "plays.csv")]):  # fmt: skip
        assert run_cli(env, *command).returncode == 0, command
    dump = _planted_dump(tmp_path / "dump folder", damaged=False)
    imported = run_cli(env, "cf", "import", "--engine", "als-spark", dump.as_uri())
    assert imported.returncode == 0, imported.stderr
    assert "imported listenbrainz: 80 listeners x" in imported.stderr
    local = run_cli(env, "cf", "fit")  # the local engine cannot fit plays left on the cluster
    assert local.returncode == 1
    assert "imported on Spark, so it is fitted there" in local.stderr
    fitted = run_cli(env, "cf", "fit", "--engine", "als-spark", "--factors", "8",
                     "--iterations", "8", "--weighting", "bm25")  # fmt: skip
    assert fitted.returncode == 0, fitted.stderr
    assert "folded you in: 3 of your 3 artists" in fitted.stderr
    model = load_model(model_path(db))
    assert model.meta["engine"] == "spark" and model.meta["weighting"]["scheme"] == "bm25"
    assert model.als.item_factors is not None and model.als.item_factors.any(axis=1).all()
    assert model.popularity.sum() > 0 and model.meta["items"] == len(model.names)
    _assert_shoegaze_first(db)
    status = json.loads(run_cli(env, "cf", "status", "--json").stdout)
    assert status["dataset"]["engine"] == "spark" and status["dataset"]["listeners"] == 80
    # Importing again replaces the dataset, and its play counts, only once the new ones are in.
    first = list((tmp_path / "db-cf" / "spark-plays").glob("plays-*"))
    again = run_cli(env, "cf", "import", "--engine", "als-spark", str(dump), "--min-items", "5")
    assert again.returncode == 0, again.stderr
    second = list((tmp_path / "db-cf" / "spark-plays").glob("plays-*"))
    assert len(first) == len(second) == 1 and first != second
