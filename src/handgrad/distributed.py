"""Data-parallel training on ``torch.distributed``: N processes train one model.

Every worker holds the whole model. Each takes a slice (a shard) of every global
batch, computes the gradients of its shard, and an all-reduce sums them before the
step, so every worker takes the same step with the gradient of the whole batch:

    ∇L = (1/B) Σ_i ∇ℓ_i = Σ_r (n_r / B) · ∇L_r

where worker r holds n_r of the B examples and ∇L_r is the mean gradient over them.
The mean of the shard gradients, weighted by shard size, is the full-batch gradient.

Two backends:

- ``DataParallel`` (NumPy): handgrad's hand-derived forward and backward on the
  shard; the gradients are summed in place by ``torch.distributed.all_reduce``
  over gloo, on tensors that share memory with the NumPy arrays
  (``torch.from_numpy``: no copies). Two layers need more than that:
  BatchNorm becomes ``SyncBatchNorm`` (the statistics, and the two means of its
  backward, are the global batch's, as torch.nn.SyncBatchNorm does on GPUs), and
  dropout becomes ``KeyedDropout`` (an example's mask is a function of the seed,
  the layer, the step and its place in the global batch, not of the worker that
  holds it). N workers then compute what one process computes, up to the order
  of the additions.
- ``DistributedTwin`` (PyTorch): the twin inside ``DistributedDataParallel``,
  gloo on CPU and NCCL on CUDA, which averages the gradients in buckets while the
  backward pass runs. On CPU each shard's BatchNorm uses its own statistics, as
  DDP does without SyncBatchNorm (which PyTorch runs on GPUs only); on CUDA the
  norms are converted to torch.nn.SyncBatchNorm. Dropout draws from torch's own
  generator on each worker, so with dropout a DDP run is another draw of masks.

Sharding: worker r takes positions r, r + N, r + 2N, … of each global batch.
Over an epoch that is exactly what ``torch.utils.data.DistributedSampler`` hands
rank r of the shuffled order (``order[r::N]``), without its padding: a last
short batch is split as evenly as it goes, nothing is repeated or dropped.
Every worker shuffles with the same seed, so they agree on the order without
talking.

Launching: ``launch`` starts the workers with PyTorch's own launcher (the
elastic agent behind ``torchrun``); under ``torchrun`` each process calls ``run``.
A worker that dies or stops answering makes the others stop with
``WorkerLostError`` after ``timeout`` seconds at most; checkpoints are written
atomically by worker 0 after each epoch, so the last one stays whole.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import signal
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from .data import DATASETS, canonical_name, find
from .history import DivergenceError
from .io import load_checkpoint
from .nn.dropout import Dropout
from .nn.norms import BatchNorm1d
from .recipes import run_recipe, write_run

DEFAULT_TIMEOUT = 60.0      # seconds a worker waits for the others before it gives up


class WorkerLostError(RuntimeError):
    """A collective failed: another worker died, or did not answer within the timeout."""


class WorkerError(RuntimeError):
    """A launched worker failed; the launcher stopped the others (the message says who and why)."""


def _torch_distributed():
    """(torch, torch.distributed), or an ImportError naming the extra to install."""
    try:
        import torch
        import torch.distributed as dist
    except ImportError:
        raise ImportError("data-parallel training runs on torch.distributed: "
                          "pip install 'handgrad[torch]'") from None
    if not dist.is_available():
        raise ImportError("this PyTorch build has no torch.distributed; install the standard "
                          "build: pip install 'handgrad[torch]'")
    return torch, dist


# --- sharding -------------------------------------------------------------------------------

def shard(batch: int, world: int, rank: int) -> np.ndarray:
    """Positions of worker ``rank``'s examples in a global batch of ``batch``: rank, rank + N, …

    The ``world`` shards differ in size by at most one and together hold every
    position once; with a batch divisible by ``world`` they are all batch / world.
    """
    return np.arange(rank, batch, world)                          # (n_r,)


# --- randomness keyed by the example, not by the order of the draws --------------------------

_GAMMA = np.uint64(0x9E3779B97F4A7C15)      # 2^64 / golden ratio: SplitMix64's increment


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer on uint64 arrays (wrapping around 2^64): each input bit flips
    about half of the output bits."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def stream_key(*parts: int) -> np.ndarray:
    """One 64-bit key (a (1,) uint64 array) from integers such as (seed, layer, step)."""
    key = np.zeros(1, dtype=np.uint64)                            # (1,)
    for part in parts:
        key = _mix(key + np.array([int(part) % 2 ** 64], dtype=np.uint64) * _GAMMA)   # (1,)
    return key


def keyed_uniform(key: np.ndarray, rows: np.ndarray, d: int) -> np.ndarray:
    """Uniform numbers in [0, 1), (len(rows), d); entry (i, j) depends on (key, rows[i], j) alone.

    A counter-based generator, like Philox or JAX's threefry: the j-th number of
    example rows[i] is a hash of its coordinates, so it is the same whichever
    process asks for it and whatever else that process draws.
    """
    cols = np.arange(d, dtype=np.uint64)                                      # (d,)
    counter = np.asarray(rows, dtype=np.uint64)[:, None] * np.uint64(d) + cols  # (n, d)
    z = _mix(key + (counter + np.uint64(1)) * _GAMMA)                          # (n, d) uint64
    return (z >> np.uint64(11)) * 2.0 ** -53                                   # (n, d) 53 bits


class KeyedDropout(Dropout):
    """Inverted dropout whose masks are keyed by (seed, layer, step, position in the global batch).

        u_ij = hash(seed, layer, step, i, j) / 2^64,   m_ij = [u_ij ≥ p] / (1 - p)

    Row i's mask is the same whichever worker holds example i, so N workers drop
    exactly the units one process drops. ``step`` and ``rows`` (the positions of
    this worker's examples) are set before each forward pass by ``DataParallel``.
    Forward and backward are Dropout's: y = x ⊙ m, dL/dx = dL/dy ⊙ m.
    """

    def __init__(self, p: float, seed: int, layer: int) -> None:
        super().__init__(p, rng=np.random.default_rng(seed))    # kept for the interface; unused
        self.seed, self.layer = seed, layer
        self.step = 0
        self.rows: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        if not training or self.p == 0 or self.fixed_mask is not None:
            return super().forward(x, training)
        rows = np.arange(len(x)) if self.rows is None else self.rows         # (n,)
        u = keyed_uniform(stream_key(self.seed, self.layer, self.step), rows, x.shape[1])
        self.mask = (u >= self.p) * np.asarray(1 / (1 - self.p), dtype=x.dtype)   # (n, d)
        return x * self.mask                                                  # (n, d)

    def __repr__(self) -> str:
        return f"KeyedDropout(p={self.p}, seed={self.seed}, layer={self.layer})"


# --- the one collective: a sum over the workers, in place -------------------------------------

class Workers:
    """This process among the workers: its rank, their number, and sums over all of them.

    Made after ``torch.distributed.init_process_group``; without a process group it
    is one worker alone, whose sums change nothing (the single-process reference).
    ``seconds`` adds up the time spent in all-reduce, waiting for the slowest
    worker included.
    """

    def __init__(self) -> None:
        self.rank, self.world = 0, 1
        self.seconds = 0.0
        try:
            import torch.distributed as dist
        except ImportError:
            return
        if dist.is_available() and dist.is_initialized():
            self.rank, self.world = dist.get_rank(), dist.get_world_size()

    def sum_(self, *arrays: np.ndarray) -> None:
        """Replace each array by its sum over every worker, in place.

        ``torch.from_numpy`` makes a tensor on the array's own memory: the
        all-reduce writes the sum straight into the NumPy array.
        """
        if self.world == 1:
            return
        torch, dist = _torch_distributed()
        start = time.perf_counter()
        try:
            works = [dist.all_reduce(torch.from_numpy(a), async_op=True) for a in arrays]
            for work in works:
                work.wait()
        except RuntimeError as e:
            raise WorkerLostError(
                f"the all-reduce failed ({_first_line(e)}): another worker died or stopped "
                f"answering, so worker {self.rank} of {self.world} stops too") from None
        finally:
            self.seconds += time.perf_counter() - start

    def sum(self, array: np.ndarray) -> np.ndarray:
        """``array`` summed over every worker (in place; returned for convenience)."""
        self.sum_(array)
        return array


def _first_line(error: BaseException) -> str:
    """An error's first sentence, without gloo's source-file prefix and advice."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    text = re.sub(r"^\[[^\]]*\]\s*", "", text)
    return text.split(". ")[0].rstrip(".")


