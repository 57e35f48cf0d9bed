"""Optimizers, learning-rate schedules and gradient clipping, defined as PyTorch defines them.

An optimizer updates any model that exposes ``params`` and ``grads``: dicts
from a name to an array, the same names in both. Parameters change in place;
the optimizer keeps its state (velocities, moments) under the same names.

    opt = Adam(lr=1e-3)
    model.forward(X); model.backward(y)
    opt.step(model)

Each update below is ``torch.optim``'s, in the same order, so the PyTorch twin
agrees number for number.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np


def _number(what: str, value: Any, *, low: float | None = None, high: float | None = None,
            low_open: bool = False, high_open: bool = False, integer: bool = False) -> Any:
    """``value`` when it is a finite number in the range, else a ValueError naming ``what``.

    As torch.optim does, every hyperparameter is checked when the optimizer or schedule is
    made, not when a step first uses it."""
    kind = "an integer" if integer else "a finite number"
    ok = (isinstance(value, (int, np.integer)) if integer else
          isinstance(value, (int, float, np.integer, np.floating)))
    ok = ok and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        bounds = []
        if low is not None:
            bounds.append(f"{'above' if low_open else 'at least'} {low:g}")
        if high is not None:
            bounds.append(f"{'below' if high_open else 'at most'} {high:g}")
        raise ValueError(f"{what} must be {kind}" + (f" {' and '.join(bounds)}" if bounds else "")
                         + f"; got {value!r}")
    return value


class Parametrized(Protocol):
    """What an optimizer updates: a model or module with ``params`` and ``grads``."""

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Parameters by name, changed in place by ``step``."""

    @property
    def grads(self) -> dict[str, np.ndarray]:
        """Gradients by name: the same names and shapes as ``params``."""


