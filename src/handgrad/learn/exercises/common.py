"""What the lessons' check functions share: handgrad's reference pieces in float64, and the
answers that known mistakes give (computed here, so the checker can name them)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np

from ...mlp import MLP
from ...nn import Activation


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def derivative(act: Activation, z: np.ndarray) -> np.ndarray:
    """f'(z) elementwise from a handgrad activation: its backward of a gradient of ones."""
    act.forward(z)
    return act.backward(np.ones_like(z))


def mlp(Ws: list[np.ndarray], bs: list[np.ndarray], hidden: str = "relu",
        output: str = "softmax") -> MLP:
    """A float64 handgrad MLP holding these weights, (d_out, d_in) each."""
    sizes = [Ws[0].shape[1]] + [W.shape[0] for W in Ws]
    model = MLP(sizes, [hidden] * (len(Ws) - 1) + [output], dtype=np.float64, seed=0)
    for layer, W, b in zip(model.layers, Ws, bs):
        layer.params["weight"][...] = W
        layer.params["bias"][...] = b
    return model


def weights(sizes: list[int] | tuple[int, ...], seed: int = 0,
            bias_scale: float = 0.1) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Random He-scaled weights (d_out, d_in) and small random biases for ``sizes``."""
    r = rng(seed)
    Ws = [r.standard_normal((o, i)) * np.sqrt(2 / i) for i, o in pairwise(sizes)]
    bs = [r.standard_normal(o) * bias_scale for o in sizes[1:]]
    return Ws, bs


def grads_of(model: MLP, X: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """handgrad's gradients of the model's loss on (X, y): {"layers.0.weight": …, …}."""
    model.loss_and_grad(X, y)
    return {k: g.copy() for k, g in model.grads.items()}


def softmax_rows(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    p: np.ndarray = e / e.sum(axis=-1, keepdims=True)
    return p


def mistaken_backward(X: np.ndarray, y: np.ndarray, Ws: list[np.ndarray], bs: list[np.ndarray],
                      *, per_batch: bool = True, mask: bool = True, propagate_transposed: bool = False,
                      hidden: str = "relu", mask_from_z: bool = False,
                      derivative_of_z: bool = False) -> tuple[list[Any], list[Any]]:
    """The gradients a backward pass with one known mistake gives (every flag at its default
    is the right answer): no division by B, no activation mask, δ propagated through Wᵀ,
    ReLU's mask used for tanh, tanh's 1 − z² taken of z instead of of tanh z."""
    B = len(X)
    zs, acts, a = [], [X], X
    for l, (W, b) in enumerate(zip(Ws, bs)):
        z = a @ W.T + b
        zs.append(z)
        a = z if l == len(Ws) - 1 else (np.tanh(z) if hidden == "tanh" else np.maximum(z, 0))
        acts.append(a)
    delta = softmax_rows(zs[-1])
    delta[np.arange(B), y] -= 1
    if per_batch:
        delta /= B
    dWs: list[Any] = [None] * len(Ws)
    dbs: list[Any] = [None] * len(Ws)
    with np.errstate(all="ignore"):
        for l in range(len(Ws) - 1, -1, -1):
            dWs[l] = delta.T @ acts[l]
            dbs[l] = delta.sum(axis=0)
            if l == 0:
                break
            W = Ws[l]
            if propagate_transposed:
                if W.shape[0] != W.shape[1]:
                    return dWs, dbs
                W = W.T
            delta = delta @ W
            if not mask:
                continue
            z = zs[l - 1]
            if hidden == "tanh" and not mask_from_z:
                delta = delta * ((1 - z ** 2) if derivative_of_z else (1 - np.tanh(z) ** 2))
            else:
                delta = delta * (z > 0)
    return dWs, dbs


def letter(value: Any) -> str:
    return value.strip().lower().strip("()") if isinstance(value, str) else ""