# --- BatchNorm over the global batch ----------------------------------------------------------

class SyncBatchNorm(BatchNorm1d):
    """BatchNorm1d whose statistics are the global batch's, summed over the workers.

    Each worker holds n_r of the B rows. Forward, two all-reduces:

        μ  = (1/B) Σ_workers Σ_rows x                   (d,)
        σ² = (1/B) Σ_workers Σ_rows (x - μ)²            (d,)  biased, to normalize

    and the running statistics take σ²·B/(B-1), as in one process. The backward
    is BatchNorm's, dx = (1/σ̂)(dx̂ - mean_B(dx̂) - x̂ ⊙ mean_B(dx̂ ⊙ x̂)), with its
    two means over the global batch: one more all-reduce. Each worker's loss is a
    mean over its own n_r rows, so its dx̂ is B/n_r times that row's share of the
    global loss's; ``share`` = n_r/B puts the sums on the global loss's scale,
    and the result goes back to the worker's own scale.

    Made by ``sharing``: the same params, grads and buffers arrays as the
    BatchNorm1d it replaces, so the model's flat dicts and the optimizer keep them.
    """

    workers: Workers
    batch: int          # B, the global batch size (set before each forward pass)
    share: float        # n_r / B

    @classmethod
    def sharing(cls, norm: BatchNorm1d, workers: Workers) -> SyncBatchNorm:
        sync = cls.__new__(cls)
        vars(sync).update(vars(norm))        # the very same arrays, not copies
        sync.workers, sync.batch, sync.share = workers, 0, 1.0
        return sync

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        if not training:
            return super().forward(x, training=False)
        B = self.batch or len(x)
        self.check_batch(B)
        mu = self.workers.sum(x.sum(axis=0)) / B                    # (d,) global mean
        xc = x - mu                                                 # (n, d)
        var = self.workers.sum(np.sum(xc * xc, axis=0)) / B         # (d,) global biased variance
        self.update_running(mu, var, B)
        self.training = True
        self.inv_std = 1 / np.sqrt(var + self.eps)                  # (d,)
        self.x_hat = xc * self.inv_std                              # (n, d)
        return self._affine(self.x_hat)                             # (n, d)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        dx_hat = self._affine_backward(grad_out)                    # (n, d); dγ, dβ of this shard
        if not self.training:
            return dx_hat * self.inv_std                            # (n, d): statistics constant
        B, w = self.batch or len(dx_hat), self.share
        sums = np.stack([dx_hat.sum(axis=0),                        # (2, d) this shard's Σ dx̂
                         np.sum(dx_hat * self.x_hat, axis=0)]) * w  #        and Σ dx̂ ⊙ x̂, scaled
        mean, proj = self.workers.sum(sums) / B                     # (d,), (d,) over all B rows
        if w == 0:
            return dx_hat                                           # (0, d): an empty shard
        return self.inv_std * (dx_hat - (mean + self.x_hat * proj) / w)   # (n, d)


