"""What the two twins share: building from NumPy, and the NumPy side of the training loop."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import numpy as np
from numpy.typing import ArrayLike

from ..io import load_checkpoint

if TYPE_CHECKING:
    from ..mlp import MLP


class Twin(Protocol):
    """What ``FromNumpy`` needs of a twin class: built from a spec, loaded from NumPy arrays."""

    def __init__(self, spec: Mapping[str, Any], seed: int | None = None,
                 dtype: Any = None) -> None:
        """The twin of ``spec``, weights drawn with handgrad's initializers from ``seed``."""

    def load_numpy_state(self, state: Mapping[str, Any]) -> None:
        """Load a handgrad state dict (arrays by handgrad's names)."""


TwinT = TypeVar("TwinT", bound=Twin)


class FromNumpy:
    """Twin constructors: from a NumPy MLP or from a checkpoint written by any backend."""

    @classmethod
    def from_numpy(cls: type[TwinT], model: MLP, dtype: Any = None) -> TwinT:
        twin = cls(model.spec, dtype=dtype)
        twin.load_numpy_state(model.state_dict())
        return twin

    @classmethod
    def from_checkpoint(cls: type[TwinT], path: str | Path, dtype: Any = None) -> TwinT:
        ckpt = load_checkpoint(path)
        twin = cls(ckpt.spec, dtype=dtype)
        twin.load_numpy_state(ckpt.state)
        return twin


class TrainableBase:
    """Delegates checks, spec and the shuffling generator to the NumPy model it was built from."""

    # each twin's Trainable defines these two
    eval_batch: Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]
    predict_proba: Callable[[ArrayLike], np.ndarray]

    def __init__(self, ref: MLP) -> None:
        self.ref = ref
        self.rng = ref.rng
        self.spec = ref.spec

    def framework_seed(self) -> int:
        """A seed for the framework's own generator, drawn from a copy of ours (so ours does
        not move)."""
        return int(copy.deepcopy(self.rng).integers(2 ** 31))

    def check_X(self, X: ArrayLike) -> np.ndarray:
        return self.ref.check_X(X)

    def check_y(self, y: ArrayLike, n: int | None = None) -> np.ndarray:
        return self.ref.check_y(y, n)

    @property
    def task(self) -> str:
        return self.ref.task

    def evaluate(self, X: ArrayLike, y: ArrayLike, batch_size: int = 4096) -> dict[str, float]:
        X, y = self.check_X(X), self.check_y(y, len(X))
        total, correct = 0.0, 0
        for i in range(0, len(X), batch_size):
            xb, yb = X[i:i + batch_size], y[i:i + batch_size]
            loss, out = self.eval_batch(xb, yb)
            total += loss * len(xb)
            if self.task == "classification":
                labels = yb if yb.ndim == 1 else yb.argmax(axis=1)
                correct += int(np.sum(out.argmax(axis=1) == labels))
        result = {"loss": total / len(X)}
        if self.task == "classification":
            result["accuracy"] = correct / len(X)
        return result

    def predict(self, X: ArrayLike) -> np.ndarray:
        return cast(np.ndarray, self.predict_proba(X).argmax(axis=1))

    def score(self, X: np.ndarray, y: ArrayLike) -> float:
        y = self.check_y(y, len(X))
        labels = y if y.ndim == 1 else y.argmax(axis=1)
        return float(np.mean(self.predict(X) == labels))
