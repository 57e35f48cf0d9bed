"""handgrad.sklearn against scikit-learn's own MLPClassifier and MLPRegressor.

Runs that start from the same weights (copied across through ``coefs_`` and
``intercepts_``) and visit the examples in the same order (``shuffle=False``)
must take the same steps: the update rules, the L2 term, the sample weights
and the losses are scikit-learn's, the gradient is handgrad's.
"""

import io
import pickle
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is not installed")

import joblib  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from sklearn import neural_network as sknn  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits, load_iris  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from handgrad.sklearn import MLPClassifier, MLPRegressor  # noqa: E402
from handgrad.sklearn.network import Network, SparseInputLayer  # noqa: E402

# Runs cut short on purpose: scikit-learn warns that they did not converge.
short_runs = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def digits(n=500):
    X, y = load_digits(return_X_y=True)
    return X[:n] / 16.0, y[:n]


def regression_targets(X):
    """Two smooth targets of the digits' pixels (multi-output regression)."""
    return np.stack([X[:, 10] + X[:, 20], 2 * X[:, 30] - X[:, 43]], axis=1)


def rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def same_start(ours, theirs, X, y, sample_weight=None):
    """Fit both for one epoch (warm_start), then give ours scikit-learn's weights."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.set_params(max_iter=1, warm_start=True).fit(X, y, sample_weight=sample_weight)
        ours.set_params(max_iter=1, warm_start=True).fit(X, y, sample_weight=sample_weight)
    ours.coefs_ = theirs.coefs_
    ours.intercepts_ = theirs.intercepts_
    return ours, theirs


def weights_rel(ours, theirs):
    return max(rel(a, b) for a, b in zip(ours.coefs_ + ours.intercepts_,
                                         theirs.coefs_ + theirs.intercepts_))


# --- scikit-learn's own checks, and its tools ---------------------------------------------------

def expected_failures(estimator):
    if estimator.dropout:
        why = "dropout draws different masks for a repeated row than for a weight of 2"
        return {"check_sample_weight_equivalence_on_dense_data": why,
                "check_sample_weight_equivalence_on_sparse_data": why}
    return {}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([MLPClassifier(max_iter=50, random_state=0),
                          MLPRegressor(max_iter=50, random_state=0),
                          MLPClassifier(solver="lbfgs", max_iter=100, random_state=0),
                          MLPRegressor(max_iter=50, random_state=0, solver="adamw", norm="layer",
                                       activation="gelu", dropout=0.1, learning_rate="cosine",
                                       warmup_steps=5)],
                         expected_failed_checks=expected_failures)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@short_runs
def test_classifier_on_digits_in_a_pipeline():
    X, y = load_digits(return_X_y=True)
    clf = make_pipeline(StandardScaler(), MLPClassifier((64,), max_iter=100, random_state=0))
    clf.fit(X[:1400], y[:1400])
    assert clf.score(X[1400:], y[1400:]) > 0.9     # scikit-learn's own MLP: 0.914
    mlp = clf[-1]
    assert list(mlp.classes_) == list(range(10))
    assert len(mlp.loss_curve_) == mlp.n_iter_ and mlp.loss_curve_[-1] < mlp.loss_curve_[0]
    assert mlp.coefs_[0].shape == (64, 64) and mlp.intercepts_[1].shape == (10,)
    assert mlp.predict_proba(X[:3]).shape == (3, 10)


@pytest.mark.slow
@short_runs
def test_grid_search_cross_val_score_and_clone_with_the_new_parameters():
    X, y = digits(600)
    pipe = make_pipeline(StandardScaler(), MLPClassifier((32,), max_iter=30, random_state=0,
                                                         learning_rate_init=0.01))
    grid = GridSearchCV(pipe, {"mlpclassifier__norm": [None, "layer"],
                               "mlpclassifier__activation": ["gelu"],
                               "mlpclassifier__dropout": [0.0, 0.1]}, cv=3)
    grid.fit(X, y)
    assert grid.best_score_ > 0.85
    assert set(grid.best_params_) == {"mlpclassifier__norm", "mlpclassifier__activation",
                                      "mlpclassifier__dropout"}
    scores = cross_val_score(MLPClassifier((32,), solver="adamw", learning_rate="cosine",
                                           learning_rate_init=0.01, max_iter=30,
                                           random_state=0), X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.8
    est = MLPRegressor(hidden_layer_sizes=(8,), norm="rms", warmup_steps=10, dtype="float32",
                       backend="numpy", weight_decay=0.1)
    twin = clone(est)
    assert twin.get_params() == est.get_params() and twin is not est


# --- the same steps as scikit-learn ------------------------------------------------------------

STEP_SETTINGS = [
    dict(solver="sgd", learning_rate_init=0.1),                                 # Nesterov 0.9
    dict(solver="sgd", learning_rate_init=0.1, nesterovs_momentum=False),
    dict(solver="sgd", learning_rate_init=0.1, momentum=0.0),
    dict(solver="sgd", learning_rate="invscaling", power_t=0.5, learning_rate_init=0.5),
    dict(solver="sgd", activation="tanh", hidden_layer_sizes=(20, 10), alpha=1.0),
    dict(solver="adam", learning_rate_init=0.01),
    dict(solver="adam", learning_rate_init=0.01, alpha=0.1, beta_1=0.8, epsilon=1e-6),
    dict(solver="adam", activation="logistic", batch_size=64),
]


@short_runs
@pytest.mark.parametrize("settings", STEP_SETTINGS, ids=lambda s: "-".join(map(str, s.values())))
def test_epochs_match_scikit_learn_step_for_step(settings):
    X, y = digits()
    kw = dict(shuffle=False, random_state=0, hidden_layer_sizes=(16,)) | settings
    ours, theirs = same_start(MLPClassifier(**kw), sknn.MLPClassifier(**kw), X, y)
    theirs.set_params(max_iter=3).fit(X, y)
    ours.set_params(max_iter=3).fit(X, y)
    assert weights_rel(ours, theirs) < 1e-10
    np.testing.assert_allclose(ours.loss_curve_[1:], theirs.loss_curve_[1:], rtol=1e-12)
    assert ours.t_ == theirs.t_ and ours.n_iter_ == theirs.n_iter_ == 3
    assert ours._optimizer.learning_rate == pytest.approx(theirs._optimizer.learning_rate,
                                                          rel=1e-12)


TARGETS = {
    "binary": lambda X, y: y % 2,
    "strings": lambda X, y: np.where(y % 2, "odd", "even"),
    "multilabel": lambda X, y: np.stack([y % 2, y > 4, y == 3], axis=1).astype(int),
}


@short_runs
@pytest.mark.parametrize("kind", TARGETS)
def test_binary_string_and_multilabel_targets_match_scikit_learn(kind):
    X, y = digits()
    y = TARGETS[kind](X, y)
    kw = dict(shuffle=False, random_state=0, hidden_layer_sizes=(16,), solver="sgd",
              learning_rate_init=0.1, alpha=0.01)
    ours, theirs = same_start(MLPClassifier(**kw), sknn.MLPClassifier(**kw), X, y)
    theirs.set_params(max_iter=3).fit(X, y)
    ours.set_params(max_iter=3).fit(X, y)
    assert weights_rel(ours, theirs) < 1e-10
    np.testing.assert_allclose(ours.loss_curve_[1:], theirs.loss_curve_[1:], rtol=1e-12)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-12)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.predict(X).dtype == theirs.predict(X).dtype
    assert ours.predict_proba(X).shape == theirs.predict_proba(X).shape
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    assert ours.out_activation_ == theirs.out_activation_ == "logistic"
    assert ours.n_outputs_ == theirs.n_outputs_ and ours.n_layers_ == theirs.n_layers_


@short_runs
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_sample_weight_in_fit_and_partial_fit_matches_scikit_learn(solver):
    X, y = digits()
    w = np.random.default_rng(0).uniform(0, 3, len(y))
    kw = dict(shuffle=False, random_state=0, hidden_layer_sizes=(16,), solver=solver,
              learning_rate_init=0.05, alpha=0.1)
    ours, theirs = same_start(MLPClassifier(**kw), sknn.MLPClassifier(**kw), X, y, w)
    theirs.set_params(max_iter=2).fit(X, y, sample_weight=w)
    ours.set_params(max_iter=2).fit(X, y, sample_weight=w)
    assert weights_rel(ours, theirs) < 1e-10
    for _ in range(2):
        theirs.partial_fit(X[:300], y[:300], sample_weight=w[:300])
        ours.partial_fit(X[:300], y[:300], sample_weight=w[:300])
    assert weights_rel(ours, theirs) < 1e-10
    np.testing.assert_allclose(ours.loss_curve_[1:], theirs.loss_curve_[1:], rtol=1e-12)
    assert ours.n_iter_ == theirs.n_iter_ == 1 and ours.t_ == theirs.t_


@short_runs
@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("outputs", [1, 2])
def test_regression_one_and_several_outputs_match_scikit_learn(loss, outputs):
    X, _ = digits()
    Y = regression_targets(X)[:, :outputs]
    Y = np.exp(Y / 2) if loss == "poisson" else Y
    Y = Y[:, 0] if outputs == 1 else Y
    w = np.random.default_rng(1).uniform(0.5, 2, len(X))
    kw = dict(loss=loss, shuffle=False, random_state=0, hidden_layer_sizes=(16,), solver="sgd",
              learning_rate_init=0.01, alpha=0.01)
    ours, theirs = same_start(MLPRegressor(**kw), sknn.MLPRegressor(**kw), X, Y, w)
    theirs.set_params(max_iter=3).fit(X, Y, sample_weight=w)
    ours.set_params(max_iter=3).fit(X, Y, sample_weight=w)
    assert weights_rel(ours, theirs) < 1e-10
    np.testing.assert_allclose(ours.loss_curve_[1:], theirs.loss_curve_[1:], rtol=1e-12)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-10)
    assert ours.predict(X).shape == theirs.predict(X).shape
    assert ours.out_activation_ == theirs.out_activation_
    assert ours.score(X, Y) == pytest.approx(theirs.score(X, Y), rel=1e-10)


@short_runs
def test_adaptive_learning_rate_divides_by_five_as_scikit_learn():
    X, y = digits(300)
    kw = dict(shuffle=False, random_state=0, hidden_layer_sizes=(8,), solver="sgd",
              learning_rate="adaptive", learning_rate_init=0.1, tol=10.0, n_iter_no_change=1)
    ours, theirs = same_start(MLPClassifier(**kw), sknn.MLPClassifier(**kw), X, y)
    theirs.set_params(max_iter=8).fit(X, y)
    ours.set_params(max_iter=8).fit(X, y)
    assert ours._optimizer.learning_rate == theirs._optimizer.learning_rate < 0.1 / 5
    assert weights_rel(ours, theirs) < 1e-10


@pytest.mark.parametrize("activation, alpha", [("relu", 1e-4), ("logistic", 0.1), ("tanh", 1.0)])
def test_lbfgs_reaches_scikit_learns_loss_from_the_same_start(activation, alpha):
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    kw = dict(solver="lbfgs", hidden_layer_sizes=(5,), activation=activation, alpha=alpha,
              random_state=0)
    ours, theirs = same_start(MLPClassifier(**kw), sknn.MLPClassifier(**kw), X, y)
    theirs.set_params(max_iter=300).fit(X, y)
    ours.set_params(max_iter=300).fit(X, y)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-8)
    assert ours.n_iter_ == theirs.n_iter_ < 300
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-6)
    assert len(ours.loss_curve_) == ours.n_iter_
    assert ours.loss_curve_[-1] == pytest.approx(ours.loss_)


def test_lbfgs_regression_and_max_fun():
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    kw = dict(solver="lbfgs", hidden_layer_sizes=(5,), alpha=0.1, random_state=0)
    ours, theirs = same_start(MLPRegressor(**kw), sknn.MLPRegressor(**kw), X[:, :3], X[:, 3])
    theirs.set_params(max_iter=300).fit(X[:, :3], X[:, 3])
    ours.set_params(max_iter=300).fit(X[:, :3], X[:, 3])
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-8)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        MLPRegressor(**kw | dict(max_fun=5)).fit(X[:, :3], X[:, 3])


def test_lbfgs_sample_weights_are_repeated_rows():
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    w = np.random.default_rng(0).integers(0, 3, len(y))
    kw = dict(solver="lbfgs", hidden_layer_sizes=(5,), random_state=0, max_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = MLPClassifier(**kw).fit(X, y, sample_weight=w)
        repeated = MLPClassifier(**kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    assert weights_rel(weighted, repeated) < 1e-6


# --- sparse input --------------------------------------------------------------------------------

@short_runs
@pytest.mark.parametrize("make", [sp.csr_matrix, sp.csr_array, sp.csc_matrix])
def test_sparse_input_trains_as_dense_without_densifying(make):
    X, y = digits()
    kw = dict(hidden_layer_sizes=(16,), max_iter=3, random_state=0, solver="sgd",
              learning_rate_init=0.1)
    dense = MLPClassifier(**kw).fit(X, y)
    sparse = MLPClassifier(**kw).fit(make(X), y)
    assert isinstance(sparse.model_.layers[0], SparseInputLayer)
    assert weights_rel(sparse, dense) < 1e-12
    np.testing.assert_allclose(sparse.predict_proba(make(X)), dense.predict_proba(X), atol=1e-12)


def test_sparse_first_layer_sees_sparse_batches(monkeypatch):
    X = sp.random(300, 2000, density=0.005, format="csr", random_state=0)
    y = np.asarray(X[:, :1000].sum(axis=1)).ravel() > np.asarray(X[:, 1000:].sum(axis=1)).ravel()
    seen = []
    original = SparseInputLayer.backward_delta

    def spy(layer, delta):
        seen.append(sp.issparse(layer.x))
        return original(layer, delta)

    monkeypatch.setattr(SparseInputLayer, "backward_delta", spy)
    clf = MLPClassifier((8,), solver="lbfgs", max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert seen and all(seen)
    assert clf.score(X, y) > 0.9


# --- warm start, partial_fit, pickles ------------------------------------------------------

@short_runs
def test_warm_start_continues_and_checks_the_classes():
    X, y = digits()
    clf = MLPClassifier((16,), max_iter=5, random_state=0, warm_start=True).fit(X, y)
    first = [c.copy() for c in clf.coefs_]
    clf.fit(X, y)
    assert len(clf.loss_curve_) == 10 and clf.n_iter_ == 5 and clf.t_ == 10 * len(X)
    assert clf.loss_curve_[5] < clf.loss_curve_[0]
    cold = MLPClassifier((16,), max_iter=5, random_state=0).fit(X, y)
    np.testing.assert_array_equal(cold.coefs_[0], first[0])       # same seed, same start
    theirs = sknn.MLPClassifier((16,), max_iter=5, random_state=0, warm_start=True).fit(X, y)
    for est in (clf, theirs):
        with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same "
                                             "classes"):
            est.fit(X[y < 5], y[y < 5])


@short_runs
def test_partial_fit_after_fit_and_its_errors():
    X, y = digits()
    for cls in (MLPClassifier, sknn.MLPClassifier):
        clf = cls((16,), max_iter=3, random_state=0).fit(X, y)
        clf.partial_fit(X, y)
        assert clf.n_iter_ == 1 and clf.t_ == 4 * len(X) and len(clf.loss_curve_) == 4
        with pytest.raises(ValueError, match="is not the same as on last call to partial_fit"):
            clf.partial_fit(X, y, classes=np.arange(12))
        with pytest.raises(ValueError, match=r"`y` has classes not in `self\.classes_`"):
            clf.partial_fit(X, y + 10)
        with pytest.raises(ValueError, match="classes must be passed on the first call"):
            cls((16,)).partial_fit(X, y)
        with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
            cls((16,), early_stopping=True).partial_fit(X, y, classes=np.arange(10))
        lbfgs = cls(solver="lbfgs")
        assert not hasattr(lbfgs, "partial_fit")
        with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as info:
            lbfgs.partial_fit(X, y)
        assert "lbfgs is not stochastic" in str(info.value.__cause__)


def test_partial_fit_learns_one_epoch_at_a_time():
    X, y = digits(1000)
    clf = MLPClassifier((32,), random_state=0)
    clf.partial_fit(X[:600], y[:600], classes=np.arange(10))
    first = clf.score(X[600:], y[600:])
    for _ in range(10):
        clf.partial_fit(X[:600], y[:600])
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 11
    assert clf.score(X[600:], y[600:]) > first


@short_runs
@pytest.mark.parametrize("norm", [None, "batch"])
def test_joblib_round_trip_then_training_goes_on_identically(norm):
    X, y = digits()
    clf = MLPClassifier((16,), max_iter=3, random_state=0, norm=norm, dropout=0.1).fit(X, y)
    buf = io.BytesIO()
    joblib.dump(clf, buf)
    buf.seek(0)
    loaded = joblib.load(buf)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    for est in (clf, loaded):
        est.partial_fit(X, y)
        est.set_params(warm_start=True, max_iter=2).fit(X, y)
    assert weights_rel(loaded, clf) == 0
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert pickle.loads(pickle.dumps(loaded)).score(X, y) == loaded.score(X, y)


# --- early stopping, stopping rules, warnings, verbose --------------------------------------

def test_early_stopping_with_string_labels_keeps_the_best_weights():
    X, y = digits(1000)
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"])
    seen = {}

    class Spy(MLPClassifier):
        def _update_no_improvement_count(self, engine, X_val, Y_val, sw_val):
            seen["val"] = X_val, self.classes_[Y_val]
            return super()._update_no_improvement_count(engine, X_val, Y_val, sw_val)

    clf = Spy((32,), early_stopping=True, n_iter_no_change=3, max_iter=200, random_state=0,
              solver="sgd", learning_rate_init=0.1).fit(X, names[y])
    assert clf.n_iter_ < 200
    assert len(clf.validation_scores_) == len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_) > 0.9
    assert clf.validation_scores_[-1] < clf.best_validation_score_ + clf.tol
    assert clf.best_loss_ is None
    X_val, labels_val = seen["val"]
    assert clf.score(X_val, labels_val) == clf.best_validation_score_    # the best weights, back
    assert set(clf.predict(X[:50])) <= set(names)


@short_runs
def test_the_validation_split_is_stratified():
    """With handgrad's draws (a Generator) every single-label split is stratified; with
    scikit-learn's, two-class ones, as scikit-learn does (test_same_weights_as_scikit_learn)."""
    X, y = digits(1000)
    seen = {}

    class Spy(MLPClassifier):
        def _score_output(self, out, Y, w):
            seen["Y_val"] = Y
            return super()._score_output(out, Y, w)

    Spy((8,), early_stopping=True, validation_fraction=0.2, max_iter=1,    # handgrad's draws
        random_state=np.random.default_rng(0)).fit(X, y)
    counts = np.bincount(seen["Y_val"], minlength=10)
    np.testing.assert_allclose(counts, 0.2 * np.bincount(y), atol=1)