# --- the NumPy model, data-parallel -----------------------------------------------------------

class DataParallel:
    """A handgrad model trained data-parallel: the model's interface, shard gradients summed.

        torch.distributed.init_process_group("gloo")             # every worker, then:
        model, opt = MLP([784, 256, 10], seed=0), SGD(0.1)        # the same seed everywhere
        dp = DataParallel(model, opt, seed=0)
        train(dp, X, y, optimizer=opt, batch_size=512, epochs=5,
              checkpoint="ckpt.safetensors" if dp.rank == 0 else None)

    Every worker runs the same loop on the same data: ``train`` shuffles with the
    model's generator, so all of them draw the same order and pass the same global
    batch to ``loss_and_grad``, which keeps this worker's shard, runs the
    hand-derived forward and backward on it, weights the gradients by n_r/B and
    sums them over the workers in place. Each worker then takes the same optimizer
    step on the same gradients: the weights stay identical without ever being sent.

    The model is changed in place, as ``torch.nn.SyncBatchNorm.convert_sync_batchnorm``
    changes a module: its BatchNorm layers become ``SyncBatchNorm`` and its dropout
    layers ``KeyedDropout``, keyed by ``seed`` and the step count of ``optimizer``
    (which a checkpoint keeps, so a resumed run draws the masks the uninterrupted
    one would). Without a process group it runs alone, with the same masks: the
    single-process reference. Anything else (predict, score, spec, params, …) is
    the model's own.
    """

    def __init__(self, model: Any, optimizer: Any, *, seed: int = 0) -> None:
        self.module = model
        self.optimizer = optimizer
        self.workers = Workers()
        self.rank, self.world = self.workers.rank, self.workers.world
        self.compute_seconds = 0.0          # forward and backward on this worker's shard
        self.dropouts: list[KeyedDropout] = []
        self.norms: list[SyncBatchNorm] = []
        for i, layer in enumerate(getattr(model, "layers", [])):
            if getattr(layer, "dropout", None) is not None:
                layer.dropout = KeyedDropout(layer.dropout.p, seed, layer=i)
                self.dropouts.append(layer.dropout)
            if isinstance(getattr(layer, "norm", None), BatchNorm1d):
                layer.norm = SyncBatchNorm.sharing(layer.norm, self.workers)
                self.norms.append(layer.norm)
        self.bucket = gradients_in_one_bucket(model)   # (P + 1,) every gradient, then the loss

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
        3. ∇L = Σ_r (n_r/B) ∇L_r and L = Σ_r (n_r/B) L_r: scale, then all-reduce (sum)
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
        self.bucket[-1] = loss                                     # the gradients are already in
        self.bucket *= share                                       # (P + 1,) ∇L_r, L_r times n_r/B
        self.compute_seconds += time.perf_counter() - start - (self.workers.seconds - waited)
        self.workers.sum_(self.bucket)                             # Σ over the workers, in place
        return float(self.bucket[-1])

    def evaluate(self, X: Any, y: Any, batch_size: int = 4096) -> dict[str, float]:
        """Loss (and accuracy) over (X, y), each worker evaluating every N-th example."""
        return _evaluate_sharded(self.module, self.workers, X, y, batch_size)


