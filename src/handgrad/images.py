"""Images in, model inputs out: PNG (via Pillow) or .npy, shaped and scaled like the training
data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np


def load_inputs(path: str | Path, n_features: int, resize: bool = False,
                pixels: bool = True) -> np.ndarray:
    """Rows (n, n_features) of float32 from a PNG or a .npy file: pixels scaled to [0, 1], or
    with ``pixels=False`` (a model not trained on images) the .npy file's values as they are.

    A PNG is made greyscale, must be the square the model was trained on
    (28x28 for 784 features) — or is resized to it with ``resize=True`` —, and
    is inverted when its background is light, so a
    dark digit on white paper looks like MNIST's white digit on black. A .npy
    file may hold one image or a stack, as pixels 0-255 or values in [0, 1].
    """
    path = Path(path)
    side = math.isqrt(n_features)
    if path.suffix.lower() == ".npy":
        try:
            a: np.ndarray = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as e:          # an object array, a damaged file
            raise ValueError(f"{path}: not a .npy file of numbers ({e})") from None
        if a.dtype.kind not in "biuf":
            raise ValueError(f"{path} holds {a.dtype} values; the model needs real numbers")
        if a.size == 0:
            raise ValueError(f"{path} holds no values; the model needs rows of {n_features}")
        a = a.astype(np.float32)
        if a.size % n_features:
            raise ValueError(f"{path}: {a.shape} cannot be split into rows of {n_features} values")
        a = a.reshape(-1, n_features)
        if not np.isfinite(a).all():
            raise ValueError(f"{path} contains NaN or Inf; the model needs finite pixel values")
        return a / 255 if pixels and a.max() > 1 else a
    if not pixels:
        raise ValueError(f"this model was not trained on images; give its {n_features} input "
                         "values in a .npy file")
    if side * side != n_features:
        raise ValueError(f"a model with {n_features} inputs does not take square images; use .npy")
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("reading PNG files needs Pillow: pip install 'handgrad[plot]'") from None
    try:
        img = Image.open(path).convert("L")
    except OSError as e:
        raise ValueError(f"{path}: not an image Pillow can read ({e})") from None
    if img.size != (side, side):
        if not resize:
            raise ValueError(f"{path} is {img.size[0]}x{img.size[1]} but the model takes "
                             f"{side}x{side} images; pass --resize to shrink or stretch it")
        # Image.LANCZOS: set at import time, so type checkers miss it (Pillow < 9.1 lacks
        # Image.Resampling.LANCZOS)
        img = img.resize((side, side), Image.LANCZOS)  # type: ignore[attr-defined]
    a = np.asarray(img, dtype=np.float32) / 255
    if a.mean() > 0.5:                       # light background: invert to MNIST's convention
        a = 1 - a
    return a.reshape(1, n_features)
