"""Normalization layers with their full backward passes.

All three normalize, then scale by a learned γ (and shift by β):

    BatchNorm1d  statistics over the batch, per feature     x̂ = (x - μ_B) / √(σ²_B + ε)
    LayerNorm    statistics over the features, per example  x̂ = (x - μ_row) / √(σ²_row + ε)
    RMSNorm      no centering, per example                  x̂ = x / √(mean(x²)_row + ε)

The backward of a mean-and-variance normalization over n values (the batch
for BatchNorm, the row for LayerNorm) follows from μ and σ² both depending
on every x_j:

    dx̂ = dy ⊙ γ
    dx  = (1/σ̂)(dx̂ - mean(dx̂) - x̂ ⊙ mean(dx̂ ⊙ x̂)),    σ̂ = √(σ² + ε)

The two subtracted means are the paths through μ and σ²; dropping them (the
"shortcut") gives wrong input gradients, which a gradient check on a norm
placed after a Linear with random γ, β catches. RMSNorm has only the σ path:

    dx = (1/r)(dx̂ - x̂ ⊙ mean(dx̂ ⊙ x̂)),    r = √(mean(x²) + ε)
"""

from __future__ import annotations

from typing import TypeAlias, cast

import numpy as np
from numpy.typing import DTypeLike

from .module import Module


def _normalized_backward(dx_hat: np.ndarray, x_hat: np.ndarray, inv_std: np.ndarray, axis: int,
                         center: bool = True) -> np.ndarray:
    """dx from dx̂ for a normalization over ``axis`` (see the module docstring)."""
    proj = np.mean(dx_hat * x_hat, axis=axis, keepdims=True)            # path through σ²
    if center:
        return cast(np.ndarray, inv_std * (dx_hat - np.mean(dx_hat, axis=axis, keepdims=True) - x_hat * proj))
    return cast(np.ndarray, inv_std * (dx_hat - x_hat * proj))


class _AffineNorm(Module):
    """γ (and β) of shape (d,), starting at 1 (and 0); ``name`` is its key in NORMS, ``label``
    how a page shows it."""

    name = ""
    label = ""
    caches = ("x_hat", "inv_std")
    x_hat: np.ndarray      # (B, d), set by forward
    inv_std: np.ndarray    # (d,) or (B, 1), set by forward

    def __init__(self, d: int, eps: float = 1e-5, bias: bool = True,
                 dtype: DTypeLike = np.float32) -> None:
        super().__init__()
        self.eps = eps
        self.params["weight"] = np.ones(d, dtype=dtype)        # γ (d,)
        if bias:
            self.params["bias"] = np.zeros(d, dtype=dtype)     # β (d,)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def _affine(self, x_hat: np.ndarray) -> np.ndarray:
        y: np.ndarray = x_hat * self.params["weight"]          # (B, d) ⊙ (d,)
        if "bias" in self.params:
            y += self.params["bias"]                           # (B, d) + (d,)
        return y

    def _affine_backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Fill dγ, dβ; return dx̂ = dy ⊙ γ."""
        np.sum(grad_out * self.x_hat, axis=0, out=self.grads["weight"])   # (B, d) -> (d,)
        if "bias" in self.params:
            np.sum(grad_out, axis=0, out=self.grads["bias"])              # (B, d) -> (d,)
        return cast(np.ndarray, grad_out * self.params["weight"])         # (B, d)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params['weight'].shape[0]}, eps={self.eps})"


class BatchNorm1d(_AffineNorm):
    """Batch normalization over the batch axis of (B, d) inputs, as torch.nn.BatchNorm1d.

    Training: normalize with the batch mean and biased variance; update
    running_mean ← 0.9·running_mean + 0.1·μ_B and running_var likewise with
    the unbiased variance σ²_B·B/(B-1). Evaluation: normalize with the running
    statistics (constants, so dx = dy ⊙ γ / √(running_var + ε)).
    """

    name = "batch"
    label = "BatchNorm"

    def __init__(self, d: int, momentum: float = 0.1, eps: float = 1e-5,
                 dtype: DTypeLike = np.float32) -> None:
        super().__init__(d, eps, bias=True, dtype=dtype)
        self.momentum = momentum
        self.buffers["running_mean"] = np.zeros(d, dtype=dtype)     # (d,)
        self.buffers["running_var"] = np.ones(d, dtype=dtype)       # (d,)
        self.buffers["num_batches_tracked"] = np.zeros((), dtype=np.int64)

    def check_batch(self, B: int) -> None:
        """A batch's statistics need at least 2 examples."""
        if B < 2:
            raise ValueError("BatchNorm1d needs more than 1 example per batch in training "
                             f"(got {B}); evaluate a single example with training=False")

    def update_running(self, mu: np.ndarray, var: np.ndarray, B: int) -> None:
        """running ← (1 − m)·running + m·batch, the variance made unbiased (× B/(B − 1))."""
        m = self.momentum
        rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
        rm *= 1 - m
        rm += m * mu                                                # (d,)
        rv *= 1 - m
        rv += m * var * (B / (B - 1))                               # (d,) unbiased, for evaluation
        self.buffers["num_batches_tracked"] += 1

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        B = x.shape[0]
        if training:
            self.check_batch(B)
            mu = x.mean(axis=0)                                     # (d,)
            xc = x - mu                                             # (B, d)
            var = np.mean(xc * xc, axis=0)                          # (d,) biased, to normalize
            self.update_running(mu, var, B)
        else:
            xc = x - self.buffers["running_mean"]                   # (B, d)
            var = self.buffers["running_var"]                       # (d,)
        self.training = training
        self.inv_std = 1 / np.sqrt(var + self.eps)                  # (d,)
        self.x_hat = xc * self.inv_std                              # (B, d)
        return self._affine(self.x_hat)                             # (B, d)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        dx_hat = self._affine_backward(grad_out)                    # (B, d)
        if not self.training:
            return cast(np.ndarray, dx_hat * self.inv_std)          # (B, d): statistics constant
        return _normalized_backward(dx_hat, self.x_hat, self.inv_std, axis=0)   # (B, d)


