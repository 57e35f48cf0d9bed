"""The seed API: ``Layer`` and ``MLP``, built from the primitives in ``handgrad.nn``.

A layer l maps the previous activation a(l-1) to its own:

    z(l) = a(l-1) W(l)ᵀ + b(l)        (B, n_{l-1}) @ (n_{l-1}, n_l) -> (B, n_l)
    a(l) = f(z(l))                    (B, n_l)

and the backward pass runs the chain rule from the loss back to the input:

    δ(L) = dL/dz(L)                   from the loss, fused: (p - y)/B, (σ(z) - y)/B
    δ(l) = (δ(l+1) W(l+1)) ⊙ f'(z(l)) the recurrence for every hidden layer
    dW(l) = δ(l)ᵀ a(l-1)              (n_l, B) @ (B, n_{l-1}) -> (n_l, n_{l-1})
    db(l) = Σ_batch δ(l)              (n_l,)

Linear.backward computes δ(l+1) W(l+1); each activation's own backward
multiplies by f'(z(l)) from what it cached in the forward pass. (For a softmax
output with integer labels, the backward pass writes δ(L) into the output
layer's z buffer, which nothing needs any more.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .io import load_checkpoint, register_model
from .nn.activations import Activation, ActivationSpec, Softmax, get_activation
from .nn.dropout import Dropout
from .nn.init import InitMethod, as_generator
from .nn.linear import Linear
from .nn.losses import (
    LOSSES,
    check_labels,
    example_weights,
    get_loss_name,
    is_label_vector,
    reweight,
)
from .nn.module import Module
from .nn.norms import Norm, get_norm
from .optim import Optimizer
from .train import train


class Layer(Linear):
    """One layer: a = f(a_prev @ W.T + b), W (n_out, n_in) as in torch.nn.Linear.

    A hidden layer may add a norm between the linear map and the activation
    and dropout after it:  z = a_prev Wᵀ + b -> h = norm(z) -> a = dropout(f(h)).
    Caches ``a_prev``, ``z`` and ``a``; holds ``W``, ``b``, ``dW``, ``db``.
    ``activation`` is an Activation, a name ("relu", "softmax", …) or None
    (a linear output).
    """

    caches: tuple[str, ...] = ("x", "z", "a")
    norm: Norm | None
    dropout: Dropout | None

    def __init__(self, n_in: int, n_out: int, activation: ActivationSpec = None, *,
                 bias: bool = True, norm: str | Norm | None = None,
                 dropout: float | Dropout | None = 0.0, init: InitMethod = "he",
                 rng: np.random.Generator | None = None, dtype: DTypeLike = np.float32) -> None:
        rng = as_generator(rng)
        super().__init__(n_in, n_out, bias=bias, init=init, rng=rng, dtype=dtype)
        self.activation = get_activation(activation)
        self.norm = get_norm(norm, n_out, dtype) if norm is None or isinstance(norm, str) else norm
        if isinstance(dropout, Dropout):
            self.dropout = dropout
        else:
            self.dropout = Dropout(dropout, rng=rng) if dropout else None
        if self.norm is not None:
            self.add_child("norm", self.norm)

    @property
    def a_prev(self) -> np.ndarray:
        return self.x

    def forward(self, a_prev: np.ndarray, training: bool = True) -> np.ndarray:
        self.z = super().forward(a_prev)                                 # (B, n_out)
        h = self.norm.forward(self.z, training) if self.norm else self.z  # (B, n_out)
        a = self.activation.forward(h)                                   # (B, n_out)
        if self.dropout is not None:
            a = self.dropout.forward(a, training)                        # (B, n_out)
        self.a = a
        return a

    def backward(self, grad_a: np.ndarray) -> np.ndarray | None:
        """Given dL/da (B, n_out): δ = dL/da ⊙ f'(z) through each part, then the linear backward."""
        if self.dropout is not None:
            grad_a = self.dropout.backward(grad_a)                       # (B, n_out)
        delta = self.activation.backward(grad_a)                         # (B, n_out) ⊙ f'
        if self.norm is not None:
            delta = self.norm.backward(delta)                            # (B, n_out)
        return self.backward_delta(delta)                                # (B, n_in) or None

    def __repr__(self) -> str:
        n_out, n_in = self.W.shape
        extras = "".join([f", norm={type(self.norm).__name__}" if self.norm else "",
                          f", dropout={self.dropout.p}" if self.dropout else "",
                          "" if self.b is not None else ", bias=False"])
        return f"Layer({n_in}, {n_out}, {self.activation!r}{extras})"