def gradients_in_one_bucket(model: Any) -> np.ndarray:
    """Move every gradient of ``model`` into one flat array, as views: one all-reduce sums them all.

    This is DDP's ``gradient_as_bucket_view``: the backward pass writes each dW and
    db straight into its slice of the bucket (the hand-written passes write their
    gradients in place), so summing over the workers is one collective on one
    tensor, with no copy in or out. Every module's dict that held an old array
    gets its view. The last entry is left for the loss.
    """
    grads = model.grads
    size = sum(g.size for g in grads.values())
    dtype = next(iter(grads.values())).dtype
    bucket = np.zeros(size + 1, dtype=dtype)                        # (P + 1,)
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


def _evaluate_sharded(model: Any, workers: Workers, X: Any, y: Any,
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


# --- the PyTorch twin, in DistributedDataParallel ---------------------------------------------

class DistributedTwin:
    """The PyTorch twin inside ``DistributedDataParallel``, behind the interface ``train`` drives.

    ``trainable`` is what ``handgrad.twins.trainable("torch", …)`` built: a TorchMLP
    with the NumPy model's weights, checks and shuffling generator. DDP sends
    worker 0's weights to every worker once, then hooks the backward pass: as soon
    as a bucket of gradients is ready it starts their all-reduce, overlapping the
    communication with the rest of the backward, and divides the sums by N. Each
    worker's loss is a mean over its n_r rows, so it is scaled by n_r·N/B first:

        (1/N) Σ_r (n_r N / B) ∇L_r = Σ_r (n_r / B) ∇L_r = ∇L

    On CUDA (``device="cuda:k"``, NCCL) BatchNorm becomes torch.nn.SyncBatchNorm; on
    CPU each shard normalizes with its own statistics and DDP hands every worker
    worker 0's running statistics at each forward pass (its default).
    """

    def __init__(self, trainable: Any, device: str = "cpu") -> None:
        torch, _ = _torch_distributed()
        from torch.nn.parallel import DistributedDataParallel
        self.module = trainable
        self.workers = Workers()
        self.rank, self.world = self.workers.rank, self.workers.world
        net = trainable.net
        cuda = device.startswith("cuda")
        if cuda:
            torch.cuda.set_device(device)
            net.to(device)                  # the same Parameter objects: the optimizer keeps them
            net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
        self.ddp = DistributedDataParallel(net, device_ids=[device] if cuda else None)
        self._loss = np.zeros(1)                    # (1,) float64

    def __getattr__(self, name: str) -> Any:
        if name == "module":
            raise AttributeError(name)
        return getattr(self.module, name)

    def loss_and_grad(self, X: np.ndarray, y: np.ndarray, training: bool = True) -> float:
        """The global batch's loss; DDP leaves the global batch's gradient in every ``.grad``."""
        B = len(X)
        rows = shard(B, self.world, self.rank)                       # (n_r,)
        net = self.module.net
        self.ddp.train(training)
        net.zero_grad(set_to_none=False)
        out = self.ddp(net.tensor(X[rows]))                          # (n_r, K)
        if len(rows):
            loss = net.loss(out, net.tensor(y[rows], labels=True))
        else:                       # no rows here: a zero gradient, all-reduced all the same
            loss = out.sum() * 0
        (loss * (len(rows) * self.world / B)).backward()             # DDP averages: ÷ N
        self._loss[0] = loss.item() * len(rows) / B                  # (1,) L_r · n_r/B
        self.workers.sum_(self._loss)
        return float(self._loss[0])

    def evaluate(self, X: Any, y: Any, batch_size: int = 4096) -> dict[str, float]:
        """Loss (and accuracy) over (X, y), each worker evaluating every N-th example."""
        return _evaluate_sharded(self.module, self.workers, X, y, batch_size)


def check_batch_size(batch: int, world: int) -> None:
    """A ValueError unless a global batch of ``batch`` splits into ``world`` equal shards."""
    if batch % world:
        lower, higher = batch - batch % world, batch + world - batch % world
        raise ValueError(f"a global batch of {batch} does not split into {world} equal shards: "
                         f"pick a batch size divisible by {world} (e.g. {lower or higher} or "
                         f"{higher})")


def data_parallel(model: Any, optimizer: Any, recipe: dict, device: str = "cpu") -> tuple[Any, Any]:
    """``run_recipe``'s ``wrap``: a recipe's model and optimizer, made data-parallel over the
    process group (``DataParallel`` for the NumPy backend, ``DistributedTwin`` for torch)."""
    check_batch_size(recipe["batch_size"], Workers().world)
    if recipe["backend"] == "numpy":
        return DataParallel(model, optimizer, seed=recipe["seed"]), optimizer
    if recipe["backend"] == "torch":
        return DistributedTwin(model, device), optimizer
    raise ValueError(f"data-parallel training runs the numpy and torch backends, not "
                     f"{recipe['backend']!r}: MLX does not run on torch.distributed")


# --- one worker's run, and the launcher ----------------------------------------------------

@dataclass
class Job:
    """What every worker of a run is told: the recipe and the command line's other options."""
    recipe: dict
    data_dir: str | None = None
    out: str | None = None             # the run folder (worker 0 writes it)
    resume: bool = False
    plots: bool = True
    verbose: bool = True
    timeout: float = DEFAULT_TIMEOUT   # seconds to wait for the other workers
    device: str = "cpu"                # "cuda": one GPU per worker, NCCL (torch backend)

    @property
    def checkpoint(self) -> str | None:
        return None if self.out is None else str(Path(self.out) / "checkpoint.safetensors")


@dataclass
class Report:
    """What worker 0 tells the command line when the run ends."""
    test_accuracy: float
    dataset: str
    n_test: int
    epochs: int                        # in the history now
    interrupted: bool
    workers: int
    written: list                      # files of the run folder, checkpoint last


def launched_by_torchrun() -> bool:
    """True in a process that torchrun (or another launcher setting RANK, WORLD_SIZE,
    MASTER_ADDR and MASTER_PORT) started."""
    env = os.environ
    return "TORCHELASTIC_RUN_ID" in env or all(
        k in env for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"))


def env_rank() -> int:
    """This process's rank as its launcher set it (0 outside one)."""
    return int(os.environ.get("RANK", 0))


def run(job: Job, log: Callable[..., Any] = print) -> Report | None:
    """One worker's part of a data-parallel run: every process of ``launch`` or ``torchrun``
    calls it with the same Job.

    Joins the process group from the environment the launcher set (MASTER_ADDR,
    MASTER_PORT, RANK, WORLD_SIZE), gloo on CPU (plus NCCL for CUDA tensors with
    ``device="cuda"``), trains with ``run_recipe`` — the model made data-parallel
    by ``data_parallel`` — and on worker 0 alone logs, writes the checkpoint after
    each epoch and, at the end, the history and pictures. Every worker loads the
    data and, to resume, the checkpoint (on several machines the run folder must
    be shared or copied). Returns worker 0's Report, None on the others.

    Ctrl-C stops a worker at once (SIGINT's default action), not after saving as a
    single process does: the others may be waiting in an all-reduce that would
    never come. The checkpoint of the last whole epoch, written atomically, is
    the state to resume from.
    """
    _, dist = _torch_distributed()
    joined = not dist.is_initialized()
    if joined:
        backend = "cpu:gloo,cuda:nccl" if job.device == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=timedelta(seconds=job.timeout))
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_DFL) if main_thread else None
    failed = True
    try:
        rank, world = dist.get_rank(), dist.get_world_size()
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if job.device == "cuda" else "cpu"
        first = rank == 0
        result = run_recipe(job.recipe, data_dir=job.data_dir, checkpoint=job.checkpoint,
                            resume=job.resume, verbose=job.verbose and first,
                            progress=job.verbose and first, log=log if first else _silent,
                            wrap=functools.partial(data_parallel, device=device),
                            write_checkpoint=first)
        failed = False
        if not first:
            return None
        history = result.history
        written = []
        if job.out and not history.interrupted:
            written = [str(p) for p in write_run(job.out, result.model, history, result.data,
                                                 plots=job.plots,
                                                 test_accuracy=result.test_accuracy)]
            written.append(str(job.checkpoint))
        return Report(result.test_accuracy, result.data.name, len(result.data.X_test),
                      len(history), history.interrupted, world, written)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        if joined and not failed:           # after a failure the group may wait on a dead peer
            dist.destroy_process_group()


