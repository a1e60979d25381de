"""The weekly's scoring core called directly on a real SQLite file: a scanned library of two
scenes, analyses with planted embeddings, a listening history, a CF model fitted by the real
stage on planted public data, and terms built from the files' genre tags.

The listener plays shoegaze; every signal must prefer the unplayed shoegaze tracks to the
metal ones, and the cold start must do so for artists the public data has never heard of.
"""

from __future__ import annotations

import dataclasses
import sqlite3

import numpy as np
import pytest

from mydiscover.audio.analyze import TrackAnalysis
from mydiscover.audio.descriptors import Descriptors
from mydiscover.audio.embed import EMBEDDING_SIZE, TrackEmbedding
from mydiscover.audio.tables import pending_tracks, store_analysis
from mydiscover.cf.fit import fit_model, import_dataset
from mydiscover.cf.store import load_model
from mydiscover.db import open_database, transaction
from mydiscover.history.importer import import_files
from mydiscover.history.tables import load_history
from mydiscover.recommend.library import load_library
from mydiscover.recommend.signals import LinearMap, audio_signal, cf_signals, text_signal
from mydiscover.recommend.tables import store_audio_map
from mydiscover.text.terms import build_terms
from tests.colistening import write_hetrec
from tests.helpers import scan
from tests.library_factory import make_track

PLAYED = [f"Shoegaze Artist {n}" for n in range(4)]
SCENES = {"Shoegaze": "Dream Pop", "Metal": "Thrash Metal"}
#: Artists the public data lacks, one of each scene.
NEWCOMERS = {"Newcomer Dreamy": "Shoegaze", "Newcomer Heavy": "Metal"}


def _embedding(scene: str, rng: np.random.Generator) -> np.ndarray:
    """A scene's direction in embedding space, plus a little noise."""
    direction = np.zeros(EMBEDDING_SIZE, np.float32)
    direction[0 if scene == "Shoegaze" else 1] = 1.0
    return direction + rng.normal(0, 0.05, EMBEDDING_SIZE).astype(np.float32)


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    """The database, the library, the history and the fitted model."""
    tmp = tmp_path_factory.mktemp("signals")
    music = tmp / "Music"
    scene_of: dict[str, str] = dict(NEWCOMERS)
    for scene in SCENES:
        for n in range(10):
            scene_of[f"{scene} Artist {n}"] = scene
    for artist, scene in scene_of.items():
        for number in (1, 2):
            make_track(music / artist / f"{number}.flac", title=f"{artist} Song {number}",
                       artist=artist, album=f"{artist} LP", genre=SCENES[scene])  # fmt: skip
    conn = open_database(tmp / "db.sqlite")
    scan(conn, music)
    rng = np.random.default_rng(3)
    artists = dict(conn.execute("SELECT id, artist FROM tracks"))
    with transaction(conn):
        for track in pending_tracks(conn, 1):
            embedding = TrackEmbedding(_embedding(scene_of[artists[track.id]], rng),
                                       np.zeros(50, np.float32), 1)  # fmt: skip
            descriptors = Descriptors(120.0, 3.0, "C", "major", 0.5, -14.0, 0.0, 1.0)
            store_analysis(conn, track, 1, TrackAnalysis(descriptors, embedding, 0.5, "test"),
                           None)  # fmt: skip
    history = tmp / "history.csv"
    rows = ["listened_at,artist,title"] + [
        f"{1_700_000_000 + day * 86_400 + n * 600},{artist},{artist} Song 1"
        for day in range(15) for n, artist in enumerate(PLAYED)
    ]  # fmt: skip
    history.write_text("\n".join(rows) + "\n")
    import_files(conn, [history])
    database = tmp / "db.sqlite"
    import_dataset(write_hetrec(tmp / "hetrec"), "auto", database)
    model = load_model(fit_model(database, "als", factors=8).target)
    build_terms(conn)
    yield conn, load_library(conn), load_history(conn), model
    conn.close()


def _mean_by_scene(signal, library, scenes: tuple[str, ...]) -> dict[str, float]:
    """The signal's mean score over the unplayed tracks of each scene's artists."""
    scores = dict(zip(signal.rows.tolist(), signal.scores.tolist(), strict=True))
    means = {}
    for scene in scenes:
        values = [
            scores[row] for row, artist in enumerate(library.artists)
            if row in scores and artist.startswith(scene) and artist not in PLAYED
        ]  # fmt: skip
        means[scene] = float(np.mean(values))
    return means


def test_cf_scores_the_listeners_scene_above_the_other(setting):
    conn, library, history, model = setting
    [cf, cold] = cf_signals(conn, model, history, library)
    assert cf.name == "cf" and cold.name == "cold"
    means = _mean_by_scene(cf, library, ("Shoegaze", "Metal"))
    assert means["Shoegaze"] > means["Metal"]
    scored = {library.artists[row] for row in cf.rows.tolist()}
    assert not scored & set(NEWCOMERS)  # the public data has never heard of them
    row = next(r for r in cf.rows.tolist() if library.artists[r] == "Shoegaze Artist 7")
    assert "listeners of Shoegaze Artist" in cf.explain(row) or "more of" in cf.explain(row)