@short_runs
def test_sample_weight_with_early_stopping():
    X, y = digits()
    kw = dict(hidden_layer_sizes=(16,), early_stopping=True, max_iter=15, random_state=0,
              alpha=0.0, n_iter_no_change=np.inf)
    plain = MLPClassifier(**kw).fit(X, y)
    doubled = MLPClassifier(**kw).fit(X, y, sample_weight=np.full(len(y), 2.0))
    assert weights_rel(doubled, plain) < 1e-12          # the weighted mean ignores a common factor
    np.testing.assert_allclose(doubled.validation_loss_curve_, plain.validation_loss_curve_)
    w = np.where(y[:len(y)] < 5, 1.0, 0.0)
    half = MLPClassifier(**kw).fit(X, y, sample_weight=w)
    assert half.score(X[y < 5], y[y < 5]) > half.score(X[y >= 5], y[y >= 5])


@short_runs
def test_n_iter_no_change_and_tol_stop_as_scikit_learn():
    X, y = digits(300)
    kw = dict(hidden_layer_sizes=(8,), shuffle=False, random_state=0, solver="sgd",
              learning_rate_init=0.05, tol=0.05, n_iter_no_change=2)
    ours, theirs = same_start(MLPClassifier(**kw), sknn.MLPClassifier(**kw), X, y)
    theirs.set_params(max_iter=100).fit(X, y)
    ours.set_params(max_iter=100).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ < 100
    assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=1e-12)
    forever = MLPClassifier(**kw | dict(n_iter_no_change=np.inf, max_iter=12)).fit(X, y)
    assert forever.n_iter_ == 12


