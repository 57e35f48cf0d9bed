"""The settings a page may send, checked before anything is built.

Every value from the page arrives as JSON, or as the text of a form field or a
URL; each one is checked against its own rule here, and a bad one raises a
``SettingError`` that names the setting, says what was expected and what came.
The server turns that into a message shown in the page; the session survives.

    setup = check_setup({"dataset": "xor", "hidden": [4, 2], "lr": "0.03"})
    setup["lr"]          # 0.03, a float
"""

import math

DATASETS = ("xor", "circles", "moons", "spiral", "blobs", "checkerboard", "quadrants", "sine",
            "csv")
MULTICLASS = ("spiral", "blobs")             # the datasets with a choice of class count
FEATURES = {                                   # name -> label shown in the page
    "x": "x", "y": "y", "x2": "x²", "y2": "y²", "xy": "xy", "sinx": "sin(πx)", "siny": "sin(πy)",
}
FEATURES_1D = ("x", "x2", "sinx")              # what a 1-D regression input allows
ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "gelu", "silu", "identity")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw")
NORMS = ("none", "batch", "layer", "rms")
LOSSES = ("cross_entropy", "mse")

BACKPROP_PRESETS = {           # name -> (x1, x2, label) for the backprop view
    "a": (0.8, 0.3, 0),
    "b": (-0.5, 0.9, 1),
    "c": (-0.7, -0.6, 2),
    "d": (0.2, -0.9, 1),
}

MAX_LAYERS = 6
MAX_NEURONS = 8
MAX_CLASSES = 6
MAX_POINTS = 2000
MAX_RACE_EPOCHS = 300

DEFAULTS = {
    "dataset": "xor", "classes": 3, "noise": 0.2, "points": 400, "train": 0.5,
    "features": ["x", "y"], "hidden": [4, 2], "activation": "tanh", "lr": 0.03, "batch": 10,
    "optimizer": "sgd", "l2": 0.0, "dropout": 0.0, "norm": "none", "loss": "cross_entropy",
    "seed": 0,
}
RACE_DEFAULTS = {
    "dataset": "spiral", "classes": 3, "noise": 0.2, "points": 300, "train": 0.5,
    "features": ["x", "y"], "hidden": [8, 8], "activation": "relu", "batch": 16, "seed": 0,
    "epochs": 100, "lr_sgd": 0.1, "lr_momentum": 0.1, "lr_adam": 0.01,
}


