"""One browser tab's playground: data, a handgrad MLP, an optimizer, and the frames sent.

Training goes one mini-batch at a time through ``trainer.Trainer``, whose batches are
handgrad's loop's exactly (the model's generator shuffles each epoch; forward, the
hand-written backward, the optimizer's step), so k epochs here are ``MLP.fit`` for k
epochs. A diverged run keeps the weights of the last picture sent and says at which step
it failed.

Nothing here knows about the server; a Session is driven by plain method calls.
"""

import math
import os
import tempfile
from typing import Any

import numpy as np

from ..history import History
from ..io import save_checkpoint
from ..mlp import MLP
from ..optim import make_optimizer
from .data import CSV, FEATURE_CODE, Points, Table, as_list, make_points, split, toy
from .data import features as feature_matrix
from .pictures import feature_pictures, neuron_pictures, output_picture, weights_of
from .trainer import Trainer

FRAME_SECONDS = 0.1           # a frame trains for at most this long, whatever the speed
CHECKPOINT_NAME = "handgrad-playground.safetensors"


def build_model(setup: dict[str, Any], n_inputs: int, n_outputs: int, task: str) -> MLP:
    """The MLP for ``setup``: hidden layers of the chosen activation, a softmax (or linear) output."""
    hidden = setup["hidden"]
    output = "softmax" if task == "classification" else "identity"
    loss = setup.get("loss", "cross_entropy") if task == "classification" else None
    norm = None if setup.get("norm", "none") == "none" else setup["norm"]
    return MLP([n_inputs, *hidden, n_outputs], [setup["activation"]] * len(hidden) + [output],
               seed=setup["seed"], norm=norm, dropout=setup.get("dropout", 0.0), loss=loss)


def finite(x: float | None) -> float | None:
    """A number for JSON: rounded, or None when it is NaN or infinite."""
    return None if x is None or not math.isfinite(x) else round(float(x), 6)


def evaluate(model: MLP, X: np.ndarray, t: np.ndarray) -> tuple[float | None, float | None]:
    """(loss, accuracy or None) of ``model`` on (X, t), in evaluation mode."""
    with np.errstate(all="ignore"):
        result = model.evaluate(X, t)
    return finite(result["loss"]), finite(result.get("accuracy"))


