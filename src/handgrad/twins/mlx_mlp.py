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

try:
    import mlx.core as mx
    import mlx.nn as nn
    import mlx.optimizers as optim
    from mlx.utils import tree_flatten, tree_map, tree_unflatten
except ImportError:  # pragma: no cover - exercised only without mlx
    raise ImportError("the MLX twin needs MLX: pip install 'mlx[cpu]' on Linux, "
                      "pip install mlx on Apple silicon, or pip install 'handgrad[mlx]'") from None

import numpy as np

from ..io import Snapshot, save_checkpoint
from ..mlp import MLP, layer_plan
from ..nn.activations import get_activation
from ..nn.module import check_state_matches
from ._trainable import FromNumpy, TrainableBase

DTYPES = {"float32": mx.float32, "float64": mx.float64}


class TwinOptimizer:
    """An MLX optimizer plus the L2 term MLX's Adam lacks (PyTorch's Adam weight_decay)."""

    def __init__(self, inner, l2=0.0):
        self.inner, self.l2 = inner, l2

    @property
    def state(self):
        return self.inner.state

    def set_lr(self, lr):
        self.inner.learning_rate = lr

    def update(self, model, grads):
        if self.l2:
            grads = tree_map(lambda g, p: g + self.l2 * p, grads, model.trainable_parameters())
        self.inner.update(model, grads)


# MLX's line for each name in handgrad's tables (nn.ACTIVATIONS, nn.NORMS, nn.LOSSES,
# optim.OPTIMIZERS); a test checks that no name lacks one.
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
                                               bias_correction=True), l2=o.weight_decay),
    "adamw": lambda o: TwinOptimizer(optim.AdamW(o.lr, betas=list(o.betas), eps=o.eps,
                                                 weight_decay=o.weight_decay,
                                                 bias_correction=True)),
}
SLOTS = {                          # each optimizer's state: MLX's name -> handgrad's
    "sgd": {"v": "velocity"}, "adam": {"m": "m", "v": "v"}, "adamw": {"m": "m", "v": "v"},
}


def make_activation(spec):
    """An MLX function for a handgrad activation spec (softmax/sigmoid outputs give logits)."""
    act = get_activation(spec)
    return ACTIVATIONS[act.key](act)


def make_norm(name, d):
    """The MLX module for a handgrad norm name (None for "none")."""
    return None if name in (None, "none") else NORMS[name](d)


class Block(nn.Linear):
    """One layer: Linear -> [norm] -> activation -> [dropout]."""

    def __init__(self, n_in, n_out, activation, norm=None, dropout=0.0, bias=True):
        super().__init__(n_in, n_out, bias=bias)
        norm = make_norm(norm, n_out)
        if norm is not None:
            self.norm = norm
        self.act = make_activation(activation)
        if dropout:
            self.drop = nn.Dropout(dropout)

    def __call__(self, x):
        h = super().__call__(x)
        if "norm" in self:
            h = self.norm(h)
        h = self.act(h)
        return self.drop(h) if "drop" in self else h


