"""The CNN embedding: musicnn's MSD_musicnn, shipped as ONNX, run with ONNX Runtime.

Input: log-mel patches of 3 s (187 frames of 96 bands; 16 kHz audio, 512-sample frames, hop
256, the front-end of Essentia's ``TensorflowInputMusiCNN``). Output per patch: a 200-d
embedding (the network's penultimate layer) and 50 tag probabilities learnt from Last.fm tags
of the Million Song Dataset. A track is summarised by the mean over its patches.

The model file is checked against a pinned SHA-256 when it is loaded: a damaged or swapped
file is refused rather than silently giving other numbers.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import numpy as np

from mydiscover.errors import MydiscoverError

MODEL_PATH = Path(__file__).parent / "models" / "msd_musicnn.onnx"
#: Printed by tools/convert_musicnn.py when the model was made.
MODEL_SHA256 = "aa89172ddea11ca29cb1ea7d5264336ec6cecc419158faca7e371fb8edfd8959"
PATCH_FRAMES = 187
MEL_BANDS = 96
EMBEDDING_SIZE = 200
#: Patches per call to the network: all of a track's at once took 2.9 GB, and even 8 at a
#: time held 330 MB; one at a time was both the leanest (115 MB) and the fastest.
PATCHES_PER_CALL = 1

#: The 50 tags the network predicts, in its output order (musicnn's MSD_LABELS).
TAG_LABELS = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists",
    "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill",
    "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic", "experimental",
    "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country", "easy listening", "sexy",
    "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop",
    "sad", "House", "happy",
)  # fmt: skip


class ModelError(MydiscoverError):
    """The model file is missing, damaged, or cannot be run."""


class TrackEmbedding(NamedTuple):
    """A track's sound, summarised over its analysed patches."""

    embedding: np.ndarray  # float32 [200]
    tags: np.ndarray  # float32 [50], probabilities
    patches: int


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _onnxruntime_without_telemetry() -> ModuleType:
    """``onnxruntime``, with its telemetry off: otherwise loading it writes a device id and
    queues usage events under ~/.cache/Microsoft."""
    # The library starts its telemetry when it is loaded, so this must come before the import.
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
    import onnxruntime  # imported here: commands that never analyse start faster

    onnxruntime.disable_telemetry_events()  # and no events from the sessions made later
    return onnxruntime


class MusicnnModel:
    """The network, loaded once per process (a worker keeps its own)."""

    def __init__(
        self, path: Path = MODEL_PATH, *, expected_sha256: str = MODEL_SHA256, threads: int = 1
    ) -> None:
        """Load and verify the model; ``threads`` per call (1 in worker processes, which
        already use every core between them)."""
        onnxruntime = _onnxruntime_without_telemetry()
        try:
            actual = file_sha256(path)
        except OSError as exc:
            raise ModelError(f"cannot read the model {path}: {exc.strerror or exc}") from exc
        if actual != expected_sha256:
            raise ModelError(
                f"the model {path} is damaged or was replaced (checksum {actual[:12]}…, "
                f"expected {expected_sha256[:12]}…): reinstall mydiscover"
            )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: its warnings are not the user's business
        self._session = onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def predict(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tag probabilities [n, 50] and embeddings [n, 200] of ``n`` log-mel patches."""
        patches = np.asarray(patches, dtype=np.float32)
        if patches.ndim != 3 or patches.shape[1:] != (PATCH_FRAMES, MEL_BANDS):
            raise ValueError(
                f"expected patches of shape [n, {PATCH_FRAMES}, {MEL_BANDS}], got {patches.shape}"
            )
        tags, embeddings = [], []
        for start in range(0, len(patches), PATCHES_PER_CALL):
            batch = patches[start : start + PATCHES_PER_CALL]
            batch_tags, batch_embedding = self._session.run(
                ["tags", "embedding"], {"melspec": batch}
            )
            tags.append(batch_tags)
            embeddings.append(batch_embedding)
        if not tags:
            return np.zeros((0, len(TAG_LABELS)), np.float32), np.zeros(
                (0, EMBEDDING_SIZE), np.float32
            )
        return np.concatenate(tags), np.concatenate(embeddings)

    def summarize(self, patches: np.ndarray) -> TrackEmbedding:
        """A track's embedding and tags: the mean over its patches."""
        tags, embeddings = self.predict(patches)
        if not len(tags):
            raise ValueError("no patches to summarise: the audio is shorter than 3 s")
        return TrackEmbedding(
            embeddings.mean(axis=0).astype(np.float32),
            tags.mean(axis=0).astype(np.float32),
            len(tags),
        )
