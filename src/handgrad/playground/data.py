"""The playground's data: handgrad's toy generators (or the user's CSV file), scaled into
the square [-1, 1]², split into train and test, and turned into the chosen features.

Every dataset is moved and scaled (the same factor on both axes) so that its points
fill [-0.9, 0.9]²; the page draws that square. A regression set (y = f(x)) is scaled
the same way on each of its two axes. The features are functions of the scaled point
(u, v):  x = u, y = v, x² = u², y² = v², xy = uv, sin(πx) = sin(πu), sin(πy) = sin(πv).
"""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import data as hgdata
from ..data import train_val_split
from ..data.toy import REGRESSION
from .checks import SettingError

# the user's CSV, parsed: points P (n, 2) or (n, 1), targets t (n,), class names (None: a regression)
Table = tuple[np.ndarray, np.ndarray, list[str] | None]

FILL = 0.9                   # scaled data fill [-FILL, FILL]
MAX_CSV_BYTES = 1_000_000
MIN_CSV_ROWS = 10
MAX_POINTS = 2000
MAX_CLASSES = 6
MAX_COORDINATE = 1e12        # larger CSV values are refused: the float32 features lose them

FEATURES = {                                   # name -> label shown in the page
    "x": "x", "y": "y", "x2": "x²", "y2": "y²", "xy": "xy", "sinx": "sin(πx)", "siny": "sin(πy)",
}
FEATURES_1D = ("x", "x2", "sinx")              # what a 1-D regression input allows
# name -> formula as code, for the Python snippet (u, v: the scaled point)
FEATURE_CODE = {"x": "u", "y": "v", "x2": "u * u", "y2": "v * v", "xy": "u * v",
                "sinx": "np.sin(np.pi * u)", "siny": "np.sin(np.pi * v)"}


@dataclass(frozen=True)
class Toy:
    """How the playground draws one of handgrad's toy datasets (``handgrad.data.TOY``).

    ``args(n, noise, k)`` gives the generator's keyword arguments for n points, the page's
    noise in [0, 1] and k classes; ``jitter`` adds Gaussian noise of jitter · noise to every
    point afterwards (for generators that take no noise); ``classes`` says the page offers a
    class count.
    """
    label: str
    args: Callable[[int, float, int], dict[str, Any]] = lambda n, noise, k: {"n_samples": n}
    jitter: float = 0.0
    classes: bool = False


