"""Audio analysis end to end: real generated files through decoding, descriptors, the
network and the database, and the ``analyze`` command."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("essentia")

from mydiscover.audio.analyze import ANALYSIS_VERSION, EMBED_SECONDS, analyze_file, middle
from mydiscover.audio.tables import load_embeddings, pending_tracks
from tests.helpers import (
    SR,
    click_track,
    interruptible_child,
    progression,
    run_cli,
    stored_analyses,
    write_music,
)
from tests.library_factory import write_audio


def test_a_click_track_is_analysed(tmp_path: Path) -> None:
    path = write_music(tmp_path / "clicks.flac", click_track(120, seconds=30))

    analysis = analyze_file(str(path).encode())

    assert analysis.descriptors.bpm == pytest.approx(120, rel=0.04)
    assert analysis.embedding is not None and analysis.embedding.patches == 10
    assert analysis.embedding.embedding.shape == (200,)
    assert analysis.analysed_seconds == pytest.approx(30, abs=0.1)


def test_a_long_track_is_heard_by_the_network_in_the_middle_of_each_excerpt(tmp_path: Path) -> None:
    path = write_music(tmp_path / "long.flac", click_track(96, seconds=150))

    analysis = analyze_file(str(path).encode())

    assert analysis.analysed_seconds == pytest.approx(60, abs=0.1)  # three 20-s excerpts
    assert analysis.descriptors.bpm == pytest.approx(96, rel=0.04)
    assert analysis.embedding is not None and analysis.embedding.patches == 9  # 3 x 3 s each
    excerpt = np.arange(20 * SR, dtype=np.float32)
    heard = middle(excerpt)
    assert len(heard) == EMBED_SECONDS * SR and heard[0] == 5 * SR  # 5 s cut at either end
    assert len(middle(excerpt[: 4 * SR])) == 4 * SR  # shorter than that: all of it


def test_embedding_tells_pieces_apart(tmp_path: Path) -> None:
    # Two excerpts of one piece are nearer each other than either is to another piece.
    chords = progression(0, "major")
    first = write_music(tmp_path / "a.flac", chords[: 12 * SR])
    second = write_music(tmp_path / "b.flac", chords[12 * SR : 24 * SR])
    other = write_music(tmp_path / "c.flac", click_track(140, seconds=12))

    vectors = [analyze_file(str(p).encode()).embedding.embedding for p in (first, second, other)]
    unit = [v / np.linalg.norm(v) for v in vectors]

    same = float(unit[0] @ unit[1])
    assert same > float(unit[0] @ unit[2]) and same > float(unit[1] @ unit[2])


def test_analyze_command_is_incremental_and_records_failures(
    cli_env, library: Path, db_path: Path
) -> None:
    write_music(library / "clicks.flac", click_track(100, seconds=20), title="Clicks")
    write_music(library / "chords.ogg", progression(7, "minor")[: 20 * SR], title="Chords")
    write_audio(library / "tiny.wav", seconds=1.0)
    # A Monkey's Audio header with no audio: its tags read, its sound does not.
    write_audio(library / "hollow.ape", seconds=5.0)
    db = ["--db", str(db_path)]
    assert run_cli(cli_env, "scan", *db, str(library)).returncode == 0

    first = run_cli(cli_env, "analyze", *db)
    again = run_cli(cli_env, "analyze", *db)

    assert "Analysed 4 tracks" in first.stderr, first.stderr
    assert "Nothing to analyse" in again.stderr and again.returncode == 0
    conn = sqlite3.connect(db_path)
    rows = {
        Path(path).name: (bpm, key, error, patches)
        for path, bpm, key, error, patches in conn.execute(
            "SELECT tracks.path_text, bpm, key, track_audio.error, patches FROM track_audio "
            "JOIN tracks ON tracks.id = track_audio.track_id"
        )
    }
    assert rows["clicks.flac"][0] == pytest.approx(100, rel=0.04)
    assert rows["tiny.wav"][3] is None  # shorter than one 3-s patch: no embedding, no crash
    assert "Invalid data" in rows["hollow.ape"][2]  # recorded with the decoder's reason
    assert first.returncode == 1 and "could not be analysed" in first.stderr
    ids, vectors = load_embeddings(conn)
    assert len(ids) >= 2 and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)

    # A changed file, and only it, is analysed again; so is everything for a newer analyser.
    write_music(library / "clicks.flac", click_track(130, seconds=20), title="Clicks")
    assert run_cli(cli_env, "scan", *db, str(library)).returncode == 0
    conn.close()
    from mydiscover.db import open_database

    fresh = open_database(db_path)
    assert [Path(t.path_text).name for t in pending_tracks(fresh, ANALYSIS_VERSION)] == [
        "clicks.flac"
    ]
    assert len(pending_tracks(fresh, ANALYSIS_VERSION + 1)) == 4
    fresh.close()
    status = json.loads(run_cli(cli_env, "status", "--json", *db).stdout)
    assert (status["tracks"], status["analysed"], status["undecodable"]) == (4, 2, 1)


def test_similar_names_the_nearest_tracks(cli_env, library: Path, db_path: Path) -> None:
    chords = progression(0, "major")
    write_music(library / "a.flac", chords[: 12 * SR], artist="Quartet", title="Part A")
    write_music(library / "b.flac", chords[12 * SR : 24 * SR], artist="Quartet", title="Part B")
    write_music(library / "c.flac", click_track(140, seconds=12), artist="Drums", title="Beat")
    db = ["--db", str(db_path)]
    run_cli(cli_env, "scan", *db, str(library))
    run_cli(cli_env, "analyze", *db)

    by_name = run_cli(cli_env, "similar", *db, "--json", "quartet - part a")
    by_path = run_cli(cli_env, "similar", *db, "-n", "1", str(library / "c.flac"))
    unknown = run_cli(cli_env, "similar", *db, "Nobody - Nothing")

    assert by_name.returncode == 0, by_name.stderr
    nearest = json.loads(by_name.stdout)["similar"]
    assert [row["title"] for row in nearest] == ["Part B", "Beat"]
    assert nearest[0]["similarity"] > nearest[1]["similarity"]
    assert by_path.returncode == 0 and "Part" in by_path.stdout
    assert unknown.returncode == 1 and "no track" in unknown.stderr


def test_the_librosa_fallback_analyses_too(cli_env, library: Path, db_path: Path) -> None:
    pytest.importorskip("librosa")
    write_music(library / "clicks.flac", click_track(110, seconds=20), title="Clicks")
    env = {**cli_env, "MYDISCOVER_AUDIO_BACKEND": "librosa"}
    db = ["--db", str(db_path)]
    run_cli(env, "scan", *db, str(library))

    result = run_cli(env, "analyze", *db)

    assert result.returncode == 0, result.stderr
    (row,) = sqlite3.connect(db_path).execute(
        "SELECT backend, bpm, danceability, patches FROM track_audio"
    )
    assert row[0] == "librosa" and row[1] == pytest.approx(110, rel=0.04)
    assert row[2] is None and row[3] == 6  # no danceability without Essentia; 20 s: 6 patches


def test_ctrl_c_keeps_what_was_analysed(cli_env, library: Path, db_path: Path) -> None:

    for n in range(10):
        write_music(library / f"{n}.flac", click_track(80 + 8 * n, seconds=30), title=f"T{n}")
    db = ["--db", str(db_path)]
    run_cli(cli_env, "scan", *db, str(library))
    process = subprocess.Popen(
        [sys.executable, "-m", "mydiscover", "analyze", "--jobs", "2", *db],
        env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=interruptible_child,
    )  # fmt: skip
    done = 0
    deadline = time.monotonic() + 120
    while done == 0 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
        with sqlite3.connect(db_path, timeout=5) as reader:
            done = reader.execute("SELECT count(*) FROM track_audio").fetchone()[0]
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    with sqlite3.connect(db_path) as reader:
        kept = reader.execute("SELECT count(*) FROM track_audio").fetchone()[0]
        assert reader.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert 0 < kept < 10
    resumed = run_cli(cli_env, "analyze", *db)
    assert f"Analysed {10 - kept} tracks" in resumed.stderr


def scanned_library(cli_env, library: Path, db_path: Path, count: int, seconds: float) -> list:
    """``count`` click tracks of ``seconds``, scanned into the catalog; the ``--db`` option."""
    for n in range(count):
        write_music(library / f"{n}.flac", click_track(80 + 8 * n, seconds), title=f"T{n}")
    db = ["--db", str(db_path)]
    assert run_cli(cli_env, "scan", *db, str(library)).returncode == 0
    return db


def test_a_track_replaced_by_a_fifo_fails_instead_of_hanging(
    cli_env, library: Path, db_path: Path
) -> None:
    db = scanned_library(cli_env, library, db_path, count=2, seconds=4)
    (library / "1.flac").unlink()
    os.mkfifo(library / "1.flac")  # opened for reading, it would wait for a writer forever

    result = subprocess.run(
        [sys.executable, "-m", "mydiscover", "analyze", *db],
        env=cli_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode == 1 and "Analysed 2 tracks" in result.stderr, result.stderr
    with sqlite3.connect(db_path) as reader:
        errors = dict(reader.execute(
            "SELECT tracks.path_text, track_audio.error FROM track_audio "
            "JOIN tracks ON tracks.id = track_audio.track_id"
        ).fetchall())  # fmt: skip
    assert errors[str(library / "0.flac")] is None
    assert "not a regular file" in errors[str(library / "1.flac")]


def test_analysis_sends_no_telemetry(cli_env, library: Path, db_path: Path) -> None:
    db = scanned_library(cli_env, library, db_path, count=1, seconds=4)

    result = run_cli(cli_env, "analyze", *db)

    assert result.returncode == 0, result.stderr
    # ONNX Runtime's telemetry keeps a device id and queued events there.
    assert not (Path(cli_env["HOME"]) / ".cache" / "Microsoft").exists()


def test_one_job_saves_each_result_as_it_comes(cli_env, library: Path, db_path: Path) -> None:
    db = scanned_library(cli_env, library, db_path, count=5, seconds=10)
    process = subprocess.Popen(
        [sys.executable, "-m", "mydiscover", "analyze", "-j", "1", *db],
        env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=interruptible_child,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while stored_analyses(db_path) == 0 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)

    kept = stored_analyses(db_path)
    assert process.returncode == 130, stderr
    assert 0 < kept < 5 and f"interrupted after {kept} of 5 tracks" in stderr, stderr
    resumed = run_cli(cli_env, "analyze", *db)
    assert f"Analysed {5 - kept} tracks" in resumed.stderr


def test_workers_end_with_a_killed_parent(cli_env, library: Path, db_path: Path) -> None:

    psutil = pytest.importorskip("psutil")
    db = scanned_library(cli_env, library, db_path, count=4, seconds=30)
    process = subprocess.Popen(
        [sys.executable, "-m", "mydiscover", "analyze", "-j", "2", *db],
        env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        parent = psutil.Process(process.pid)
        deadline = time.monotonic() + 30
        while len(parent.children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        workers = parent.children()
        assert len(workers) == 2
        process.kill()
        process.wait()

        _, alive = psutil.wait_procs(workers, timeout=2)
        assert [p for p in alive if p.status() != psutil.STATUS_ZOMBIE] == []
    finally:
        # What a failing run left behind: the whole session the test started.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
