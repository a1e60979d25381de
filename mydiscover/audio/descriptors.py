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

from mydiscover.audio import essentia_standard

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


def describe(audio: np.ndarray | list[np.ndarray]) -> Descriptors:
    """Measure mono 44.1 kHz audio: one signal, or a track's excerpts.

    Tempo, key and danceability are measured on each excerpt (never across the joins) and
    combined: the tempo of the most confident excerpt, the key most excerpts agree on
    (weighted by strength), the mean danceability; loudness is measured over them all. Too
    short or silent audio gets ``None`` where a measure would be meaningless, never an
    exception.
    """
    es = essentia_standard()

    pieces = [np.ascontiguousarray(piece, dtype=np.float32) for piece in _as_pieces(audio)]
    whole = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    if not len(whole) or not np.any(whole):
        return Descriptors(None, None, None, None, None, None, None, None)
    loudness, replay_gain = _loudness(es, whole)
    measurable = [piece for piece in pieces if len(piece) >= MIN_SECONDS * SAMPLE_RATE]
    if not measurable:
        return Descriptors(None, None, None, None, None, loudness, replay_gain, None)
    rhythm = es.RhythmExtractor2013(method="multifeature")
    tempos = []
    for piece in measurable:
        piece_bpm, _, piece_confidence, _, _ = rhythm(piece)
        tempos.append((float(piece_bpm), float(piece_confidence)))
    bpm, confidence = max(tempos, key=lambda pair: pair[1])
    keys: dict[tuple[str, str], float] = {}
    for piece in measurable:
        key, scale, strength = es.KeyExtractor()(piece)
        name = (PITCH_CLASSES[pitch_class(key)], scale)
        keys[name] = keys.get(name, 0.0) + float(strength)
    (key, scale), weight = max(keys.items(), key=lambda item: item[1])
    danceability = float(np.mean([es.Danceability()(piece)[0] for piece in measurable]))
    return Descriptors(
        round(float(bpm), 2) if bpm > 0 else None,
        round(float(confidence), 3),
        key,
        scale,
        round(weight / len(measurable), 3),
        loudness,
        replay_gain,
        round(danceability, 3),
    )


def _as_pieces(audio: np.ndarray | list[np.ndarray]) -> list[np.ndarray]:
    return list(audio) if isinstance(audio, list) else [audio]


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
