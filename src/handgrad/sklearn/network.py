"""The estimators' network: handgrad's MLP, with scikit-learn's loss and sparse input.

``Network`` is an ``MLP`` (``model_`` of a fitted estimator) whose first layer
takes SciPy sparse input and whose ``loss_and_grad`` is scikit-learn's: the
loss it reports and the gradient it leaves in ``grads`` are those of
scikit-learn's estimator (see ``losses``). ``handgrad.train.train`` drives it as
it drives any model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ..mlp import MLP, Layer
from ..nn.sparse import SparseLinear, is_sparse
from .losses import penalize, poisson_deviance, scale_grads


class SparseInputLayer(Layer, SparseLinear):
    """A first ``Layer`` (linear map, norm, activation, dropout) whose linear map takes
    SciPy sparse input as ``SparseLinear`` does (Layer's forward calls SparseLinear's)."""

    caches = ("x", "z", "a", "x_k", "cols")


class Network(MLP):
    """handgrad's MLP with scikit-learn's loss conventions.

    ``loss`` is scikit-learn's name: "log_loss" (a softmax or sigmoid output,
    handgrad's fused cross-entropies), "squared_error" (an identity output,
    handgrad's MSE) or "poisson" (an identity output read as log μ, and
    scikit-learn's half Poisson deviance). ``alpha`` is scikit-learn's L2 term;
    the estimator sets it before each fit.
    """

    input_layer = SparseInputLayer

    def __init__(self, layer_sizes: Sequence[int], activations: Sequence[str], loss: str, *,
                 dtype: DTypeLike, norm: str | None, dropout: float,
                 rng: np.random.Generator) -> None:
        super().__init__(layer_sizes, list(activations), "xavier_uniform", dtype=dtype,
                         norm=norm, dropout=dropout, rng=rng)
        if loss == "poisson":
            self.loss_name = "poisson"
        self.alpha = 0.0

    @property
    def outputs_summed(self) -> int:
        """scikit-learn's log-loss sums the d sigmoid outputs that handgrad's BCE averages."""
        return self.layer_sizes[-1] if self.loss_name == "binary_cross_entropy" else 1

    @property
    def outputs_averaged(self) -> int:
        """scikit-learn reports the squared error averaged over the d outputs (its gradient is
        that of their sum, handgrad's MSE)."""
        return self.layer_sizes[-1] if self.loss_name == "mse" else 1

    def check_X(self, X: ArrayLike) -> Any:
        """X as the network takes it; a SciPy sparse X (checked by scikit-learn) as it is."""
        return X if is_sparse(X) else super().check_X(X)

    def _output_loss(self, y: ArrayLike,
                     sample_weight: ArrayLike | None = None) -> tuple[float, np.ndarray]:
        if self.loss_name == "poisson":
            w = None if sample_weight is None else np.asarray(sample_weight)
            return poisson_deviance(self.layers[-1].z, np.asarray(y), w)   # (B, d): dL/dz
        return super()._output_loss(y, sample_weight)

    def objective(self, X: Any, y: np.ndarray, sample_weight: np.ndarray | None = None,
                  training: bool = True) -> tuple[float, float]:
        """(data loss, L2 term) of a batch, as scikit-learn defines them; ``grads`` holds the
        gradient of their sum. For several regression outputs the data loss is their sum
        (the function scikit-learn steps along; ``loss_and_grad`` reports their mean)."""
        loss = super().loss_and_grad(X, y, training, sample_weight)
        if self.outputs_summed > 1:
            scale_grads(self.grads, self.outputs_summed)
            loss *= self.outputs_summed
        sw_sum = X.shape[0] if sample_weight is None else float(np.sum(sample_weight))
        return loss, penalize(self.params, self.grads, self.alpha, sw_sum)

    def loss_and_grad(self, X: Any, y: ArrayLike, training: bool = True,
                      sample_weight: ArrayLike | None = None) -> float:
        """scikit-learn's loss of the batch (its ``loss_curve_`` terms); fills the gradients."""
        w = None if sample_weight is None else np.asarray(sample_weight)
        data, penalty = self.objective(X, np.asarray(y), w, training)
        return data / self.outputs_averaged + penalty