class Session:
    """A training run for one setup (checked by ``config.check_setup``)."""

    def __init__(self, setup: dict[str, Any], table: Table | None = None) -> None:
        self.table = table            # the user's CSV, parsed: (P, t, class names)
        self.configure(setup)

    # --- building ---------------------------------------------------------------------------

    def configure(self, setup: dict[str, Any], table: Table | None = None) -> None:
        """New settings (and data): rebuild the data and start training from scratch."""
        if table is not None:
            self.table = table
        points = make_points(setup, self.table)
        self.setup, self.points = setup, points
        U_train, t_train, U_test, t_test = split(points, setup["train"], setup["seed"])
        if setup.get("norm") == "batch" and len(U_train) % setup["batch_size"] == 1 \
                and len(U_train) > setup["batch_size"]:
            # batch norm needs 2 examples in every batch: the one that would be last and
            # alone moves to the test set
            U_test, t_test = np.concatenate([U_test, U_train[-1:]]), np.concatenate([t_test, t_train[-1:]])
            U_train, t_train = U_train[:-1], t_train[:-1]
        self.U_train, self.t_train, self.U_test, self.t_test = U_train, t_train, U_test, t_test
        self.X_train = feature_matrix(U_train, setup["features"])        # (n_train, d)
        self.X_test = feature_matrix(U_test, setup["features"])          # (n_test, d)
        self.reset()

    def reset(self) -> None:
        """Fresh weights (from the seed), a fresh optimizer and an empty history."""
        task, setup = self.points.task, self.setup
        n_out = self.points.n_classes if task == "classification" else 1
        self.model = build_model(setup, self.X_train.shape[1], n_out, task)
        self.optimizer = make_optimizer(setup["optimizer"], setup["lr"],
                                        weight_decay=setup["weight_decay"])
        self.pending: list[list[float | None]] = []   # loss points not yet sent
        self.trainer = Trainer(self.model, self.optimizer, self.X_train, self.t_train,
                               setup["batch_size"], on_epoch=self._epoch_done, l1=setup["l1"])
        self.pending.append(self.curve_point())

    def _epoch_done(self) -> None:
        self.pending.append(self.curve_point())

    @property
    def diverged(self) -> dict[str, Any] | None:
        d = self.trainer.diverged
        return None if d is None else {"type": "diverged", **d}

    @property
    def history(self) -> History:
        return self.trainer.history

    # --- training ---------------------------------------------------------------------------

    def advance(self, steps: int, seconds: float = FRAME_SECONDS) -> int:
        """Up to ``steps`` mini-batches (for at most about ``seconds``); returns the steps done."""
        kept = len(self.pending)
        done = self.trainer.run(steps, seconds)
        if self.trainer.diverged:                    # its epochs were undone: so are their points
            del self.pending[kept:]
        return done

    def set_weight(self, layer: int, row: int, col: int, value: float) -> None:
        """Set one weight W(layer)[row, col] (the page's click on a line) by hand."""
        W = self.model.layers[layer].W                          # (d_out, d_in)
        W[row, col] = value

    def curve_point(self) -> list[float | None]:
        """[epoch, train loss, test loss, train accuracy, test accuracy], in evaluation mode."""
        train_loss, train_acc = evaluate(self.model, self.X_train, self.t_train)
        test_loss, test_acc = evaluate(self.model, self.X_test, self.t_test)
        return [round(self.trainer.epoch, 4), train_loss, test_loss, train_acc, test_acc]

    # --- what the page gets -----------------------------------------------------------------

    def ready(self) -> dict[str, Any]:
        """The setup as built: points, feature pictures, the network's sizes."""
        p, s = self.points, self.setup
        return {
            "type": "ready", "setup": s, "task": p.task, "classes": p.n_classes,
            "class_names": self.class_names(),
            "layer_sizes": self.model.layer_sizes, "batch_size": self.trainer.batch_size,
            "steps_per_epoch": self.trainer.steps_per_epoch,
            "features": s["features"], "feature_pictures": feature_pictures(p.task),
            "train": as_list(self.U_train, self.t_train), "test": as_list(self.U_test, self.t_test),
            "params": self.model.count_params(), "model": repr(self.model),
            "optimizer": repr(self.optimizer),
        }

    def class_names(self) -> list[str]:
        """The classes' names: the CSV's labels, or 0, 1, … for a built-in dataset."""
        if self.points.task != "classification":
            return []
        if self.setup["dataset"] == CSV and self.table and self.table[2]:
            return list(self.table[2])
        return [str(k) for k in range(self.points.n_classes)]

    def frame(self) -> dict[str, Any]:
        """The current picture: losses, boundary, each neuron's output and the weights."""
        points, self.pending = self.pending, []
        now = self.curve_point()
        with np.errstate(all="ignore"):
            output = output_picture(self.model, self.setup, self.points.task)
            neurons = neuron_pictures(self.model, self.setup, self.points.task)
        return {
            "type": "frame", "epoch": len(self.history), "step": self.trainer.steps,
            "now": now, "train_loss": now[1], "test_loss": now[2],
            "train_accuracy": now[3], "test_accuracy": now[4], "curve": points,
            "output": output, "neurons": neurons, "weights": weights_of(self.model),
        }

    # --- export -----------------------------------------------------------------------------

    def checkpoint_bytes(self) -> bytes:
        """The trained network as a handgrad checkpoint (.safetensors bytes)."""
        extra = {"playground": self.setup, "scaling": self.scaling()}
        fd, path = tempfile.mkstemp(suffix=".safetensors")
        os.close(fd)
        try:
            save_checkpoint(path, self.model, optimizer=self.optimizer, history=self.history,
                            extra=extra)
            with open(path, "rb") as f:
                return f.read()
        finally:
            os.unlink(path)

    def scaling(self) -> dict[str, Any]:
        p = self.points
        return {"center": [float(c) for c in p.center], "scale": float(p.scale),
                "target_center": p.t_center, "target_scale": p.t_scale}

    def snippet(self, path: str = CHECKPOINT_NAME) -> str:
        """Python that reloads the checkpoint and predicts (see ``python_snippet``)."""
        names = self.table[2] if self.setup["dataset"] == CSV and self.table else None
        return python_snippet(self.setup, self.points, self.model.layer_sizes, path, names)


