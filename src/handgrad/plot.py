"""Pictures of a training run (matplotlib, drawn off-screen to files)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


def pyplot() -> Any:
    """matplotlib.pyplot on the file-only Agg backend, or a clear ImportError."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'handgrad[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def whole_epoch_ticks(ax: Any) -> None:
    """Ticks on the x axis at whole epochs only (no 1.5, 2.5)."""
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_history(history: Any, path: str | Path) -> str | Path:
    """Train and validation loss, and validation accuracy, per epoch (from a History or
    its rows)."""
    plt = pyplot()
    rows = history.rows if hasattr(history, "rows") else history
    epochs = [r["epoch"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, [r["train_loss"] for r in rows], "-o", label="train")
    if any("val_loss" in r for r in rows):
        ax1.plot(epochs, [r.get("val_loss") for r in rows], "-s", label="validation")
    ax1.set(xlabel="epoch", ylabel="loss", title="loss")
    ax1.legend()
    if any("val_accuracy" in r for r in rows):
        ax2.plot(epochs, [100 * r["val_accuracy"] for r in rows], "-s", color="C1")
    if any("train_accuracy" in r for r in rows):
        ax2.plot(epochs, [100 * r["train_accuracy"] for r in rows], "-o", color="C0")
    ax2.set(xlabel="epoch", ylabel="accuracy (%)", title="validation accuracy")
    whole_epoch_ticks(ax1)
    whole_epoch_ticks(ax2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int) -> np.ndarray:
    """counts[i, j] = examples of class i predicted as j."""
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return counts


def plot_confusion(y_true: ArrayLike, y_pred: ArrayLike, classes: Sequence[str],
                   path: str | Path) -> str | Path:
    plt = pyplot()
    cm = confusion_matrix(y_true, y_pred, len(classes))
    fig, ax = plt.subplots(figsize=(7, 6))
    im = ax.imshow(cm, cmap="Blues")
    ax.set(xticks=range(len(classes)), yticks=range(len(classes)), xlabel="predicted",
           ylabel="true", title=f"confusion matrix ({100 * np.trace(cm) / cm.sum():.2f}% correct)")
    ax.set_xticklabels(classes, rotation=45, ha="right")
    ax.set_yticklabels(classes)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, cm[i, j], ha="center", va="center", fontsize=7,
                    color="white" if cm[i, j] > cm.max() / 2 else "black")
    fig.colorbar(im)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_misclassified(X: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray,
                       classes: Sequence[str], image_shape: tuple[int, ...], path: str | Path,
                       n: int = 36) -> str | Path:
    """A grid of misclassified test images, each titled 'predicted (true)'."""
    plt = pyplot()
    wrong = np.flatnonzero(np.asarray(y_true) != np.asarray(y_pred))[:n]
    cols = 6
    rows = max(1, -(-len(wrong) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.6, rows * 1.8))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, i in zip(np.ravel(axes), wrong):
        ax.imshow(X[i].reshape(image_shape), cmap="gray_r")
        ax.set_title(f"{classes[y_pred[i]]} ({classes[y_true[i]]})", fontsize=7)
    n_wrong = np.sum(np.asarray(y_true) != np.asarray(y_pred))
    fig.suptitle(f"misclassified: predicted (true) — {n_wrong} in all")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_first_layer(W: np.ndarray, image_shape: tuple[int, ...], path: str | Path,
                     n: int = 64) -> str | Path:
    """The first layer's weight rows drawn as images (what each hidden unit looks for)."""
    plt = pyplot()
    n = min(n, len(W))
    cols = 8
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.2, rows * 1.2))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, w in zip(np.ravel(axes), W[:n]):
        lim = np.abs(w).max() or 1
        ax.imshow(w.reshape(image_shape), cmap="RdBu_r", vmin=-lim, vmax=lim)
    fig.suptitle("first-layer weights (red +, blue -)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
