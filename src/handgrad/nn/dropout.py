"""Inverted dropout."""

from __future__ import annotations

from typing import cast

import numpy as np

from .init import as_generator
from .module import Module


class Dropout(Module):
    """Zero each unit with probability p in training; scale the survivors by 1/(1-p).

        m_ij ~ Bernoulli(1 - p) / (1 - p)       so E[m_ij] = 1 and E[y] = x
        y = x ⊙ m,    dL/dx = dL/dy ⊙ m         (the same mask, forward and back)

    In evaluation it is the identity. Masks come from the generator passed in
    (an MLP passes its own). Setting ``fixed_mask`` (a scaled mask like ``mask``)
    replays that mask on every forward, which a gradient check needs.
    """

    caches = ("mask",)

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1); got {p}")
        self.p = p
        self.rng = as_generator(rng)
        self.mask: np.ndarray | None = None
        self.fixed_mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        if not training or self.p == 0:
            self.mask = None
            return x
        if self.fixed_mask is not None:
            self.mask = self.fixed_mask
        else:
            keep = self.rng.random(x.shape, dtype=x.dtype) >= self.p          # (B, d) bool
            self.mask = keep * np.asarray(1 / (1 - self.p), dtype=x.dtype)    # (B, d) 0 or 1/(1-p)
        return cast(np.ndarray, x * self.mask)                                # (B, d)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        if self.mask is None:
            return grad_out
        return cast(np.ndarray, grad_out * self.mask)                         # (B, d)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"
