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

from __future__ import annotations

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError:  # pragma: no cover - exercised only without torch
    raise ImportError("the PyTorch twin needs PyTorch: pip install torch "
                      "(on a CPU-only machine: pip install torch==2.13.0 --index-url "
                      "https://download.pytorch.org/whl/cpu), "
                      "or pip install 'handgrad[torch]'") from None

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ..io import Snapshot, save_checkpoint, to_numpy
from ..mlp import MLP, layer_plan
from ..nn.activations import ActivationSpec, get_activation
from ..nn.module import check_state_matches
from ._trainable import FromNumpy, TrainableBase

if TYPE_CHECKING:
    from ..optim import Optimizer

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


def make_activation(spec: ActivationSpec) -> nn.Module:
    """The torch module for a handgrad activation spec (softmax/sigmoid outputs give logits)."""
    act = get_activation(spec)
    return ACTIVATIONS[act.key](act)


def make_norm(name: str | None, d: int, dtype: torch.dtype | None = None) -> nn.Module | None:
    """The torch module for a handgrad norm name (None for "none")."""
    return None if name in (None, "none") else NORMS[name](d, dtype)


class Block(nn.Linear):  # type: ignore[misc]  # torch is read as Any
    """One layer: Linear -> [norm] -> activation -> [dropout]."""

    def __init__(self, n_in: int, n_out: int, activation: ActivationSpec, norm: str | None = None,
                 dropout: float = 0.0, bias: bool = True, dtype: torch.dtype | None = None) -> None:
        super().__init__(n_in, n_out, bias=bias, dtype=dtype)
        self.norm = make_norm(norm, n_out, dtype)
        self.act = make_activation(activation)
        self.drop = nn.Dropout(dropout) if dropout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = super().forward(x)
        if self.norm is not None:
            h = self.norm(h)
        h = self.act(h)
        return self.drop(h) if self.drop is not None else h


