"""The CNN's front-end: 16 kHz mono audio to the log-mel patches musicnn was trained on.

96 mel bands of 512-sample frames every 256 samples, compressed as ``log10(1 + 10000 x)``,
cut into non-overlapping patches of 187 frames (3 s). Essentia computes this with
``TensorflowInputMusiCNN``; where Essentia cannot be installed, librosa computes the same
representation (the embeddings of the two agree to a cosine of 0.99 and more).
"""

from __future__ import annotations

import os
from functools import cache

import numpy as np

from mydiscover.audio import essentia_standard
from mydiscover.audio.embed import MEL_BANDS, PATCH_FRAMES

SAMPLE_RATE = 16_000
FRAME_SIZE = 512
HOP_SIZE = 256
#: Forces a front-end ("essentia" or "librosa"), e.g. to test the fallback where both exist.
ENV_BACKEND = "MYDISCOVER_AUDIO_BACKEND"
BACKENDS = ("essentia", "librosa")


@cache
def _available(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def audio_backend() -> str:
    """The audio library in use: Essentia when installed, else librosa (or as forced)."""
    forced = os.environ.get(ENV_BACKEND)
    if forced:
        if forced not in BACKENDS:
            raise ValueError(f"{ENV_BACKEND} must be one of {', '.join(BACKENDS)}, not {forced!r}")
        return forced
    return "essentia" if _available("essentia") else "librosa"


def mel_frames(audio: np.ndarray, backend: str | None = None) -> np.ndarray:
    """Log-mel frames [frames, 96] (float32) of mono 16 kHz ``audio``."""
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if len(audio) < FRAME_SIZE:
        return np.zeros((0, MEL_BANDS), np.float32)
    if (backend or audio_backend()) == "essentia":
        return _essentia_mel(audio)
    return _librosa_mel(audio)


def to_patches(frames: np.ndarray) -> np.ndarray:
    """Non-overlapping patches [n, 187, 96] of consecutive frames; a short remainder is
    dropped (a track shorter than one patch has none)."""
    count = len(frames) // PATCH_FRAMES
    return frames[: count * PATCH_FRAMES].reshape(count, PATCH_FRAMES, MEL_BANDS)


def _essentia_mel(audio: np.ndarray) -> np.ndarray:
    es = essentia_standard()

    extractor = es.TensorflowInputMusiCNN()
    # Frames centred on multiples of the hop, the first on sample 0: as librosa frames them.
    frames = [
        extractor(frame)
        for frame in es.FrameGenerator(
            audio, frameSize=FRAME_SIZE, hopSize=HOP_SIZE, startFromZero=False
        )
    ]
    return np.asarray(frames, dtype=np.float32).reshape(-1, MEL_BANDS)


def _librosa_mel(audio: np.ndarray) -> np.ndarray:
    import librosa

    power = librosa.feature.melspectrogram(
        y=audio, sr=SAMPLE_RATE, n_fft=FRAME_SIZE, hop_length=HOP_SIZE, n_mels=MEL_BANDS,
        dtype=np.float32,
    )  # fmt: skip
    # In float32: musicnn's own code went through float16 and overflows under numpy 2.
    return np.log10(1.0 + 10_000.0 * power.T, dtype=np.float32)
