"""Musical descriptors: tempo, key and scale, loudness, danceability.

Input is mono audio at 44.1 kHz (what Essentia's rhythm and tonal extractors are tuned for).
With Essentia, each descriptor comes from the extractor that measured best on signals with a
known answer: ``RhythmExtractor2013`` (multifeature) for tempo, ``KeyExtractor`` with
Temperley's profile for the key (``key_edma`` in ``MusicExtractor`` named the wrong key on a
plain C-Am-F-G progression; bench/bench_descriptors.py compares the profiles),
``Danceability``. Where Essentia cannot be installed, librosa measures the same: tempo from
the onset envelope's autocorrelation (hop 256: with 512, 170 BPM read as 85) and the key by
Temperley's profiles on the CQT chroma; it has no danceability and no tempo confidence
(``None``). Loudness is ITU-R BS.1770 (EBU R128's integrated loudness), computed here for both:
within 0.2 LU of Essentia's on real recordings, at a quarter of its cost; ReplayGain follows
from it (ReplayGain 2.0: -18 LUFS minus the loudness). Loudness is measured on the channels
as decoded, weighted as BS.1770-4 weighs them: a mono mix would read a stereo track up to
3 LU too quiet.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from mydiscover.audio import essentia_standard
from mydiscover.audio.frontend import audio_backend

SAMPLE_RATE = 44_100
#: ReplayGain 2.0's reference loudness: a track's gain is this minus its loudness.
REPLAY_GAIN_REFERENCE_LUFS = -18.0
#: Below this, tempo and key are not measured: there is not enough music to measure.
MIN_SECONDS = 5.0

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLATS = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#"}


class Descriptors(NamedTuple):
    """What a track's audio says about its tempo, key, loudness and groove."""

    bpm: float | None
    bpm_confidence: float | None  # Essentia's multifeature confidence, 0 to about 5.3
    key: str | None  # "C", "F#", ... (sharps)
    scale: str | None  # "major" or "minor"
    key_strength: float | None  # 0 to 1
    loudness_lufs: float | None  # integrated loudness
    replay_gain_db: float | None
    danceability: float | None  # Essentia's DFA-based measure, 0 to about 3


def pitch_class(key: str) -> int:
    """0 for C, 1 for C# or Db, ... 11 for B."""
    return PITCH_CLASSES.index(_FLATS.get(key, key))


def describe(
    audio: np.ndarray | list[np.ndarray],
    backend: str | None = None,
    *,
    channels: list[np.ndarray] | None = None,
    channels_rate: int = SAMPLE_RATE,
) -> Descriptors:
    """Measure mono 44.1 kHz audio: one signal, or a track's excerpts.

    Tempo and danceability are measured on each excerpt (never across the joins) and
    combined: the tempo of the most confident excerpt, the mean danceability; the key is
    measured on all the excerpts together. Loudness is measured over them all, on
    ``channels`` where given (the same excerpts with their channels as decoded, [frames,
    channels] at ``channels_rate``: BS.1770 sums the channels' power), else on the mono audio.
    Too short or silent audio gets ``None`` where a measure would be meaningless, never an
    exception.
    """
    measures = _measures(backend or audio_backend())
    pieces = [np.ascontiguousarray(piece, dtype=np.float32) for piece in _as_pieces(audio)]
    if not any(np.any(piece) for piece in pieces):
        return Descriptors(None, None, None, None, None, None, None, None)
    if channels is None:
        loudness = bs1770_loudness(pieces, SAMPLE_RATE)
    else:
        loudness = bs1770_loudness(channels, channels_rate)
    replay_gain = None if loudness is None else REPLAY_GAIN_REFERENCE_LUFS - loudness
    measurable = [piece for piece in pieces if len(piece) >= MIN_SECONDS * SAMPLE_RATE]
    if not measurable:
        return Descriptors(None, None, None, None, None, loudness, replay_gain, None)
    bpm, confidence = _tempo(measures, measurable)
    # One key over all the excerpts together (a key needs no continuity across the joins):
    # on bench/bench_descriptors.py's validation pieces, MIREX 0.782 -> 0.795 against a vote
    # of the excerpts' keys weighted by strength, with the same profile.
    key, scale, strength = measures.key(np.concatenate(measurable))
    dances = [measures.danceability(piece) for piece in measurable]
    danceability = None if None in dances else float(np.mean(dances))
    return Descriptors(
        round(bpm, 2) if bpm > 0 else None,
        None if confidence is None else round(confidence, 3),
        key,
        scale,
        round(strength, 3),
        None if loudness is None else round(loudness, 2),
        None if replay_gain is None else round(replay_gain, 2),
        None if danceability is None else round(danceability, 3),
    )


