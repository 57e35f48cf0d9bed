"""scikit-learn's ``MLPClassifier`` and ``MLPRegressor`` on handgrad's hand-written backward pass.

Change one import and a scikit-learn script runs on handgrad::

    from handgrad.sklearn import MLPClassifier      # was: from sklearn.neural_network import …

Every parameter, fitted attribute, method and error of scikit-learn's two
estimators is here with the same meaning: the solvers "lbfgs", "sgd" and
"adam"; ``learning_rate`` "constant", "invscaling" and "adaptive" with
``power_t``; ``momentum`` and ``nesterovs_momentum``; ``alpha``;
``sample_weight`` in ``fit`` and ``partial_fit``; binary, multiclass and
multilabel classification; single and multi-output regression with the
squared error or the Poisson deviance; SciPy sparse input; ``warm_start``;
``partial_fit``; early stopping on a (stratified) validation split; the
stopping rule (``tol``, ``n_iter_no_change``); ``verbose``; feature names;
``ConvergenceWarning``; the parameter validation. The gradient is always
handgrad's: ``MLP.forward`` and ``MLP.backward`` fill ``model.grads`` and the
update rules below turn it into steps, scikit-learn's rules in scikit-learn's
floating-point operations (from the same weights, epochs of "sgd" or "adam"
in float64 match scikit-learn's to about 1e-15; "lbfgs" reaches its loss).

What scikit-learn's estimators cannot do, opt-in (the defaults are scikit-learn's):

    dropout=0.2                   inverted dropout after every hidden activation
    norm="batch" | "layer" | "rms"    a norm between every hidden linear map and its activation
    activation="gelu" | "gelu_tanh" | "silu" | "swish" | "leaky_relu"    besides scikit-learn's four
    solver="adamw"                PyTorch's AdamW (handgrad.optim), decoupled ``weight_decay``
    learning_rate="cosine"        cosine decay to 0 over max_iter epochs (handgrad.optim.Cosine)
    warmup_steps=100              a linear warm-up over the first steps (handgrad.optim.Warmup)
    dtype=np.float32              train and predict in float32 whatever the input's dtype
    backend="torch" | "mlx"       the same network and rules on PyTorch (CUDA when available) or MLX
    validation_loss_curve_        the held-out loss of every epoch beside ``loss_curve_``

Two conventions differ between scikit-learn and PyTorch; these estimators use
scikit-learn's, handgrad.optim (and ``solver="adamw"``) PyTorch's:

- Momentum. scikit-learn keeps the learning rate inside the velocity,
  v ← μv − ηg, θ ← θ + v; PyTorch keeps it outside, v ← μv + g, θ ← θ − ηv.
  With a constant η both take the same steps; once η changes ("invscaling",
  "adaptive", "cosine") scikit-learn's velocity still carries the old rates.
- Adam's ε. scikit-learn adds ε to √v before the bias correction,
  θ ← θ − η·√(1−β2ᵗ)/(1−β1ᵗ) · m/(√v + ε); PyTorch adds it to the corrected
  √v̂ = √v/√(1−β2ᵗ). scikit-learn's ε acts as PyTorch's ε/√(1−β2ᵗ): about
  32 times larger at the first step (β2 = 0.999), the same after a few
  thousand steps.

Other things to know:

- ``coefs_[i]`` is (n_in, n_out) as in scikit-learn, a transposed view of
  handgrad's (n_out, n_in) weight (``z = x @ W.T + b``). Writing into it, or
  assigning ``coefs_``, ``coefs_[i]``, ``intercepts_`` or ``intercepts_[i]``,
  writes into the network. ``model_`` is the handgrad ``MLP`` itself; a norm's
  γ and β live in ``model_.params``, not in ``coefs_``.
- ``random_state`` seeds a ``numpy.random.Generator`` (initial weights,
  shuffling, the validation split, dropout masks): the same seed gives the
  same run every time, but not scikit-learn's numbers. To start both from the
  same point, copy ``coefs_`` and ``intercepts_`` across.
- Weights start as scikit-learn's do: weights and biases uniform in ±√(6/(n_in+n_out)),
  ±√(2/(n_in+n_out)) when ``activation="logistic"``.
- For several regression outputs scikit-learn reports the squared error
  averaged over the outputs but steps along the gradient of their sum; so
  does this estimator (then runs agree), and "lbfgs" minimizes the sum (the
  function whose gradient it gets) while ``loss_`` reports the mean.
- ``n_iter_`` counts the epochs of the last call: 1 after ``partial_fit``, as
  in scikit-learn; ``t_`` counts every example seen.
- ``loss_curve_`` is also kept for "lbfgs" (the loss after each iteration).
- X keeps its dtype as in scikit-learn (float32 stays float32, anything else
  becomes float64) unless ``dtype`` says otherwise; weights and outputs follow.
- Sparse X (CSR, CSC; matrices or arrays) is never made dense: each batch's
  first-layer product touches only the columns it uses (``SparseLinear``).
- Early stopping's validation split is stratified for every single-label
  classifier, as scikit-learn documents (its 1.9 code stratifies two-class
  problems only); not for multilabel targets, nor when a class has a single
  example.
- ``partial_fit`` exists for the stochastic solvers only, as scikit-learn
  documents (scikit-learn 1.9's ``MLPRegressor`` offers it with "lbfgs" too,
  and then runs a whole L-BFGS fit).
- A step that makes the loss or the weights non-finite stops training with
  scikit-learn's ``ValueError``; the weights of the start of that epoch are
  put back, so the estimator can still predict and be trained further.
- ``sample_weight`` must be non-negative; a mini-batch whose weights are all
  zero is skipped (it carries no gradient). The twins (``backend="torch"`` or
  "mlx") take no ``sample_weight`` and no Poisson loss; "lbfgs" runs in NumPy.
"""

import math
import warnings
from collections.abc import Callable, Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from scipy.special import xlogy
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import optim
from .mlp import MLP, Layer
from .nn.linear import Linear
from .nn.module import submodules

ArrayLike = Any          # what scikit-learn's validation turns into an array
MatrixLike = Any         # an array-like or a SciPy sparse matrix or array

# scikit-learn's names for the hidden activation -> handgrad's
HIDDEN_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
                      "leaky_relu": "leaky_relu", "gelu": "gelu", "gelu_tanh": "gelu_tanh",
                      "silu": "silu", "swish": "silu"}
