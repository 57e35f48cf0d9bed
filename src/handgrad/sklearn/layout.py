"""``coefs_`` and ``intercepts_``: scikit-learn's layout over handgrad's weights.

scikit-learn keeps a layer's weights as (n_in, n_out) and computes x @ W; handgrad
keeps them as (n_out, n_in) and computes x @ W.T (``z = x @ W.T + b``). ``coefs_[i]``
is a transposed view of the network's own array, so reading costs nothing and
writing — into the view, or assigning ``coefs_``, ``coefs_[i]``, ``intercepts_`` or
``intercepts_[i]`` — writes into the network.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted


class LayerArrays(list[np.ndarray]):
    """``coefs_`` or ``intercepts_``: views of the network's arrays; items set are written in."""

    def __init__(self, owner: ScikitLearnLayout, kind: str) -> None:
        self._owner, self._kind = owner, kind
        super().__init__(owner._views(kind))

    def __setitem__(self, i: Any, value: Any) -> None:
        self._owner._write(self._kind, i, value)
        super().__setitem__(i, self._owner._views(self._kind)[i])


class ScikitLearnLayout:
    """The estimators' ``coefs_`` and ``intercepts_`` over ``model_``'s layers."""

    model_: Any

    def _views(self, kind: str) -> list[np.ndarray]:
        if kind == "coefs":
            return [layer.W.T for layer in self.model_.layers]   # (n_in, n_out) views
        return [layer.params["bias"] for layer in self.model_.layers]   # (n_out,)

    def _write(self, kind: str, i: Any, value: Any) -> None:
        check_is_fitted(self)
        target = self._views(kind)[i]
        value = np.asarray(value)
        if value.shape != target.shape:
            raise ValueError(f"{kind}_[{i}] must have shape {target.shape} (scikit-learn's layout"
                             f"{', (n_in, n_out)' if kind == 'coefs' else ''}); got {value.shape}")
        np.copyto(target, value, casting="unsafe")

    def _write_all(self, kind: str, values: Any) -> None:
        check_is_fitted(self)
        values = list(values)
        if len(values) != len(self.model_.layers):
            raise ValueError(f"{kind}_ needs {len(self.model_.layers)} arrays, one per layer; "
                             f"got {len(values)}")
        for i, v in enumerate(values):
            self._write(kind, i, v)

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices, (n_in, n_out) each: transposed views of handgrad's (n_out, n_in)."""
        check_is_fitted(self)
        return LayerArrays(self, "coefs")

    @coefs_.setter
    def coefs_(self, values: list[np.ndarray]) -> None:
        self._write_all("coefs", values)

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors, (n_out,) each: the network's own arrays."""
        check_is_fitted(self)
        return LayerArrays(self, "intercepts")

    @intercepts_.setter
    def intercepts_(self, values: list[np.ndarray]) -> None:
        self._write_all("intercepts", values)
