"""Musical descriptors with Essentia: tempo, key and scale, loudness, danceability.

Input is mono audio at 44.1 kHz (what Essentia's rhythm and tonal extractors are tuned for).
Each descriptor comes from the extractor that measured best on signals with a known answer:
``RhythmExtractor2013`` (multifeature) for tempo, ``KeyExtractor`` for the key (Essentia's
``key_edma`` in ``MusicExtractor`` named the wrong key on a plain C-Am-F-G progression),
EBU R128 for loudness.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

SAMPLE_RATE = 44_100
#: Below this, tempo and key are not measured: there is not enough music to measure.
MIN_SECONDS = 5.0
#: A mono signal is measured as two identical channels; EBU R128 then counts its power
#: twice, 3.01 dB more than a mono programme measures.
_DUAL_MONO_DB = 10 * np.log10(2)

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


def describe(audio: np.ndarray) -> Descriptors:
    """Measure mono 44.1 kHz ``audio``. Too short or silent audio gets ``None`` where a
    measure would be meaningless, never an exception."""
    import essentia.standard as es

    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if not len(audio) or not np.any(audio):
        return Descriptors(None, None, None, None, None, None, None, None)
    loudness, replay_gain = _loudness(es, audio)
    if len(audio) < MIN_SECONDS * SAMPLE_RATE:
        return Descriptors(None, None, None, None, None, loudness, replay_gain, None)
    bpm, _, confidence, _, _ = es.RhythmExtractor2013(method="multifeature")(audio)
    key, scale, strength = es.KeyExtractor()(audio)
    danceability, _ = es.Danceability()(audio)
    return Descriptors(
        round(float(bpm), 2) if bpm > 0 else None,
        round(float(confidence), 3),
        PITCH_CLASSES[pitch_class(key)],
        scale,
        round(float(strength), 3),
        loudness,
        replay_gain,
        round(float(danceability), 3),
    )


def _loudness(es: Any, audio: np.ndarray) -> tuple[float | None, float | None]:
    stereo = np.stack([audio, audio], axis=1)
    _, _, integrated, _ = es.LoudnessEBUR128(sampleRate=SAMPLE_RATE)(stereo)
    loudness = float(integrated) - _DUAL_MONO_DB
    try:
        gain = float(es.ReplayGain(sampleRate=SAMPLE_RATE)(audio))
    except RuntimeError:  # shorter than ReplayGain's analysis window
        gain = None
    # EBU R128's gate answers about -70 LUFS for near-silence: no loudness to speak of.
    return (round(loudness, 2) if loudness > -69 else None), (
        round(gain, 2) if gain is not None else None
    )
