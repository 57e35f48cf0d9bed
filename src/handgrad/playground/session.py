"""One browser tab's training run: data, a handgrad MLP, an optimizer, and the frames sent.

Training goes through handgrad's own loop (``handgrad.train.train``) one epoch at a
time, so what the page shows is what ``MLP.fit`` does: shuffled mini-batches from
the model's generator, forward, the hand-written backward, the optimizer's step,
and its divergence watch. A diverged run keeps the weights of the last good epoch
(the loop puts them back) and says at which step it failed.

Nothing here knows about the server; a Session is driven by plain method calls.
"""

import math
import os
import re
import tempfile
import time

import numpy as np

from ..history import DivergenceError, History
from ..io import save_checkpoint
from ..mlp import MLP
from ..optim import make_optimizer
from ..train import train
from .data import FEATURE_CODE, as_list, make_points, split
from .data import features as feature_matrix
from .pictures import feature_pictures, neuron_pictures, output_picture, weights_of

FRAME_SECONDS = 0.04          # training time per frame while playing
MAX_EPOCHS_PER_FRAME = 20     # and at most this many epochs per frame
CHECKPOINT_NAME = "handgrad-playground.safetensors"


def build_model(setup, n_inputs, n_outputs, task):
    """The MLP for ``setup``: hidden layers of the chosen activation, a softmax (or linear) output."""
    hidden = setup["hidden"]
    output = "softmax" if task == "classification" else "identity"
    loss = "mse" if task == "classification" and setup.get("loss") == "mse" else None
    norm = None if setup.get("norm", "none") == "none" else setup["norm"]
    return MLP([n_inputs, *hidden, n_outputs], [setup["activation"]] * len(hidden) + [output],
               seed=setup["seed"], norm=norm, dropout=setup.get("dropout", 0.0), loss=loss)


def divergence_step(error):
    """The step a DivergenceError names ("... at step 12 ..."), or None."""
    found = re.search(r"at step (\d+)", str(error))
    return int(found.group(1)) if found else None


def _finite(x):
    return None if x is None or not math.isfinite(x) else round(float(x), 6)


