"""Real datasets: MNIST, Fashion-MNIST (IDX files) and scikit-learn's 8x8 digits.

A dataset's four files are looked for, in order, in
    1. the ``data_dir`` passed in,
    2. $HANDGRAD_DATA/<name>/,
    3. ~/.cache/handgrad/<name>/,
    4. system copies (Debian's dataset-fashion-mnist: /usr/share/datasets/fashion-mnist),
    5. a download into the cache, each file's MD5 checked,
and every file's uncompressed content is checked against its published MD5,
which holds for the original downloads and for re-compressed copies alike.
When nothing works the error lists every place it looked.
"""

from __future__ import annotations

import functools
import hashlib
import os
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike

from ..nn.init import as_generator
from .idx import read_idx

# (X_train, y_train, X_test, y_test)
Split = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

DATASETS: dict[str, dict[str, Any]] = {
    "mnist": {
        # MD5 of the uncompressed files and of the published .gz files
        "md5": ["6bbc9ace898e44ae57da46a324031adb", "a25bea736e30d166cdddb491f175f624",
                "2646ac647ad5339dbf082846283269ea", "27ae3e4e09519cfbb04c329615203637"],
        "gz_md5": ["f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
                   "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"],
        "mirrors": ["https://ossci-datasets.s3.amazonaws.com/mnist/",
                    "https://storage.googleapis.com/cvdf-datasets/mnist/"],
        "system": [],
        "classes": [str(d) for d in range(10)],
    },
    "fashion-mnist": {
        "md5": ["f4a8712d7a061bf5bd6d2ca38dc4d50a", "9018921c3c673c538a1fc5bad174d6f9",
                "8181f5470baa50b63fa0f6fddb340f0a", "15d484375f8d13e6eb1aabb0c3f46965"],
        "gz_md5": ["8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                   "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"],
        "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"],
        "system": ["/usr/share/datasets/fashion-mnist"],
        "classes": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                    "Sneaker", "Bag", "Ankle boot"],
    },
}
ALIASES = {"fashion": "fashion-mnist", "fashion_mnist": "fashion-mnist", "fmnist": "fashion-mnist",
           "two-moons": "moons", "two_moons": "moons"}


def canonical_name(name: str) -> str:
    """The dataset's own name for ``name`` or one of its aliases (case and _/- ignored)."""
    key = str(name).lower()
    return ALIASES.get(key, ALIASES.get(key.replace("_", "-"), key.replace("_", "-")))


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "handgrad"


