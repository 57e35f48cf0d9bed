"""Named training recipes (presets) and the function that runs one.

A recipe is a plain dict of what ``handgrad train`` takes on its command line;
``run_recipe`` turns it into data, a model, an optimizer and a schedule, and
trains with ``handgrad.train.train``. The command line, the benchmark script
and the tests all go through it.
"""

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import optim, plot
from .data import Dataset, Standardizer, load_dataset, train_val_split
from .history import History
from .io import load_checkpoint
from .mlp import MLP
from .train import train
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


def resolve(preset=None, **overrides):
    """DEFAULTS < PRESETS[preset] < overrides (None means 'not given')."""
    recipe = dict(DEFAULTS)
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}{did_you_mean(preset, PRESETS)}; "
                             f"valid names: {', '.join(PRESETS)}")
        recipe.update(PRESETS[preset])
    recipe.update({k: v for k, v in overrides.items() if v is not None})
    return recipe


def did_you_mean(name, choices):
    """' (did you mean 'lesson'?)' for the closest choice, or '' when none is close."""
    from difflib import get_close_matches
    close = get_close_matches(str(name), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_data(recipe, data_dir=None):
    """(dataset, (X_train, y_train), (X_val, y_val)) for a recipe."""
    data = load_dataset(recipe["dataset"], data_dir=data_dir, seed=recipe["seed"])
    X, y = data.X_train, data.y_train
    if recipe["val_fraction"]:
        X, y, X_val, y_val = train_val_split(X, y, recipe["val_fraction"], seed=recipe["seed"])
    else:                      # validate on the test set: nothing is tuned on it by default
        X_val, y_val = data.X_test, data.y_test
    if recipe["standardize"]:
        s = Standardizer().fit(X)
        X, X_val = s.transform(X), s.transform(X_val)
        data.X_test = s.transform(data.X_test)
    return data, (X, y), (X_val, y_val)


def build(recipe, n_features, n_classes, steps_per_epoch):
    """(model, optimizer, schedule) for a recipe, on its backend."""
    sizes = list(recipe["layers"] or [n_features, 256, n_classes])
    if sizes[0] != n_features or sizes[-1] != n_classes:
        raise ValueError(f"{recipe['dataset']} needs {n_features} inputs and {n_classes} outputs; "
                         f"the layers are {sizes}")
    n_hidden = len(sizes) - 2
    model = MLP(sizes, [recipe["activation"]] * n_hidden + ["softmax"], recipe["init"],
                seed=recipe["seed"], norm=recipe["norm"], dropout=recipe["dropout"])
    opt = optim.make_optimizer(recipe["optimizer"], recipe["lr"], momentum=recipe["momentum"],
                               nesterov=recipe["nesterov"], weight_decay=recipe["weight_decay"])
    schedule = optim.make_schedule(recipe["schedule"], recipe["lr"],
                                   recipe["epochs"] * steps_per_epoch,
                                   recipe["warmup_epochs"] * steps_per_epoch)
    if recipe["backend"] != "numpy":
        model, opt = trainable(recipe["backend"], model, opt)
    return model, opt, schedule


@dataclass
class Run:
    """What ``run_recipe`` gives back: the trained model, its history, the data, the test
    accuracy, and notes worth telling the user (a kept schedule on resume, say)."""
    model: object
    history: History
    data: Dataset
    test_accuracy: float
    notes: list


def run_recipe(recipe, data_dir=None, checkpoint=None, resume=False, verbose=False,
               progress=False, log=print, callbacks=(), wrap=None, write_checkpoint=True):
    """Train a recipe (continuing the checkpoint when ``resume``); returns a ``Run``.

    A resumed run keeps the learning-rate schedule it was planned with: asked for
    more epochs than it first had, it trains them at the rate its schedule gives
    past its planned end (a cosine stays at its final rate), and says so in the notes.

    ``wrap(model, optimizer, recipe)`` returns the pair to train in their place, made
    right after they are built (``handgrad.distributed`` makes them data-parallel).
    ``write_checkpoint=False`` reads ``checkpoint`` to resume but never writes it
    (the workers of a data-parallel run other than the first).
    """
    data, (X, y), (X_val, y_val) = load_data(recipe, data_dir)
    recipe = dict(recipe, epochs=recipe["epochs"] or (5 if len(X) > 10_000 else 30),
                  batch_size=recipe["batch_size"] or (128 if len(X) > 10_000 else 16))
    if not resume:
        recipe["schedule_epochs"] = recipe["epochs"]
    steps = math.ceil(len(X) / recipe["batch_size"])
    model, opt, schedule = build(recipe, data.n_features, data.n_classes, steps)
    if wrap is not None:
        model, opt = wrap(model, opt, recipe)
    history, notes = None, []
    if resume:
        if checkpoint is None or not Path(checkpoint).is_file():
            raise FileNotFoundError(f"nothing to resume: no checkpoint at {checkpoint}")
        ckpt = load_checkpoint(checkpoint)
        history = ckpt.history()
        if len(history) >= recipe["epochs"]:
            raise ValueError(f"the run in {Path(checkpoint).parent} already has {len(history)} "
                             f"epochs; nothing to do. Ask for more with --epochs "
                             f"(e.g. --epochs {len(history) + 5}).")
        model.load_state_dict(ckpt.state)
        opt.load_state_dict(ckpt.optimizer().state_dict())
        model.rng.bit_generator.state = ckpt.meta("rng")
        saved_recipe = ckpt.meta("recipe", {})
        planned = saved_recipe.get("schedule_epochs") or saved_recipe.get("epochs")
        saved = ckpt.schedule()
        if saved is not None:
            schedule = saved
            if planned and recipe["epochs"] > planned:
                past_end = schedule(opt.t + (recipe["epochs"] - planned) * steps)
                notes.append(f"the learning-rate schedule was planned for {planned} epochs and is "
                             f"kept: epochs {planned + 1}-{recipe['epochs']} run at the rate it "
                             f"gives past its end ({past_end:.3g})")
        recipe["schedule_epochs"] = planned
    for note in notes:
        log(f"note: {note}")
    history = train(model, X, y, epochs=recipe["epochs"], optimizer=opt, schedule=schedule,
                    batch_size=recipe["batch_size"], validation_data=(X_val, y_val),
                    early_stopping=recipe["early_stopping"], clip_norm=recipe["clip_norm"],
                    checkpoint=checkpoint if write_checkpoint else None, history=history,
                    verbose=verbose, progress=progress,
                    log=log, callbacks=callbacks, extra={"recipe": recipe},
                    divergence_factor=recipe.get("divergence_factor", 1e3))
    return Run(model, history, data, model.score(data.X_test, data.y_test), notes)


RUN_FILES = ("checkpoint.safetensors", "checkpoint.best.safetensors", "history.csv",
             "history.json", "curves.png", "confusion.png", "misclassified.png", "first_layer.png")


def existing_run_files(out):
    """The files of an earlier run in the folder ``out`` (empty when there is none)."""
    return [Path(out) / f for f in RUN_FILES if (Path(out) / f).exists()]


def write_run(out, model, history, data, plots=True, test_accuracy=None):
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
    written = [out / "history.csv", out / "history.json"]
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
