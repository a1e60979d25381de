"""Decoding a bounded set of excerpts, so a 20-minute live track costs what a 4-minute one does.

A track of up to a minute is analysed whole. A longer one is analysed in three excerpts of
20 seconds, centred at a quarter, half and three quarters of its length: past intros and
fade-outs, and spread enough to hear a song that changes. Formats libsndfile can seek in
(wav, flac, ogg, opus, mp3, aiff) are read excerpt by excerpt; the others (m4a, wma, wavpack,
ape) are decoded whole by Essentia's FFmpeg, then cut.

Each excerpt comes twice: mixed to mono at the analysis rate (for tempo, key, danceability and
the network), and with its channels as decoded at the file's own rate (for loudness, which
BS.1770 measures per channel: a mono mix of a stereo file reads about 3 LU too quiet).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from mydiscover.audio import essentia_standard
from mydiscover.errors import MydiscoverError
from mydiscover.files import check_regular_file, open_regular_file

if TYPE_CHECKING:
    from soundfile import SoundFile

#: Tracks up to this long are analysed whole.
WHOLE_TRACK_SECONDS = 60.0
EXCERPT_SECONDS = 20.0
EXCERPT_CENTRES = (0.25, 0.5, 0.75)


class DecodeError(MydiscoverError):
    """The file's audio could not be decoded."""


class Excerpts(NamedTuple):
    """A track's excerpts, mono and with their channels, and the track's whole duration."""

    pieces: list[np.ndarray]  # mono float32 at sample_rate
    sample_rate: int
    duration: float
    channels: list[np.ndarray]  # the same excerpts, float32 [frames, channels] at native_rate
    native_rate: int


def excerpt_windows(duration: float) -> list[tuple[float, float]]:
    """The (start, length) in seconds of the excerpts analysed in a track of ``duration``."""
    if duration <= WHOLE_TRACK_SECONDS:
        return [(0.0, duration)]
    return [
        (max(0.0, centre * duration - EXCERPT_SECONDS / 2), EXCERPT_SECONDS)
        for centre in EXCERPT_CENTRES
    ]


def load_excerpts(path: bytes | str | os.PathLike[str], sample_rate: int) -> Excerpts:
    """Decode the excerpts of the file at ``path``: mono resampled to ``sample_rate``, and
    with their channels at the file's rate. A FIFO, device or folder is refused at once
    (:class:`DecodeError` "not a regular file"), never waited on."""
    import soundfile

    try:
        # Opened here, not by name: libsndfile cannot open a name that is not UTF-8.
        with open_regular_file(path) as raw, soundfile.SoundFile(raw) as handle:
            return _read_seekable(handle, sample_rate)
    except OSError as exc:
        raise DecodeError(f"cannot read: {exc.strerror or exc}") from exc
    except soundfile.LibsndfileError:
        pass  # a format libsndfile does not read (m4a, wma, ...): decode it whole
    except (RuntimeError, ValueError) as exc:
        raise DecodeError(f"cannot decode: {exc}") from exc
    return _read_whole(os.fsdecode(path), sample_rate)


def _read_seekable(handle: SoundFile, sample_rate: int) -> Excerpts:
    native = handle.samplerate
    duration = handle.frames / native
    pieces, channels = [], []
    for start, length in excerpt_windows(duration):
        handle.seek(int(start * native))
        block = handle.read(int(length * native), dtype="float32", always_2d=True)
        channels.append(block)
        pieces.append(resample(_mono(block), native, sample_rate))
    return Excerpts(pieces, sample_rate, duration, channels, native)


def _read_whole(path: str, sample_rate: int) -> Excerpts:
    """Decode with Essentia's FFmpeg. Its ``AudioLoader`` always gives two channels: a mono
    file's one channel twice (kept once here, or it would count twice in the loudness);
    Essentia refuses files of more than two channels."""
    try:
        es = essentia_standard()
    except ImportError as exc:
        raise DecodeError("this format needs Essentia to decode (pip install essentia)") from exc
    try:
        # FFmpeg opens the file by name; a FIFO put there would block it for good.
        check_regular_file(path)
    except OSError as exc:
        raise DecodeError(f"cannot read: {exc.strerror or exc}") from exc
    try:
        stereo, native_rate, channel_count, *_ = es.AudioLoader(filename=path)()
    except RuntimeError as exc:
        raise DecodeError(f"cannot decode: {' '.join(str(exc).split())}") from exc
    native = int(native_rate)
    duration = len(stereo) / native
    # Copies, so that a long track's whole decode is freed once they are cut.
    channels = [
        np.array(stereo[int(start * native) : int((start + length) * native), :channel_count])
        for start, length in excerpt_windows(duration)
    ]
    del stereo
    pieces = [resample(_mono(block), native, sample_rate) for block in channels]
    return Excerpts(pieces, sample_rate, duration, channels, native)


def _mono(block: np.ndarray) -> np.ndarray:
    """The mono mix of a [frames, channels] block (a mono block's column, not a copy)."""
    return block[:, 0] if block.shape[1] == 1 else block.mean(axis=1)


def resample(audio: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """``audio`` at ``target_rate`` (float32), through soxr when installed, else Essentia."""
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if source_rate == target_rate or not len(audio):
        return audio
    try:
        import soxr
    except ImportError:
        pass
    else:
        return soxr.resample(audio, source_rate, target_rate, quality="HQ").astype(np.float32)
    try:
        es = essentia_standard()
    except ImportError as exc:
        raise DecodeError("no resampler available: install soxr or essentia") from exc
    return es.Resample(inputSampleRate=source_rate, outputSampleRate=target_rate, quality=1)(audio)
