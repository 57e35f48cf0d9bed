"""The handgrad MLP written the way PyTorch users write it, built from the same spec.

Each layer is an ``nn.Linear`` (so its parameters are ``layers.{i}.weight`` and
``layers.{i}.bias``, (d_out, d_in) as in NumPy) with an optional norm
(``layers.{i}.norm.*``), the activation and dropout. State dicts move between
this twin and ``handgrad.MLP`` with no renaming and no transposes. Training is
PyTorch's four-line heartbeat::

    optimizer.zero_grad()
    loss = model.loss(model(X), y)
    loss.backward()
    optimizer.step()

The output layer returns logits for a softmax or sigmoid output: the loss
(``F.cross_entropy``, ``F.binary_cross_entropy_with_logits``) applies them,
exactly as handgrad fuses them. MSE is the lesson's ``1/(2n) Σ (a - y)²`` over n
examples, ``0.5 * F.mse_loss(out, y, reduction="sum") / n`` (``F.mse_loss``'s own
mean runs over every entry and has no ½: that is ``mse_mean`` times 2).
"""

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError:  # pragma: no cover - exercised only without torch
    raise ImportError("the PyTorch twin needs PyTorch: pip install torch "
                      "(on a CPU-only machine: pip install torch==2.13.0 --index-url "
                      "https://download.pytorch.org/whl/cpu), "
                      "or pip install 'handgrad[torch]'") from None

import numpy as np

from ..io import Snapshot, save_checkpoint, to_numpy
from ..mlp import MLP, layer_plan
from ..nn.activations import get_activation
from ..nn.module import check_state_matches
from ._trainable import FromNumpy, TrainableBase

# PyTorch's line for each name in handgrad's tables (nn.ACTIVATIONS, nn.NORMS, nn.LOSSES,
# optim.OPTIMIZERS); a test checks that no name lacks one.
ACTIVATIONS = {                    # handgrad activation -> torch module
    "relu": lambda act: nn.ReLU(),
    "leaky_relu": lambda act: nn.LeakyReLU(act.alpha),
    "sigmoid": lambda act: nn.Sigmoid(),
    "tanh": lambda act: nn.Tanh(),
    "gelu": lambda act: nn.GELU(),
    "gelu_tanh": lambda act: nn.GELU(approximate="tanh"),
    "silu": lambda act: nn.SiLU(),
    "identity": lambda act: nn.Identity(),
    "softmax": lambda act: nn.Softmax(dim=1),
}
NORMS = {                          # (width, dtype) -> torch module, handgrad's eps and momentum
    "batch": lambda d, dtype: nn.BatchNorm1d(d, eps=1e-5, momentum=0.1, dtype=dtype),
    "layer": lambda d, dtype: nn.LayerNorm(d, eps=1e-5, dtype=dtype),
    "rms": lambda d, dtype: nn.RMSNorm(d, eps=1e-5, dtype=dtype),
}
LOSSES = {                         # (output, targets) -> loss tensor; logits for the fused two
    "cross_entropy": lambda out, y: F.cross_entropy(out, y),       # labels or one-hot rows
    "binary_cross_entropy": lambda out, y: F.binary_cross_entropy_with_logits(
        out, y.reshape(out.shape).to(out.dtype)),
    "mse": lambda out, y: 0.5 * F.mse_loss(out, y, reduction="sum") / out.shape[0],
    "mse_mean": lambda out, y: 0.5 * F.mse_loss(out, y, reduction="sum") / out.numel(),
}
OPTIMIZERS = {                     # (parameters, handgrad optimizer) -> torch.optim, same settings
    "sgd": lambda params, o: torch.optim.SGD(params, lr=o.lr, momentum=o.momentum,
                                             nesterov=o.nesterov, weight_decay=o.weight_decay),
    "adam": lambda params, o: torch.optim.Adam(params, lr=o.lr, betas=o.betas, eps=o.eps,
                                               weight_decay=o.weight_decay),
    "adamw": lambda params, o: torch.optim.AdamW(params, lr=o.lr, betas=o.betas, eps=o.eps,
                                                 weight_decay=o.weight_decay),
}
SLOTS = {"momentum_buffer": "velocity", "exp_avg": "m", "exp_avg_sq": "v"}   # torch -> handgrad


