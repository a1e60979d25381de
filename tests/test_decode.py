"""Decoding bounded excerpts: the right windows, from the right places, in every format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from mydiscover.audio.decode import (
    EXCERPT_SECONDS,
    DecodeError,
    excerpt_windows,
    load_excerpts,
    resample,
)
from tests.library_factory import write_audio

SR = 44_100


def dominant_frequency(audio: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.fft.rfftfreq(len(audio), 1 / rate)[spectrum.argmax()])


def rising_tones(path: Path, seconds: float, rate: int = 22_050) -> Path:
    """A tone whose pitch tells where in the file it is: 200 Hz + 10 Hz per second."""
    t = np.arange(int(seconds * rate)) / rate
    frequency = 200 + 10 * np.floor(t)
    phase = 2 * np.pi * np.cumsum(frequency) / rate
    audio = (0.3 * np.sin(phase)).astype(np.float32)
    with soundfile.SoundFile(path, "w", rate, 1) as handle:
        for start in range(0, len(audio), rate):  # in blocks: one long OGG write segfaults
            handle.write(audio[start : start + rate])
    return path


def test_windows_are_bounded_whatever_the_length() -> None:
    assert excerpt_windows(45.0) == [(0.0, 45.0)]
    four_minutes, twenty_minutes = excerpt_windows(240.0), excerpt_windows(1200.0)
    assert [length for _, length in twenty_minutes] == [EXCERPT_SECONDS] * 3
    assert sum(length for _, length in four_minutes) == sum(length for _, length in twenty_minutes)
    assert [start for start, _ in four_minutes] == [50.0, 110.0, 170.0]


@pytest.mark.parametrize("ext", [".wav", ".flac", ".ogg"])
def test_excerpts_come_from_their_place_in_the_file(tmp_path: Path, ext: str) -> None:
    path = rising_tones(tmp_path / f"long{ext}", seconds=120)

    excerpts = load_excerpts(path, SR)

    assert excerpts.duration == pytest.approx(120, abs=0.1)
    assert [len(piece) for piece in excerpts.pieces] == [int(EXCERPT_SECONDS * SR)] * 3
    # The first excerpt is centred at 30 s; from 30 to 31 s the tone is 200 + 10 * 30 Hz.
    middle = excerpts.pieces[0][int(10.2 * SR) : int(10.8 * SR)]
    assert dominant_frequency(middle, SR) == pytest.approx(500, abs=3)


@pytest.mark.parametrize("ext", [".mp3", ".m4a", ".wma", ".wv"])
def test_every_format_decodes(tmp_path: Path, ext: str) -> None:
    pytest.importorskip("essentia")  # m4a, wma and wavpack are decoded by Essentia's FFmpeg
    path = write_audio(tmp_path / f"short{ext}", seconds=2.0, frequency=440)

    excerpts = load_excerpts(path, 16_000)

    (piece,) = excerpts.pieces
    assert excerpts.duration == pytest.approx(2.0, abs=0.15)
    assert dominant_frequency(piece[4000:20000], 16_000) == pytest.approx(440, abs=5)


def test_undecodable_files_raise_decode_error(tmp_path: Path) -> None:
    pytest.importorskip("essentia")
    fake = tmp_path / "fake.m4a"
    fake.write_bytes(b"not audio at all" * 100)

    with pytest.raises(DecodeError, match="cannot decode"):
        load_excerpts(fake, SR)
    with pytest.raises(DecodeError):
        load_excerpts(tmp_path / "absent.flac", SR)


def test_resampling_keeps_pitch() -> None:
    t = np.arange(SR) / SR
    tone = np.sin(2 * np.pi * 1000 * t).astype(np.float32)

    down = resample(tone, SR, 16_000)

    assert len(down) == pytest.approx(16_000, abs=2)
    assert dominant_frequency(down, 16_000) == pytest.approx(1000, abs=2)


def test_a_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    import os

    plain = write_audio(tmp_path / "plain.flac", seconds=1.0)
    raw = os.fsencode(tmp_path) + b"/caf\xe9.flac"
    os.rename(plain, raw)

    assert load_excerpts(raw, 16_000).duration == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("ext", [".flac", ".m4a"])  # read by libsndfile; by Essentia, by name
def test_a_fifo_is_refused_not_waited_on(tmp_path: Path, ext: str) -> None:
    import os

    os.mkfifo(tmp_path / f"pipe{ext}")  # no writer: opening it to read would block for good

    with pytest.raises(DecodeError, match="not a regular file"):
        load_excerpts(tmp_path / f"pipe{ext}", SR)