class Optimizer:
    """Base class: the step count ``t``, per-parameter ``state`` and its state dict.

    ``name`` is the optimizer's key in OPTIMIZERS (the twins look up their own lines by it),
    ``label`` how a page shows it."""

    name = ""
    label = ""
    hyper: tuple[str, ...] = ()   # names of the hyperparameters saved in the state dict

    def __init__(self, lr: float) -> None:
        self.lr = _number("learning rate", lr, low=0)

        self.t = 0          # steps taken
        self.state: dict[str, dict[str, np.ndarray]] = {}   # parameter name -> {slot: array}
        self._buffers: dict[str, np.ndarray] = {}  # name -> scratch array (not state: never saved)

    def update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        """Change parameter ``p`` in place from its gradient ``g``; each optimizer defines it."""
        raise NotImplementedError(f"{type(self).__name__} defines no update")

    def step(self, model: Parametrized) -> None:
        """One update of every parameter of ``model`` from its current gradients."""
        self.t += 1
        grads = model.grads
        for name, p in model.params.items():
            self.update(name, p, grads[name])

    def buffer(self, name: str, like: np.ndarray) -> np.ndarray:
        """A scratch array shaped like the parameter, made once: updates allocate nothing."""
        buf = self._buffers.get(name)
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
            buf = self._buffers[name] = np.empty_like(like)
        return buf

    def slot(self, name: str, key: str, like: np.ndarray) -> np.ndarray:
        """The state array ``key`` of parameter ``name``, made as zeros on first use."""
        slots = self.state.setdefault(name, {})
        if key not in slots:
            slots[key] = np.zeros_like(like)
        return slots[key]

    def state_dict(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "t": self.t, "lr": self.lr,
                "hyper": {k: getattr(self, k) for k in self.hyper},
                "state": {name: {k: a.copy() for k, a in slots.items()}
                          for name, slots in self.state.items()}}

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        if sd["type"] != type(self).__name__:
            raise ValueError(f"optimizer state is for {sd['type']}, not {type(self).__name__}")
        self.t, self.lr = int(sd["t"]), float(sd["lr"])
        for k, v in sd["hyper"].items():
            setattr(self, k, tuple(v) if isinstance(v, list) else v)
        self.state = {name: {k: np.array(a) for k, a in slots.items()}
                      for name, slots in sd["state"].items()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in ("lr",) + self.hyper)
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov and L2 weight decay.

        g ← g + λθ                      (weight_decay λ: L2 added to the gradient)
        v ← μv + g                      (momentum μ; v starts as the first g)
        d = g + μv if nesterov else v
        θ ← θ - lr·d

    This is PyTorch's convention: the learning rate stays outside the velocity.
    scikit-learn and many lessons write v ← μv - lr·g, θ ← θ + v; the two agree
    while lr is constant and differ once a schedule changes it.
    """

    name, label = "sgd", "SGD"
    hyper = ("momentum", "nesterov", "weight_decay")

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        super().__init__(lr)
        _number("momentum", momentum, low=0, high=1, high_open=True)
        _number("weight_decay", weight_decay, low=0)
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        self.momentum, self.nesterov, self.weight_decay = momentum, nesterov, weight_decay

    def update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p                  # (…) L2: a new array, grads stay intact
        if self.momentum:
            slots = self.state.setdefault(name, {})
            if "velocity" not in slots:
                slots["velocity"] = g.copy()               # PyTorch starts v at the first gradient
            else:
                v = slots["velocity"]
                v *= self.momentum                          # in place: μv
                v += g                                      # in place: μv + g
            v = slots["velocity"]
            g = g + self.momentum * v if self.nesterov else v
        step = self.buffer(name, p)
        np.multiply(g, self.lr, out=step)                   # lr·g, into a buffer made once
        p -= step                                           # in place


class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba), as torch.optim.Adam.

        g ← g + λθ                       (weight_decay: L2 in the gradient, PyTorch's Adam)
        m ← β1 m + (1-β1) g              first moment
        v ← β2 v + (1-β2) g²             second moment
        θ ← θ - lr/(1-β1ᵗ) · m / (√v / √(1-β2ᵗ) + ε)

    ε is added after the square root of the bias-corrected second moment.
    Bias correction makes the first step θ ← θ - lr·g/(|g| + ε): about lr per
    coordinate whatever the gradient's scale. (MLX's optimizers default to no
    bias correction; the MLX twin passes ``bias_correction=True`` to agree.)
    """

    name, label = "adam", "Adam"
    hyper = ("betas", "eps", "weight_decay")

    def __init__(self, lr: float = 1e-3, betas: Sequence[float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(lr)
        if len(tuple(betas)) != 2:
            raise ValueError(f"betas must be two numbers (β1, β2); got {betas!r}")
        for i, beta in enumerate(betas, 1):
            _number(f"β{i} (betas[{i - 1}])", beta, low=0, high=1, high_open=True)
        _number("eps", eps, low=0, low_open=True)
        _number("weight_decay", weight_decay, low=0)
        self.betas, self.eps, self.weight_decay = tuple(betas), eps, weight_decay

    def update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p                  # L2, coupled with the adaptive scaling
        self.adam_step(name, p, g)

    def adam_step(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        b1, b2 = self.betas
        m = self.slot(name, "m", p)
        v = self.slot(name, "v", p)
        buf = self.buffer(name, p)                         # one scratch array: no allocation
        m *= b1
        np.multiply(g, 1 - b1, out=buf)
        m += buf                                           # m = β1 m + (1-β1) g
        v *= b2
        np.multiply(g, g, out=buf)
        buf *= 1 - b2
        v += buf                                           # v = β2 v + (1-β2) g²
        step_size = self.lr / (1 - b1 ** self.t)
        np.sqrt(v, out=buf)
        buf /= math.sqrt(1 - b2 ** self.t)
        buf += self.eps                                    # √v̂ + ε
        np.divide(m, buf, out=buf)
        buf *= step_size
        p -= buf                                           # θ -= lr/(1-β1ᵗ) · m / (√v̂ + ε)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW.

        θ ← θ - lr·λ·θ          decay first, scaled by the learning rate,
        θ ← Adam step on θ      using the plain gradient (no λθ in g).

    Lessons often write the decay after the Adam step (θ ← θ - lr(m̂/(√v̂+ε) + λθ));
    PyTorch and MLX shrink θ first, so the decay term uses θ before the step.
    The two differ by lr²λ·(Adam step) per update. Unlike Adam's L2 term,
    the decay is not divided by √v̂, so every weight shrinks at the same rate.
    """

    name, label = "adamw", "AdamW"

    def __init__(self, lr: float = 1e-3, betas: Sequence[float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01) -> None:
        super().__init__(lr, betas, eps, weight_decay)

    def update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        if self.weight_decay:
            p *= 1 - self.lr * self.weight_decay            # in place: decoupled decay
        self.adam_step(name, p, g)


class Preset:
    """A named setting of an optimizer class: OPTIMIZERS["momentum"] is SGD with momentum 0.9.

    Called like the class, ``preset(lr, **settings)``; its own settings fill in those not
    given (or given as 0 or False), so ``momentum`` with momentum=0.5 is SGD(momentum=0.5).
    """

    def __init__(self, cls: type[Optimizer], label: str, **settings: Any) -> None:
        self.cls, self.label, self.settings = cls, label, settings

    def __call__(self, lr: float, **settings: Any) -> Optimizer:
        filled = {k: v for k, v in self.settings.items() if not settings.get(k)}
        return self.cls(lr, **{**settings, **filled})

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings.items())
        return f"Preset({self.cls.__name__}, {args})"


# The one table of optimizer names: the command line, the page, the twins and the tests read
# it. An optimizer is a class above (with its name and label) and a line here; a preset names
# a setting of one ("momentum", "nesterov" are SGD's), and needs no line of its own in a twin.
OPTIMIZERS: dict[str, type[Optimizer] | Preset] = {
    "sgd": SGD,
    "momentum": Preset(SGD, "Momentum", momentum=0.9),
    "nesterov": Preset(SGD, "Nesterov", momentum=0.9, nesterov=True),
    "adam": Adam,
    "adamw": AdamW,
}


def optimizer_names() -> list[str]:
    """The optimizers' names, presets included, in table order."""
    return list(OPTIMIZERS)


def optimizer_class(name: str) -> type[Optimizer]:
    """The class an optimizer name builds: optimizer_class("nesterov") is SGD."""
    entry = OPTIMIZERS[name]
    return entry.cls if isinstance(entry, Preset) else entry


def _settings(cls: type[Optimizer]) -> list[str]:
    return [k for k in inspect.signature(cls.__init__).parameters if k not in ("self", "lr")]


def optimizer_settings(name: str) -> list[str]:
    """The settings (keyword arguments besides lr) the optimizer ``name`` takes."""
    return _settings(optimizer_class(str(name).lower()))


def make_optimizer(name: str, lr: float, **settings: Any) -> Optimizer:
    """An optimizer from its name in OPTIMIZERS ("sgd", "momentum", "nesterov", "adam", …).

    ``settings`` are the optimizer's keyword arguments (momentum, nesterov, weight_decay,
    betas, eps). One that this optimizer does not take is ignored (momentum for Adam), and
    None means the optimizer's own default — for ``weight_decay``, PyTorch's: 0 for SGD and
    Adam (L2, added to the gradient), 0.01 for AdamW (decoupled).
    """
    key = str(name).lower()
    if key not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; valid names: {', '.join(OPTIMIZERS)}")
    known = {k for n in OPTIMIZERS for k in _settings(optimizer_class(n))}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise TypeError(f"no optimizer takes {', '.join(unknown)}; the settings are "
                        f"{', '.join(sorted(known))}")
    takes = _settings(optimizer_class(key))
    return OPTIMIZERS[key](lr, **{k: v for k, v in settings.items()
                                  if v is not None and k in takes})


def optimizer_from_state(sd: Mapping[str, Any]) -> Optimizer:
    """Rebuild an optimizer (hyperparameters and state) from its state dict."""
    cls = {c.__name__: c for c in map(optimizer_class, OPTIMIZERS)}[sd["type"]]
    opt = cls(lr=sd["lr"], **{k: tuple(v) if isinstance(v, list) else v
                              for k, v in sd["hyper"].items()})
    opt.load_state_dict(sd)
    return opt


# --- learning-rate schedules: a function of the number of steps taken ---------------

class Schedule:
    """lr = schedule(t), t = optimizer steps taken so far (0 for the first step).

    One in SCHEDULES has its ``name`` there, a ``label`` for a page, and ``planned``: the
    schedule over a run of ``total_steps`` that starts after ``warmup_steps`` of warm-up.
    """

    name = ""
    label = ""

    @classmethod
    def planned(cls, lr: float, total_steps: int, warmup_steps: int = 0) -> Schedule:
        """This schedule over a whole run (a schedule that plans nothing keeps the rate)."""
        return Constant(lr)

    def __call__(self, t: int) -> float:
        """The learning rate for step t; each schedule defines it."""
        raise NotImplementedError(f"{type(self).__name__} defines no rate")

    def state_dict(self) -> dict[str, Any]:
        return {"type": type(self).__name__, **self.__dict__}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"


class Constant(Schedule):
    def __init__(self, lr: float) -> None:
        self.lr: float = _number("learning rate", lr, low=0)

    def __call__(self, t: int) -> float:
        return self.lr


class StepDecay(Schedule):
    """lr · γ^⌊t / step_size⌋ (PyTorch's StepLR, counted in steps)."""

    name, label = "step", "step decay"

    @classmethod
    def planned(cls, lr: float, total_steps: int, warmup_steps: int = 0) -> StepDecay:
        """A tenth of the rate after each third of the run."""
        return cls(lr, max(1, total_steps // 3), 0.1)

    def __init__(self, lr: float, step_size: int, gamma: float = 0.1) -> None:
        _number("learning rate", lr, low=0)
        _number("step_size", step_size, low=1, integer=True)
        _number("gamma", gamma, low=0, low_open=True)
        self.lr, self.step_size, self.gamma = lr, int(step_size), gamma

    def __call__(self, t: int) -> float:
        return self.lr * self.gamma ** (t // self.step_size)


class Cosine(Schedule):
    """min_lr + (lr - min_lr)·(1 + cos(π·t/total))/2, then min_lr (CosineAnnealingLR)."""

    name, label = "cosine", "cosine"

    @classmethod
    def planned(cls, lr: float, total_steps: int, warmup_steps: int = 0) -> Cosine:
        """Down to 0 over the steps after the warm-up."""
        return cls(lr, max(1, total_steps - warmup_steps))

    def __init__(self, lr: float, total_steps: int, min_lr: float = 0.0) -> None:
        _number("learning rate", lr, low=0)
        _number("total_steps", total_steps, low=1, integer=True)
        _number("min_lr", min_lr, low=0, high=lr)
        self.lr, self.total_steps, self.min_lr = lr, int(total_steps), min_lr

    def __call__(self, t: int) -> float:
        frac = min(t, self.total_steps) / self.total_steps
        return self.min_lr + (self.lr - self.min_lr) * (1 + math.cos(math.pi * frac)) / 2


class Warmup(Schedule):
    """Linear warm-up to ``after(0)`` over ``warmup_steps``, then ``after(t - warmup_steps)``.

    During warm-up lr = after(0)·(t + 1)/warmup_steps, so the first step is
    not taken at lr 0.
    """

    def __init__(self, after: Schedule | float, warmup_steps: int) -> None:
        self.after = after if isinstance(after, Schedule) else Constant(after)
        self.warmup_steps = int(_number("warmup_steps", warmup_steps, low=0, integer=True))

    def __call__(self, t: int) -> float:
        if t < self.warmup_steps:
            return self.after(0) * (t + 1) / self.warmup_steps
        return self.after(t - self.warmup_steps)

    def state_dict(self) -> dict[str, Any]:
        return {"type": "Warmup", "after": self.after.state_dict(),
                "warmup_steps": self.warmup_steps}


# The one table of schedule names; "none" (or "constant") is no schedule and no entry.
SCHEDULES: dict[str, type[Schedule]] = {"cosine": Cosine, "step": StepDecay}
NO_SCHEDULE = ("none", "constant")


def schedule_names() -> list[str]:
    """The schedules' names, in table order ("none" is not one of them)."""
    return list(SCHEDULES)


def make_schedule(name: str | None, lr: float, total_steps: int,
                  warmup_steps: int = 0) -> Schedule | None:
    """The schedule ``name`` over a run of ``total_steps``, after a linear warm-up of
    ``warmup_steps`` (None: a constant rate and no warm-up)."""
    key = None if name is None else str(name).lower()
    if key is not None and key not in NO_SCHEDULE and key not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; valid names: "
                         f"{', '.join([*SCHEDULES, 'none'])}")
    schedule = SCHEDULES[key].planned(lr, total_steps, warmup_steps) if key in SCHEDULES else None
    if warmup_steps:
        return Warmup(schedule or Constant(lr), warmup_steps)
    return schedule


def schedule_from_state(sd: Mapping[str, Any]) -> Schedule:
    """Rebuild a schedule from its state dict."""
    sd = dict(sd)
    cls = {c.__name__: c for c in (Constant, StepDecay, Cosine, Warmup)}[sd.pop("type")]
    if cls is Warmup:
        return Warmup(schedule_from_state(sd["after"]), sd["warmup_steps"])
    return cls(**sd)


def global_norm(grads: dict[str, np.ndarray] | Iterable[np.ndarray]) -> float:
    """√(Σ ‖g‖²) over every gradient array (dict values or a list)."""
    arrays = grads.values() if isinstance(grads, dict) else grads
    return math.sqrt(sum(float(np.dot(g.ravel(), g.ravel())) for g in arrays))


def clip_grad_norm(grads: dict[str, np.ndarray] | Iterable[np.ndarray],
                   max_norm: float) -> float:
    """Scale all gradients in place so their global norm is at most ``max_norm``.

    As torch.nn.utils.clip_grad_norm_: factor min(1, max_norm / (norm + 1e-6)).
    Returns the norm before clipping.
    """
    norm = global_norm(grads)
    factor = max_norm / (norm + 1e-6)
    if factor < 1:
        for g in (grads.values() if isinstance(grads, dict) else grads):
            g *= factor
    return norm