def test_the_cold_start_scores_newcomers_by_their_sound_on_cfs_scale(setting):
    conn, library, history, model = setting
    cf, cold = cf_signals(conn, model, history, library)
    newcomers = {library.artists[row]: score for row, score in
                 zip(cold.rows.tolist(), cold.scores.tolist(), strict=True)}  # fmt: skip
    assert set(newcomers) == set(NEWCOMERS)  # only the tracks CF cannot score
    assert newcomers["Newcomer Dreamy"] > newcomers["Newcomer Heavy"]
    # On CF's own scale: a newcomer scores about what CF gives the artists it sounds like.
    known = _mean_by_scene(cf, library, ("Shoegaze", "Metal"))
    assert newcomers["Newcomer Dreamy"] == pytest.approx(known["Shoegaze"], abs=0.1)
    assert newcomers["Newcomer Heavy"] == pytest.approx(known["Metal"], abs=0.1)
    dreamy = next(r for r in cold.rows.tolist() if library.artists[r] == "Newcomer Dreamy")
    assert cold.explain(dreamy).startswith("new to the public data; sounds like Shoegaze Artist")


def test_audio_prefers_what_sounds_like_the_played_tracks(setting):
    _, library, history, _ = setting
    audio = audio_signal(history, library, seed=1)
    assert audio is not None
    means = _mean_by_scene(audio, library, ("Shoegaze", "Metal", "Newcomer Dreamy",
                                            "Newcomer Heavy"))  # fmt: skip
    assert means["Shoegaze"] > means["Metal"]
    assert means["Newcomer Dreamy"] > means["Newcomer Heavy"]
    row = next(r for r in audio.rows.tolist() if library.artists[r] == "Newcomer Dreamy")
    said = audio.explain(row)
    assert said.startswith("sounds like Shoegaze Artist") and said.endswith("which you play")


def test_text_prefers_the_genres_the_listener_plays(setting):
    conn, library, history, _ = setting
    text = text_signal(conn, history, library)
    assert text is not None
    means = _mean_by_scene(text, library, ("Shoegaze", "Metal"))
    assert means["Shoegaze"] > means["Metal"]
    row = next(r for r in text.rows.tolist() if library.artists[r] == "Shoegaze Artist 8")
    assert text.explain(row) == "your tags say 'dream pop'"


def test_the_cold_starts_map_is_stored_and_read_back_until_the_model_changes(setting):
    conn, _, history, model = setting
    library = load_library(conn)  # a new library: nothing fitted in this process for it
    [_, cold] = cf_signals(conn, model, history, library)
    [(made_from, stored)] = conn.execute("SELECT made_from, map FROM audio_to_cf").fetchall()
    fitted = LinearMap.from_bytes(stored)
    # A map stored for the same model and tracks is read, not fitted again: one planted with
    # zero weights predicts every newcomer the same.
    planted = LinearMap(np.zeros_like(fitted.weights), fitted.x_mean, fitted.y_mean)
    store_audio_map(conn, made_from, planted.to_bytes())
    try:
        [_, read] = cf_signals(conn, model, history, load_library(conn))
        assert np.ptp(read.scores) == pytest.approx(0, abs=1e-9)
        assert np.ptp(cold.scores) > 0.1
        # Another fit of the model is another map: fitted again, and stored in its place.
        refitted = dataclasses.replace(model, meta={**model.meta, "fitted_at": "later"})
        [_, again] = cf_signals(conn, refitted, history, load_library(conn))
        assert np.allclose(again.scores, cold.scores)
        [(other,)] = conn.execute("SELECT made_from FROM audio_to_cf").fetchall()
        assert other != made_from
    finally:
        with transaction(conn):
            conn.execute("DELETE FROM audio_to_cf")


def test_a_damaged_stored_map_is_fitted_again(setting):
    conn, _, history, model = setting
    [_, cold] = cf_signals(conn, model, history, load_library(conn))
    with transaction(conn):
        conn.execute("UPDATE audio_to_cf SET map = x'00ff00'")
    try:
        [_, again] = cf_signals(conn, model, history, load_library(conn))
        assert np.allclose(again.scores, cold.scores)
        [(stored,)] = conn.execute("SELECT map FROM audio_to_cf").fetchall()
        LinearMap.from_bytes(stored)  # stored anew, readable
    finally:
        with transaction(conn):
            conn.execute("DELETE FROM audio_to_cf")


def test_centred_similarities_are_those_of_the_centred_embeddings(setting):
    conn, _, _, _ = setting
    library = load_library(conn)
    library.analysed[:3] = False  # as tracks never analysed: zero rows, left out of the mean
    library.embeddings[:3] = 0
    rows = np.flatnonzero(library.analysed)
    centred = library.embeddings[rows] - library.embeddings[rows].mean(axis=0)
    centred /= np.linalg.norm(centred, axis=1, keepdims=True)
    assert np.allclose(library.centred(rows), centred, atol=1e-5)
    vectors = np.random.default_rng(5).normal(size=(4, EMBEDDING_SIZE))
    assert np.allclose(library.centred_similarity(vectors)[rows], centred @ vectors.T, atol=1e-4)


def test_a_damaged_embedding_counts_as_not_analysed(setting, tmp_path):
    conn, library, _, _ = setting
    copy = sqlite3.connect(tmp_path / "copy.sqlite")
    conn.backup(copy)
    [victim] = copy.execute("SELECT track_id FROM track_audio LIMIT 1").fetchone()
    copy.execute("UPDATE track_audio SET embedding = x'0000803f' WHERE track_id = ?", (victim,))
    copy.commit()
    damaged = load_library(copy)
    copy.close()
    row = damaged.row_of()[victim]
    assert not damaged.analysed[row] and not damaged.embeddings[row].any()
    assert damaged.analysed.sum() == library.analysed.sum() - 1
    others = np.flatnonzero(damaged.ids != victim)
    assert np.array_equal(damaged.embeddings[others], library.embeddings[others])