def data_code(setup: dict[str, Any]) -> list[str]:
    """Lines of Python that draw the same built-in dataset as the playground (P, t)."""
    name, n, noise, k, seed = (setup[key] for key in ("dataset", "points", "noise", "classes", "seed"))
    how = toy(name)
    args = ", ".join(f"{key}={round(v, 6) if isinstance(v, float) else v!r}"
                     for key, v in how.args(n, noise, k).items())
    lines = [f"rng = np.random.default_rng({seed})",
             f"P, t = handgrad.data.TOY[{name!r}]({args}, rng=rng)"]
    if how.jitter:
        lines.append(f"P = P + ({how.jitter!r} * {noise!r} * rng.standard_normal(P.shape))"
                     ".astype(np.float32)")
    return lines


def python_snippet(setup: dict[str, Any], points: Points, layer_sizes: list[int], path: str = CHECKPOINT_NAME,
                   class_names: list[str] | None = None) -> str:
    """A short script: load the checkpoint, build the features of a point, predict."""
    # 9 significant digits: more than the float32 features resolve
    s = f"{float(points.scale):.9g}"
    shift = [f"- {float(c):.9g}" if c >= 0 else f"+ {-float(c):.9g}" for c in points.center]
    cols = ", ".join(FEATURE_CODE[f] for f in setup["features"])
    regression = points.task == "regression"
    lines = [
        f"# The playground's network {layer_sizes}, trained on {setup['dataset']!r}.",
        "import numpy as np",
        "import handgrad.data",
        "from handgrad.io import load_model",
        "",
        f"model = load_model({path!r})",
        "",
        "",
        "def features(P):",
        '    """The network\'s inputs for points P (n, 2), or (n, 1) for a curve, in the data\'s units."""',
        f"    u = (P[:, 0] {shift[0]}) / {s}          # scaled into the playground's square",
    ]
    if not regression:
        lines.append(f"    v = (P[:, 1] {shift[1]}) / {s}")
    lines += [f"    return np.stack([{cols}], axis=1).astype(np.float32)", ""]
    if setup["dataset"] == "csv":
        cols_used = "(0,)" if regression else "(0, 1)"
        lines += ["", f"P = np.loadtxt('your-data.csv', delimiter=',', usecols={cols_used}, ndmin=2)"
                      "  # skiprows=1 for a header"]
        if class_names:
            lines.append("# classes: " + ", ".join(f"{i} = {n!r}" for i, n in enumerate(class_names)))
    else:
        lines += [""] + data_code(setup)
    if regression:
        lines += [f"y = model.predict(features(P)) * {points.t_scale:.9g} + {points.t_center:.9g}",
                  "print(y[:5])                                 # the fitted curve at the first points"]
    else:
        lines += ["print(model.predict(features(P))[:10])      # the class of the first points",
                  "print(model.predict_proba(features(P))[:3]) # and their probabilities"]
        if setup["dataset"] != "csv":
            lines.append("print('accuracy on all the points:', model.score(features(P), t))")
    return "\n".join(lines) + "\n"
