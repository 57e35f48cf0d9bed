"""One worker's part of a data-parallel run: join the group, train the recipe, leave cleanly.

Every process that ``launch`` or ``torchrun`` starts calls ``run`` with the same
``Job``. Each waits for the others at most ``job.timeout`` seconds at a time:
joining the group, and in every collective of the training loop.
"""

from __future__ import annotations

import functools
import gc
import os
import signal
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..mlp import MLP
from ..recipes import run_recipe, write_run
from .collective import (
    DEFAULT_TIMEOUT,
    StopFlag,
    WorkerLostError,
    Workers,
    first_line,
    torch_distributed,
)
from .ddp import DistributedTwin
from .parallel import DataParallel, check_batch_size, parallel_layers


class WorkerError(RuntimeError):
    """A worker failed or waited too long; the others were stopped (the message says who and
    why, and which checkpoint is left to resume from)."""


@dataclass
class Job:
    """What every worker of a run is told: the recipe and the command line's other options."""
    recipe: dict[str, Any]
    data_dir: str | None = None
    out: str | None = None             # the run folder (worker 0 writes it)
    resume: bool = False
    plots: bool = True
    verbose: bool = True
    timeout: float = DEFAULT_TIMEOUT   # seconds to wait for the other workers
    device: str = "cpu"                # "cuda": one GPU per worker, NCCL (torch backend)
    stop: Any = None                   # a shared byte the launcher sets on Ctrl-C (or None)
    pids: Any = None                   # shared: this machine's workers' process ids (or None)
    launcher: int | None = None        # the launcher's process id, which the workers outlive not

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
    written: list[str]                 # files of the run folder, checkpoint last


def launched_by_torchrun() -> bool:
    """True in a process that torchrun (or another launcher setting RANK, WORLD_SIZE,
    MASTER_ADDR and MASTER_PORT) started."""
    env = os.environ
    return "TORCHELASTIC_RUN_ID" in env or all(
        k in env for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"))


def env_rank() -> int:
    """This process's rank as its launcher set it (0 outside one)."""
    return int(os.environ.get("RANK", 0))


def check_writable(out: str | None) -> None:
    """A ValueError unless the run folder ``out`` can be made and written (nothing is left
    behind: a folder this check made is removed again)."""
    if out is None:
        return
    path = Path(out)
    missing = [p for p in [path, *path.parents] if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        raise ValueError(f"cannot write the run folder {out}: {e.strerror or e}") from None
    finally:
        for p in missing:                  # deepest first
            try:
                p.rmdir()
            except OSError:
                break


def data_parallel(model: Any, optimizer: Any, recipe: dict[str, Any], device: str = "cpu",
                  stop: StopFlag | None = None, made: list[Any] | None = None) -> tuple[Any, Any]:
    """``run_recipe``'s ``wrap``: a recipe's model and optimizer, made data-parallel over the
    process group.

    NumPy: the same model built again from its spec with ``parallel_layers`` (its
    weights and generator carried over), in ``DataParallel``. torch: the twin in
    ``DistributedDataParallel``. What is made is appended to ``made``.
    """
    workers = Workers()
    check_batch_size(recipe["batch_size"], workers.world)
    if recipe["backend"] == "numpy":
        parallel = MLP.from_spec(model.spec, seed=recipe["seed"],
                                 **parallel_layers(recipe["seed"], workers))
        parallel.load_state_dict(model.state_dict())
        parallel.rng = model.rng
        wrapped: Any = DataParallel(parallel, optimizer, workers=workers, stop=stop)
    elif recipe["backend"] == "torch":
        wrapped = DistributedTwin(model, device, stop=stop)
    else:
        raise ValueError(f"data-parallel training runs the numpy and torch backends, not "
                         f"{recipe['backend']!r}: MLX does not run on torch.distributed")
    if made is not None:
        made.append(wrapped)
    return wrapped, optimizer


def run(job: Job, log: Callable[..., Any] = print) -> Report | None:
    """One worker's part of a data-parallel run: every process of ``launch`` or ``torchrun``
    calls it with the same Job.

    Joins the process group from the environment the launcher set (MASTER_ADDR,
    MASTER_PORT, RANK, WORLD_SIZE), gloo on CPU (plus NCCL for CUDA tensors with
    ``device="cuda"``), waiting ``job.timeout`` seconds at most for the others,
    trains with ``run_recipe`` — the model made data-parallel by
    ``data_parallel`` — and on worker 0 alone logs, writes the checkpoint after
    each epoch and, at the end, the history and pictures. Every worker loads the
    data and, to resume, the checkpoint (on several machines the run folder must
    be shared or copied). Returns worker 0's Report, None on the others.

    Ctrl-C is noted, not obeyed at once: at the next step every worker stops
    together, the state of the last whole epoch is put back, worker 0 saves it,
    and the Report says the run was interrupted (as one process does).
    """
    _, dist = torch_distributed()
    if env_rank() == 0:
        check_writable(job.out)             # before the others start waiting for this one
    joined = not dist.is_initialized()
    if joined:
        backend = "cpu:gloo,cuda:nccl" if job.device == "cuda" else "gloo"
        try:
            dist.init_process_group(backend, timeout=timedelta(seconds=job.timeout))
        except (RuntimeError, ValueError) as e:     # a store or peer that never answered
            raise WorkerError(f"worker {env_rank()} could not join the others within "
                              f"{job.timeout:g} s ({first_line(e)})") from None
    stop = StopFlag(job.stop)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, stop) if main_thread else None
    made: list[Any] = []
    lost = False
    try:
        rank, world = dist.get_rank(), dist.get_world_size()
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if job.device == "cuda" else "cpu"
        first = rank == 0
        result = run_recipe(job.recipe, data_dir=job.data_dir, checkpoint=job.checkpoint,
                            resume=job.resume, verbose=job.verbose and first,
                            progress=job.verbose and first, log=log if first else _silent,
                            wrap=functools.partial(data_parallel, device=device, stop=stop,
                                                   made=made),
                            write_checkpoint=first)
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
    except WorkerLostError:
        lost = True                         # the group would wait for a dead peer: leave it be
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        if joined and not lost:
            leave(dist, made)


def leave(dist: Any, made: list[Any]) -> None:
    """Destroy the process group, DDP first.

    DDP's reducer holds the group too, and frees it while holding Python's
    lock (GIL): if the reducer let go last, the group's destructor would wait
    with that lock for gloo's threads, one of which may need it to free the
    last all-reduce's tensors — a deadlock, once in a few dozen runs. Freed
    first, while the group is still registered, the reducer drops only its
    share; ``destroy_process_group`` then frees the group with the lock released.
    """
    for wrapped in made:
        if isinstance(wrapped, DistributedTwin):
            wrapped.close()
    made.clear()
    gc.collect()                            # DDP's reference cycles, now, not at a random later time
    dist.destroy_process_group()


def _silent(*args: Any, **kwargs: Any) -> None:
    """The log of workers other than 0."""
