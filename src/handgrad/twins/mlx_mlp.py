"""The handgrad MLP written the way MLX users write it, built from the same spec.

Each layer is an ``mlx.nn.Linear`` (parameters ``layers.{i}.weight`` (d_out, d_in)
and ``layers.{i}.bias``) with an optional norm, the activation and dropout,
so ``tree_flatten(model.parameters())`` has handgrad's names. A step is MLX's::

    loss, grads = nn.value_and_grad(model, model.loss)(X, y)
    optimizer.update(model, grads)
    mx.eval(model.parameters(), optimizer.state)

Where MLX defines things differently from PyTorch (and so from handgrad):

- ``optim.Adam`` and ``optim.AdamW`` default to ``bias_correction=False``; the
  twin passes ``True``.
- ``optim.Adam`` has no weight decay; for handgrad's ``Adam(weight_decay=λ)``
  (PyTorch's L2 form) the twin adds λθ to the gradients before the update.
- ``optim.SGD`` starts its velocity at 0 and computes v ← μv + (1 - τ)g; with
  dampening τ = 0 (handgrad has none) the first step is PyTorch's v = g.
  Weight decay is added to the gradient first in both.
- MLX keeps the learning rate as a float32 array and computes Adam's bias
  corrections in float32, so in float64 it agrees with the others to about
  1e-7 relative after a few Adam steps, not to 1e-10.
- MLX's BatchNorm has no ``num_batches_tracked``; the twin drops that key
  from handgrad state dicts and adds it back (as 0) when exporting.
"""

from __future__ import annotations

try:
    import mlx.core as mx
    import mlx.nn as nn
    import mlx.optimizers as optim
    from mlx.utils import tree_flatten, tree_map, tree_unflatten
except ImportError:  # pragma: no cover - exercised only without mlx
    raise ImportError("the MLX twin needs MLX: pip install 'mlx[cpu]' on Linux, "
                      "pip install mlx on Apple silicon, or pip install 'handgrad[mlx]'") from None

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ..io import Snapshot, save_checkpoint
from ..mlp import MLP, layer_plan
from ..nn.activations import ActivationSpec, get_activation
from ..nn.module import check_state_matches
from ._trainable import FromNumpy, TrainableBase

if TYPE_CHECKING:
    from ..optim import Optimizer

DTYPES = {"float32": mx.float32, "float64": mx.float64}


class TwinOptimizer:
    """An MLX optimizer plus the weight decay MLX's Adam lacks: PyTorch's Adam adds
    weight_decay·θ to the gradient (L2), and so does this, before the update."""

    def __init__(self, inner: optim.Optimizer, weight_decay: float = 0.0) -> None:
        self.inner, self.weight_decay = inner, weight_decay

    @property
    def state(self) -> Any:
        return self.inner.state

    def set_lr(self, lr: float) -> None:
        self.inner.learning_rate = lr

    def update(self, model: nn.Module, grads: Any) -> None:
        if self.weight_decay:
            grads = tree_map(lambda g, p: g + self.weight_decay * p, grads,
                             model.trainable_parameters())
        self.inner.update(model, grads)


# MLX's line for each name in handgrad's tables (nn.ACTIVATIONS, nn.NORMS, nn.LOSSES,
# optim.OPTIMIZERS); a test checks that no name lacks one.
ACTIVATIONS: dict[str, Callable[[Any], Callable[[mx.array], mx.array]]]
ACTIVATIONS = {                    # handgrad activation -> MLX function
    "relu": lambda act: nn.relu,
    "leaky_relu": lambda act: lambda x: nn.leaky_relu(x, negative_slope=act.alpha),
    "sigmoid": lambda act: mx.sigmoid,
    "tanh": lambda act: mx.tanh,
    "gelu": lambda act: nn.gelu,
    "gelu_tanh": lambda act: nn.gelu_approx,     # ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
    "silu": lambda act: nn.silu,
    "identity": lambda act: lambda x: x,
    "softmax": lambda act: lambda x: mx.softmax(x, axis=-1),
}
NORMS = {                          # width -> MLX module, handgrad's eps and momentum
    "batch": lambda d: nn.BatchNorm(d, eps=1e-5, momentum=0.1),
    "layer": lambda d: nn.LayerNorm(d, eps=1e-5),
    "rms": lambda d: nn.RMSNorm(d, eps=1e-5),
}
LOSSES = {                         # (output, targets) -> loss; logits for the fused two
    "cross_entropy": lambda out, y: nn.losses.cross_entropy(out, y, reduction="mean"),
    "binary_cross_entropy": lambda out, y: nn.losses.binary_cross_entropy(
        out, y.reshape(out.shape), with_logits=True, reduction="mean"),
    "mse": lambda out, y: 0.5 * nn.losses.mse_loss(out, y.reshape(out.shape),
                                                   reduction="sum") / out.shape[0],
    "mse_mean": lambda out, y: 0.5 * nn.losses.mse_loss(out, y.reshape(out.shape),
                                                        reduction="sum") / out.size,
}
OPTIMIZERS = {                     # handgrad optimizer -> MLX's, made to agree (module docstring)
    "sgd": lambda o: TwinOptimizer(optim.SGD(o.lr, momentum=o.momentum,
                                             weight_decay=o.weight_decay, nesterov=o.nesterov)),
    "adam": lambda o: TwinOptimizer(optim.Adam(o.lr, betas=list(o.betas), eps=o.eps,
                                               bias_correction=True), weight_decay=o.weight_decay),
    "adamw": lambda o: TwinOptimizer(optim.AdamW(o.lr, betas=list(o.betas), eps=o.eps,
                                                 weight_decay=o.weight_decay,
                                                 bias_correction=True)),
}
SLOTS = {                          # each optimizer's state: MLX's name -> handgrad's
    "sgd": {"v": "velocity"}, "adam": {"m": "m", "v": "v"}, "adamw": {"m": "m", "v": "v"},
}


