"""Data-parallel training on ``torch.distributed``: N processes train one model.

Every worker holds the whole model. Each takes a slice (a shard) of every global
batch, computes the gradients of its shard, and an all-reduce sums them before the
step, so every worker takes the same step with the gradient of the whole batch:

    ∇L = (1/B) Σ_i ∇ℓ_i = Σ_r (n_r / B) · ∇L_r

where worker r holds n_r of the B examples and ∇L_r is the mean gradient over them.

- ``collective``: the one collective (``Workers.sum_``), ``WorkerLostError``, and
  ``StopFlag``, which turns Ctrl-C into a stop every worker makes at the same step.
- ``parallel``: ``DataParallel``, handgrad's NumPy model with its gradients summed
  in place over gloo (``torch.from_numpy``: no copies); a model with BatchNorm or
  dropout is built with ``parallel_layers``, whose ``SyncBatchNorm`` and
  ``KeyedDropout`` (``handgrad.nn``) make N workers compute what one process does.
- ``ddp``: ``DistributedTwin``, the PyTorch twin in ``DistributedDataParallel``.
- ``worker``: ``run``, one worker's part of a run of a recipe (``Job``).
- ``launcher``: ``launch``, which starts the workers with PyTorch's own launcher.

Every wait for another worker or machine is bounded by the job's timeout.
Checkpoints are written atomically by worker 0 after each epoch, so the last
one stays whole whatever happens to the run.
"""

from .collective import DEFAULT_TIMEOUT, StopFlag, WorkerLostError, Workers
from .ddp import DistributedTwin
from .launcher import Interrupted, launch
from .parallel import (
    DataParallel,
    check_batch_size,
    evaluate_sharded,
    gradients_in_one_bucket,
    parallel_layers,
    shard,
)
from .worker import (
    Job,
    Report,
    WorkerError,
    check_writable,
    data_parallel,
    env_rank,
    launched_by_torchrun,
    run,
)

__all__ = [
    "DEFAULT_TIMEOUT", "StopFlag", "WorkerLostError", "Workers", "DistributedTwin",
    "Interrupted", "launch", "DataParallel", "check_batch_size", "evaluate_sharded",
    "gradients_in_one_bucket", "parallel_layers", "shard", "Job", "Report", "WorkerError",
    "check_writable", "data_parallel", "env_rank", "launched_by_torchrun", "run",
]
