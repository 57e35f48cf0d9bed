"""The estimators on a twin: ``backend="torch"`` (CUDA when available) or ``"mlx"``.

``TwinNetwork`` is the one place the estimators touch a backend. While a fit
runs, the network's weights live in the twin (``handgrad.twins``): its forward
pass and its framework's autograd give the gradient, scikit-learn's loss terms
(``losses``) are added on the twin's own arrays, and ``handgrad.train.train``
drives it as it drives the NumPy network. scikit-learn's update rules step the
twin's arrays in place; a handgrad optimizer ("adamw") runs as the twin's
framework optimizer. ``finish`` brings the weights and the rule's state back
into NumPy.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from ..nn.sparse import is_sparse
from ..optim import Optimizer
from ..twins import twin_module
from .losses import penalize, scale_grads
from .network import Network
from .rules import ScikitLearnRule, to_numpy


class TwinStepper:
    """A twin's framework optimizer, stepping the twin whatever model the loop hands it."""

    def __init__(self, inner: Any, twin: Any) -> None:
        self.inner, self.twin = inner, twin

    @property
    def lr(self) -> float:
        return float(self.inner.lr)

    @lr.setter
    def lr(self, value: float) -> None:
        self.inner.lr = value

    @property
    def t(self) -> int:
        return int(self.inner.t)

    def step(self, model: Any) -> None:
        self.inner.step(self.twin)

    def state_dict(self) -> dict[str, Any]:
        return dict(self.inner.state_dict())

    def load_state_dict(self, sd: Any) -> None:
        self.inner.load_state_dict(sd)


class TwinNetwork:
    """The estimator's ``Network`` copied into a twin, behind the interface train() drives."""

    def __init__(self, network: Network, backend: str, device: str | None = None) -> None:
        self.network, self.backend = network, backend
        self.module = twin_module(backend)
        if device is None and backend == "torch":
            import torch
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.twin = self.module.Trainable(network, device or "cpu")
        self.rng = network.rng

    # --- the arrays the rules step, in the twin's own kind --------------------------------

    @property
    def params(self) -> dict[str, Any]:
        if self.backend == "mlx":
            from mlx.utils import tree_flatten
            return dict(tree_flatten(self.twin.net.trainable_parameters()))
        return dict(self.twin.params)                  # detached tensors: steps reach the net

    @property
    def grads(self) -> dict[str, Any]:
        if self.backend == "mlx":
            from mlx.utils import tree_flatten
            return dict(tree_flatten(self.twin._grads))
        return dict(self.twin.grads)

    def to_backend(self, a: np.ndarray) -> Any:
        """A NumPy array as the twin's array, in its dtype (and on its device)."""
        like = next(iter(self.params.values()))
        if self.backend == "mlx":
            import mlx.core as mx
            return mx.array(np.asarray(a)).astype(like.dtype)
        import torch
        return torch.as_tensor(np.asarray(a), dtype=like.dtype, device=like.device)

    # --- what handgrad.train.train needs ----------------------------------------------------

    def check_X(self, X: Any) -> Any:
        return self.network.check_X(X)

    def check_y(self, y: Any, n: int | None = None) -> np.ndarray:
        return self.network.check_y(y, n)

    def loss_and_grad(self, X: Any, y: np.ndarray, sample_weight: Any = None) -> float:
        """scikit-learn's loss of the batch, from the twin's loss and gradient."""
        if sample_weight is not None:
            raise ValueError(f"backend={self.backend!r} takes no sample_weight; "
                             "use backend='numpy' to weight examples")
        X = X.toarray() if is_sparse(X) else X                  # (B, d_in) dense for the twin
        loss = self.twin.loss_and_grad(X, y)
        d = self.network.outputs_summed
        if d > 1:
            scale_grads(self.grads, d)
            loss *= d
        penalty = penalize(self.params, self.grads, self.network.alpha, X.shape[0])
        return cast(float, loss / self.network.outputs_averaged + penalty)

    def grad_norm(self) -> float:
        return float(self.twin.grad_norm())

    def state_dict(self) -> dict[str, np.ndarray]:
        return dict(self.twin.state_dict())

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.twin.load_state_dict(state)

    # --- a fit's start and end --------------------------------------------------------------

    def stepper(self, rule: Optimizer) -> Any:
        """What steps the twin: scikit-learn's rule itself, its state moved onto the twin, or a
        handgrad optimizer's framework twin, started from its state."""
        if isinstance(rule, ScikitLearnRule):
            rule.map_state(self.to_backend)
            return rule
        stepper = TwinStepper(self.twin.optimizer(rule), self.twin)
        if rule.t:
            stepper.load_state_dict(rule.state_dict())
        return stepper

    def finish(self, rule: Optimizer, stepper: Any) -> None:
        """The twin's weights back into the NumPy network, the optimizer's state into NumPy."""
        self.network.load_state_dict(self.state_dict())
        if isinstance(rule, ScikitLearnRule):
            rule.map_state(to_numpy)
        else:
            rule.load_state_dict(stepper.state_dict())
