"""A linear map for SciPy sparse input: z = X Wᵀ + b touching only the features a batch uses.

SciPy is imported only when a sparse batch comes: ``handgrad.nn`` needs NumPy alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .linear import Linear


def is_sparse(x: Any) -> bool:
    """True for a SciPy sparse matrix or array (they all have ``tocsr``); NumPy arrays are not."""
    return not isinstance(x, np.ndarray) and hasattr(x, "tocsr")


class SparseLinear(Linear):
    """z = X Wᵀ + b for a SciPy sparse batch X (CSR, CSC; matrix or array), never made dense.

    A sparse batch of B rows uses k ≪ d_in features (its columns ``cols``). With
    X_k the batch restricted to them and W_k = W[:, cols]:

        z  = X_k W_kᵀ + b                 (B, k) sparse @ (k, d_out) -> (B, d_out)
        dW[:, cols] = (X_kᵀ δ)ᵀ           ((k, B) sparse @ (B, d_out))ᵀ -> (d_out, k)
        dW elsewhere = 0                  (those features are 0 in every row)

    since z_bj = Σ_i x_bi W_ji needs only the i where x_bi ≠ 0. No (d_in, d_out)
    copy of W is made per step. A dense batch goes the way of ``Linear``. dL/dX of
    a sparse batch is not computed (nobody needs the gradient of the data): a
    SparseLinear belongs first in a network.
    """

    caches: tuple[str, ...] = ("x", "x_k", "cols")

    def forward(self, x: Any, training: bool = True) -> np.ndarray:
        if not is_sparse(x):
            self.cols = None
            return super().forward(x, training)
        import scipy.sparse as sp

        x = sp.csr_matrix(x)
        cols, local = np.unique(x.indices, return_inverse=True)         # (k,), (nnz,)
        self.x = x
        self.x_k = sp.csr_matrix((x.data, local.reshape(-1), x.indptr),
                                 shape=(x.shape[0], len(cols)))          # (B, k)
        self.cols = cols
        z = np.asarray(self.x_k @ self.W[:, cols].T)    # (B, k) @ (k, d_out) -> (B, d_out)
        if self.b is not None:
            z += self.b                                                 # (B, d_out)
        return z

    def backward_delta(self, delta: np.ndarray) -> np.ndarray | None:
        """Fill dW, db from δ = dL/dz; dL/dX only for a dense batch (and when needed)."""
        if getattr(self, "cols", None) is None:
            return super().backward_delta(delta)
        dW = self.grads["weight"]                                       # (d_out, d_in)
        dW.fill(0)
        dW[:, self.cols] = (self.x_k.T @ delta).T                       # (d_out, k)
        if self.b is not None:
            np.sum(delta, axis=0, out=self.grads["bias"])               # (B, d_out) -> (d_out,)
        return None
