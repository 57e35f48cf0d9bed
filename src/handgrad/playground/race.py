"""The optimizer race: SGD, momentum and Adam train the same network from the same
initial weights on the same data, in the same batch order; their loss curves and
decision boundaries are recorded so the page can scrub through training.

Each runner is a handgrad MLP trained by handgrad's loop with an optimizer from
``handgrad.optim.make_optimizer``. The three models are built from one seed, so
their weights and their generators (batch order, dropout masks) start equal; the
first model's weights are also copied into the others, to make that plain.
"""

import numpy as np

from ..history import DivergenceError, History
from ..optim import make_optimizer
from ..train import train
from .data import as_list, make_points, split
from .data import features as feature_matrix
from .pictures import inputs_of, pack01
from .session import _finite, build_model, divergence_step

RUNNERS = ("sgd", "momentum", "adam")
RACE_GRID = 40          # cells per side of each recorded boundary
MAX_SNAPSHOTS = 40      # boundaries recorded per runner (plus the start)


def snapshot_epochs(epochs, count=MAX_SNAPSHOTS):
    """The epochs at which boundaries are recorded: 0, evenly spread, and the last."""
    return sorted({round(e) for e in np.linspace(0, epochs, min(epochs, count) + 1)})


def run_race(settings):
    """Race the three optimizers; ``settings`` are checked by ``config.check_race``."""
    points = make_points(settings)
    U_train, t_train, U_test, t_test = split(points, settings["train"], settings["seed"])
    X_train = feature_matrix(U_train, settings["features"])             # (n_train, d)
    X_test = feature_matrix(U_test, settings["features"])               # (n_test, d)
    X_grid = inputs_of(settings, "classification", RACE_GRID)           # (G², d)
    K, d = points.n_classes, X_train.shape[1]
    first = build_model(settings, d, K, "classification")
    start = first.state_dict()
    marks = snapshot_epochs(settings["epochs"])
    runs = []
    for name in RUNNERS:
        model = build_model(settings, d, K, "classification")
        model.load_state_dict(start)                                    # the same start, exactly
        lr = settings[f"lr_{name}"]
        runs.append(_run(model, make_optimizer(name, lr), name, lr, settings, marks,
                         (X_train, t_train, X_test, t_test, X_grid)))
    return {"type": "race", "settings": settings, "epochs": settings["epochs"],
            "snapshot_epochs": marks, "grid": RACE_GRID, "classes": K,
            "layer_sizes": first.layer_sizes,
            "train": as_list(U_train, t_train), "test": as_list(U_test, t_test), "runs": runs}


def _run(model, optimizer, name, lr, settings, marks, arrays):
    X_train, t_train, X_test, t_test, X_grid = arrays
    history = History()
    curve = {"train_loss": [], "test_loss": [], "test_accuracy": []}
    frames, diverged = [], None

    def record(epoch):
        with np.errstate(all="ignore"):
            tr, te = model.evaluate(X_train, t_train), model.evaluate(X_test, t_test)
            if epoch in marks:
                frames.append(pack01(model.predict_proba(X_grid)))      # (G², K)
        curve["train_loss"].append(_finite(tr["loss"]))
        curve["test_loss"].append(_finite(te["loss"]))
        curve["test_accuracy"].append(_finite(te["accuracy"]))

    record(0)
    for epoch in range(1, settings["epochs"] + 1):
        try:
            with np.errstate(all="ignore"):
                train(model, X_train, t_train, epochs=epoch, optimizer=optimizer,
                      batch_size=min(settings["batch"], len(X_train)), history=history, log=None)
        except DivergenceError as e:
            step = divergence_step(e) or optimizer.t + 1
            diverged = {"step": step, "epoch": epoch, "message": f"Diverged at step {step}: {e}"}
            break
        record(epoch)
    while len(frames) < len(marks):                                     # a diverged run keeps
        frames.append(frames[-1])                                       # its last good picture
    return {"name": name, "label": {"sgd": "SGD", "momentum": "Momentum (0.9)",
                                    "adam": "Adam"}[name],
            "lr": lr, "optimizer": repr(optimizer), "steps": optimizer.t, **curve,
            "frames": frames, "diverged": diverged}
