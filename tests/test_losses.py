import warnings

import numpy as np
import pytest

import handgrad as hg
from handgrad.nn.losses import mse_mean


def numeric_grad(f, x, eps=1e-5):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = f(x)
        x[i] = old - eps
        minus = f(x)
        x[i] = old
        g[i] = (plus - minus) / (2 * eps)
    return g


def test_softmax_of_large_logits_is_stable_and_warning_free():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            p = hg.softmax(np.array([1000.0, 999.0, 998.0]))
            logp = hg.log_softmax(np.array([[1000.0, 0.0, -1000.0]]))
    assert np.allclose(p, [0.665, 0.244, 0.090], atol=1e-3)
    assert np.allclose(p, [0.66524096, 0.24472847, 0.09003057], rtol=1e-7)
    assert np.isfinite(logp).all() and logp[0, 2] == pytest.approx(-2000.0)


@pytest.mark.parametrize("B,K", [(1, 2), (5, 3), (8, 10)])
def test_cross_entropy_gradient_is_p_minus_y_over_B(B, K, rng):
    z = rng.standard_normal((B, K)) * 3
    y = rng.integers(0, K, B)
    loss, grad = hg.cross_entropy(z, y)
    p = hg.softmax(z)
    Y = np.eye(K)[y]
    assert np.allclose(grad, (p - Y) / B, rtol=1e-12, atol=1e-15)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(B), y])), rel=1e-12)
    num = numeric_grad(lambda zz: hg.cross_entropy(zz, y)[0], z.copy())
    assert np.allclose(grad, num, rtol=1e-6, atol=1e-10)


def test_cross_entropy_takes_labels_or_one_hot_alike(rng):
    z = rng.standard_normal((6, 4))
    y = rng.integers(0, 4, 6)
    l1, g1 = hg.cross_entropy(z, y)
    l2, g2 = hg.cross_entropy(z, np.eye(4)[y])
    assert l1 == pytest.approx(l2, rel=1e-12)
    assert np.allclose(g1, g2, rtol=1e-12, atol=1e-15)


def test_chain_rule_through_softmax_gives_the_fused_gradient(rng):
    # dL/dp for L = -mean log p_y, pushed through the softmax Jacobian, is (p - y)/B.
    z = rng.standard_normal((4, 5))
    y = rng.integers(0, 5, 4)
    sm = hg.Softmax()
    p = sm.forward(z)
    dL_dp = np.zeros_like(p)
    dL_dp[np.arange(4), y] = -1 / (4 * p[np.arange(4), y])
    assert np.allclose(sm.backward(dL_dp), hg.cross_entropy(z, y)[1], atol=1e-14)


def test_no_loss_takes_log_of_zero():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            ce, g = hg.cross_entropy(np.array([[1000.0, -1000.0]]), np.array([1]))
            bce, gb = hg.binary_cross_entropy(np.array([[-1000.0], [1000.0]]), np.array([1, 0]))
    assert ce == pytest.approx(2000.0) and np.isfinite(g).all()
    assert bce == pytest.approx(1000.0) and np.allclose(gb, [[-0.5], [0.5]])


def test_binary_cross_entropy_value_and_gradient(rng):
    z = rng.standard_normal((7, 1)) * 2
    y = rng.integers(0, 2, 7)
    loss, grad = hg.binary_cross_entropy(z, y)
    s = 1 / (1 + np.exp(-z[:, 0]))
    assert loss == pytest.approx(-np.mean(y * np.log(s) + (1 - y) * np.log(1 - s)), rel=1e-12)
    assert np.allclose(grad[:, 0], (s - y) / 7, rtol=1e-12)
    num = numeric_grad(lambda zz: hg.binary_cross_entropy(zz, y)[0], z.copy())
    assert np.allclose(grad, num, rtol=1e-6, atol=1e-10)


def test_mse_uses_one_over_2n(rng):
    pred, y = rng.standard_normal((5, 1)), rng.standard_normal((5, 1))
    loss, grad = hg.mse(pred, y)
    assert loss == pytest.approx(np.sum((pred - y) ** 2) / 10, rel=1e-12)
    assert np.allclose(grad, (pred - y) / 5)
    num = numeric_grad(lambda pp: hg.mse(pp, y)[0], pred.copy())
    assert np.allclose(grad, num, rtol=1e-6, atol=1e-10)


def test_labels_outside_the_classes_are_refused():
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 3\).*got 3 at index 1"):
        hg.cross_entropy(np.zeros((2, 3)), np.array([0, 3]))


def test_losses_keep_float32():
    z = np.zeros((2, 3), dtype=np.float32)
    assert hg.cross_entropy(z, np.array([0, 1]))[1].dtype == np.float32
    assert hg.binary_cross_entropy(z[:, :1], np.array([0, 1]))[1].dtype == np.float32
    assert hg.mse(z, z)[1].dtype == np.float32


