"""What the page draws, computed by handgrad and packed small for the wire.

A picture is an array of numbers in [0, 1] (or [-1, 1]) quantized to bytes and sent
as base64: a 48 x 48 decision boundary with K classes is 48·48·K bytes. The page
decodes and colours it; it computes nothing.
"""

import base64
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..mlp import MLP
from .data import FEATURES, FEATURES_1D, features, grid, line

GRID = 48             # decision boundary: cells per side
NEURON_GRID = 24      # each neuron's own picture: cells per side
CURVE = 160           # a regression curve: samples along x


def pack01(values: ArrayLike) -> str:
    """Values in [0, 1] as base64 bytes (0 -> 0, 1 -> 255)."""
    q = np.clip(np.rint(np.asarray(values, dtype=np.float32) * 255), 0, 255).astype(np.uint8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def pack_signed(values: ArrayLike) -> tuple[str, list[float]]:
    """Values in [-1, 1] as base64 bytes (-1 -> 0, 0 -> 128, 1 -> 255) and the scale used.

    Each column (a neuron) is divided by its own largest |value| first; returns
    (text, scales) with scales the list of those largest values.
    """
    values = np.asarray(values, dtype=np.float32)                       # (n, units)
    scale = np.abs(values).max(axis=0)                                  # (units,)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0).astype(np.float32)
    unit = np.clip(values / scale, -1, 1)                               # (n, units)
    q = np.clip(np.rint((unit + 1) * 127.5), 0, 255).astype(np.uint8)
    return base64.b64encode(np.ascontiguousarray(q.T).tobytes()).decode("ascii"), \
        [round(float(s), 5) for s in scale]


def inputs_of(setup: dict[str, Any], task: str, size: int) -> np.ndarray:
    """The square's sample points for a picture: a grid (classes) or a line (a regression)."""
    U = grid(size) if task == "classification" else line(size)
    return features(U, setup["features"])                               # (n, d)


def output_picture(model: MLP, setup: dict[str, Any], task: str, size: int = GRID) -> dict[str, Any]:
    """The decision boundary (classes: probabilities on a grid) or the fitted curve."""
    X = inputs_of(setup, task, size if task == "classification" else CURVE)
    if task == "classification":
        p = model.predict_proba(X)                                      # (size², K)
        return {"kind": "grid", "size": size, "classes": int(p.shape[1]), "probs": pack01(p)}
    y = model.predict(X)                                                # (CURVE,)
    return {"kind": "curve", "size": CURVE, "values": [round(float(v), 4) for v in y]}


def layer_outputs(model: MLP, X: np.ndarray) -> list[np.ndarray]:
    """Every hidden layer's activation a(l) (n, n_l) for inputs X, in evaluation mode."""
    out, a = [], model.check_X(X)
    for layer in model.layers[:-1]:
        a = layer.infer(a)                                              # (n, n_l), nothing kept
        out.append(a)
    return out


def neuron_pictures(model: MLP, setup: dict[str, Any], task: str,
                    size: int = NEURON_GRID) -> list[dict[str, Any]]:
    """Each hidden neuron's output over the square (or along x), per layer, scaled to [-1, 1]."""
    n = size if task == "classification" else CURVE // 2
    X = inputs_of(setup, task, n)
    shape = [n, n] if task == "classification" else [1, n]
    pictures = []
    for a in layer_outputs(model, X):
        data, scales = pack_signed(a)
        pictures.append({"shape": shape, "data": data, "scales": scales})
    return pictures


def feature_pictures(task: str, size: int = NEURON_GRID) -> dict[str, Any]:
    """Every feature the task offers (used or not) over the square (or along x), in [-1, 1],
    in the order of ``data.FEATURES`` (or ``FEATURES_1D``)."""
    n = size if task == "classification" else CURVE // 2
    names = list(FEATURES) if task == "classification" else list(FEATURES_1D)
    U = grid(n) if task == "classification" else line(n)
    data, scales = pack_signed(features(U, names))
    return {"names": names, "shape": [n, n] if task == "classification" else [1, n],
            "data": data, "scales": scales}


def weights_of(model: MLP) -> list[dict[str, Any]]:
    """Every layer's W (d_out, d_in) and b (d_out,), rounded for drawing and hovering."""
    out = []
    for layer in model.layers:
        b = layer.b if layer.b is not None else np.zeros(layer.W.shape[0])
        out.append({"W": np.round(layer.W.astype(np.float64), 4).tolist(),
                    "b": np.round(b.astype(np.float64), 4).tolist()})
    return out