def _as_pieces(audio: np.ndarray | list[np.ndarray]) -> list[np.ndarray]:
    return list(audio) if isinstance(audio, list) else [audio]


#: A multifeature tempo confidence from which Essentia calls the estimate good: the other
#: excerpts are not measured (rhythm is half of an analysis's cost).
CONFIDENT_TEMPO = 3.0


def _tempo(measures: _Essentia | _Librosa, pieces: list[np.ndarray]) -> tuple[float, float | None]:
    """The tempo of the most confident excerpt, trying the middle one first; without
    confidences (librosa), the median of the excerpts' tempos."""
    middle_first = sorted(range(len(pieces)), key=lambda index: abs(index - (len(pieces) - 1) / 2))
    tempos = []
    for index in middle_first:
        bpm, confidence = measures.tempo(pieces[index])
        tempos.append((bpm, confidence))
        if confidence is not None and confidence >= CONFIDENT_TEMPO:
            return bpm, confidence
    if any(confidence is None for _, confidence in tempos):
        return float(np.median([bpm for bpm, _ in tempos])), None
    return max(tempos, key=lambda pair: pair[1] or 0.0)


@functools.cache
def _measures(backend: str) -> _Essentia | _Librosa:
    """One set of measuring algorithms per process: building Essentia's rhythm extractor
    costs 0.09 s, more than a key estimate."""
    return _Essentia() if backend == "essentia" else _Librosa()


class _Essentia:
    """Descriptors measured by Essentia."""

    def __init__(self) -> None:
        es = essentia_standard()
        self._rhythm = es.RhythmExtractor2013(method="multifeature")
        # Temperley's profile: on bench/bench_descriptors.py's validation pieces, MIREX 0.821
        # against 0.795 with the default 'bgate' and 0.767 with 'braw' (each on the excerpts
        # together; the other settings as Essentia's defaults, which measured best).
        self._key = es.KeyExtractor(profileType="temperley")
        self._danceability = es.Danceability()

    def tempo(self, audio: np.ndarray) -> tuple[float, float | None]:
        bpm, _, confidence, _, _ = self._rhythm(audio)
        return float(bpm), float(confidence)

    def key(self, audio: np.ndarray) -> tuple[str, str, float]:
        key, scale, strength = self._key(audio)
        return PITCH_CLASSES[pitch_class(key)], scale, float(strength)

    def danceability(self, audio: np.ndarray) -> float | None:
        return float(self._danceability(audio)[0])


# Temperley's (Kostka-Payne) key profiles, C major and C minor, as Essentia's backend uses:
# on bench/bench_descriptors.py's validation pieces, MIREX 0.754 against Krumhansl-Kessler's
# 0.686 on the same chroma (a harmonic/percussive split first reached 0.823 but took 6 CPU s
# per track).
_MAJOR_PROFILE = np.array([5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0])
_MINOR_PROFILE = np.array([5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0])
_ONSET_HOP = 256


class _Librosa:
    """The same descriptors measured with librosa and numpy, where Essentia is missing."""

    def tempo(self, audio: np.ndarray) -> tuple[float, float | None]:
        import librosa

        envelope = librosa.onset.onset_strength(y=audio, sr=SAMPLE_RATE, hop_length=_ONSET_HOP)
        bpm = librosa.feature.tempo(onset_envelope=envelope, sr=SAMPLE_RATE, hop_length=_ONSET_HOP)[
            0
        ]
        return float(bpm), None

    def key(self, audio: np.ndarray) -> tuple[str, str, float]:
        import librosa

        chroma = librosa.feature.chroma_cqt(y=audio, sr=SAMPLE_RATE).mean(axis=1)
        best = (-2.0, 0, "major")
        for tonic in range(12):
            for scale, profile in (("major", _MAJOR_PROFILE), ("minor", _MINOR_PROFILE)):
                fit = float(np.corrcoef(chroma, np.roll(profile, tonic))[0, 1])
                if fit > best[0]:
                    best = (fit, tonic, scale)
        fit, tonic, scale = best
        return PITCH_CLASSES[tonic], scale, max(0.0, fit)

    def danceability(self, audio: np.ndarray) -> float | None:
        return None  # Essentia's DFA measure has no librosa counterpart


