"""The training loop: one loop for ``MLP.fit``, the command line and the estimators.

    for each epoch:
        shuffle (model.rng) → for each mini-batch: forward, backward, clip, step
        → validate → record the history → early stopping → checkpoint → callbacks

A loss that becomes NaN or infinite — or that explodes to more than
``divergence_factor`` (1000) times its starting value — stops training with the
step, the learning rate and a hint, and puts back the weights (and optimizer
state) of the end of the last whole epoch — the same state the last checkpoint holds. Ctrl-C does
the same, saves that state as a checkpoint and returns cleanly; a run resumed
from it repeats the interrupted epoch exactly as the uninterrupted run would.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
from numpy.typing import ArrayLike

from .history import DivergenceError, History
from .io import load_tensors, save_checkpoint, save_tensors
from .optim import SGD, clip_grad_norm, global_norm

__all__ = ["train", "History", "DivergenceError"]


class Model(Protocol):
    """What the loop needs of a model: the MLP has it, and so has a twin from
    ``handgrad.twins.trainable`` (which also brings its own ``grad_norm`` and
    ``clip_grad_norm``)."""

    rng: np.random.Generator        # shuffles the examples

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Parameters by name, which the optimizer changes in place."""

    @property
    def grads(self) -> dict[str, np.ndarray]:
        """Gradients by parameter name, filled by ``loss_and_grad``."""

    def check_X(self, X: ArrayLike) -> np.ndarray:
        """X as a 2-D array the model takes, or a ValueError saying what is wrong."""

    def check_y(self, y: ArrayLike, n: int | None = None) -> np.ndarray:
        """Targets in the form the loss takes, or a ValueError saying what is wrong."""

    def loss_and_grad(self, X: np.ndarray, y: np.ndarray) -> float:
        """One forward and backward pass on a batch: the loss, with the gradients filled."""

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """The loss (and accuracy) in evaluation mode."""

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the weights and buffers by name."""

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Put weights and buffers back from a state dict."""


class WeightedModel(Model, Protocol):
    """A model that weights its examples: what the loop needs when given sample_weight."""

    def loss_and_grad(self, X: np.ndarray, y: np.ndarray,
                      sample_weight: np.ndarray | None = None) -> float:
        """loss_and_grad with each example's loss weighted (a weighted mean)."""


