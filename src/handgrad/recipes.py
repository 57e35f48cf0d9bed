"""Named training recipes (presets) and the function that runs one.

A recipe is a plain dict of what ``handgrad train`` takes on its command line;
``run_recipe`` turns it into data, a model, an optimizer and a schedule, and
trains with ``handgrad.train.train``. The command line, the benchmark script
and the tests all go through it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import optim, plot
from .data import Dataset, Standardizer, load_dataset, train_val_split
from .history import History
from .io import Checkpoint, load_checkpoint
from .mlp import MLP
from .train import batch_bounds, train
from .twins import trainable

DEFAULTS = dict(dataset=None, layers=None, activation="relu", optimizer="sgd", lr=0.1,
                momentum=0.0, nesterov=False, weight_decay=None, dropout=0.0, norm=None,
                batch_size=None, epochs=None, schedule=None, warmup_epochs=0, clip_norm=None,
                early_stopping=None, val_fraction=0.0, standardize=False, backend="numpy",
                seed=0, init="he", divergence_factor=1e3, schedule_epochs=None)

PRESETS = {
    # The lesson: 784 → 256 → 10, He init, plain SGD lr 0.1, batch 128, 5 epochs (promises 95 %).
    "lesson": dict(dataset="mnist", layers=[784, 256, 10], lr=0.1, batch_size=128, epochs=5),
    "lesson-momentum": dict(dataset="mnist", layers=[784, 256, 10], lr=0.1, momentum=0.9,
                            batch_size=128, epochs=5),
    # The lesson's larger network: 784 → 256 → 128 → 10, dropout 0.2, SGD lr 0.1, 10 epochs.
    "lesson-deep": dict(dataset="mnist", layers=[784, 256, 128, 10], dropout=0.2, lr=0.1,
                        batch_size=128, epochs=10),
    # The best MLP handgrad offers on MNIST under 2 M parameters and 30 epochs, no augmentation.
    "mnist-best": dict(dataset="mnist", layers=[784, 1024, 1024, 10], dropout=0.2, lr=0.05,
                       momentum=0.9, nesterov=True, batch_size=128, epochs=30,
                       schedule="cosine"),
    # Fashion-MNIST, 784 → 256 → 10, Adam, 10 epochs; the rate decays on a cosine.
    "fashion-adam": dict(dataset="fashion-mnist", layers=[784, 256, 10], optimizer="adam",
                         lr=1e-3, batch_size=128, epochs=10, schedule="cosine"),
    "fashion-best": dict(dataset="fashion-mnist", layers=[784, 1024, 1024, 10], dropout=0.3,
                         optimizer="adamw", lr=1e-3, weight_decay=0.05, batch_size=128,
                         epochs=30, schedule="cosine", warmup_epochs=1),
    "digits": dict(dataset="digits", layers=[64, 256, 10], lr=0.1, batch_size=16, epochs=30),
}


def resolve(preset: str | None = None, **overrides: Any) -> dict[str, Any]:
    """DEFAULTS < PRESETS[preset] < overrides (None means 'not given')."""
    recipe: dict[str, Any] = dict(DEFAULTS)
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}{did_you_mean(preset, PRESETS)}; "
                             f"valid names: {', '.join(PRESETS)}")
        recipe.update(PRESETS[preset])
    recipe.update({k: v for k, v in overrides.items() if v is not None})
    return recipe


# What a resumed run may set anew. Everything else is the run itself, and a resumed run is
# that run continued, bit for bit:
#   the data      dataset, val_fraction, standardize, seed: which examples, their split, order
#   the model     layers, activation, norm, dropout, init: the checkpoint's weights are its
#   the steps     optimizer, momentum, nesterov, weight_decay: the checkpoint holds their state
#                 (velocities, moments); lr, schedule, warmup_epochs: the learning-rate plan,
#                 which set the rate of every step so far and is saved with the run;
#                 batch_size, clip_norm: how each step is taken (the schedule counts steps)
# A change there would make the history and the checkpoint describe a run that never was.
RESUMABLE = {
    "epochs": "the total the run should reach",
    "early_stopping": "a patience: when to stop, not how a step is taken",
    "divergence_factor": "a safety stop, not how a step is taken",
    "backend": "who computes the steps; a checkpoint loads into any backend",
}


def _same_setting(key: str, value: Any) -> Any:
    """A setting's value in one spelling, so that equal settings compare equal."""
    from .data import canonical_name
    from .nn.activations import ACTIVATION_ALIASES
    if isinstance(value, str):
        value = value.lower()
        if key in ("norm", "schedule") and value in ("none", "constant"):
            return None
        if key == "activation":
            return ACTIVATION_ALIASES.get(value, value)
        if key == "dataset":
            return canonical_name(value)
    if key == "layers" and value is not None:
        return [int(n) for n in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return value


def saved_settings(ckpt: Checkpoint) -> dict[str, Any]:
    """The recipe a checkpoint's run was trained with, its layers read from its spec when the
    recipe left them to the default."""
    recipe = dict(ckpt.meta("recipe", {}))
    if recipe.get("layers") is None:
        recipe["layers"] = list(ckpt.spec["layer_sizes"])
    return recipe


def resume_conflicts(saved: Mapping[str, Any],
                     asked: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """The settings in ``asked`` that a resumed run may not change from ``saved``, the
    run's own recipe: a list of (name, the run's value, the value asked for).

    ``asked`` may be a whole recipe: None for the dataset, layers, weight decay, batch size
    or epochs is their default, which the run filled in (elsewhere None is a value: no norm,
    no schedule, no clipping, no early stopping). Early stopping may change its
    patience but not be turned on in a run that had none: the best weights of its earlier
    epochs were not kept.
    """
    conflicts = []
    for key, value in asked.items():
        if key not in DEFAULTS or key == "schedule_epochs":
            continue
        if value is None and key in ("dataset", "layers", "weight_decay", "batch_size", "epochs"):
            continue                          # None there is the default, which the run filled
        was = saved.get(key, DEFAULTS[key])
        if key == "early_stopping" and value is not None and was is None:
            conflicts.append((key, was, value))
        elif key not in RESUMABLE and _same_setting(key, value) != _same_setting(key, was):
            conflicts.append((key, was, value))
    return conflicts


def did_you_mean(name: object, choices: Iterable[str]) -> str:
    """' (did you mean 'lesson'?)' for the closest choice, or '' when none is close."""
    from difflib import get_close_matches
    close = get_close_matches(str(name), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_data(recipe: Mapping[str, Any], data_dir: str | Path | None = None
              ) -> tuple[Dataset, tuple[Any, Any], tuple[Any, Any], dict[str, Any]]:
    """(dataset, (X_train, y_train), (X_val, y_val), inputs) for a recipe.

    ``inputs`` describes the training inputs for the checkpoint: their lowest and highest
    value (``predict`` refuses inputs far outside them) and, when the recipe standardizes,
    the mean and standard deviation that new inputs need too.
    """
    data = load_dataset(recipe["dataset"], data_dir=data_dir, seed=recipe["seed"])
    X, y = data.X_train, data.y_train
    if recipe["val_fraction"]:
        X, y, X_val, y_val = train_val_split(X, y, recipe["val_fraction"], seed=recipe["seed"])
        if len(X) == 0 or len(X_val) == 0:
            empty = "training" if len(X) == 0 else "validation"
            raise ValueError(f"val_fraction {recipe['val_fraction']:g} of the {len(X) + len(X_val):,} "
                             f"{data.name} training examples leaves the {empty} set empty")
    else:                      # validate on the test set: nothing is tuned on it by default
        X_val, y_val = data.X_test, data.y_test
    inputs = {"min": float(X.min()), "max": float(X.max()), "mean": None, "std": None}
    if recipe["standardize"]:
        s = Standardizer().fit(X)
        X, X_val = s.transform(X), s.transform(X_val)
        data.X_test = s.transform(data.X_test)
        inputs.update(mean=s.mean.tolist(), std=s.std.tolist())
    return data, (X, y), (X_val, y_val), inputs


def build(recipe: dict[str, Any], n_features: int, n_classes: int | None,
          steps_per_epoch: int) -> tuple[Any, Any, Any]:
    """(model, optimizer, schedule) for a recipe, on its backend.

    What the recipe left to defaults (the layers, the optimizer's momentum, Nesterov and
    weight decay) is filled in ``recipe`` with the values used, for the checkpoint to record.
    """
    sizes = list(recipe["layers"] or [n_features, 256, n_classes])
    if sizes[0] != n_features or sizes[-1] != n_classes:
        raise ValueError(f"{recipe['dataset']} needs {n_features} inputs and {n_classes} outputs; "
                         f"the layers are {sizes}")
    n_hidden = len(sizes) - 2
    model = MLP(sizes, [recipe["activation"]] * n_hidden + ["softmax"], recipe["init"],
                seed=recipe["seed"], norm=recipe["norm"], dropout=recipe["dropout"])
    opt = optim.make_optimizer(recipe["optimizer"], recipe["lr"], momentum=recipe["momentum"],
                               nesterov=recipe["nesterov"], weight_decay=recipe["weight_decay"])
    recipe["layers"] = sizes
    recipe.update({k: getattr(opt, k) for k in ("momentum", "nesterov", "weight_decay")
                   if hasattr(opt, k)})
    schedule = optim.make_schedule(recipe["schedule"], recipe["lr"],
                                   recipe["epochs"] * steps_per_epoch,
                                   recipe["warmup_epochs"] * steps_per_epoch)
    model, opt = trainable(recipe["backend"], model, opt)     # the MLP itself for numpy
    return model, opt, schedule


@dataclass
class Run:
    """What ``run_recipe`` gives back: the trained model, its history, the data, the test
    accuracy, and notes worth telling the user (a kept schedule on resume, say)."""
    model: object
    history: History
    data: Dataset
    test_accuracy: float
    notes: list[str]


def run_recipe(recipe: Mapping[str, Any], data_dir: str | Path | None = None,
               checkpoint: str | Path | None = None, resume: bool = False,
               verbose: bool = False, progress: bool = False,
               log: Callable[[str], Any] = print,
               callbacks: Sequence[Callable[[Any, History], Any]] = (),
               wrap: Callable[[Any, Any, dict[str, Any]], tuple[Any, Any]] | None = None,
               write_checkpoint: bool = True) -> Run:
    """Train a recipe (continuing the checkpoint when ``resume``); returns a ``Run``.

    A resumed run keeps the learning-rate schedule it was planned with: asked for
    more epochs than it first had, it trains them at the rate its schedule gives
    past its planned end (a cosine stays at its final rate), and says so in the notes.

    ``wrap(model, optimizer, recipe)`` returns the pair to train in their place, made
    right after they are built (``handgrad.distributed`` makes them data-parallel).
    ``write_checkpoint=False`` reads ``checkpoint`` to resume but never writes it
    (the workers of a data-parallel run other than the first).
    """
    data, (X, y), (X_val, y_val), inputs = load_data(recipe, data_dir)
    recipe = dict(recipe, epochs=recipe["epochs"] or (5 if len(X) > 10_000 else 30),
                  batch_size=recipe["batch_size"] or (128 if len(X) > 10_000 else 16))
    if resume:
        if checkpoint is None or not Path(checkpoint).is_file():
            raise FileNotFoundError(f"nothing to resume: no checkpoint at {checkpoint}")
        ckpt = load_checkpoint(checkpoint)
        conflicts = resume_conflicts(saved_settings(ckpt), recipe)
        if conflicts:
            raise ValueError("a resumed run keeps the settings it began with; asked to change "
                             + ", ".join(f"{k} from {was!r} to {now!r}" for k, was, now in conflicts)
                             + f" (only {', '.join(RESUMABLE)} may change)")
        done = len(ckpt.history())
        if done >= recipe["epochs"]:
            raise ValueError(f"the run in {Path(checkpoint).parent} already has {done} "
                             f"epochs; nothing to do. Ask for more with --epochs "
                             f"(e.g. --epochs {done + 5}).")
    else:
        recipe["schedule_epochs"] = recipe["epochs"]
        if recipe["warmup_epochs"] >= recipe["epochs"]:
            raise ValueError(f"a warm-up of {recipe['warmup_epochs']} epochs does not fit in a run "
                             f"of {recipe['epochs']}: the rate would never reach {recipe['lr']:g}")
    steps = len(batch_bounds(len(X), recipe["batch_size"],
                             smallest=2 if recipe.get("norm") == "batch" else 1))
    model, opt, schedule = build(recipe, data.n_features, data.n_classes, steps)
    if wrap is not None:
        model, opt = wrap(model, opt, recipe)
    history, notes = None, []
    if resume:
        history = ckpt.history()
        model.load_state_dict(ckpt.state)
        opt.load_state_dict(ckpt.optimizer().state_dict())  # type: ignore[union-attr]  # train saves it
        model.rng.bit_generator.state = ckpt.meta("rng")
        saved_recipe = ckpt.meta("recipe", {})
        planned = saved_recipe.get("schedule_epochs") or saved_recipe.get("epochs")
        saved = ckpt.schedule()
        if saved is not None:
            schedule = saved
            if planned and recipe["epochs"] > planned:
                past_end = schedule(opt.t + (recipe["epochs"] - planned) * steps)
                extra = (f"epoch {planned + 1} runs" if recipe["epochs"] == planned + 1 else
                         f"epochs {planned + 1}-{recipe['epochs']} run")
                notes.append(f"the learning-rate schedule was planned for {planned} epochs and is "
                             f"kept: {extra} at the rate it gives past its end ({past_end:.3g})")
        recipe["schedule_epochs"] = planned
    for note in notes:
        log(f"note: {note}")
    history = train(model, X, y, epochs=recipe["epochs"], optimizer=opt, schedule=schedule,
                    batch_size=recipe["batch_size"], validation_data=(X_val, y_val),
                    early_stopping=recipe["early_stopping"], clip_norm=recipe["clip_norm"],
                    checkpoint=checkpoint if write_checkpoint else None, history=history,
                    verbose=verbose, progress=progress,
                    log=log, callbacks=callbacks, extra={"recipe": recipe, "inputs": inputs},
                    divergence_factor=recipe.get("divergence_factor", 1e3))
    return Run(model, history, data, model.score(data.X_test, data.y_test), notes)


RUN_FILES = ("checkpoint.safetensors", "checkpoint.best.safetensors", "history.csv",
             "history.json", "curves.png", "confusion.png", "misclassified.png", "first_layer.png")


def existing_run_files(out: str | Path) -> list[Path]:
    """The files of an earlier run in the folder ``out`` (empty when there is none)."""
    return [Path(out) / f for f in RUN_FILES if (Path(out) / f).exists()]


def write_run(out: str | Path, model: Any, history: History, data: Dataset, plots: bool = True,
              test_accuracy: float | None = None) -> list[str | Path]:
    """history.csv, history.json and the pictures of a run, in the folder ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = history.rows
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(out / "history.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    (out / "history.json").write_text(json.dumps(
        {"epochs": rows, "test_accuracy": test_accuracy}, indent=1))
    written: list[str | Path] = [out / "history.csv", out / "history.json"]
    if not plots:
        return written
    pred = np.asarray(model.predict(data.X_test))
    written.append(plot.plot_history(history, out / "curves.png"))
    written.append(plot.plot_confusion(data.y_test, pred, data.classes, out / "confusion.png"))
    if data.image_shape is not None:
        written.append(plot.plot_misclassified(data.X_test, data.y_test, pred, data.classes,
                                               data.image_shape, out / "misclassified.png"))
        first = model.state_dict()["layers.0.weight"]
        written.append(plot.plot_first_layer(first, data.image_shape, out / "first_layer.png"))
    return written
