"""Analysing one track: decode its excerpts, measure its descriptors, embed its sound.

Runs in worker processes: each loads the network once, on its first track.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mydiscover.audio.decode import DecodeError, load_excerpts, resample
from mydiscover.audio.descriptors import SAMPLE_RATE, Descriptors, describe
from mydiscover.audio.embed import MusicnnModel, TrackEmbedding
from mydiscover.audio.frontend import SAMPLE_RATE as CNN_RATE
from mydiscover.audio.frontend import audio_backend, mel_frames, to_patches

#: Bumped when the analysis changes in a way that makes older results worth redoing.
#: 2: loudness measured on the channels as decoded (a mono mix read stereo 3-6 LU too quiet).
ANALYSIS_VERSION = 2
#: The network hears the middle this-many seconds of each excerpt (3 of its 3-s patches), not
#: all 20: the network is most of an analysis's cost, and the embeddings stay within cosine
#: 0.98 of those of whole excerpts (0.986 at the lowest on bench/bench_analyze.py's tracks;
#: 0.982 at the lowest, 0.994 on average, over 35 longer FLAC, Ogg and MP3 tracks, most of them
#: medleys of rendered works), so those stored before need no new analysis.
EMBED_SECONDS = 10.0


class TrackAnalysis(NamedTuple):
    """Everything the audio stage learns about one track."""

    descriptors: Descriptors
    embedding: TrackEmbedding | None  # None for audio shorter than one 3-s patch
    analysed_seconds: float
    backend: str


_model: MusicnnModel | None = None


def _network() -> MusicnnModel:
    global _model
    if _model is None:
        _model = MusicnnModel()
    return _model


def analyze_file(path: bytes) -> TrackAnalysis:
    """Analyse the audio file at ``path``; raises :class:`DecodeError` if it cannot be read."""
    excerpts = load_excerpts(path, SAMPLE_RATE)
    descriptors = describe(
        excerpts.pieces, channels=excerpts.channels, channels_rate=excerpts.native_rate
    )
    heard = excerpts.pieces if len(excerpts.pieces) == 1 else [middle(p) for p in excerpts.pieces]
    embedding = embed_pieces(heard)
    seconds = sum(len(piece) for piece in excerpts.pieces) / SAMPLE_RATE
    return TrackAnalysis(descriptors, embedding, round(seconds, 2), audio_backend())


def embed_pieces(pieces: list[np.ndarray]) -> TrackEmbedding | None:
    """The network's summary of mono pieces at the analysis rate; None where they hold no
    whole 3-s patch."""
    patches = [to_patches(mel_frames(resample(piece, SAMPLE_RATE, CNN_RATE))) for piece in pieces]
    all_patches = np.concatenate(patches) if patches else np.zeros((0, 187, 96), np.float32)
    return _network().summarize(all_patches) if len(all_patches) else None


def middle(piece: np.ndarray, seconds: float = EMBED_SECONDS) -> np.ndarray:
    """The middle ``seconds`` of an excerpt (mono at the analysis rate): what the network hears
    of it."""
    length = int(seconds * SAMPLE_RATE)
    start = max(0, (len(piece) - length) // 2)
    return piece[start : start + length]


AnalysisResult = tuple[int, TrackAnalysis | None, str | None]


def analyze_many(items: list[tuple[int, bytes]]) -> list[AnalysisResult]:
    """Analyse a chunk of (track id, path): each result, or the reason it failed (one worker
    task)."""
    results: list[AnalysisResult] = []
    for track_id, path in items:
        try:
            results.append((track_id, analyze_file(path), None))
        except DecodeError as exc:
            results.append((track_id, None, str(exc)))
        except Exception as exc:  # one odd file must not stop a library's analysis
            reason = " ".join(str(exc).split())
            results.append((track_id, None, f"analysis failed: {type(exc).__name__}: {reason}"))
    return results


def timed_out(items: list[tuple[int, bytes]], seconds: float) -> list[AnalysisResult]:
    """The results of a chunk whose worker was stopped after ``seconds`` on it: each track
    failed, with the reason."""
    return [(track_id, None, f"took longer than {seconds:g} s") for track_id, _ in items]