# builders of a hidden layer's parts: (norm name or None, width, dtype) -> the norm (or None);
# (probability, layer index, the model's generator) -> the dropout (or None)
MakeNorm = Callable[[Any, int, np.dtype], "Norm | None"]
MakeDropout = Callable[[float, int, np.random.Generator], "Dropout | None"]


def _per_layer(value: Any, n: int, what: str) -> list[Any]:
    """``value`` repeated n times, or checked to be a list of n."""
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{what} needs {n} entries (one per layer); got {len(value)}")
        return list(value)
    return [value] * n


def _rate(lr: float | None, learning_rate: float | None) -> float | None:
    """The learning rate given as ``lr`` or as the seed API's ``learning_rate`` (not both)."""
    if lr is not None and learning_rate is not None:
        raise ValueError("give the learning rate once: lr or learning_rate (the same thing)")
    return learning_rate if lr is None else lr


FUSED = [name for name, entry in LOSSES.items() if entry.fused]   # computed from the logits


def _output_loss(activation: Activation, loss: str | None = None) -> str:
    """The loss for an output activation: softmax → CE, sigmoid → BCE, else MSE, unless
    ``loss`` names another. CE needs a softmax output and BCE a sigmoid output (they are
    fused with them); MSE may follow any output."""
    fused = {name: LOSSES[name].output for name in FUSED}      # loss -> its output activation
    if loss is None:
        return next((name for name, out in fused.items() if out == activation.name), "mse")
    loss = get_loss_name(loss)
    if loss in fused and activation.name != fused[loss]:
        raise ValueError(f"loss {loss!r} is fused with a {fused[loss]} output; the output "
                         f"activation is {activation.name!r}")
    return loss


def layer_plan(spec: dict[str, Any]
               ) -> tuple[str, list[tuple[int, int, ActivationSpec, str | None, float, bool]]]:
    """(loss, [(n_in, n_out, activation, norm, dropout, bias) per layer]) from a spec.

    The twins build themselves from this. A softmax or sigmoid output is listed
    as "identity": twins return logits and let the loss apply it, as handgrad
    fuses them.
    """
    sizes, acts = spec["layer_sizes"], list(spec["activations"])
    n = len(sizes) - 1
    norms = list(spec.get("norm") or [None] * (n - 1)) + [None]
    drops = list(spec.get("dropout") or [0.0] * (n - 1)) + [0.0]
    bias = spec.get("bias", True)
    bias = bias if isinstance(bias, list) else [bias] * n
    loss = _output_loss(get_activation(acts[-1]), spec.get("loss"))
    if loss in FUSED:
        acts[-1] = "identity"
    return loss, [(sizes[i], sizes[i + 1], acts[i], norms[i], drops[i], bias[i]) for i in range(n)]


