"""Convert musicnn 0.1.0's MSD_musicnn (ISC license) from TensorFlow 1 checkpoints to ONNX.

One-off and reproducible; not run by CI, and nothing at run time needs TensorFlow. In a
throw-away virtual environment (TensorFlow 2.15 wants numpy < 2)::

    python3 -m venv /tmp/venv-tf
    /tmp/venv-tf/bin/pip install "tensorflow-cpu==2.15.1" "tf2onnx==1.16.1" "numpy<2" \
        onnx onnxruntime
    /tmp/venv-tf/bin/pip install --no-deps musicnn==0.1.0
    /tmp/venv-tf/bin/python tools/convert_musicnn.py

It writes ``mydiscover/audio/models/msd_musicnn.onnx`` (input ``melspec`` [batch, 187, 96]:
log-mel patches of 3 s at 16 kHz, 512-sample frames, 256 hop, as Essentia's
``TensorflowInputMusiCNN`` computes them; outputs ``tags`` [batch, 50], sigmoid, and
``embedding`` [batch, 200], the penultimate layer) and ``tests/data/musicnn_reference.npz``:
a fixed, seeded input and *TensorFlow's* outputs for it, so the tests check the ONNX model
against the original network, not against itself. It prints the model's SHA-256, which
``mydiscover/audio/embed.py`` pins. (Two conversions give the same numbers but not the same
bytes, as tf2onnx names some nodes afresh: after a new conversion, update the pin.)

The shipped checkpoint's ``.meta`` graph does not import under TensorFlow 2, so the graph is
rebuilt with ``musicnn.models.define_model`` and the weights restored into it.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"

import musicnn
import numpy as np
import onnx
import onnxruntime
import tensorflow as tf
import tf2onnx
from musicnn import configuration, models

REPO = Path(__file__).resolve().parent.parent
MODEL = "MSD_musicnn"
OUTPUT = REPO / "mydiscover" / "audio" / "models" / "msd_musicnn.onnx"
REFERENCE = REPO / "tests" / "data" / "musicnn_reference.npz"
PATCH_FRAMES, MEL_BANDS = 187, configuration.N_MELS


def build_and_freeze() -> tuple[tf.compat.v1.GraphDef, tf.compat.v1.Session, tf.Graph]:
    """The network with its trained weights, frozen, and a session to run TensorFlow on it."""
    tf.compat.v1.disable_eager_execution()
    graph = tf.Graph()
    with graph.as_default(), tf.name_scope("model"):
        melspec = tf.compat.v1.placeholder(tf.float32, [None, None, MEL_BANDS], name="melspec")
        outputs = models.define_model(melspec, False, MODEL, len(configuration.MSD_LABELS))
        tf.nn.sigmoid(outputs[0], name="tags")
        tf.identity(outputs[8], name="embedding")
    session = tf.compat.v1.Session(graph=graph)
    with graph.as_default():
        checkpoint = Path(musicnn.__file__).parent / MODEL
        tf.compat.v1.train.Saver().restore(session, f"{checkpoint}/")
    frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
        session, graph.as_graph_def(), ["model/tags", "model/embedding"]
    )
    return frozen, session, graph


def main() -> int:
    """Convert, write the reference outputs, check the ONNX model against TensorFlow."""
    frozen, session, graph = build_and_freeze()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    tf2onnx.convert.from_graph_def(
        frozen,
        input_names=["model/melspec:0"],
        output_names=["model/tags:0", "model/embedding:0"],
        opset=17,
        output_path=str(OUTPUT),
    )
    # Plainer names for the run-time code: rename the graph's inputs and outputs.
    model = onnx.load(str(OUTPUT))
    renames = {
        "model/melspec:0": "melspec",
        "model/tags:0": "tags",
        "model/embedding:0": "embedding",
    }
    for node in model.graph.node:
        node.input[:] = [renames.get(name, name) for name in node.input]
        node.output[:] = [renames.get(name, name) for name in node.output]
    for value in [*model.graph.input, *model.graph.output]:
        value.name = renames.get(value.name, value.name)
    onnx.save(model, str(OUTPUT))

    # A fixed input in the range of real log-mel values (log10(1 + 10000 * power)).
    rng = np.random.default_rng(20191105)
    patches = rng.uniform(0.0, 3.0, size=(3, PATCH_FRAMES, MEL_BANDS)).astype(np.float32)
    with graph.as_default():
        tags, embedding = session.run(
            ["model/tags:0", "model/embedding:0"], {"model/melspec:0": patches}
        )
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(REFERENCE, melspec=patches, tags=tags, embedding=embedding)

    onnx_session = onnxruntime.InferenceSession(str(OUTPUT), providers=["CPUExecutionProvider"])
    onnx_tags, onnx_embedding = onnx_session.run(["tags", "embedding"], {"melspec": patches})
    difference = max(
        float(np.abs(onnx_tags - tags).max()), float(np.abs(onnx_embedding - embedding).max())
    )
    digest = hashlib.sha256(OUTPUT.read_bytes()).hexdigest()
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size:,} bytes), sha256 {digest}")
    print(f"wrote {REFERENCE}; ONNX vs TensorFlow max difference {difference:.2e}")
    return 0 if difference < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