class Stepper(Protocol):
    """What the loop needs of an optimizer: a handgrad optimizer, or a twin's stand-in."""

    lr: float                       # set before each step when there is a schedule
    t: int                          # steps taken

    def step(self, model: Any) -> None:
        """One update of every parameter from the current gradients."""

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters, step count and per-parameter state."""

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        """Put the state back."""


# what an epoch changes, as it was when the epoch began: weights, optimizer, generator, rows
Snap = tuple[dict[str, np.ndarray], dict[str, Any], Mapping[str, Any], int]


def _line(row: dict[str, Any], epochs: int) -> str:
    parts = [f"epoch {row['epoch']:>3}/{epochs}", f"loss {row['train_loss']:.4f}"]
    if "val_loss" in row:
        parts.append(f"val_loss {row['val_loss']:.4f}")
    if "val_accuracy" in row:
        parts.append(f"val_acc {100 * row['val_accuracy']:.2f}%")
    parts += [f"lr {row['lr']:.3g}", f"|g| {row['grad_norm']:.3g}", f"{row['seconds']:.2f}s"]
    return "  ".join(parts)


def _snapshot(model: Model, optimizer: Stepper, history: History) -> Snap:
    """Everything an epoch changes, as it was when the epoch began."""
    return (model.state_dict(), optimizer.state_dict(), model.rng.bit_generator.state,
            len(history))


def _restore(model: Model, optimizer: Stepper, history: History, snap: Snap) -> None:
    model.load_state_dict(snap[0])
    optimizer.load_state_dict(snap[1])
    model.rng.bit_generator.state = snap[2]
    del history.rows[snap[3]:]          # an epoch interrupted after its row was written


def batch_bounds(n: int, batch_size: int, smallest: int = 1) -> list[tuple[int, int]]:
    """The (start, stop) rows of each batch of an epoch: batches of ``batch_size``, the last
    one short. A last batch below ``smallest`` rows joins the one before it (BatchNorm needs
    2 rows for a batch's variance), so every example is still seen once an epoch."""
    bounds = [(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < smallest:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


def smallest_batch(model: Model) -> int:
    """2 for a model with a BatchNorm layer (read from its spec), 1 otherwise."""
    norms = getattr(model, "spec", {}).get("norm") or []
    return 2 if "batch" in (norms if isinstance(norms, list) else [norms]) else 1


def train(model: Model, X: ArrayLike, y: ArrayLike, *, epochs: int,
          lr: float | None = None, optimizer: Stepper | None = None,
          schedule: Callable[[int], float] | None = None, batch_size: int | None = None,
          shuffle: bool | Callable[[int], np.ndarray] = True,
          validation_data: tuple[ArrayLike, ArrayLike] | None = None,
          early_stopping: int | None = None, clip_norm: float | None = None,
          callbacks: Sequence[Callable[[Any, History], Any]] = (), verbose: bool = False,
          progress: bool = False, checkpoint: str | Path | None = None,
          history: History | None = None, log: Callable[[str], Any] = print,
          extra: Mapping[str, Any] | None = None,
          divergence_factor: float | None = 1e3, learning_rate: float | None = None,
          sample_weight: ArrayLike | None = None) -> History:
    """Train ``model`` on (X, y) until ``epochs`` epochs are in the history; returns the History.

    lr               plain SGD at this rate (default 0.1) when no optimizer is given
                     (``learning_rate``, the seed API's word for it, is taken too)
    optimizer        a handgrad optimizer, which carries its own rate (give one or the other)
    schedule         a function of the step count t that sets optimizer.lr before each step
    batch_size       None is the full batch; a last short batch is kept (a last single row
                     joins the batch before it in a model with BatchNorm)
    shuffle          True: a new order from model.rng each epoch; False: the data's order; or
                     a function f(n) returning each epoch's order (the scikit-learn estimators
                     pass scikit-learn's own shuffle)
    validation_data  (X_val, y_val): val_loss (and val_accuracy) after each epoch
    early_stopping   patience in epochs without a lower val_loss; the best weights are put back
    clip_norm        clip the global gradient norm to this before each step
    callbacks        functions f(model, history) called after each epoch; True stops training
    checkpoint       a path: the state is saved there after each epoch and on Ctrl-C
    history          a History to continue (resume): training starts at epoch len(history) + 1
    extra            JSON-able facts saved in each checkpoint's metadata (the recipe, say)
    divergence_factor  stop when a batch's loss exceeds this many times the run's first loss,
                     or exceeds that first loss and this many times the lowest epoch mean so
                     far (None: only NaN and infinity stop)
    sample_weight    (n,) weights of the examples: each batch's go to
                     model.loss_and_grad(xb, yb, sample_weight=wb); a batch whose weights are
                     all zero carries no gradient and is skipped

    X may also be a SciPy sparse matrix when the model takes one (its rows are taken by
    indexing).
    """
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer; got {epochs!r}")
    if lr is not None and learning_rate is not None:
        raise ValueError("give the learning rate once: lr or learning_rate (the same thing)")
    lr = learning_rate if lr is None else lr
    if optimizer is not None and lr is not None:
        raise ValueError("give either lr (for plain SGD) or an optimizer, which "
                         "carries its own rate — not both")
    if divergence_factor is not None and not divergence_factor > 1:
        raise ValueError(f"divergence_factor must be above 1 (or None); got {divergence_factor!r}")
    X = model.check_X(X)
    n = X.shape[0]
    y = model.check_y(y, n)
    w = None if sample_weight is None else np.asarray(sample_weight)
    if w is not None and w.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},), one weight per example; "
                         f"got {w.shape}")
    if batch_size is None:
        batch_size = n
    if (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
            or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer or None; got {batch_size!r}")
    batch_size = min(int(batch_size), n)
    if early_stopping is not None and validation_data is None:
        raise ValueError("early_stopping needs validation_data")
    if validation_data is not None:
        X_val = model.check_X(validation_data[0])
        y_val = model.check_y(validation_data[1], len(X_val))
    if optimizer is None:
        optimizer = SGD(0.1 if lr is None else lr)
    history = History() if history is None else history
    batches = batch_bounds(n, batch_size, smallest=smallest_batch(model))
    steps_per_epoch = len(batches)
    bar = progress_bar(progress, steps_per_epoch)
    say = (bar.write if bar is not None else log) if (verbose or progress) else None

    best = _best_so_far(history, model, checkpoint) if early_stopping else None
    watch = _DivergenceWatch(divergence_factor, history)
    snap = None
    grad_norm = math.nan
    try:
        for epoch in range(len(history), epochs):
            snap = _snapshot(model, optimizer, history)
            start = time.perf_counter()
            order = None
            if shuffle:
                order = shuffle(n) if callable(shuffle) else model.rng.permutation(n)
            if bar is not None:
                bar.reset()
                bar.set_description(f"epoch {epoch + 1}/{epochs}")
            total_loss = 0.0
            for s, e in batches:
                idx: Any = slice(s, e)
                if order is not None:
                    # X.take is NumPy's fast row copy: 0.08 ms for 128 MNIST rows, where
                    # take(..., out=buffer) goes a generic path 3x slower (measured)
                    idx = order[s:e]
                    xb, yb = _rows(X, idx), y.take(idx, axis=0)   # (B, d_in), (B,) or (B, K)
                else:
                    xb, yb = X[idx], y[idx]                          # views, no copy
                wb = None if w is None else w[idx]                   # (B,)
                if wb is not None and not wb.sum() > 0:
                    continue                                         # no weight: no gradient
                if schedule is not None:
                    optimizer.lr = schedule(optimizer.t)
                with np.errstate(over="ignore", invalid="ignore"):   # a bad loss is reported below
                    loss = (model.loss_and_grad(xb, yb) if wb is None else
                            cast(WeightedModel, model).loss_and_grad(xb, yb, sample_weight=wb))
                why = watch.check(loss)
                if why:
                    step = optimizer.t + 1
                    _restore(model, optimizer, history, snap)
                    raise DivergenceError(
                        f"{why} at step {step} (epoch {epoch + 1}) with learning "
                        f"rate {optimizer.lr:g}; the weights from the start of epoch {epoch + 1}, "
                        "the last good ones, are back in place. Hint: lower the learning rate "
                        "(try a tenth), clip the gradients (clip_norm=1.0) or standardize the "
                        "inputs.", step=step, lr=optimizer.lr, epoch=epoch + 1)
                last = e >= n
                if clip_norm is not None or last:    # the norm costs a pass over every gradient
                    grad_norm = _clip_or_measure(model, clip_norm)
                with np.errstate(over="ignore", invalid="ignore"):   # the next loss tells
                    optimizer.step(model)
                total_loss += loss * xb.shape[0]
                if bar is not None:
                    bar.update()
            row = {"epoch": epoch + 1, "train_loss": total_loss / n, "lr": optimizer.lr,
                   "grad_norm": grad_norm,
                   "seconds": time.perf_counter() - start}
            if validation_data is not None:
                row.update({f"val_{k}": v for k, v in model.evaluate(X_val, y_val).items()})
            history.append(row)
            watch.end_epoch(row["train_loss"])
            if say:
                say(_line(row, epochs))
            stop = False
            if early_stopping and best is not None:
                stop = best.update(row, model, early_stopping)
            if checkpoint is not None:
                _save(checkpoint, model, optimizer, schedule, history, extra)
            for callback in callbacks:
                stop = bool(callback(model, history)) or stop
            if stop:
                break
    except KeyboardInterrupt:
        if snap is not None:
            _restore(model, optimizer, history, snap)
        history.interrupted = True
        if checkpoint is not None:
            _save(checkpoint, model, optimizer, schedule, history, extra)
        if say:
            say(f"interrupted: kept the state after epoch {len(history)}"
                + (f", saved to {checkpoint}" if checkpoint is not None else ""))
    finally:
        if bar is not None:
            bar.close()
    if best is not None and best.stopped:
        history.stopped_early = True
        best.restore(model)
        if say:
            say(f"early stopping: no better val_loss for {early_stopping} epochs; "
                f"restored the weights of epoch {best.epoch}")
    return history


def _rows(X: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of X: NumPy's fast take, or indexing for a SciPy sparse matrix."""
    return X.take(idx, axis=0) if isinstance(X, np.ndarray) else X[idx]


class _DivergenceWatch:
    """Says why a batch's loss means the run diverged: it is not finite, or it exceeds
    factor × the run's first loss, or it exceeds that first loss and factor × the lowest
    epoch mean so far (a loss that came down and then blew up)."""

    def __init__(self, factor: float | None, history: History) -> None:
        self.factor = factor
        means = [row["train_loss"] for row in history.rows]
        self.start = means[0] if means else None          # a resumed run keeps its start
        self.lowest = min(means) if means else math.inf

    def end_epoch(self, mean_loss: float) -> None:
        self.lowest = min(self.lowest, mean_loss)

    def check(self, loss: float) -> str | None:
        if not math.isfinite(loss):
            return f"the loss became {loss}"
        if self.start is None:
            self.start = loss
        if self.factor is None:
            return None
        if loss > self.factor * self.start:
            return (f"the loss exploded to {loss:.3g}, more than {self.factor:g}x its starting "
                    f"value {self.start:.3g}")
        if loss > self.start and loss > self.factor * self.lowest:
            return (f"the loss exploded to {loss:.3g}, above its starting value {self.start:.3g} "
                    f"and more than {self.factor:g}x its lowest epoch mean {self.lowest:.3g}")
        return None


class _Best:
    """The lowest val_loss so far, its epoch and weights (early stopping)."""

    def __init__(self, loss: float = math.inf, epoch: int | None = None,
                 state: dict[str, np.ndarray] | None = None, path: str | None = None) -> None:
        self.loss, self.epoch, self.state, self.path = loss, epoch, state, path
        self.stopped = False

    def update(self, row: dict[str, Any], model: Model, patience: int) -> bool:
        if row["val_loss"] < self.loss:
            self.loss, self.epoch, self.state = row["val_loss"], row["epoch"], model.state_dict()
            if self.path is not None:    # the best weights outlive this process, for a resume
                save_tensors(self.path, self.state, {"epoch": self.epoch})
        elif row["epoch"] - self.epoch >= patience:
            self.stopped = True
        return self.stopped

    def restore(self, model: Model) -> None:
        if self.state is None and self.path is not None:   # best epoch predates a resume
            self.state = load_tensors(self.path)[0]
        if self.state is not None:
            model.load_state_dict(self.state)


def _best_file(checkpoint: str | Path | None) -> str | None:
    if checkpoint is None:
        return None
    return str(checkpoint).replace(".safetensors", "") + ".best.safetensors"


def _best_so_far(history: History, model: Model, checkpoint: str | Path | None) -> _Best:
    epoch = history.best_epoch("val_loss")
    if epoch is None:
        return _Best(path=_best_file(checkpoint))
    loss = history[epoch - 1]["val_loss"]
    state = model.state_dict() if epoch == len(history) else None
    return _Best(loss, epoch, state, _best_file(checkpoint))


def _clip_or_measure(model: Any, clip_norm: float | None) -> float:
    """The global gradient norm (for the history), clipping first when asked.

    A twin (handgrad.twins) brings its framework's own clipping and norm.
    """
    if clip_norm is not None:
        if hasattr(model, "clip_grad_norm"):
            return cast(float, model.clip_grad_norm(clip_norm))
        return clip_grad_norm(model.grads, clip_norm)
    return model.grad_norm() if hasattr(model, "grad_norm") else global_norm(model.grads)


def _save(path: str | Path, model: Model, optimizer: Stepper, schedule: Any, history: History,
          extra: Mapping[str, Any] | None = None) -> None:
    save_checkpoint(path, model, optimizer=optimizer, schedule=schedule, history=history,
                    extra=extra)


def progress_bar(progress: bool, total: int, unit: str = "batch", desc: str | None = None) -> Any:
    """A tqdm bar of ``total`` ``unit``s on a terminal; None without ``progress`` (or without
    tqdm: it is a dependency, but the loops work without it)."""
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    # disable=None: off when the output is not a terminal
    return tqdm(total=total, unit=unit, desc=desc, leave=False, dynamic_ncols=True, disable=None)
