"""Floor 2: toy generators and real datasets (MNIST, Fashion-MNIST, scikit-learn's digits)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np

from .datasets import (
    DATASETS,
    Standardizer,
    canonical_name,
    download,
    find,
    load_digits,
    load_fashion_mnist,
    load_idx_dataset,
    load_mnist,
    standardize,
    train_val_split,
)
from .idx import parse_idx, read_idx, write_idx
from .toy import (
    TOY,
    Toy,
    make_blobs,
    make_checkerboard,
    make_circles,
    make_moons,
    make_quadrants,
    make_separable,
    make_sine,
    make_spiral,
    make_xor,
    toy_names,
)


@dataclass
class Dataset:
    """A named train/test split, with what a model needs to know about it."""
    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int | None = None
    image_shape: tuple[int, ...] | None = None
    classes: list[str] = field(default_factory=list)

    @property
    def n_features(self) -> int:
        return cast(int, self.X_train.shape[1])

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}: {len(self.X_train):,} train, {len(self.X_test):,} test, "
                f"{self.n_features} features, {self.n_classes} classes)")


def available_datasets() -> list[str]:
    """Every dataset ``load_dataset`` knows: scikit-learn's digits, the real ones in DATASETS,
    and the toy classification sets in TOY."""
    return ["digits", *DATASETS, *toy_names(classification=True)]


def load_dataset(name: str, data_dir: str | Path | None = None, seed: int | None = 0,
                 allow_download: bool = True) -> Dataset:
    """A Dataset by name: "digits", "mnist", "fashion-mnist" or a toy set ("blobs", "spiral", …)."""
    key = canonical_name(name)
    if key in DATASETS:
        parts = load_idx_dataset(key, data_dir, flatten=True, allow_download=allow_download)
        return Dataset(key, *parts, n_classes=10, image_shape=(28, 28),
                       classes=DATASETS[key]["classes"])
    if key == "digits":
        return Dataset("digits", *load_digits(seed=seed), n_classes=10, image_shape=(8, 8),
                       classes=[str(d) for d in range(10)])
    if key in toy_names(classification=True):
        X, y = (TOY[key](seed=seed) if key != "xor"
                else TOY[key](n_samples=400, noise=0.1, seed=seed))
        parts = train_val_split(X, y, val_fraction=0.25, seed=seed)
        k = int(y.max()) + 1
        return Dataset(key, *parts, n_classes=k, classes=[str(c) for c in range(k)])
    raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(available_datasets())}")


__all__ = [
    "DATASETS", "Dataset", "canonical_name", "Standardizer", "available_datasets", "download",
    "find", "load_dataset", "load_digits", "load_fashion_mnist", "load_idx_dataset", "load_mnist",
    "standardize", "train_val_split", "parse_idx", "read_idx", "write_idx", "TOY", "make_blobs",
    "make_checkerboard", "make_circles", "make_moons", "make_quadrants", "make_separable",
    "make_sine", "make_spiral", "make_xor", "toy_names", "Toy",
]
