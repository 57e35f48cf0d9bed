import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is not installed")

from sklearn.datasets import load_digits, make_regression                     # noqa: E402
from sklearn.model_selection import GridSearchCV                             # noqa: E402
from sklearn.pipeline import make_pipeline                                   # noqa: E402
from sklearn.preprocessing import StandardScaler                             # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks           # noqa: E402

from handgrad.sklearn import MLPClassifier, MLPRegressor                     # noqa: E402


@parametrize_with_checks([MLPClassifier(max_iter=50, random_state=0),
                          MLPRegressor(max_iter=50, random_state=0)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


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


def test_grid_search_over_hidden_sizes_and_alpha():
    X, y = load_digits(return_X_y=True)
    grid = GridSearchCV(make_pipeline(StandardScaler(), MLPClassifier(max_iter=60, random_state=0)),
                        {"mlpclassifier__hidden_layer_sizes": [(16,), (64,)],
                         "mlpclassifier__alpha": [1e-4, 1e-2]}, cv=3)
    grid.fit(X[:900], y[:900])
    assert grid.best_score_ > 0.85
    assert grid.best_params_["mlpclassifier__hidden_layer_sizes"] in [(16,), (64,)]


def test_early_stopping_keeps_validation_scores_and_the_best_weights():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    clf = MLPClassifier((32,), early_stopping=True, n_iter_no_change=3, max_iter=200,
                        random_state=0, solver="sgd", learning_rate_init=0.1).fit(X, y)
    assert clf.n_iter_ < 200
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_) > 0.9


def test_partial_fit_learns_one_epoch_at_a_time():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    clf = MLPClassifier((32,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X[:100], y[:100])
    clf.partial_fit(X[:600], y[:600], classes=np.arange(10))
    first = clf.score(X[600:], y[600:])
    for _ in range(10):
        clf.partial_fit(X[:600], y[:600])
    assert clf.n_iter_ == 11 and clf.score(X[600:], y[600:]) > first


def test_regressor_fits_a_linear_target():
    X, y = make_regression(300, 5, noise=1.0, random_state=0)
    reg = make_pipeline(StandardScaler(), MLPRegressor((32,), max_iter=300, random_state=0,
                                                        learning_rate_init=0.01))
    y_scale = y.std()
    reg.fit(X, y / y_scale)
    assert reg.score(X, y / y_scale) > 0.95


def test_string_labels_and_binary_output():
    X, y = load_digits(return_X_y=True)
    mask = y < 2
    labels = np.where(y[mask] == 0, "zero", "one")
    clf = MLPClassifier((8,), max_iter=50, random_state=0).fit(X[mask] / 16, labels)
    assert set(clf.predict(X[mask][:20] / 16)) <= {"zero", "one"}
    assert clf.out_activation_ == "logistic" and clf.predict_proba(X[mask][:5] / 16).shape == (5, 2)
