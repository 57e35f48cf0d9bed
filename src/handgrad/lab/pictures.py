"""The lab's pictures: one style, one palette, PNG bytes from drawing functions (matplotlib)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np

from ..plot import pyplot

STYLE = {"figure.dpi": 100, "savefig.dpi": 100, "font.size": 10, "axes.titlesize": 10.5,
         "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
         "axes.spines.right": False, "legend.frameon": True, "legend.framealpha": 0.9,
         "legend.edgecolor": "0.85", "legend.fontsize": 8.5}

# one colour per thing, the same in every picture
COLORS = {"sigmoid": "#d62728", "tanh": "#ff7f0e", "relu": "#1f77b4", "linear": "#7f7f7f",
          "gelu": "#2ca02c", "silu": "#9467bd",
          "sgd": "#7f7f7f", "momentum": "#1f77b4", "nesterov": "#2ca02c", "adam": "#d62728",
          "adamw": "#9467bd", "ce": "#1f77b4", "mse": "#d62728",
          "lesson": "#1f77b4", "variant": "#ff7f0e", "variant2": "#2ca02c", "threshold": "#444444",
          "said": "#d62728"}
CLASS_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]


def render(plots: dict[str, Callable[[Any], Any]]) -> dict[str, bytes]:
    """Each drawing function's figure as PNG bytes (matplotlib's Agg backend, off-screen)."""
    plt = pyplot()
    images = {}
    for name, draw in plots.items():
        with plt.rc_context(STYLE):
            fig = draw(plt)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", bbox_inches="tight")
            plt.close(fig)
        images[name] = buf.getvalue()
    return images


def boundary(ax: Any, model: Any, X: np.ndarray, y: np.ndarray, title: str = "",
             margin: float = 0.25, n: int = 200, size: float = 7) -> None:
    """The model's predicted class over the plane, shaded, with the data points on top."""
    from matplotlib.colors import ListedColormap
    (x0, y0), (x1, y1) = X.min(axis=0) - margin, X.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    grid = np.c_[gx.ravel(), gy.ravel()].astype(model.dtype)         # (n², 2)
    with np.errstate(all="ignore"):
        pred = model.predict(grid).reshape(gx.shape)                  # (n, n)
    k = max(int(np.max(y)) + 1, 2)
    cmap = ListedColormap(CLASS_COLORS[:k])
    ax.contourf(gx, gy, pred, levels=np.arange(k + 1) - 0.5, cmap=cmap, alpha=0.25)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=cmap, vmin=-0.5, vmax=k - 0.5, s=size,
               edgecolors="none")
    ax.set(xticks=[], yticks=[], title=title)
    ax.grid(False)


def seed_band(ax: Any, x: np.ndarray, curves: np.ndarray, color: str, label: str,
              log: bool = False, lw: float = 1.8) -> None:
    """The mean of several seeds' curves as a line, their range as a shaded band."""
    curves = np.asarray(curves, dtype=np.float64)                      # (seeds, len(x))
    with np.errstate(all="ignore"):
        centre = np.exp(np.nanmean(np.log(curves), axis=0)) if log else np.nanmean(curves, axis=0)
    ax.fill_between(x, np.nanmin(curves, axis=0), np.nanmax(curves, axis=0), color=color,
                    alpha=0.18, lw=0)
    ax.plot(x, centre, color=color, lw=lw, label=label)


def threshold_line(ax: Any, y: float, text: str, color: str = COLORS["threshold"],
                   where: str = "right") -> None:
    """A dotted horizontal line with its meaning written on it."""
    ax.axhline(y, color=color, ls=":", lw=1)
    x = 0.99 if where == "right" else 0.01
    ax.text(x, y, f" {text} ", transform=ax.get_yaxis_transform(), ha=where, va="bottom",
            fontsize=8, color=color)


def arch(sizes: tuple[int, ...] | list[int]) -> str:
    """Layer sizes as a short name: (256, 256, 256, 256, 10) -> '256 → 256×3 → 10'."""
    parts: list[str] = []
    i = 0
    while i < len(sizes):
        j = i
        while j + 1 < len(sizes) and sizes[j + 1] == sizes[i]:
            j += 1
        count = j - i + 1
        if i == 0 and count > 1:
            parts.append(str(sizes[i]))
            count -= 1
        parts.append(f"{sizes[i]}×{count}" if count > 1 else str(sizes[i]))
        i = j + 1
    return " → ".join(parts)


def count_bars(ax: Any, per: dict[str, int], title: str) -> None:
    """A network's parameters as one bar per array (weights blue, biases orange), each with
    its count."""
    names = list(per)
    ax.barh(names, [per[k] for k in names],
            color=[COLORS["relu"] if "weight" in k else COLORS["tanh"] for k in names])
    for i, k in enumerate(names):
        ax.text(per[k], i, f" {per[k]}", va="center", fontsize=9)
    ax.set(xlabel="numbers", title=title)
    ax.invert_yaxis()


def dot_strip(ax: Any, groups: dict[str, list[float]], colors: list[str], ylabel: str,
              said: float | None = None, said_label: str = "", log: bool = False) -> None:
    """One column of dots per group (one dot per seed) with its mean as a bar."""
    lost = {}
    for i, (values, color) in enumerate(zip(groups.values(), colors)):
        v = np.asarray(values, dtype=np.float64)
        ok = np.isfinite(v)
        jitter = np.linspace(-0.12, 0.12, len(v)) if len(v) > 1 else np.zeros(1)
        ax.plot(i + jitter[ok], v[ok], "o", color=color, ms=5, alpha=0.8)
        if ok.any():
            mean = float(np.exp(np.mean(np.log(v[ok])))) if log else float(np.mean(v[ok]))
            ax.plot([i - 0.25, i + 0.25], [mean, mean], color=color, lw=2.5)
        if not ok.all():
            lost[i] = int(np.sum(~ok))
    ax.set_xticks(range(len(groups)), list(groups), fontsize=8.5)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    for i, n in lost.items():                      # runs that diverged have no number to plot
        ax.text(i, 0.5, f"{n} of {len(list(groups.values())[i])}\ndiverged (NaN)",
                transform=ax.get_xaxis_transform(),
                ha="center", va="center", fontsize=8.5, color="0.3")
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    if said is not None:
        threshold_line(ax, said, said_label, COLORS["said"])
