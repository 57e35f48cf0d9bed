"""The settings a page may send, checked before anything is built, and the options it offers.

Every value from the page arrives as JSON, or as the text of a form field or a URL; each one
is checked against its own rule here (``checks``), and a bad one raises a ``SettingError``
that names the setting, says what was expected and what came.

    setup = check_setup({"dataset": "xor", "hidden": [4, 2], "lr": "0.03"})
    setup["lr"]          # 0.03, a float

The names on offer — activations, optimizers, norms, losses, datasets — and their labels are
read from handgrad's registries (``handgrad.nn.ACTIVATIONS``, ``handgrad.optim.OPTIMIZERS``,
``handgrad.nn.NORMS``, ``handgrad.nn.LOSSES``, ``handgrad.data.TOY``) each time, and served to
the page by ``options()``: a name registered there appears in the page with no other change.

The keys are the API's words: ``lr``, ``batch_size``, ``weight_decay`` (L2), ``l1``; the
page's earlier keys ``batch`` and ``l2`` are still read, so old links keep working.
``hidden`` holds the hidden layers' sizes only: the input size follows from the features and
the output size from the classes.
"""

from collections.abc import Callable
from typing import Any

from ..nn.activations import activation_label, activation_names
from ..nn.losses import LOSSES, loss_names
from ..nn.norms import NORMS, norm_names
from ..optim import OPTIMIZERS, optimizer_names
from .checks import SettingError, choice, int_list, known, name_list, number
from .data import (
    CSV,
    FEATURES,
    FEATURES_1D,
    MAX_CLASSES,
    MAX_POINTS,
    dataset_names,
    task_of,
    toy,
)

__all__ = ["SettingError", "check_setup", "check_race", "options"]

BACKPROP_PRESETS = {           # name -> (x1, x2, label) for the backprop view
    "a": (0.8, 0.3, 0),
    "b": (-0.5, 0.9, 1),
    "c": (-0.7, -0.6, 2),
    "d": (0.2, -0.9, 1),
}

MAX_LAYERS = 6
MAX_NEURONS = 8
MAX_RACE_EPOCHS = 1000
MAX_RACERS = 4
SPEEDS = (1, 2, 5, 10, 20, 50, 100, 200, 500)   # steps (mini-batches) per frame
DEFAULT_SPEED = 5
FPS = 30                                         # frames per second at most, in both engines

DEFAULTS = {
    "dataset": "xor", "classes": 3, "noise": 0.5, "points": 400, "train": 0.5,
    "features": ["x", "y"], "hidden": [4, 2], "activation": "tanh", "lr": 0.03,
    "batch_size": 10, "optimizer": "sgd", "weight_decay": 0.0, "l1": 0.0, "dropout": 0.0,
    "norm": "none", "loss": "cross_entropy", "seed": 0,
}
ALIASES = {"batch": "batch_size", "l2": "weight_decay"}     # earlier keys, still read
RACE_RATES = {"sgd": 0.1, "momentum": 0.1, "nesterov": 0.1}  # the rest start at 0.01
RACE_DATA = {
    "dataset": "spiral", "classes": 3, "noise": 0.2, "points": 300, "train": 0.5,
    "features": ["x", "y"], "hidden": [8, 8], "activation": "relu", "batch_size": 16, "seed": 0,
    "epochs": 100, "optimizers": ["sgd", "momentum", "adam"],
}


def race_defaults() -> dict[str, Any]:
    """The race's defaults, with a learning rate ``lr_<name>`` for every registered optimizer."""
    return {**RACE_DATA, **{f"lr_{name}": RACE_RATES.get(name, 0.01) for name in optimizer_names()}}


def hidden_activations() -> list[str]:
    return activation_names(hidden=True)


def playground_losses() -> list[str]:
    """The losses a softmax output can train with: cross-entropy (fused with it) and every
    loss not fused with another output (the squared errors)."""
    return [n for n in loss_names() if LOSSES[n].output == "softmax" or not LOSSES[n].fused]


def _check_data(s: dict[str, Any]) -> dict[str, Any]:
    """The data and network settings shared by the playground and the race."""
    out: dict[str, Any] = {"dataset": choice("dataset", s["dataset"], dataset_names(), "dataset")}
    out["classes"] = number("classes", s["classes"], 2, MAX_CLASSES, "classes", integer=True)
    out["noise"] = number("noise", s["noise"], 0, 1, "noise")
    out["points"] = number("points", s["points"], 20, MAX_POINTS, "points", integer=True)
    out["train"] = number("train", s["train"], 0.1, 0.9, "the training fraction")
    allowed = FEATURES_1D if task_of(out["dataset"]) == "regression" else tuple(FEATURES)
    out["features"] = name_list("features", s["features"], tuple(FEATURES), "feature")
    wrong = [f for f in out["features"] if f not in allowed]
    if wrong:
        raise SettingError("features", f"a 1-D regression has one input x: feature "
                                       f"{FEATURES[wrong[0]]} needs y; use {', '.join(allowed)}")
    out["hidden"] = int_list("hidden", s["hidden"], 1, MAX_NEURONS, MAX_LAYERS,
                             "neurons per hidden layer")
    out["activation"] = choice("activation", s["activation"], hidden_activations(), "activation")
    out["batch_size"] = number("batch_size", s["batch_size"], 1, MAX_POINTS, "batch size",
                               integer=True)
    out["seed"] = number("seed", s["seed"], 0, 2**31 - 1, "seed", integer=True)
    return out


