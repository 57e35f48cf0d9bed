"""Rosenblatt's perceptron: the gates, XOR's cycle, Novikoff's bound, and the hidden layer
that fixes XOR."""

import numpy as np
import pytest

from handgrad.data import make_separable
from handgrad.perceptron import (
    GATE_INPUTS,
    GATES,
    Perceptron,
    gate_report,
    novikoff_bound,
    xor_by_hand,
    xor_mlp,
)

X = GATE_INPUTS
y_and, y_or, y_nand, y_xor = (GATES[g] for g in ("and", "or", "nand", "xor"))


def test_the_lessons_own_code_runs_unchanged():
    p = Perceptron(2)
    p.fit(X, y_and)
    assert [p.predict(x) for x in X] == [0, 0, 0, 1]
    assert all(isinstance(p.predict(x), int) for x in X)
    p.fit(X, y_xor, epochs=1000)
    assert not p.converged


@pytest.mark.parametrize("gate,most_epochs", [("and", 6), ("or", 4), ("nand", 6)])
def test_separable_gates_converge_in_a_few_epochs(gate, most_epochs):
    p = Perceptron(2).fit(X, GATES[gate], epochs=100)
    assert p.converged and p.epochs_ <= most_epochs
    assert p.mistakes[-1] == 0 and all(m > 0 for m in p.mistakes[:-1])
    np.testing.assert_array_equal(p.predict(X), GATES[gate])
    assert p.score(X, GATES[gate]) == 1.0
    assert p.history.shape == (p.epochs_ + 1, 3)
    np.testing.assert_array_equal(p.history[-1], np.r_[p.weights, p.bias])


def test_the_rule_updates_on_mistakes_only_worked_by_hand():
    p = Perceptron(2).fit(X, y_or, epochs=1)
    # start 0: (0,0) z=0 -> 1, target 0: w -= (0,0), b = -1; (0,1) z=-1 -> 0, target 1: w += (0,1),
    # b = 0; (1,0) z=0 -> 1 correct; (1,1) z=1 -> 1 correct
    np.testing.assert_array_equal(p.path, [[0, 0, 0], [0, 0, -1], [0, 1, 0], [0, 1, 0], [0, 1, 0]])
    assert p.mistakes == [2] and not p.converged


def test_xor_never_converges_and_its_weights_cycle():
    p = Perceptron(2).fit(X, y_xor, epochs=1000)
    assert not p.converged and p.epochs_ == 1000 and min(p.mistakes) > 0
    c = p.cycle()
    assert c is not None and c.period >= 1 and c.start < 10
    np.testing.assert_array_equal(p.history[c.start], p.history[c.start + c.period])
    np.testing.assert_array_equal(p.history[-1], p.history[-1 - c.period])
    # one turn of the cycle, example by example: 4 mistakes, back where it started
    assert len(c.path) == 4 * c.period + 1
    np.testing.assert_array_equal(c.path[0], c.path[-1])
    assert len({tuple(s) for s in c.path}) > 1


def test_xor_cycles_from_random_starts_and_small_rates_too():
    for seed in range(5):
        p = Perceptron(2, lr=0.1, seed=seed).fit(X, y_xor, epochs=1000)
        assert not p.converged and p.cycle() is not None


def test_a_converged_run_has_no_cycle():
    assert Perceptron(2).fit(X, y_and).cycle() is None


def test_labels_minus_one_plus_one_are_answered_in_kind():
    s = np.where(y_nand == 1, 1, -1)
    p = Perceptron(2).fit(X, s)
    assert p.converged
    np.testing.assert_array_equal(p.predict(X), s)
    assert p.predict(X[3]) == -1 and p.score(X, s) == 1.0
    p01 = Perceptron(2).fit(X, y_nand)                                  # same run either way
    np.testing.assert_array_equal(p.history, p01.history)