def make_activation(spec: ActivationSpec) -> Callable[[mx.array], mx.array]:
    """An MLX function for a handgrad activation spec (softmax/sigmoid outputs give logits)."""
    act = get_activation(spec)
    return ACTIVATIONS[act.key](act)


def make_norm(name: str | None, d: int) -> nn.Module | None:
    """The MLX module for a handgrad norm name (None for "none")."""
    return None if name in (None, "none") else NORMS[name](d)


class Block(nn.Linear):  # type: ignore[misc]  # mlx is read as Any
    """One layer: Linear -> [norm] -> activation -> [dropout]."""

    def __init__(self, n_in: int, n_out: int, activation: ActivationSpec, norm: str | None = None,
                 dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__(n_in, n_out, bias=bias)
        norm = make_norm(norm, n_out)
        if norm is not None:
            self.norm = norm
        self.act = make_activation(activation)
        if dropout:
            self.drop = nn.Dropout(dropout)

    def __call__(self, x: mx.array) -> mx.array:
        h = super().__call__(x)
        if "norm" in self:
            h = self.norm(h)
        h = self.act(h)
        return self.drop(h) if "drop" in self else h


class MLXMLP(FromNumpy, nn.Module):  # type: ignore[misc]  # mlx is read as Any
    """handgrad's MLP in MLX. Weights come from NumPy: ``seed`` draws them with
    handgrad's own initializers, so every backend starts from the same numbers."""

    def __init__(self, spec: dict[str, Any], seed: int | None = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        self.spec = dict(spec)
        self.np_dtype = np.dtype(dtype or spec.get("dtype", "float32"))
        self.loss_name, plan = layer_plan(spec)      # the output gives logits to the loss
        self.layers = [Block(*layer) for layer in plan]
        self.set_dtype(DTYPES[self.np_dtype.name])
        self.load_numpy_state(MLP.from_spec(self.spec, seed=seed).state_dict())

    def __call__(self, x: mx.array) -> mx.array:
        for layer in self.layers:
            x = layer(x)
        return x

    def loss(self, X: mx.array, y: mx.array) -> mx.array:
        return self.loss_of(self(X), y)

    def loss_of(self, out: mx.array, y: mx.array) -> mx.array:
        """The spec's loss of ``out`` against ``y``."""
        return cast(mx.array, LOSSES[self.loss_name](out, y))

    # --- moving between NumPy and MLX ---------------------------------------------------

    def array(self, a: ArrayLike, labels: bool = False) -> mx.array:
        a = np.asarray(a)
        if labels and self.loss_name == "cross_entropy" and a.ndim == 1:
            return mx.array(a.astype(np.int32))
        return mx.array(a, dtype=DTYPES[self.np_dtype.name])

    def numpy_state(self) -> dict[str, np.ndarray]:
        state = {k: np.array(v) for k, v in tree_flatten(self.parameters())}
        for k in [k for k in state if k.endswith(".running_var")]:
            state[k[:-len("running_var")] + "num_batches_tracked"] = np.zeros((), dtype=np.int64)
        return state

    def load_numpy_state(self, state: Mapping[str, Any]) -> None:
        """Load a handgrad state dict (strict, apart from BatchNorm's num_batches_tracked)."""
        state = {k: np.asarray(v) for k, v in state.items()
                 if not k.endswith("num_batches_tracked")}
        own = dict(tree_flatten(self.parameters()))
        check_state_matches({k: np.empty(v.shape) for k, v in own.items()}, state)
        # mx.array(float64 ndarray) would make float32: always name the dtype
        self.update(tree_unflatten([(k, mx.array(v, dtype=own[k].dtype))
                                    for k, v in state.items()]))
        mx.eval(self.parameters())

    def save(self, path: str | Path, **training_state: Any) -> None:
        save_checkpoint(path, Snapshot(self.spec, self.numpy_state()), **training_state)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        self.eval()
        out = self(self.array(X))
        if self.loss_name == "cross_entropy":
            return np.array(mx.softmax(out, axis=1))
        p = np.array(mx.sigmoid(out))
        return np.hstack([1 - p, p])


class SwiGLU(nn.Module):  # type: ignore[misc]  # mlx is read as Any
    """LLaMA's gated block: w2(silu(w1 x) * w3 x), no biases (names as handgrad.SwiGLU)."""

    def __init__(self, d: int, hidden: int) -> None:
        super().__init__()
        self.w1 = nn.Linear(d, hidden, bias=False)
        self.w2 = nn.Linear(hidden, d, bias=False)
        self.w3 = nn.Linear(d, hidden, bias=False)

    def __call__(self, x: mx.array) -> mx.array:
        return cast(mx.array, self.w2(nn.silu(self.w1(x)) * self.w3(x)))


class FFN(nn.Module):  # type: ignore[misc]  # mlx is read as Any
    """GPT-2's feed-forward block: fc2(gelu(fc1 x)) (names as handgrad.FFN)."""

    def __init__(self, d: int, hidden: int, activation: ActivationSpec = "gelu") -> None:
        super().__init__()
        self.fc1 = nn.Linear(d, hidden)
        self.act = make_activation(activation)
        self.fc2 = nn.Linear(hidden, d)

    def __call__(self, x: mx.array) -> mx.array:
        return cast(mx.array, self.fc2(self.act(self.fc1(x))))


def load_numpy_params(module: nn.Module, params: Mapping[str, np.ndarray],
                      dtype: mx.Dtype = mx.float32) -> nn.Module:
    """Copy a handgrad module's ``params`` into an MLX module of the same names."""
    module.set_dtype(dtype)
    module.update(tree_unflatten([(k, mx.array(v, dtype=dtype)) for k, v in params.items()]))
    mx.eval(module.parameters())
    return module


def framework_optimizer(opt: Optimizer, net: nn.Module | None = None) -> TwinOptimizer:
    """The mlx.optimizers twin of handgrad optimizer ``opt`` (MLX's need no parameters)."""
    if opt.name not in OPTIMIZERS:
        raise TypeError(f"no MLX twin for {type(opt).__name__}")
    return OPTIMIZERS[opt.name](opt)


def train_step(model: MLXMLP, optimizer: TwinOptimizer | optim.Optimizer, X: mx.array,
               y: mx.array) -> float:
    """One step, as MLX users write it. X, y: mx arrays. Returns the loss."""
    model.train()
    loss, grads = nn.value_and_grad(model, model.loss)(X, y)
    optimizer.update(model, grads)
    mx.eval(model.parameters(), optimizer.state)
    return cast(float, loss.item())


# --- the backend's one adapter: what train(), compare, the benchmarks and the estimators drive --

class Trainable(TrainableBase):
    """The MLX backend's adapter: an MLXMLP built from a NumPy MLP, behind the MLP's own
    interface (the one ``handgrad.train.train`` drives), so every caller treats backends alike.

    The same interface as the PyTorch twin's ``Trainable`` (see there), with MLX arrays for
    tensors: MLX arrays are immutable, so ``set_params`` and ``set_grads`` are the way to
    change them; ``grads`` are those of the last ``loss_and_grad`` (kept as MLX's tree in
    ``_grads``). ``device="cuda"`` puts MLX's default device on the GPU (MLX's CUDA backend).
    """

    def __init__(self, ref: MLP, device: str = "cpu") -> None:
        super().__init__(ref)
        if str(device).startswith("cuda"):
            if not mx.cuda.is_available():
                raise RuntimeError("this MLX has no CUDA backend: pip install 'mlx[cuda]' on a "
                                   "machine with an NVIDIA GPU, or use --device cpu")
            mx.set_default_device(mx.gpu)
        mx.random.seed(self.framework_seed())       # dropout masks: MLX's own generator
        self.net = MLXMLP.from_numpy(ref)
        self._grads: Any = None  # MLX's tree of gradients
        self.out: mx.array | None = None

        # one forward pass: BatchNorm's statistics move once
        def loss_and_output(X: mx.array, y: mx.array) -> tuple[mx.array, mx.array]:
            out = self.net(X)
            return self.net.loss_of(out, y), out
        self._step = nn.value_and_grad(self.net, loss_and_output)

    @property
    def params(self) -> dict[str, mx.array]:
        return dict(tree_flatten(self.net.trainable_parameters()))

    @property
    def grads(self) -> dict[str, mx.array]:
        return dict(tree_flatten(self._grads))

    def set_params(self, named: Mapping[str, ArrayLike | mx.array]) -> None:
        self.net.update(tree_unflatten([(k, self.to_backend(v)) for k, v in named.items()]))
        mx.eval(self.net.parameters())

    def set_grads(self, named: Mapping[str, ArrayLike | mx.array]) -> None:
        grads = {**self.grads, **{k: self.to_backend(v) for k, v in named.items()}}
        self._grads = tree_unflatten(list(grads.items()))

    def to_backend(self, a: ArrayLike | mx.array) -> mx.array:
        """An array (NumPy or MLX) as an MLX array of this model's dtype."""
        dtype = DTYPES[self.net.np_dtype.name]
        return a.astype(dtype) if isinstance(a, mx.array) else mx.array(np.asarray(a), dtype=dtype)

    @staticmethod
    def to_numpy(a: mx.array) -> np.ndarray:
        return np.array(a)

    def loss_and_grad(self, X: ArrayLike, y: ArrayLike, training: bool = True) -> float:
        self.net.train(training)
        (loss, self.out), self._grads = self._step(self.net.array(X),
                                                   self.net.array(y, labels=True))
        mx.eval(loss, self._grads, self.out)
        return cast(float, loss.item())

    def grad_norm(self) -> float:
        return float(mx.sqrt(sum((g.astype(mx.float32) ** 2).sum()
                                 for _, g in tree_flatten(self._grads))))

    def clip_grad_norm(self, max_norm: float) -> float:
        self._grads, norm = optim.clip_grad_norm(self._grads, max_norm)
        return float(norm)

    def state_dict(self) -> dict[str, np.ndarray]:
        return self.net.numpy_state()

    def load_state_dict(self, state: Mapping[str, ArrayLike]) -> None:
        self.net.load_numpy_state(state)

    def eval_batch(self, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        self.net.eval()
        out = self.net(self.net.array(X))
        loss = self.net.loss_of(out, self.net.array(y, labels=True))
        return cast(float, loss.item()), np.array(out)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        return self.net.predict_proba(self.check_X(X))

    def optimizer(self, opt: Optimizer) -> TrainableOptimizer:
        """mlx.optimizers for handgrad optimizer ``opt``, behind handgrad's optimizer interface."""
        return TrainableOptimizer(self, opt)

    def sync(self) -> None:
        """Wait until the device has done what was asked of it (for a clock)."""
        mx.synchronize()


class TrainableOptimizer:
    """mlx.optimizers behind handgrad's optimizer interface; state dicts use handgrad's names."""

    like: Any      # the handgrad optimizer it stands in for (SGD's momentum is read by name)

    def __init__(self, model: Trainable, opt: Optimizer) -> None:
        self.model, self.like = model, opt
        self.twin = framework_optimizer(opt)
        self.slots = SLOTS[opt.name]
        self.t = 0

    @property
    def lr(self) -> float:
        return float(self.twin.inner.learning_rate)

    @lr.setter
    def lr(self, value: float) -> None:
        self.twin.set_lr(value)

    def step(self, model: Trainable) -> None:
        self.twin.update(model.net, model._grads)
        mx.eval(model.net.parameters(), self.twin.state)
        self.t += 1

    def state_dict(self) -> dict[str, Any]:
        sd: dict[str, Any] = self.like.state_dict()
        state: dict[str, dict[str, np.ndarray]] = {}
        for key, value in tree_flatten(self.twin.state):
            name, _, slot = key.rpartition(".")
            if slot in self.slots and (self.like.name != "sgd" or self.like.momentum):
                state.setdefault(name, {})[self.slots[slot]] = np.array(value)
        sd.update(t=self.t, lr=self.lr, state=state)
        return sd

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        self.t = int(sd["t"])
        self.twin.inner.init(self.model.net.trainable_parameters())
        back = {v: k for k, v in self.slots.items()}
        dtype = DTYPES[self.model.net.np_dtype.name]
        flat = [(f"{name}.{back[slot]}", mx.array(np.asarray(a), dtype=dtype))
                for name, slots in sd["state"].items() for slot, a in slots.items()]
        self.twin.inner.state.update(tree_unflatten(flat))
        self.twin.inner.state["step"] = mx.array(self.t, dtype=mx.uint64)
        self.lr = float(sd["lr"])
