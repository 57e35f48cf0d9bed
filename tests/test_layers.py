import numpy as np
import pytest

import handgrad as hg
from handgrad.check import gradcheck
from handgrad.nn import NORMS, Linear, Module, norm_names


class Stack(Module):
    """Linear followed by a module: a norm checked where it sits in a network."""

    def __init__(self, first, second):
        super().__init__()
        self.first, self.second = first, second
        self.add_child("linear", first)
        self.add_child("norm", second)

    def forward(self, x, training=True):
        return self.second.forward(self.first.forward(x), training)

    def backward(self, g):
        return self.first.backward(self.second.backward(g))


def randomize_affine(norm, rng):
    for p in norm.params.values():
        p[...] = rng.standard_normal(p.shape)


@pytest.mark.parametrize("norm_cls", NORMS.values())
def test_norm_after_a_linear_with_random_gamma_beta_passes_gradcheck(norm_cls, rng):
    lin = Linear(5, 6, rng=rng, dtype=np.float64)
    norm = norm_cls(6, dtype=np.float64)
    randomize_affine(norm, rng)
    report = gradcheck(Stack(lin, norm), rng.standard_normal((7, 5)))
    names = [r["name"] for r in report.rows]
    assert "norm.weight" in names and "linear.weight" in names and "input" in names
    assert report.passed, report


def test_batchnorm_shortcut_backward_would_fail_the_check(rng, monkeypatch):
    # The "shortcut" that treats the batch statistics as constants gives wrong dx.
    lin, bn = Linear(4, 5, rng=rng, dtype=np.float64), hg.BatchNorm1d(5, dtype=np.float64)
    randomize_affine(bn, rng)
    monkeypatch.setattr(hg.BatchNorm1d, "backward",
                        lambda self, g: self._affine_backward(g) * self.inv_std)
    report = gradcheck(Stack(lin, bn), rng.standard_normal((6, 4)))
    assert not report.passed and report["input"]["max_error"] > 1e-2


def test_batchnorm_in_evaluation_mode_passes_gradcheck(rng):
    bn = hg.BatchNorm1d(4, dtype=np.float64)
    bn.forward(rng.standard_normal((10, 4)) * 3 + 1)         # move the running statistics
    randomize_affine(bn, rng)
    assert gradcheck(bn, rng.standard_normal((5, 4)), training=False).passed


@pytest.mark.parametrize("block", ["ffn", "swiglu"])
def test_feed_forward_blocks_pass_gradcheck(block, rng):
    module = (hg.FFN(6, 24, activation="gelu", init="he", rng=rng, dtype=np.float64) if block == "ffn"
              else hg.SwiGLU(6, 16, init="he", rng=rng, dtype=np.float64))
    report = gradcheck(module, rng.standard_normal((5, 6)))
    assert report.passed, report
    expected = {"ffn": ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"],
                "swiglu": ["w1.weight", "w2.weight", "w3.weight"]}[block]
    assert [r["name"] for r in report.rows] == expected + ["input"]


def test_swiglu_is_silu_gate_times_linear_then_down_projection(rng):
    m = hg.SwiGLU(4, 8, rng=rng, dtype=np.float64)
    x = rng.standard_normal((3, 4))
    W1, W2, W3 = (m.params[f"w{i}.weight"] for i in (1, 2, 3))
    u = x @ W1.T
    expected = ((u / (1 + np.exp(-u))) * (x @ W3.T)) @ W2.T
    assert np.allclose(m.forward(x), expected, rtol=1e-12)
    assert hg.FFN(8).fc1.W.shape == (32, 8)                    # GPT-2: hidden = 4d


def test_dropout_with_a_fixed_mask_passes_gradcheck_and_backward_reuses_the_mask(rng):
    drop = hg.Dropout(0.4, rng=rng)
    x = rng.standard_normal((6, 5))
    y = drop.forward(x)
    mask = drop.mask
    assert np.allclose(np.unique(mask), [0.0, 1 / 0.6])              # inverted: kept units scaled by 1/(1-p)
    assert np.array_equal(drop.backward(np.ones_like(x)), mask)      # the very same mask
    assert np.allclose(y, x * mask)
    report = gradcheck(Stack(Linear(3, 5, rng=rng, dtype=np.float64), hg.Dropout(0.5, rng=rng)),
                       rng.standard_normal((6, 3)))
    assert report.passed, report


def test_dropout_keeps_the_mean_zeroes_about_p_and_is_identity_in_evaluation():
    drop = hg.Dropout(0.5, rng=np.random.default_rng(0))
    ones = np.ones((100, 100), dtype=np.float32)
    out = drop.forward(ones)
    assert out.dtype == np.float32
    assert out.mean() == pytest.approx(1.0, abs=0.02)
    assert np.mean(out == 0) == pytest.approx(0.5, abs=0.02)
    assert set(np.unique(out)) == {0.0, 2.0}
    assert drop.forward(ones, training=False) is ones
    with pytest.raises(ValueError, match=r"dropout probability must be in \[0, 1\)"):
        hg.Dropout(1.0)


