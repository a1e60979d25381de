"""Reading public co-listening datasets into the sparse matrix, and storing it."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from mydiscover.cf.datasets import detect_format, read_dataset
from mydiscover.cf.matrix import CoListening
from mydiscover.errors import DatasetError, MydiscoverError
from tests.colistening import listenbrainz_line, planted_plays, write_hetrec, write_lastfm_360k
from tests.helpers import run_cli

MBID_A = "a74b1b7f-71a5-4011-9441-d0b5e4122711"


def column(data: CoListening, key: str) -> int:
    return data.keys.index(key)


def test_hetrec_reads_every_play_with_artist_names(tmp_path):
    folder = write_hetrec(tmp_path / "hetrec")
    data = read_dataset(folder, "auto")
    rows = planted_plays()
    assert data.meta["dataset_format"] == "hetrec-2k"
    assert data.plays.shape == (240, 60)
    assert data.plays.nnz == len(rows)
    assert data.plays.sum() == pytest.approx(sum(row[-1] for row in rows))
    listener, _, group, index, plays = rows[0]
    assert data.names[column(data, f"shoegaze artist {index}")] == f"Shoegaze Artist {index}"
    assert group == 0 and listener == 0
    assert data.plays[0, column(data, f"shoegaze artist {index}")] == plays


def test_hetrec_merges_spellings_of_one_artist_and_sums_their_plays(tmp_path):
    folder = tmp_path / "h"
    folder.mkdir()
    (folder / "artists.dat").write_text(
        "id\tname\turl\tpictureURL\n1\tThe Cure\tu\tp\n2\tcure\tu\tp\n3\tSigur Rós\tu\tp\n",
        encoding="utf-8",
    )
    (folder / "user_artists.dat").write_text(
        "userID\tartistID\tweight\n2\t1\t10\n2\t2\t5\n3\t3\t7\n3\t9\t4\nbroken line\n"
    )
    data = read_dataset(folder, "hetrec-2k")
    assert data.plays.shape == (2, 2)  # artist 9 is unknown: no name, skipped
    assert data.plays[0, column(data, "cure")] == 15
    assert data.names[column(data, "sigur ros")] == "Sigur Rós"
    assert data.meta["rows_skipped"] == 1


def test_lastfm_360k_streams_compressed_file_with_bad_bytes_and_mbids(tmp_path):
    path = write_lastfm_360k(
        tmp_path / "usersha1-artmbid-artname-plays.tsv.gz",
        [
            f"u1\t{MBID_A}\tthe beatles\t100",
            "u1\t\tBeatles\t20",  # same artist without an MBID
            "u2\t\tBj\udce9rk\t5",  # a Latin-1 byte in a UTF-8 file
            "u2\t\tno plays\tabc",
            "truncated line",
        ],
    )
    assert detect_format(path) == "lastfm-360k"
    data = read_dataset(path, "auto")
    beatles = column(data, "beatles")
    assert data.plays[0, beatles] == 120
    assert data.mbids[beatles] == MBID_A
    assert data.plays.shape == (2, 2)
    assert "\ufffd" in data.names[1 - beatles]
    assert data.meta["rows_skipped"] == 2


def test_lastfm_1k_counts_listens_per_listener_and_artist(tmp_path):
    path = tmp_path / "userid-timestamp-artid-artname-traid-traname.tsv"
    lines = [
        f"user_000001\t2009-05-04T23:08:57Z\t{MBID_A}\tThe Beatles\t\tHelp",
        f"user_000001\t2009-05-04T23:12:57Z\t{MBID_A}\tThe Beatles\t\tYesterday",
        "user_000002\t2009-05-04T23:08:57Z\t\tSlowdive\t\tAlison",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert detect_format(path) == "lastfm-1k"
    data = read_dataset(path, "auto")
    assert data.plays[0, column(data, "beatles")] == 2
    assert data.plays[1, column(data, "slowdive")] == 1


def test_listenbrainz_folder_of_plain_and_gzipped_jsonl(tmp_path):
    folder = tmp_path / "listens" / "2024"
    folder.mkdir(parents=True)
    (folder / "1.jsonl").write_text(
        "\n".join(
            [
                listenbrainz_line("ann", "Slowdive", MBID_A),
                listenbrainz_line("ann", "slowdive"),
                "{not json",
                "",
            ]
        ),
        encoding="utf-8",
    )
    with gzip.open(folder / "2.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write(listenbrainz_line("bob", "Ride") + "\n")
    data = read_dataset(tmp_path / "listens", "auto")
    assert data.meta["dataset_format"] == "listenbrainz"
    assert data.plays[0, column(data, "slowdive")] == 2
    assert data.mbids[column(data, "slowdive")] == MBID_A
    assert data.plays.shape == (2, 2)
    assert data.meta["rows_skipped"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file"), ("", "no listening data"), ("a,b,c\n", "not a known dataset")],
)
def test_unusable_input_is_one_clear_error(tmp_path, content, message):
    path = tmp_path / "data.tsv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DatasetError, match=message):
        read_dataset(path, "lastfm-360k" if content == "" else "auto")


def test_truncated_compressed_file_is_reported(tmp_path):
    rows = [f"u{n}\t\tArtist {n}\t3" for n in range(5000)]
    path = write_lastfm_360k(tmp_path / "plays.tsv.gz", rows)
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(DatasetError, match="damaged or truncated"):
        read_dataset(path, "lastfm-360k")


def test_unknown_format_name_is_refused(tmp_path):
    with pytest.raises(DatasetError, match="unknown dataset format"):
        read_dataset(write_hetrec(tmp_path / "h"), "netflix")


def test_matrix_round_trips_through_its_file(tmp_path):
    data = read_dataset(write_hetrec(tmp_path / "h"), "auto")
    data.save(tmp_path / "cf" / "dataset.npz")
    loaded = CoListening.load(tmp_path / "cf" / "dataset.npz")
    assert (loaded.plays != data.plays).nnz == 0
    assert loaded.keys == data.keys and loaded.names == data.names
    assert loaded.fingerprint == data.fingerprint
    assert loaded.meta["dataset_format"] == "hetrec-2k"
    assert not (tmp_path / "cf" / "dataset.npz.partial").exists()


def test_fingerprint_changes_with_the_data(tmp_path):
    data = read_dataset(write_hetrec(tmp_path / "h"), "auto")
    other = read_dataset(write_hetrec(tmp_path / "h2", seed=8), "auto")
    assert data.fingerprint != other.fingerprint


def test_unreadable_matrix_file_is_one_clear_error(tmp_path):
    path = tmp_path / "dataset.npz"
    with pytest.raises(MydiscoverError, match="cf import"):
        CoListening.load(path)
    path.write_bytes(b"not a zip")
    with pytest.raises(MydiscoverError, match="not a readable co-listening matrix"):
        CoListening.load(path)


def test_plays_are_float32_csr(tmp_path):
    data = read_dataset(write_hetrec(tmp_path / "h"), "auto")
    assert data.plays.dtype == np.float32 and data.plays.format == "csr"


def test_a_folder_nested_a_thousand_deep_is_read_without_recursion(tmp_path, cli_env):
    """'cf import' of a folder holding a very deeply nested dump: no RecursionError."""
    top = deep = tmp_path / "dump"
    top.mkdir()
    for _ in range(1100):
        deep = deep / "d"
        deep.mkdir()
    (deep / "listens.jsonl").write_text(
        listenbrainz_line("ann", "Slowdive", MBID_A) + "\n" + listenbrainz_line("bob", "Ride"),
        encoding="utf-8",
    )
    try:
        data = read_dataset(top, "auto")
        assert data.meta["dataset_format"] == "listenbrainz"
        assert data.plays.shape == (2, 2)
        imported = run_cli(cli_env, "cf", "import", str(top))
        assert imported.returncode == 0, imported.stderr
        assert "Traceback" not in imported.stderr
    finally:  # pytest's own clean-up recurses, and would fail on this folder
        (deep / "listens.jsonl").unlink()
        while deep != top:
            deep.rmdir()
            deep = deep.parent
