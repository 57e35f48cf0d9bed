"""scikit-learn's two estimators on handgrad: ``MLPClassifier`` and ``MLPRegressor``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, cast

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import validate_data

from .base import ArrayLike, BaseMLP, MatrixLike
from .names import parameter_constraints
from .randomness import Draws, HandgradDraws


class MLPClassifier(ClassifierMixin, BaseMLP):  # type: ignore[misc]  # sklearn has no types
    """A multi-layer perceptron classifier, scikit-learn's ``MLPClassifier`` on handgrad.

    The output is a softmax over the classes (multiclass), one sigmoid unit (two
    classes) or one sigmoid per label (a 0/1 indicator ``y``: multilabel), with
    the log-loss. Parameters and fitted attributes are scikit-learn's (see its
    documentation); ``help(handgrad.sklearn)`` lists the extra, opt-in ones and every
    difference.
    """

    loss = "log_loss"

    def _out_activation(self) -> str:
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _stratify(self, Y: np.ndarray, draws: Draws) -> np.ndarray | None:
        """The 0/1 columns to stratify the validation split on: with scikit-learn's draws
        where scikit-learn stratifies (one output column: two classes), with handgrad's for
        every single-label problem; not for several labels."""
        if Y.shape[1] == 1:
            return Y
        multilabel = self._label_binarizer.y_type_.startswith("multilabel")
        return Y if isinstance(draws, HandgradDraws) and not multilabel else None

    def _validate_input(self, X: Any, y: Any, incremental: bool,
                        reset: bool) -> tuple[Any, np.ndarray]:
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError("warm_start can only be used where `y` has the same classes "
                                     f"as in the previous call to fit. Previously got "
                                     f"{self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                                 f"{self.classes_}. 'y' has {classes}.")
        return X, self._label_binarizer.transform(y).astype(bool)

    def _training_targets(self, Y: np.ndarray) -> np.ndarray:
        """Integer labels for a softmax (the fused cross-entropy), else 0/1 columns."""
        if self.out_activation_ == "softmax":
            return cast(np.ndarray, Y.argmax(axis=1).astype(np.intp))  # (n,)
        return Y.astype(self.model_.dtype)                             # (n, d)

    def _labels(self, out: np.ndarray) -> np.ndarray:
        return cast(np.ndarray, self._label_binarizer.inverse_transform(
            out.ravel() if self.n_outputs_ == 1 else out))

    def _score_output(self, out: np.ndarray, Y: np.ndarray, w: Any) -> float:
        """Accuracy of the network's output against training-form targets (early stopping)."""
        truth = (self.classes_[Y] if Y.ndim == 1 else
                 self._label_binarizer.inverse_transform(Y.ravel() if Y.shape[1] == 1 else Y))
        return float(accuracy_score(truth, self._labels(out), sample_weight=w))

    # scikit-learn ships no types, so under --strict its decorator is untyped
    @available_if(lambda est: est._check_solver())  # type: ignore[untyped-decorator]
    def partial_fit(self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None,
                    classes: ArrayLike | None = None) -> MLPClassifier:
        """One epoch over (X, y); the first call needs ``classes``: every label there will be."""
        self._validate_params()
        if self._first_partial_fit_call(classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight, incremental=True)

    def _first_partial_fit_call(self, classes: Any) -> bool:
        current = getattr(self, "classes_", None)
        if current is None and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is not None:
            if current is not None:
                if not np.array_equal(current, unique_labels(classes)):
                    raise ValueError(f"`classes={classes!r}` is not the same as on last call to "
                                     f"partial_fit, was: {current!r}")
            else:
                self.classes_ = unique_labels(classes)
                return True
        return False

    def predict(self, X: MatrixLike) -> np.ndarray:
        """Class labels (n,), or a 0/1 indicator matrix (n, n_labels) for multilabel."""
        return self._labels(self._validated_output(X))

    def predict_proba(self, X: MatrixLike) -> np.ndarray:
        """Probabilities (n, n_classes) in the order of ``classes_``; per label for multilabel."""
        out = self._validated_output(X)
        if self.n_outputs_ == 1:
            out = out.ravel()
            return cast(np.ndarray, np.vstack([1 - out, out]).T)
        return out

    def predict_log_proba(self, X: MatrixLike) -> np.ndarray:
        """log(predict_proba(X))."""
        proba = self.predict_proba(X)
        return cast(np.ndarray, np.log(proba, out=proba))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMLP):  # type: ignore[misc]  # sklearn has no types
    """A multi-layer perceptron regressor, scikit-learn's ``MLPRegressor`` on handgrad.

    ``loss="squared_error"``: an identity output and half the squared error;
    ``loss="poisson"``: an exponential output (μ = e^z) and half the Poisson
    deviance, for counts (y ≥ 0). One output per column of y. Parameters and
    fitted attributes are scikit-learn's; ``help(handgrad.sklearn)`` lists the extra,
    opt-in ones and every difference.
    """

    LOSSES: ClassVar[tuple[str, ...]] = ("squared_error", "poisson")   # scikit-learn's names

    @property
    def _parameter_constraints(self) -> dict[str, list[Any]]:
        return {**parameter_constraints(), "loss": [StrOptions(set(self.LOSSES))]}

    def __init__(self, loss: str = "squared_error",
                 hidden_layer_sizes: int | Sequence[int] = (100,), activation: str = "relu",
                 *, solver: str = "adam", alpha: float = 0.0001, batch_size: int | str = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: Any = None, tol: float = 1e-4,
                 verbose: bool | int = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: float = 10, max_fun: int = 15000,
                 dropout: float = 0.0, norm: str | None = None, weight_decay: float | None = None,
                 warmup_steps: int = 0, dtype: str | type | None = None, backend: str = "numpy",
                 device: str | None = None) -> None:
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            dropout=dropout, norm=norm, weight_decay=weight_decay, warmup_steps=warmup_steps,
            dtype=dtype, backend=backend, device=device)
        self.loss = loss

    def _out_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _stratify(self, Y: np.ndarray, draws: Draws) -> np.ndarray | None:
        return None

    def _validate_input(self, X: Any, y: Any, incremental: bool,
                        reset: bool) -> tuple[Any, np.ndarray]:
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and (y < 0).any():
            raise ValueError("Some value(s) of y are negative which is not allowed for "
                             "Poisson regression.")
        return X, y.reshape(len(y), -1)

    def _training_targets(self, Y: np.ndarray) -> np.ndarray:
        return Y.astype(self.model_.dtype)                   # (n, d)

    def _score_output(self, out: np.ndarray, Y: np.ndarray, w: Any) -> float:
        if np.issubdtype(out.dtype, np.floating) and not np.isfinite(out).all():
            return np.nan
        return float(r2_score(Y.ravel() if Y.shape[1] == 1 else Y,
                        out.ravel() if out.shape[1] == 1 else out, sample_weight=w))

    # scikit-learn ships no types, so under --strict its decorator is untyped
    @available_if(lambda est: est._check_solver())  # type: ignore[untyped-decorator]
    def partial_fit(self, X: MatrixLike, y: ArrayLike,
                    sample_weight: ArrayLike | None = None) -> MLPRegressor:
        """One epoch over (X, y), continuing from the current weights."""
        self._validate_params()
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X: MatrixLike) -> np.ndarray:
        """Predicted values (n,) for one output, else (n, n_outputs)."""
        out = self._validated_output(X)
        return out.ravel() if out.shape[1] == 1 else out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
