"""The measurements that predict-then-run exercises check a prediction against.

Each one runs a lesson's own setup with handgrad, seeded, at check time: the same data, the
same draws in the same order, the same steps — so the number a learner is asked to predict
is the number the lesson's script would print. Results are cached for the process.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

from ..mlp import MLP
from ..optim import SGD

LESSON_SEED = 42          # the lesson's script: np.random.default_rng(42)


def lesson_blobs(seed: int = LESSON_SEED, n: int = 1024) -> tuple[np.random.Generator, np.ndarray,
                                                                  np.ndarray]:
    """The lesson's three Gaussian blobs in 4-D, drawn in its order: class centers ~ N(0, 3²),
    labels uniform, points ~ N(center, 1). Returns the generator too: the lesson goes on to
    draw the weights and then every batch from it."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((3, 4)) * 3.0                  # (3, 4)
    y = rng.integers(0, 3, n)                                     # (n,)
    X = rng.standard_normal((n, 4)) + centers[y]                  # (n, 4)
    return rng, X, y


def lesson_net(rng: np.random.Generator, hidden: int = 16, init: str = "he",
               activation: str = "relu", sizes: tuple[int, ...] | None = None) -> MLP:
    """The lesson's network with its weights drawn as the lesson draws them: W (d_in, d_out)
    from ``rng``, scaled by √(2/d_in) (``init="he"``) or not at all (``"normal"``), biases 0;
    loaded into a float64 handgrad MLP (which stores W transposed, (d_out, d_in))."""
    sizes = sizes or (4, hidden, 3)
    acts = [activation] * (len(sizes) - 2) + ["softmax"]
    model = MLP(list(sizes), acts, dtype=np.float64, seed=0)
    for layer, d_in, d_out in zip(model.layers, sizes[:-1], sizes[1:]):
        W = rng.standard_normal((d_in, d_out))                    # (d_in, d_out), the lesson's
        if init == "he":
            W = W * math.sqrt(2.0 / d_in)
        layer.params["weight"][...] = W.T                         # (d_out, d_in), handgrad's
        layer.params["bias"][...] = 0.0
    return model


@lru_cache(maxsize=32)
def lesson_run(lr: float = 0.05, hidden: int = 16, init: str = "he", steps: int = 2000,
               activation: str = "relu", every: int = 10,
               until_loss_fraction: float | None = None) -> dict[str, Any]:
    """The lesson's training loop (batch 32 drawn without replacement, plain SGD) on its blobs.

    Returns the loss and accuracy over all 1024 points every ``every`` steps (``step``,
    ``loss``, ``accuracy``), the first mini-batch losses, the largest loss seen, and the
    step the loss first turned NaN or inf. ``until_loss_fraction`` stops once the loss is
    that fraction of its start."""
    rng, X, y = lesson_blobs()
    model = lesson_net(rng, hidden, init, activation)
    opt = SGD(lr)
    out: dict[str, Any] = {"step": [], "loss": [], "accuracy": [], "batch_loss": [],
                           "nan_at": None}

    def record(t: int) -> None:
        with np.errstate(all="ignore"):
            p = model.forward(X, training=False)                  # (n, 3)
            z = model.layers[-1].z                                # (n, 3) logits
            s = z - z.max(axis=1, keepdims=True)
            loss = float(np.mean(np.log(np.exp(s).sum(axis=1)) - s[np.arange(len(y)), y]))
        out["step"].append(t)
        out["loss"].append(loss)
        out["accuracy"].append(float(np.mean(p.argmax(axis=1) == y)))

    record(0)
    for t in range(1, steps + 1):
        idx = rng.choice(len(X), 32, replace=False)
        with np.errstate(all="ignore"):
            loss = model.loss_and_grad(X[idx], y[idx])
            opt.step(model)
        out["batch_loss"].append(loss)
        if out["nan_at"] is None and not math.isfinite(loss):
            out["nan_at"] = t
        if t % every == 0 or t == steps:
            record(t)
            if until_loss_fraction and out["loss"][-1] <= until_loss_fraction * out["loss"][0]:
                break
    finite = [v for v in out["loss"] + out["batch_loss"] if math.isfinite(v)]
    out["max_loss"] = max(finite) if finite else math.nan
    return out


def first_step_reaching(run: dict[str, Any], key: str, target: float,
                        below: bool = False) -> int | None:
    """The first recorded step where ``run[key]`` reaches ``target`` (falls to it if ``below``)."""
    for step, v in zip(run["step"], run[key]):
        if (v <= target) if below else (v >= target):
            return int(step)
    return None


@lru_cache(maxsize=4)
def quadrant_depth(seeds: int = 5, lr: float = 0.1, target: float = 0.95,
                   max_steps: int = 3000) -> dict[str, Any]:
    """Steps to reach ``target`` accuracy on the quadrant task (1000 points ~ N(0, I) in 2-D,
    labelled by quadrant; width 16, batch 64, SGD) for one hidden layer and for three; the
    median over ``seeds``."""
    result: dict[str, Any] = {}
    for name, sizes in (("one", [2, 16, 4]), ("three", [2, 16, 16, 16, 4])):
        hits = []
        for s in range(seeds):
            rng = np.random.default_rng(s)
            X = rng.standard_normal((1000, 2))                                      # (1000, 2)
            right, up = X[:, 0] > 0, X[:, 1] > 0
            y = np.select([right & up, ~right & up, ~right & ~up], [0, 1, 2], default=3)
            model = MLP(sizes, seed=s, dtype=np.float64)
            opt, hit = SGD(lr), max_steps
            for t in range(1, max_steps + 1):
                idx = rng.choice(1000, 64, replace=False)
                model.loss_and_grad(X[idx], y[idx])
                opt.step(model)
                if t % 10 == 0 and np.mean(model.predict(X) == y) >= target:
                    hit = t
                    break
            hits.append(hit)
        result[name] = hits
        result[f"median_{name}"] = float(np.median(hits))
    result["ratio"] = result["median_three"] / result["median_one"]
    return result


@lru_cache(maxsize=4)
def deep_relu_stds(depth: int = 50, width: int = 256, batch: int = 500,
                   seed: int = 0) -> dict[str, float]:
    """log10 of the activation std after ``depth`` ReLU layers of ``width`` (no bias), for
    weights N(0, 0.01²), N(0, 1) and He N(0, 2/width), from unit-normal inputs."""
    out = {}
    for name, std in (("small", 0.01), ("large", 1.0), ("he", math.sqrt(2 / width))):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((batch, width))                        # (batch, width)
        log_scale = 0.0                  # x is renormalized each layer; its scale is kept here
        for _ in range(depth):
            W = rng.standard_normal((width, width)) * std             # (width, width)
            x = np.maximum(x @ W, 0)                                   # (batch, width)
            s = float(x.std())
            log_scale += math.log10(s)
            x /= s
        out[name] = log_scale
    return out