def test_layernorm_rows_have_mean_0_and_std_1(rng):
    x = rng.standard_normal((8, 32)) * 5 + 3
    y = hg.LayerNorm(32, dtype=np.float64).forward(x)
    assert np.allclose(y.mean(axis=1), 0, atol=1e-12)
    assert np.allclose(y.std(axis=1), 1, atol=1e-4)


def test_rmsnorm_rows_have_rms_1_and_keep_their_mean(rng):
    x = rng.standard_normal((8, 32)) + 2
    y = hg.RMSNorm(32, dtype=np.float64).forward(x)
    rms = np.sqrt(np.mean(x * x, axis=1))
    assert np.allclose(np.sqrt(np.mean(y * y, axis=1)), 1, atol=1e-5)
    assert np.allclose(y.mean(axis=1), x.mean(axis=1) / rms, rtol=1e-5)   # not centered
    assert (y.mean(axis=1) > 0.5).all()


def test_batchnorm_uses_running_statistics_in_evaluation(rng):
    bn = hg.BatchNorm1d(3, dtype=np.float64)
    batches = [rng.standard_normal((16, 3)) * [1, 2, 3] + [5, -1, 0] for _ in range(3)]
    mean, var = np.zeros(3), np.ones(3)
    for b in batches:
        bn.forward(b)
        mean = 0.9 * mean + 0.1 * b.mean(axis=0)
        var = 0.9 * var + 0.1 * b.var(axis=0, ddof=1)              # unbiased for running_var
    assert np.allclose(bn.buffers["running_mean"], mean) and np.allclose(bn.buffers["running_var"], var)
    assert int(bn.buffers["num_batches_tracked"]) == 3
    x = rng.standard_normal((1, 3))                                # a batch of one is fine here
    assert np.allclose(bn.forward(x, training=False), (x - mean) / np.sqrt(var + 1e-5))
    train_out = bn.forward(batches[0])
    assert np.allclose(train_out.mean(axis=0), 0, atol=1e-12)      # training: the batch's own stats


def test_batchnorm_refuses_a_batch_of_one_in_training():
    with pytest.raises(ValueError, match="BatchNorm1d needs more than 1 example per batch in training"):
        hg.BatchNorm1d(3).forward(np.zeros((1, 3), dtype=np.float32))


@pytest.mark.parametrize("norm", norm_names())
def test_mlps_with_norms_dropout_and_no_bias_pass_gradcheck(norm, rng):
    model = hg.MLP([5, 8, 7, 3], ["tanh", "gelu", "softmax"], seed=3, dtype=np.float64,
                   norm=norm, dropout=[0.3, 0.0], bias=[False, True, True], output_scale=1.0)
    for layer in model.layers[:-1]:
        randomize_affine(layer.norm, rng)
    assert "layers.0.bias" not in model.params and "layers.1.norm.weight" in model.params
    X = rng.standard_normal((9, 5))
    report = gradcheck(model, X, rng.integers(0, 3, 9))
    assert report.passed, report


def test_the_spec_rebuilds_the_same_architecture():
    model = hg.MLP([6, 10, 8, 2], ["gelu", {"name": "leaky_relu", "alpha": 0.2}, "softmax"],
                   norm=["batch", "rms"], dropout=[0.1, 0.2], bias=[False, True, True], seed=0)
    spec = model.spec
    assert spec["norm"] == ["batch", "rms"] and spec["dropout"] == [0.1, 0.2]
    assert spec["bias"] == [False, True, True]
    again = hg.MLP.from_spec(spec)
    assert again.spec == spec
    assert {k: v.shape for k, v in again.state_dict().items()} == \
        {k: v.shape for k, v in model.state_dict().items()}
    assert again.layers[1].activation.alpha == 0.2
    assert "layers.0.norm.running_var" in model.state_dict()


def test_mlp_with_batchnorm_predicts_with_running_statistics():
    X = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    model = hg.MLP([4, 8, 2], norm="batch", seed=0)
    model.fit(X, y, epochs=5, batch_size=16)
    one = model.predict_proba(X[:1])                 # one example: evaluation mode
    assert one.shape == (1, 2) and np.isfinite(one).all()
    assert np.allclose(model.predict_proba(X)[:1], one, atol=1e-6)


@pytest.mark.slow
def test_mnist_shaped_network_with_dropout_trains_with_each_optimizer(mnist):
    X, y, X_test, y_test = mnist
    X, y, X_test, y_test = X[:8000], y[:8000], X_test[:2000], y_test[:2000]
    for opt in (hg.SGD(0.1), hg.SGD(0.05, momentum=0.9), hg.SGD(0.05, momentum=0.9, nesterov=True),
                hg.Adam(1e-3), hg.AdamW(1e-3, weight_decay=0.01)):
        model = hg.MLP([784, 256, 128, 10], dropout=0.2, seed=0)
        losses = model.fit(X, y, epochs=3, batch_size=64, optimizer=opt)
        assert losses[-1] < 0.6 * losses[0], opt
        assert model.score(X_test, y_test) > 0.85, opt
