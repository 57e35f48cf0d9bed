import numpy as np
import pytest

import handgrad as hg
from handgrad.check import gradcheck
from handgrad.nn import activation_names, get_activation

NAMES = activation_names()


@pytest.mark.parametrize("name", NAMES)
def test_each_activation_backward_matches_central_differences(name, rng):
    act = get_activation(name)
    z = rng.standard_normal((6, 5))
    report = gradcheck(act, z)
    assert report["input"]["max_error"] < 1e-6, report


@pytest.mark.parametrize("name", NAMES)
def test_activations_keep_float32(name, rng):
    z = rng.standard_normal((4, 3)).astype(np.float32)
    act = get_activation(name)
    a = act.forward(z)
    assert a.dtype == np.float32
    assert act.backward(np.ones_like(a)).dtype == np.float32


def test_values_at_known_points():
    z = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])
    assert np.allclose(hg.ReLU().forward(z), [[0, 0, 0, 0.5, 2]])
    assert np.allclose(hg.LeakyReLU().forward(z), [[-0.02, -0.005, 0, 0.5, 2]])
    assert np.allclose(hg.Sigmoid().forward(z), 1 / (1 + np.exp(-z)))
    assert np.allclose(hg.Tanh().forward(z), np.tanh(z))
    # GELU(x) = x Φ(x); Φ(0.5) = 0.691462461274013, Φ(2) = 0.977249868051821
    assert np.allclose(hg.GELU().forward(z)[0, 3:], [0.5 * 0.691462461274013, 2 * 0.977249868051821])
    assert np.allclose(hg.SiLU().forward(z), z / (1 + np.exp(-z)))
    assert hg.Swish is hg.SiLU


def test_gelu_derivative_is_Phi_plus_x_phi():
    from math import erf, exp, pi, sqrt
    g = hg.GELU()
    z = np.array([[-1.5, 0.3, 2.2]])
    g.forward(z)
    expected = [0.5 * (1 + erf(x / sqrt(2))) + x * exp(-x * x / 2) / sqrt(2 * pi) for x in z[0]]
    assert np.allclose(g.backward(np.ones_like(z))[0], expected, rtol=1e-12)


def test_gelu_tanh_approximation_is_close_to_exact():
    z = np.linspace(-6, 6, 1001)[None, :]
    exact = hg.GELU().forward(z)
    approx = hg.GELU(approximate="tanh").forward(z)
    assert np.max(np.abs(exact - approx)) < 1e-3
    assert get_activation("gelu_tanh").approximate == "tanh"


def test_sigmoid_does_not_overflow_at_plus_minus_1000():
    z = np.array([[-1000.0, 1000.0]], dtype=np.float32)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        a = hg.Sigmoid().forward(z)
        s = hg.SiLU().forward(z)
    assert a.tolist() == [[0.0, 1.0]]
    assert np.isfinite(s).all() and s[0, 1] == 1000


def test_unknown_activation_lists_the_valid_names():
    valid = "relu, leaky_relu, sigmoid, tanh, gelu"
    with pytest.raises(ValueError, match=f"unknown activation 'relux'; valid names: {valid}"):
        get_activation("relux")


def test_backward_uses_the_cached_value_not_a_recomputation():
    # Change the cached output after forward: a backward that recomputed σ(z)
    # from z would not notice; one that uses the cache must.
    sig = hg.Sigmoid()
    sig.forward(np.array([[3.0]]))
    sig.a[...] = 0.5
    assert sig.backward(np.array([[1.0]]))[0, 0] == 0.25      # σ' = a (1 - a)
    tanh = hg.Tanh()
    tanh.forward(np.array([[3.0]]))
    tanh.a[...] = 0.5
    assert tanh.backward(np.array([[1.0]]))[0, 0] == 0.75     # 1 - a²
    relu = hg.ReLU()
    relu.forward(np.array([[3.0]]))
    relu.a[...] = 0.0
    assert relu.backward(np.array([[1.0]]))[0, 0] == 0.0


def test_softmax_backward_is_the_jacobian_vector_product(rng):
    z = rng.standard_normal((3, 4))
    sm = hg.Softmax()
    p = sm.forward(z)
    g = rng.standard_normal((3, 4))
    jac = [np.diag(p[i]) - np.outer(p[i], p[i]) for i in range(3)]
    assert np.allclose(sm.backward(g), [jac[i] @ g[i] for i in range(3)], rtol=1e-12)