STOCHASTIC_SOLVERS = ("sgd", "adam", "adamw")
PREDICT_BATCH = 4096


# --- scikit-learn's update rules -----------------------------------------------------------------
#
# ``step(engine, scale)`` updates every parameter the engine holds; ``scale`` is the
# warm-up / cosine factor (1 without them). On NumPy arrays the update runs in place in
# two scratch arrays per parameter, in the same floating-point operations as
# scikit-learn's, so the numbers are bit for bit its own. The twins' tensors go through
# ``updates``, written with arithmetic operators only (PyTorch tensors, MLX arrays).

def _sqrt(x):
    return np.sqrt(x) if isinstance(x, (np.ndarray, np.generic)) else x.sqrt()


def _zeros(slots, params):
    """The state ``slots`` as zero arrays shaped like ``params`` (made on the first NumPy step)."""
    if slots is None or any(isinstance(s, float) for s in slots):
        return [np.zeros_like(p) for p in params]
    return slots


class Rule:
    """What the rules share: scratch arrays (never pickled), moving the state between backends."""

    slots: tuple[str, ...] = ()

    def scratch(self, params: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Two scratch arrays per parameter, made once."""
        pairs = self.__dict__.get("_scratch")
        if pairs is None or len(pairs) != len(params) or pairs[0][0].shape != params[0].shape:
            pairs = self._scratch = [(np.empty_like(p), np.empty_like(p)) for p in params]
        return pairs

    def map_state(self, fn: Callable[[Any], Any]) -> None:
        """Apply ``fn`` to every state array (NumPy to a twin's tensors and back)."""
        for name in self.slots:
            state = getattr(self, name)
            if state is not None:
                setattr(self, name, [s if isinstance(s, float) else fn(s) for s in state])

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_scratch"}

    def iteration_ends(self, time_step: int) -> None:
        """Called after every epoch with the number of examples seen."""

    def trigger_stopping(self, msg: str, verbose: bool | int) -> bool:
        """The stopping rule fired: True stops training."""
        if verbose:
            print(msg + " Stopping.")
        return True


class SGDRule(Rule):
    """scikit-learn's SGD with momentum (``_stochastic_optimizers.SGDOptimizer``).

        v ← μ v − η g                     the learning rate inside the velocity
        θ ← θ + v                         plain momentum
        θ ← θ + μ v − η g                 Nesterov (with the new v)

    η is ``learning_rate_init``; "invscaling" sets η = η0 / (t + 1)^power_t after
    each epoch (t: examples seen); "adaptive" divides η by 5 whenever the
    stopping rule fires, and stops once η ≤ 1e-6. PyTorch's SGD (handgrad.optim.SGD)
    writes v ← μ v + g, θ ← θ − η v: the same steps while η is constant.
    """

    slots = ("velocities",)

    def __init__(self, learning_rate_init: float = 0.1, lr_schedule: str = "constant",
                 momentum: float = 0.9, nesterov: bool = True, power_t: float = 0.5) -> None:
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule, self.momentum, self.power_t = lr_schedule, momentum, power_t
        self.nesterov = nesterov
        self.velocities: list[Any] | None = None
        self.t = 0                                            # steps taken

    def step(self, engine: "NumpyEngine", scale: float = 1.0) -> None:
        self.t += 1
        grads = engine.grads()
        if not engine.in_place:
            engine.add(self.updates(grads, scale))
            return
        lr, mu = self.learning_rate * scale, self.momentum
        self.velocities = _zeros(self.velocities, engine.params)
        for p, g, v, (lr_g, step) in zip(engine.params, grads, self.velocities,
                                         self.scratch(engine.params)):
            np.multiply(g, lr, out=lr_g)                      # η g
            v *= mu
            v -= lr_g                                         # v ← μ v − η g
            if self.nesterov:
                np.multiply(v, mu, out=step)
                step -= lr_g                                  # μ v − η g
                p += step
            else:
                p += v

    def updates(self, grads: list[Any], scale: float = 1.0) -> list[Any]:
        """What to add to each parameter (any backend's arrays)."""
        lr, mu = self.learning_rate * scale, self.momentum
        if self.velocities is None:
            self.velocities = [0.0] * len(grads)              # v starts at 0: first step −η g
        self.velocities = [mu * v - lr * g for v, g in zip(self.velocities, grads)]
        if self.nesterov:
            return [mu * v - lr * g for v, g in zip(self.velocities, grads)]
        return self.velocities

    def iteration_ends(self, time_step: int) -> None:
        if self.lr_schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg: str, verbose: bool | int) -> bool:
        if self.lr_schedule != "adaptive":
            return super().trigger_stopping(msg, verbose)
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(f"{msg} Setting learning rate to {self.learning_rate:f}")
        return False


class AdamRule(Rule):
    """scikit-learn's Adam (``_stochastic_optimizers.AdamOptimizer``).

        m ← β1 m + (1 − β1) g             first moment
        v ← β2 v + (1 − β2) g²            second moment
        θ ← θ − η √(1 − β2ᵗ)/(1 − β1ᵗ) · m / (√v + ε)

    ε is added to √v before the bias correction (PyTorch adds it after:
    θ ← θ − η/(1 − β1ᵗ) · m / (√v/√(1 − β2ᵗ) + ε)). ``learning_rate`` ("invscaling",
    "adaptive") does not apply, as in scikit-learn; the stopping rule stops.
    """

    slots = ("ms", "vs")

    def __init__(self, learning_rate_init: float = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8) -> None:
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.t = 0
        self.ms: list[Any] | None = None
        self.vs: list[Any] | None = None

    def _rate(self, scale: float) -> float:
        b1, b2 = self.beta_1, self.beta_2
        self.t += 1
        self.learning_rate = (self.learning_rate_init * scale * math.sqrt(1 - b2 ** self.t)
                              / (1 - b1 ** self.t))               # η √(1 − β2ᵗ)/(1 − β1ᵗ)
        return self.learning_rate

    def step(self, engine: "NumpyEngine", scale: float = 1.0) -> None:
        grads = engine.grads()
        if not engine.in_place:
            engine.add(self.updates(grads, scale))
            return
        b1, b2, eps = self.beta_1, self.beta_2, self.epsilon
        lr = self._rate(scale)
        self.ms, self.vs = _zeros(self.ms, engine.params), _zeros(self.vs, engine.params)
        for p, g, m, v, (tmp, step) in zip(engine.params, grads, self.ms, self.vs,
                                           self.scratch(engine.params)):
            m *= b1
            np.multiply(g, 1 - b1, out=tmp)
            m += tmp                                          # m ← β1 m + (1 − β1) g
            v *= b2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - b2
            v += tmp                                          # v ← β2 v + (1 − β2) g²
            np.sqrt(v, out=tmp)
            tmp += eps                                        # √v + ε
            np.multiply(m, -lr, out=step)
            step /= tmp
            p += step                                         # θ ← θ − η_t m / (√v + ε)

    def updates(self, grads: list[Any], scale: float = 1.0) -> list[Any]:
        """What to add to each parameter (any backend's arrays)."""
        b1, b2 = self.beta_1, self.beta_2
        lr = self._rate(scale)
        ms = self.ms if self.ms is not None else [0.0] * len(grads)      # m, v start at 0
        vs = self.vs if self.vs is not None else [0.0] * len(grads)
        ms = self.ms = [b1 * m + (1 - b1) * g for m, g in zip(ms, grads)]
        vs = self.vs = [b2 * v + (1 - b2) * (g * g) for v, g in zip(vs, grads)]
        return [-lr * m / (_sqrt(v) + self.epsilon) for m, v in zip(ms, vs)]


class AdamWRule(Rule):
    """PyTorch's AdamW, as ``handgrad.optim.AdamW`` (the twins: ``torch.optim.AdamW``, MLX's).

        θ ← θ − η λ θ                     decoupled decay, before the step
        θ ← θ − η/(1 − β1ᵗ) · m / (√v/√(1 − β2ᵗ) + ε)

    λ is ``weight_decay`` (default 0.01, PyTorch's). ``alpha`` still adds
    scikit-learn's L2 term to the loss; set ``alpha=0`` for AdamW's decay alone.
    Its state stays in handgrad.optim's NumPy form; the twins copy it in and out.
    """

    def __init__(self, learning_rate_init: float = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8,
                 weight_decay: float | None = None) -> None:
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.opt = optim.make_optimizer("adamw", learning_rate_init, betas=(beta_1, beta_2),
                                        eps=epsilon, weight_decay=weight_decay)

    @property
    def t(self) -> int:
        return self.opt.t

    def step(self, engine: "NumpyEngine", scale: float = 1.0) -> None:
        self.opt.lr = self.learning_rate = self.learning_rate_init * scale
        engine.framework_step(self.opt)


# --- losses as scikit-learn scales them, from the network's output -------------------------------
#
# Training takes handgrad's loss and gradient (MLP.backward) and scales them where
# scikit-learn's differ; these compute the loss alone from predictions (validation loss)
# and the Poisson deviance, which handgrad's MLP does not have.

def _average(values, w):
    """Σ_i w_i values_i / Σ w (a plain mean without weights), summed over the last axis."""
    return float(np.sum(np.average(values, weights=None if w is None else w, axis=0)))


def _log_loss(codes, p, w):
    """−mean_w log p[y]: the multiclass log-loss (softmax probabilities, integer labels)."""
    eps = np.finfo(p.dtype).eps
    return _average(-np.log(np.clip(p[np.arange(len(p)), codes], eps, 1)), w)


def _binary_log_loss(y, p, w):
    """−Σ_j mean_w [y log p + (1 − y) log(1 − p)]: summed over the outputs, as scikit-learn."""
    eps = np.finfo(p.dtype).eps
    p = np.clip(p, eps, 1 - eps)
    return _average(-(xlogy(y, p) + xlogy(1 - y, 1 - p)), w)


def _squared_loss(y, pred, w):
    """½ mean_j mean_w (ŷ − y)²: averaged over the outputs, as scikit-learn reports it."""
    return _average(0.5 * (pred - y) ** 2, w) / y.shape[1]


def _poisson_loss(y, mu, w):
    """Half the Poisson deviance, Σ_j mean_w [y log(y/μ) − y + μ], as scikit-learn."""
    return _average(xlogy(y, y / mu) - y + mu, w)


EVAL_LOSSES = {"ce": _log_loss, "bce": _binary_log_loss, "mse": _squared_loss,
               "poisson": _poisson_loss}


def poisson_loss_and_delta(z: np.ndarray, y: np.ndarray,
                           w: np.ndarray | None) -> tuple[float, np.ndarray]:
    """Half Poisson deviance with a log link, and its gradient at the output's z.

        μ = e^z,   L = Σ_j mean_w [y log(y/μ) − y + μ],   dL/dz = w (μ − y) / Σw

    (dL/dμ = 1 − y/μ and dμ/dz = μ, so dL/dz = μ − y for each example.)
    """
    mu = np.exp(z)                                            # (B, d)
    total = len(z) if w is None else float(w.sum())
    delta = mu - y                                            # (B, d)
    if w is not None:
        delta *= w.astype(z.dtype, copy=False)[:, None]       # (B, d) w_i (μ − y)
    delta /= total                                            # (B, d)
    return _poisson_loss(y, mu, w), delta


# --- where the network lives while it trains ----------------------------------------------------

def _is_coef(name):
    """True for the linear maps' weights (scikit-learn's coefs_, the only ones alpha decays)."""
    parts = name.split(".")
    return len(parts) == 3 and parts[0] == "layers" and parts[2] == "weight"


def drop_caches(model: MLP) -> None:
    """Forget what the last forward pass kept for backward (so pickles stay small)."""
    for m in submodules(model):
        for name in type(m).caches:
            if getattr(m, name, None) is not None:
                setattr(m, name, None)


def relink(model: MLP) -> None:
    """Make the MLP's flat ``params``/``grads``/``buffers`` name its layers' arrays again.

    A module's dicts share arrays with its children's; ``pickle`` keeps that
    sharing, but ``joblib`` stores every array on its own and loads copies.
    """
    for i, layer in enumerate(model.layers):
        if layer.norm is not None:
            layer.add_child("norm", layer.norm)
        model.add_child(f"layers.{i}", layer)


class SparseLinear(Linear):
    """z = X Wᵀ + b for a SciPy sparse batch X, touching only the features it uses.

    A sparse batch of B rows uses k ≪ d_in features (its columns ``cols``). With
    X_k the batch restricted to them and W_k = W[:, cols]:

        z  = X_k W_kᵀ + b                 (B, k) sparse @ (k, d_out) -> (B, d_out)
        dW[:, cols] = (X_kᵀ δ)ᵀ           ((k, B) sparse @ (B, d_out))ᵀ -> (d_out, k)
        dW elsewhere = 0                  (those features are 0 in every row)

    since z_bj = Σ_i x_bi W_ji needs only the i where x_bi ≠ 0. X is never made
    dense, and no (d_in, d_out) copy of W is made per step. Dense input goes the
    usual way. Nobody needs dL/dX of a first layer.
    """

    def forward(self, x: Any, training: bool = True) -> np.ndarray:
        if not sp.issparse(x):
            self.cols = None
            return super().forward(x, training)
        x = sp.csr_matrix(x)
        cols, local = np.unique(x.indices, return_inverse=True)         # (k,), (nnz,)
        self.x = x
        self.x_k = sp.csr_matrix((x.data, local.reshape(-1), x.indptr),
                                 shape=(x.shape[0], len(cols)))    # (B, k)
        self.cols = cols
        z = np.asarray(self.x_k @ self.W[:, cols].T)    # (B, k) @ (k, d_out) -> (B, d_out)
        if self.b is not None:
            z += self.b                                                 # (B, d_out)
        return z

    def backward_delta(self, delta: np.ndarray) -> np.ndarray | None:
        if getattr(self, "cols", None) is None:
            return super().backward_delta(delta)
        dW = self.grads["weight"]                                       # (d_out, d_in)
        dW.fill(0)
        dW[:, self.cols] = (self.x_k.T @ delta).T                       # (d_out, k)
        if self.b is not None:
            np.sum(delta, axis=0, out=self.grads["bias"])               # (B, d_out) -> (d_out,)
        return None


class SparseInputLayer(Layer, SparseLinear):
    """A first ``Layer`` (linear map, norm, activation, dropout) whose linear map takes sparse
    input as ``SparseLinear`` does: Layer's forward calls SparseLinear's before Linear's."""

    caches = ("x", "z", "a", "x_k", "cols")


class NumpyEngine:
    """Training on the NumPy MLP itself: its forward and hand-written backward give the gradient.

    ``task`` names the output and loss: "ce" (softmax, integer labels), "bce"
    (sigmoid outputs, 0/1 columns), "mse" (identity, the lesson's ½ Σ_j over
    examples) or "poisson" (identity output read as log μ).
    """

    in_place = True                    # the update rules may change its arrays in place

    def __init__(self, model: MLP, task: str) -> None:
        self.model, self.task = model, task
        self.names = list(model.params)
        self.params = [model.params[k] for k in self.names]
        self._grads = [model.grads[k] for k in self.names]
        self.coefs = [i for i, k in enumerate(self.names) if _is_coef(k)]
        self._l2_buffers: dict[int, np.ndarray] = {}

    def loss_and_grad(self, X: Any, Y: np.ndarray, w: np.ndarray | None) -> float:
        """scikit-learn's data loss of the batch (no L2 term); fills the gradients."""
        model = self.model
        if self.task == "poisson":
            z = model._forward(X)                                  # (B, d) log μ
            loss, delta = poisson_loss_and_delta(z, Y, w)
            grad: Any = model.layers[-1].backward_delta(delta)     # (B, n_{L-1})
            for layer in reversed(model.layers[:-1]):
                grad = layer.backward(grad)                        # the hidden layers' chain rule
            return loss
        loss = model.loss_and_grad(X, Y, sample_weight=w)
        d = Y.shape[1] if self.task == "bce" else 1
        if d > 1:                  # handgrad's BCE averages over the d outputs; scikit-learn's sums
            for g in self._grads:
                g *= d
            loss *= d
        return loss

    def grads(self) -> list[Any]:
        return self._grads

    def add(self, updates: list[Any]) -> None:
        for p, u in zip(self.params, updates):
            p += u

    def sq_norm(self, i: int) -> float:
        p = self.params[i].ravel()
        return float(np.dot(p, p))

    def add_l2(self, c: float) -> None:
        """g ← g + c·W for every weight matrix (the gradient of c/2·‖W‖²)."""
        for i in self.coefs:
            g, W = self._grads[i], self.params[i]
            buf = self._l2_buffers.get(i)
            if buf is None or buf.shape != W.shape:
                buf = self._l2_buffers[i] = np.empty_like(W)
            np.multiply(W, c, out=buf)                        # c W
            g += buf

    def framework_step(self, opt: optim.Optimizer) -> None:
        opt.step(self.model)

    def state(self) -> dict[str, np.ndarray]:
        return self.model.state_dict()

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.model.load_state_dict(state)

    def sync(self) -> None:
        """The NumPy model is the one training: nothing to copy."""

    def finish(self, rule: Rule) -> None:
        drop_caches(self.model)


class TorchEngine(NumpyEngine):
    """Training on the PyTorch twin (``handgrad.twins``): autograd's gradient, scikit-learn's rules.

    The NumPy model keeps the weights between calls; each fit copies them to the
    twin (on ``device``, CUDA when available) and back at the end.
    """

    in_place = False

    def __init__(self, model, task, device=None):
        import torch

        from .twins.torch_mlp import Trainable
        self.torch = torch
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model, self.task = model, task
        self.twin = Trainable(model, device)
        named = dict(self.twin.net.named_parameters())
        self.names = list(model.params)
        self.params = [named[k].detach() for k in self.names]
        self.coefs = [i for i, k in enumerate(self.names) if _is_coef(k)]
        self.device, self.dtype = self.params[0].device, self.params[0].dtype
        self._framework_opt = None

    def loss_and_grad(self, X, Y, w):
        X = X.toarray() if sp.issparse(X) else X
        loss = self.twin.loss_and_grad(X, Y)
        d = Y.shape[1] if self.task == "bce" else 1
        if d > 1:
            for g in self.grads():
                g *= d
            loss *= d
        return loss

    def grads(self):
        named = dict(self.twin.net.named_parameters())
        return [named[k].grad for k in self.names]

    def sq_norm(self, i):
        return float((self.params[i] * self.params[i]).sum())

    def add_l2(self, c):
        grads = self.grads()
        for i in self.coefs:
            grads[i] += c * self.params[i]

    def to_backend(self, a):
        return self.torch.as_tensor(np.asarray(a), dtype=self.dtype, device=self.device)

    @staticmethod
    def to_numpy(t):
        return t.detach().cpu().numpy()

    def framework_step(self, opt):
        if self._framework_opt is None:
            from .twins.torch_mlp import TrainableOptimizer
            self._framework_opt = TrainableOptimizer(self.twin, opt)
            if opt.t:
                self._framework_opt.load_state_dict(opt.state_dict())
        self._framework_opt.lr = opt.lr
        self._framework_opt.step(self.twin)

    def state(self):
        return self.twin.state_dict()

    def load_state(self, state):
        self.twin.load_state_dict(state)

    def sync(self):
        self.model.load_state_dict(self.twin.state_dict())

    def start(self, rule):
        rule.map_state(self.to_backend)

    def finish(self, rule):
        self.sync()
        rule.map_state(self.to_numpy)
        if self._framework_opt is not None:
            rule.opt.load_state_dict(self._framework_opt.state_dict())
        drop_caches(self.model)


class MLXEngine(TorchEngine):
    """Training on the MLX twin: ``nn.value_and_grad``'s gradient, scikit-learn's rules.

    MLX arrays are immutable: updates build new parameters and hand them to the twin.
    """

    def __init__(self, model, task, device=None):
        import mlx.core as mx
        from mlx.utils import tree_flatten, tree_unflatten

        from .twins.mlx_mlp import DTYPES, Trainable
        self.mx, self.flatten, self.unflatten = mx, tree_flatten, tree_unflatten
        self.model, self.task = model, task
        self.twin = Trainable(model, device or "cpu")
        self.names = list(model.params)
        self.coefs = [i for i, k in enumerate(self.names) if _is_coef(k)]
        self.dtype = DTYPES[model.dtype.name]
        self._g = None
        self._framework_opt = None

    @property
    def params(self):
        flat = dict(self.flatten(self.twin.net.trainable_parameters()))
        return [flat[k] for k in self.names]

    def loss_and_grad(self, X, Y, w):
        X = X.toarray() if sp.issparse(X) else X
        loss = self.twin.loss_and_grad(X, Y)
        flat = dict(self.flatten(self.twin._grads))
        self._g = [flat[k] for k in self.names]
        d = Y.shape[1] if self.task == "bce" else 1
        if d > 1:
            self._set_grads([g * d for g in self._g])
            loss *= d
        return loss

    def _set_grads(self, grads):
        self._g = grads
        self.twin._grads = self.unflatten(list(zip(self.names, grads)))

    def grads(self):
        return self._g

    def sq_norm(self, i):
        p = self.params[i]
        return float((p * p).sum().item())

    def add_l2(self, c):
        params, grads = self.params, list(self._g)
        for i in self.coefs:
            grads[i] = grads[i] + c * params[i]
        self._set_grads(grads)

    def add(self, updates):
        new = [p + u for p, u in zip(self.params, updates)]
        self.mx.eval(new)
        self.twin.net.update(self.unflatten(list(zip(self.names, new))))

    def to_backend(self, a):
        return self.mx.array(np.asarray(a), dtype=self.dtype)

    @staticmethod
    def to_numpy(a):
        return np.array(a)

    def framework_step(self, opt):
        if self._framework_opt is None:
            from .twins.mlx_mlp import TrainableOptimizer
            self._framework_opt = TrainableOptimizer(self.twin, opt)
            if opt.t:
                self._framework_opt.load_state_dict(opt.state_dict())
        self._framework_opt.lr = opt.lr
        self._framework_opt.step(self.twin)


ENGINES = {"numpy": NumpyEngine, "torch": TorchEngine, "mlx": MLXEngine}


class _LayerArrays(list):
    """``coefs_`` or ``intercepts_``: views of the network's arrays; items set are written in."""

    def __init__(self, owner, kind):
        self._owner, self._kind = owner, kind
        super().__init__(owner._views(kind))

    def __setitem__(self, i, value):
        self._owner._write(self._kind, i, value)
        super().__setitem__(i, self._owner._views(self._kind)[i])


def _rows(X, idx):
    """Rows ``idx`` (an index array or a slice) of a dense or sparse matrix."""
    if isinstance(idx, slice) or sp.issparse(X):
        return X[idx]
    return X.take(idx, axis=0)                                # (B, d_in) copy, NumPy's fast path


# --- the estimators ------------------------------------------------------------------------------

class BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: parameters, the solvers, fitted attributes."""

    _parameter_constraints: ClassVar[dict] = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS))],
        "solver": [StrOptions({"lbfgs", "sgd", "adam", "adamw"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive", "cosine"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "norm": [StrOptions({"batch", "layer", "rms"}), None],
        "weight_decay": [Interval(Real, 0, None, closed="left"), None],
        "warmup_steps": [Interval(Integral, 0, None, closed="left")],
        "dtype": [StrOptions({"float32", "float64"}), Options(type, {np.float32, np.float64}),
                  None],
        "backend": [StrOptions({"numpy", "torch", "mlx"})],
        "device": [str, None],
    }

    def __init__(self, hidden_layer_sizes: int | Sequence[int] = (100,), activation: str = "relu",
                 *, solver: str = "adam", alpha: float = 0.0001, batch_size: int | str = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: int | np.random.RandomState | None = None, tol: float = 1e-4,
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

    # --- fitting ---------------------------------------------------------------------------

    def fit(self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> "BaseMLP":
        """Fit the network to X (n_samples, n_features), dense or sparse, and y.

        y: class labels (n_samples,) or a 0/1 indicator matrix (multilabel) for the
        classifier; values (n_samples,) or (n_samples, n_outputs) for the regressor.
        ``sample_weight`` (n_samples,) weights every example's loss. Returns self.
        """
        self._validate_params()
        return self._fit(X, y, sample_weight, incremental=False)

    def _check_solver(self):
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError("partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True

    def _hidden_sizes(self):
        hidden = self.hidden_layer_sizes
        hidden = list(hidden) if hasattr(hidden, "__iter__") else [hidden]
        if np.any(np.array(hidden) <= 0):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {hidden}.")
        return [int(h) for h in hidden]

    def _fit(self, X, y, sample_weight, incremental):
        hidden = self._hidden_sizes()
        self._check_options(sample_weight)
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype,
                                                 ensure_non_negative=True)
        units = [X.shape[1]] + hidden + [self._n_outputs(Y)]
        if first_pass:
            self._initialize(units, X.dtype)
        elif self.model_.layer_sizes != units:
            raise ValueError(f"the network has layer sizes {self.model_.layer_sizes}; these data "
                             f"and hidden_layer_sizes need {units}. Fit again without warm_start "
                             "to start a new network.")
        X = X.astype(self.model_.dtype, copy=False)
        if sp.issparse(X):
            X = X.tocsr()                                     # rows are cheap to take from CSR
            if self.backend == "numpy" and type(self.model_.layers[0]) is Layer:
                self.model_.layers[0].__class__ = SparseInputLayer
        Y = self._training_targets(Y)
        if self.solver in STOCHASTIC_SOLVERS:
            self._fit_stochastic(X, Y, sample_weight, incremental)
        else:
            self._fit_lbfgs(X, Y, sample_weight)
        return self

    def _check_options(self, sample_weight):
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

    def _dtype(self, X_dtype):
        return np.dtype(self.dtype) if self.dtype is not None else np.dtype(X_dtype)

    def _seed(self):
        rs = self.random_state
        if isinstance(rs, np.random.RandomState):
            return int(rs.randint(np.iinfo(np.int32).max))
        return rs

    def _initialize(self, units, X_dtype):
        """A new network with scikit-learn's initial weights, and the attributes of a first fit."""
        self._rng = np.random.default_rng(self._seed())
        hidden_act = HIDDEN_ACTIVATIONS[self.activation]
        out_act = {"softmax": "softmax", "logistic": "sigmoid"}.get(self._out_activation(),
                                                                     "identity")
        self.model_ = MLP(units, [hidden_act] * (len(units) - 2) + [out_act], "xavier_uniform",
                          dtype=self._dtype(X_dtype), norm=self.norm, dropout=self.dropout,
                          rng=self._rng)
        factor = 2.0 if self.activation == "logistic" else 6.0
        for layer in self.model_.layers:                      # scikit-learn's Glorot uniform,
            d_out, d_in = layer.W.shape                      # biases drawn the same way
            bound = math.sqrt(factor / (d_in + d_out))
            layer.W[...] = self._rng.uniform(-bound, bound, (d_out, d_in))   # (d_out, d_in)
            layer.b[...] = self._rng.uniform(-bound, bound, d_out)           # (d_out,)
        self.n_iter_, self.t_ = 0, 0
        self.n_outputs_ = units[-1]
        self.n_layers_ = len(units)
        self.out_activation_ = self._out_activation()
        self._optimizer = None
        self._best_state = self.model_.state_dict()
        self.loss_curve_ = []
        self._no_improvement_count = 0
        if self.solver in STOCHASTIC_SOLVERS and self.early_stopping:
            self.validation_scores_, self.best_validation_score_ = [], -np.inf
            self.best_loss_ = None
            self.validation_loss_curve_ = []
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = self.best_validation_score_ = None
            self.validation_loss_curve_ = None

    def _new_rule(self):
        if self.solver == "sgd":
            return SGDRule(self.learning_rate_init, self.learning_rate, self.momentum,
                           self.nesterovs_momentum, self.power_t)
        if self.solver == "adam":
            return AdamRule(self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon)
        return AdamWRule(self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon,
                         self.weight_decay)

    def _lr_factor(self, steps_per_epoch):
        """The warm-up and cosine factor as a function of the step count, or None."""
        factor = None
        if self.learning_rate == "cosine":                    # to 0 at the end, after any warm-up
            total = max(self.max_iter * steps_per_epoch - self.warmup_steps, 1)
            factor = optim.Cosine(1.0, total_steps=total)
        if self.warmup_steps:
            factor = optim.Warmup(factor if factor is not None else 1.0, self.warmup_steps)
        return factor

    def _engine(self):
        task = self._task()
        if self.backend == "numpy":
            return NumpyEngine(self.model_, task)
        return ENGINES[self.backend](self.model_, task, self.device)

    def _penalty(self, engine, sw_sum):
        """scikit-learn's L2 term, α/2·Σ‖W‖²/Σw (the weights only, not the biases)."""
        if not self.alpha:
            return 0.0
        return 0.5 * self.alpha * sum(engine.sq_norm(i) for i in engine.coefs) / sw_sum

    def _batch_loss_and_grad(self, engine, X, Y, w):
        """(data loss, L2 term) of a batch; the engine holds the gradient of their sum.

        The data loss is the one whose gradient is taken: for several regression
        outputs, the sum over the outputs (``_reported`` turns it into scikit-learn's mean).
        """
        sw_sum = len(Y) if w is None else float(w.sum())
        loss = engine.loss_and_grad(X, Y, w)
        penalty = self._penalty(engine, sw_sum)
        if self.alpha:
            engine.add_l2(self.alpha / sw_sum)                # the gradient of the L2 term
        return loss, penalty

    def _reported(self, data_loss, penalty):
        """The loss as scikit-learn reports it: for regression, the mean over the outputs."""
        d = self.n_outputs_ if self._task() == "mse" else 1
        return data_loss / d + penalty

    def _fit_stochastic(self, X, Y, sample_weight, incremental):
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        if not incremental or self._optimizer is None:
            self._optimizer = self._new_rule()
        if self.early_stopping and self.validation_scores_ is None:   # switched on for a warm start
            self.validation_scores_, self.validation_loss_curve_ = [], []
            self.best_validation_score_, self.best_loss_ = -np.inf, None
        elif not self.early_stopping and self.best_loss_ is None:
            self.best_loss_ = np.inf
        X_val = Y_val = sw_val = None
        if self.early_stopping:
            stratify = self._stratify(Y)
            parts = train_test_split(X, Y, *([] if sample_weight is None else [sample_weight]),
                                     random_state=int(self._rng.integers(np.iinfo(np.int32).max)),
                                     test_size=self.validation_fraction, stratify=stratify)
            X, X_val, Y, Y_val = parts[:4]
            if sample_weight is not None:
                sample_weight, sw_val = parts[4:]
            if X_val.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                                 "or the size of your dataset.")
        n = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. "
                              "It is going to be clipped", stacklevel=4)
            batch_size = int(np.clip(self.batch_size, 1, n))
        factor = self._lr_factor(math.ceil(n / batch_size))
        rule, engine = self._optimizer, self._engine()
        if hasattr(engine, "start"):
            engine.start(rule)
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                start_of_epoch = engine.state()
                order = self._rng.permutation(n) if self.shuffle else None
                accumulated = 0.0
                for s in range(0, n, batch_size):
                    idx = order[s:s + batch_size] if self.shuffle else slice(s, s + batch_size)
                    wb = None if sample_weight is None else sample_weight[idx]
                    if wb is not None and not wb.sum() > 0:
                        continue                              # all weights zero: no gradient
                    Yb = Y[idx]
                    with np.errstate(over="ignore", invalid="ignore"):
                        data, penalty = self._batch_loss_and_grad(engine, _rows(X, idx), Yb, wb)
                    loss = self._reported(data, penalty)
                    if not math.isfinite(loss):
                        self._diverged(engine, rule, start_of_epoch, loss)
                    rule.step(engine, factor(rule.t) if factor is not None else 1.0)
                    accumulated += loss * len(Yb)
                self.n_iter_ += 1
                self.loss_ = np.float64(accumulated / n)
                self.t_ += n
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
                self._update_no_improvement_count(engine, X_val, Y_val, sw_val)
                rule.iteration_ends(self.t_)
                if self._no_improvement_count > self.n_iter_no_change:
                    what = "Validation score" if self.early_stopping else "Training loss"
                    msg = (f"{what} did not improve more than tol={self.tol:f} for "
                           f"{self.n_iter_no_change} consecutive epochs.")
                    if rule.trigger_stopping(msg, self.verbose):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                                  "reached and the optimization hasn't converged yet.",
                                  ConvergenceWarning, stacklevel=4)
            if not all(np.isfinite(p).all() for p in engine.state().values()):
                self._diverged(engine, rule, start_of_epoch, float("nan"))
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=4)
        finally:
            if self._optimizer is not None:
                engine.finish(rule)
        if self.early_stopping:
            self.model_.load_state_dict(self._best_state)     # the best validation score's weights

    def _diverged(self, engine, rule, state, loss):
        """Put back the weights of the start of the epoch and raise scikit-learn's ValueError."""
        engine.load_state(state)
        engine.finish(rule)
        self._optimizer = None                                # its moments may hold inf: start anew
        raise ValueError(
            "Solver produced non-finite parameter weights. The input data may contain large "
            f"values and need to be preprocessed. (The loss became {loss} in epoch "
            f"{self.n_iter_ + 1}; the weights of the start of that epoch are back in place. "
            "Try a smaller learning_rate_init, or standardize the inputs.)")

    def _update_no_improvement_count(self, engine, X_val, Y_val, sw_val):
        if self.early_stopping:
            engine.sync()
            out = self._forward_fast(X_val)
            score = self._score_output(out, Y_val, sw_val)
            self.validation_scores_.append(score)
            self.validation_loss_curve_.append(EVAL_LOSSES[self._task()](Y_val, out, sw_val))
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

    def _fit_lbfgs(self, X, Y, sample_weight):
        """SciPy's L-BFGS-B over the packed parameter vector, with handgrad's gradient.

        f(θ) is the loss with the L2 term over the whole training set, and ∇f is
        what ``MLP.backward`` leaves in ``model.grads`` (plus αW/Σw), packed in the
        same order: every weight, bias and norm parameter of ``model_.params``.
        """
        engine = NumpyEngine(self.model_, self._task())
        ends = np.cumsum([p.size for p in engine.params])
        chunks = list(zip(ends - [p.size for p in engine.params], ends))
        grad = np.empty(ends[-1])                             # (n_params,) float64, reused
        sw_sum = len(Y) if sample_weight is None else float(sample_weight.sum())

        def unpack(theta):
            for p, (a, b) in zip(engine.params, chunks):
                np.copyto(p, theta[a:b].reshape(p.shape), casting="unsafe")

        def loss_and_grad(theta):
            unpack(theta)
            data, penalty = self._batch_loss_and_grad(engine, X, Y, sample_weight)
            for g, (a, b) in zip(engine.grads(), chunks):
                grad[a:b] = g.ravel()                         # pack, in the params' order
            return data + penalty, grad.copy()

        def reported(theta, f):
            if self._task() != "mse" or self.n_outputs_ == 1:
                return f                                      # the loss minimized is reported
            unpack(theta)
            penalty = self._penalty(engine, sw_sum)
            return self._reported(f - penalty, penalty)

        def record(intermediate_result):
            loss = reported(intermediate_result.x, intermediate_result.fun)
            self.loss_curve_.append(np.float64(loss))
            if self.verbose:
                print(f"Iteration {len(self.loss_curve_)}, loss = {loss:.8f}")

        theta0 = np.concatenate([p.ravel() for p in engine.params]).astype(np.float64)
        start = self.model_.state_dict()
        self.loss_curve_ = []
        with np.errstate(over="ignore", invalid="ignore"):
            result = scipy.optimize.minimize(
                loss_and_grad, theta0, method="L-BFGS-B", jac=True, callback=record,
                options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol})
        self.n_iter_ = min(result.nit, self.max_iter)
        if result.status != 0:
            msg = (f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                   f"(status={result.status}):\n{result.message}\n")
            if self.n_iter_ == self.max_iter:
                msg += ("\nIncrease the number of iterations to improve the convergence "
                        f"(max_iter={self.max_iter}).")
            warnings.warn(msg, ConvergenceWarning, stacklevel=4)
        self.loss_ = np.float64(reported(result.x, float(result.fun)))
        drop_caches(self.model_)
        if not (np.isfinite(result.x).all() and math.isfinite(self.loss_)):
            self.model_.load_state_dict(start)
            raise ValueError("Solver produced non-finite parameter weights. The input data may "
                             "contain large values and need to be preprocessed. (The starting "
                             "weights are back in place.)")

    # --- predicting -------------------------------------------------------------------------

    def _forward_fast(self, X):
        """The output layer's activations (n, n_outputs) in evaluation mode, in large batches."""
        out = []
        for s in range(0, X.shape[0], PREDICT_BATCH):
            a = X[s:s + PREDICT_BATCH]                        # (b, n_features), dense or sparse
            for layer in self.model_.layers:
                a = layer.infer(a)                            # (b, n_l); nothing cached
            out.append(a)
        out = np.concatenate(out) if out else np.empty((0, self.n_outputs_), self.model_.dtype)
        return np.exp(out) if self.out_activation_ == "exp" else out

    def _validated_output(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        X = X.tocsr() if sp.issparse(X) else X
        return self._forward_fast(X.astype(self.model_.dtype, copy=False))

    # --- coefs_ and intercepts_: scikit-learn's layout over handgrad's weights ------------------

    def _views(self, kind):
        if kind == "coefs":
            return [layer.W.T for layer in self.model_.layers]   # (n_in, n_out) views
        return [layer.b for layer in self.model_.layers]         # (n_out,)

    def _write(self, kind, i, value):
        check_is_fitted(self)
        target = self._views(kind)[i]
        value = np.asarray(value)
        if value.shape != target.shape:
            raise ValueError(f"{kind}_[{i}] must have shape {target.shape} (scikit-learn's layout"
                             f"{', (n_in, n_out)' if kind == 'coefs' else ''}); got {value.shape}")
        np.copyto(target, value, casting="unsafe")

    def _write_all(self, kind, values):
        check_is_fitted(self)
        values = list(values)
        if len(values) != len(self.model_.layers):
            raise ValueError(f"{kind}_ needs {len(self.model_.layers)} arrays, one per layer; "
                             f"got {len(values)}")
        for i, v in enumerate(values):
            self._write(kind, i, v)

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices, (n_in, n_out) each: transposed views of handgrad's (n_out, n_in)."""
        check_is_fitted(self)
        return _LayerArrays(self, "coefs")

    @coefs_.setter
    def coefs_(self, values: list[np.ndarray]) -> None:
        self._write_all("coefs", values)

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors, (n_out,) each: the network's own arrays."""
        check_is_fitted(self)
        return _LayerArrays(self, "intercepts")

    @intercepts_.setter
    def intercepts_(self, values: list[np.ndarray]) -> None:
        self._write_all("intercepts", values)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    def __setstate__(self, state):
        super().__setstate__(state)
        if "model_" in state:
            relink(self.model_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class MLPClassifier(ClassifierMixin, BaseMLP):
    """A multi-layer perceptron classifier, scikit-learn's ``MLPClassifier`` on handgrad.

    The output is a softmax over the classes (multiclass), one sigmoid unit (two
    classes) or one sigmoid per label (a 0/1 indicator ``y``: multilabel), with
    the log-loss. Parameters and fitted attributes are scikit-learn's (see its
    documentation); the module docstring lists the extra, opt-in ones and every
    difference.
    """

    loss = "log_loss"

    def _task(self):
        return "ce" if self.out_activation_ == "softmax" else "bce"

    def _out_activation(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _n_outputs(self, Y):
        return Y.shape[1]

    def _stratify(self, Y):
        """The labels to stratify the validation split on; None for multilabel, or when a
        class has a single example (scikit-learn 1.9 stratifies two-class problems only)."""
        if Y.ndim == 2 and Y.shape[1] > 1:
            return None
        labels = Y.ravel()
        return labels if np.unique(labels, return_counts=True)[1].min() >= 2 else None

    def _validate_input(self, X, y, incremental, reset):
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

    def _training_targets(self, Y):
        """Integer labels for a softmax (the fused cross-entropy), else 0/1 columns."""
        if self.out_activation_ == "softmax":
            return Y.argmax(axis=1).astype(np.intp)          # (n,)
        return Y.astype(self.model_.dtype)                   # (n, d)

    def _labels(self, out):
        return self._label_binarizer.inverse_transform(out.ravel() if self.n_outputs_ == 1 else out)

    def _score_output(self, out, Y, w):
        """Accuracy of the network's output against training-form targets (early stopping)."""
        truth = (self.classes_[Y] if Y.ndim == 1 else
                 self._label_binarizer.inverse_transform(Y.ravel() if Y.shape[1] == 1 else Y))
        return accuracy_score(truth, self._labels(out), sample_weight=w)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None,
                    classes: ArrayLike | None = None) -> "MLPClassifier":
        """One epoch over (X, y); the first call needs ``classes``: every label there will be."""
        self._validate_params()
        if self._first_partial_fit_call(classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight, incremental=True)

    def _first_partial_fit_call(self, classes):
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
            return np.vstack([1 - out, out]).T
        return out

    def predict_log_proba(self, X: MatrixLike) -> np.ndarray:
        """log(predict_proba(X))."""
        proba = self.predict_proba(X)
        return np.log(proba, out=proba)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMLP):
    """A multi-layer perceptron regressor, scikit-learn's ``MLPRegressor`` on handgrad.

    ``loss="squared_error"``: an identity output and half the squared error;
    ``loss="poisson"``: an exponential output (μ = e^z) and half the Poisson
    deviance, for counts (y ≥ 0). One output per column of y. Parameters and
    fitted attributes are scikit-learn's; the module docstring lists the extra,
    opt-in ones and every difference.
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(self, loss: str = "squared_error",
                 hidden_layer_sizes: int | Sequence[int] = (100,), activation: str = "relu",
                 *, solver: str = "adam", alpha: float = 0.0001, batch_size: int | str = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: int | np.random.RandomState | None = None, tol: float = 1e-4,
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

    def _task(self):
        return "poisson" if self.loss == "poisson" else "mse"

    def _out_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _n_outputs(self, Y):
        return Y.shape[1]

    def _stratify(self, Y):
        return None

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and (y < 0).any():
            raise ValueError("Some value(s) of y are negative which is not allowed for "
                             "Poisson regression.")
        return X, y.reshape(len(y), -1)

    def _training_targets(self, Y):
        return Y.astype(self.model_.dtype)                   # (n, d)

    def _score_output(self, out, Y, w):
        if np.issubdtype(out.dtype, np.floating) and not np.isfinite(out).all():
            return np.nan
        return r2_score(Y.ravel() if Y.shape[1] == 1 else Y,
                        out.ravel() if out.shape[1] == 1 else out, sample_weight=w)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X: MatrixLike, y: ArrayLike,
                    sample_weight: ArrayLike | None = None) -> "MLPRegressor":
        """One epoch over (X, y), continuing from the current weights."""
        self._validate_params()
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X: MatrixLike) -> np.ndarray:
        """Predicted values (n,) for one output, else (n, n_outputs)."""
        out = self._validated_output(X)
        return out.ravel() if out.shape[1] == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
