"""L1 and L2 penalties: the term each adds to the loss, and its gradient.

    L1:  R(θ) = λ Σ |θ|           dR/dθ = λ sign(θ)      (0 at θ = 0: the subgradient np.sign gives)
    L2:  R(θ) = (λ/2) Σ θ²        dR/dθ = λ θ

The sums run over every array they are given — weights, biases and the norms' γ and β
alike — because that is what the optimizers' ``weight_decay`` does (as in PyTorch): the
L2 gradient λθ is exactly the term SGD and Adam add to the gradient for ``weight_decay=λ``,
so ``l2_penalty`` is the value of the penalty that weight decay follows. (AdamW's decay is
decoupled: it shrinks θ directly and is no gradient of a penalty.) To penalize the weight
matrices only, pass them alone: ``{k: p for k, p in model.params.items() if p.ndim == 2}``.

L1 pulls every parameter towards 0 by the same λ per step whatever its size, so small ones
reach 0 and stay near it (a sparse network); L2 pulls in proportion to θ, so it shrinks the
large ones most and makes none exactly 0.

    loss = model.loss_and_grad(X, y)
    loss += add_penalties(model.params, model.grads, l1=1e-3)    # gradients now include λ sign θ
    optimizer.step(model)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np


def l1_penalty(params: Mapping[str, np.ndarray],
               lam: float) -> tuple[float, dict[str, np.ndarray]]:
    """(λ Σ|θ|, {name: λ sign(θ)}) over every array in ``params``."""
    value = lam * sum(float(np.abs(p).sum()) for p in params.values())
    return value, {name: lam * np.sign(p) for name, p in params.items()}    # each like θ


def l2_penalty(params: Mapping[str, np.ndarray],
               lam: float) -> tuple[float, dict[str, np.ndarray]]:
    """((λ/2) Σθ², {name: λθ}) over every array in ``params``."""
    value = 0.5 * lam * sum(float(np.vdot(p, p)) for p in params.values())
    return value, {name: lam * p for name, p in params.items()}             # each like θ


def add_penalties(params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray],
                  l1: float = 0.0, l2: float = 0.0) -> float:
    """Add the gradients of the L1 (λ = ``l1``) and L2 (λ = ``l2``) penalties to ``grads``
    in place, name by name; returns the penalties' value (to add to the loss)."""
    total = 0.0
    for lam, penalty in ((l1, l1_penalty), (l2, l2_penalty)):
        if not lam:
            continue
        if not (np.isfinite(lam) and lam > 0):
            raise ValueError(f"a penalty's λ must be a finite number ≥ 0; got {lam}")
        value, extra = penalty(params, lam)
        for name, g in extra.items():
            grads[name] += g                                                # in place
        total += value
    return total


# each penalty: (params, λ) -> (value, gradients by name)
PENALTIES: dict[str, Callable[[Mapping[str, np.ndarray], float],
                              tuple[float, dict[str, np.ndarray]]]] = {
    "l1": l1_penalty,
    "l2": l2_penalty,
}
