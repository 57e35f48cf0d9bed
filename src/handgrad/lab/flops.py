"""Counting the floating-point operations a computation actually runs.

A ``Counted`` array is a NumPy array that tallies every ufunc applied to it (NumPy routes
``@``, ``+``, ``np.maximum``, ``np.exp``, ``.sum()``… through ``__array_ufunc__``), and
hands its results back as ``Counted`` arrays, so a whole forward or backward pass that
starts from one is counted operation by operation. Nothing is read off the shapes: a
layer that skips a product is not charged for it.

    matmul (m, k) @ (k, n)     2·m·k·n   (a multiply and an add per term)
    an element-wise ufunc      1 per output element
    a reduction (sum, max)     one per input element folded in (size in − size out)
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np


class Tally:
    """FLOPs counted so far, by kind ("matmul", "elementwise", "reduce")."""

    def __init__(self) -> None:
        self.by_kind: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())

    def reset(self) -> None:
        self.by_kind.clear()


class Counted(np.ndarray):
    """An array whose ufuncs are counted into ``tally`` (see the module's docstring)."""

    tally: Tally

    def __new__(cls, array: np.ndarray, tally: Tally) -> Counted:
        obj = np.asarray(array).view(cls)
        obj.tally = tally
        return obj

    def __array_finalize__(self, obj: Any) -> None:
        self.tally = getattr(obj, "tally", None)  # type: ignore[assignment]

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        tally = self.tally
        plain = [np.asarray(x) if isinstance(x, Counted) else x for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(np.asarray(o) if isinstance(o, Counted) else o
                                  for o in kwargs["out"])
        result = getattr(ufunc, method)(*plain, **kwargs)
        if tally is not None:
            _count(tally, ufunc, method, plain, result)
        if isinstance(result, np.ndarray) and not isinstance(result, Counted):
            return Counted(result, tally) if tally is not None else result
        return result


def _count(tally: Tally, ufunc: np.ufunc, method: str, inputs: list[Any], result: Any) -> None:
    out = np.asarray(result)
    if ufunc is np.matmul:
        k = np.asarray(inputs[0]).shape[-1]
        tally.by_kind["matmul"] += 2 * k * out.size           # 2·m·k·n for (m, k) @ (k, n)
    elif method == "reduce":
        tally.by_kind["reduce"] += np.asarray(inputs[0]).size - out.size
    elif method == "__call__":
        tally.by_kind["elementwise"] += out.size
    elif method == "at":                                      # np.add.at and friends
        tally.by_kind["elementwise"] += np.asarray(inputs[1]).size


def counted(array: np.ndarray, tally: Tally) -> Counted:
    """``array`` as a Counted array reporting into ``tally``."""
    return Counted(array, tally)
