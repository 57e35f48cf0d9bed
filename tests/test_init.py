import numpy as np
import pytest

import handgrad as hg
from handgrad.nn import init_weight


@pytest.mark.parametrize("method,var", [
    ("he_normal", lambda i, o: 2 / i), ("he_uniform", lambda i, o: 2 / i),
    ("xavier_normal", lambda i, o: 2 / (i + o)), ("xavier_uniform", lambda i, o: 2 / (i + o)),
    ("gpt2", lambda i, o: 0.02 ** 2)])
def test_initializer_variance(method, var):
    n_in, n_out = 1000, 800
    W = init_weight(method, np.random.default_rng(0), n_out, n_in)
    assert W.shape == (n_out, n_in) and W.dtype == np.float32
    assert W.var() == pytest.approx(var(n_in, n_out), rel=0.05)
    assert abs(W.mean()) < 0.05 * np.sqrt(var(n_in, n_out))


def test_uniform_initializers_stay_in_their_bounds():
    # U(-a, a): every entry inside the bound, and 10,000 draws come within 1% of it
    for method, bound in (("he_uniform", np.sqrt(6 / 200)), ("xavier_uniform", np.sqrt(6 / 250))):
        W = np.abs(init_weight(method, np.random.default_rng(0), 50, 200))
        assert bound * 0.99 < W.max() <= bound, method
        assert np.mean(W < bound / 2) == pytest.approx(0.5, abs=0.02), method     # flat, not bell-shaped


def test_biases_start_at_zero_and_seeds_repeat():
    a, b = hg.MLP([5, 7, 3], seed=3), hg.MLP([5, 7, 3], seed=3)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not np.array_equal(a.layers[0].W, hg.MLP([5, 7, 3], seed=4).layers[0].W)
    assert all(not layer.b.any() for layer in a.layers)


def test_unknown_init_lists_valid_names():
    with pytest.raises(ValueError, match=r"unknown init method 'kaiming'.*he.*xavier"):
        hg.MLP([2, 2], init_method="kaiming")


def _activation_variances(init, depth=10, width=256, seed=0):
    model = hg.MLP([width] * (depth + 1) + [10], ["relu"] * depth + ["softmax"],
                   init_method=init, seed=seed)
    X = np.random.default_rng(seed).standard_normal((512, width)).astype(np.float32)
    model.forward(X)
    return [float(np.mean(layer.a ** 2)) for layer in model.layers[:-1]]


def test_he_keeps_a_deep_relu_net_in_scale_and_standard_normal_explodes():
    he = _activation_variances("he")
    assert max(he) / min(he) < 10, he           # within one order of magnitude over 10 layers
    normal = _activation_variances("normal")
    assert normal[-1] / normal[0] > 1e10, normal   # N(0, 1): ×(width/2) per layer