def check_setup(settings: Any) -> dict[str, Any]:
    """The playground's settings, checked and with defaults filled in."""
    s = {**DEFAULTS, **known(settings, DEFAULTS, ALIASES)}
    out = _check_data(s)
    out["lr"] = number("lr", s["lr"], 0, 10, "learning rate", lo_open=True)
    out["optimizer"] = choice("optimizer", s["optimizer"], optimizer_names(), "optimizer")
    out["weight_decay"] = number("weight_decay", s["weight_decay"], 0, 1, "weight decay (L2)")
    out["l1"] = number("l1", s["l1"], 0, 1, "L1 rate")
    out["dropout"] = number("dropout", s["dropout"], 0, 0.9, "dropout")
    out["norm"] = choice("norm", s["norm"], ["none", *norm_names()], "norm")
    out["loss"] = choice("loss", s["loss"], playground_losses(), "loss")
    if out["norm"] == "batch" and out["batch_size"] < 2:
        raise SettingError("batch_size", "batch norm needs a batch of at least 2 (its statistics "
                                         f"are over the batch); got batch size {out['batch_size']}")
    if (out["norm"] != "none" or out["dropout"]) and not out["hidden"]:
        raise SettingError("hidden", "norm and dropout act on hidden layers; add a hidden layer "
                                     "or set them off")
    return out


def check_race(settings: Any) -> dict[str, Any]:
    """The optimizer race's settings: the data and network, the optimizers that race (one to
    four of the registered ones) and a learning rate for each."""
    defaults = race_defaults()
    s = {**defaults, **known(settings, defaults, ALIASES)}
    dataset = choice("dataset", s["dataset"], dataset_names(), "dataset")
    if dataset == CSV or task_of(dataset) == "regression":
        raise SettingError("dataset", "the race runs on the built-in classification datasets; "
                                      f"got {s['dataset']!r}")
    out = _check_data(s)
    out["epochs"] = number("epochs", s["epochs"], 1, MAX_RACE_EPOCHS, "epochs", integer=True)
    out["optimizers"] = name_list("optimizers", s["optimizers"], optimizer_names(), "optimizer")
    if len(out["optimizers"]) > MAX_RACERS:
        raise SettingError("optimizers", f"at most {MAX_RACERS} optimizers race at once; got "
                                         f"{len(out['optimizers'])}")
    for name in optimizer_names():
        out[f"lr_{name}"] = number(f"lr_{name}", s[f"lr_{name}"], 0, 10,
                                   f"the {name} learning rate", lo_open=True)
    return out


def _named(names: list[str], label: Callable[[str], str]) -> list[dict[str, str]]:
    return [{"name": n, "label": label(n)} for n in names]


def options() -> dict[str, Any]:
    """Everything the page needs to build its controls: each family's names and labels from
    handgrad's registries, the limits and the defaults."""
    datasets = [{"name": n, "label": toy(n).label, "task": task_of(n), "classes": toy(n).classes}
                for n in dataset_names() if n != CSV]
    datasets.append({"name": CSV, "label": "your CSV", "task": None, "classes": False})
    return {
        "datasets": datasets,
        "features": FEATURES, "features_1d": list(FEATURES_1D),
        "activations": _named(hidden_activations(), activation_label),
        "optimizers": _named(optimizer_names(), lambda n: OPTIMIZERS[n].label),
        "norms": [{"name": "none", "label": "none"},
                  *_named(norm_names(), lambda n: NORMS[n].label)],
        "losses": _named(playground_losses(), lambda n: LOSSES[n].label),
        "max_layers": MAX_LAYERS, "max_neurons": MAX_NEURONS, "max_classes": MAX_CLASSES,
        "max_points": MAX_POINTS, "max_race_epochs": MAX_RACE_EPOCHS, "max_racers": MAX_RACERS,
        "speeds": list(SPEEDS), "speed": DEFAULT_SPEED, "fps": FPS,
        "defaults": DEFAULTS, "aliases": ALIASES, "race_defaults": race_defaults(),
        "backprop_presets": {k: {"x1": v[0], "x2": v[1], "label": v[2]}
                             for k, v in BACKPROP_PRESETS.items()},
    }