class TorchMLP(FromNumpy, nn.Module):  # type: ignore[misc]  # torch is read as Any
    """handgrad's MLP in PyTorch. Weights come from NumPy: ``seed`` draws them with
    handgrad's own initializers, so every backend starts from the same numbers."""

    def __init__(self, spec: dict[str, Any], seed: int | None = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        self.spec = dict(spec)
        self.dtype = {"float32": torch.float32, "float64": torch.float64}[
            np.dtype(dtype or spec.get("dtype", "float32")).name]
        self.loss_name, plan = layer_plan(spec)      # the output gives logits to the loss
        self.layers = nn.ModuleList(Block(*layer, dtype=self.dtype) for layer in plan)
        self.load_numpy_state(MLP.from_spec(self.spec, seed=seed).state_dict())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The spec's loss of ``out`` against ``y`` (labels become one-hot rows for an MSE)."""
        if self.loss_name.startswith("mse"):
            if y.ndim == 1 and out.ndim == 2 and out.shape[1] > 1 and not y.is_floating_point():
                y = F.one_hot(y, out.shape[1])            # labels for an MSE after a softmax
            y = y.reshape(out.shape).to(out.dtype)
        return LOSSES[self.loss_name](out, y)

    # --- moving between NumPy and PyTorch ----------------------------------------------

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def tensor(self, array: ArrayLike, labels: bool = False) -> torch.Tensor:
        """A NumPy array as a tensor on this model's device (labels as int64, else our dtype)."""
        a = np.asarray(array)
        device = self.device
        if labels and self.loss_name == "cross_entropy" and a.ndim == 1:
            return torch.as_tensor(a.astype(np.int64, copy=False), device=device)
        return torch.as_tensor(a, dtype=self.dtype, device=device)

    def numpy_state(self) -> dict[str, np.ndarray]:
        return {k: to_numpy(v) for k, v in self.state_dict().items()}

    def load_numpy_state(self, state: Mapping[str, ArrayLike]) -> None:
        """Load a handgrad state dict (strict: missing, unexpected or misshapen keys are listed)."""
        own = self.state_dict()
        check_state_matches({k: v.detach().cpu().numpy() for k, v in own.items()},
                            {k: np.asarray(v) for k, v in state.items()})
        self.load_state_dict({k: torch.as_tensor(np.asarray(v)).to(own[k].dtype)
                              for k, v in state.items()})

    def save(self, path: str | Path, **training_state: Any) -> None:
        save_checkpoint(path, Snapshot(self.spec, self.numpy_state()), **training_state)

    @torch.no_grad()  # type: ignore[untyped-decorator]  # torch is read as Any
    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        self.eval()
        out = self(self.tensor(X))
        if self.loss_name == "cross_entropy":
            return cast(np.ndarray, torch.softmax(out, dim=1).cpu().numpy())
        p = torch.sigmoid(out).cpu().numpy()
        return np.hstack([1 - p, p])


class SwiGLU(nn.Module):  # type: ignore[misc]  # torch is read as Any
    """LLaMA's gated block: w2(silu(w1 x) * w3 x), no biases (names as handgrad.SwiGLU)."""

    def __init__(self, d: int, hidden: int, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.w1 = nn.Linear(d, hidden, bias=False, dtype=dtype)
        self.w2 = nn.Linear(hidden, d, bias=False, dtype=dtype)
        self.w3 = nn.Linear(d, hidden, bias=False, dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class FFN(nn.Module):  # type: ignore[misc]  # torch is read as Any
    """GPT-2's feed-forward block: fc2(gelu(fc1 x)) (names as handgrad.FFN)."""

    def __init__(self, d: int, hidden: int, activation: ActivationSpec = "gelu",
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.fc1 = nn.Linear(d, hidden, dtype=dtype)
        self.act = make_activation(activation)
        self.fc2 = nn.Linear(hidden, d, dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


def framework_optimizer(opt: Optimizer, net: nn.Module) -> torch.optim.Optimizer:
    """The torch.optim twin of handgrad optimizer ``opt`` over ``net``'s parameters."""
    if opt.name not in OPTIMIZERS:
        raise TypeError(f"no PyTorch twin for {type(opt).__name__}")
    return OPTIMIZERS[opt.name](net.parameters(), opt)


def train_step(model: TorchMLP, optimizer: torch.optim.Optimizer, X: torch.Tensor,
               y: torch.Tensor) -> float:
    """One step, as PyTorch users write it. X, y: tensors. Returns the loss."""
    model.train()
    optimizer.zero_grad()
    loss = model.loss(model(X), y)
    loss.backward()
    optimizer.step()
    return cast(float, loss.item())


# --- the backend's one adapter: what train(), compare, the benchmarks and the estimators drive --

class Trainable(TrainableBase):
    """The PyTorch backend's adapter: a TorchMLP built from a NumPy MLP, behind the MLP's own
    interface (the one ``handgrad.train.train`` drives), so every caller treats backends alike.

    - ``loss_and_grad(X, y, training=True)``: forward and backward on NumPy inputs; returns
      the loss, leaves ``grads`` filled and the output (a tensor) in ``out``.
    - ``params``, ``grads``: {handgrad name: tensor}, the live parameters and their gradients;
      ``set_params(named)``, ``set_grads(named)`` write arrays in (NumPy or tensors) by name;
      ``to_backend(a)``, ``to_numpy(t)`` move an array across.
    - ``grad_norm()``, ``clip_grad_norm(max_norm)``: PyTorch's own.
    - ``state_dict()``, ``load_state_dict(state)``: weights and buffers as NumPy, handgrad's
      names; ``optimizer(opt)``: torch.optim for handgrad optimizer ``opt``, behind handgrad's
      optimizer interface (``lr``, ``t``, ``step``, state dicts in handgrad's names).
    - ``evaluate``, ``predict_proba``, ``predict``, ``score``, ``check_X``, ``check_y``, ``rng``,
      ``spec``, ``task`` as the MLP's; ``sync()`` waits for the device.
    """

    def __init__(self, ref: MLP, device: str = "cpu") -> None:
        super().__init__(ref)
        if str(device).startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError(f"this PyTorch ({torch.__version__}) has no CUDA: install a CUDA "
                               "build of PyTorch (https://pytorch.org/get-started/locally/) on a "
                               "machine with an NVIDIA GPU, or use --device cpu")
        torch.manual_seed(self.framework_seed())    # dropout masks: torch's own generator
        self.net: TorchMLP = TorchMLP.from_numpy(ref).to(device)
        self.out: torch.Tensor | None = None

    @property
    def params(self) -> dict[str, torch.Tensor]:
        return {k: p.detach() for k, p in self.net.named_parameters()}

    @property
    def grads(self) -> dict[str, torch.Tensor | None]:
        return {k: p.grad for k, p in self.net.named_parameters()}

    @torch.no_grad()  # type: ignore[untyped-decorator]  # torch is read as Any
    def set_params(self, named: Mapping[str, ArrayLike | torch.Tensor]) -> None:
        for k, p in self.net.named_parameters():
            if k in named:
                p.copy_(torch.as_tensor(named[k], dtype=p.dtype, device=p.device))

    @torch.no_grad()  # type: ignore[untyped-decorator]  # torch is read as Any
    def set_grads(self, named: Mapping[str, ArrayLike | torch.Tensor]) -> None:
        for k, p in self.net.named_parameters():
            if k in named:
                g = torch.as_tensor(named[k], dtype=p.dtype, device=p.device)
                if p.grad is None:
                    p.grad = g.clone()
                else:
                    p.grad.copy_(g)

    def to_backend(self, a: ArrayLike) -> torch.Tensor:
        return torch.as_tensor(np.asarray(a), dtype=self.net.dtype, device=self.net.device)

    @staticmethod
    def to_numpy(t: torch.Tensor) -> np.ndarray:
        return to_numpy(t)

    def loss_and_grad(self, X: ArrayLike, y: ArrayLike, training: bool = True) -> float:
        net = self.net
        if net.training != training:
            net.train(training)
        net.zero_grad(set_to_none=False)
        out = net(net.tensor(X))
        loss = net.loss(out, net.tensor(y, labels=True))
        loss.backward()
        self.out = out.detach()
        return cast(float, loss.item())

    def grad_norm(self) -> float:
        return float(torch.sqrt(sum((p.grad.double() ** 2).sum() for p in self.net.parameters())))

    def clip_grad_norm(self, max_norm: float) -> float:
        return float(torch.nn.utils.clip_grad_norm_(self.net.parameters(), max_norm))

    def state_dict(self) -> dict[str, np.ndarray]:
        return self.net.numpy_state()

    def load_state_dict(self, state: Mapping[str, ArrayLike]) -> None:
        self.net.load_numpy_state(state)

    @torch.no_grad()  # type: ignore[untyped-decorator]  # torch is read as Any
    def eval_batch(self, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        self.net.eval()
        out = self.net(self.net.tensor(X))
        return self.net.loss(out, self.net.tensor(y, labels=True)).item(), to_numpy(out)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        return cast(np.ndarray, self.net.predict_proba(self.check_X(X)))

    def optimizer(self, opt: Optimizer) -> TrainableOptimizer:
        """torch.optim for handgrad optimizer ``opt``, behind handgrad's optimizer interface."""
        return TrainableOptimizer(self, opt)

    def sync(self) -> None:
        """Wait until the device has done what was asked of it (for a clock)."""
        if self.net.device.type == "cuda":
            torch.cuda.synchronize()


class TrainableOptimizer:
    """torch.optim behind handgrad's optimizer interface; its state dict uses handgrad's names."""

    def __init__(self, model: Trainable, opt: Optimizer) -> None:
        self.model, self.like = model, opt
        self.opt = framework_optimizer(opt, model.net)
        self.names = [k for k, _ in model.net.named_parameters()]
        self.t = 0

    @property
    def lr(self) -> float:
        return cast(float, self.opt.param_groups[0]["lr"])

    @lr.setter
    def lr(self, value: float) -> None:
        for group in self.opt.param_groups:
            group["lr"] = value

    def step(self, model: Trainable) -> None:
        self.opt.step()
        self.t += 1

    def state_dict(self) -> dict[str, Any]:
        sd = self.like.state_dict()
        state = self.opt.state_dict()["state"]
        sd.update(t=self.t, lr=self.lr, state={
            self.names[i]: {SLOTS[k]: to_numpy(v) for k, v in s.items() if k in SLOTS}
            for i, s in state.items()})
        return sd

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        self.t, self.lr = int(sd["t"]), float(sd["lr"])
        back = {v: k for k, v in SLOTS.items()}
        params = dict(self.model.net.named_parameters())
        for name, slots in sd["state"].items():
            state = {back[k]: torch.as_tensor(np.asarray(v), dtype=params[name].dtype,
                                              device=params[name].device) for k, v in slots.items()}
            if "exp_avg" in state:
                state["step"] = torch.tensor(float(self.t))
            self.opt.state[params[name]] = state
