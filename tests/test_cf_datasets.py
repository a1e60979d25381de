"""Reading public co-listening datasets into the sparse matrix, and storing it."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from mydiscover.cf.datasets import detect_format, read_dataset
from mydiscover.cf.matrix import CoListening, ImportFilters, MatrixBuilder
from mydiscover.errors import DatasetError, MydiscoverError
from tests.colistening import (
    listenbrainz_line,
    mlhd_line,
    planted_plays,
    write_hetrec,
    write_lastfm_360k,
    write_listens_dump,
    write_mlhd,
)
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


MBIDS = [f"{n:08x}-1111-4111-8111-111111111111" for n in range(8)]


@pytest.mark.parametrize("ending", [".tar.zst", ".tar.xz", ".tar"])
def test_a_listenbrainz_listens_dump_is_read_as_published(tmp_path, ending):
    path = write_listens_dump(tmp_path / f"listenbrainz-listens-dump-1-full{ending}", {
        "ann": [listenbrainz_line("ann", "Slowdive", MBID_A), listenbrainz_line("ann", "Ride")],
        "bob": [listenbrainz_line("bob", "slowdive"), "{not json"],
    })  # fmt: skip
    assert detect_format(path) == "listenbrainz"
    data = read_dataset(path, "auto")
    assert data.plays.shape == (2, 2)
    assert data.plays[:, column(data, "slowdive")].sum() == 2
    assert data.mbids[column(data, "slowdive")] == MBID_A
    assert data.meta["rows_skipped"] == 1  # the broken line; not index.json nor COPYING
    # A folder holding the dump's archive is read the same.
    assert (read_dataset(tmp_path, "auto").plays != data.plays).nnz == 0


@pytest.mark.parametrize("ending", [".txt.gz", ".txt.zst", ".txt"])
def test_mlhd_listeners_files_are_read_by_artist_mbid(tmp_path, ending):
    path = write_mlhd(tmp_path / "MLHD_000.tar", {
        "11111111-aaaa-4aaa-8aaa-aaaaaaaaaaaa": [
            mlhd_line(1_600_000_000, [MBIDS[0]]), mlhd_line(1_600_000_100, [MBIDS[0], MBIDS[1]]),
            mlhd_line(1_600_000_200, [MBIDS[2]], "r", "t"), "broken",
        ],
        "22222222-bbbb-4bbb-8bbb-bbbbbbbbbbbb": [mlhd_line(1_600_000_000, [MBIDS[2]])],
    }, ending)  # fmt: skip
    assert detect_format(path) == "mlhd"
    data = read_dataset(path, "auto")
    assert sorted(data.keys) == [f"mbid:{MBIDS[0]}", f"mbid:{MBIDS[2]}"]  # first of a credit
    first = column(data, f"mbid:{MBIDS[0]}")
    assert data.mbids[first] == MBIDS[0] and data.names[first] == MBIDS[0]
    assert data.plays[:, first].sum() == 2 and data.plays.shape == (2, 2)
    assert data.meta["rows_skipped"] == 1
    # A folder of MLHD's archives, as downloaded.
    write_mlhd(tmp_path / "MLHD_001.tar", {"33333333-cccc-4ccc-8ccc-cccccccccccc":
                                           [mlhd_line(1_600_000_000, [MBIDS[3]])]})  # fmt: skip
    assert detect_format(tmp_path) == "mlhd"
    assert read_dataset(tmp_path, "auto").plays.shape == (3, 3)


def test_since_keeps_recent_listening_only(tmp_path):
    path = write_listens_dump(tmp_path / "dump.tar.zst", {
        "ann": [listenbrainz_line("ann", "Slowdive", when=1_500_000_000),
                listenbrainz_line("ann", "Ride", when=1_700_000_000)],
        "bob": [listenbrainz_line("bob", "Slowdive", when=1_500_000_000)],
    })  # fmt: skip
    data = read_dataset(path, "auto", filters=ImportFilters(since=1_600_000_000))
    assert data.keys == ["ride"] and data.plays.shape == (1, 1)
    assert data.meta["rows_filtered"] == 2 and data.meta["filters"] == {"since": 1_600_000_000}
    with pytest.raises(DatasetError, match="after the filters"):
        read_dataset(path, "auto", filters=ImportFilters(since=1_800_000_000))
    with pytest.raises(DatasetError, match="without dates: --since cannot apply"):
        read_dataset(write_hetrec(tmp_path / "h"), "auto", filters=ImportFilters(since=1))


def test_rare_artists_and_listeners_of_few_artists_are_left_out(tmp_path):
    lines = {f"u{n}": [listenbrainz_line(f"u{n}", "Common"), listenbrainz_line(f"u{n}", f"Own {n}")]
             for n in range(3)}  # fmt: skip
    lines["loner"] = [listenbrainz_line("loner", "Own loner")]
    path = write_listens_dump(tmp_path / "dump.tar.xz", lines)
    data = read_dataset(path, "auto", filters=ImportFilters(min_listeners=2))
    assert data.keys == ["common"] and data.plays.shape == (3, 1)  # the loner is left empty
    data = read_dataset(path, "auto", filters=ImportFilters(min_items=2))
    assert data.plays.shape == (3, 4) and "own loner" not in data.keys


def test_a_sample_of_listeners_is_the_same_whatever_the_order(tmp_path):
    # Each listener plays one artist of their own: the artists kept name the listeners kept.
    listens = {f"user{n}": [listenbrainz_line(f"user{n}", f"Artist {n}")] for n in range(300)}
    forward = write_listens_dump(tmp_path / "a.tar", listens)
    backward = write_listens_dump(tmp_path / "b.tar", dict(reversed(listens.items())))
    sampled = [read_dataset(path, "auto", filters=ImportFilters(sample_users=40))
               for path in (forward, backward)]  # fmt: skip
    assert [data.plays.shape for data in sampled] == [(40, 40), (40, 40)]
    assert set(sampled[0].keys) == set(sampled[1].keys)
    assert sampled[0].meta["rows_filtered"] == 260


def test_compacting_the_rows_changes_nothing(tmp_path, monkeypatch):
    listens = {f"u{user}": [listenbrainz_line(f"u{user}", f"A{(user * k) % 5}") for k in range(9)]
               for user in range(12)}  # fmt: skip
    path = write_listens_dump(tmp_path / "dump.tar", listens)
    filters = [ImportFilters(), ImportFilters(sample_users=5, min_items=2)]
    whole = [read_dataset(path, "auto", filters=f) for f in filters]
    monkeypatch.setattr(MatrixBuilder, "COMPACT_ROWS", 4)  # sum the pairs every 4 rows
    compacted = [read_dataset(path, "auto", filters=f) for f in filters]
    for once, often in zip(whole, compacted, strict=True):
        assert once.keys == often.keys and once.meta == often.meta
        assert (once.plays != often.plays).nnz == 0
    assert whole[0].plays.sum() == 12 * 9 and whole[1].plays.shape[0] <= 5


def test_a_truncated_zstd_archive_is_one_clear_error(tmp_path):
    listens = {f"u{n}": [listenbrainz_line(f"u{n}", f"Artist {n}")] * 50 for n in range(200)}
    path = write_listens_dump(tmp_path / "dump.tar.zst", listens)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DatasetError, match="damaged or truncated"):
        read_dataset(path, "listenbrainz")
