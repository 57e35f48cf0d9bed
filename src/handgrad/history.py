"""What a training run records: its ``History``, one row per epoch, and the error that stops a
run whose loss diverges. Floor 2, beside the loop that writes them and the checkpoints that
keep them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class DivergenceError(FloatingPointError):
    """Training stopped because the loss turned NaN or infinite, or exploded.

    ``step`` is the optimizer step whose loss it was (1 for the first), ``lr`` the learning
    rate of that step and ``epoch`` its epoch (from 1); the message says all three in words.
    """

    def __init__(self, message: str, step: int | None = None, lr: float | None = None,
                 epoch: int | None = None) -> None:
        super().__init__(message)
        self.step, self.lr, self.epoch = step, lr, epoch

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled whole (a worker process hands it to the launcher), attributes included."""
        return type(self), (str(self), self.step, self.lr, self.epoch)


class History:
    """One dict per epoch: epoch, train_loss, val_loss, val_accuracy, lr, grad_norm, seconds.

    train_loss is the mean over the epoch's examples; lr and grad_norm are those of
    the epoch's last step (the norm before any clipping).
    """

    def __init__(self, rows: Iterable[dict[str, Any]] | None = None) -> None:
        self.rows: list[dict[str, Any]] = list(rows or [])
        self.interrupted = False
        self.stopped_early = False

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    def column(self, key: str) -> list[Any]:
        return [row.get(key) for row in self.rows]

    def best_epoch(self, key: str = "val_loss") -> int | None:
        values = [(row[key], row["epoch"]) for row in self.rows if row.get(key) is not None]
        return min(values)[1] if values else None

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.rows[i]

    def __repr__(self) -> str:
        return f"History({len(self.rows)} epochs)"