class Session:
    """A training run for one setup (checked by ``config.check_setup``)."""

    def __init__(self, setup, table=None):
        self.table = table            # the user's CSV, parsed: (P, t, class names)
        self.configure(setup)

    # --- building ---------------------------------------------------------------------------

    def configure(self, setup, table=None):
        """New settings (and data): rebuild the data and start training from scratch."""
        if table is not None:
            self.table = table
        points = make_points(setup, self.table)
        self.setup, self.points = setup, points
        U_train, t_train, U_test, t_test = split(points, setup["train"], setup["seed"])
        if setup.get("norm") == "batch" and len(U_train) % setup["batch"] == 1 \
                and len(U_train) > setup["batch"]:
            # batch norm needs 2 examples in every batch: the one that would be last and
            # alone moves to the test set
            U_test, t_test = np.concatenate([U_test, U_train[-1:]]), np.concatenate([t_test, t_train[-1:]])
            U_train, t_train = U_train[:-1], t_train[:-1]
        self.U_train, self.t_train, self.U_test, self.t_test = U_train, t_train, U_test, t_test
        self.X_train = feature_matrix(U_train, setup["features"])        # (n_train, d)
        self.X_test = feature_matrix(U_test, setup["features"])          # (n_test, d)
        self.reset()

    def reset(self):
        """Fresh weights (from the seed), a fresh optimizer and an empty history."""
        task, setup = self.points.task, self.setup
        n_out = self.points.n_classes if task == "classification" else 1
        self.model = build_model(setup, self.X_train.shape[1], n_out, task)
        self.optimizer = make_optimizer(setup["optimizer"], setup["lr"], weight_decay=setup["l2"])
        self.history = History()
        self.batch = min(setup["batch"], len(self.X_train))
        self.diverged = None
        self.pending = [self._curve_point()]     # loss points not yet sent

    # --- training ---------------------------------------------------------------------------

    def train_epoch(self):
        """One epoch through handgrad's training loop; False when the loss diverged."""
        if self.diverged:
            return False
        try:
            with np.errstate(all="ignore"):
                train(self.model, self.X_train, self.t_train, epochs=len(self.history) + 1,
                      optimizer=self.optimizer, batch_size=self.batch, history=self.history,
                      log=None)
        except DivergenceError as e:
            step = divergence_step(e) or self.optimizer.t + 1
            self.diverged = {"type": "diverged", "step": step, "epoch": len(self.history) + 1,
                             "message": f"Diverged at step {step}: {e}"}
            return False
        self.pending.append(self._curve_point())
        return True

    def advance(self, seconds=FRAME_SECONDS, max_epochs=MAX_EPOCHS_PER_FRAME):
        """Train whole epochs for about ``seconds`` (at least one); returns the epochs done."""
        start, done = time.perf_counter(), 0
        while done < max_epochs and (done == 0 or time.perf_counter() - start < seconds):
            if not self.train_epoch():
                break
            done += 1
        return done

    def _evaluate(self, X, t):
        with np.errstate(all="ignore"):
            result = self.model.evaluate(X, t)
        return _finite(result["loss"]), _finite(result.get("accuracy"))

    def _curve_point(self):
        """[epoch, train loss, test loss, train accuracy, test accuracy], in evaluation mode."""
        train_loss, train_acc = self._evaluate(self.X_train, self.t_train)
        test_loss, test_acc = self._evaluate(self.X_test, self.t_test)
        return [len(self.history), train_loss, test_loss, train_acc, test_acc]

    # --- what the page gets -----------------------------------------------------------------

    def ready(self):
        """The setup as built: points, feature pictures, the network's sizes."""
        p, s = self.points, self.setup
        return {
            "type": "ready", "setup": s, "task": p.task, "classes": p.n_classes,
            "layer_sizes": self.model.layer_sizes, "batch": self.batch,
            "features": s["features"], "feature_pictures": feature_pictures(p.task),
            "train": as_list(self.U_train, self.t_train), "test": as_list(self.U_test, self.t_test),
            "params": self.model.count_params(),
        }

    def frame(self):
        """The current picture: losses, boundary, each neuron's output and the weights."""
        points, self.pending = self.pending, []
        last = points[-1] if points else self._curve_point()
        with np.errstate(all="ignore"):
            output = output_picture(self.model, self.setup, self.points.task)
            neurons = neuron_pictures(self.model, self.setup, self.points.task)
        return {
            "type": "frame", "epoch": len(self.history), "step": self.optimizer.t,
            "train_loss": last[1], "test_loss": last[2],
            "train_accuracy": last[3], "test_accuracy": last[4], "curve": points,
            "output": output, "neurons": neurons, "weights": weights_of(self.model),
        }

    # --- export -----------------------------------------------------------------------------

    def checkpoint_bytes(self):
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

    def scaling(self):
        p = self.points
        return {"center": [float(c) for c in p.center], "scale": float(p.scale),
                "target_center": p.t_center, "target_scale": p.t_scale}

    def snippet(self, path=CHECKPOINT_NAME):
        """Python that reloads the checkpoint and predicts (see ``python_snippet``)."""
        names = self.table[2] if self.setup["dataset"] == "csv" and self.table else None
        return python_snippet(self.setup, self.points, self.model.layer_sizes, path, names)


def data_code(setup):
    """Lines of Python that draw the same built-in dataset as the playground (P, t)."""
    name, n, noise, k, seed = (setup[key] for key in ("dataset", "points", "noise", "classes", "seed"))
    rng = f"rng=np.random.default_rng({seed})"
    calls = {
        "xor": f"make_xor({n}, noise={0.4 * noise!r}, {rng})",
        "circles": f"make_circles({n}, noise={0.25 * noise!r}, {rng})",
        "moons": f"make_moons({n}, noise={0.5 * noise!r}, {rng})",
        "spiral": f"make_spiral({max(n // k, 2)}, n_classes={k}, noise={noise!r}, {rng})",
        "blobs": f"make_blobs({n}, n_features=2, centers={k}, cluster_std={0.3 + 2 * noise!r}, {rng})",
        "checkerboard": f"make_checkerboard({n}, tiles=4, noise={0.2 * noise!r}, {rng})",
        "sine": f"make_sine({n}, noise={0.5 * noise!r}, {rng})",
    }
    if name == "quadrants":
        return [f"rng = np.random.default_rng({seed})",
                f"P, t = handgrad.data.make_quadrants({n}, rng=rng)",
                f"P = P + (0.2 * {noise!r} * rng.standard_normal(P.shape)).astype(np.float32)"]
    return [f"P, t = handgrad.data.{calls[name]}"]


def python_snippet(setup, points, layer_sizes, path=CHECKPOINT_NAME, class_names=None):
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
