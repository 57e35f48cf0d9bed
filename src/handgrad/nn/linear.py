"""The affine map z = x Wᵀ + b, with W stored (d_out, d_in) as in torch.nn.Linear."""

from __future__ import annotations

from typing import cast

import numpy as np
from numpy.typing import DTypeLike

from .init import InitMethod, as_generator, init_weight
from .module import Module


class Linear(Module):
    """z = x @ W.T + b.

    W is (d_out, d_in), the layout of ``torch.nn.Linear`` and ``mlx.nn.Linear``
    — not the x @ W of many lessons — so a state dict moves between the three
    backends with no transposes.

    Backward, given δ = dL/dz (B, d_out) and the cached input x (B, d_in):
        dL/dW = δᵀ x          (d_out, B) @ (B, d_in)  -> (d_out, d_in)
        dL/db = Σ_batch δ     (B, d_out)              -> (d_out,)
        dL/dx = δ W           (B, d_out) @ (d_out, d_in) -> (B, d_in)
    since z_bj = Σ_i x_bi W_ji + b_j. The first layer of a network sets
    ``needs_input_grad = False``: nobody needs dL/dX, and skipping it saves a
    third of that layer's backward work.
    """

    caches: tuple[str, ...] = ("x",)

    def __init__(self, d_in: int, d_out: int, bias: bool = True, init: InitMethod = "he",
                 rng: np.random.Generator | None = None, dtype: DTypeLike = np.float32) -> None:
        super().__init__()
        rng = as_generator(rng)
        self.params["weight"] = init_weight(init, rng, d_out, d_in, dtype)   # (d_out, d_in)
        if bias:
            self.params["bias"] = np.zeros(d_out, dtype=dtype)               # (d_out,)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.needs_input_grad = True

    @property
    def W(self) -> np.ndarray:
        return self.params["weight"]

    @property
    def b(self) -> np.ndarray | None:
        return self.params.get("bias")

    @property
    def dW(self) -> np.ndarray:
        return self.grads["weight"]

    @property
    def db(self) -> np.ndarray | None:
        return self.grads.get("bias")

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        self.x = x                                 # (B, d_in), kept for dW
        z: np.ndarray = x @ self.W.T               # (B, d_in) @ (d_in, d_out) -> (B, d_out)
        if self.b is not None:
            z += self.b                            # (B, d_out) + (d_out,), broadcast over the batch
        return z

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        return self.backward_delta(grad_out)

    def backward_delta(self, delta: np.ndarray) -> np.ndarray | None:
        """Fill dW, db from δ = dL/dz; return dL/dx (or None when not needed)."""
        np.matmul(delta.T, self.x, out=self.dW)        # (d_out, B) @ (B, d_in) -> (d_out, d_in)
        if self.b is not None:
            np.sum(delta, axis=0, out=self.db)         # (B, d_out) -> (d_out,)
        if not self.needs_input_grad:
            return None
        return cast(np.ndarray, delta @ self.W)        # (B, d_out) @ (d_out, d_in) -> (B, d_in)

    def __repr__(self) -> str:
        d_out, d_in = self.W.shape
        return f"{type(self).__name__}({d_in}, {d_out}, bias={self.b is not None})"