def make_activation(spec):
    """The torch module for a handgrad activation spec (softmax/sigmoid outputs give logits)."""
    act = get_activation(spec)
    return ACTIVATIONS[act.key](act)


def make_norm(name, d, dtype=None):
    """The torch module for a handgrad norm name (None for "none")."""
    return None if name in (None, "none") else NORMS[name](d, dtype)


class Block(nn.Linear):
    """One layer: Linear -> [norm] -> activation -> [dropout]."""

    def __init__(self, n_in, n_out, activation, norm=None, dropout=0.0, bias=True, dtype=None):
        super().__init__(n_in, n_out, bias=bias, dtype=dtype)
        self.norm = make_norm(norm, n_out, dtype)
        self.act = make_activation(activation)
        self.drop = nn.Dropout(dropout) if dropout else None

    def forward(self, x):
        h = super().forward(x)
        if self.norm is not None:
            h = self.norm(h)
        h = self.act(h)
        return self.drop(h) if self.drop is not None else h


class TorchMLP(FromNumpy, nn.Module):
    """handgrad's MLP in PyTorch. Weights come from NumPy: ``seed`` draws them with
    handgrad's own initializers, so every backend starts from the same numbers."""

    def __init__(self, spec, seed=None, dtype=None):
        super().__init__()
        self.spec = dict(spec)
        self.dtype = {"float32": torch.float32, "float64": torch.float64}[
            np.dtype(dtype or spec.get("dtype", "float32")).name]
        self.loss_name, plan = layer_plan(spec)      # the output gives logits to the loss
        self.layers = nn.ModuleList(Block(*layer, dtype=self.dtype) for layer in plan)
        self.load_numpy_state(MLP.from_spec(self.spec, seed=seed).state_dict())

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def loss(self, out, y):
        """The spec's loss of ``out`` against ``y`` (labels become one-hot rows for an MSE)."""
        if self.loss_name.startswith("mse"):
            if y.ndim == 1 and out.ndim == 2 and out.shape[1] > 1 and not y.is_floating_point():
                y = F.one_hot(y, out.shape[1])            # labels for an MSE after a softmax
            y = y.reshape(out.shape).to(out.dtype)
        return LOSSES[self.loss_name](out, y)

    # --- moving between NumPy and PyTorch ----------------------------------------------

    @property
    def device(self):
        return next(self.parameters()).device

    def tensor(self, array, labels=False):
        """A NumPy array as a tensor on this model's device (labels as int64, else our dtype)."""
        a = np.asarray(array)
        if labels and self.loss_name == "cross_entropy" and a.ndim == 1:
            return torch.as_tensor(a.astype(np.int64), device=self.device)
        return torch.as_tensor(a, dtype=self.dtype, device=self.device)

    def numpy_state(self):
        return {k: to_numpy(v) for k, v in self.state_dict().items()}

    def load_numpy_state(self, state):
        """Load a handgrad state dict (strict: missing, unexpected or misshapen keys are listed)."""
        own = self.state_dict()
        check_state_matches({k: v.detach().cpu().numpy() for k, v in own.items()},
                            {k: np.asarray(v) for k, v in state.items()})
        self.load_state_dict({k: torch.as_tensor(np.asarray(v)).to(own[k].dtype)
                              for k, v in state.items()})

    def save(self, path, **training_state):
        save_checkpoint(path, Snapshot(self.spec, self.numpy_state()), **training_state)

    @torch.no_grad()
    def predict_proba(self, X):
        self.eval()
        out = self(self.tensor(X))
        if self.loss_name == "cross_entropy":
            return torch.softmax(out, dim=1).cpu().numpy()
        p = torch.sigmoid(out).cpu().numpy()
        return np.hstack([1 - p, p])


class SwiGLU(nn.Module):
    """LLaMA's gated block: w2(silu(w1 x) * w3 x), no biases (names as handgrad.SwiGLU)."""

    def __init__(self, d, hidden, dtype=torch.float32):
        super().__init__()
        self.w1 = nn.Linear(d, hidden, bias=False, dtype=dtype)
        self.w2 = nn.Linear(hidden, d, bias=False, dtype=dtype)
        self.w3 = nn.Linear(d, hidden, bias=False, dtype=dtype)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class FFN(nn.Module):
    """GPT-2's feed-forward block: fc2(gelu(fc1 x)) (names as handgrad.FFN)."""

    def __init__(self, d, hidden, activation="gelu", dtype=torch.float32):
        super().__init__()
        self.fc1 = nn.Linear(d, hidden, dtype=dtype)
        self.act = make_activation(activation)
        self.fc2 = nn.Linear(hidden, d, dtype=dtype)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def framework_optimizer(opt, net):
    """The torch.optim twin of handgrad optimizer ``opt`` over ``net``'s parameters."""
    if opt.name not in OPTIMIZERS:
        raise TypeError(f"no PyTorch twin for {type(opt).__name__}")
    return OPTIMIZERS[opt.name](net.parameters(), opt)


