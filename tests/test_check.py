import numpy as np
import pytest

import handgrad as hg
from handgrad.check import held_bytes


def test_trace_of_the_lesson_network_at_batch_64():
    t = hg.trace([784, 256, 128, 10], batch_size=64)
    # 784·256 + 256·128 + 128·10 = 200,704 + 32,768 + 1,280
    assert t.floats("weights") == 234_752
    assert t.floats("biases") == 394
    assert t.params == 235_146
    assert t.floats("cached activations (X, a)") == 75_392     # 64·(784 + 256 + 128 + 10)
    assert t.floats("cached pre-activations (z)") == 25_216    # 64·(256 + 128 + 10)
    assert t.floats("gradients") == 235_146
    assert t.floats("inference total") == 235_146 + 64 * (784 + 256)
    assert ("layers.0 linear", "z1 = a0 @ W1.T + b1", "(64, 256)") in t.forward
    assert ("dW1", "dz1.T @ a0", "(256, 784)") in t.backward
    assert ("dz3", "(a3 - Y) / B", "(64, 10)") in t.backward
    text = str(t)
    assert "235,146" in text and "Forward" in text and "Backward" in text


def test_trace_of_a_network_too_big_for_memory_is_computed_from_its_sizes():
    t = hg.trace([100_000, 100_000, 10], batch_size=100_000)    # 40 GB of weights: none is made
    assert t.params == 100_000 * 100_000 + 100_000 + 100_000 * 10 + 10
    assert t.bytes("weights") == 4 * (100_000 * 100_000 + 100_000 * 10)
    assert t.bytes("cached activations (X, a)") == 4 * 100_000 * (100_000 + 100_000 + 10)
    assert ("layers.0 linear", "z1 = a0 @ W1.T + b1", "(100000, 100000)") in t.forward
    assert "GiB" in str(t)


def test_small_network_has_131_parameters():
    assert hg.trace([4, 16, 3]).params == 131 == hg.MLP([4, 16, 3]).count_params()


@pytest.mark.parametrize("kwargs", [
    dict(layer_sizes=[784, 256, 128, 10]),
    dict(layer_sizes=[20, 32, 16, 5], activations=["gelu", "silu", "softmax"]),
    dict(layer_sizes=[20, 32, 16, 5], norm="batch", dropout=0.2),
    dict(layer_sizes=[20, 32, 16, 1], activations=["tanh", "relu", "sigmoid"], norm=["layer", "rms"]),
    dict(layer_sizes=[20, 12, 3], activations=["leaky_relu", "identity"], dtype=np.float64),
])
def test_trace_memory_equals_the_bytes_the_model_really_holds(kwargs):
    model = hg.MLP(**kwargs, seed=0)
    t = hg.trace(model, batch_size=48)
    # Measured independently: every distinct array reachable from the model after a
    # forward and backward pass at batch 48 (trace itself ran a small stand-in).
    X = np.random.default_rng(0).standard_normal((48, model.layer_sizes[0])).astype(model.dtype)
    y = np.arange(48) % model.layer_sizes[-1] if model.task == "classification" else (
        np.arange(48) % 2 if model.task == "binary" else np.zeros((48, model.layer_sizes[-1])))
    model.loss_and_grad(X, y)
    assert held_bytes(model) == t.bytes("training total")
    assert t.bytes("weights") == sum(layer.W.nbytes for layer in model.layers)


def test_gradcheck_refuses_float32():
    model = hg.MLP([3, 4, 2], seed=0)
    with pytest.raises(ValueError, match="gradient checks need float64"):
        hg.gradcheck(model, np.zeros((2, 3), dtype=np.float32), np.array([0, 1]))


def test_gradcheck_reports_name_shape_error_and_worst_index():
    model = hg.MLP([3, 4, 2], ["tanh", "softmax"], seed=0, dtype=np.float64, output_scale=1.0)
    X = np.random.default_rng(0).standard_normal((5, 3))
    report = hg.gradcheck(model, X, np.array([0, 1, 1, 0, 1]))
    row = report["layers.0.weight"]
    assert row["shape"] == (4, 3) and len(row["worst_index"]) == 2
    assert 0 <= row["max_error"] < 1e-6
    assert row["analytic"] == pytest.approx(row["numeric"], rel=1e-6)
    assert report.passed and "passed" in str(report)


def test_gradcheck_leaves_the_model_as_it_found_it():
    model = hg.MLP([3, 6, 2], seed=0, dtype=np.float64, norm="batch", dropout=0.3)
    before = model.state_dict()
    X = np.random.default_rng(0).standard_normal((6, 3))
    hg.gradcheck(model, X, np.array([0, 1, 1, 0, 1, 0]))
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert all(d.fixed_mask is None for d in [layer.dropout for layer in model.layers[:-1]])


def test_prediction_keeps_nothing_for_a_backward_pass():
    model = hg.MLP([50, 64, 32, 5], seed=0, norm="batch", dropout=0.2)
    X = np.random.default_rng(0).standard_normal((3000, 50)).astype(np.float32)
    model.loss_and_grad(X[:64], np.arange(64) % 5)            # caches from a training step …
    probs = model.predict_proba(X)                             # … are dropped by inference
    arrays = [*model.params.values(), *model.grads.values(), *model.buffers.values()]
    assert held_bytes(model) == sum(a.nbytes for a in arrays)
    assert probs.shape == (3000, 5) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert np.allclose(probs[:7], model.forward(X[:7], training=False), atol=1e-6)
