"""The optimizer race: two to four optimizers train the same network from the same initial
weights on the same data, in the same batch order, live, a few mini-batches per frame.

Each racer is a handgrad MLP with an optimizer from ``handgrad.optim.make_optimizer`` (any
registered name), stepped by ``trainer.Trainer``. The models are built from one seed, so
their weights and their generators (the batch order) start equal; the first model's weights
are also copied into the others, to make that plain. A racer that diverges stops with its
last good picture while the others go on; the race pauses by itself at ``epochs``.
"""

import math
from typing import Any

import numpy as np

from ..optim import OPTIMIZERS, make_optimizer
from .data import Table, as_list, make_points, split
from .data import features as feature_matrix
from .pictures import inputs_of, pack01
from .session import FRAME_SECONDS, build_model, evaluate
from .trainer import Trainer

RACE_GRID = 40          # cells per side of each racer's boundary


class RaceSession:
    """A race for settings checked by ``config.check_race``; driven like a ``Session``."""

    def __init__(self, settings: dict[str, Any], table: Table | None = None) -> None:
        self.configure(settings)

    def configure(self, settings: dict[str, Any], table: Table | None = None) -> None:
        self.setup = settings
        points = make_points(settings)
        U_train, t_train, U_test, t_test = split(points, settings["train"], settings["seed"])
        self.U_train, self.t_train, self.U_test, self.t_test = U_train, t_train, U_test, t_test
        self.X_train = feature_matrix(U_train, settings["features"])        # (n_train, d)
        self.X_test = feature_matrix(U_test, settings["features"])          # (n_test, d)
        self.X_grid = inputs_of(settings, "classification", RACE_GRID)      # (G², d)
        self.classes = points.n_classes
        self.reset()

    def reset(self) -> None:
        s, K, d = self.setup, self.classes, self.X_train.shape[1]
        first = build_model(s, d, K, "classification")
        start = first.state_dict()
        self.layer_sizes = first.layer_sizes
        self.racers: list[tuple[str, Trainer]]
        self.pending: list[list[list[float | None]]]   # each racer's curve points not yet sent
        self.racers, self.pending = [], []
        for i, name in enumerate(s["optimizers"]):
            model = build_model(s, d, K, "classification")
            model.load_state_dict(start)                                    # the same start
            optimizer = make_optimizer(name, s[f"lr_{name}"])
            trainer = Trainer(model, optimizer, self.X_train, self.t_train, s["batch_size"],
                              # (mypy cannot type a lambda with a default argument)
                              on_epoch=lambda i=i: self.pending[i].append(self.curve_point(i)))  # type: ignore[misc]
            self.racers.append((name, trainer))
            self.pending.append([self.curve_point(i)])

    @property
    def trainers(self) -> list[Trainer]:
        return [t for _, t in self.racers]

    @property
    def epoch(self) -> float:
        """The race's epoch: the furthest racer's (a diverged one stops where it was)."""
        return max(t.epoch for t in self.trainers)

    @property
    def finished(self) -> bool:
        """Every racer reached the last epoch or diverged."""
        return all(t.diverged or len(t.history) >= self.setup["epochs"] for t in self.trainers)

    @property
    def diverged(self) -> None:
        return None             # a racer's divergence stops that racer, not the race

    def advance(self, steps: int, seconds: float = FRAME_SECONDS) -> int:
        """``steps`` mini-batches for every racer still running (time shared between them)."""
        left = [(i, t) for i, t in enumerate(self.trainers)
                if not t.diverged and len(t.history) < self.setup["epochs"]]
        done = 0
        for i, t in left:
            # never past the last epoch: stop where it ends
            to_end = (self.setup["epochs"] - len(t.history)) * t.steps_per_epoch - \
                math.ceil(t.cursor / t.batch_size)
            kept = len(self.pending[i])
            done = max(done, t.run(min(steps, to_end), seconds / max(1, len(left))))
            if t.diverged:                   # its epochs were undone: so are their points
                del self.pending[i][kept:]
        return done

    def curve_point(self, i: int) -> list[float | None]:
        """[epoch, train loss, test loss, test accuracy] of racer i, in evaluation mode."""
        t = self.trainers[i]
        train_loss, _ = evaluate(t.model, self.X_train, self.t_train)
        test_loss, test_acc = evaluate(t.model, self.X_test, self.t_test)
        return [round(t.epoch, 4), train_loss, test_loss, test_acc]

    def ready(self) -> dict[str, Any]:
        s = self.setup
        return {"type": "ready", "setup": s, "classes": self.classes, "task": "classification",
                "layer_sizes": self.layer_sizes, "grid": RACE_GRID, "epochs": s["epochs"],
                "steps_per_epoch": self.trainers[0].steps_per_epoch,
                "racers": [{"name": name, "label": OPTIMIZERS[name].label, "lr": s[f"lr_{name}"],
                            "optimizer": repr(t.optimizer)} for name, t in self.racers],
                "train": as_list(self.U_train, self.t_train),
                "test": as_list(self.U_test, self.t_test)}

    def frame(self) -> dict[str, Any]:
        """Each racer's boundary, its losses now and its curve points not yet sent."""
        racers = []
        for i, (name, t) in enumerate(self.racers):
            now = self.curve_point(i)
            with np.errstate(all="ignore"):
                picture = pack01(t.model.predict_proba(self.X_grid))       # (G², K)
            racers.append({"name": name, "epoch": now[0], "step": t.steps, "now": now,
                           "train_loss": now[1], "test_loss": now[2], "test_accuracy": now[3],
                           "curve": self.pending[i], "picture": picture, "diverged": t.diverged})
            self.pending[i] = []
        return {"type": "frame", "epoch": round(self.epoch, 4),
                "step": max(t.steps for t in self.trainers), "racers": racers,
                "finished": self.finished}
