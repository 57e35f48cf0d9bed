"""The pieces under the estimators: the sparse layer, the network's scikit-learn loss,
the training loop's options the estimators use, the names the registries give them."""

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn is not installed")

import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from handgrad import optim
from handgrad.nn import ACTIVATIONS, Linear, SparseLinear, Tanh
from handgrad.sklearn import MLPClassifier, MLPRegressor
from handgrad.sklearn.network import Network
from handgrad.train import train


def central_differences(f, p, eps=1e-6):
    """∂f/∂p by central differences, entry by entry (p changed in place, then put back)."""
    grad = np.zeros_like(p)
    for i in np.ndindex(p.shape):
        keep = p[i]
        p[i] = keep + eps
        up = f()
        p[i] = keep - eps
        down = f()
        p[i] = keep
        grad[i] = (up - down) / (2 * eps)
    return grad


# --- SparseLinear ---------------------------------------------------------------------------

@pytest.mark.parametrize("make", [sp.csr_matrix, sp.csc_array])
def test_sparse_linear_computes_what_linear_computes_on_the_dense_batch(make, rng):
    X = sp.random(9, 40, density=0.1, format="csr", random_state=0, dtype=np.float64)
    dense = Linear(40, 5, rng=rng, dtype=np.float64)
    sparse = SparseLinear(40, 5, rng=rng, dtype=np.float64)
    sparse.load_state_dict(dense.state_dict())
    delta = rng.standard_normal((9, 5))                       # dL/dz
    np.testing.assert_allclose(sparse.forward(make(X)), dense.forward(X.toarray()), atol=1e-14)
    assert sparse.backward_delta(delta) is None               # no dL/dX for the data
    dense.backward_delta(delta)
    np.testing.assert_allclose(sparse.grads["weight"], dense.grads["weight"], atol=1e-14)
    np.testing.assert_allclose(sparse.grads["bias"], dense.grads["bias"], atol=1e-14)
    assert sparse.grads["weight"][:, np.asarray(X.sum(axis=0)).ravel() == 0].max() == 0
    assert np.allclose(sparse.infer(X.toarray()), dense.forward(X.toarray()))   # dense: Linear's
    assert sparse.x is None and sparse.x_k is None            # infer keeps nothing


# --- the network's loss is scikit-learn's objective, and its gradient --------------------

LOSSES = {
    "multiclass": ("log_loss", "softmax", lambda r: r.integers(0, 3, 12)),
    "multilabel": ("log_loss", "sigmoid", lambda r: r.integers(0, 2, (12, 3)).astype(float)),
    "two outputs": ("squared_error", "identity", lambda r: r.standard_normal((12, 3))),
    "poisson": ("poisson", "identity", lambda r: r.poisson(2.0, (12, 3)).astype(float)),
}


@pytest.mark.parametrize("kind", LOSSES)
def test_the_gradient_is_that_of_scikit_learns_objective(kind, rng):
    """float64 central differences of (data loss + α/2 Σ‖W‖²/Σw), with sample weights."""
    loss, output, targets = LOSSES[kind]
    net = Network([4, 5, 3], ["tanh", output], loss, dtype=np.float64, norm=None, dropout=0.0,
                  rng=rng)
    net.alpha = 0.3
    X, y, w = rng.standard_normal((12, 4)), targets(rng), rng.uniform(0.5, 2.0, 12)
    net.objective(X, y, w)
    analytic = {k: g.copy() for k, g in net.grads.items()}
    objective = lambda: sum(net.objective(X, y, w))               # noqa: E731
    for name, p in net.params.items():
        np.testing.assert_allclose(analytic[name], central_differences(objective, p),
                                   rtol=1e-6, atol=1e-8, err_msg=name)


def test_the_reported_loss_averages_regression_outputs_as_scikit_learn(rng):
    net = Network([4, 3, 2], ["relu", "identity"], "squared_error", dtype=np.float64, norm=None,
                  dropout=0.0, rng=rng)
    X, Y = rng.standard_normal((6, 4)), rng.standard_normal((6, 2))
    data, penalty = net.objective(X, Y)
    assert net.loss_and_grad(X, Y) == pytest.approx(data / 2 + penalty)
    out = net._predict_output(X)
    assert data / 2 == pytest.approx(0.5 * np.mean((out - Y) ** 2))   # scikit-learn's squared loss


# --- the loop's options: sample weights, an order function, sparse X ------------------------

def small_network(seed=0, loss="log_loss", output="softmax", d_out=3):
    return Network([5, 4, d_out], ["relu", output], loss, dtype=np.float64, norm=None,
                   dropout=0.0, rng=np.random.default_rng(seed))


def test_train_weights_examples_as_repeated_rows(rng):
    X, y = rng.standard_normal((20, 5)), rng.integers(0, 3, 20)
    w = rng.integers(0, 4, 20)
    weighted, repeated = small_network(), small_network()
    train(weighted, X, y, epochs=3, optimizer=optim.SGD(0.1), shuffle=False, sample_weight=w)
    train(repeated, np.repeat(X, w, axis=0), np.repeat(y, w), epochs=3,
          optimizer=optim.SGD(0.1), shuffle=False)
    for name, p in weighted.params.items():
        np.testing.assert_allclose(p, repeated.params[name], rtol=1e-12)