class LayerNorm(_AffineNorm):
    """Layer normalization over the features of each example, as torch.nn.LayerNorm."""

    name = "layer"
    label = "LayerNorm"

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        mu = x.mean(axis=1, keepdims=True)                          # (B, 1)
        xc = x - mu                                                 # (B, d)
        var = np.mean(xc * xc, axis=1, keepdims=True)               # (B, 1) biased
        self.inv_std = 1 / np.sqrt(var + self.eps)                  # (B, 1)
        self.x_hat = xc * self.inv_std                              # (B, d)
        return self._affine(self.x_hat)                             # (B, d)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        dx_hat = self._affine_backward(grad_out)                    # (B, d)
        return _normalized_backward(dx_hat, self.x_hat, self.inv_std, axis=1)   # (B, d)


class RMSNorm(_AffineNorm):
    """Root-mean-square normalization (no centering, no β), as torch.nn.RMSNorm."""

    name = "rms"
    label = "RMSNorm"

    def __init__(self, d: int, eps: float = 1e-5, dtype: DTypeLike = np.float32) -> None:
        super().__init__(d, eps, bias=False, dtype=dtype)

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        ms = np.mean(x * x, axis=1, keepdims=True)                  # (B, 1) mean square
        self.inv_std = 1 / np.sqrt(ms + self.eps)                   # (B, 1) 1/r
        self.x_hat = x * self.inv_std                               # (B, d)
        return self._affine(self.x_hat)                             # (B, d)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        dx_hat = self._affine_backward(grad_out)                    # (B, d)
        return _normalized_backward(dx_hat, self.x_hat, self.inv_std, axis=1, center=False)


Norm: TypeAlias = "BatchNorm1d | LayerNorm | RMSNorm"
# The one table of norm names ("none" means no norm and is no entry); each class has its label.
NORMS: dict[str, type[Norm]] = {"batch": BatchNorm1d, "layer": LayerNorm, "rms": RMSNorm}


def norm_names() -> list[str]:
    """The norms' names, in table order ("none", no norm, is not one of them)."""
    return list(NORMS)


def get_norm(name: str | None, d: int, dtype: DTypeLike = np.float32) -> Norm | None:
    """A norm layer by name ("batch", "layer", "rms"), or None for "none"/None."""
    if name in (None, "none"):
        return None
    if name not in NORMS:
        raise ValueError(f"unknown norm {name!r}; valid names: none, {', '.join(NORMS)}")
    return NORMS[name](d, dtype=dtype)
