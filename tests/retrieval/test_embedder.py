import numpy as np
import pytest

from ponder.errors import ConfigError
from ponder.retrieval import Embedder, HashingEmbedder

SENTENCES = [
    "The Eiffel Tower is in Paris.",
    "Gustave Eiffel was born in Dijon in 1832 and his company built the tower.",
    "Python is a programming language.",
    "A completely unrelated sentence about cooking pasta with tomatoes and basil.",
]


def test_default_is_the_fast_onnx_path(embedder):
    assert embedder.name == "all-MiniLM-L6-v2" and embedder.dim == 384
    assert embedder.backend == "onnx-int8"
    vectors = embedder.encode(SENTENCES)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert embedder.encode([]).shape == (0, 384)
    assert embedder.encode("one").shape == (1, 384)


def test_int8_vectors_match_sentence_transformers_fp32(embedder):
    reference = Embedder(backend="torch")
    fast, ref = embedder.encode(SENTENCES), reference.encode(SENTENCES)
    cosines = (fast * ref).sum(axis=1)
    assert cosines.min() > 0.97
    # the neighbourhoods agree: same nearest neighbour for every sentence
    assert ((fast @ fast.T - 2 * np.eye(4)).argmax(1) == (ref @ ref.T - 2 * np.eye(4)).argmax(1)).all()


def test_batching_and_order_barely_change_vectors(embedder):
    # int8 activations are quantised per batch, so batch mates shift a vector slightly
    one_by_one = np.concatenate([embedder.encode([s]) for s in SENTENCES])
    batched = embedder.encode(SENTENCES, batch_size=3)
    assert (one_by_one * batched).sum(axis=1).min() > 0.98
    fp32 = Embedder(backend="onnx")
    assert np.allclose(np.concatenate([fp32.encode([s]) for s in SENTENCES]), fp32.encode(SENTENCES), atol=1e-4)


def test_fp32_onnx_is_selectable_and_exact():
    onnx = Embedder(backend="onnx").encode(SENTENCES)
    ref = Embedder(backend="torch").encode(SENTENCES)
    assert np.allclose(onnx, ref, atol=1e-4)


def test_bad_names_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown embedder backend"):
        Embedder(backend="tpu")
    with pytest.raises(ConfigError, match="unknown embedder"):
        Embedder(str(tmp_path / "nothing-here"))


def test_hashing_embedder_is_deterministic():
    a, b = HashingEmbedder(64), HashingEmbedder(64)
    assert np.array_equal(a.encode(SENTENCES), b.encode(SENTENCES))
    v = a.encode(["paris tower", "tower paris", "pasta"])
    assert v[0] @ v[1] > v[0] @ v[2]