#: BS.1770-4's channel weights: the front channels (L R C) count as they are, the surrounds
#: 1.41 times (+1.5 dB); the LFE does not count at all.
_FRONT_WEIGHT, _SURROUND_WEIGHT = 1.0, 1.41


def channel_weights(count: int) -> np.ndarray:
    """BS.1770-4's weight of each of ``count`` channels, in WAV (WAVE_FORMAT_EXTENSIBLE) order.

    1 to 3 channels (mono; L R; L R C) weigh 1.0 each; 4 are quadraphonic (L R BL BR); 5 are
    L R C and two surrounds; from 6 on, the fourth channel is the LFE (excluded) and every
    channel after it is a surround (5.1, 6.1, 7.1 in WAV order).
    """
    if count <= 3:
        return np.full(count, _FRONT_WEIGHT)
    if count == 4:
        return np.array([_FRONT_WEIGHT] * 2 + [_SURROUND_WEIGHT] * 2)
    if count == 5:
        return np.array([_FRONT_WEIGHT] * 3 + [_SURROUND_WEIGHT] * 2)
    return np.array([_FRONT_WEIGHT] * 3 + [0.0] + [_SURROUND_WEIGHT] * (count - 4))


def bs1770_loudness(audio: np.ndarray | list[np.ndarray], rate: int) -> float | None:
    """Integrated loudness (LUFS) by ITU-R BS.1770-4: K-weighting, 400-ms blocks every 100 ms,
    each block's power the weighted sum of its channels' (:func:`channel_weights`), an
    absolute gate at -70 LUFS and a relative gate 10 LU down.

    ``audio`` is mono (1-D) or [frames, channels], or a list of such excerpts of one track:
    blocks are cut within each excerpt, never across the joins, and gated together.
    """
    powers = np.concatenate(
        [_block_powers(np.asarray(piece), rate) for piece in _as_pieces(audio)] or [np.zeros(0)]
    )
    loud = powers[-0.691 + 10 * np.log10(np.maximum(powers, 1e-20)) > -70]
    if not len(loud):
        return None
    relative_gate = -0.691 + 10 * np.log10(loud.mean()) - 10
    gated = loud[-0.691 + 10 * np.log10(loud) > relative_gate]
    return float(-0.691 + 10 * np.log10(gated.mean()))


def _block_powers(audio: np.ndarray, rate: int) -> np.ndarray:
    """The channel-weighted mean square of each K-weighted 400-ms block of one excerpt."""
    from scipy.signal import lfilter

    channels = audio.reshape(len(audio), -1)  # mono as one column
    block, step = int(0.4 * rate), int(0.1 * rate)
    if len(channels) < block:
        return np.zeros(0)
    # The two K-weighting stages (a high shelf, then a high pass), for any sample rate.
    k = np.tan(np.pi * 1681.974450955533 / rate)
    gain, q = 10 ** (3.999843853973347 / 20), 0.7071752369554196
    boost = gain**0.4996667741545416
    norm = 1 + k / q + k * k
    shelf_b = [(gain + boost * k / q + k * k) / norm, 2 * (k * k - gain) / norm,
               (gain - boost * k / q + k * k) / norm]  # fmt: skip
    shelf_a = [1.0, 2 * (k * k - 1) / norm, (1 - k / q + k * k) / norm]
    k = np.tan(np.pi * 38.13547087602444 / rate)
    q = 0.5003270373238773
    norm = 1 + k / q + k * k
    pass_a = [1.0, 2 * (k * k - 1) / norm, (1 - k / q + k * k) / norm]
    starts = np.arange(0, len(channels) - block + 1, step)
    powers = np.zeros(len(starts))
    # One channel at a time: a float64 copy of every channel at once would double the memory.
    for channel, weight in zip(channels.T, channel_weights(channels.shape[1]), strict=True):
        if weight == 0.0:
            continue
        weighted = lfilter([1.0, -2.0, 1.0], pass_a, lfilter(shelf_b, shelf_a, channel))
        squares = np.concatenate([[0.0], np.cumsum(weighted.astype(np.float64) ** 2)])
        powers += weight * (squares[starts + block] - squares[starts]) / block
    return powers
