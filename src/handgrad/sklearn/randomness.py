"""Where the estimators' random numbers come from: scikit-learn's draws, or handgrad's.

``random_state`` picks (``draws_for``):

- an int, a ``numpy.random.RandomState`` or None: **scikit-learn's draws**
  (the default, and the drop-in). A ``RandomState`` (built from the int at
  every fit, as scikit-learn does) draws the initial weights exactly as
  scikit-learn's ``_init_coef`` does — per layer, a (n_in, n_out) weight
  matrix then the biases, uniform in ±√(6/(n_in+n_out)) (±√(2/…) for the
  logistic activation), transposed into handgrad's (n_out, n_in) — then the
  early-stopping split (``train_test_split``) and each epoch's order
  (``sklearn.utils.shuffle`` of the previous epoch's order). The same int or
  RandomState gives scikit-learn's own numbers. None draws a fresh
  ``RandomState`` from the operating system (never NumPy's global state).
- a ``numpy.random.Generator``: **handgrad's draws**, as every other part of
  handgrad takes them. The generator draws the same uniform weights in
  handgrad's (n_out, n_in) layout, the split's seed, and each epoch's order
  (``Generator.permutation``, in ``handgrad.train.train``).

Either way the network keeps a ``Generator`` of its own for dropout masks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from itertools import pairwise
from typing import Any

import numpy as np


def bound(activation: str, fan_in: int, fan_out: int) -> float:
    """scikit-learn's Glorot-style bound: √(6/(n_in + n_out)), √(2/…) for the logistic unit."""
    factor = 2.0 if activation in ("logistic", "sigmoid") else 6.0
    return math.sqrt(factor / (fan_in + fan_out))


class ScikitLearnDraws:
    """scikit-learn's randomness: one ``RandomState``, drawn from in scikit-learn's order."""

    def __init__(self, random_state: int | np.random.RandomState | None) -> None:
        if isinstance(random_state, np.random.RandomState):
            self.random_state = random_state
        else:                                    # an int, or None: fresh from the system
            self.random_state = np.random.RandomState(random_state)
        self.seed = None if isinstance(random_state, np.random.RandomState) else random_state

    def initial_weights(self, units: list[int],
                        activation: str) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(W (n_out, n_in), b (n_out,)) per layer, drawn as scikit-learn draws them."""
        for fan_in, fan_out in pairwise(units):
            r = bound(activation, fan_in, fan_out)
            coef = self.random_state.uniform(-r, r, (fan_in, fan_out))   # (n_in, n_out)
            intercept = self.random_state.uniform(-r, r, fan_out)         # (n_out,)
            yield coef.T, intercept                                        # (n_out, n_in)

    def network_rng(self, needed: bool) -> np.random.Generator:
        """A Generator for dropout masks; drawn from the RandomState only when ``needed``
        (so that scikit-learn's own stream stays untouched without dropout)."""
        if self.seed is not None:
            return np.random.default_rng(self.seed)
        if needed:
            return np.random.default_rng(self.random_state.randint(np.iinfo(np.int32).max))
        return np.random.default_rng()

    def split_state(self) -> Any:
        """``random_state`` for the early-stopping split (``train_test_split``)."""
        return self.random_state

    def order(self, shuffle: bool) -> bool | Callable[[int], np.ndarray]:
        """train()'s ``shuffle``: scikit-learn's order, each epoch a shuffle of the last."""
        if not shuffle:
            return False
        from sklearn.utils import shuffle as sk_shuffle
        state: dict[str, np.ndarray] = {}

        def next_order(n: int) -> np.ndarray:
            previous = state.get("order")
            if previous is None:
                previous = np.arange(n, dtype=int)                         # (n,)
            state["order"] = sk_shuffle(previous, random_state=self.random_state)
            return state["order"]

        return next_order


class HandgradDraws:
    """handgrad's randomness: everything from one ``numpy.random.Generator``."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def initial_weights(self, units: list[int],
                        activation: str) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(W (n_out, n_in), b (n_out,)) per layer, uniform in scikit-learn's bounds."""
        for fan_in, fan_out in pairwise(units):
            r = bound(activation, fan_in, fan_out)
            yield (self.rng.uniform(-r, r, (fan_out, fan_in)),                # (n_out, n_in)
                   self.rng.uniform(-r, r, fan_out))                          # (n_out,)

    def network_rng(self, needed: bool) -> np.random.Generator:
        return self.rng

    def split_state(self) -> Any:
        return int(self.rng.integers(np.iinfo(np.int32).max))

    def order(self, shuffle: bool) -> bool:
        return shuffle                           # train() permutes with the network's rng


Draws = ScikitLearnDraws | HandgradDraws


def draws_for(random_state: Any) -> Draws:
    """handgrad's draws for a Generator, scikit-learn's for anything else (see the module)."""
    if isinstance(random_state, np.random.Generator):
        return HandgradDraws(random_state)
    return ScikitLearnDraws(random_state)