class MLXMLP(FromNumpy, nn.Module):
    """handgrad's MLP in MLX. Weights come from NumPy: ``seed`` draws them with
    handgrad's own initializers, so every backend starts from the same numbers."""

    def __init__(self, spec, seed=None, dtype=None):
        super().__init__()
        self.spec = dict(spec)
        self.np_dtype = np.dtype(dtype or spec.get("dtype", "float32"))
        self.loss_name, plan = layer_plan(spec)      # the output gives logits to the loss
        self.layers = [Block(*layer) for layer in plan]
        self.set_dtype(DTYPES[self.np_dtype.name])
        self.load_numpy_state(MLP.from_spec(self.spec, seed=seed).state_dict())

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def loss(self, X, y):
        return self.loss_of(self(X), y)

    def loss_of(self, out, y):
        """The spec's loss of ``out`` against ``y``."""
        return LOSSES[self.loss_name](out, y)

    # --- moving between NumPy and MLX ---------------------------------------------------

    def array(self, a, labels=False):
        a = np.asarray(a)
        if labels and self.loss_name == "cross_entropy" and a.ndim == 1:
            return mx.array(a.astype(np.int32))
        return mx.array(a, dtype=DTYPES[self.np_dtype.name])

    def numpy_state(self):
        state = {k: np.array(v) for k, v in tree_flatten(self.parameters())}
        for k in [k for k in state if k.endswith(".running_var")]:
            state[k[:-len("running_var")] + "num_batches_tracked"] = np.zeros((), dtype=np.int64)
        return state

    def load_numpy_state(self, state):
        """Load a handgrad state dict (strict, apart from BatchNorm's num_batches_tracked)."""
        state = {k: np.asarray(v) for k, v in state.items()
                 if not k.endswith("num_batches_tracked")}
        own = dict(tree_flatten(self.parameters()))
        check_state_matches({k: np.empty(v.shape) for k, v in own.items()}, state)
        # mx.array(float64 ndarray) would make float32: always name the dtype
        self.update(tree_unflatten([(k, mx.array(v, dtype=own[k].dtype))
                                    for k, v in state.items()]))
        mx.eval(self.parameters())

    def save(self, path, **training_state):
        save_checkpoint(path, Snapshot(self.spec, self.numpy_state()), **training_state)

    def predict_proba(self, X):
        self.eval()
        out = self(self.array(X))
        if self.loss_name == "cross_entropy":
            return np.array(mx.softmax(out, axis=1))
        p = np.array(mx.sigmoid(out))
        return np.hstack([1 - p, p])


class SwiGLU(nn.Module):
    """LLaMA's gated block: w2(silu(w1 x) * w3 x), no biases (names as handgrad.SwiGLU)."""

    def __init__(self, d, hidden):
        super().__init__()
        self.w1 = nn.Linear(d, hidden, bias=False)
        self.w2 = nn.Linear(hidden, d, bias=False)
        self.w3 = nn.Linear(d, hidden, bias=False)

    def __call__(self, x):
        return self.w2(nn.silu(self.w1(x)) * self.w3(x))


class FFN(nn.Module):
    """GPT-2's feed-forward block: fc2(gelu(fc1 x)) (names as handgrad.FFN)."""

    def __init__(self, d, hidden, activation="gelu"):
        super().__init__()
        self.fc1 = nn.Linear(d, hidden)
        self.act = make_activation(activation)
        self.fc2 = nn.Linear(hidden, d)

    def __call__(self, x):
        return self.fc2(self.act(self.fc1(x)))


def load_numpy_params(module, params, dtype=mx.float32):
    """Copy a handgrad module's ``params`` into an MLX module of the same names."""
    module.set_dtype(dtype)
    module.update(tree_unflatten([(k, mx.array(v, dtype=dtype)) for k, v in params.items()]))
    mx.eval(module.parameters())
    return module


def framework_optimizer(opt, net=None):
    """The mlx.optimizers twin of handgrad optimizer ``opt`` (MLX's need no parameters)."""
    if opt.name not in OPTIMIZERS:
        raise TypeError(f"no MLX twin for {type(opt).__name__}")
    return OPTIMIZERS[opt.name](opt)


def train_step(model, optimizer, X, y):
    """One step, as MLX users write it. X, y: mx arrays. Returns the loss."""
    model.train()
    loss, grads = nn.value_and_grad(model, model.loss)(X, y)
    optimizer.update(model, grads)
    mx.eval(model.parameters(), optimizer.state)
    return loss.item()


