"""The shipped musicnn model: the same numbers as the original TensorFlow network, verified
at load, batched without changing results."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from mydiscover.audio.embed import (
    EMBEDDING_SIZE,
    MODEL_PATH,
    PATCHES_PER_CALL,
    TAG_LABELS,
    ModelError,
    MusicnnModel,
)

REFERENCE = Path(__file__).parent / "data" / "musicnn_reference.npz"


@pytest.fixture(scope="module")
def model() -> MusicnnModel:
    return MusicnnModel()


def test_onnx_model_reproduces_tensorflow_reference_outputs(model) -> None:
    # Written by tools/convert_musicnn.py from the original TensorFlow network.
    reference = np.load(REFERENCE)

    tags, embedding = model.predict(reference["melspec"])

    assert tags.shape == (3, len(TAG_LABELS)) and embedding.shape == (3, EMBEDDING_SIZE)
    np.testing.assert_allclose(tags, reference["tags"], atol=1e-4)
    np.testing.assert_allclose(embedding, reference["embedding"], atol=1e-4)


def test_batching_does_not_change_results(model) -> None:
    rng = np.random.default_rng(7)
    patches = rng.uniform(0, 3, size=(PATCHES_PER_CALL * 2 + 3, 187, 96)).astype(np.float32)

    tags, embedding = model.predict(patches)
    one_tags, one_embedding = model.predict(patches[-1:])

    np.testing.assert_allclose(tags[-1:], one_tags, atol=1e-5)
    np.testing.assert_allclose(embedding[-1:], one_embedding, atol=1e-5)
    summary = model.summarize(patches)
    assert summary.patches == len(patches)
    np.testing.assert_allclose(summary.embedding, embedding.mean(axis=0), atol=1e-6)


def test_damaged_model_is_refused(tmp_path: Path) -> None:
    damaged = tmp_path / "model.onnx"
    shutil.copyfile(MODEL_PATH, damaged)
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))

    with pytest.raises(ModelError, match="damaged or was replaced"):
        MusicnnModel(damaged)
    with pytest.raises(ModelError, match="cannot read"):
        MusicnnModel(tmp_path / "absent.onnx")


def test_wrong_shapes_and_empty_input(model) -> None:
    with pytest.raises(ValueError, match="expected patches"):
        model.predict(np.zeros((2, 100, 96), np.float32))
    tags, embedding = model.predict(np.zeros((0, 187, 96), np.float32))
    assert tags.shape == (0, 50) and embedding.shape == (0, 200)
    with pytest.raises(ValueError, match="shorter than 3 s"):
        model.summarize(np.zeros((0, 187, 96), np.float32))
