"""What the classifier and the regressor share: scikit-learn's parameters, fitting
(through ``handgrad.train.train``, or L-BFGS) and scikit-learn's bookkeeping after each
epoch, the fitted attributes, predicting."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .. import optim
from ..history import DivergenceError, History
from ..train import train
from .backends import TwinNetwork
from .layout import ScikitLearnLayout
from .lbfgs import fit_lbfgs
from .losses import FROM_PREDICTIONS
from .names import SCIKIT_LEARN_RATES, SCIKIT_LEARN_WORDS, parameter_constraints, stochastic
from .network import Network
from .randomness import Draws, draws_for
from .rules import ScikitLearnAdam, ScikitLearnRule, ScikitLearnSGD, trigger_stopping

if TYPE_CHECKING:
    from typing_extensions import Self

ArrayLike = Any          # what scikit-learn's validation turns into an array
MatrixLike = Any         # an array-like or a SciPy sparse matrix or array


class BaseMLP(ScikitLearnLayout, BaseEstimator):  # type: ignore[misc]  # sklearn has no types
    """What the classifier and the regressor share: parameters, the solvers, fitted attributes."""

    loss: str

    @property
    def _parameter_constraints(self) -> dict[str, list[Any]]:
        return parameter_constraints()

    def __init__(self, hidden_layer_sizes: int | Sequence[int] = (100,), activation: str = "relu",
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
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
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
        self.max_fun = max_fun
        self.dropout = dropout
        self.norm = norm
        self.weight_decay = weight_decay
        self.warmup_steps = warmup_steps
        self.dtype = dtype
        self.backend = backend
        self.device = device

    # what each estimator defines (MLPClassifier, MLPRegressor): X and Y checked (Y 2-D:
    # 0/1 indicator columns or values), the output activation, Y in the form the loss takes,
    # the labels that stratify the validation split, and the validation score of an output
    _validate_input: Callable[..., tuple[Any, np.ndarray]]
    _out_activation: Callable[[], str]
    _training_targets: Callable[[np.ndarray], np.ndarray]
    _stratify: Callable[[np.ndarray, Draws], np.ndarray | None]
    _score_output: Callable[[np.ndarray, np.ndarray, Any], float]

    # --- fitting ---------------------------------------------------------------------------

    def fit(self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Any:
        """Fit the network to X (n_samples, n_features), dense or sparse, and y.

        y: class labels (n_samples,) or a 0/1 indicator matrix (multilabel) for the
        classifier; values (n_samples,) or (n_samples, n_outputs) for the regressor.
        ``sample_weight`` (n_samples,) weights every example's loss. Returns self.
        """
        self._validate_params()
        return self._fit(X, y, sample_weight, incremental=False)

    def _check_solver(self) -> bool:
        if not stochastic(self.solver):
            raise AttributeError("partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True

    def _hidden_sizes(self) -> list[int]:
        hidden = self.hidden_layer_sizes
        hidden = list(hidden) if hasattr(hidden, "__iter__") else [hidden]
        if np.any(np.array(hidden) <= 0):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {hidden}.")
        return [int(h) for h in hidden]

    def _fit(self, X: Any, y: Any, sample_weight: Any, incremental: bool) -> Self:
        hidden = self._hidden_sizes()
        self._check_options(sample_weight)
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype,
                                                 ensure_non_negative=True)
        units = [X.shape[1]] + hidden + [Y.shape[1]]
        draws = draws_for(self.random_state)          # scikit-learn's, made anew every fit
        if first_pass:
            self._initialize(units, X.dtype, draws)
        elif self.model_.layer_sizes != units:
            raise ValueError(f"the network has layer sizes {self.model_.layer_sizes}; these data "
                             f"and hidden_layer_sizes need {units}. Fit again without warm_start "
                             "to start a new network.")
        X = X.astype(self.model_.dtype, copy=False)
        if sp.issparse(X):
            X = X.tocsr()                                     # rows are cheap to take from CSR
        self.model_.alpha = self.alpha
        if stochastic(self.solver):
            self._fit_stochastic(X, Y, sample_weight, incremental, draws)
        else:
            self._fit_lbfgs(X, self._training_targets(Y), sample_weight)
        return self

    def _check_options(self, sample_weight: Any) -> None:
        if self.backend != "numpy":
            if self.solver == "lbfgs":
                raise ValueError("solver='lbfgs' runs SciPy's L-BFGS-B on the NumPy network; "
                                 f"use backend='numpy' (got backend={self.backend!r})")
            if sample_weight is not None:
                raise ValueError(f"backend={self.backend!r} takes no sample_weight; "
                                 "use backend='numpy' to weight examples")
            if getattr(self, "loss", None) == "poisson":
                raise ValueError("the Poisson loss is trained in NumPy only; use backend='numpy'")
        if self.solver == "lbfgs" and self.dropout:
            raise ValueError("dropout makes every loss evaluation random, and L-BFGS needs the "
                             "same loss for the same weights: use solver='adam' or 'sgd' with "
                             f"dropout={self.dropout}, or dropout=0 with lbfgs")

    def _initialize(self, units: list[int], X_dtype: Any, draws: Draws) -> None:
        """A new network with the initial weights ``draws`` gives, and a first fit's attributes."""
        hidden = SCIKIT_LEARN_WORDS.get(self.activation, self.activation)
        out = {"softmax": "softmax", "logistic": "sigmoid"}.get(self._out_activation(),
                                                                 "identity")
        dtype = np.dtype(self.dtype) if self.dtype is not None else np.dtype(X_dtype)
        weights = list(draws.initial_weights(units, hidden))     # first, as scikit-learn draws
        self.model_ = Network(units, [hidden] * (len(units) - 2) + [out], self.loss, dtype=dtype,
                              norm=self.norm, dropout=self.dropout,
                              rng=draws.network_rng(needed=bool(self.dropout)))
        for layer, (W, b) in zip(self.model_.layers, weights):
            layer.params["weight"][...] = W                   # (n_out, n_in), cast to dtype
            layer.params["bias"][...] = b                     # (n_out,)
        self.n_iter_, self.t_ = 0, 0
        self.n_outputs_ = units[-1]
        self.n_layers_ = len(units)
        self.out_activation_ = self._out_activation()
        self._optimizer: Any = None
        self._best_state = self.model_.state_dict()
        self.loss_curve_: list[Any] = []
        self._no_improvement_count = 0
        self.best_loss_: Any
        if stochastic(self.solver) and self.early_stopping:
            self.validation_scores_: Any = []
            self.best_validation_score_: Any = -np.inf
            self.best_loss_ = None
            self.validation_loss_curve_: Any = []
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = self.best_validation_score_ = None
            self.validation_loss_curve_ = None

    def _new_rule(self) -> optim.Optimizer:
        """scikit-learn's rule for "sgd" and "adam"; handgrad's optimizer for another name."""
        if self.solver == "sgd":
            return ScikitLearnSGD(self.learning_rate_init, self.learning_rate, self.momentum,
                                  self.nesterovs_momentum, self.power_t)
        if self.solver == "adam":
            return ScikitLearnAdam(self.learning_rate_init, self.beta_1, self.beta_2,
                                   self.epsilon)
        return optim.make_optimizer(self.solver, self.learning_rate_init,
                                    betas=(self.beta_1, self.beta_2), eps=self.epsilon,
                                    weight_decay=self.weight_decay, momentum=self.momentum)

    def _schedule(self, rule: Any, steps_per_epoch: int) -> Any:
        """train()'s schedule for a warm-up and handgrad's schedules ("cosine", …), or None:
        the rate is scikit-learn's current η (which "invscaling" and "adaptive" move) times
        the factor handgrad's schedule gives over max_iter epochs."""
        name = None if self.learning_rate in SCIKIT_LEARN_RATES else self.learning_rate
        factor = optim.make_schedule(name, 1.0, self.max_iter * steps_per_epoch,
                                     self.warmup_steps)
        if factor is None:
            return None
        if isinstance(rule, ScikitLearnSGD):
            return lambda t: rule.learning_rate * factor(t)
        return lambda t: self.learning_rate_init * factor(t)

    def _batch_size(self, n: int) -> int:
        if self.batch_size == "auto":
            return min(200, n)
        size = int(self.batch_size)
        if size > n:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. "
                          "It is going to be clipped", stacklevel=5)
        return int(np.clip(size, 1, n))

    def _fit_stochastic(self, X: Any, Y: np.ndarray, sample_weight: Any, incremental: bool,
                        draws: Draws) -> None:
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        if not incremental or self._optimizer is None:
            self._optimizer = self._new_rule()
        if self.early_stopping and self.validation_scores_ is None:   # switched on for a warm start
            self.validation_scores_, self.validation_loss_curve_ = [], []
            self.best_validation_score_, self.best_loss_ = -np.inf, None
        elif not self.early_stopping and self.best_loss_ is None:
            self.best_loss_ = np.inf
        validation: tuple[Any, Any, Any] = (None, None, None)
        if self.early_stopping:
            parts = train_test_split(X, Y, *([] if sample_weight is None else [sample_weight]),
                                     random_state=draws.split_state(),
                                     test_size=self.validation_fraction,
                                     stratify=self._stratify(Y, draws))
            X, X_val, Y, Y_val = parts[:4]
            sample_weight, sw_val = parts[4:] if sample_weight is not None else (None, None)
            if X_val.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                                 "or the size of your dataset.")
            validation = (X_val, self._training_targets(Y_val), sw_val)
        Y = self._training_targets(Y)
        n = X.shape[0]
        batch_size = self._batch_size(n)
        rule = self._optimizer
        net: Any = self.model_
        stepper = rule
        if self.backend != "numpy":
            net = TwinNetwork(self.model_, self.backend, self.device)
            stepper = net.stepper(rule)
        start = self.model_.state_dict()

        def end_of_epoch(model: Any, history: History) -> bool:
            return self._end_of_epoch(model, history, rule, n, validation, incremental)

        self.n_iter_ = 0
        history, diverged = History(), False
        try:
            train(net, X, Y, epochs=1 if incremental else self.max_iter, optimizer=stepper,
                  batch_size=batch_size, schedule=self._schedule(rule, math.ceil(n / batch_size)),
                  shuffle=draws.order(self.shuffle), sample_weight=sample_weight,
                  callbacks=[end_of_epoch], divergence_factor=None, history=history)
        except DivergenceError:          # the loop put back the weights of the epoch's start
            diverged = True
        finally:
            if net is not self.model_:
                net.finish(rule, stepper)
            self.model_.clear_caches()
        if diverged:
            self._diverged(start, validation)
        elif history.interrupted:
            warnings.warn("Training interrupted by user.", stacklevel=4)
        if not all(np.isfinite(p).all() for p in self.model_.params.values()):
            self.model_.load_state_dict(start)
            raise ValueError("Solver produced non-finite parameter weights. The input data may "
                             "contain large values and need to be preprocessed. (The weights "
                             "from before this fit are back in place.)")
        if self.early_stopping:
            self.model_.load_state_dict(self._best_state)     # the best validation score's weights

    def _end_of_epoch(self, net: Any, history: History, rule: Any, n: int,
                      validation: tuple[Any, Any, Any], incremental: bool) -> bool:
        """scikit-learn's end of an epoch: its attributes, the stopping rule, the rate; True
        stops training."""
        self.n_iter_ += 1
        self.loss_ = np.float64(history[-1]["train_loss"])
        self.t_ += n
        self.loss_curve_.append(self.loss_)
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
        self._update_no_improvement_count(net, *validation)
        if isinstance(rule, ScikitLearnRule):
            rule.iteration_ends(self.t_)
        if self._no_improvement_count > self.n_iter_no_change:
            what = "Validation score" if self.early_stopping else "Training loss"
            msg = (f"{what} did not improve more than tol={self.tol:f} for "
                   f"{self.n_iter_no_change} consecutive epochs.")
            if trigger_stopping(rule, msg, self.verbose):
                return True
            self._no_improvement_count = 0
        if incremental:
            return True
        if self.n_iter_ == self.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                          "reached and the optimization hasn't converged yet.",
                          ConvergenceWarning, stacklevel=2)
        return False

    def _diverged(self, start: dict[str, np.ndarray], validation: tuple[Any, Any, Any]) -> None:
        """The loss became NaN or infinite; the loop put back the weights of the epoch's start.

        With early stopping (as in scikit-learn) that is no error: the epoch scores NaN and
        the best weights are kept. Otherwise scikit-learn's ValueError, the estimator left
        usable."""
        epoch = self.n_iter_ + 1
        if not all(np.isfinite(p).all() for p in self.model_.params.values()):
            self.model_.load_state_dict(start)
        if self.early_stopping:
            self.n_iter_ += 1
            self.loss_ = np.float64(np.nan)
            self.loss_curve_.append(self.loss_)
            self.validation_scores_.append(float("nan"))
            self.validation_loss_curve_.append(float("nan"))
            warnings.warn(f"The loss became non-finite in epoch {epoch}: training stopped, "
                          f"keeping the weights of the best validation score "
                          f"({self.best_validation_score_:f}).", ConvergenceWarning,
                          stacklevel=5)
            return
        raise ValueError(
            "Solver produced non-finite parameter weights. The input data may contain large "
            f"values and need to be preprocessed. (The loss became non-finite in epoch {epoch}; "
            "the weights of the start of that epoch are back in place. Try a smaller "
            "learning_rate_init, or standardize the inputs.)")

    def _update_no_improvement_count(self, net: Any, X_val: Any, Y_val: Any, sw_val: Any) -> None:
        if self.early_stopping:
            if net is not self.model_:
                self.model_.load_state_dict(net.state_dict())     # the twin's weights, to score
            with np.errstate(over="ignore", invalid="ignore"):   # a huge output scores NaN
                out = self._output(X_val)
                score = self._score_output(out, Y_val, sw_val)
                loss = FROM_PREDICTIONS[self.model_.loss_name](Y_val, out, sw_val)
            self.validation_scores_.append(score)
            self.validation_loss_curve_.append(loss)
            if self.verbose:
                print(f"Validation score: {score:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_state = self.model_.state_dict()
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    def _fit_lbfgs(self, X: Any, Y: np.ndarray, sample_weight: Any) -> None:
        start = self.model_.state_dict()
        result = fit_lbfgs(self.model_, X, Y, sample_weight, max_iter=self.max_iter,
                           max_fun=self.max_fun, tol=self.tol, verbose=self.verbose)
        self.n_iter_, self.loss_curve_ = result.n_iter, result.curve
        if result.status != 0:
            msg = (f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                   f"(status={result.status}):\n{result.message}\n")
            if self.n_iter_ == self.max_iter:
                msg += ("\nIncrease the number of iterations to improve the convergence "
                        f"(max_iter={self.max_iter}).")
            warnings.warn(msg, ConvergenceWarning, stacklevel=4)
        self.loss_ = result.loss
        if not result.finite:
            self.model_.load_state_dict(start)
            raise ValueError("Solver produced non-finite parameter weights. The input data may "
                             "contain large values and need to be preprocessed. (The starting "
                             "weights are back in place.)")

    # --- predicting -------------------------------------------------------------------------

    def _output(self, X: Any) -> np.ndarray:
        """The output layer's activations (n, n_outputs) in evaluation mode; μ for Poisson."""
        out = self.model_._predict_output(X)                 # (n, n_outputs), nothing cached
        return cast(np.ndarray, np.exp(out) if self.out_activation_ == "exp" else out)

    def _validated_output(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        X = X.tocsr() if sp.issparse(X) else X
        return self._output(X.astype(self.model_.dtype, copy=False))

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