class MLP(Module):
    """A multi-layer perceptron with a hand-written backward pass.

    MLP([784, 256, 10], ["relu", "softmax"]) is the lesson's network. One
    activation per weight layer, by name or instance (default: ReLU hidden
    layers, softmax output). The output activation picks the loss:
    softmax → cross-entropy, sigmoid → binary cross-entropy, anything else →
    MSE, the lesson's 1/(2n) Σ_i Σ_j (a_ij − y_ij)² over n examples. ``loss``
    names another: "mse" after a softmax or sigmoid output (the lessons show
    why it trains more slowly), or "mse_mean", the mean over every entry
    (scikit-learn's squared loss). ``norm`` ("batch", "layer", "rms"),
    ``dropout`` (a probability) and ``bias`` apply to every hidden layer or
    take one entry per layer (bias: one per weight layer). Randomness — init,
    shuffling, dropout masks — all comes from ``self.rng``, built from
    ``seed`` (or pass ``rng``).

    ``make_norm(name, d, dtype)`` and ``make_dropout(p, layer, rng)`` build a
    hidden layer's norm and dropout in place of the plain ones (data-parallel
    training passes layers that share their batch with other processes; see
    ``handgrad.distributed``); the spec is the same.

    Every weight is drawn by ``init``; the output layer's is then
    multiplied by ``output_scale`` (default 1: the plain init). A small scale
    such as 0.01 makes the untrained network undecided — logits near 0,
    uniform probabilities, a first loss of log K — but it also starves the
    hidden layers of gradient (δ W_out is tiny) for the first few hundred
    steps: on MNIST, 784-256-10 with SGD for 5 epochs, it costs 0.6 points
    (95.4 % against 96.0 %, 3 seeds), so it is not the default.

    Words: the lesson's seed API names the sizes ``layer_sizes`` (``layers`` is the list of
    ``Layer`` objects here) and the initializer ``init_method``, which is accepted as a
    keyword beside handgrad's ``init``; ``fit`` and ``update`` take the rate as ``lr`` and,
    as the seed API spells it, ``learning_rate``. The scalar and Tensor engines' MLPs
    (``handgrad.engine``, ``handgrad.autograd``) share the sizes, ``activations``, ``init``,
    ``fit``'s defaults and the word ``lr``, but differ in two things on purpose: their
    output is linear by default (the loss reads logits, as PyTorch's does), and their plain
    SGD step is ``step(lr)``, PyTorch's word, where this one keeps the seed's ``update``.
    """

    caches: tuple[str, ...] = ("delta_out",)   # the output δ buffer of the fused cross-entropy
    delta_out: np.ndarray | None
    input_layer: type[Layer] = Layer           # the first layer's class (a subclass may take
                                               # other input there: the estimators' takes sparse)

    def __init__(self, layer_sizes: Sequence[int],
                 activations: ActivationSpec | Sequence[ActivationSpec] = None,
                 init: InitMethod = "he", seed: int | None = None,
                 dtype: DTypeLike = np.float32, *,
                 norm: str | Sequence[str | None] | None = None,
                 dropout: float | Sequence[float] = 0.0, bias: bool | Sequence[bool] = True,
                 output_scale: float = 1.0, rng: np.random.Generator | None = None,
                 loss: str | None = None, make_norm: MakeNorm | None = None,
                 make_dropout: MakeDropout | None = None,
                 init_method: InitMethod | None = None) -> None:
        super().__init__()
        if init_method is not None:           # the seed API's word for init
            init = init_method
        sizes = [int(n) for n in layer_sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError("layer_sizes needs at least 2 positive sizes; "
                             f"got {list(layer_sizes)}")
        n_weights = len(sizes) - 1
        if activations is None:
            activations = ["relu"] * (n_weights - 1) + ["softmax"]
        activations = _per_layer(activations, n_weights, "activations")
        norms = _per_layer(norm, n_weights - 1, "norm") + [None]
        dropouts = _per_layer(dropout, n_weights - 1, "dropout") + [0.0]
        biases = _per_layer(bias, n_weights, "bias")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64; got {self.dtype}")
        self.init, self.output_scale = init, output_scale
        self.rng = as_generator(rng, seed)
        self.layers: list[Layer] = []
        for i in range(n_weights):
            act = activations[i]
            if isinstance(act, Activation) and any(act is l.activation for l in self.layers):
                raise ValueError("each layer needs its own activation instance (they cache)")
            norm_i = make_norm(norms[i], sizes[i + 1], self.dtype) if make_norm else norms[i]
            drop_i = make_dropout(dropouts[i], i, self.rng) if make_dropout else dropouts[i]
            kind = self.input_layer if i == 0 else Layer
            layer = kind(sizes[i], sizes[i + 1], act, bias=biases[i], norm=norm_i,
                         dropout=drop_i, init=init, rng=self.rng, dtype=self.dtype)
            self.layers.append(layer)
            self.add_child(f"layers.{i}", layer)
        if output_scale != 1:
            self.layers[-1].params["weight"] *= output_scale   # small: start undecided, logits ≈ 0
        self.layers[0].needs_input_grad = False     # nobody needs dL/dX: skip that matmul
        self.layer_sizes = sizes
        self.loss_name = _output_loss(self.layers[-1].activation, loss)

    # --- description -------------------------------------------------------------------

    @property
    def spec(self) -> dict[str, Any]:
        """Everything needed to build this architecture again (here or in a twin)."""
        return {
            "layer_sizes": list(self.layer_sizes),
            "activations": [l.activation.spec for l in self.layers],
            "norm": [l.norm.name if l.norm else None for l in self.layers[:-1]],
            "dropout": [l.dropout.p if l.dropout else 0.0 for l in self.layers[:-1]],
            "bias": [l.b is not None for l in self.layers],
            "init": self.init if isinstance(self.init, str) else "custom",
            "output_scale": self.output_scale,
            "dtype": self.dtype.name,
            "loss": self.loss_name,
        }

    @classmethod
    def from_spec(cls, spec: dict[str, Any], seed: int | None = None,
                  rng: np.random.Generator | None = None, dtype: DTypeLike | None = None,
                  make_norm: MakeNorm | None = None, make_dropout: MakeDropout | None = None
                  ) -> MLP:
        norms = spec.get("norm") or None
        return cls(spec["layer_sizes"], spec["activations"], spec.get("init", "he"), seed,
                   dtype or spec.get("dtype", "float32"), norm=norms,
                   dropout=spec.get("dropout") or 0.0, bias=spec.get("bias", True),
                   output_scale=spec.get("output_scale", 1.0), rng=rng, loss=spec.get("loss"),
                   make_norm=make_norm, make_dropout=make_dropout)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickling (joblib stores every array on its own): share the layers' arrays again."""
        self.__dict__.update(state)
        self.params, self.grads, self.buffers = {}, {}, {}
        for i, layer in enumerate(self.layers):
            if layer.norm is not None:
                layer.add_child("norm", layer.norm)
            self.add_child(f"layers.{i}", layer)

    @classmethod
    def from_checkpoint(cls, path: str | Path, dtype: DTypeLike | None = None) -> MLP:
        """The MLP saved at ``path`` (a .safetensors checkpoint from any backend)."""
        return cast(MLP, load_checkpoint(path).model(dtype=dtype))

    @property
    def task(self) -> str:
        """classification (softmax output), binary (sigmoid output) or regression."""
        return {"softmax": "classification", "sigmoid": "binary"}.get(
            self.layers[-1].activation.name, "regression")

    @property
    def n_classes(self) -> int | None:
        return {"classification": self.layer_sizes[-1], "binary": 2}.get(self.task)

    def __repr__(self) -> str:
        body = "".join(f"\n  ({i}): {l!r}" for i, l in enumerate(self.layers))
        return f"MLP({body}\n)  # {self.loss_name}, {self.dtype.name}"

    # --- checks on what comes in --------------------------------------------------------

    def check_X(self, X: ArrayLike) -> np.ndarray:
        """X as a 2-D array of this model's dtype, or a ValueError saying what is wrong."""
        X = np.asarray(X)
        if X.ndim == 1 and self.layer_sizes[0] > 1:
            raise ValueError(f"X must be 2-D (n_samples, {self.layer_sizes[0]}); "
                             f"got shape {X.shape}")
        X = X.reshape(len(X), -1) if X.ndim != 2 else X
        if X.shape[0] == 0:
            raise ValueError("X has 0 samples; need at least 1")
        if X.shape[1] != self.layer_sizes[0]:
            raise ValueError(f"X has {X.shape[1]} features, but this model expects "
                             f"{self.layer_sizes[0]} (layer_sizes[0])")
        if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
            raise ValueError(f"X must hold real numbers; got dtype {X.dtype}")
        X = X.astype(self.dtype, copy=False)
        # A finite sum proves every entry finite (one fast pass, no boolean copy of X);
        # only when the sum is not finite (a NaN, an Inf, or an overflow) look entry by entry.
        if not (np.isfinite(X.sum()) or np.isfinite(X).all()):
            r, c = np.argwhere(~np.isfinite(X))[0]
            raise ValueError(f"X contains NaN or Inf (first at row {r}, column {c}); "
                             "clean or impute the data first")
        return X

    def check_y(self, y: ArrayLike, n: int | None = None) -> np.ndarray:
        """Targets in the form the loss takes: int labels, one-hot rows or regression values."""
        y = np.asarray(y)
        if n is not None and len(y) != n:
            raise ValueError(f"X has {n} samples but y has {len(y)}")
        K = self.layer_sizes[-1]
        if self.task == "classification":
            if y.ndim == 2:
                if y.shape[1] != K:
                    raise ValueError(f"one-hot targets need {K} columns; got {y.shape[1]}")
                return y.astype(self.dtype, copy=False)
            if y.ndim != 1:
                raise ValueError(f"labels must be (n,) integers or (n, {K}) one-hot; "
                                 f"got shape {y.shape}")
            if not np.issubdtype(y.dtype, np.integer):
                if not np.all(np.mod(y, 1) == 0):
                    raise ValueError("classification labels must be integers; got "
                                     f"{y[np.mod(y, 1) != 0][0]!r} "
                                     "(use a linear output for regression)")
                y = y.astype(np.int64)
            check_labels(y, K)
            return y.astype(np.intp, copy=False)
        y = y.astype(self.dtype, copy=False)
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        if y.shape[1] != K:
            raise ValueError(f"targets need {K} columns to match the output; got {y.shape[1]}")
        if not np.isfinite(y).all():
            raise ValueError("y contains NaN or Inf")
        if self.task == "binary" and not np.isin(y, (0, 1)).all():
            raise ValueError("binary cross-entropy targets must be 0 or 1")
        return y

    # --- the lesson: forward, backward, update ------------------------------------------

    def forward(self, X: ArrayLike, training: bool = True) -> np.ndarray:
        """a(L) for a batch X (B, n_0); every layer caches what its backward needs."""
        return self._forward(self.check_X(X), training)

    def _forward(self, X: np.ndarray, training: bool = True) -> np.ndarray:
        a = X                                          # (B, n_0)
        for layer in self.layers:
            a = layer.forward(a, training)             # (B, n_{l-1}) -> (B, n_l)
        return a                                       # (B, n_L)

    def backward(  # type: ignore[override]  # the model's backward starts from the targets
            self, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Loss of the last forward pass against ``y``; fills every dW, db.

        The output layer's δ comes from the fused loss (cross-entropy: (p - y)/B
        with p the softmax; binary cross-entropy: (σ(z) - y)/B; MSE: (a - y)/n
        times f'). Every hidden layer then follows δ(l) = (δ(l+1) W(l+1)) ⊙ f'(z(l)).
        ``y``: integer labels or one-hot rows for a softmax output.
        ``sample_weight`` (B,) makes every mean over examples a weighted mean.
        """
        if getattr(self.layers[-1], "z", None) is None:
            raise RuntimeError("backward needs the caches of a forward pass: call "
                               "forward(X) (training mode) first")
        out = self.layers[-1]
        grad: np.ndarray | None                        # None once layers[0] is done: no dL/dX
        loss, grad = self._output_loss(y, sample_weight)
        if self.loss_name in FUSED:
            grad = out.backward_delta(grad)            # δ(L) = dL/dz, fused with the loss
        else:
            grad = out.backward(grad)                  # dL/da ⊙ f'(z), through the activation
        for layer in reversed(self.layers[:-1]):
            assert grad is not None                    # only layers[0] skips dL/dx, and it is last
            grad = layer.backward(grad)                # (B, n_l) -> (B, n_{l-1})
        return loss

    def _output_loss(self, y: ArrayLike,
                     sample_weight: ArrayLike | None = None) -> tuple[float, np.ndarray]:
        """(loss, grad) for the last forward: grad = dL/dz for CE and BCE, dL/da for MSE."""
        out = self.layers[-1]
        if self.loss_name == "cross_entropy" and is_label_vector(y):
            return self._fused_cross_entropy(y, sample_weight)
        if self.loss_name == "binary_cross_entropy":
            return LOSSES[self.loss_name].fn(out.z, y, sample_weight)  # (B, 1): (σ(z) - y) / B
        if self.loss_name == "cross_entropy":
            return LOSSES[self.loss_name].fn(out.z, y, sample_weight)  # (B, K): (p - Y) / B, one-hot
        if is_label_vector(y):                          # MSE after a softmax: one-hot rows
            y = np.eye(out.a.shape[1], dtype=out.a.dtype)[np.asarray(y)]   # (B, K)
        return LOSSES[self.loss_name].fn(out.a, y, sample_weight)      # (B, d): (a - y) / n

    def _fused_cross_entropy(self, y: ArrayLike,
                             sample_weight: ArrayLike | None = None) -> tuple[float, np.ndarray]:
        """Cross-entropy from what the softmax kept: loss = mean(lse - z_y), δ = (p - Y)/B.

        Uses the forward pass's p and log Σ e^z instead of a second softmax, and
        writes δ into a buffer ``delta_out`` made once and reused while the batch
        shape stays: no new (B, K) arrays and no one-hot matrix.
        """
        out = self.layers[-1]
        softmax = cast(Softmax, out.activation)                   # the output, fused with the loss
        z, p, lse = out.z, softmax.a, softmax.lse                 # (B, K), (B, K), (B, 1)
        y = np.asarray(y)                                         # (B,) labels
        B, K = z.shape
        check_labels(y, K)
        w, total = example_weights(sample_weight, B, z.dtype)
        rows = np.arange(B)
        losses = lse[:, 0] - z[rows, y]                            # (B,) -log p_y = lse - z_y
        delta = getattr(self, "delta_out", None)
        if delta is None or delta.shape != z.shape or delta.dtype != z.dtype:
            delta = self.delta_out = np.empty_like(z)              # (B, K), made once
        np.copyto(delta, p)                                        # (B, K) p …
        delta[rows, y] -= 1                                        # … then p - Y
        delta /= B                                                 # (B, K) δ = (p - Y) / B
        return reweight(losses, delta, w, total)

    def update(self, lr: float | None = None, *, learning_rate: float | None = None) -> None:
        """Plain gradient descent: θ ← θ - lr·dθ for every parameter.

        ``learning_rate`` is the seed API's name for ``lr`` (give one)."""
        rate = _rate(lr, learning_rate)
        if rate is None:
            raise TypeError("update needs the learning rate: update(lr)")
        for name, p in self.params.items():
            p -= rate * self.grads[name]              # in place

    def loss_and_grad(self, X: np.ndarray, y: ArrayLike, training: bool = True,
                      sample_weight: ArrayLike | None = None) -> float:
        """One forward and backward pass; returns the loss (grads are filled)."""
        self._forward(X, training)
        return self.backward(y, sample_weight)

    def loss_of(self, X: np.ndarray, y: ArrayLike, training: bool = True,
                sample_weight: ArrayLike | None = None) -> float:
        """The loss alone: a forward pass, no backward."""
        self._forward(X, training)
        return self._output_loss(y, sample_weight)[0]

    # --- training and inference -----------------------------------------------------------

    def fit(self, X: ArrayLike, y: ArrayLike, epochs: int = 10,
            lr: float | None = None, batch_size: int | None = None,
            verbose: bool = False, shuffle: bool = True, optimizer: Optimizer | None = None,
            schedule: Callable[[int], float] | None = None, *,
            learning_rate: float | None = None, **options: Any) -> list[float]:
        """Train on (X, y); returns the mean training loss of each epoch.

        Integer labels train a softmax or sigmoid output, one-hot rows a
        softmax output, float targets a regression output. ``batch_size=None``
        is full batch; a last short batch is used; shuffling draws from
        ``self.rng``. Plain SGD at ``lr`` (default 0.1; the seed API's
        ``learning_rate`` is the same), or an ``optimizer`` (handgrad.optim), which
        carries its own rate — give one or the other; a ``schedule`` sets its rate
        every step. Training stops with a DivergenceError when the loss turns NaN
        or infinite or explodes (``divergence_factor``, default 1000 times its
        starting value).
        Other options (validation, early stopping, clipping, callbacks,
        checkpoints, progress) are those of ``handgrad.train.train``; the full
        history is kept in ``self.history_``.
        """
        self.history_ = train(self, X, y, epochs=epochs, lr=_rate(lr, learning_rate),
                              batch_size=batch_size, shuffle=shuffle, verbose=verbose,
                              optimizer=optimizer, schedule=schedule, **options)
        return self.history_.column("train_loss")

    def _predict_output(self, X: ArrayLike, batch_size: int = 4096) -> np.ndarray:
        """The network's output a(L) in evaluation mode, in large batches, caching nothing."""
        X = self.check_X(X)
        self.delta_out = None                          # nothing kept for a backward pass
        out = []
        for i in range(0, X.shape[0], batch_size):    # (a subclass's X may be SciPy sparse)
            a = X[i:i + batch_size]                    # (b, n_0)
            for layer in self.layers:
                a = layer.infer(a)                     # (b, n_l); no z, a or mask kept
            out.append(a)
        return np.concatenate(out)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities (n, K); for a sigmoid output, (n, 2) as [1 - p, p]."""
        if self.task == "regression":
            raise ValueError("predict_proba needs a softmax or sigmoid output; "
                             "this model regresses")
        out = self._predict_output(X)
        if self.task == "binary":
            return np.hstack([1 - out, out])
        return out

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Class labels (argmax of the probabilities), or the regression output."""
        out = self._predict_output(X)
        if self.task == "classification":
            return cast(np.ndarray, out.argmax(axis=1))
        if self.task == "binary":
            return (out[:, 0] > 0.5).astype(np.int64)
        return out[:, 0] if out.shape[1] == 1 else out

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        """Accuracy for a classifier; R² for a regressor (as scikit-learn)."""
        X = self.check_X(X)
        y = self.check_y(y, len(X))
        pred = self.predict(X)
        if self.task != "regression":
            one_hot = y.ndim == 2 and self.task == "classification"
            labels = y.argmax(axis=1) if one_hot else y.ravel()
            return float(np.mean(pred == labels))
        pred = pred.reshape(y.shape)
        ss_res = float(np.sum((y - pred) ** 2))
        ss_tot = float(np.sum((y - y.mean(axis=0)) ** 2))
        return 1 - ss_res / ss_tot if ss_tot > 0 else float(ss_res == 0)

    def evaluate(self, X: ArrayLike, y: ArrayLike, batch_size: int = 4096) -> dict[str, float]:
        """Loss and accuracy (classification) on (X, y), in evaluation mode, nothing cached."""
        X, y = self.check_X(X), self.check_y(y, len(X))
        total, correct = 0.0, 0
        for i in range(0, len(X), batch_size):
            xb, yb = X[i:i + batch_size], y[i:i + batch_size]
            out = self._forward(xb, training=False)
            total += self._output_loss(yb)[0] * len(xb)
            if self.task == "classification":
                labels = yb if is_label_vector(yb) else yb.argmax(axis=1)
                correct += int(np.sum(out.argmax(axis=1) == labels))
            elif self.task == "binary":
                correct += int(np.sum((out[:, 0] > 0.5) == (yb.ravel() > 0.5)))
        result = {"loss": total / len(X)}
        if self.task != "regression":
            result["accuracy"] = correct / len(X)
        return result

    def count_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))


register_model("mlp", lambda spec, dtype=None: MLP.from_spec(spec, dtype=dtype))
