"""Training one mini-batch at a time, so that the page can step a single batch and set the
speed in batches per frame.

The batches are handgrad's loop's (``handgrad.train.train``) exactly: at the start of each
epoch the examples are shuffled by the model's own generator, ``model.rng.permutation(n)``,
and cut into batches of ``batch_size`` in that order, the last one short; each batch is one
``model.loss_and_grad`` (forward and the hand-written backward) and one ``optimizer.step``.
An L1 penalty (``l1``, λ) adds λ sign(θ) to every parameter's gradient before the step
(``handgrad.nn.penalties.add_penalties``); the loss shown stays the data's loss. L2 is the
optimizer's ``weight_decay``.
So k epochs of steps here leave the same weights, to the last bit, as ``model.fit`` for k
epochs with the same optimizer (a test holds them equal).

A loss that is not finite, or that explodes past 1000 times the first one (the loop's own
rule), stops training: the weights, the optimizer and the generator go back to where they
were when ``run`` began — the weights of the picture the page shows — and ``diverged``
says at which step.
"""

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..history import History
from ..mlp import MLP
from ..nn.penalties import add_penalties
from ..optim import Optimizer
from ..train import batch_bounds, smallest_batch

DIVERGENCE_FACTOR = 1e3      # the training loop's default: a loss 1000x its start has exploded

# what ``run`` puts back: model and optimizer states, the generator's state, the cursor, the
# epoch's order, its loss so far, the history's length, the first and lowest losses
Snapshot = tuple[dict[str, np.ndarray], dict[str, Any], Mapping[str, Any], int, np.ndarray | None,
                 float, int, float | None, float]


class Exploded(FloatingPointError):
    """A batch's loss broke the divergence rule; the message says how."""


class Trainer:
    """A model, its optimizer and its training data, stepped one mini-batch at a time."""

    def __init__(self, model: MLP, optimizer: Optimizer, X: np.ndarray, y: np.ndarray, batch_size: int,
                 on_epoch: Callable[[], None] | None = None, l1: float = 0.0) -> None:
        self.model, self.optimizer = model, optimizer
        self.l1 = l1
        self.on_epoch = on_epoch                                # called as each epoch ends
        self.X, self.y = X, y                                   # (n, d), (n,) or (n, 1)
        self.n = len(X)
        self.batch_size = min(int(batch_size), self.n)
        bounds = batch_bounds(self.n, self.batch_size, smallest=smallest_batch(model))
        self.stops = dict(bounds)                               # batch start -> its stop
        self.steps_per_epoch = len(bounds)
        self.history = History()
        self.order: np.ndarray | None
        self.cursor, self.order = 0, None                      # where in this epoch's order
        self.epoch_loss = 0.0                                   # Σ batch loss · batch size
        self.first_loss: float | None
        self.first_loss, self.lowest = None, math.inf
        self.diverged: dict[str, Any] | None = None

    @property
    def steps(self) -> int:
        return self.optimizer.t

    @property
    def epoch(self) -> float:
        """Epochs done, with the fraction of the current one: 2.5 is half-way through the third."""
        return len(self.history) + self.cursor / self.n

    def step(self) -> float:
        """One mini-batch: forward, backward, update; returns its loss. A loss past the
        divergence rule raises ``Exploded`` before any update."""
        if self.cursor == 0:
            self.order = self.model.rng.permutation(self.n)    # (n,) a new epoch's order
            self.epoch_loss = 0.0
        idx = self.order[self.cursor:self.stops[self.cursor]]  # type: ignore[index]  # (B,); set at cursor 0
        xb, yb = self.X.take(idx, axis=0), self.y.take(idx, axis=0)         # (B, d), (B,)
        with np.errstate(all="ignore"):
            loss = float(self.model.loss_and_grad(xb, yb))
        why = self._exploded(loss)
        if why:
            raise Exploded(why)
        with np.errstate(all="ignore"):
            if self.l1:
                add_penalties(self.model.params, self.model.grads, l1=self.l1)   # + λ sign θ
            self.optimizer.step(self.model)
        self.cursor += len(idx)
        self.epoch_loss += loss * len(idx)
        if self.cursor >= self.n:                               # the epoch is done
            mean = self.epoch_loss / self.n
            self.history.append({"epoch": len(self.history) + 1, "train_loss": mean,
                                 "lr": self.optimizer.lr})
            self.lowest = min(self.lowest, mean)
            self.cursor = 0
            if self.on_epoch is not None:
                self.on_epoch()
        return loss

    def _exploded(self, loss: float) -> str | None:
        """Why ``loss`` means the run diverged (the training loop's rule), or None."""
        if not math.isfinite(loss):
            return f"the loss became {loss}"
        if self.first_loss is None:
            self.first_loss = loss
        if loss > DIVERGENCE_FACTOR * self.first_loss:
            return (f"the loss exploded to {loss:.3g}, more than {DIVERGENCE_FACTOR:g}x its "
                    f"starting value {self.first_loss:.3g}")
        if loss > self.first_loss and loss > DIVERGENCE_FACTOR * self.lowest:
            return (f"the loss exploded to {loss:.3g}, above its start and more than "
                    f"{DIVERGENCE_FACTOR:g}x its lowest epoch mean {self.lowest:.3g}")
        return None

    def run(self, steps: int, seconds: float = math.inf) -> int:
        """Up to ``steps`` mini-batches, stopping early after ``seconds`` (one at least).
        Returns the steps done; on divergence, puts back the state ``run`` began with."""
        if self.diverged:
            return 0
        snap = self._snapshot()
        start, done = time.perf_counter(), 0
        while done < steps and (done == 0 or time.perf_counter() - start < seconds):
            try:
                self.step()
            except Exploded as e:
                step, epoch = self.optimizer.t + 1, len(self.history) + 1
                self._restore(snap)
                self.diverged = {"step": step, "epoch": epoch, "reason": str(e),
                                 "message": f"Diverged at step {step} (epoch {epoch}): {e} "
                                            f"with learning rate {self.optimizer.lr:g}. The picture "
                                            "shows the last good weights; lower the learning "
                                            "rate and press reset."}
                break
            done += 1
        return done

    def _snapshot(self) -> Snapshot:
        return (self.model.state_dict(), self.optimizer.state_dict(),
                self.model.rng.bit_generator.state, self.cursor,
                None if self.order is None else self.order.copy(), self.epoch_loss,
                len(self.history), self.first_loss, self.lowest)

    def _restore(self, snap: Snapshot) -> None:
        state, opt, rng, self.cursor, self.order, self.epoch_loss, rows, first, low = snap
        self.model.load_state_dict(state)
        self.optimizer.load_state_dict(opt)
        self.model.rng.bit_generator.state = rng
        del self.history.rows[rows:]
        self.first_loss, self.lowest = first, low
