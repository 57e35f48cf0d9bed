"""The L1 and L2 penalties: their values, their gradients (checked by central differences in
float64) and L2's agreement with the optimizers' weight decay."""

import numpy as np
import pytest

import handgrad as hg
from handgrad.nn import PENALTIES, add_penalties, l1_penalty, l2_penalty


def random_params(rng):
    """A few arrays of every shape a model holds, no entry within 0.05 of 0 (L1's kink)."""
    params = {"layers.0.weight": rng.standard_normal((4, 3)), "layers.0.bias": rng.standard_normal(4),
              "layers.0.norm.weight": rng.standard_normal(4)}
    for p in params.values():
        p += 0.05 * np.sign(p)
    return params


@pytest.mark.parametrize("name", ["l1", "l2"])
def test_gradients_match_central_differences(name, rng):
    params, lam, eps = random_params(rng), 0.37, 1e-6
    value, grads = PENALTIES[name](params, lam)
    for key, p in params.items():
        numeric = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            keep = p[i]
            p[i] = keep + eps
            up = PENALTIES[name](params, lam)[0]
            p[i] = keep - eps
            down = PENALTIES[name](params, lam)[0]
            p[i] = keep
            numeric[i] = (up - down) / (2 * eps)
        rel = np.abs(numeric - grads[key]) / np.maximum(np.abs(numeric) + np.abs(grads[key]), 1e-12)
        assert rel.max() < 1e-7, (key, rel.max())
    assert value == PENALTIES[name](params, lam)[0]          # probing left the arrays as they were


def test_values_by_hand():
    params = {"w": np.array([[1.0, -2.0], [0.0, 3.0]]), "b": np.array([-0.5])}
    value, grads = l1_penalty(params, 0.1)
    assert value == pytest.approx(0.1 * 6.5)
    np.testing.assert_array_equal(grads["w"], [[0.1, -0.1], [0.0, 0.1]])   # sign(0) = 0
    np.testing.assert_array_equal(grads["b"], [-0.1])
    value, grads = l2_penalty(params, 0.1)
    assert value == pytest.approx(0.05 * (1 + 4 + 9 + 0.25))
    np.testing.assert_allclose(grads["w"], [[0.1, -0.2], [0.0, 0.3]])


def test_l2_is_exactly_the_optimizers_weight_decay(rng):
    X, y = rng.standard_normal((16, 3)), rng.integers(0, 2, 16)
    decayed, penalized = (hg.MLP([3, 5, 2], ["tanh", "softmax"], seed=4, dtype=np.float64,
                                 norm="layer") for _ in range(2))
    sgd_decay, sgd = hg.SGD(0.1, momentum=0.9, weight_decay=0.01), hg.SGD(0.1, momentum=0.9)
    for _ in range(5):
        decayed.loss_and_grad(X, y)
        sgd_decay.step(decayed)
        penalized.loss_and_grad(X, y)
        add_penalties(penalized.params, penalized.grads, l2=0.01)
        sgd.step(penalized)
    for name, p in decayed.params.items():               # every parameter, biases and γ, β too
        np.testing.assert_array_equal(p, penalized.params[name])


def test_add_penalties_adds_both_and_returns_their_value(rng):
    params = random_params(rng)
    grads = {k: np.ones_like(p) for k, p in params.items()}
    total = add_penalties(params, grads, l1=0.2, l2=0.3)
    assert total == pytest.approx(l1_penalty(params, 0.2)[0] + l2_penalty(params, 0.3)[0])
    for k, p in params.items():
        np.testing.assert_allclose(grads[k], 1 + 0.2 * np.sign(p) + 0.3 * p)
    assert add_penalties(params, grads) == 0.0


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_a_bad_lambda_is_refused(bad, rng):
    params = random_params(rng)
    with pytest.raises(ValueError, match="a penalty's λ must be a finite number ≥ 0"):
        add_penalties(params, {k: np.zeros_like(p) for k, p in params.items()}, l1=bad)
