"""The weekly's parts: blending, the rules, the listening order, the week's seed."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import numpy as np
import pytest

from mydiscover.history.tables import History
from mydiscover.recommend.blend import DEFAULT_BLEND, Blend, fuse, normal_scores, parse_weights
from mydiscover.recommend.library import Library
from mydiscover.recommend.order import camelot, flowing_order, key_distance, tempo_distance
from mydiscover.recommend.rules import Rules, candidate_mask, choose
from mydiscover.recommend.signals import Signal
from mydiscover.recommend.weekly import iso_week, week_seed


def library(artists: list[str], albums: list[str], durations: list[float] | None = None) -> Library:
    n = len(artists)
    return Library(
        ids=np.arange(1, n + 1),
        titles=[f"T{i}" for i in range(n)], artists=artists, albums=albums, mbids=[""] * n,
        artist_keys=[a.lower() for a in artists], album_keys=[a.lower() for a in albums],
        durations=np.array(durations or [200.0] * n), bpm=np.full(n, np.nan),
        keys=[None] * n, scales=[None] * n, embeddings=np.zeros((n, 200), np.float32),
        analysed=np.zeros(n, bool),
    )  # fmt: skip


def signal(name: str, scores: dict[int, float]) -> Signal:
    return Signal(name, np.array(list(scores)), np.array(list(scores.values())), lambda r: "")


def test_log_rank_scores_average_zero_and_reward_the_top():
    values = np.arange(1000.0)
    scores = normal_scores(values)
    assert scores.mean() == pytest.approx(0.0, abs=0.01)  # a missing signal's estimate
    assert scores.min() == pytest.approx(-1.0, abs=0.01)
    assert scores[-1] == pytest.approx(np.log(2000) - 1)
    assert np.all(np.diff(scores) > 0)
    # Ties count half, whatever the order the values come in.
    tied = normal_scores(np.array([2.0, 1.0, 1.0]))
    assert tied == pytest.approx([-np.log(0.5 / 3) - 1, -np.log(2 / 3) - 1, -np.log(2 / 3) - 1])


def test_fusion_adds_weighted_scores_and_offsets_and_names_the_lead():
    candidates = np.ones(4, dtype=bool)
    blend = Blend({"cf": 1.0, "text": 2.0}, {"text": 0.5})
    fused = fuse([signal("cf", {0: 0.9, 1: 0.5}), signal("text", {1: 0.7, 2: 0.1})],
                 blend, candidates, 4)  # fmt: skip
    top, bottom = np.log(4) - 1, np.log(4 / 3) - 1  # the better and the worse of two
    assert fused.scores[0] == pytest.approx(top)
    assert fused.scores[1] == pytest.approx(bottom + 2 * top + 0.5)
    assert fused.scores[2] == pytest.approx(2 * bottom + 0.5)
    assert np.isnan(fused.scores[3]) and fused.lead(1) == "text" and fused.lead(0) == "cf"
    assert fused.lead(3) is None


def test_a_track_a_signal_cannot_judge_counts_as_its_average_and_can_still_win():
    # Tracks 0-3 are known to CF, and it likes them only so-so against each other; 4 is
    # unknown to CF but text's favourite. Rank fusion gave 4 nothing for the missing CF term.
    cf = signal("cf", {0: 0.5, 1: 0.4, 2: 0.1, 3: 0.0})
    text = signal("text", {0: 0.1, 1: 0.1, 2: 0.1, 3: 0.1, 4: 0.9})
    fused = fuse([cf, text], Blend({"cf": 1.0, "text": 1.0}), np.ones(5, dtype=bool), 5)
    assert int(np.nanargmax(fused.scores)) == 4


def test_fusion_ranks_among_candidates_only():
    candidates = np.array([False, True, True])
    fused = fuse([signal("cf", {0: 9.0, 1: 0.5, 2: 0.3})], Blend({"cf": 1.0}), candidates, 3)
    assert np.isnan(fused.scores[0]) and fused.scores[1] > fused.scores[2]
    assert fused.scores[1] == pytest.approx(np.log(4) - 1)


def test_a_signal_weighted_zero_is_left_out():
    fused = fuse([signal("cf", {0: 1.0}), signal("text", {1: 1.0})],
                 Blend({"cf": 1.0, "text": 0.0}), np.ones(2, dtype=bool), 2)  # fmt: skip
    assert not np.isnan(fused.scores[0]) and np.isnan(fused.scores[1])


def test_weights_parse_over_the_defaults():
    blend = parse_weights("cf=2, audio=0")
    assert blend.weights["cf"] == 2 and blend.weights["audio"] == 0
    assert parse_weights("") == DEFAULT_BLEND and "--weights" in blend.source
    with pytest.raises(ValueError, match="unknown signal"):
        parse_weights("vibes=1")
    with pytest.raises(ValueError, match="must be a number"):
        parse_weights("cf=lots")


def test_caps_per_artist_and_album_and_the_new_artist_share():
    artists = ["A", "A", "A", "B", "B", "C", "D", "E"]
    albums = ["a1", "a2", "a3", "b1", "b1", "c1", "d1", "e1"]
    lib = library(artists, albums)
    scores = np.linspace(1.0, 0.3, 8)
    rules = Rules(size=6, jitter=0.0, new_artist_share=0.5)
    picked = choose(lib, scores, np.ones(8, bool), {"a", "b"}, rules, seed=1)
    names = [lib.artists[r] for r in picked]
    assert names.count("A") == 2  # the cap, though A's third track scores higher than C's
    assert [lib.albums[r] for r in picked].count("b1") == 1
    assert sum(a in ("C", "D", "E") for a in names) == 3  # half from new artists
    assert picked == sorted(picked, key=lambda r: -scores[r])


def test_candidates_exclude_played_banned_and_odd_lengths():
    lib = library(["A"] * 5, ["x", "y", "z", "w", "v"], [200, 10, 200, 200, 200])
    now = 1_800_000_000
    history = History({1: 3, 4: 1}, {1: now - 86_400, 4: now - 400 * 86_400}, [])
    mask = candidate_mask(lib, history, {3}, Rules(rest_days=365), now)
    # 1 played yesterday, 2 too short, 3 banned/recent, 4 played long ago: back again
    assert mask.tolist() == [False, False, False, True, True]


def test_camelot_codes_and_distances():
    assert camelot("C", "major") == (8, "B") and camelot("A", "minor") == (8, "A")
    assert camelot("E", "minor") == (9, "A") and camelot("B", "major") == (1, "B")
    assert camelot(None, None) is None
    assert key_distance((8, "B"), (9, "B")) == 1 and key_distance((8, "B"), (8, "A")) == 1
    assert key_distance((12, "B"), (1, "B")) == 1 and key_distance((8, "B"), (2, "B")) == 6
    assert tempo_distance(120, 60) == 0 and tempo_distance(120, 130) == 1
    assert tempo_distance(math.nan, 120) > 1


def test_flowing_order_avoids_tempo_jumps_and_opens_with_the_best():
    bpm = [120.0, 175.0, 124.0, 170.0, 122.0]
    keys = [camelot("C", "major")] * 5
    order = flowing_order(bpm, keys, ["a", "b", "c", "d", "e"])
    assert order[0] == 0
    jumps = sum(abs(bpm[a] - bpm[b]) > 20 for a, b in itertools.pairwise(order))
    assert jumps == 1


def test_week_seed_is_stable_and_weekly():
    assert iso_week(dt.datetime(2026, 11, 29, tzinfo=dt.timezone.utc)) == "2026-W48"
    assert week_seed("2026-W48", "rj") == week_seed("2026-W48", "rj")
    assert week_seed("2026-W48", "rj") != week_seed("2026-W49", "rj")
    assert 0 <= week_seed("2026-W48", "") < 2**32


def test_unscored_candidates_fill_what_the_caps_leave():
    artists = ["A"] * 20 + ["B"] * 20 + [f"X{i}" for i in range(60)]
    albums = [f"{a}-{i}" for i, a in enumerate(artists)]
    lib = library(artists, albums)
    scores = np.zeros(100)
    scores[:40] = np.linspace(1.0, 0.5, 40)  # every scored track by A or B
    picked = choose(lib, scores, np.ones(100, bool), set(), Rules(size=30, jitter=0.0), seed=3)
    assert len(picked) == 30
    assert [lib.artists[r] for r in picked[:4]] == ["A", "A", "B", "B"]  # the scored first


def test_among_an_artists_tracks_the_one_nearest_the_taste_is_chosen():
    # CF gives every track of an artist its artist's score; the sound and the album's terms
    # tell them apart, so the cap of one per album keeps the tracks the listener would like.
    lib = library(["A"] * 4 + ["B"] * 2, ["X", "X", "Y", "Y", "Z", "Z"])
    cf = signal("cf", {row: 0.9 if row < 4 else 0.1 for row in range(6)})
    audio = signal("audio", {0: 0.2, 1: 0.8, 2: 0.7, 3: 0.1, 4: 0.5, 5: 0.4})
    fused = fuse([cf, audio], DEFAULT_BLEND, np.ones(6, dtype=bool), 6)
    rules = Rules(size=2, per_artist=2, per_album=1, jitter=0.0)
    picked = choose(lib, fused.scores, np.ones(6, dtype=bool), set(), rules, seed=1)
    assert sorted(picked) == [1, 2]  # A's best of album X and of album Y, not 0 or 3
