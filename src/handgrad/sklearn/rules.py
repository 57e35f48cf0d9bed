"""scikit-learn's two update rules, as handgrad optimizers (``handgrad.optim.Optimizer``).

scikit-learn defines SGD with momentum and Adam differently from PyTorch, whose
definitions ``handgrad.optim`` follows; the estimators keep scikit-learn's,
because matching scikit-learn is their contract:

- Momentum. scikit-learn keeps the learning rate inside the velocity,
  v ← μv − ηg, θ ← θ + v; PyTorch keeps it outside, v ← μv + g, θ ← θ − ηv.
  With a constant η both take the same steps; once η changes ("invscaling",
  "adaptive", a warm-up) scikit-learn's velocity still carries the old rates.
- Adam's ε. scikit-learn adds ε to √v before the bias correction,
  θ ← θ − η·√(1−β2ᵗ)/(1−β1ᵗ) · m/(√v + ε); PyTorch adds it to the corrected
  √v̂ = √v/√(1−β2ᵗ). scikit-learn's ε acts as PyTorch's ε/√(1−β2ᵗ): about
  32 times larger at the first step (β2 = 0.999), the same after a few
  thousand steps.

Each update is written in scikit-learn's floating-point operations, so from the
same weights and batches the numbers are its own. On NumPy arrays it runs in
place, in scratch arrays made once (a large layer's Adam step allocates
nothing); on a twin's arrays (PyTorch tensors, MLX arrays) it is written with
arithmetic operators only, its state starting from the first gradient (what
zeros would give) in the parameters' own kind of array.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, cast

import numpy as np

from ..optim import Optimizer, Parametrized


def _sqrt(x: Any) -> Any:
    return np.sqrt(x) if isinstance(x, np.ndarray) else x.sqrt()


def to_numpy(a: Any) -> np.ndarray:
    """A NumPy copy of a NumPy, PyTorch or MLX array."""
    if isinstance(a, np.ndarray):
        return cast(np.ndarray, a.copy())
    if hasattr(a, "detach"):                              # a PyTorch tensor, on any device
        return cast(np.ndarray, a.detach().cpu().numpy().copy())
    return np.array(memoryview(a))                        # an MLX array: its buffer


class ScikitLearnRule(Optimizer):
    """What the two rules share: state dicts in NumPy whatever arrays the state is in."""

    def state_dict(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "t": self.t, "lr": self.lr,
                "hyper": {k: getattr(self, k) for k in self.hyper},
                "state": {name: {k: to_numpy(a) for k, a in slots.items()}
                          for name, slots in self.state.items()}}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_buffers": {}}            # scratch arrays are not pickled

    def map_state(self, fn: Callable[[np.ndarray], Any]) -> None:
        """Apply ``fn`` to every state array: NumPy to a twin's arrays, and back."""
        self.state = {name: {k: fn(a) for k, a in slots.items()}
                      for name, slots in self.state.items()}

    def iteration_ends(self, time_step: int) -> None:
        """Called after every epoch with the number of examples seen so far."""

    def trigger_stopping(self, msg: str, verbose: bool | int) -> bool:
        """The stopping rule fired: True stops training."""
        if verbose:
            print(msg + " Stopping.")
        return True


