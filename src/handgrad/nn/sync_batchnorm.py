"""BatchNorm over a batch that is split across processes.

In data-parallel training each process holds n_r of the B rows of a batch.
BatchNorm is the one layer whose rows talk to each other: its statistics, and
the two means of its backward pass, must be the whole batch's. ``SyncBatchNorm``
gets them from per-process sums and a collective handed to it as a plain
function, ``all_reduce(array)``, which replaces an array by its sum over the
processes, in place (``handgrad.distributed`` passes torch.distributed's; alone,
nothing needs summing). This is what torch.nn.SyncBatchNorm does on GPUs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
from numpy.typing import DTypeLike

from .norms import BatchNorm1d

AllReduce = Callable[[np.ndarray], None]     # sums an array over the processes, in place


def _alone(array: np.ndarray) -> None:
    """The all-reduce of a single process: its sum is itself."""


class SyncBatchNorm(BatchNorm1d):
    """BatchNorm1d whose statistics are those of the global batch, summed over the processes.

    Forward, two all-reduces over the B rows that all processes hold together:

        μ  = (1/B) Σ_processes Σ_rows x                 (d,)
        σ² = (1/B) Σ_processes Σ_rows (x - μ)²          (d,)  biased, to normalize

    and the running statistics take σ²·B/(B-1), as in one process. The backward
    is BatchNorm's, dx = (1/σ̂)(dx̂ - mean_B(dx̂) - x̂ ⊙ mean_B(dx̂ ⊙ x̂)), with its
    two means over the global batch: one more all-reduce. A process's loss is a
    mean over its own n_r rows, so its dx̂ is B/n_r times that row's share of the
    global loss's; ``share`` = n_r/B puts the sums on the global loss's scale,
    and the result goes back to the process's own scale.

    ``batch`` (B) and ``share`` are set before each forward pass by whoever
    splits the batch; left at 0 and 1 the batch is the rows given, and with the
    default ``all_reduce`` the layer is BatchNorm1d.
    """

    def __init__(self, d: int, momentum: float = 0.1, eps: float = 1e-5,
                 dtype: DTypeLike = np.float32, all_reduce: AllReduce = _alone) -> None:
        super().__init__(d, momentum, eps, dtype)
        self.all_reduce = all_reduce
        self.batch = 0          # B, the global batch size (0: the rows given)
        self.share = 1.0        # n_r / B, this process's part of it

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        if not training:
            return super().forward(x, training=False)
        B = self.batch or len(x)
        self.check_batch(B)
        s = x.sum(axis=0)                                           # (d,) this process's Σ x
        self.all_reduce(s)                                          # (d,) Σ over all B rows
        mu = s / B                                                  # (d,) global mean
        xc = x - mu                                                 # (n, d)
        ss = np.sum(xc * xc, axis=0)                                # (d,) this process's Σ (x-μ)²
        self.all_reduce(ss)                                         # (d,) over all B rows
        var = ss / B                                                # (d,) global biased variance
        self.update_running(mu, var, B)
        self.training = True
        self.inv_std = 1 / np.sqrt(var + self.eps)                  # (d,)
        self.x_hat = xc * self.inv_std                              # (n, d)
        return self._affine(self.x_hat)                             # (n, d)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        dx_hat = self._affine_backward(grad_out)                    # (n, d); dγ, dβ of these rows
        if not self.training:
            return cast(np.ndarray, dx_hat * self.inv_std)          # (n, d): statistics constant
        B, w = self.batch or len(dx_hat), self.share
        sums = np.stack([dx_hat.sum(axis=0),                        # (2, d) this process's Σ dx̂
                         np.sum(dx_hat * self.x_hat, axis=0)]) * w  #        and Σ dx̂ ⊙ x̂, scaled
        self.all_reduce(sums)                                       # (2, d) over all B rows
        mean, proj = sums / B                                       # (d,), (d,)
        if w == 0:
            return dx_hat                                           # (0, d): no rows here
        return cast(np.ndarray, self.inv_std * (dx_hat - (mean + self.x_hat * proj) / w))  # (n, d)
