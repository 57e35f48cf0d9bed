"""Dropout whose masks are keyed by the example, not by the order of the draws.

A generator hands out numbers in draw order, so the mask an example gets depends
on which process holds it and on what that process drew before. A counter-based
generator (the idea of Philox and of JAX's threefry) instead makes each number a
hash of its coordinates: the j-th number of example i at step t of layer l is

    u = hash(seed, l, t, i, j) / 2^64

and is the same wherever and whenever it is asked for. Data-parallel training
uses it so that N workers, each holding a slice of the batch, drop exactly the
units one process drops. The hash is SplitMix64's finalizer.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from .dropout import Dropout

_GAMMA = np.uint64(0x9E3779B97F4A7C15)      # 2^64 / golden ratio: SplitMix64's increment


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer on uint64 arrays (wrapping around 2^64): each input bit flips
    about half of the output bits."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return cast(np.ndarray, z ^ (z >> np.uint64(31)))


def stream_key(*parts: int) -> np.ndarray:
    """One 64-bit key (a (1,) uint64 array) from integers such as (seed, layer, step)."""
    key = np.zeros(1, dtype=np.uint64)                            # (1,)
    for part in parts:
        key = _mix(key + np.array([int(part) % 2 ** 64], dtype=np.uint64) * _GAMMA)   # (1,)
    return key


def keyed_uniform(key: np.ndarray, rows: np.ndarray, d: int) -> np.ndarray:
    """Uniform numbers in [0, 1), (len(rows), d); entry (i, j) depends on (key, rows[i], j) alone.

    The j-th number of example rows[i] is a hash of its coordinates, so it is the
    same whichever process asks for it and whatever else that process draws.
    """
    cols = np.arange(d, dtype=np.uint64)                                      # (d,)
    counter = np.asarray(rows, dtype=np.uint64)[:, None] * np.uint64(d) + cols  # (n, d)
    z = _mix(key + (counter + np.uint64(1)) * _GAMMA)                          # (n, d) uint64
    return cast(np.ndarray, (z >> np.uint64(11)) * 2.0 ** -53)                 # (n, d) 53 bits


class KeyedDropout(Dropout):
    """Inverted dropout whose masks are keyed by (seed, layer, step, position in the batch).

        u_ij = hash(seed, layer, step, i, j) / 2^64,   m_ij = [u_ij ≥ p] / (1 - p)
        y = x ⊙ m,    dL/dx = dL/dy ⊙ m         (Dropout's forward and backward)

    ``step`` and ``rows`` say which masks to use and are set before each forward
    pass by whoever drives the training (``handgrad.distributed.DataParallel`` sets
    the optimizer's step count and the positions, in the global batch, of the
    examples this process holds). Row i's mask is then the same whichever process
    holds example i. With ``rows`` None the positions are 0, 1, …, len(x) - 1.
    """

    def __init__(self, p: float, seed: int, layer: int) -> None:
        super().__init__(p, rng=np.random.default_rng(seed))   # Dropout's generator: unused
        self.seed, self.layer = seed, layer
        self.step = 0
        self.rows: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        if not training or self.p == 0 or self.fixed_mask is not None:
            return super().forward(x, training)
        rows = np.arange(len(x)) if self.rows is None else self.rows         # (n,)
        u = keyed_uniform(stream_key(self.seed, self.layer, self.step), rows, x.shape[1])
        self.mask = (u >= self.p) * np.asarray(1 / (1 - self.p), dtype=x.dtype)   # (n, d)
        return cast(np.ndarray, x * self.mask)                                # (n, d)

    def __repr__(self) -> str:
        return f"KeyedDropout(p={self.p}, seed={self.seed}, layer={self.layer})"