def _silent(*args: Any, **kwargs: Any) -> None:
    """The log of workers other than 0."""


@dataclass
class _Raised:
    """An error every worker meets alike (bad options, a diverged run), handed back as a value."""
    error: BaseException


def _launched(job: Job) -> Report | _Raised | None:
    """What each process that ``launch`` starts runs."""
    try:
        return run(job, log=functools.partial(print, flush=True))
    except (DivergenceError, ValueError, FileNotFoundError, ImportError) as e:
        return _Raised(e)


def launch(job: Job, workers: int, *, nnodes: int = 1, rdzv_endpoint: str | None = None,
           threads: int | None = None) -> Report | None:
    """Train ``job`` on ``workers`` processes per machine, on ``nnodes`` machines.

    PyTorch's own launcher starts them (``torch.distributed.launcher``, the agent
    behind ``torchrun``): on one machine they meet at a free local port; on several,
    every machine runs the same command and they meet at ``rdzv_endpoint``
    (host:port of one of them). Each worker computes with ``threads`` threads
    (default: $OMP_NUM_THREADS, else this machine's cores / workers).

    When a worker dies, or fails, the launcher stops the others and ``WorkerError``
    says who and why, and which checkpoint is left to resume from; a worker that
    hangs makes the others fail after ``job.timeout`` seconds. Errors every worker
    meets alike (a bad option, a diverged run) are raised here as they were.
    Returns worker 0's Report (None on a machine that does not hold worker 0).
    """
    _torch_distributed()
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch
    if nnodes > 1 and not rdzv_endpoint:
        raise ValueError("training on several machines needs the host:port where they meet "
                         "(--rdzv-endpoint), the same on every machine")
    if job.recipe.get("batch_size"):        # known now: say so before starting anything
        check_batch_size(job.recipe["batch_size"], nnodes * workers)
    if job.recipe.get("backend", "numpy") not in ("numpy", "torch"):
        raise ValueError(f"data-parallel training runs the numpy and torch backends, not "
                         f"{job.recipe['backend']!r}: MLX does not run on torch.distributed")
    name = canonical_name(job.recipe.get("dataset") or "")
    if name in DATASETS:
        find(name, job.data_dir)            # fetched once here, not by every worker at once
    threads = threads or int(os.environ.get("OMP_NUM_THREADS") or
                             max(1, (os.cpu_count() or 1) // workers))
    config = LaunchConfig(min_nodes=nnodes, max_nodes=nnodes, nproc_per_node=workers,
                          run_id=uuid.uuid4().hex if nnodes == 1 else "handgrad",
                          rdzv_backend="c10d", rdzv_endpoint=rdzv_endpoint or "localhost:0",
                          max_restarts=0, monitor_interval=0.1,
                          start_method=_start_method(job.recipe.get("backend", "numpy")))
    with _thread_env(threads), _quiet_launcher():
        try:
            results = elastic_launch(config, _launched)(job)
        except ChildFailedError as e:
            raise WorkerError(_explain(e, job, nnodes * workers)) from None
        except SignalException as e:         # Ctrl-C, or a kill: the launcher stopped the workers
            raise WorkerError(f"interrupted by {e.sigval.name}: the workers were stopped."
                              + _left_to_resume(job)) from None
    result = results.get(0)
    if isinstance(result, _Raised):
        raise result.error
    return result


def _start_method(backend: str) -> str:
    """"forkserver" where there is one: PyTorch is imported once, in the server, and each
    worker is forked from it (on 2 cores, 4 workers start in seconds instead of each
    importing PyTorch again); "spawn" elsewhere."""
    import multiprocessing
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return "spawn"
    preload = ["torch", "torch.distributed", __name__]
    if backend == "torch":              # DistributedDataParallel imports torch._dynamo: once too
        preload += ["torch._dynamo", "handgrad.twins.torch_mlp"]
    multiprocessing.set_forkserver_preload(preload)
    return "forkserver"


def _explain(error: Any, job: Job, world: int) -> str:
    """One paragraph from the launcher's failure report: who failed, why, what is left."""
    def why(failure: Any) -> str:
        message = failure.message
        if isinstance(message, dict):
            message = message.get("message", "")
        message = re.sub(r"^\w+(Error|Exception): ", "", str(message)).strip()
        if not message or "To enable traceback" in message:      # nothing recorded
            return f"it exited with status {failure.exitcode}"
        return message

    failures = sorted(error.failures.items())
    # a worker that died or raised first; the others' lost all-reduces follow from it
    rank, root = next(((r, f) for r, f in failures if "WorkerLostError" not in str(f.message)),
                      failures[0])
    return (f"worker {rank} of {world} stopped: {why(root)}; the launcher stopped the others."
            + _left_to_resume(job))


def _left_to_resume(job: Job) -> str:
    """What a stopped run leaves: its last checkpoint, whole (it is written atomically)."""
    checkpoint = job.checkpoint
    if not checkpoint or not Path(checkpoint).is_file():
        return ""
    epochs = len(load_checkpoint(checkpoint).history())
    return f" The checkpoint {checkpoint} holds epoch {epochs}, whole: --resume continues from it."


class _thread_env:
    """Thread counts for the workers' libraries, in the environment they inherit."""

    NAMES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

    def __init__(self, threads: int) -> None:
        self.threads = str(threads)

    def __enter__(self) -> None:
        self.saved = {k: os.environ.get(k) for k in self.NAMES}
        for k in self.NAMES:
            os.environ[k] = self.threads

    def __exit__(self, *exc: Any) -> None:
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class _quiet_launcher:
    """The launcher's own log lines off: a failure is reported once, by ``WorkerError``."""

    PREFIXES = ("torch.distributed.elastic", "torch.distributed.launcher", "torch.multiprocessing")

    def __enter__(self) -> None:
        names = [k for k in logging.root.manager.loggerDict if k.startswith(self.PREFIXES)]
        self.saved = {k: logging.getLogger(k).level for k in {*names, *self.PREFIXES}}
        for k in self.saved:
            logging.getLogger(k).setLevel(logging.CRITICAL)

    def __exit__(self, *exc: Any) -> None:
        for k, level in self.saved.items():
            logging.getLogger(k).setLevel(level)