def test_train_skips_a_batch_without_weight_and_checks_the_weights(rng):
    X, y = rng.standard_normal((20, 5)), rng.integers(0, 3, 20)
    w = np.r_[np.zeros(10), np.ones(10)]
    opt = optim.SGD(0.1)
    history = train(small_network(), X, y, epochs=2, optimizer=opt, batch_size=10,
                    shuffle=False, sample_weight=w)
    assert opt.t == 2 and len(history) == 2                   # one step per epoch, not two
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(20,\)"):
        train(small_network(), X, y, epochs=1, sample_weight=np.ones(19))


def test_train_takes_each_epochs_order_from_a_function_and_sparse_rows(rng):
    X, y = rng.standard_normal((20, 5)), rng.integers(0, 3, 20)
    X[X < 0.5] = 0
    orders = []

    def backwards(n):
        orders.append(n)
        return np.arange(n)[::-1]

    dense, sparse = small_network(), small_network()
    train(dense, X, y, epochs=2, optimizer=optim.SGD(0.1), batch_size=6, shuffle=backwards)
    train(sparse, sp.csr_matrix(X), y, epochs=2, optimizer=optim.SGD(0.1), batch_size=6,
          shuffle=backwards)
    assert orders == [20, 20, 20, 20]
    in_order = small_network()
    train(in_order, X[::-1].copy(), y[::-1].copy(), epochs=2, optimizer=optim.SGD(0.1),
          batch_size=6, shuffle=False)
    for name, p in dense.params.items():
        np.testing.assert_allclose(p, in_order.params[name], rtol=1e-12)
        np.testing.assert_allclose(p, sparse.params[name], rtol=1e-12)


# --- names from handgrad's registries -------------------------------------------------------

class Softsign(Tanh):
    """a = z / (1 + |z|); f'(z) = (1 - |a|)²: an activation the registry does not have."""

    name = "softsign"
    caches = ("a",)

    def forward(self, z, training=True):
        self.a = z / (1 + np.abs(z))
        return self.a

    def backward(self, grad_out):
        return grad_out * (1 - np.abs(self.a)) ** 2


class SignSGD(optim.Optimizer):
    """θ ← θ − lr · sign(g): an optimizer the registry does not have."""

    def update(self, name, p, g):
        p -= self.lr * np.sign(g)


def test_a_new_activation_and_optimizer_are_accepted_once_registered(monkeypatch, rng):
    X, y = rng.standard_normal((60, 4)), rng.integers(0, 2, 60)
    for bad in (dict(activation="softsign"), dict(solver="signsgd")):
        with pytest.raises(InvalidParameterError, match=f"The '{next(iter(bad))}' parameter"):
            MLPClassifier(**bad).fit(X, y)
    monkeypatch.setitem(ACTIVATIONS, "softsign", Softsign)
    monkeypatch.setitem(optim.OPTIMIZERS, "signsgd", SignSGD)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((8,), activation="softsign", solver="signsgd", max_iter=20,
                            learning_rate_init=0.01, random_state=0).fit(X, y)
    assert isinstance(clf.model_.layers[0].activation, Softsign)
    assert isinstance(clf._optimizer, SignSGD) and clf._optimizer.t > 0
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_random_state_takes_a_generator_and_names_what_it_takes():
    X, y = np.eye(4), np.arange(4) % 2
    with pytest.raises(InvalidParameterError, match=r"'random_state' parameter.*Generator"):
        MLPRegressor(random_state="zero").fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPRegressor(hidden_layer_sizes=(3,), max_iter=2,
                     random_state=np.random.default_rng(0)).fit(X, y)


def test_pytorchs_nesterov_takes_scikit_learns_steps_while_the_rate_is_constant():
    """solver="nesterov" is handgrad's SGD (PyTorch's: v ← μv + g, θ ← θ − η(g + μv));
    scikit-learn's "sgd" keeps η inside v. With a constant η both take the same steps; once
    η moves (a cosine schedule on both) scikit-learn's velocity carries the old rates."""
    X, y = np.random.default_rng(0).standard_normal((120, 6)), np.arange(120) % 3
    settings = dict(hidden_layer_sizes=(8,), max_iter=5, learning_rate_init=0.05,
                    random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = MLPClassifier(solver="sgd", **settings).fit(X, y)
        pytorchs = MLPClassifier(solver="nesterov", **settings).fit(X, y)
        theirs_cosine = MLPClassifier(solver="sgd", learning_rate="cosine", **settings).fit(X, y)
        pytorchs_cosine = MLPClassifier(solver="nesterov", learning_rate="cosine",
                                        **settings).fit(X, y)
    assert isinstance(pytorchs._optimizer, optim.SGD) and pytorchs._optimizer.nesterov
    for a, b in zip(pytorchs.coefs_, theirs.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    gap = max(np.abs(a - b).max() for a, b in zip(pytorchs_cosine.coefs_, theirs_cosine.coefs_))
    assert 1e-6 < gap < 0.1