def train_step(model, optimizer, X, y):
    """One step, as PyTorch users write it. X, y: tensors. Returns the loss."""
    model.train()
    optimizer.zero_grad()
    loss = model.loss(model(X), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def loss_and_grads(model, X, y, training=True):
    """(loss, output, {name: gradient}) as NumPy, from NumPy inputs."""
    model.train(training)
    model.zero_grad()
    out = model(model.tensor(X))
    loss = model.loss(out, model.tensor(y, labels=True))
    loss.backward()
    grads = {k: to_numpy(p.grad) for k, p in model.named_parameters()}
    return loss.item(), to_numpy(out), grads


# --- driving the twin with handgrad's training loop --------------------------------------


class Trainable(TrainableBase):
    """A TorchMLP behind the interface ``handgrad.train.train`` drives."""

    def __init__(self, ref, device="cpu"):
        super().__init__(ref)
        torch.manual_seed(self.framework_seed())    # dropout masks: torch's own generator
        self.net = TorchMLP.from_numpy(ref).to(device)

    @property
    def params(self):
        return {k: p.detach() for k, p in self.net.named_parameters()}

    @property
    def grads(self):
        return {k: p.grad for k, p in self.net.named_parameters()}

    def loss_and_grad(self, X, y, training=True):
        self.net.train(training)
        self.net.zero_grad(set_to_none=False)
        loss = self.net.loss(self.net(self.net.tensor(X)), self.net.tensor(y, labels=True))
        loss.backward()
        return loss.item()

    def grad_norm(self):
        return float(torch.sqrt(sum((p.grad.double() ** 2).sum() for p in self.net.parameters())))

    def clip_grad_norm(self, max_norm):
        return float(torch.nn.utils.clip_grad_norm_(self.net.parameters(), max_norm))

    def state_dict(self):
        return self.net.numpy_state()

    def load_state_dict(self, state):
        self.net.load_numpy_state(state)

    @torch.no_grad()
    def eval_batch(self, X, y):
        self.net.eval()
        out = self.net(self.net.tensor(X))
        return self.net.loss(out, self.net.tensor(y, labels=True)).item(), to_numpy(out)

    def predict_proba(self, X):
        return self.net.predict_proba(self.check_X(X))

    def optimizer(self, opt):
        """The framework's optimizer for this twin, behind handgrad optimizer ``opt``'s interface."""
        return TrainableOptimizer(self, opt)


class TrainableOptimizer:
    """torch.optim behind handgrad's optimizer interface; its state dict uses handgrad's names."""

    def __init__(self, model, opt):
        self.model, self.like = model, opt
        self.opt = framework_optimizer(opt, model.net)
        self.names = [k for k, _ in model.net.named_parameters()]
        self.t = 0

    @property
    def lr(self):
        return self.opt.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value):
        for group in self.opt.param_groups:
            group["lr"] = value

    def step(self, model):
        self.opt.step()
        self.t += 1

    def state_dict(self):
        sd = self.like.state_dict()
        state = self.opt.state_dict()["state"]
        sd.update(t=self.t, lr=self.lr, state={
            self.names[i]: {SLOTS[k]: to_numpy(v) for k, v in s.items() if k in SLOTS}
            for i, s in state.items()})
        return sd

    def load_state_dict(self, sd):
        self.t, self.lr = int(sd["t"]), float(sd["lr"])
        back = {v: k for k, v in SLOTS.items()}
        params = dict(self.model.net.named_parameters())
        for name, slots in sd["state"].items():
            state = {back[k]: torch.as_tensor(np.asarray(v), dtype=params[name].dtype,
                                              device=params[name].device) for k, v in slots.items()}
            if "exp_avg" in state:
                state["step"] = torch.tensor(float(self.t))
            self.opt.state[params[name]] = state
