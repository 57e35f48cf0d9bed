"""The PyTorch twin inside ``torch.nn.parallel.DistributedDataParallel``.

Gloo on CPU and NCCL on CUDA. DDP averages the gradients in buckets while the
backward pass runs. On CPU each shard's BatchNorm uses its own statistics, as
DDP does without SyncBatchNorm (which PyTorch runs on GPUs only); on CUDA the
norms are converted to torch.nn.SyncBatchNorm. Dropout draws from torch's own
generator on each worker, so with dropout a DDP run is another draw of masks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .collective import StopFlag, Workers, torch_distributed
from .parallel import evaluate_sharded, shard


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
    worker 0's running statistics at each forward pass (its default). ``stop`` is
    summed with the loss, as in ``DataParallel``: Ctrl-C stops every worker at
    the same step.
    """

    def __init__(self, trainable: Any, device: str = "cpu", *,
                 stop: StopFlag | None = None) -> None:
        torch, _ = torch_distributed()
        from torch.nn.parallel import DistributedDataParallel
        self.module = trainable
        self.workers = Workers()
        self.stop = stop or StopFlag()
        self.rank, self.world = self.workers.rank, self.workers.world
        net = trainable.net
        cuda = device.startswith("cuda")
        if cuda:
            torch.cuda.set_device(device)
            net.to(device)                  # the same Parameter objects: the optimizer keeps them
            net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
        self.ddp = DistributedDataParallel(net, device_ids=[device] if cuda else None)
        self._loss = np.zeros(2)                    # (2,) float64: the loss, the stop flag

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
        try:                        # DDP's own collectives: buffers forward, gradients backward
            out = self.ddp(net.tensor(X[rows]))                      # (n_r, K)
            if len(rows):
                loss = net.loss(out, net.tensor(y[rows], labels=True))
            else:                   # no rows here: a zero gradient, all-reduced all the same
                loss = out.sum() * 0
            (loss * (len(rows) * self.world / B)).backward()         # DDP averages: ÷ N
        except RuntimeError as e:
            if not _collective_error(e):
                raise
            raise self.workers.lost(e, "DDP's all-reduce") from None
        self._loss[:] = loss.item() * len(rows) / B, self.stop.requested   # (2,) L_r · n_r/B, stop
        self.workers.sum_(self._loss)
        if self._loss[1]:
            raise KeyboardInterrupt
        return float(self._loss[0])

    def close(self) -> None:
        """Let go of DDP (and its reducer), before the process group is destroyed; see
        ``handgrad.distributed.worker.leave`` for why the order matters."""
        self.__dict__.pop("ddp", None)

    def evaluate(self, X: Any, y: Any, batch_size: int = 4096) -> dict[str, float]:
        """Loss (and accuracy) over (X, y), each worker evaluating every N-th example."""
        return evaluate_sharded(self.module, self.workers, X, y, batch_size)


def _collective_error(error: RuntimeError) -> bool:
    """True for an error of gloo or NCCL (a peer gone or silent), not of the model."""
    text = str(error)
    return any(word in text for word in ("gloo", "Gloo", "NCCL", "Connection", "Timed out",
                                         "timed out", "recv", "send", "Broken pipe"))
