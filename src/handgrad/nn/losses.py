"""Losses, each computed from the model's raw output and returning ``(loss, grad)``.

``grad`` is dL/d(output), the δ that starts the backward pass. Softmax is fused
with cross-entropy and sigmoid with binary cross-entropy, so both losses take
logits and never form ``log(softmax(z))`` or ``log(σ(z))``:

    cross-entropy:          L = -(1/B) Σ_i log p_i[y_i]           dL/dz = (p - Y) / B
    binary cross-entropy:   L = (1/B) Σ_i softplus(z_i) - y_i z_i  dL/dz = (σ(z) - y) / B
    mean squared error:     L = (1/2n) Σ (ŷ - y)²                  dL/dŷ = (ŷ - y) / n

Why (p - Y)/B: with p = softmax(z) and L_i = -Σ_k Y_ik log p_ik,
∂p_k/∂z_j = p_k(δ_kj - p_j), so ∂L_i/∂z_j = -Σ_k Y_ik (δ_kj - p_j) = p_j - Y_ij
(using Σ_k Y_ik = 1); the mean over the batch divides by B.
"""

import numpy as np


def softmax(z, axis=-1):
    """e^z / Σ e^z, with the maximum subtracted first so e^… never overflows."""
    e = np.exp(z - z.max(axis=axis, keepdims=True))    # (B, K), every entry in (0, 1]
    return e / e.sum(axis=axis, keepdims=True)          # (B, K)


def log_softmax(z, axis=-1):
    """z - logsumexp(z), computed as (z - max) - log Σ e^(z - max): no log(0), no overflow."""
    s = z - z.max(axis=axis, keepdims=True)                     # (B, K), max entry 0
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))  # (B, K)


def is_label_vector(y):
    """True for integer class labels (B,), False for one-hot or probability rows (B, K)."""
    return np.ndim(y) == 1 and np.issubdtype(np.asarray(y).dtype, np.integer)


def check_labels(y, n_classes):
    """Raise ValueError unless ``y`` holds integer labels in [0, n_classes)."""
    y = np.asarray(y)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        bad = int(np.flatnonzero((y < 0) | (y >= n_classes))[0])
        raise ValueError(f"labels must be integers in [0, {n_classes}) for a {n_classes}-class "
                         f"output; got {y[bad]} at index {bad}")


def cross_entropy(logits, y):
    """Softmax cross-entropy from logits (B, K) and labels (B,) ints or (B, K) targets.

    Returns (mean loss, dL/dlogits (B, K)) with dL/dlogits = (p - Y) / B.
    """
    B, K = logits.shape
    s = logits - logits.max(axis=1, keepdims=True)      # (B, K) shifted logits, max 0
    e = np.exp(s)                                       # (B, K)
    total = e.sum(axis=1, keepdims=True)                # (B, 1)
    log_total = np.log(total)                           # (B, 1) ≥ 0: the sum holds e^0 = 1
    p = e / total                                       # (B, K) softmax
    if is_label_vector(y):
        check_labels(y, K)
        rows = np.arange(B)
        loss = float(np.mean(log_total[:, 0] - s[rows, y]))   # -log p[y] = log Σe^s - s_y
        p[rows, y] -= 1                                        # (B, K) p - Y, Y one-hot
    else:
        Y = np.asarray(y, dtype=logits.dtype)
        if Y.shape != logits.shape:
            raise ValueError(f"one-hot targets must have shape {logits.shape}; got {Y.shape}")
        loss = float(np.sum(Y * (log_total - s)) / B)         # -Σ Y log p
        p -= Y                                                 # (B, K) p - Y
    p /= B                                                     # (B, K) (p - Y) / B
    return loss, p


def binary_cross_entropy(logits, y):
    """Sigmoid binary cross-entropy from logits (B, 1) or (B,) and 0/1 targets.

    softplus(z) - y z = max(z, 0) - y z + log(1 + e^-|z|) never overflows.
    Returns (mean loss, dL/dz = (σ(z) - y) / n) in the logits' shape, n = B for
    one output unit (the mean runs over every entry, as in PyTorch).
    """
    from .activations import sigmoid
    z = logits
    y = np.asarray(y, dtype=z.dtype).reshape(z.shape)
    n = z.size
    loss = float(np.sum(np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z)))) / n)
    return loss, (sigmoid(z) - y) / n                          # (B, 1)


def mse(pred, y):
    """Mean squared error with the 1/2 that makes its derivative clean.

    L = (1/2n) Σ (ŷ - y)² over all n = B·d entries (scikit-learn's squared loss,
    half of PyTorch's ``mse_loss``); dL/dŷ = (ŷ - y) / n.
    """
    y = np.asarray(y, dtype=pred.dtype).reshape(pred.shape)
    diff = pred - y                                            # (B, d)
    n = diff.size
    return float(np.sum(diff * diff) / (2 * n)), diff / n      # scalar, (B, d)


LOSSES = {
    "cross_entropy": cross_entropy,
    "binary_cross_entropy": binary_cross_entropy,
    "mse": mse,
}
LOSS_ALIASES = {"ce": "cross_entropy", "bce": "binary_cross_entropy", "mse": "mse",
                "cross_entropy": "cross_entropy", "binary_cross_entropy": "binary_cross_entropy"}