def loss_and_grads(model, X, y, training=True):
    """(loss, output, {name: gradient}) as NumPy, from NumPy inputs."""
    model.train(training)
    X, y = model.array(X), model.array(y, labels=True)

    def loss_and_output(X, y):          # one forward pass: BatchNorm's statistics move once
        out = model(X)
        return model.loss_of(out, y), out

    (loss, out), grads = nn.value_and_grad(model, loss_and_output)(X, y)
    mx.eval(loss, grads, out)
    return loss.item(), np.array(out), {k: np.array(v) for k, v in tree_flatten(grads)}


# --- driving the twin with handgrad's training loop --------------------------------------


class Trainable(TrainableBase):
    """An MLXMLP behind the interface ``handgrad.train.train`` drives."""

    def __init__(self, ref, device="cpu"):
        super().__init__(ref)
        if device == "cuda":
            mx.set_default_device(mx.gpu)
        mx.random.seed(self.framework_seed())       # dropout masks: MLX's own generator
        self.net = MLXMLP.from_numpy(ref)
        self._grads = None
        self._step = nn.value_and_grad(self.net, self.net.loss)

    @property
    def params(self):
        return {k: np.array(v) for k, v in tree_flatten(self.net.trainable_parameters())}

    @property
    def grads(self):
        return {k: np.array(v) for k, v in tree_flatten(self._grads)}

    def loss_and_grad(self, X, y, training=True):
        self.net.train(training)
        loss, self._grads = self._step(self.net.array(X), self.net.array(y, labels=True))
        mx.eval(loss, self._grads)
        return loss.item()

    def grad_norm(self):
        return float(mx.sqrt(sum((g.astype(mx.float32) ** 2).sum()
                                 for _, g in tree_flatten(self._grads))))

    def clip_grad_norm(self, max_norm):
        self._grads, norm = optim.clip_grad_norm(self._grads, max_norm)
        return float(norm)

    def state_dict(self):
        return self.net.numpy_state()

    def load_state_dict(self, state):
        self.net.load_numpy_state(state)

    def eval_batch(self, X, y):
        self.net.eval()
        out = self.net(self.net.array(X))
        loss = self.net.loss_of(out, self.net.array(y, labels=True))
        return loss.item(), np.array(out)

    def predict_proba(self, X):
        return self.net.predict_proba(self.check_X(X))

    def optimizer(self, opt):
        """The framework's optimizer for this twin, behind handgrad optimizer ``opt``'s interface."""
        return TrainableOptimizer(self, opt)


class TrainableOptimizer:
    """mlx.optimizers behind handgrad's optimizer interface; state dicts use handgrad's names."""

    def __init__(self, model, opt):
        self.model, self.like = model, opt
        self.twin = framework_optimizer(opt)
        self.slots = SLOTS[opt.name]
        self.t = 0

    @property
    def lr(self):
        return float(self.twin.inner.learning_rate)

    @lr.setter
    def lr(self, value):
        self.twin.set_lr(value)

    def step(self, model):
        self.twin.update(model.net, model._grads)
        mx.eval(model.net.parameters(), self.twin.state)
        self.t += 1

    def state_dict(self):
        sd = self.like.state_dict()
        state = {}
        for key, value in tree_flatten(self.twin.state):
            name, _, slot = key.rpartition(".")
            if slot in self.slots and (self.like.name != "sgd" or self.like.momentum):
                state.setdefault(name, {})[self.slots[slot]] = np.array(value)
        sd.update(t=self.t, lr=self.lr, state=state)
        return sd

    def load_state_dict(self, sd):
        self.t = int(sd["t"])
        self.twin.inner.init(self.model.net.trainable_parameters())
        back = {v: k for k, v in self.slots.items()}
        dtype = DTYPES[self.model.net.np_dtype.name]
        flat = [(f"{name}.{back[slot]}", mx.array(np.asarray(a), dtype=dtype))
                for name, slots in sd["state"].items() for slot, a in slots.items()]
        self.twin.inner.state.update(tree_unflatten(flat))
        self.twin.inner.state["step"] = mx.array(self.t, dtype=mx.uint64)
        self.lr = float(sd["lr"])
