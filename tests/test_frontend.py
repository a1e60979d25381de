"""The CNN front-end: Essentia and the librosa fallback give the same patches, to the point
where the network cannot tell them apart."""

from __future__ import annotations

import numpy as np
import pytest

from mydiscover.audio.embed import MusicnnModel
from mydiscover.audio.frontend import (
    ENV_BACKEND,
    SAMPLE_RATE,
    audio_backend,
    mel_frames,
    to_patches,
)

pytest.importorskip("librosa")


def music_like(seconds: float, seed: int = 1) -> np.ndarray:
    """Two tones, clicks on the beat and a little noise: enough structure to embed."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    rng = np.random.default_rng(seed)
    audio = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 277 * t)
    audio += 0.05 * rng.standard_normal(len(t))
    audio[:: SAMPLE_RATE // 2] += 0.8
    return audio.astype(np.float32)


@pytest.mark.parametrize("backend", ["essentia", "librosa"])
def test_frames_and_patches_have_the_network_shape(backend: str) -> None:
    if backend == "essentia":
        pytest.importorskip("essentia")
    frames = mel_frames(music_like(10.0), backend)

    assert frames.shape == (1 + 10 * SAMPLE_RATE // 256, 96)
    assert frames.dtype == np.float32 and np.isfinite(frames).all() and frames.min() >= 0
    assert to_patches(frames).shape == (3, 187, 96)  # 10 s holds three whole 3-s patches


def test_essentia_and_librosa_embed_alike() -> None:
    pytest.importorskip("essentia")
    audio = music_like(12.0)
    model = MusicnnModel()

    _, from_essentia = model.predict(to_patches(mel_frames(audio, "essentia")))
    _, from_librosa = model.predict(to_patches(mel_frames(audio, "librosa")))

    cosine = (from_essentia * from_librosa).sum(axis=1) / (
        np.linalg.norm(from_essentia, axis=1) * np.linalg.norm(from_librosa, axis=1)
    )
    assert len(cosine) == 4 and cosine.min() > 0.99


def test_too_short_audio_has_no_patches() -> None:
    assert mel_frames(np.zeros(100, np.float32), "librosa").shape == (0, 96)
    assert to_patches(mel_frames(music_like(2.0), "librosa")).shape == (0, 187, 96)


def test_backend_can_be_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_BACKEND, "librosa")
    assert audio_backend() == "librosa"
    monkeypatch.setenv(ENV_BACKEND, "tensorflow")
    with pytest.raises(ValueError, match="must be one of"):
        audio_backend()
