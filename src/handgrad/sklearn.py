"""scikit-learn estimators on the NumPy MLP: ``MLPClassifier`` and ``MLPRegressor``.

They take scikit-learn's parameter names and conventions (``hidden_layer_sizes``,
``activation``, ``solver``, ``alpha``, ``batch_size="auto"``,
``learning_rate_init``, ``max_iter``, ``tol``, ``n_iter_no_change``,
``early_stopping``, ``validation_fraction``, ``random_state``, ``warm_start``,
``partial_fit``) and fill scikit-learn's fitted attributes (``classes_``,
``loss_curve_``, ``validation_scores_``, ``best_loss_``, ``n_iter_``, ``t_``,
``coefs_``, ``intercepts_``), so they work in ``Pipeline`` and ``GridSearchCV``.
Training runs handgrad's own loop (``handgrad.train``) with its hand-written
backward pass.

Differences from scikit-learn's MLP, on purpose:

- ``coefs_[i]`` is (n_in, n_out) as in scikit-learn, a transposed view of
  handgrad's (n_out, n_in) weight; ``model_`` is the handgrad MLP itself.
- ``alpha`` is scikit-learn's L2 penalty, ``alpha/2·‖W‖²`` per example: its
  gradient ``alpha·θ/n_batch`` becomes the optimizer's weight decay. handgrad's
  optimizers decay biases too; scikit-learn does not.
- ``solver`` is "adam" (default), "sgd" (momentum 0.9, Nesterov as set) or
  "adamw"; there is no L-BFGS. ``activation`` takes scikit-learn's names
  ("logistic" is the sigmoid) and handgrad's ("gelu", "silu", …).
- Inputs keep float32 (handgrad's default) and everything else is computed in
  float64, as scikit-learn does; weights start as scikit-learn's do (Glorot
  uniform, the bound √3 smaller for a logistic output).
"""

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from . import optim
from .mlp import MLP
from .train import History, train

SKLEARN_NAMES = {"logistic": "sigmoid"}


