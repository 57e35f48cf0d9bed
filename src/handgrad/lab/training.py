"""How the lab trains: through ``handgrad.train.train``, the loop every other part uses, with a
notebook on the side; and the lessons' datasets.

``fit(model, X, y, steps=…, batch_size=…)`` runs ``train`` for as many epochs as the steps
need (an epoch is ⌈n / batch⌉ steps: its last short batch is kept) and records what the
lessons plot: every mini-batch loss and, every few steps, the loss and accuracy on data
held aside. The notebook is a ``Watched`` model: the loop calls its ``loss_and_grad`` once
per step, and it forwards everything else to the model. It never changes what is trained.
Numbers taken "at step t" are those after exactly t updates, even where the last epoch
runs a few steps past t.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..history import DivergenceError, History
from ..optim import SGD, Optimizer
from ..train import train
from .result import Skip


class Watched:
    """A model seen through the training loop (see the module's docstring).

    ``every``: evaluate on (X_eval, y_eval) after every ``every`` updates (and at step 0);
    ``at``: also after these step counts. ``on_step(t, model)`` is called with the model as
    it is after t updates, for t = 1, 2, … ``batch_acc``: also record each mini-batch's
    accuracy (an MLP classifier's, read off its output layer).
    """

    def __init__(self, model: Any, every: int = 0, X_eval: Any = None, y_eval: Any = None,
                 at: tuple[int, ...] = (), on_step: Callable[[int, Any], Any] | None = None,
                 steps: int | None = None, batch_acc: bool = False) -> None:
        self.model, self.every, self.at = model, every, set(at)
        self.X_eval, self.y_eval, self.on_step, self.steps = X_eval, y_eval, on_step, steps
        self.batch_acc = batch_acc
        self.losses: list[float] = []
        self.batch_accs: list[float] = []
        self.eval_steps: list[int] = []
        self.eval_loss: list[float] = []
        self.eval_acc: list[float] = []
        self.diverged_at: int | None = None
        self.history: History | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def _after(self, t: int) -> None:
        """Everything owed to the state after t updates."""
        if self.steps is not None and t > self.steps:
            return
        if self.on_step is not None and t > 0:
            self.on_step(t, self.model)
        if self.X_eval is not None and ((self.every and t % self.every == 0) or t in self.at
                                        or t == self.steps) and t not in self.eval_steps[-1:]:
            with np.errstate(all="ignore"):
                r = self.model.evaluate(self.X_eval, self.y_eval)
            self.eval_steps.append(t)
            self.eval_loss.append(float(r["loss"]))
            self.eval_acc.append(float(r.get("accuracy", math.nan)))

    def loss_and_grad(self, X: np.ndarray, y: np.ndarray) -> float:
        self._after(len(self.losses))
        loss = float(self.model.loss_and_grad(X, y))
        self.losses.append(loss)
        if self.batch_acc:
            out = self.model.layers[-1].a                               # (B, K) probabilities
            self.batch_accs.append(float(np.mean(out.argmax(axis=1) == y)))
        if not math.isfinite(loss) and self.diverged_at is None:
            self.diverged_at = len(self.losses)
        return loss

    def finish(self) -> None:
        """The evaluation and the call owed to the state after the last update."""
        if self.diverged_at is None:
            self._after(len(self.losses))

    def reached(self, test: Callable[[Watched], bool]) -> bool:
        return bool(self.eval_steps) and test(self)

    def loss_at(self, t: int) -> float:
        """The held-out loss after t updates (t one of the evaluated steps); NaN when the run
        diverged before reaching t."""
        if t not in self.eval_steps and self.diverged_at is not None and self.diverged_at <= t:
            return math.nan
        return self.eval_loss[self.eval_steps.index(t)]

    def acc_at(self, t: int) -> float:
        """The held-out accuracy after t updates; NaN when the run diverged before t."""
        if t not in self.eval_steps and self.diverged_at is not None and self.diverged_at <= t:
            return math.nan
        return self.eval_acc[self.eval_steps.index(t)]

    def first_step(self, test: Callable[[float], bool], what: str = "loss") -> int | None:
        """The first evaluated step at which ``test`` holds for the held-out loss or accuracy."""
        values = self.eval_loss if what == "loss" else self.eval_acc
        return next((s for s, v in zip(self.eval_steps, values) if test(v)), None)


def fit(model: Any, X: np.ndarray, y: np.ndarray, *, batch_size: int | None,
        steps: int | None = None, epochs: int | None = None, optimizer: Optimizer | None = None,
        lr: float | None = None, every: int = 0, X_eval: Any = None, y_eval: Any = None,
        at: tuple[int, ...] = (), on_step: Callable[[int, Any], Any] | None = None,
        stop: Callable[[Watched], bool] | None = None, schedule: Any = None,
        shuffle: bool = True, stop_on_divergence: bool = True,
        validation_data: tuple[Any, Any] | None = None, batch_acc: bool = False,
        callbacks: tuple[Callable[[Any, History], Any], ...] = ()) -> Watched:
    """Train ``model`` with ``handgrad.train.train`` for ``steps`` updates (or ``epochs``);
    returns the notebook (see ``Watched``). ``stop(notebook)``, asked after each epoch,
    ends training early; ``validation_data`` gives the history its per-epoch val_loss and
    val_accuracy, and ``callbacks`` are train's own (f(model, history) after each epoch). A
    loss that turns NaN or infinite ends it too, and ``diverged_at`` holds its step
    (``stop_on_divergence=False`` lets train's own watch, which also stops a loss 1000× its
    start, decide instead)."""
    n = len(X)
    if batch_size is None and steps is not None:
        # full-batch gradient descent: one "epoch" of the loop runs k identical full batches
        # (the data repeated k times, in order), so that thousands of steps do not pay for
        # thousands of epochs' bookkeeping; every step still sees all n examples once
        k = max(d for d in range(1, min(steps, max(1, 4096 // n)) + 1) if steps % d == 0)
        X, y, batch_size, shuffle = np.concatenate([X] * k), np.concatenate([y] * k), n, False
    per_epoch = math.ceil(len(X) / (batch_size or n))
    if epochs is None:
        if steps is None:
            raise ValueError("give steps or epochs")
        epochs = math.ceil(steps / per_epoch)
    watched = Watched(model, every, X_eval, y_eval, at, on_step, steps, batch_acc)
    hooks: list[Callable[[Any, History], Any]] = list(callbacks)
    if stop is not None:
        hooks.append(lambda m, h: stop(watched))
    if steps is not None:
        hooks.append(lambda m, h: len(watched.losses) >= steps)
    if optimizer is None:
        optimizer = SGD(0.1 if lr is None else lr)
    try:
        with np.errstate(all="ignore"):        # overflow is what some experiments are about
            watched.history = train(watched, X, y, epochs=epochs, batch_size=batch_size,
                                    optimizer=optimizer, callbacks=hooks, schedule=schedule,
                                    shuffle=shuffle, validation_data=validation_data,
                                    divergence_factor=None if stop_on_divergence else 1e3)
    except DivergenceError:
        if watched.diverged_at is None:                       # train's own watch stopped it
            watched.diverged_at = len(watched.losses)
        return watched
    watched.finish()
    return watched


def memo(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Keep ``fn``'s results for the rest of the process, by its arguments as bound to its
    signature (so f(1) and f(1, lr=0.05) are the same call). Several claims look at the same
    training runs; a run is deterministic in its arguments, so computing it once changes no
    number."""
    sig = inspect.signature(fn)
    kept: dict[tuple[Any, ...], Any] = {}

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        key = tuple(bound.arguments.items())
        if key not in kept:
            kept[key] = fn(*args, **kwargs)
        return kept[key]

    wrapped.cache_clear = kept.clear  # type: ignore[attr-defined]
    return wrapped


# --- the lessons' data ------------------------------------------------------------------------

def lesson_blobs(seed: int, n: int = 1024, d: int = 4, k: int = 3,
                 spread: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """The blob data of the by-hand lesson: k centres ~ N(0, 3²) in d dimensions, n points
    each N(centre, 1), labels uniform over the k classes (1,024 points in 4-D, 3 classes)."""
    rng = np.random.default_rng((seed, 1))          # apart from the model's own seed
    centres = rng.standard_normal((k, d)) * spread                  # (k, d)
    y = rng.integers(0, k, n)                                        # (n,)
    X = rng.standard_normal((n, d)) + centres[y]                     # (n, d)
    return X.astype(np.float32), y.astype(np.int64)


def lesson_quadrants(seed: int, n: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """The quadrant task of the primitives lesson: n points from a unit Gaussian in 2-D,
    labelled by quadrant (0: x > 0, y > 0; 1: x < 0, y > 0; 2: both < 0; 3: x > 0, y < 0)."""
    rng = np.random.default_rng((seed, 2))
    X = rng.standard_normal((n, 2))                                  # (n, 2)
    right, up = X[:, 0] > 0, X[:, 1] > 0
    y = np.select([right & up, ~right & up, ~right & ~up], [0, 1, 2], default=3)
    return X.astype(np.float32), y.astype(np.int64)


def noisy_xor(seed: int, per_corner: int = 50, noise: float = 0.35) -> tuple[np.ndarray, np.ndarray]:
    """XOR as clouds: points around the corners (±1, ±1), class 1 where x·y < 0 (the two
    opposite quadrants of one class), jittered by N(0, noise²)."""
    rng = np.random.default_rng((seed, 3))
    corners = np.array([[1, 1], [-1, -1], [-1, 1], [1, -1]], dtype=np.float64)   # (4, 2)
    which = np.repeat(np.arange(4), per_corner)                      # (n,)
    X = corners[which] + noise * rng.standard_normal((len(which), 2))
    y = (which >= 2).astype(np.int64)                                # corners 2, 3: x·y < 0
    return X.astype(np.float32), y


@dataclass
class Data:
    """A train/test split of a real dataset."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])


MNIST_NEEDS = "MNIST"


@functools.lru_cache(maxsize=1)
def _mnist_arrays(where: str) -> tuple[np.ndarray, ...]:
    from ..data import load_mnist
    return tuple(load_mnist(allow_download=False))


def mnist(n_train: int | None = None, n_test: int | None = None) -> Data:
    """MNIST (60,000 training and 10,000 test images, pixels in [0, 1]), the first
    ``n_train`` / ``n_test`` of each split. Where it is not found, the experiment is skipped
    with the reason and the way to get it: no other dataset stands in for it."""
    try:
        where = "|".join(os.environ.get(k, "") for k in ("HANDGRAD_DATA", "XDG_CACHE_HOME", "HOME"))
        X, y, Xt, yt = _mnist_arrays(where)
    except FileNotFoundError as e:
        where = " ".join(str(e).split())
        raise Skip(f"needs MNIST, which was not found: {where}") from None
    return Data("MNIST", X[:n_train], y[:n_train], Xt[:n_test], yt[:n_test])


def seeds_for(quick: bool, seed: int = 0, full: int = 10, fast: int = 5) -> list[int]:
    """The seeds a stochastic claim is measured over: 10 in full, 5 with --quick (never
    fewer than 5), starting at ``seed``."""
    return list(range(seed, seed + (fast if quick else full)))
