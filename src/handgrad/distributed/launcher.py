"""Starting the workers of a run with PyTorch's own launcher (the elastic agent behind torchrun).

Every wait is bounded by the job's timeout: meeting the other machines, joining
the process group, each collective. A worker that fails or hangs makes the
others stop, a stopped (SIGSTOP) worker included, and no worker outlives a
killed launcher. Ctrl-C asks the workers to stop together after their current
step, worker 0 saving the last whole epoch; a second Ctrl-C stops them at once.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import multiprocessing
import os
import re
import select
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from ..data import DATASETS, canonical_name, find
from ..history import DivergenceError
from ..io import load_checkpoint
from .collective import first_line, torch_distributed
from .parallel import check_batch_size
from .worker import Job, Report, WorkerError, check_writable, run

SHUTDOWN_SECONDS = 2        # workers not ended this long after the launcher's SIGTERM are killed


class Interrupted(WorkerError):
    """A second Ctrl-C stopped the workers at once (the first asks them to stop and save)."""


@dataclasses.dataclass
class _Raised:
    """An error every worker meets alike (bad options, a diverged run), handed back as a value."""
    error: BaseException


def _launched(job: Job) -> Report | _Raised | None:
    """What each process that ``launch`` starts runs."""
    _end_with_the_launcher(job.launcher)
    _no_cross_process_lock()
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    job.pids[local_rank] = os.getpid()
    try:
        return run(job, log=_print_flushed)
    except (DivergenceError, ValueError, FileNotFoundError, ImportError) as e:
        return _Raised(e)
    except BaseException:
        job.pids[local_rank] = -os.getpid()   # for the launcher's _wake_when_one_fails
        raise


def _no_cross_process_lock() -> None:
    """tqdm's progress bars take a lock shared across processes: a named semaphore, which a
    worker killed by the launcher would leave behind (and Python warn about at exit). One
    worker draws the bar, so a lock of its own threads does."""
    try:
        from tqdm import tqdm
    except ImportError:
        return
    tqdm.set_lock(threading.RLock())


def _print_flushed(*args: Any, **kwargs: Any) -> None:
    print(*args, **kwargs, flush=True)


def _end_with_the_launcher(launcher: int | None) -> None:
    """End this worker as soon as the launcher process is gone (killed, say): no worker may
    outlive its run, and go on writing its checkpoints.

    The launcher is not the worker's parent (the forkserver is, and lives on as
    long as its children do), so a daemon thread waits on the launcher's pidfd,
    which becomes readable when it ends (Linux); elsewhere it checks every second.
    """
    if launcher is None:
        return

    def watch() -> None:
        try:
            fd = os.pidfd_open(launcher)
        except (AttributeError, OSError):
            while _alive(launcher):
                time.sleep(1)
        else:
            select.select([fd], [], [])
        os._exit(1)

    threading.Thread(target=watch, name="handgrad-launcher-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def launch(job: Job, workers: int, *, nnodes: int = 1, rdzv_endpoint: str | None = None,
           threads: int | None = None) -> Report | None:
    """Train ``job`` on ``workers`` processes per machine, on ``nnodes`` machines.

    PyTorch's own launcher starts them (``torch.distributed.launcher``, the agent
    behind ``torchrun``): on one machine they meet at a free local port; on several,
    every machine runs the same command and they meet at ``rdzv_endpoint``
    (host:port of one of them), waiting ``job.timeout`` seconds at most. Each
    worker computes with ``threads`` threads (default: $OMP_NUM_THREADS, else this
    machine's cores / workers).

    When a worker dies or fails, the launcher stops the others and ``WorkerError``
    says who and why, and which checkpoint is left to resume from; a worker that
    hangs makes the others fail after ``job.timeout`` seconds. Errors every worker
    meets alike (a bad option, a diverged run) are raised here as they were.
    Everything that can be checked before starting the workers is (the batch
    size, the backend, the dataset, a writable run folder). Returns worker 0's
    Report (None on a machine that does not hold worker 0); after Ctrl-C its
    ``interrupted`` is set.
    """
    torch_distributed()
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.elastic.rendezvous.api import (
        RendezvousConnectionError,
        RendezvousError,
        RendezvousTimeoutError,
    )
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch
    if nnodes > 1 and not rdzv_endpoint:
        raise ValueError("training on several machines needs the host:port where they meet "
                         "(--rdzv-endpoint), the same on every machine")
    if rdzv_endpoint:
        _check_endpoint(rdzv_endpoint)
    if job.recipe.get("batch_size"):        # known now: say so before starting anything
        check_batch_size(job.recipe["batch_size"], nnodes * workers)
    if job.recipe.get("backend", "numpy") not in ("numpy", "torch"):
        raise ValueError(f"data-parallel training runs the numpy and torch backends, not "
                         f"{job.recipe['backend']!r}: MLX does not run on torch.distributed")
    name = canonical_name(job.recipe.get("dataset") or "")
    if name in DATASETS:
        find(name, job.data_dir)            # fetched once here, not by every worker at once
    check_writable(job.out)
    threads = threads or int(os.environ.get("OMP_NUM_THREADS") or
                             max(1, (os.cpu_count() or 1) // workers))
    seconds = max(1, math.ceil(job.timeout))
    start_method = _start_method(job.recipe.get("backend", "numpy"))
    shared = multiprocessing.get_context(start_method)
    stop = shared.RawValue("b", 0)                  # set by Ctrl-C here
    job = dataclasses.replace(job, stop=stop, pids=shared.RawArray("i", workers),
                              launcher=os.getpid())
    rdzv: dict[str, Any]
    if nnodes == 1:             # one machine: the launcher holds the store, the workers meet there
        rdzv = dict(rdzv_backend="static",
                    rdzv_endpoint=rdzv_endpoint or f"127.0.0.1:{_free_port()}",
                    rdzv_configs={"rank": 0, "timeout": seconds}, run_id=uuid.uuid4().hex)
    else:                       # several: they meet at the endpoint, whoever comes first
        rdzv = dict(rdzv_backend="c10d", rdzv_endpoint=rdzv_endpoint, run_id="handgrad",
                    rdzv_configs={"join_timeout": seconds, "read_timeout": seconds,
                                  "close_timeout": seconds, "timeout": seconds})
    config = LaunchConfig(min_nodes=nnodes, max_nodes=nnodes, nproc_per_node=workers, **rdzv,
                          max_restarts=0, monitor_interval=0.1, start_method=start_method,
                          shutdown_timeout=SHUTDOWN_SECONDS,
                          signals_to_handle="SIGTERM,SIGHUP,SIGQUIT")   # SIGINT: ours, below
    where = rdzv_endpoint or "this machine"
    with _thread_env(threads), _quiet_launcher(), _ctrl_c(stop), _wake_when_one_fails(job.pids):
        try:
            results = elastic_launch(config, _launched)(job)
        except ChildFailedError as e:
            raise WorkerError(_explain(e, job, nnodes * workers)) from None
        except SignalException as e:         # SIGTERM or SIGHUP: the launcher stopped the workers
            raise WorkerError(f"stopped by {e.sigval.name}: the workers were stopped."
                              + _left_to_resume(job)) from None
        except KeyboardInterrupt:            # a second Ctrl-C
            raise Interrupted("stopped at once by a second Ctrl-C: the workers were stopped."
                              + _left_to_resume(job)) from None
        except RendezvousTimeoutError:
            others = "the other machine" if nnodes == 2 else f"the other {nnodes - 1} machines"
            raise WorkerError(f"waited {job.timeout:g} s at {where} for {others} of --nnodes "
                              f"{nnodes}; they did not come (is the same command running on "
                              "each?)") from None
        except RendezvousConnectionError:
            raise WorkerError(f"could not reach the meeting point {where} within "
                              f"{job.timeout:g} s: check --rdzv-endpoint (host:port of one "
                              "of the machines, reachable from all)") from None
        except RendezvousError as e:
            raise WorkerError(f"the machines could not meet at {where}: {e}") from None
        except RuntimeError as e:            # the launcher's store could not start, say
            raise WorkerError(f"the workers could not be started: {first_line(e)}") from None
    result: Report | _Raised | None = results.get(0)
    if isinstance(result, _Raised):
        raise result.error
    return result


def _free_port() -> int:
    """A TCP port of this machine that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _check_endpoint(endpoint: str) -> None:
    """A ValueError unless ``endpoint`` is host:port with a host that has an address."""
    from torch.distributed.elastic.rendezvous.utils import parse_rendezvous_endpoint
    try:
        host, port = parse_rendezvous_endpoint(endpoint, default_port=29400)
    except ValueError as e:
        raise ValueError(f"--rdzv-endpoint {endpoint}: {e}") from None
    try:
        socket.getaddrinfo(host, port)
    except OSError as e:
        raise ValueError(f"--rdzv-endpoint {endpoint}: the host {host!r} has no address "
                         f"({e.strerror or e})") from None


@contextmanager
def _wake_when_one_fails(pids: Any) -> Iterator[None]:
    """Once a worker has failed, SIGCONT to the others, a second later.

    The launcher stops them with SIGTERM; a stopped worker (SIGSTOP, a debugger)
    would hold that signal until it runs again, and the launcher would wait 30 s
    before killing it. Woken after the SIGTERM, it ends at once; the failure
    reported is the first one's. Each worker writes its process id in ``pids``,
    negated when it fails.
    """
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.2):
            if any(pid < 0 for pid in pids):
                if not done.wait(1.0):
                    for pid in pids:
                        if pid > 0:
                            try:
                                os.kill(pid, signal.SIGCONT)
                            except OSError:
                                pass
                return

    thread = threading.Thread(target=watch, name="handgrad-waker", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


@contextmanager
def _ctrl_c(stop: Any) -> Iterator[None]:
    """Ctrl-C while the workers run: the first sets ``stop`` (the workers end their step
    together and worker 0 saves), the second raises KeyboardInterrupt (stop at once)."""
    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.value:
            raise KeyboardInterrupt
        stop.value = 1
        print("stopping after the current step; Ctrl-C again to stop at once",
              file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _start_method(backend: str) -> str:
    """"forkserver" where there is one: PyTorch is imported once, in the server, and each
    worker is forked from it (on 2 cores, 4 workers start in seconds instead of each
    importing PyTorch again); "spawn" elsewhere."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return "spawn"
    preload = ["torch", "torch.distributed", "handgrad.distributed"]
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
        message = re.sub(r"^[\w.]+(Error|Exception): ", "", str(message)).strip()
        message = re.sub(r"^\[[^\]]*\]\s*", "", message)      # gloo's source-file prefix
        if not message or "To enable traceback" in message:      # nothing recorded
            if failure.exitcode < 0:
                return f"it was killed by {signal.Signals(-failure.exitcode).name}"
            return f"it exited with status {failure.exitcode}"
        return message.splitlines()[0]

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
    """Thread counts for the workers' libraries, in the environment they inherit (and the
    launcher's own signal list, which it sets there), put back afterwards."""

    NAMES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    KEPT = ("TORCHELASTIC_SIGNALS_TO_HANDLE",)

    def __init__(self, threads: int) -> None:
        self.threads = str(threads)

    def __enter__(self) -> None:
        self.saved = {k: os.environ.get(k) for k in self.NAMES + self.KEPT}
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