class _BaseMLP(BaseEstimator):
    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate_init=0.001, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change

    # --- fitting --------------------------------------------------------------------------

    def _check_params(self):
        hidden = self.hidden_layer_sizes
        hidden = [hidden] if np.isscalar(hidden) else list(hidden)
        if any(int(h) < 1 for h in hidden):
            raise ValueError(f"hidden_layer_sizes must be positive; got {self.hidden_layer_sizes}")
        if self.max_iter < 1:
            raise ValueError(f"max_iter must be at least 1; got {self.max_iter}")
        if self.solver not in ("adam", "sgd", "adamw"):
            raise ValueError(f"solver must be 'adam', 'sgd' or 'adamw'; got {self.solver!r}")
        if self.learning_rate_init <= 0:
            raise ValueError(f"learning_rate_init must be positive; got {self.learning_rate_init}")
        if self.alpha < 0:
            raise ValueError(f"alpha must be non-negative; got {self.alpha}")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in (0, 1); got {self.validation_fraction}")
        return [int(h) for h in hidden]

    def _batch_size(self, n):
        if self.batch_size == "auto":
            return min(200, n)
        if not isinstance(self.batch_size, (int, np.integer)) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer or 'auto'; got {self.batch_size!r}")
        return min(int(self.batch_size), n)

    def _new_model(self, n_features, n_outputs, out_activation, dtype):
        hidden = self._check_params()
        act = SKLEARN_NAMES.get(self.activation, self.activation)
        sizes = [n_features] + hidden + [n_outputs]
        # scikit-learn's init: Glorot uniform, with a bound √3 smaller for a logistic output
        return MLP(sizes, [act] * len(hidden) + [out_activation], "xavier_uniform", dtype=dtype,
                   output_scale=3 ** -0.5 if out_activation == "sigmoid" else 1.0,
                   rng=np.random.default_rng(self._seed()))

    def _seed(self):
        rs = self.random_state
        if isinstance(rs, np.random.RandomState):
            return rs.randint(2 ** 31)
        return rs

    def _optimizer(self, batch_size):
        wd = self.alpha / batch_size     # d/dθ of alpha/2·‖θ‖² per example, for a mean loss
        lr = self.learning_rate_init
        if self.solver == "sgd":
            return optim.SGD(lr, momentum=self.momentum,
                             nesterov=self.nesterovs_momentum and self.momentum > 0,
                             weight_decay=wd)
        cls = optim.AdamW if self.solver == "adamw" else optim.Adam
        return cls(lr, betas=(self.beta_1, self.beta_2), eps=self.epsilon,
                   weight_decay=self.alpha if self.solver == "adamw" else wd)

    def _fit(self, X, y, incremental=False):
        first = not (incremental or self.warm_start) or not hasattr(self, "model_")
        is_classifier = isinstance(self, ClassifierMixin)
        X, y = validate_data(self, X, y, reset=first, dtype=(np.float64, np.float32),
                             multi_output=not is_classifier, y_numeric=not is_classifier)
        X_val = y_val = None
        if self.early_stopping and not incremental:
            stratify = y if isinstance(self, ClassifierMixin) and y.ndim == 1 else None
            X, X_val, y, y_val = train_test_split(
                X, y, test_size=self.validation_fraction, random_state=self._seed(),
                stratify=stratify if stratify is not None and np.bincount(stratify).min() > 1 else None)
        targets = self._encode(y, fit=first)
        if first:
            self.model_ = self._new_model(X.shape[1], *self._output(targets), X.dtype)
            self.optimizer_ = self._optimizer(self._batch_size(len(X)))
            self.history_ = History()
            self.loss_curve_, self.t_ = [], 0
            self.best_loss_ = np.inf
            self._no_improvement = 0
            if self.early_stopping:
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
                self._best_state = None
        stop = _Stopper(self, X_val, y_val)
        done = len(self.history_)
        epochs = done + (1 if incremental else self.max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            train(self.model_, X, targets, epochs=epochs, optimizer=self.optimizer_,
                  batch_size=self._batch_size(len(X)), shuffle=self.shuffle,
                  callbacks=[stop], verbose=self.verbose, history=self.history_)
        self.n_iter_ = len(self.history_)
        self.t_ += (self.n_iter_ - done) * len(X)          # training examples seen
        self.loss_ = self.loss_curve_[-1]
        if self.early_stopping and not incremental and self._best_state is not None:
            self.model_.load_state_dict(self._best_state)
        if not incremental and not stop.converged and self.n_iter_ >= self.max_iter:
            warnings.warn(f"Stochastic optimizer: maximum iterations ({self.max_iter}) reached "
                          "and the optimization hasn't converged yet.", ConvergenceWarning)
        return self

    def fit(self, X, y):
        """Train for up to max_iter epochs (scikit-learn's stopping rules)."""
        return self._fit(X, y)

    # --- what scikit-learn reads after fitting ----------------------------------------------

    @property
    def coefs_(self):
        check_is_fitted(self, "model_")
        return [layer.W.T for layer in self.model_.layers]

    @property
    def intercepts_(self):
        check_is_fitted(self, "model_")
        return [layer.b for layer in self.model_.layers]

    @property
    def n_layers_(self):
        check_is_fitted(self, "model_")
        return len(self.model_.layer_sizes)

    @property
    def n_outputs_(self):
        check_is_fitted(self, "model_")
        return self.model_.layer_sizes[-1]

    @property
    def out_activation_(self):
        check_is_fitted(self, "model_")
        name = self.model_.layers[-1].activation.name
        return {"sigmoid": "logistic"}.get(name, name)

    def _outputs(self, X):
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return self.model_._predict_output(X.astype(self.model_.dtype, copy=False))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


class _Stopper:
    """scikit-learn's rules, as a callback for handgrad.train: stop after n_iter_no_change
    epochs whose training loss (or validation score) did not improve by tol."""

    def __init__(self, est, X_val, y_val):
        self.est, self.X_val, self.y_val = est, X_val, y_val
        self.converged = False

    def __call__(self, model, history):
        est = self.est
        loss = history[-1]["train_loss"]        # the data loss (scikit-learn adds its L2 term)
        est.loss_curve_.append(loss)
        if self.X_val is not None:
            score = est.score(self.X_val, self.y_val)
            est.validation_scores_.append(score)
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                est._best_state = model.state_dict()
            improved = score > (max(est.validation_scores_[:-1], default=-np.inf) + est.tol)
        else:
            improved = loss < est.best_loss_ - est.tol
        est.best_loss_ = min(est.best_loss_, loss)
        est._no_improvement = 0 if improved else est._no_improvement + 1
        if est._no_improvement >= est.n_iter_no_change:
            self.converged = True
            if est.verbose:
                what = "Validation score" if self.X_val is not None else "Training loss"
                print(f"{what} did not improve more than tol={est.tol} for "
                      f"{est.n_iter_no_change} consecutive epochs. Stopping.")
            return True
        return False


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multi-layer perceptron classifier: softmax output (sigmoid for two classes)."""

    def _encode(self, y, fit):
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        check_classification_targets(y)
        if type_of_target(y) not in ("binary", "multiclass"):
            raise ValueError(f"MLPClassifier takes one label per example; got {type_of_target(y)} targets")
        if fit:
            self._label_encoder = LabelEncoder().fit(y)
            self.classes_ = self._label_encoder.classes_
        elif not set(np.unique(y)) <= set(self.classes_):
            raise ValueError(f"y has labels {sorted(set(np.unique(y)) - set(self.classes_))} that are "
                             f"not in classes_ {list(self.classes_)}")
        return self._label_encoder.transform(y)

    def _output(self, codes):
        K = len(self.classes_)
        return (1, "sigmoid") if K == 2 else (max(K, 1), "softmax")

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y); the first call needs ``classes``."""
        if not hasattr(self, "model_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            self._label_encoder = LabelEncoder().fit(classes)
            self.classes_ = self._label_encoder.classes_
            X, y = validate_data(self, X, y, reset=True, dtype=(np.float64, np.float32))
            self.model_ = self._new_model(X.shape[1], *self._output(None), X.dtype)
            self.optimizer_ = self._optimizer(self._batch_size(len(X)))
            self.history_, self.loss_curve_, self.best_loss_ = History(), [], np.inf
            self._no_improvement, self.t_ = 0, 0
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes {list(classes)} differ from the first call's {list(self.classes_)}")
        return self._fit(X, y, incremental=True)

    def predict_proba(self, X):
        check_is_fitted(self, "model_")
        out = self._outputs(X)
        if len(self.classes_) == 2:
            return np.hstack([1 - out, out])
        return out

    def predict_log_proba(self, X):
        return np.log(np.clip(self.predict_proba(X), 1e-300, None))

    def predict(self, X):
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multi-layer perceptron regressor: identity output, squared error."""

    def _encode(self, y, fit):
        y = np.asarray(y, dtype=np.float64)
        self._y_1d = y.ndim == 1 if fit else self._y_1d
        return y.reshape(len(y), -1)

    def _output(self, targets):
        return targets.shape[1], "identity"

    def partial_fit(self, X, y):
        """One epoch over (X, y)."""
        return self._fit(X, y, incremental=True)

    def predict(self, X):
        out = self._outputs(X)
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.regressor_tags.poor_score = False
        return tags
