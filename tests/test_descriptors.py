"""Descriptors against signals whose answer is known: click tracks at set tempos, chord
progressions in every key, a calibrated sine, silence and a one-second file."""

from __future__ import annotations

import numpy as np
import pytest

from mydiscover.audio.descriptors import (
    PITCH_CLASSES,
    SAMPLE_RATE,
    bs1770_loudness,
    describe,
    pitch_class,
)

SR = SAMPLE_RATE


def click_track(bpm: float, seconds: float = 30.0) -> np.ndarray:
    """A drum-like hit on every beat, the first of each bar louder."""
    audio = np.zeros(int(seconds * SR), np.float32)
    length = int(0.05 * SR)
    t = np.arange(length) / SR
    hit = np.exp(-t / 0.01) * (np.sin(2 * np.pi * 150 * t) + 0.5 * np.sin(2 * np.pi * 1200 * t))
    beat, moment = 0, 0.0
    while moment < seconds - 0.1:
        start = int(moment * SR)
        audio[start : start + length] += hit * (1.0 if beat % 4 == 0 else 0.8)
        moment += 60.0 / bpm
        beat += 1
    return audio * 0.5


def chord(root: int, quality: str, seconds: float = 2.0) -> np.ndarray:
    """A triad with harmonics and a bass note an octave below its root."""
    intervals = {"maj": (0, 4, 7), "min": (0, 3, 7)}[quality]
    base = 261.63 * 2 ** (root / 12)
    t = np.arange(int(seconds * SR)) / SR
    audio = np.zeros_like(t)
    for frequency in [base * 2 ** (i / 12) for i in intervals] + [base / 2]:
        for harmonic, weight in ((1, 1.0), (2, 0.5), (3, 0.3), (4, 0.2)):
            audio += weight * np.sin(2 * np.pi * frequency * harmonic * t)
    envelope = np.minimum(1, np.minimum(t / 0.02, (seconds - t) / 0.05))
    return (0.1 * audio * envelope).astype(np.float32)


def progression(tonic: int, scale: str) -> np.ndarray:
    """I-vi-IV-V in major, i-iv-V-i in minor, three times."""
    steps = (
        [(0, "maj"), (9, "min"), (5, "maj"), (7, "maj")]
        if scale == "major"
        else [(0, "min"), (5, "min"), (7, "maj"), (0, "min")]
    )
    return np.concatenate([chord((tonic + s) % 12, q) for _ in range(3) for s, q in steps])


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
