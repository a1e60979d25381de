"""The Spark engine on ``local[2]``: the same model file, the same fold-in, the same quality."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from mydiscover.cf.store import load_model, model_path
from tests.colistening import write_hetrec
from tests.helpers import run_cli
from tests.library_factory import make_track

pytest.importorskip("pyspark", reason="the Spark engine is optional: pip install '.[spark]'")
if shutil.which("java") is None:
    pytest.skip("Spark needs a Java runtime", allow_module_level=True)


def test_spark_fit_writes_the_model_the_local_engine_reads(tmp_path, cli_env):
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
    for command in (["scan", str(music)], ["history", "import", str(plays)],
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
    conn = sqlite3.connect(db)
    scores = dict(
        conn.execute("SELECT tracks.artist, score FROM cf_scores JOIN tracks ON id = track_id")
    )
    conn.close()
    assert scores["Shoegaze Artist 12"] > scores["Techno Artist 12"]
    status = json.loads(run_cli(env, "cf", "status", "--json").stdout)
    assert status["model"]["engine"] == "spark"


def test_unreachable_spark_master_is_one_clear_error(tmp_path, cli_env):
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite")}
    assert run_cli(env, "cf", "import", str(write_hetrec(tmp_path / "h"))).returncode == 0
    result = run_cli(env, "cf", "fit", "--engine", "spark", "--spark-master", "nonsense://x")
    assert result.returncode == 1
    assert "could not start Spark on nonsense://x" in result.stderr