def test_convergence_warning_when_max_iter_is_reached_and_not_otherwise():
    X, y = digits(300)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        MLPClassifier((8,), max_iter=3, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        MLPClassifier((8,), max_iter=500, tol=1.0, random_state=0).fit(X, y)      # stops early
        MLPClassifier((8,), max_iter=1, random_state=0).partial_fit(X, y, classes=np.arange(10))


@short_runs
def test_verbose_prints_scikit_learns_lines(capsys):
    X, y = digits(300)
    kw = dict(hidden_layer_sizes=(8,), shuffle=False, random_state=0, verbose=True,
              early_stopping=True)
    sknn.MLPClassifier(max_iter=3, **kw).fit(X, y)
    theirs_out = capsys.readouterr().out.splitlines()
    ours = MLPClassifier(max_iter=3, **kw).fit(X, y)
    ours_out = capsys.readouterr().out.splitlines()
    assert [line.split("=")[0].split(":")[0] for line in ours_out] == \
           [line.split("=")[0].split(":")[0] for line in theirs_out]
    assert ours_out[0] == f"Iteration 1, loss = {ours.loss_curve_[0]:.8f}"
    assert ours_out[1] == f"Validation score: {ours.validation_scores_[0]:f}"


# --- attributes, feature names, coefs_ -------------------------------------------------------

@short_runs
@pytest.mark.parametrize("cls", ["MLPClassifier", "MLPRegressor"])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_fitted_attributes_have_scikit_learns_shapes_and_types(cls, solver):
    X, y = digits(300)
    kw = dict(hidden_layer_sizes=(8, 4), max_iter=5, random_state=0, solver=solver)
    ours = getattr(__import__("handgrad.sklearn").sklearn, cls)(**kw).fit(X, y)
    theirs = getattr(sknn, cls)(**kw).fit(X, y)
    for name in ("n_iter_", "t_", "n_outputs_", "n_layers_", "out_activation_", "n_features_in_",
                 "loss_"):
        assert type(getattr(ours, name)) is type(getattr(theirs, name)), name
        if name not in ("loss_", "n_iter_") or solver == "adam":
            assert getattr(ours, name) == getattr(theirs, name) or name == "loss_", name
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    assert [c.dtype for c in ours.coefs_] == [c.dtype for c in theirs.coefs_]
    if solver == "adam":
        assert len(ours.loss_curve_) == len(theirs.loss_curve_) == 5
        assert ours.best_loss_ == min(ours.loss_curve_)
        assert ours.validation_scores_ is theirs.validation_scores_ is None


@short_runs
def test_feature_names_from_a_data_frame():
    pd = pytest.importorskip("pandas")
    X, y = digits(200)
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(64)])
    clf = MLPClassifier((8,), solver="lbfgs", max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(frame, y)
    np.testing.assert_array_equal(clf.feature_names_in_, frame.columns)
    assert clf.n_features_in_ == 64
    renamed = frame.rename(columns={"pixel0": "other"})
    theirs = sknn.MLPClassifier((8,), solver="lbfgs", max_iter=5).fit(frame, y)
    for est in (clf, theirs):
        with pytest.raises(ValueError, match="The feature names should match"):
            est.predict(renamed)
        with pytest.warns(UserWarning, match="X does not have valid feature names"):
            est.predict(X)
        expecting = "X has 10 features, but MLPClassifier is expecting 64"
        with pytest.warns(UserWarning, match="X does not have valid feature names"), \
                pytest.raises(ValueError, match=expecting):
            est.predict(X[:, :10])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict(frame)


@short_runs
def test_coefs_and_intercepts_are_settable_in_scikit_learns_layout():
    X, y = digits(200)
    clf = MLPClassifier((8,), max_iter=1, random_state=0).fit(X, y)
    assert clf.coefs_[0].shape == (64, 8) and clf.model_.layers[0].W.shape == (8, 64)
    np.testing.assert_array_equal(clf.coefs_[0], clf.model_.layers[0].W.T)
    new = np.random.default_rng(0).normal(size=(64, 8))
    clf.coefs_[0] = new                                        # one item: written through
    np.testing.assert_array_equal(clf.model_.layers[0].W, new.T)
    clf.intercepts_ = [np.ones(8), np.zeros(10)]               # the whole list
    np.testing.assert_array_equal(clf.model_.layers[0].b, np.ones(8))
    clf.coefs_[1][:] = 0                                # in place, as on scikit-learn's arrays
    np.testing.assert_allclose(clf.predict_proba(X[:3]), 0.1)
    with pytest.raises(ValueError, match=r"coefs_\[0\] must have shape \(64, 8\)"):
        clf.coefs_ = [new.T, np.zeros((8, 10))]
    with pytest.raises(ValueError, match="one per layer"):
        clf.intercepts_ = [np.ones(8)]


# --- errors ---------------------------------------------------------------------------------

BAD_PARAMETERS = [dict(solver="newton"), dict(activation="softplus"), dict(alpha=-1.0),
                  dict(batch_size=0), dict(learning_rate="fast"), dict(learning_rate_init=0.0),
                  dict(max_iter=0), dict(momentum=1.5), dict(beta_1=1.0), dict(epsilon=0.0),
                  dict(n_iter_no_change=0), dict(validation_fraction=1.0), dict(max_fun=0),
                  dict(shuffle="yes"), dict(hidden_layer_sizes=0)]


@pytest.mark.parametrize("bad", BAD_PARAMETERS, ids=lambda b: str(b))
def test_invalid_parameters_raise_scikit_learns_error(bad):
    X, y = digits(50)
    for cls in (MLPClassifier, sknn.MLPClassifier):
        with pytest.raises(InvalidParameterError, match=f"The '{next(iter(bad))}' parameter"):
            cls(**bad).fit(X, y)


@pytest.mark.parametrize("bad", [dict(dropout=1.0), dict(norm="group"), dict(weight_decay=-1),
                                 dict(warmup_steps=-1), dict(dtype="float16"),
                                 dict(backend="jax"), dict(learning_rate="linear")],
                         ids=lambda b: str(b))
def test_invalid_extra_parameters_raise_the_same_error(bad):
    X, y = digits(50)
    with pytest.raises(InvalidParameterError, match=f"The '{next(iter(bad))}' parameter"):
        MLPClassifier(**bad).fit(X, y)


def test_too_few_samples_and_a_validation_set_too_small():
    X, y = digits(50)
    for cls in (MLPClassifier, sknn.MLPClassifier):
        with pytest.raises(ValueError, match="Found array with 0 sample"):
            cls().fit(X[:0], y[:0])
    for cls in (MLPRegressor, sknn.MLPRegressor):
        with pytest.raises(ValueError, match="The validation set is too small"):
            cls(early_stopping=True, validation_fraction=0.01).fit(X[:40], y[:40])
    with pytest.raises(ValueError, match="dropout makes every loss evaluation random"):
        MLPClassifier(solver="lbfgs", dropout=0.2).fit(X, y)


def test_diverging_steps_raise_scikit_learns_error_and_leave_a_usable_estimator():
    X, y = load_digits(return_X_y=True)
    X, y = X[:300], y[:300].astype(float)                    # unscaled pixels, a rate far too big
    kw = dict(hidden_layer_sizes=(16,), activation="identity", solver="sgd",
              learning_rate_init=1.0, max_iter=20, random_state=0)
    for cls in (MLPRegressor, sknn.MLPRegressor):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
                cls(**kw).fit(X, y)
    reg = MLPRegressor(**kw)
    with pytest.raises(ValueError, match="the weights of the start of that epoch are back"):
        reg.fit(X, y)
    assert all(np.isfinite(c).all() for c in reg.coefs_ + reg.intercepts_)
    assert np.isfinite(reg.predict(X[:5] / 16)).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.set_params(learning_rate_init=1e-3).fit(X / 16, y)       # and it trains again
    assert np.isfinite(reg.loss_) and reg.loss_curve_[-1] < reg.loss_curve_[0]


def test_ctrl_c_keeps_the_last_whole_epoch_and_warns(monkeypatch):
    X, y = digits(400)
    kw = dict(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=0.1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        two = MLPClassifier(max_iter=2, **kw).fit(X, y)
    calls = {"n": 0}
    original = Network.loss_and_grad

    def interrupted_in_epoch_3(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2 * 2 + 1:                  # 2 batches of 200 per epoch
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Network, "loss_and_grad", interrupted_in_epoch_3)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        stopped = MLPClassifier(max_iter=5, **kw).fit(X, y)
    assert stopped.n_iter_ == 2 and len(stopped.loss_curve_) == 2
    assert weights_rel(stopped, two) == 0


def test_a_diverging_loss_with_early_stopping_keeps_the_best_weights():
    X, y = load_digits(return_X_y=True)
    reg = MLPRegressor(hidden_layer_sizes=(16,), activation="identity", solver="sgd",
                       learning_rate_init=1.0, max_iter=20, early_stopping=True, random_state=0)
    with pytest.warns(ConvergenceWarning, match="The loss became non-finite in epoch"):
        reg.fit(X[:300], y[:300].astype(float))
    assert np.isnan(reg.validation_scores_[-1]) and np.isnan(reg.loss_curve_[-1])
    assert len(reg.validation_scores_) == len(reg.loss_curve_) == reg.n_iter_ < 20
    assert all(np.isfinite(c).all() for c in reg.coefs_ + reg.intercepts_)


def test_twins_and_lbfgs_say_what_they_need():
    X, y = digits(50)
    with pytest.raises(ValueError, match="use backend='numpy'"):
        MLPClassifier(solver="lbfgs", backend="torch").fit(X, y)
    with pytest.raises(ValueError, match="takes no sample_weight"):
        MLPClassifier(backend="torch").fit(X, y, sample_weight=np.ones(len(y)))
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        MLPClassifier().fit(X, y, sample_weight=-np.ones(len(y)))


# --- beyond scikit-learn ---------------------------------------------------------------------

@short_runs
@pytest.mark.parametrize("extra", [dict(dropout=0.2), dict(norm="batch"), dict(norm="layer"),
                                   dict(norm="rms"), dict(activation="gelu"),
                                   dict(activation="silu"), dict(activation="leaky_relu"),
                                   dict(solver="adamw", weight_decay=0.05),
                                   dict(learning_rate="step"),
                                   dict(learning_rate="cosine", warmup_steps=20)],
                         ids=lambda e: "-".join(map(str, e.values())))
def test_what_scikit_learn_cannot_do_trains_digits(extra):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    clf = MLPClassifier((64,), max_iter=20, random_state=0, learning_rate_init=0.01,
                        **extra).fit(X[:1200], y[:1200])
    assert clf.score(X[1200:], y[1200:]) > 0.9
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_cosine_and_warmup_set_every_steps_rate():
    X, y = digits(400)                     # 2 steps per epoch at batch 200
    clf = MLPClassifier((8,), solver="sgd", learning_rate="cosine", warmup_steps=4,
                        learning_rate_init=0.1, max_iter=5, n_iter_no_change=np.inf,
                        random_state=0)
    rates = []
    original = type(clf)._new_rule

    def recording_rule(est):
        rule = original(est)
        step = rule.step

        def spy(model):
            rates.append(rule.lr)
            return step(model)

        rule.step = spy
        return rule

    type(clf)._new_rule = recording_rule
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
    finally:
        type(clf)._new_rule = original
    total = 5 * 2 - 4
    expected = [0.1 * (t + 1) / 4 for t in range(4)]
    expected += [0.1 * (1 + np.cos(np.pi * t / total)) / 2 for t in range(6)]
    np.testing.assert_allclose(rates, expected, rtol=1e-12)


@short_runs
def test_float32_end_to_end():
    X, y = digits()
    clf = MLPClassifier((16,), max_iter=3, random_state=0, dtype=np.float32).fit(X, y)
    assert X.dtype == np.float64
    assert all(c.dtype == np.float32 for c in clf.coefs_ + clf.intercepts_)
    assert clf.predict_proba(X).dtype == np.float32
    assert clf.model_.dtype == np.float32
    same = MLPClassifier((16,), max_iter=3, random_state=0).fit(X.astype(np.float32), y)
    assert weights_rel(same, clf) == 0                # float32 input alone gives float32 too


@short_runs
def test_validation_loss_curve_is_the_held_out_loss():
    X, y = digits(600)
    clf = MLPClassifier((16,), early_stopping=True, n_iter_no_change=np.inf, max_iter=15,
                        random_state=0).fit(X, y)
    assert len(clf.validation_loss_curve_) == len(clf.loss_curve_) == 15
    assert clf.validation_loss_curve_[-1] < clf.validation_loss_curve_[0]
    reg = MLPRegressor(hidden_layer_sizes=(16,), early_stopping=True, max_iter=5,
                       random_state=0).fit(X, regression_targets(X))
    assert len(reg.validation_loss_curve_) == reg.n_iter_
    assert MLPClassifier((4,), max_iter=2).fit(X, y).validation_loss_curve_ is None


@pytest.mark.slow
@short_runs
@pytest.mark.parametrize("solver", ["sgd", "adam", "adamw"])
def test_torch_backend_takes_the_same_steps(solver):
    pytest.importorskip("torch")
    X, y = digits()
    kw = dict(hidden_layer_sizes=(16,), solver=solver, max_iter=2, random_state=0, alpha=0.01,
              dtype="float64", learning_rate_init=0.05)
    numpy = MLPClassifier(**kw).fit(X, y)
    torch = MLPClassifier(backend="torch", **kw).fit(X, y)
    assert weights_rel(torch, numpy) < 1e-10
    np.testing.assert_allclose(torch.loss_curve_, numpy.loss_curve_, rtol=1e-10)
    torch.partial_fit(X, y)                          # the optimizer's state went back and forth
    numpy.partial_fit(X, y)
    assert weights_rel(torch, numpy) < 1e-10
    multilabel = np.stack([y % 2, y > 4], axis=1)
    a = MLPClassifier(backend="torch", **kw).fit(X, multilabel)
    b = MLPClassifier(**kw).fit(X, multilabel)
    assert weights_rel(a, b) < 1e-10


@short_runs
def test_mlx_backend_takes_the_same_steps():
    pytest.importorskip("mlx.core")
    X, y = digits()
    kw = dict(hidden_layer_sizes=(16,), solver="sgd", max_iter=2, random_state=0, alpha=0.01,
              learning_rate_init=0.05, dtype="float32")
    numpy = MLPClassifier(**kw).fit(X, y)
    mlx = MLPClassifier(backend="mlx", **kw).fit(X, y)
    assert weights_rel(mlx, numpy) < 1e-4
    np.testing.assert_allclose(mlx.loss_curve_, numpy.loss_curve_, rtol=1e-5)
    reg = MLPRegressor(hidden_layer_sizes=(16,), backend="mlx", max_iter=3, random_state=0)
    assert reg.fit(X, regression_targets(X)).predict(X).shape == (len(X), 2)
