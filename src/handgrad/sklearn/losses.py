"""scikit-learn's losses, as handgrad's losses plus the terms where scikit-learn's differ.

The gradient is always handgrad's (``MLP.backward``); these are the adjustments:

    scikit-learn's loss      handgrad's                         difference
    log_loss, one label      cross_entropy (fused softmax)      none
    log_loss, binary or      binary_cross_entropy (sigmoid),    scikit-learn sums over the
      multilabel               the mean over the d outputs        outputs: loss and gradient × d
    squared_error            mse, ½ Σ_j mean_i (a − y)²         scikit-learn reports it divided
                                                                  by d (its gradient is the sum's)
    poisson                  none                               below: half the Poisson deviance
    + alpha                  the L2 penalty (λ/2) Σθ²           λ = α/Σw, the weights only

``penalize`` adds the last row to a loss and its gradient, on NumPy, PyTorch or
MLX arrays alike. The functions at the end compute scikit-learn's loss from
predictions alone (the held-out loss of ``validation_loss_curve_``).
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from ..nn.penalties import add_penalties


def is_coef(name: str) -> bool:
    """True for the linear maps' weights (scikit-learn's coefs_, the only ones alpha decays)."""
    parts = name.split(".")
    return len(parts) == 3 and parts[0] == "layers" and parts[2] == "weight"


def penalize(params: dict[str, Any], grads: dict[str, Any], alpha: float,
             sw_sum: float) -> float:
    """scikit-learn's L2 term α/2·Σ‖W‖²/Σw over the weight matrices (never biases or norms):
    handgrad's L2 penalty (``nn.add_penalties``) with λ = α/Σw. Adds its gradient α·W/Σw to
    ``grads`` in place and returns the term."""
    if not alpha:
        return 0.0
    coefs = {name: W for name, W in params.items() if is_coef(name)}
    if all(isinstance(W, np.ndarray) for W in coefs.values()):
        return add_penalties(coefs, grads, l2=alpha / sw_sum)
    values = 0.0                                        # a twin's tensors, in their library
    for name, W in coefs.items():
        values += float((W * W).sum().item())
        grads[name] += (alpha / sw_sum) * W
    return 0.5 * (alpha / sw_sum) * values


def scale_grads(grads: dict[str, Any], factor: float) -> None:
    """Every gradient × factor, in place."""
    for g in grads.values():
        g *= factor


def poisson_deviance(z: np.ndarray, y: np.ndarray,
                     w: np.ndarray | None) -> tuple[float, np.ndarray]:
    """Half the Poisson deviance with a log link, and its gradient at the output's z.

        μ = e^z,   L = Σ_j mean_w [y log(y/μ) − y + μ],   dL/dz = w (μ − y) / Σw

    (dL/dμ = 1 − y/μ and dμ/dz = μ, so dL/dz = μ − y for each example.) This is
    scikit-learn's ``loss="poisson"``; handgrad's MLP has no Poisson loss of its own.
    """
    mu = np.exp(z)                                            # (B, d)
    total = len(z) if w is None else float(w.sum())
    delta = mu - y                                            # (B, d)
    if w is not None:
        delta *= w.astype(z.dtype, copy=False)[:, None]       # (B, d) w_i (μ − y)
    delta /= total                                            # (B, d)
    return poisson_loss(y, mu, w), delta


# --- scikit-learn's losses from predictions ------------------------------------------------

def _average(values: np.ndarray, w: np.ndarray | None) -> float:
    """Σ_i w_i values_i / Σ w (a plain mean without weights), summed over the last axis."""
    return float(np.sum(np.average(values, weights=w, axis=0)))


def log_loss(codes: np.ndarray, p: np.ndarray, w: np.ndarray | None) -> float:
    """−mean_w log p[y]: the multiclass log-loss (softmax probabilities, integer labels)."""
    eps = np.finfo(p.dtype).eps
    return _average(-np.log(np.clip(p[np.arange(len(p)), codes], eps, 1)), w)


def binary_log_loss(y: np.ndarray, p: np.ndarray, w: np.ndarray | None) -> float:
    """−Σ_j mean_w [y log p + (1 − y) log(1 − p)]: summed over the outputs, as scikit-learn."""
    from scipy.special import xlogy
    eps = np.finfo(p.dtype).eps
    p = np.clip(p, eps, 1 - eps)
    return _average(-(xlogy(y, p) + xlogy(1 - y, 1 - p)), w)


def squared_loss(y: np.ndarray, pred: np.ndarray, w: np.ndarray | None) -> float:
    """½ mean_j mean_w (ŷ − y)²: averaged over the outputs, as scikit-learn reports it."""
    return cast(float, _average(0.5 * (pred - y) ** 2, w) / y.shape[1])


def poisson_loss(y: np.ndarray, mu: np.ndarray, w: np.ndarray | None) -> float:
    """Half the Poisson deviance, Σ_j mean_w [y log(y/μ) − y + μ], as scikit-learn."""
    from scipy.special import xlogy
    return _average(xlogy(y, y / mu) - y + mu, w)


# scikit-learn's loss for each of handgrad's output losses, from the network's output
FROM_PREDICTIONS = {"cross_entropy": log_loss, "binary_cross_entropy": binary_log_loss,
                    "mse": squared_loss, "poisson": poisson_loss}
