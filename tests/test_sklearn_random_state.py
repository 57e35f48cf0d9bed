"""The same ``random_state``, the same run as scikit-learn's own estimator.

An int or a RandomState draws scikit-learn's initial weights, its early-stopping
split and its shuffles, so a whole ``fit`` — shuffled mini-batches, epoch after
epoch — ends with scikit-learn's weights, in float64 to 1e-10 relative (measured:
a few 1e-16). A ``numpy.random.Generator`` draws handgrad's own.
"""

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn is not installed")

from sklearn import neural_network as sknn
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from handgrad.sklearn import MLPClassifier, MLPRegressor


def standardized(X):
    return StandardScaler().fit_transform(X)


def digits():
    X, y = load_digits(return_X_y=True)
    return "classifier", X[:700] / 16.0, y[:700]


def breast_cancer():                                  # two classes: one sigmoid output
    X, y = load_breast_cancer(return_X_y=True)
    return "classifier", standardized(X), y


def iris():
    X, y = load_iris(return_X_y=True)
    return "classifier", standardized(X), y


def multilabel():
    X, Y = make_multilabel_classification(n_samples=400, n_features=20, n_classes=4,
                                          random_state=0)
    return "classifier", standardized(X), Y


def regression():
    X, y = make_regression(n_samples=500, n_features=12, n_targets=2, noise=5.0,
                           random_state=0)
    return "regressor", standardized(X), y / y.std()


DATASETS = [digits, breast_cancer, iris, multilabel, regression]
SOLVERS = {
    "sgd-nesterov": dict(solver="sgd", learning_rate_init=0.05),
    "sgd-momentum": dict(solver="sgd", learning_rate_init=0.05, nesterovs_momentum=False),
    "sgd-plain": dict(solver="sgd", learning_rate_init=0.1, momentum=0.0),
    "adam": dict(solver="adam", learning_rate_init=0.005),
}
CLASSES = {"classifier": (MLPClassifier, sknn.MLPClassifier),
           "regressor": (MLPRegressor, sknn.MLPRegressor)}


def rel(ours, theirs):
    """The worst relative difference over every weight matrix and bias vector."""
    return max(float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
               for a, b in zip(ours.coefs_ + ours.intercepts_,
                               theirs.coefs_ + theirs.intercepts_))


def fit_both(data, settings):
    kind, X, y = data()
    ours_cls, theirs_cls = CLASSES[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = theirs_cls(**settings).fit(X, y)
        ours = ours_cls(**settings).fit(X, y)
    return ours, theirs


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("data", DATASETS, ids=lambda d: d.__name__)
def test_a_whole_fit_ends_with_scikit_learns_weights(data, solver):
    settings = dict(hidden_layer_sizes=(24, 12), max_iter=12, random_state=7) | SOLVERS[solver]
    ours, theirs = fit_both(data, settings)
    assert rel(ours, theirs) <= 1e-10
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-12)
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_


@pytest.mark.parametrize("settings", [
    dict(solver="sgd", learning_rate_init=0.05, batch_size=64, activation="tanh", alpha=0.01),
    dict(solver="adam", batch_size=50, activation="logistic", early_stopping=True,
         n_iter_no_change=3),
    dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.3, activation="identity"),
], ids=["batch64-tanh-alpha", "early-stopping-logistic", "invscaling-identity"])
def test_batches_early_stopping_and_schedules_match_too(settings):
    """A batch size that leaves a short last batch, the early-stopping split (two classes:
    scikit-learn stratifies it), its stopping and best weights, "invscaling"."""
    ours, theirs = fit_both(breast_cancer, dict(hidden_layer_sizes=(16,), max_iter=30,
                                                random_state=3) | settings)
    assert rel(ours, theirs) <= 1e-10
    assert ours.n_iter_ == theirs.n_iter_
    if settings.get("early_stopping"):
        assert ours.n_iter_ < 30                         # it stopped, where scikit-learn did
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_)


def test_a_random_state_instance_is_drawn_from_as_scikit_learn_draws():
    """Two fits from one RandomState: the second starts where the first left the stream."""
    _, X, y = iris()
    ours_rs, theirs_rs = np.random.RandomState(5), np.random.RandomState(5)
    settings = dict(hidden_layer_sizes=(8,), max_iter=5, solver="sgd", learning_rate_init=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(2):
            ours = MLPClassifier(random_state=ours_rs, **settings).fit(X, y)
            theirs = sknn.MLPClassifier(random_state=theirs_rs, **settings).fit(X, y)
            assert rel(ours, theirs) <= 1e-10
    assert ours_rs.randint(1000) == theirs_rs.randint(1000)


def test_partial_fit_and_warm_start_shuffle_as_scikit_learn():
    """scikit-learn makes its RandomState anew at every call: partial_fit and a warm start
    shuffle from the int's stream again, and so does handgrad."""
    _, X, y = digits()
    settings = dict(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=0.05,
                    random_state=0, max_iter=3, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPClassifier(**settings).fit(X, y).fit(X, y)
        theirs = sknn.MLPClassifier(**settings).fit(X, y).fit(X, y)
        for _ in range(2):
            ours.partial_fit(X, y)
            theirs.partial_fit(X, y)
    assert rel(ours, theirs) <= 1e-10


def test_a_generator_draws_handgrads_own_numbers_reproducibly():
    _, X, y = digits()
    settings = dict(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=0.05,
                    max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = MLPClassifier(random_state=np.random.default_rng(0), **settings).fit(X, y)
        b = MLPClassifier(random_state=np.random.default_rng(0), **settings).fit(X, y)
        c = MLPClassifier(random_state=0, **settings).fit(X, y)
        fresh = [MLPClassifier(**settings).fit(X, y) for _ in range(2)]    # random_state=None
    assert rel(a, b) == 0
    assert rel(a, c) > 1e-3                              # not scikit-learn's stream
    assert rel(*fresh) > 1e-3                            # None: fresh draws every fit
    bound = np.sqrt(6 / (64 + 16))
    first = MLPClassifier(random_state=np.random.default_rng(1), max_iter=1, solver="sgd",
                          hidden_layer_sizes=(16,), learning_rate_init=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first.fit(X, y)
    assert 0.9 * bound < np.abs(first.coefs_[0]).max() <= bound   # the same uniform bounds
