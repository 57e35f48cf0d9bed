"""Weight initialization, always through a ``numpy.random.Generator``.

Each initializer returns a weight of shape (d_out, d_in): fan_in = d_in.

| name            | distribution                          | variance            |
|-----------------|---------------------------------------|---------------------|
| he, he_normal   | N(0, 2/n_in)                          | 2 / n_in            |
| he_uniform      | U(-√(6/n_in), √(6/n_in))              | 2 / n_in            |
| xavier_normal   | N(0, 2/(n_in+n_out))                  | 2 / (n_in + n_out)  |
| xavier, xavier_uniform | U(-√(6/(n_in+n_out)), …)       | 2 / (n_in + n_out)  |
| gpt2            | N(0, 0.02²)                           | 0.0004              |
| normal          | N(0, 1) (to watch a deep net explode) | 1                   |

He keeps Var(z) constant through ReLU layers (ReLU halves the second moment,
so the weights double it); Xavier keeps it constant for tanh and sigmoid,
averaging the forward and backward fan. Numbers are drawn in float64 and then
rounded to the requested dtype, so a float32 and a float64 model from the same
seed hold the same weights up to rounding. Biases start at zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeAlias

import numpy as np
from numpy.typing import DTypeLike

# an initializer: (rng, d_out, d_in) -> a (d_out, d_in) weight; or its name in INITIALIZERS
Initializer: TypeAlias = Callable[[np.random.Generator, int, int], np.ndarray]
InitMethod: TypeAlias = "str | Initializer"


def he_normal(rng: np.random.Generator, d_out: int, d_in: int) -> np.ndarray:
    return rng.standard_normal((d_out, d_in)) * math.sqrt(2 / d_in)


def he_uniform(rng: np.random.Generator, d_out: int, d_in: int) -> np.ndarray:
    bound = math.sqrt(6 / d_in)
    return rng.uniform(-bound, bound, (d_out, d_in))


def xavier_normal(rng: np.random.Generator, d_out: int, d_in: int) -> np.ndarray:
    return rng.standard_normal((d_out, d_in)) * math.sqrt(2 / (d_in + d_out))


def xavier_uniform(rng: np.random.Generator, d_out: int, d_in: int) -> np.ndarray:
    bound = math.sqrt(6 / (d_in + d_out))
    return rng.uniform(-bound, bound, (d_out, d_in))


def gpt2_normal(rng: np.random.Generator, d_out: int, d_in: int) -> np.ndarray:
    return rng.standard_normal((d_out, d_in)) * 0.02


def standard_normal(rng: np.random.Generator, d_out: int, d_in: int) -> np.ndarray:
    return rng.standard_normal((d_out, d_in))


# The one table of initializer names ("he" and "xavier" are the lesson's short names).
INITIALIZERS: dict[str, Initializer] = {
    "he": he_normal,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "xavier": xavier_uniform,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "gpt2": gpt2_normal,
    "normal": standard_normal,
}


def init_names() -> list[str]:
    """The initializers' names, in table order."""
    return list(INITIALIZERS)


def init_weight(method: InitMethod, rng: np.random.Generator, d_out: int, d_in: int,
                dtype: DTypeLike = np.float32) -> np.ndarray:
    """A (d_out, d_in) weight drawn by ``method`` (a name above or a function)."""
    if callable(method):
        fn = method
    elif method in INITIALIZERS:
        fn = INITIALIZERS[method]
    else:
        raise ValueError(f"unknown init method {method!r}; valid names: {', '.join(INITIALIZERS)}")
    return np.asarray(fn(rng, d_out, d_in), dtype=dtype)


def as_generator(rng: np.random.Generator | None = None,
                 seed: int | None = None) -> np.random.Generator:
    """The generator every random draw goes through: ``rng`` itself, or one built from ``seed``."""
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
        return rng
    return np.random.default_rng(seed)
