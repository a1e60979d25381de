"""Descriptors against signals whose answer is known: click tracks at set tempos, chord
progressions in every key, a calibrated sine, silence and a one-second file."""

from __future__ import annotations

import numpy as np
import pytest

from mydiscover.audio.descriptors import (
    PITCH_CLASSES,
    bs1770_loudness,
    describe,
    pitch_class,
)
from tests.helpers import SR, click_track, progression


@pytest.fixture(params=["essentia", "librosa"])
def backend(request: pytest.FixtureRequest) -> str:
    """Each audio library in turn: Essentia, and the librosa fallback."""
    pytest.importorskip(request.param)
    return request.param


def test_tempo_within_four_percent_from_70_to_170_bpm(backend: str) -> None:
    tempos = [70, 85, 100, 120, 140, 155, 170]
    measured = {bpm: describe(click_track(bpm), backend).bpm for bpm in tempos}

    # Octave errors (half or double tempo) fall outside 4% and count as failures.
    wrong = {bpm: got for bpm, got in measured.items() if abs(got - bpm) / bpm > 0.04}
    assert not wrong, measured


def test_key_and_scale_in_every_key(backend: str) -> None:
    results = []
    for tonic in range(12):
        for scale in ("major", "minor"):
            found = describe(progression(tonic, scale), backend)
            results.append(pitch_class(found.key) == tonic and found.scale == scale)

    assert sum(results) / len(results) >= 0.9, results


def test_loudness_of_a_calibrated_sine(backend: str) -> None:
    # EBU R128 / BS.1770: a full-scale 1 kHz mono sine reads about -3 LUFS; 0.1 is 20 dB down.
    t = np.arange(10 * SR) / SR
    sine = (0.1 * np.sin(2 * np.pi * 997 * t)).astype(np.float32)

    found = describe(sine, backend)

    assert found.loudness_lufs == pytest.approx(-23.0, abs=0.6)
    assert found.replay_gain_db is not None


def test_bs1770_against_its_own_definition() -> None:
    # Two sines 6 dB apart read 6 LU apart; silence and too-short audio have no loudness.
    t = np.arange(5 * SR) / SR
    loud = bs1770_loudness(0.2 * np.sin(2 * np.pi * 997 * t), SR)
    quiet = bs1770_loudness(0.1 * np.sin(2 * np.pi * 997 * t), SR)

    assert loud - quiet == pytest.approx(20 * np.log10(2), abs=0.05)
    assert bs1770_loudness(np.zeros(5 * SR), SR) is None
    assert bs1770_loudness(np.ones(100), SR) is None


def test_silence_and_a_one_second_file_give_clear_outcomes(backend: str) -> None:
    silent = describe(np.zeros(30 * SR, np.float32), backend)
    short = describe(click_track(120, seconds=1.0), backend)

    assert silent == (None,) * 8
    assert short.bpm is None and short.key is None  # too little music to measure
    assert short.loudness_lufs is not None


def test_pitch_classes_accept_flats() -> None:
    assert pitch_class("Eb") == pitch_class("D#") == 3
    assert [pitch_class(name) for name in PITCH_CLASSES] == list(range(12))