# --- the lesson's MSE, scikit-learn's mean, sample weights ----------------------------------

def test_mse_is_the_lessons_half_sum_over_outputs_divided_by_examples():
    rng = np.random.default_rng(0)
    a, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    loss, grad = hg.mse(a, y)
    assert loss == pytest.approx(np.sum((a - y) ** 2) / (2 * 5))       # n = 5 examples, not 15
    assert np.allclose(grad, (a - y) / 5)
    loss_mean, grad_mean = mse_mean(a, y)                               # scikit-learn's squared loss
    assert loss_mean == pytest.approx(loss / 3) and np.allclose(grad_mean, grad / 3)


def test_mse_matches_torch_with_the_sum_over_outputs():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a, y = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    ta = torch.tensor(a, requires_grad=True)
    tl = 0.5 * torch.nn.functional.mse_loss(ta, torch.tensor(y), reduction="sum") / 4
    tl.backward()
    loss, grad = hg.mse(a, y)
    assert loss == pytest.approx(tl.item(), rel=1e-12)
    assert np.allclose(grad, ta.grad.numpy(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("loss_fn, y", [
    (hg.cross_entropy, np.array([0, 2, 1, 1])),
    (hg.binary_cross_entropy, np.array([[0.0], [1.0], [1.0], [0.0]])),
    (hg.mse, np.arange(12.0).reshape(4, 3) / 10),
])
def test_sample_weights_are_a_weighted_mean_and_integer_weights_repeat_rows(loss_fn, y):
    rng = np.random.default_rng(2)
    z = rng.standard_normal((4, y.shape[1] if y.ndim == 2 else 3))
    plain = loss_fn(z.copy(), y)
    ones = loss_fn(z.copy(), y, sample_weight=np.ones(4))
    assert ones[0] == pytest.approx(plain[0]) and np.allclose(ones[1], plain[1])
    w = np.array([2.0, 1.0, 0.0, 3.0])
    weighted = loss_fn(z.copy(), y, sample_weight=w)
    rows = np.repeat(np.arange(4), w.astype(int))                       # row i repeated w_i times
    repeated = loss_fn(z[rows].copy(), y[rows])
    assert weighted[0] == pytest.approx(repeated[0])
    summed = np.zeros_like(weighted[1])
    np.add.at(summed, rows, repeated[1])                                # the repeats' gradients added up
    assert np.allclose(weighted[1], summed)


def test_sample_weights_must_match_and_be_non_negative():
    z = np.zeros((3, 2))
    with pytest.raises(ValueError, match="one entry per example"):
        hg.cross_entropy(z, np.array([0, 1, 0]), sample_weight=np.ones(2))
    with pytest.raises(ValueError, match="non-negative"):
        hg.cross_entropy(z, np.array([0, 1, 0]), sample_weight=np.array([1.0, -1.0, 1.0]))


def test_mse_after_a_softmax_is_gradchecked_and_fused_losses_need_their_output():
    model = hg.MLP([3, 5, 4], ["tanh", "softmax"], seed=0, dtype=np.float64, loss="mse")
    assert model.loss_name == "mse" and model.task == "classification"
    X = np.random.default_rng(0).standard_normal((6, 3))
    report = hg.gradcheck(model, X, np.array([0, 1, 2, 3, 0, 1]))
    assert report.passed, report
    with pytest.raises(ValueError, match="fused with a softmax output"):
        hg.MLP([3, 4], ["identity"], loss="cross_entropy")
    with pytest.raises(ValueError, match="valid names"):
        hg.MLP([3, 4], ["identity"], loss="hinge")


def test_backward_before_forward_says_call_forward_first():
    model = hg.MLP([3, 4, 2], seed=0)
    with pytest.raises(RuntimeError, match="call forward"):
        model.backward(np.array([0, 1]))


def test_the_fused_delta_leaves_the_forward_output_and_logits_alone():
    model = hg.MLP([3, 4, 2], seed=0)
    X = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    probs = model.forward(X)
    z = model.layers[-1].z
    saved_p, saved_z = probs.copy(), z.copy()
    model.backward(np.array([0, 1, 1, 0, 1]))
    assert np.array_equal(probs, saved_p) and np.array_equal(model.layers[-1].z, saved_z)
    assert np.allclose(model.delta_out, (saved_p - np.eye(2)[[0, 1, 1, 0, 1]]) / 5)


def test_the_loss_is_named_by_loss_name_alone():
    model = hg.MLP([3, 4, 2], seed=0)
    assert model.loss_name == "cross_entropy" and not hasattr(model, "loss")