def _find_file(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    return None


def _complete(folder: Path) -> list[Path] | None:
    paths = [p for p in (_find_file(folder, stem) for stem in FILES) if p is not None]
    return paths if len(paths) == len(FILES) else None


def candidate_dirs(name: str, data_dir: str | Path | None = None) -> list[Path]:
    """Where ``name`` is looked for, in order."""
    dirs = []
    if data_dir is not None:
        dirs += [Path(data_dir), Path(data_dir) / name]
    if os.environ.get("HANDGRAD_DATA"):
        dirs.append(Path(os.environ["HANDGRAD_DATA"]) / name)
    dirs.append(cache_dir() / name)
    dirs += [Path(p) for p in DATASETS[name]["system"]]
    return dirs


def download(name: str, root: str | Path | None = None,
             mirrors: Sequence[str] | None = None) -> Path:
    """Fetch the four .gz files of ``name`` into ``root`` (the cache), checking each file's MD5."""
    info = DATASETS[name]
    root = Path(root) if root is not None else cache_dir() / name
    root.mkdir(parents=True, exist_ok=True)
    errors = []
    for stem, gz_md5 in zip(FILES, info["gz_md5"]):
        target = root / (stem + ".gz")
        if target.is_file() and hashlib.md5(target.read_bytes()).hexdigest() == gz_md5:
            continue
        for mirror in mirrors or info["mirrors"]:
            url = mirror + stem + ".gz"
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    data = response.read()
            except OSError as e:
                errors.append(f"{url}: {e}")
                continue
            if hashlib.md5(data).hexdigest() != gz_md5:
                errors.append(f"{url}: MD5 mismatch")
                continue
            tmp = target.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(target)
            break
        else:
            raise OSError(f"could not download {stem}.gz for {name}:\n  " + "\n  ".join(errors))
    return root


def find(name: str, data_dir: str | Path | None = None,
         allow_download: bool = True) -> list[Path]:
    """The four file paths of ``name`` (train images, train labels, test images, test labels)."""
    name = canonical_name(name)
    if data_dir is not None:          # named explicitly: it must hold the data, no fallback
        for folder in (Path(data_dir), Path(data_dir) / name):
            paths = _complete(folder)
            if paths:
                return paths
        why = "does not exist" if not Path(data_dir).is_dir() else "does not hold them"
        raise FileNotFoundError(
            f"{name} not found in {data_dir}: the folder {why}. Put the four IDX files "
            f"({', '.join(FILES)}, gzipped or not) in {data_dir} or in {Path(data_dir) / name}, "
            "or leave the folder out to search the usual places.")
    looked = []
    for folder in candidate_dirs(name, data_dir):
        paths = _complete(folder)
        if paths:
            return paths
        looked.append(str(folder))
    problem = "downloading is turned off"
    if allow_download:
        try:
            paths = _complete(download(name))
            assert paths is not None          # download() has put all four files there
            return paths
        except OSError as e:
            problem = f"the download failed: {e}"
    raise FileNotFoundError(
        f"{name} not found (looked in {', '.join(looked)}; {problem}). Put the four IDX files "
        f"({', '.join(FILES)}, gzipped or not) in one of those folders, or set HANDGRAD_DATA to "
        f"a folder holding a '{name}' folder.")


@functools.lru_cache(maxsize=4)
def _read_verified(paths: tuple[str, ...], md5s: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    return tuple(read_idx(p, md5) for p, md5 in zip(paths, md5s))


def load_idx_dataset(name: str, data_dir: str | Path | None = None, flatten: bool = True,
                     allow_download: bool = True) -> Split:
    """(X_train, y_train, X_test, y_test): float32 images in [0, 1], int64 labels.

    Images are (n, 784) when ``flatten``, else (n, 28, 28). Content is verified.
    """
    name = canonical_name(name)
    paths = tuple(str(p) for p in find(name, data_dir, allow_download))
    train_x, train_y, test_x, test_y = _read_verified(paths, tuple(DATASETS[name]["md5"]))

    def images(a: np.ndarray) -> np.ndarray:
        a = a.astype(np.float32) / 255
        return a.reshape(len(a), -1) if flatten else a

    return images(train_x), train_y.astype(np.int64), images(test_x), test_y.astype(np.int64)


def load_mnist(data_dir: str | Path | None = None, flatten: bool = True,
               allow_download: bool = True) -> Split:
    """MNIST: 60,000 training and 10,000 test digits, 28x28."""
    return load_idx_dataset("mnist", data_dir, flatten, allow_download)


def load_fashion_mnist(data_dir: str | Path | None = None, flatten: bool = True,
                       allow_download: bool = True) -> Split:
    """Fashion-MNIST: 60,000 training and 10,000 test clothing images, 28x28, 10 classes."""
    return load_idx_dataset("fashion-mnist", data_dir, flatten, allow_download)


def load_digits(test_fraction: float = 0.2, seed: int | None = 0) -> Split:
    """scikit-learn's 8x8 digits (1,797 images, 64 features scaled to [0, 1]), split seeded."""
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError:
        raise ImportError("the digits dataset needs scikit-learn: "
                          "pip install 'handgrad[sklearn]'") from None
    d = sk_load_digits()
    X, y = (d.data / 16.0).astype(np.float32), d.target.astype(np.int64)
    return train_val_split(X, y, val_fraction=test_fraction, seed=seed)


def train_val_split(X: np.ndarray, y: ArrayLike, val_fraction: float = 0.1, seed: int | None = 0,
                    rng: np.random.Generator | None = None, stratify: bool = True) -> Split:
    """(X_train, y_train, X_val, y_val), shuffled by a seeded generator.

    ``stratify`` keeps each class's share the same in both parts (integer labels).
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1); got {val_fraction}")
    rng = as_generator(rng, seed)
    y = np.asarray(y)
    if stratify and y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
        parts = []
        for c in np.unique(y):
            idx = rng.permutation(np.flatnonzero(y == c))
            parts.append(idx[:round(val_fraction * len(idx))])
        val = np.sort(np.concatenate(parts))
        train = np.setdiff1d(np.arange(len(y)), val)
        train, val = rng.permutation(train), rng.permutation(val)
    else:
        order = rng.permutation(len(y))
        cut = round(val_fraction * len(y))
        val, train = order[:cut], order[cut:]
    return X[train], y[train], X[val], y[val]


class Standardizer:
    """x' = (x - mean) / std per feature, fitted on training data (std 0 counts as 1)."""

    def fit(self, X: ArrayLike) -> Standardizer:
        X = np.asarray(X)
        self.mean = X.mean(axis=0)
        std = X.std(axis=0)
        self.std = np.where(std > 0, std, 1).astype(X.dtype)
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        return cast(np.ndarray, ((np.asarray(X) - self.mean) / self.std).astype(np.asarray(X).dtype))

    def fit_transform(self, X: ArrayLike) -> np.ndarray:
        return self.fit(X).transform(X)


def standardize(X_train: ArrayLike, *others: ArrayLike) -> tuple[np.ndarray, ...]:
    """Standardize X_train and the other arrays with X_train's statistics."""
    s = Standardizer().fit(X_train)
    return tuple(s.transform(X) for X in (X_train, *others))
