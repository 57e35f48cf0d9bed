"""Small seeded datasets for the lessons: X float32 (n, d), y int64 labels or float32 targets."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from ..nn.init import as_generator

Rng = np.random.Generator


def _out(X: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y)
    return np.asarray(X, dtype=np.float32), (y.astype(np.int64) if y.dtype.kind in "iub"
                                             else y.astype(np.float32))


def make_xor(n_samples: int = 4, noise: float = 0.0, seed: int | None = None,
             rng: Rng | None = None) -> tuple[np.ndarray, np.ndarray]:
    """XOR: the four corners of the unit square, label x1 != x2 (not linearly separable).

    With n_samples > 4, corners are drawn at random and jittered by ``noise``.
    """
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    rng = as_generator(rng, seed)
    if n_samples == 4 and noise == 0:
        idx = np.arange(4)
    else:
        idx = rng.integers(0, 4, n_samples)
    X = corners[idx]
    if noise:
        X = X + noise * rng.standard_normal(X.shape)
    return _out(X, np.array([0, 1, 1, 0])[idx])


def make_blobs(n_samples: int = 300, n_features: int = 4, centers: int = 3,
               center_std: float = 3.0, cluster_std: float = 1.0, seed: int | None = None,
               rng: Rng | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs: centers ~ N(0, center_std²) in n_features dimensions, points ~ N(center,
    cluster_std²)."""
    rng = as_generator(rng, seed)
    C = rng.standard_normal((centers, n_features)) * center_std
    y = rng.integers(0, centers, n_samples)
    X = C[y] + cluster_std * rng.standard_normal((n_samples, n_features))
    return _out(X, y)


def make_spiral(n_per_class: int = 100, n_classes: int = 3, noise: float = 0.2,
                seed: int | None = None, rng: Rng | None = None) -> tuple[np.ndarray, np.ndarray]:
    """K interleaved spiral arms in 2-D (CS231n's spiral): radius 0→1, angle turning with it."""
    rng = as_generator(rng, seed)
    X, y = [], []
    for k in range(n_classes):
        r = np.linspace(0.0, 1.0, n_per_class)
        t = np.linspace(k * 4, (k + 1) * 4, n_per_class) + noise * rng.standard_normal(n_per_class)
        X.append(np.c_[r * np.sin(t), r * np.cos(t)])
        y.append(np.full(n_per_class, k))
    return _out(np.vstack(X), np.concatenate(y))


def make_quadrants(n_samples: int = 400, seed: int | None = None,
                   rng: Rng | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in [-1, 1]²; the label is the quadrant (0: x>0,y>0; 1: x<0,y>0; 2; 3)."""
    rng = as_generator(rng, seed)
    X = rng.uniform(-1, 1, (n_samples, 2))
    right, up = X[:, 0] > 0, X[:, 1] > 0
    y = np.select([right & up, ~right & up, ~right & ~up], [0, 1, 2], default=3)
    return _out(X, y)


def make_circles(n_samples: int = 400, noise: float = 0.05, factor: float = 0.5,
                 seed: int | None = None, rng: Rng | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles (radius 1 and ``factor``); label 1 for the inner one."""
    rng = as_generator(rng, seed)
    y = rng.integers(0, 2, n_samples)
    t = rng.uniform(0, 2 * np.pi, n_samples)
    r = np.where(y == 1, factor, 1.0)
    X = np.c_[r * np.cos(t), r * np.sin(t)] + noise * rng.standard_normal((n_samples, 2))
    return _out(X, y)


def make_moons(n_samples: int = 400, noise: float = 0.1, seed: int | None = None,
               rng: Rng | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (label 0 on top, 1 below, shifted right and down)."""
    rng = as_generator(rng, seed)
    y = rng.integers(0, 2, n_samples)
    t = rng.uniform(0, np.pi, n_samples)
    X = np.where(y[:, None] == 0, np.column_stack([np.cos(t), np.sin(t)]),     # (n, 2)
                 np.column_stack([1 - np.cos(t), 0.5 - np.sin(t)]))
    X = X + noise * rng.standard_normal((n_samples, 2))
    return _out(X, y)


def make_checkerboard(n_samples: int = 400, tiles: int = 4, noise: float = 0.0,
                      seed: int | None = None,
                      rng: Rng | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in [-1, 1]², labelled by the colour of a tiles x tiles checkerboard."""
    rng = as_generator(rng, seed)
    X = rng.uniform(-1, 1, (n_samples, 2))
    cell = np.floor((X + 1) / 2 * tiles).clip(0, tiles - 1).astype(np.int64)   # (n, 2)
    y = (cell[:, 0] + cell[:, 1]) % 2
    return _out(X + noise * rng.standard_normal(X.shape), y)


def make_separable(n_samples: int = 400, n_features: int = 2, margin: float = 0.1,
                   seed: int | None = None,
                   rng: Rng | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Linearly separable classes: label = [w·x > 0] for a random w; points within ``margin``
    of the boundary are dropped."""
    rng = as_generator(rng, seed)
    w = rng.standard_normal(n_features)
    w /= np.linalg.norm(w)
    X = np.empty((0, n_features))
    while len(X) < n_samples:
        cand = rng.uniform(-1, 1, (2 * n_samples, n_features))
        X = np.vstack([X, cand[np.abs(cand @ w) > margin]])
    X = X[:n_samples]
    return _out(X, (X @ w > 0).astype(np.int64))


def make_sine(n_samples: int = 200, noise: float = 0.0, seed: int | None = None,
              rng: Rng | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Regression of y = sin(x) on x ~ U(-π, π): X (n, 1), y (n, 1) float32."""
    rng = as_generator(rng, seed)
    x = np.sort(rng.uniform(-np.pi, np.pi, n_samples))
    y = np.sin(x) + noise * rng.standard_normal(n_samples)
    return _out(x[:, None], y[:, None].astype(np.float64))


# The one table of toy datasets; "sine" is the only regression set (REGRESSION).
TOY: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "xor": make_xor, "blobs": make_blobs, "spiral": make_spiral, "quadrants": make_quadrants,
    "circles": make_circles, "moons": make_moons,
    "checkerboard": make_checkerboard, "separable": make_separable, "sine": make_sine}
REGRESSION = ("sine",)


def toy_names(classification: bool = False) -> list[str]:
    """The toy datasets' names, in table order; ``classification=True`` leaves out sine."""
    return [name for name in TOY if not (classification and name in REGRESSION)]