@pytest.mark.parametrize("bad,message", [
    (np.array([0, 1, 2, 1]), r"labels must be 0/1 or -1/\+1; got \[0, 1, 2\]"),
    (np.array([0, 1, 1]), "X has 4 samples but y has 3"),
])
def test_bad_labels_are_clear_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        Perceptron(2).fit(X, bad)


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 2\); got \(4, 3\)"):
        Perceptron(2).fit(np.ones((4, 3)), y_and)
    with pytest.raises(ValueError, match=r"one sample needs 2 inputs; got shape \(3,\)"):
        Perceptron(2).predict([1, 2, 3])
    with pytest.raises(ValueError, match="n_inputs must be a positive integer"):
        Perceptron(0)
    with pytest.raises(ValueError, match="lr must be positive"):
        Perceptron(2, lr=0)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        Perceptron(2).fit(X, y_and, epochs=0)
    with pytest.raises(ValueError, match="X contains NaN"):
        Perceptron(2).fit(np.full((4, 2), np.nan), y_and)


def separable(seed, n_features, margin, n_samples=200):
    """make_separable's data and the unit vector it separates them with (its first draw)."""
    Xs, ys = make_separable(n_samples=n_samples, n_features=n_features, margin=margin, seed=seed)
    w = np.random.default_rng(seed).standard_normal(n_features)
    w /= np.linalg.norm(w)
    np.testing.assert_array_equal(ys, (Xs @ w > 0).astype(int))        # it is the separator
    return Xs, ys, w


@pytest.mark.parametrize("seed,n_features,margin", [(0, 2, 0.1), (1, 2, 0.05), (2, 3, 0.1),
                                                    (3, 5, 0.2), (4, 10, 0.3), (5, 2, 0.02)])
def test_novikoffs_bound_holds_on_separable_data(seed, n_features, margin):
    Xs, ys, w = separable(seed, n_features, margin)
    nb = novikoff_bound(Xs, ys, w)
    assert nb.gamma >= margin * (1 - 1e-9)                              # points nearer were dropped
    assert nb.R == pytest.approx(np.sqrt(np.max(np.sum(Xs.astype(float) ** 2, 1)) + 1), rel=1e-6)
    for lr in (1.0, 0.1):
        p = Perceptron(n_features, lr=lr).fit(Xs, ys, epochs=10_000)
        assert p.converged
        assert sum(p.mistakes) <= nb.bound, (sum(p.mistakes), nb.bound)


def test_novikoff_bound_rejects_a_vector_that_does_not_separate():
    Xs, ys, w = separable(0, 2, 0.1)
    with pytest.raises(ValueError, match="does not separate the data"):
        novikoff_bound(Xs, ys, -w)


def test_a_2_4_1_mlp_solves_xor():
    for seed in range(2):
        model = xor_mlp(seed=seed)
        np.testing.assert_array_equal(model.predict(X), y_xor)
        p = model.predict_proba(X)[:, 1]
        assert np.all(np.abs(p - y_xor) < 0.1)


def test_the_hand_set_2_2_1_network_is_or_nand_and():
    model = xor_by_hand()
    np.testing.assert_array_equal(model.predict(X), y_xor)
    hidden = model.layers[0].infer(X)                                  # (4, 2): OR, NAND
    np.testing.assert_array_equal(np.round(hidden), np.c_[y_or, y_nand])
    assert np.all(np.abs(model.predict_proba(X)[:, 1] - y_xor) < 1e-3)


def test_gate_report_tells_the_story():
    text = gate_report("and")
    assert "converged after 6 epochs" in text and "mistakes per epoch: 2 3 3 2 1 0" in text
    text = gate_report("XOR")
    assert ("did not converge; weights cycle with period 1 (from epoch 2 on), so it never will: "
            "stopped after epoch 3") in text
    assert "(-1, 0, 0) -> (-1, 0, -1) -> (-1, 1, 0) -> (0, 1, 1) -> (-1, 0, 0)" in text
    assert "did not converge in 3 epochs" in gate_report("and", epochs=3)
    with pytest.raises(ValueError, match="unknown gate 'xnor'; valid gates: and, or, nand, xor"):
        gate_report("xnor")
