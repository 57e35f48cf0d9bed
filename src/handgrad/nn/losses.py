"""Losses, each computed from the model's raw output and returning ``(loss, grad)``.

``grad`` is dL/d(output), the δ that starts the backward pass. Softmax is fused
with cross-entropy and sigmoid with binary cross-entropy, so both losses take
logits and never form ``log(softmax(z))`` or ``log(σ(z))``:

    cross-entropy:          L = -(1/B) Σ_i log p_i[y_i]               dL/dz = (p - Y) / B
    binary cross-entropy:   L = (1/B) Σ_i softplus(z_i) - y_i z_i      dL/dz = (σ(z) - y) / B
    mean squared error:     L = (1/2n) Σ_i Σ_j (ŷ_ij - y_ij)²          dL/dŷ = (ŷ - y) / n
                            (n examples; the sum over the d outputs is inside)
    mse_mean:               L = (1/2nd) Σ_i Σ_j (ŷ_ij - y_ij)²         dL/dŷ = (ŷ - y) / (n d)

Every loss takes an optional ``sample_weight`` (B,): the mean over examples
becomes the weighted mean Σ_i w_i L_i / Σ_i w_i, and row i of the gradient is
multiplied by w_i·B/Σw (scikit-learn's convention).

Why (p - Y)/B: with p = softmax(z) and L_i = -Σ_k Y_ik log p_ik,
∂p_k/∂z_j = p_k(δ_kj - p_j), so ∂L_i/∂z_j = -Σ_k Y_ik (δ_kj - p_j) = p_j - Y_ij
(using Σ_k Y_ik = 1); the mean over the batch divides by B.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, cast

import numpy as np
from numpy.typing import ArrayLike, DTypeLike


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """e^z / Σ e^z, with the maximum subtracted first so e^… never overflows."""
    e = np.exp(z - z.max(axis=axis, keepdims=True))               # (B, K), every entry in (0, 1]
    return cast(np.ndarray, e / e.sum(axis=axis, keepdims=True))  # (B, K)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """z - logsumexp(z), computed as (z - max) - log Σ e^(z - max): no log(0), no overflow."""
    s = z - z.max(axis=axis, keepdims=True)                                       # (B, K), max entry 0
    return cast(np.ndarray, s - np.log(np.exp(s).sum(axis=axis, keepdims=True)))  # (B, K)


def is_label_vector(y: ArrayLike) -> bool:
    """True for integer class labels (B,), False for one-hot or probability rows (B, K)."""
    return np.ndim(y) == 1 and np.issubdtype(np.asarray(y).dtype, np.integer)


def check_labels(y: ArrayLike, n_classes: int) -> None:
    """Raise ValueError unless ``y`` holds integer labels in [0, n_classes)."""
    y = np.asarray(y)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        bad = int(np.flatnonzero((y < 0) | (y >= n_classes))[0])
        raise ValueError(f"labels must be integers in [0, {n_classes}) for a {n_classes}-class "
                         f"output; got {y[bad]} at index {bad}")


def example_weights(sample_weight: ArrayLike | None, B: int,
                    dtype: DTypeLike) -> tuple[np.ndarray | None, float]:
    """(w (B, 1), Σw) for a weighted mean over examples; (None, B) without weights."""
    if sample_weight is None:
        return None, B
    w = np.asarray(sample_weight, dtype=dtype).reshape(-1)
    if w.shape != (B,):
        raise ValueError(f"sample_weight must have one entry per example ({B}); "
                         f"got shape {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ValueError("sample_weight must be finite, non-negative and not all zero")
    return w[:, None], float(w.sum())


def reweight(losses: np.ndarray, grad: np.ndarray, w: np.ndarray | None,
             total: float) -> tuple[float, np.ndarray]:
    """Mean of per-example ``losses`` (B,) and ``grad`` rows summed to 1/B each, reweighted:
    Σ w_i L_i / Σw and row i of the gradient times w_i B / Σw. In place on ``grad``."""
    B = len(grad)
    if w is None:
        return float(np.mean(losses)), grad
    grad *= w * (B / total)                                     # (B, K)
    return float(np.sum(w[:, 0] * losses) / total), grad


def cross_entropy(logits: np.ndarray, y: ArrayLike,
                  sample_weight: ArrayLike | None = None) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy from logits (B, K) and labels (B,) ints or (B, K) targets.

    Returns (mean loss, dL/dlogits (B, K)) with dL/dlogits = (p - Y) / B.
    """
    B, K = logits.shape
    w, w_sum = example_weights(sample_weight, B, logits.dtype)
    s = logits - logits.max(axis=1, keepdims=True)      # (B, K) shifted logits, max 0
    e = np.exp(s)                                       # (B, K)
    total = e.sum(axis=1, keepdims=True)                # (B, 1)
    log_total = np.log(total)                           # (B, 1) ≥ 0: the sum holds e^0 = 1
    p = e / total                                       # (B, K) softmax
    if is_label_vector(y):
        check_labels(y, K)
        rows = np.arange(B)
        losses = log_total[:, 0] - s[rows, y]                  # (B,) -log p[y] = log Σe^s - s_y
        p[rows, y] -= 1                                        # (B, K) p - Y, Y one-hot
    else:
        Y = np.asarray(y, dtype=logits.dtype)
        if Y.shape != logits.shape:
            raise ValueError(f"one-hot targets must have shape {logits.shape}; got {Y.shape}")
        losses = np.sum(Y * (log_total - s), axis=1)           # (B,) -Σ Y log p
        p -= Y                                                 # (B, K) p - Y
    p /= B                                                     # (B, K) (p - Y) / B
    return reweight(losses, p, w, w_sum)