class SettingError(ValueError):
    """A bad setting: ``field`` names it, the message says what was expected and what came."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


def _show(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def number(field, value, lo, hi, what, *, integer=False, lo_open=False):
    """``value`` (a number or its text) as a float or int within [lo, hi] (or (lo, hi])."""
    if isinstance(value, bool):
        value = None
    try:
        x = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        x = math.nan
    low = "above" if lo_open else "at least"
    kind = "a whole number" if integer else "a number"
    rule = f"{what} must be {kind} {low} {lo:g} and at most {hi:g}; got {_show(value)}"
    if not math.isfinite(x) or x > hi or x < lo or (lo_open and x <= lo):
        raise SettingError(field, rule)
    if integer:
        if x != int(x):
            raise SettingError(field, rule)
        return int(x)
    return x


def choice(field, value, options, what):
    key = str(value).strip().lower() if isinstance(value, str) else value
    if key not in options:
        raise SettingError(field, f"unknown {what} {_show(value)}; valid: {', '.join(options)}")
    return key


def int_list(field, value, lo, hi, max_len, what):
    """A list of whole numbers, from a list or from text like "4,2" ("" is the empty list)."""
    if isinstance(value, str):
        value = [v for v in value.replace(" ", "").split(",") if v != ""]
    if not isinstance(value, (list, tuple)):
        raise SettingError(field, f"{what} must be a list of whole numbers; got {_show(value)}")
    if len(value) > max_len:
        raise SettingError(field, f"{what}: at most {max_len} allowed; got {len(value)}")
    return [number(field, v, lo, hi, f"each entry of {what}", integer=True) for v in value]


def name_list(field, value, options, what):
    if isinstance(value, str):
        value = [v for v in value.replace(" ", "").split(",") if v != ""]
    if not isinstance(value, (list, tuple)):
        raise SettingError(field, f"{what} must be a list of names; got {_show(value)}")
    names = [choice(field, v, options, what) for v in value]
    if not names:
        raise SettingError(field, f"pick at least one {what}")
    return list(dict.fromkeys(names))              # in order, each once


def _known(settings, allowed):
    if not isinstance(settings, dict):
        raise SettingError(None, f"settings must be a JSON object; got {type(settings).__name__}")
    unknown = sorted(set(settings) - set(allowed))
    if unknown:
        raise SettingError(unknown[0], f"unknown setting {unknown[0]!r}; known settings: "
                                       f"{', '.join(sorted(allowed))}")


def _check_data(s):
    """The data settings shared by the playground and the race (s holds defaults already)."""
    out = {"dataset": choice("dataset", s["dataset"], DATASETS, "dataset")}
    out["classes"] = number("classes", s["classes"], 2, MAX_CLASSES, "classes", integer=True)
    out["noise"] = number("noise", s["noise"], 0, 1, "noise", )
    out["points"] = number("points", s["points"], 20, MAX_POINTS, "points", integer=True)
    out["train"] = number("train", s["train"], 0.1, 0.9, "the training fraction")
    allowed = FEATURES_1D if out["dataset"] == "sine" else tuple(FEATURES)
    out["features"] = name_list("features", s["features"], tuple(FEATURES), "feature")
    wrong = [f for f in out["features"] if f not in allowed]
    if wrong:
        raise SettingError("features", f"a 1-D regression has one input x: feature "
                                       f"{FEATURES[wrong[0]]} needs y; use {', '.join(allowed)}")
    out["hidden"] = int_list("hidden", s["hidden"], 1, MAX_NEURONS, MAX_LAYERS,
                             "neurons per hidden layer")
    out["activation"] = choice("activation", s["activation"], ACTIVATIONS, "activation")
    out["batch"] = number("batch", s["batch"], 1, MAX_POINTS, "batch size", integer=True)
    out["seed"] = number("seed", s["seed"], 0, 2**31 - 1, "seed", integer=True)
    return out


def check_setup(settings):
    """The playground's settings, checked and with defaults filled in."""
    _known(settings, DEFAULTS)
    s = {**DEFAULTS, **settings}
    out = _check_data(s)
    out["lr"] = number("lr", s["lr"], 0, 10, "learning rate", lo_open=True)
    out["optimizer"] = choice("optimizer", s["optimizer"], OPTIMIZERS, "optimizer")
    out["l2"] = number("l2", s["l2"], 0, 1, "L2 rate")
    out["dropout"] = number("dropout", s["dropout"], 0, 0.9, "dropout")
    out["norm"] = choice("norm", s["norm"], NORMS, "norm")
    out["loss"] = choice("loss", s["loss"], LOSSES, "loss")
    if out["norm"] == "batch" and out["batch"] < 2:
        raise SettingError("batch", "batch norm needs a batch of at least 2 (its statistics are "
                                    f"over the batch); got batch size {out['batch']}")
    if (out["norm"] != "none" or out["dropout"]) and not out["hidden"]:
        raise SettingError("hidden", "norm and dropout act on hidden layers; add a hidden layer "
                                     "or set them off")
    return out


def check_race(settings):
    """The optimizer race's settings: the data and network, and one rate per optimizer."""
    _known(settings, RACE_DEFAULTS)
    s = {**RACE_DEFAULTS, **settings}
    if choice("dataset", s["dataset"], DATASETS, "dataset") in ("sine", "csv"):
        raise SettingError("dataset", "the race runs on the built-in classification datasets; "
                                      f"got {s['dataset']!r}")
    out = _check_data(s)
    out["epochs"] = number("epochs", s["epochs"], 1, MAX_RACE_EPOCHS, "epochs", integer=True)
    for name in ("sgd", "momentum", "adam"):
        out[f"lr_{name}"] = number(f"lr_{name}", s[f"lr_{name}"], 0, 10,
                                   f"the {name} learning rate", lo_open=True)
    return out


def options():
    """Everything the page needs to build its controls: the choices, limits and defaults."""
    return {
        "datasets": list(DATASETS), "multiclass": list(MULTICLASS), "features": FEATURES,
        "features_1d": list(FEATURES_1D), "activations": list(ACTIVATIONS),
        "optimizers": list(OPTIMIZERS), "norms": list(NORMS), "losses": list(LOSSES),
        "max_layers": MAX_LAYERS, "max_neurons": MAX_NEURONS, "max_classes": MAX_CLASSES,
        "max_points": MAX_POINTS, "max_race_epochs": MAX_RACE_EPOCHS,
        "defaults": DEFAULTS, "race_defaults": RACE_DEFAULTS,
        "backprop_presets": {k: {"x1": v[0], "x2": v[1], "label": v[2]}
                             for k, v in BACKPROP_PRESETS.items()},
    }
