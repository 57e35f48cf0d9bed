"""solver="lbfgs": SciPy's L-BFGS-B over the packed parameters, with handgrad's gradient.

f(θ) is scikit-learn's loss with its L2 term over the whole training set, and
∇f is what ``MLP.backward`` leaves in ``grads`` (plus αW/Σw), packed in the
same order: every weight, bias and norm parameter of the network's ``params``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .network import Network


class LbfgsResult:
    """What a run of L-BFGS-B leaves: iterations, the loss scikit-learn reports, its curve."""

    def __init__(self, n_iter: int, loss: float, curve: list[np.float64], status: int,
                 message: str, finite: bool) -> None:
        self.n_iter, self.loss, self.curve = n_iter, loss, curve
        self.status, self.message, self.finite = status, message, finite


def fit_lbfgs(network: Network, X: Any, Y: np.ndarray, sample_weight: np.ndarray | None, *,
              max_iter: int, max_fun: int, tol: float, verbose: bool | int) -> LbfgsResult:
    """Minimize f over the network's parameters from where they are; the network ends at the
    minimizer SciPy returns. For several regression outputs f is the sum over them (whose
    gradient MLP.backward gives) and the loss reported is their mean, as scikit-learn reports."""
    import scipy.optimize

    params = list(network.params.values())
    grads = list(network.grads.values())
    ends = np.cumsum([p.size for p in params])
    chunks = list(zip(ends - [p.size for p in params], ends))
    grad = np.empty(ends[-1])                                 # (n_params,) float64, reused
    d = network.outputs_averaged

    def unpack(theta: np.ndarray) -> None:
        for p, (a, b) in zip(params, chunks):
            np.copyto(p, theta[a:b].reshape(p.shape), casting="unsafe")

    def loss_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        unpack(theta)
        data, penalty = network.objective(X, Y, sample_weight)
        for g, (a, b) in zip(grads, chunks):
            grad[a:b] = g.ravel()                             # pack, in the params' order
        return data + penalty, grad.copy()

    def reported(theta: np.ndarray, f: float) -> float:
        if d == 1:
            return f                                          # the loss minimized is reported
        unpack(theta)
        data, penalty = network.objective(X, Y, sample_weight)
        return data / d + penalty

    curve: list[np.float64] = []

    def record(intermediate_result: Any) -> None:
        loss = reported(intermediate_result.x, intermediate_result.fun)
        curve.append(np.float64(loss))
        if verbose:
            print(f"Iteration {len(curve)}, loss = {loss:.8f}")

    theta0 = np.concatenate([p.ravel() for p in params]).astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        result = scipy.optimize.minimize(
            loss_and_grad, theta0, method="L-BFGS-B", jac=True, callback=record,
            options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol})
        loss = np.float64(reported(result.x, float(result.fun)))
    unpack(result.x)
    network.clear_caches()
    finite = bool(np.isfinite(result.x).all() and math.isfinite(loss))
    return LbfgsResult(min(result.nit, max_iter), loss, curve, result.status,
                       str(result.message), finite)
