"""handgrad's NumPy model, data-parallel: each worker a shard of every batch, gradients summed.

    ∇L = (1/B) Σ_i ∇ℓ_i = Σ_r (n_r / B) · ∇L_r

where worker r holds n_r of the B examples and ∇L_r is the mean gradient over
them. Worker r takes positions r, r + N, r + 2N, … of each global batch: over an
epoch that is exactly what ``torch.utils.data.DistributedSampler`` hands rank r
of the shuffled order (``order[r::N]``), without its padding — a last short
batch is split as evenly as it goes, nothing is repeated or dropped.
"""

from __future__ import annotations

import time
import warnings
from typing import Any, TypedDict

import numpy as np

from ..mlp import MakeDropout, MakeNorm
from ..nn.dropout import Dropout
from ..nn.keyed_dropout import KeyedDropout
from ..nn.norms import BatchNorm1d, Norm, get_norm
from ..nn.sync_batchnorm import SyncBatchNorm
from .collective import StopFlag, Workers


def shard(batch: int, world: int, rank: int) -> np.ndarray:
    """Positions of worker ``rank``'s examples in a global batch of ``batch``: rank, rank + N, …

    The ``world`` shards differ in size by at most one and together hold every
    position once; with a batch divisible by ``world`` they are all batch / world.
    """
    return np.arange(rank, batch, world)                          # (n_r,)


def check_batch_size(batch: int, world: int) -> None:
    """A ValueError unless a global batch of ``batch`` splits into ``world`` equal shards."""
    if batch % world:
        lower, higher = batch - batch % world, batch + world - batch % world
        raise ValueError(f"a global batch of {batch} does not split into {world} equal shards: "
                         f"pick a batch size divisible by {world} (e.g. {lower or higher} or "
                         f"{higher})")


class ParallelLayers(TypedDict):
    """The keyword arguments of ``MLP`` that ``parallel_layers`` gives."""
    make_norm: MakeNorm
    make_dropout: MakeDropout


def parallel_layers(seed: int, workers: Workers | None = None) -> ParallelLayers:
    """``make_norm`` and ``make_dropout`` for ``MLP``: the layers a data-parallel model needs.

        MLP([784, 256, 10], seed=0, norm="batch", dropout=0.2, **parallel_layers(seed=0))

    BatchNorm becomes ``SyncBatchNorm`` summing over ``workers`` (the statistics,
    and the two means of its backward, are the global batch's), and dropout
    becomes ``KeyedDropout`` keyed by ``seed`` and the layer's index (an example's
    mask does not depend on the worker that holds it). The spec, the parameters
    and their initial values are those of the plain model.
    """
    workers = workers or Workers()

    def make_norm(name: str | None, d: int, dtype: Any) -> Norm | None:
        if name == "batch":
            return SyncBatchNorm(d, dtype=dtype, all_reduce=workers.sum_)
        return get_norm(name, d, dtype)

    def make_dropout(p: float, layer: int, rng: np.random.Generator) -> Dropout | None:
        return KeyedDropout(p, seed, layer) if p else None

    return ParallelLayers(make_norm=make_norm, make_dropout=make_dropout)


def _parallel_parts(model: Any) -> tuple[list[KeyedDropout], list[SyncBatchNorm]]:
    """The model's keyed dropouts and synchronized norms; a ValueError for plain ones, which
    would be wrong across workers."""
    dropouts, norms = [], []
    for i, layer in enumerate(getattr(model, "layers", [])):
        dropout, norm = getattr(layer, "dropout", None), getattr(layer, "norm", None)
        if isinstance(dropout, KeyedDropout):
            dropouts.append(dropout)
        elif isinstance(dropout, Dropout) and dropout.p > 0:
            raise ValueError(f"layer {i}'s Dropout draws its masks in the order of its worker's "
                             "rows; build the model with parallel_layers(seed) "
                             "(MLP(..., **parallel_layers(seed)))")
        if isinstance(norm, SyncBatchNorm):
            norms.append(norm)
        elif isinstance(norm, BatchNorm1d):
            raise ValueError(f"layer {i}'s BatchNorm1d would normalize each worker's shard "
                             "alone; build the model with parallel_layers(seed) "
                             "(MLP(..., **parallel_layers(seed)))")
    return dropouts, norms


