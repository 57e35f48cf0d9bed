"""Side by side: one network trained in NumPy, PyTorch and MLX from the same start.

The weights are drawn once in NumPy and copied into each twin; the batches
are drawn once and fed to every backend in the same order, through each
backend's one adapter (``handgrad.twins.trainable``: the MLP itself for NumPy),
which computes the step its own way (handgrad's hand-written backward, PyTorch's
autograd and torch.optim, MLX's value_and_grad and mlx.optimizers). What comes
out: per-epoch loss, final test accuracy, seconds per epoch and how far each
backend's final weights are from NumPy's.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .data import load_dataset
from .mlp import MLP
from .optim import make_optimizer
from .plot import pyplot, whole_epoch_ticks
from .twins import backend_names, trainable


def run_epoch(model: Any, optimizer: Any, X: np.ndarray, y: np.ndarray,
              batches: Iterable[np.ndarray]) -> tuple[float, float]:
    """Train on each batch of row indices in turn; (mean loss, seconds).

    ``model`` and ``optimizer`` are any backend's adapter and optimizer (from
    ``handgrad.twins.trainable``): forward and backward (``loss_and_grad``), then ``step``.
    """
    sync = getattr(model, "sync", None)            # a GPU finishes its work before the clock reads
    start, total, n = time.perf_counter(), 0.0, 0
    for idx in batches:
        xb, yb = X.take(idx, axis=0), y.take(idx, axis=0)        # (B, d_in), (B,)
        total += model.loss_and_grad(xb, yb) * len(idx)
        optimizer.step(model)
        n += len(idx)
    if sync is not None:
        sync()
    return total / n, time.perf_counter() - start


def batch_plan(n: int, batch_size: int, epochs: int, seed: int) -> list[list[np.ndarray]]:
    """The mini-batches of every epoch, drawn once so that every backend sees the same ones."""
    rng = np.random.default_rng(seed)
    return [[perm[i:i + batch_size] for i in range(0, n, batch_size)]
            for perm in (rng.permutation(n) for _ in range(epochs))]


def compare(dataset: str = "digits", epochs: int = 5, layers: Sequence[int] | None = None,
            activation: str = "relu", lr: float = 0.1, batch_size: int = 32,
            optimizer: str = "sgd", momentum: float = 0.0, seed: int = 0, device: str = "cpu",
            backends: Iterable[str] | None = None,
            data_dir: str | Path | None = None) -> dict[str, Any]:
    """Train the same network in each backend; returns {backend: result or error}."""
    data = load_dataset(dataset, data_dir=data_dir, seed=seed)
    sizes = layers or [data.n_features, 256, data.n_classes]  # type: ignore[list-item]  # every dataset here has classes
    if sizes[0] != data.n_features or sizes[-1] != data.n_classes:
        raise ValueError(f"{data.name} needs {data.n_features} inputs and {data.n_classes} "
                         f"outputs; the layers are {sizes}")
    model = MLP(sizes, [activation] * (len(sizes) - 2) + ["softmax"], seed=seed)
    plan = batch_plan(len(data.X_train), batch_size, epochs, seed)
    results: dict[str, dict[str, Any]] = {}
    for name in backend_names() if backends is None else backends:
        fresh = MLP.from_spec(model.spec)
        fresh.load_state_dict(model.state_dict())
        X, y = fresh.check_X(data.X_train), fresh.check_y(data.y_train, len(data.X_train))
        try:
            trainee, opt = trainable(name, fresh, make_optimizer(optimizer, lr, momentum=momentum),
                                     device)
            losses, seconds = zip(*(run_epoch(trainee, opt, X, y, batches) for batches in plan))
        except ImportError as e:
            results[name] = {"error": f"not installed ({e})"}
            continue
        except RuntimeError as e:
            results[name] = {"error": str(e)}
            continue
        results[name] = {"loss": list(losses), "seconds": list(seconds),
                         "accuracy": trainee.score(data.X_test, data.y_test),
                         "state": trainee.state_dict()}
    ref = results.get("numpy", {}).get("state")
    for r in results.values():
        if ref is not None and "state" in r:
            r["max_weight_diff"] = max(float(np.max(np.abs(r["state"][k] - ref[k]))) for k in ref)
    return {"dataset": data.name, "layers": sizes, "epochs": epochs, "device": device,
            "results": results}


def format_table(report: Mapping[str, Any]) -> str:
    results = report["results"]
    epochs = report["epochs"]
    head = f"{'backend':<8}" + "".join(f"{'loss ' + str(e + 1):>11}" for e in range(epochs)) \
        + f"{'test acc':>10}{'s/epoch':>9}{'max |Δθ| vs numpy':>19}"
    lines = [f"{report['dataset']}: {report['layers']}, {epochs} epochs, device {report['device']}",
             head]
    for name, r in results.items():
        if "error" in r:
            lines.append(f"{name:<8}  {r['error']}")
            continue
        lines.append(f"{name:<8}" + "".join(f"{v:>11.6f}" for v in r["loss"])
                     + f"{100 * r['accuracy']:>9.2f}%{np.median(r['seconds']):>9.3f}"
                     + f"{r.get('max_weight_diff', 0.0):>19.2e}")
    return "\n".join(lines)


def plot_losses(report: Mapping[str, Any], path: str | Path) -> str | Path:
    """One plot of every backend's loss curve."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    styles = ("-o", "--s", ":^", "-.d")                  # one per backend, in BACKENDS' order
    for name, r in report["results"].items():
        if "loss" in r:
            style = styles[backend_names().index(name) % len(styles)]
            ax.plot(range(1, len(r["loss"]) + 1), r["loss"], style, label=name)
    whole_epoch_ticks(ax)
    ax.set(xlabel="epoch", ylabel="training loss",
           title=f"{report['dataset']} {report['layers']}: NumPy vs PyTorch vs MLX")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
