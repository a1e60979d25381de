"""Loudness on the channels as decoded (BS.1770-4), against pyloudnorm and known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from mydiscover.audio.decode import load_excerpts
from mydiscover.audio.descriptors import bs1770_loudness
from tests.helpers import progression

pyloudnorm = pytest.importorskip("pyloudnorm")

SR = 44_100


def reference(audio: np.ndarray, rate: int = SR) -> float:
    """pyloudnorm's BS.1770-4 integrated loudness of ``audio`` ([frames] or [frames, ch])."""
    return float(pyloudnorm.Meter(rate).integrated_loudness(audio.astype(np.float64)))


def noise(seconds: float, channels: int, seed: int) -> np.ndarray:
    """Band-rich noise whose channels differ in content and level."""
    rng = np.random.default_rng(seed)
    levels = np.linspace(0.05, 0.2, channels)
    return (rng.standard_normal((int(seconds * SR), channels)) * levels).astype(np.float32)


def test_identical_channels_read_3_lu_above_the_mono_signal() -> None:
    mono = progression(0, "major")

    stereo = bs1770_loudness(np.stack([mono, mono], axis=1), SR)

    assert stereo - bs1770_loudness(mono, SR) == pytest.approx(10 * np.log10(2), abs=0.01)


@pytest.mark.parametrize("channels", [2, 5])
def test_multichannel_loudness_agrees_with_pyloudnorm(channels: int) -> None:
    audio = noise(8.0, channels, seed=channels)

    assert bs1770_loudness(audio, SR) == pytest.approx(reference(audio), abs=0.1)


def test_the_lfe_of_5_1_does_not_count() -> None:
    five = noise(5.0, 5, seed=1)
    # WAV order of 5.1: FL FR FC LFE BL BR.
    with_lfe = np.insert(five, 3, noise(5.0, 1, seed=2)[:, 0], axis=1)

    assert bs1770_loudness(with_lfe, SR) == pytest.approx(bs1770_loudness(five, SR), abs=1e-9)


def write_stereo(path: Path, seconds: float) -> np.ndarray:
    """A stereo piece with different left and right; returns the samples as written (16 bit)."""
    left = progression(7, "minor")[: int(seconds * SR)]
    audio = np.stack([left, 0.5 * noise(seconds, 1, seed=3)[:, 0] + 0.3 * left], axis=1)
    soundfile.write(path, audio, SR, subtype="PCM_16")
    return soundfile.read(path, dtype="float32")[0]


@pytest.mark.parametrize("ext", [".wav", ".flac"])
def test_a_stereo_file_is_analysed_at_its_true_loudness(tmp_path: Path, ext: str) -> None:
    pytest.importorskip("essentia")
    from mydiscover.audio.analyze import analyze_file

    written = write_stereo(tmp_path / f"stereo{ext}", seconds=20.0)

    found = analyze_file(str(tmp_path / f"stereo{ext}").encode()).descriptors

    assert found.loudness_lufs == pytest.approx(reference(written), abs=0.3)
    assert found.replay_gain_db == pytest.approx(-18.0 - reference(written), abs=0.3)


def test_a_mono_file_keeps_its_loudness(tmp_path: Path) -> None:
    pytest.importorskip("essentia")
    from mydiscover.audio.analyze import analyze_file

    mono = progression(2, "major")
    soundfile.write(tmp_path / "mono.flac", mono, SR, subtype="PCM_24")

    excerpts = load_excerpts(tmp_path / "mono.flac", SR)
    found = analyze_file(str(tmp_path / "mono.flac").encode()).descriptors

    assert [block.shape[1] for block in excerpts.channels] == [1]
    assert found.loudness_lufs == pytest.approx(reference(mono), abs=0.1)


def test_essentias_whole_file_decoding_counts_a_mono_file_once(tmp_path: Path) -> None:
    pytest.importorskip("essentia")
    from mydiscover.audio.decode import _read_whole  # what m4a, wma, wavpack go through

    mono = progression(4, "minor")
    soundfile.write(tmp_path / "mono.wav", mono, SR)
    written = write_stereo(tmp_path / "stereo.wav", seconds=10.0)

    one = _read_whole(str(tmp_path / "mono.wav"), SR)
    two = _read_whole(str(tmp_path / "stereo.wav"), SR)

    assert one.channels[0].shape[1] == 1 and two.channels[0].shape[1] == 2
    assert bs1770_loudness(one.channels, SR) == pytest.approx(reference(mono), abs=0.1)
    assert bs1770_loudness(two.channels, SR) == pytest.approx(reference(written), abs=0.1)