class DataParallel:
    """A handgrad model trained data-parallel: the model's interface, shard gradients summed.

        torch.distributed.init_process_group("gloo")             # every worker, then:
        model = MLP([784, 256, 10], seed=0)                       # the same seed everywhere
        opt = SGD(0.1)
        dp = DataParallel(model, opt)
        train(dp, X, y, optimizer=opt, batch_size=512, epochs=5,
              checkpoint="ckpt.safetensors" if dp.rank == 0 else None)

    Every worker runs the same loop on the same data: ``train`` shuffles with the
    model's generator, so all of them draw the same order and pass the same global
    batch to ``loss_and_grad``, which keeps this worker's shard, runs the
    hand-derived forward and backward on it, weights the gradients by n_r/B and
    sums them over the workers in place. Each worker then takes the same optimizer
    step on the same gradients: the weights stay identical without ever being sent.

    A model with BatchNorm or dropout is built with ``parallel_layers(seed)``; the
    keyed masks follow the step count of ``optimizer`` (which a checkpoint keeps,
    so a resumed run draws the masks the uninterrupted one would). Without a
    process group it runs alone, with the same masks: the single-process
    reference. ``stop`` (a ``StopFlag``, set by Ctrl-C) travels with the
    gradients; when any worker's is set, all of them raise KeyboardInterrupt at
    the same step. Anything else (predict, score, spec, params, …) is the model's.
    """

    def __init__(self, model: Any, optimizer: Any, *, workers: Workers | None = None,
                 stop: StopFlag | None = None) -> None:
        self.module = model
        self.optimizer = optimizer
        self.workers = workers or Workers()
        self.stop = stop or StopFlag()
        self.rank, self.world = self.workers.rank, self.workers.world
        self.compute_seconds = 0.0          # forward and backward on this worker's shard
        self.dropouts, self.norms = _parallel_parts(model)
        self.bucket = gradients_in_one_bucket(model)   # (P + 2,) the gradients, loss, stop

    def __getattr__(self, name: str) -> Any:
        if name == "module":                # not set yet: no recursion
            raise AttributeError(name)
        return getattr(self.module, name)

    @property
    def allreduce_seconds(self) -> float:
        return self.workers.seconds

    def loss_and_grad(self, X: np.ndarray, y: np.ndarray, training: bool = True) -> float:
        """The global batch's loss, with every gradient that of the global batch.

        1. keep this worker's shard of the B rows: positions r, r + N, …  (n_r rows)
        2. the hand-derived forward and backward on it: L_r and ∇L_r, means over n_r
        3. ∇L = Σ_r (n_r/B) ∇L_r and L = Σ_r (n_r/B) L_r: scale, then all-reduce (sum),
           with each worker's stop flag in the last entry
        """
        start, waited = time.perf_counter(), self.workers.seconds
        B = len(X)
        rows = shard(B, self.world, self.rank)                     # (n_r,) positions in the batch
        share = len(rows) / B                                      # n_r / B
        for d in self.dropouts:
            d.step, d.rows = self.optimizer.t, rows
        for n in self.norms:
            n.batch, n.share = B, share
        xs, ys = X[rows], y[rows]                                  # (n_r, d_in), (n_r,) or (n_r, K)
        if len(rows):
            loss = self.module.loss_and_grad(xs, ys, training)
        else:                       # a last batch smaller than N: nothing here, but the passes
            with warnings.catch_warnings():      # still run, for BatchNorm's all-reduces
                warnings.simplefilter("ignore", RuntimeWarning)    # the mean of no losses
                self.module.loss_and_grad(xs, ys, training)
            loss = 0.0
        self.bucket[-2] = loss                                     # the gradients are already in
        self.bucket[:-1] *= share                                  # (P + 1,) ∇L_r, L_r times n_r/B
        self.bucket[-1] = self.stop.requested                      # 1 where Ctrl-C came
        self.compute_seconds += time.perf_counter() - start - (self.workers.seconds - waited)
        self.workers.sum_(self.bucket)                             # Σ over the workers, in place
        if self.bucket[-1]:
            raise KeyboardInterrupt
        return float(self.bucket[-2])

    def evaluate(self, X: Any, y: Any, batch_size: int = 4096) -> dict[str, float]:
        """Loss (and accuracy) over (X, y), each worker evaluating every N-th example."""
        return evaluate_sharded(self.module, self.workers, X, y, batch_size)


def gradients_in_one_bucket(model: Any) -> np.ndarray:
    """Move every gradient of ``model`` into one flat array, as views: one all-reduce sums them all.

    This is DDP's ``gradient_as_bucket_view``: the backward pass writes each dW and
    db straight into its slice of the bucket (the hand-written passes write their
    gradients in place), so summing over the workers is one collective on one
    tensor, with no copy in or out. Every module's dict that held an old array
    gets its view. The last two entries are left for the loss and the stop flag.
    """
    grads = model.grads
    size = sum(g.size for g in grads.values())
    dtype = next(iter(grads.values())).dtype
    bucket = np.zeros(size + 2, dtype=dtype)                        # (P + 2,)
    views, offset = {}, 0
    for g in grads.values():
        view = bucket[offset:offset + g.size].reshape(g.shape)      # g's shape, the bucket's memory
        view[...] = g
        views[id(g)] = view
        offset += g.size
    for m in model.modules():
        for name, g in m.grads.items():
            if id(g) in views:
                m.grads[name] = views[id(g)]
    return bucket


def evaluate_sharded(model: Any, workers: Workers, X: Any, y: Any,
                     batch_size: int) -> dict[str, float]:
    """``model.evaluate`` on this worker's rows r, r + N, …; the sums are all-reduced."""
    X, y = model.check_X(X), model.check_y(y, len(X))
    rows = shard(len(X), workers.world, workers.rank)               # (n_r,)
    totals = np.zeros(4)                                  # (4,) Σ loss, Σ correct, n, accuracy?
    if len(rows):
        part = model.evaluate(X[rows], y[rows], batch_size)
        n = len(rows)
        totals[:] = (part["loss"] * n, part.get("accuracy", 0.0) * n, n, "accuracy" in part)
    workers.sum_(totals)
    result = {"loss": float(totals[0] / totals[2])}
    if totals[3]:
        result["accuracy"] = float(totals[1] / totals[2])
    return result