# The playground's reading of each toy dataset; one registered in handgrad.data.TOY without a
# line here is still offered (drawn with n_samples and jittered by the noise), under its name.
TOYS = {
    "xor": Toy("XOR", lambda n, noise, k: {"n_samples": n, "noise": 0.4 * noise}),
    "circles": Toy("circles", lambda n, noise, k: {"n_samples": n, "noise": 0.25 * noise}),
    "moons": Toy("moons", lambda n, noise, k: {"n_samples": n, "noise": 0.5 * noise}),
    "spiral": Toy("spiral", lambda n, noise, k: {"n_per_class": max(n // k, 2), "n_classes": k,
                                                 "noise": noise}, classes=True),
    "blobs": Toy("blobs", lambda n, noise, k: {"n_samples": n, "n_features": 2, "centers": k,
                                               "cluster_std": 0.3 + 2 * noise}, classes=True),
    "checkerboard": Toy("checker", lambda n, noise, k: {"n_samples": n, "tiles": 4,
                                                        "noise": 0.2 * noise}),
    "quadrants": Toy("quadrants", jitter=0.2),
    "separable": Toy("separable", jitter=0.2),
    "sine": Toy("sine fit", lambda n, noise, k: {"n_samples": n, "noise": 0.5 * noise}),
}
CSV = "csv"                                    # the user's own file: a dataset name too


def toy(name: str) -> Toy:
    """The playground's reading of toy dataset ``name`` (a default one when it has no line)."""
    return TOYS.get(name) or Toy(name.replace("_", " "), jitter=0.2)


def dataset_names() -> list[str]:
    """The datasets the page offers: handgrad's toy datasets, in their table's order, then csv."""
    return [*hgdata.toy_names(), CSV]


def task_of(name: str) -> str:
    return "regression" if name in REGRESSION else "classification"


def generate(setup: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The raw points of a built-in dataset, drawn from a generator seeded by ``setup["seed"]``."""
    name, n, noise, k = setup["dataset"], setup["points"], setup["noise"], setup["classes"]
    if name not in hgdata.TOY:
        raise SettingError("dataset", f"no generator for dataset {name!r}")
    rng = np.random.default_rng(setup["seed"])
    how = toy(name)
    X, y = hgdata.TOY[name](**how.args(n, noise, k), rng=rng)
    if how.jitter:
        X = X + (how.jitter * noise * rng.standard_normal(X.shape)).astype(np.float32)
    return X, y


@dataclass
class Points:
    """A dataset in the page's square: raw points ``P`` (n, 2) or (n, 1) scaled, targets ``t``.

    ``center`` and ``scale`` map an original point p to the square: (p - center) / scale.
    For a regression, ``t`` (n, 1) is scaled too, by ``t_center`` and ``t_scale``.
    """
    P: np.ndarray
    t: np.ndarray
    task: str                  # "classification" or "regression"
    n_classes: int
    center: np.ndarray
    scale: float
    t_center: float = 0.0
    t_scale: float = 1.0


def _fit_square(P: np.ndarray) -> tuple[np.ndarray, float]:
    """(center, scale) with (P - center) / scale filling [-FILL, FILL] on the wider axis."""
    lo, hi = P.min(axis=0), P.max(axis=0)                     # (d,), (d,)
    center = (lo + hi) / 2                                    # (d,)
    half = float(np.max(hi - lo)) / 2
    return center, (half / FILL if half > 0 else 1.0)


def make_points(setup: dict[str, Any], table: Table | None = None) -> Points:
    """The scaled dataset for ``setup``; ``table`` is a parsed CSV (for dataset "csv")."""
    if setup["dataset"] == "csv":
        if table is None:
            raise SettingError("dataset", "choose a CSV file first (columns x, y, label — or "
                                          "x, target for a regression)")
        P, t = table[:2]
    else:
        P, t = generate(setup)
    P = np.asarray(P, dtype=np.float64)
    center, scale = _fit_square(P)
    U = ((P - center) / scale).astype(np.float32)             # (n, d) in [-0.9, 0.9]
    if np.issubdtype(np.asarray(t).dtype, np.integer):
        t = np.asarray(t, dtype=np.int64)
        return Points(U, t, "classification", int(t.max()) + 1, center, scale)
    t = np.asarray(t, dtype=np.float64).reshape(-1, 1)
    t_center, t_scale = _fit_square(t)
    T = ((t - t_center) / t_scale).astype(np.float32)         # (n, 1) in [-0.9, 0.9]
    return Points(U, T, "regression", 0, center, scale, float(t_center[0]), t_scale)


def split(points: Points, train_fraction: float,
          seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(U_train, t_train, U_test, t_test): a seeded split, stratified for classes."""
    return train_val_split(points.P, points.t, val_fraction=1 - train_fraction, seed=seed,
                           stratify=points.task == "classification")


def features(U: np.ndarray, names: list[str]) -> np.ndarray:
    """The feature matrix (n, len(names)) float32 of scaled points U (n, 2) or (n, 1)."""
    u = U[:, 0]                                               # (n,)
    v = U[:, 1] if U.shape[1] > 1 else np.zeros_like(u)       # (n,)
    table = {"x": u, "y": v, "x2": u * u, "y2": v * v, "xy": u * v,
             "sinx": np.sin(np.pi * u), "siny": np.sin(np.pi * v)}
    return np.stack([table[name] for name in names], axis=1).astype(np.float32)  # (n, d)


def grid(size: int) -> np.ndarray:
    """The page's square sampled at size x size cell centres: points (size², 2), row 0 on top."""
    c = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1           # (size,) in (-1, 1)
    v, u = np.meshgrid(c[::-1], c, indexing="ij")                          # (size, size) each
    return np.stack([u.ravel(), v.ravel()], axis=1)                        # (size², 2)


def line(size: int) -> np.ndarray:
    """The square's x axis sampled at ``size`` points: (size, 1), left to right."""
    return np.linspace(-1, 1, size, dtype=np.float32)[:, None]


def as_list(U: np.ndarray, t: np.ndarray) -> list[list[float]]:
    """Points for drawing: [[u, v, label], ...] (classes) or [[u, target], ...], rounded."""
    U = np.round(U.astype(np.float64), 4)
    t = np.asarray(t).reshape(len(U), -1)[:, 0]
    if U.shape[1] == 1:
        return [[float(u), round(float(v), 4)] for (u,), v in zip(U, t)]
    return [[float(u), float(v), int(c)] for (u, v), c in zip(U, t)]


def thumbnails(n: int = 150) -> dict[str, list[list[float]]]:
    """A small sample of every built-in dataset, for the page's dataset buttons."""
    out = {}
    for name in dataset_names():
        if name != CSV:
            p = make_points({"dataset": name, "points": n, "noise": 0.15, "classes": 3, "seed": 0})
            out[name] = as_list(p.P, p.t)
    return out


# --- the user's own data -------------------------------------------------------------------

def parse_csv(text: str) -> Table:
    """(P, t, names) from CSV text: rows ``x, y, label`` (classes) or ``x, target`` (a regression).

    A first row that is not numbers is a header. Separators: comma, semicolon or tab.
    Labels may be whole numbers or names (each distinct one a class, in sorted order);
    ``names`` lists them by class index (None for a regression).
    Raises SettingError (field "csv") with the line that is wrong.
    """
    if not isinstance(text, str):
        raise SettingError("csv", "the CSV file must be text")
    if len(text.encode("utf-8", "replace")) > MAX_CSV_BYTES:
        raise SettingError("csv", f"the CSV file is larger than {MAX_CSV_BYTES // 1000} kB; "
                                  f"the playground takes at most {MAX_POINTS} rows")
    lines = [(i + 1, ln) for i, ln in enumerate(text.splitlines()) if ln.strip()]
    if not lines:
        raise SettingError("csv", "the CSV file is empty; expected rows like 0.5,-1.2,1")
    sep = next((s for s in (",", ";", "\t") if s in lines[0][1]), ",")
    rows = [(no, [c.strip() for c in next(csv.reader(io.StringIO(ln), delimiter=sep))])
            for no, ln in lines]
    if rows and not _is_number(rows[0][1][0]):
        rows = rows[1:]                                          # a header
    if not rows:
        raise SettingError("csv", "the CSV file has a header but no rows")
    width = len(rows[0][1])
    if width not in (2, 3):
        raise SettingError("csv", f"line {rows[0][0]}: expected 3 columns (x, y, label) or 2 "
                                  f"(x, target); got {width}")
    if len(rows) < MIN_CSV_ROWS or len(rows) > MAX_POINTS:
        raise SettingError("csv", f"the CSV file needs {MIN_CSV_ROWS} to {MAX_POINTS} rows; "
                                  f"got {len(rows)}")
    n_coords = 2 if width == 3 else 1
    P = np.empty((len(rows), n_coords))
    labels = []
    for r, (no, cells) in enumerate(rows):
        if len(cells) != width:
            raise SettingError("csv", f"line {no}: expected {width} values like the first row; "
                                      f"got {len(cells)}")
        for j in range(n_coords):
            P[r, j] = _coordinate(cells[j], no)
        labels.append(cells[-1])
    numbers = [no for no, _ in rows]
    _check_spread(P, numbers, ["x", "y"][:n_coords])
    if width == 2:
        t = np.array([_coordinate(c, no) for no, c in zip(numbers, labels)])
        _check_spread(t[:, None], numbers, ["target"])
        return P, t, None
    return (P, *_classes(labels))


def _check_spread(A: np.ndarray, line_numbers: list[int], names: list[str],
                  ratio: float = 1e4) -> None:
    """Refuse a column where one value lies so far from the rest that, scaled into the page's
    square, every other point would fall on one dot (e.g. a stray 1e308 among values near 1)."""
    for j, name in enumerate(names):
        col = A[:, j]
        lo, hi = np.percentile(col, [25, 75])
        middle = hi - lo
        spread = float(np.max(col) - np.min(col))
        if middle > 0 and spread > ratio * middle:
            far = int(np.argmax(np.abs(col - np.median(col))))
            raise SettingError("csv", f"line {line_numbers[far]}: {name} = {col[far]:g} lies so far "
                                      f"from the others (the middle half of {name} is "
                                      f"{lo:g} to {hi:g}) that every other point would fall on "
                                      "one dot; remove that row or rescale the column")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _coordinate(text: str, line_no: int) -> float:
    try:
        x = float(text)
    except ValueError:
        raise SettingError("csv", f"line {line_no}: {text!r} is not a number") from None
    if not np.isfinite(x):
        raise SettingError("csv", f"line {line_no}: {text!r} is not a finite number")
    if abs(x) > MAX_COORDINATE:
        raise SettingError("csv", f"line {line_no}: {text!r} is too large; the playground "
                                  f"takes values up to {MAX_COORDINATE:g} in size")
    return x


def _classes(labels: list[str]) -> tuple[np.ndarray, list[str]]:
    """(class index of each label, the labels by index) for whole numbers or names."""
    names = sorted(set(labels), key=lambda s: (not _is_number(s), float(s) if _is_number(s) else 0, s))
    if len(names) < 2 or len(names) > MAX_CLASSES:
        shown = ", ".join(names[:8]) + (" …" if len(names) > 8 else "")
        raise SettingError("csv", f"the label column needs 2 to {MAX_CLASSES} classes; got "
                                  f"{len(names)} ({shown}); for a regression give two columns, "
                                  "x and target")
    index = {name: i for i, name in enumerate(names)}
    return np.array([index[s] for s in labels], dtype=np.int64), names