def binary_cross_entropy(logits: np.ndarray, y: ArrayLike,
                         sample_weight: ArrayLike | None = None) -> tuple[float, np.ndarray]:
    """Sigmoid binary cross-entropy from logits (B, 1) or (B,) and 0/1 targets.

    softplus(z) - y z = max(z, 0) - y z + log(1 + e^-|z|) never overflows.
    Returns (mean loss, dL/dz = (σ(z) - y) / n) in the logits' shape, n = B·d:
    the mean runs over every entry, as in PyTorch's ``binary_cross_entropy_with_logits``
    (n = B for the usual single output unit).
    """
    from .activations import sigmoid
    z = logits
    y = np.asarray(y, dtype=z.dtype).reshape(z.shape)
    z2 = z.reshape(len(z), -1)                                 # (B, d)
    y2 = y.reshape(z2.shape)                                   # (B, d)
    w, total = example_weights(sample_weight, len(z2), z.dtype)
    d = z2.shape[1]
    losses = np.sum(np.maximum(z2, 0) - y2 * z2 + np.log1p(np.exp(-np.abs(z2))), axis=1) / d  # (B,)
    grad = (sigmoid(z2) - y2) / z2.size                        # (B, d)
    loss, grad = reweight(losses, grad, w, total)
    return loss, grad.reshape(z.shape)


def mse(pred: np.ndarray, y: ArrayLike,
        sample_weight: ArrayLike | None = None) -> tuple[float, np.ndarray]:
    """Mean squared error as the lesson defines it, with the 1/2 that makes its derivative clean.

    L = (1/2n) Σ_i Σ_j (ŷ_ij - y_ij)² with n the number of examples: the sum
    over the d outputs is inside, so dL/dŷ = (ŷ - y) / n.

    For one output this is scikit-learn's squared loss and half of PyTorch's
    ``mse_loss``. With d > 1 outputs both of those average over all n·d entries
    instead (``mse_mean`` below; PyTorch's ``mse_loss`` has no ½), so they are
    this loss divided by d (and by 2d for ``mse_loss``).
    """
    y = np.asarray(y, dtype=pred.dtype).reshape(pred.shape)
    diff = pred - y                                            # (B, d)
    B = len(diff)
    w, total = example_weights(sample_weight, B, pred.dtype)
    losses = 0.5 * np.sum((diff * diff).reshape(B, -1), axis=1)  # (B,) ½ Σ_j (ŷ_ij - y_ij)²
    return reweight(losses, diff / B, w, total)                # scalar, (B, d)


def mse_mean(pred: np.ndarray, y: ArrayLike,
             sample_weight: ArrayLike | None = None) -> tuple[float, np.ndarray]:
    """Mean squared error averaged over every entry: L = (1/2nd) Σ_i Σ_j (ŷ_ij - y_ij)².

    scikit-learn's squared loss (``MLPRegressor``) and half of PyTorch's
    ``mse_loss``; dL/dŷ = (ŷ - y) / (n d). Equal to ``mse`` for one output.
    """
    d = int(np.prod(np.shape(pred)[1:])) if np.ndim(pred) > 1 else 1
    loss, grad = mse(pred, y, sample_weight)
    grad /= d                                                  # (B, d)
    return loss / d, grad


class Loss(NamedTuple):
    """A loss's entry in LOSSES: the function, how a page names it, the output activation
    it follows, and whether it is fused with that output (computed from the logits)."""
    fn: Callable[..., tuple[float, np.ndarray]]   # (output, targets, sample_weight=None)
    label: str                                     # -> (mean loss, dL/d(output))
    output: str
    fused: bool = False

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[float, np.ndarray]:
        """The loss itself: LOSSES["mse"](pred, y) is mse(pred, y)."""
        return self.fn(*args, **kwargs)


# The one table of loss names (the command line, the page and the tests read it).
LOSSES: dict[str, Loss] = {
    "cross_entropy": Loss(cross_entropy, "cross-entropy", "softmax", fused=True),
    "binary_cross_entropy": Loss(binary_cross_entropy, "binary cross-entropy", "sigmoid",
                                 fused=True),
    "mse": Loss(mse, "MSE", "identity"),
    "mse_mean": Loss(mse_mean, "MSE (mean over outputs)", "identity"),
}
LOSS_ALIASES = {"ce": "cross_entropy", "bce": "binary_cross_entropy"}


def loss_names() -> list[str]:
    """The losses' names, in table order (no aliases)."""
    return list(LOSSES)


def get_loss_name(name: str) -> str:
    """The canonical loss name for ``name`` (or an alias), or a ValueError listing them."""
    key = str(name).lower()
    key = LOSS_ALIASES.get(key, key)
    if key not in LOSSES:
        valid = sorted([*LOSSES, *LOSS_ALIASES])
        raise ValueError(f"unknown loss {name!r}; valid names: {', '.join(valid)}")
    return key