class ScikitLearnSGD(ScikitLearnRule):
    """scikit-learn's SGD with momentum (its ``SGDOptimizer``).

        v ← μ v − η g                     the learning rate inside the velocity
        θ ← θ + v                         plain momentum
        θ ← θ + μ v − η g                 Nesterov (with the new v)

    ``learning_rate`` is scikit-learn's η: "invscaling" sets it to
    η0 / (t + 1)^power_t after each epoch (t: examples seen); "adaptive" divides
    it by 5 whenever the stopping rule fires, and stops once it is ≤ 1e-6. ``lr``
    is the rate of the next step: η, times the warm-up or cosine factor when the
    estimator's schedule sets it.
    """

    hyper = ("learning_rate", "learning_rate_init", "lr_schedule", "momentum", "nesterov",
             "power_t")

    def __init__(self, learning_rate_init: float = 0.1, lr_schedule: str = "constant",
                 momentum: float = 0.9, nesterov: bool = True, power_t: float = 0.5) -> None:
        super().__init__(learning_rate_init)
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule, self.momentum, self.power_t = lr_schedule, momentum, power_t
        self.nesterov = nesterov

    def update(self, name: str, p: Any, g: Any) -> None:
        if isinstance(p, np.ndarray):
            self.update_in_place(name, p, g)
            return
        slots = self.state.setdefault(name, {})
        lr_g = g * self.lr                                    # η g
        v = slots.get("velocity")
        if v is None:
            v = slots["velocity"] = -lr_g                     # v ← μ·0 − η g
        else:
            v *= self.momentum
            v -= lr_g                                         # v ← μ v − η g
        if self.nesterov:
            p += self.momentum * v - lr_g                     # θ ← θ + μ v − η g
        else:
            p += v                                            # θ ← θ + v

    def update_in_place(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        """The same update on NumPy arrays, in two scratch arrays."""
        v = self.slot(name, "velocity", p)
        lr_g, step = self.buffer(name, p), self.buffer(name + " step", p)
        np.multiply(g, self.lr, out=lr_g)                     # η g
        v *= self.momentum
        v -= lr_g                                             # v ← μ v − η g
        if self.nesterov:
            np.multiply(v, self.momentum, out=step)
            step -= lr_g
            p += step                                         # θ ← θ + μ v − η g
        else:
            p += v                                            # θ ← θ + v

    def _set_rate(self, rate: float) -> None:
        self.learning_rate = self.lr = rate

    def iteration_ends(self, time_step: int) -> None:
        if self.lr_schedule == "invscaling":
            self._set_rate(float(self.learning_rate_init) / (time_step + 1) ** self.power_t)

    def trigger_stopping(self, msg: str, verbose: bool | int) -> bool:
        if self.lr_schedule != "adaptive":
            return super().trigger_stopping(msg, verbose)
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self._set_rate(self.learning_rate / 5.0)
        if verbose:
            print(f"{msg} Setting learning rate to {self.learning_rate:f}")
        return False


class ScikitLearnAdam(ScikitLearnRule):
    """scikit-learn's Adam (its ``AdamOptimizer``).

        m ← β1 m + (1 − β1) g             first moment
        v ← β2 v + (1 − β2) g²            second moment
        θ ← θ − η √(1 − β2ᵗ)/(1 − β1ᵗ) · m / (√v + ε)

    ε is added to √v before the bias correction (PyTorch, and ``handgrad.optim.Adam``,
    add it after). ``lr`` is η (times the warm-up or cosine factor); after each step
    ``learning_rate`` holds scikit-learn's corrected rate η √(1 − β2ᵗ)/(1 − β1ᵗ).
    scikit-learn's "invscaling" and "adaptive" do not apply to Adam; the stopping
    rule stops.
    """

    hyper = ("learning_rate", "learning_rate_init", "beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate_init: float = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8) -> None:
        super().__init__(learning_rate_init)
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def step(self, model: Parametrized) -> None:
        t = self.t + 1
        self.learning_rate = (self.lr * math.sqrt(1 - self.beta_2 ** t)
                              / (1 - self.beta_1 ** t))       # η √(1 − β2ᵗ)/(1 − β1ᵗ)
        super().step(model)

    def update(self, name: str, p: Any, g: Any) -> None:
        if isinstance(p, np.ndarray):
            self.update_in_place(name, p, g)
            return
        b1, b2 = self.beta_1, self.beta_2
        slots = self.state.setdefault(name, {})
        if "m" not in slots:
            slots["m"] = (1 - b1) * g                         # m ← β1·0 + (1 − β1) g
            slots["v"] = (1 - b2) * (g * g)                   # v ← β2·0 + (1 − β2) g²
        else:
            m, v = slots["m"], slots["v"]
            m *= b1
            m += (1 - b1) * g                                 # m ← β1 m + (1 − β1) g
            v *= b2
            v += (1 - b2) * (g * g)                           # v ← β2 v + (1 − β2) g²
        m, v = slots["m"], slots["v"]
        p += -self.learning_rate * m / (_sqrt(v) + self.epsilon)   # θ ← θ − η_t m / (√v + ε)

    def update_in_place(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        """The same update on NumPy arrays, in two scratch arrays."""
        b1, b2 = self.beta_1, self.beta_2
        m, v = self.slot(name, "m", p), self.slot(name, "v", p)
        tmp, step = self.buffer(name, p), self.buffer(name + " step", p)
        m *= b1
        np.multiply(g, 1 - b1, out=tmp)
        m += tmp                                              # m ← β1 m + (1 − β1) g
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - b2
        v += tmp                                              # v ← β2 v + (1 − β2) g²
        np.sqrt(v, out=tmp)
        tmp += self.epsilon                                   # √v + ε
        np.multiply(m, -self.learning_rate, out=step)
        step /= tmp
        p += step                                             # θ ← θ − η_t m / (√v + ε)


def trigger_stopping(rule: Optimizer, msg: str, verbose: bool | int) -> bool:
    """The stopping rule fired: scikit-learn's rules decide ("adaptive" lowers η); others stop."""
    if isinstance(rule, ScikitLearnRule):
        return rule.trigger_stopping(msg, verbose)
    if verbose:
        print(msg + " Stopping.")
    return True
