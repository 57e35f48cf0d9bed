"""The one collective: a sum over the workers, in place, and what a worker does when it fails.

Every worker of a data-parallel run calls ``Workers.sum_`` at the same points of
its loop; a worker that dies or stops answering makes the others' call fail
(at once for a dead worker, after the process group's timeout for one that
hangs) with ``WorkerLostError``. ``StopFlag`` is how Ctrl-C reaches a run: it
only notes the request, and the workers act on it together, at the same step,
when they next sum their gradients.
"""

from __future__ import annotations

import os
import re
import sys
import time
from types import FrameType
from typing import Any

import numpy as np

DEFAULT_TIMEOUT = 60.0      # seconds a worker waits for the others before it gives up


class WorkerLostError(RuntimeError):
    """A collective failed: another worker died, or did not answer within the timeout."""


def torch_distributed() -> tuple[Any, Any]:
    """(torch, torch.distributed), or an ImportError naming the extra to install.

    PyTorch's C++ log lines (each retry of a connection, each failed collective,
    with a stack) are turned off before it loads, unless TORCH_CPP_LOG_LEVEL says
    otherwise: a failure is reported once, in a sentence, by handgrad.
    """
    if "torch" not in sys.modules:
        os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "FATAL")
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
        all-reduce writes the sum straight into the NumPy array. A worker that
        does not take part within the process group's timeout makes it fail.
        """
        if self.world == 1:
            return
        torch, dist = torch_distributed()
        start = time.perf_counter()
        try:
            works = [dist.all_reduce(torch.from_numpy(a), async_op=True) for a in arrays]
            for work in works:
                work.wait()
        except RuntimeError as e:
            raise self.lost(e) from None
        finally:
            self.seconds += time.perf_counter() - start

    def lost(self, error: BaseException, what: str = "the all-reduce") -> WorkerLostError:
        """The WorkerLostError for a collective that failed with ``error``: timed out (another
        worker stopped answering) or broken (another worker died)."""
        timed_out = "timed out" in str(error).lower()
        return WorkerLostError(
            f"{what} {'timed out' if timed_out else 'failed'} ({first_line(error)}): another "
            f"worker {'stopped answering' if timed_out else 'died'}, so worker {self.rank} of "
            f"{self.world} stops too")

    def sum(self, array: np.ndarray) -> np.ndarray:
        """``array`` summed over every worker (in place; returned for convenience)."""
        self.sum_(array)
        return array


class StopFlag:
    """Ctrl-C (SIGINT) in a worker, noted rather than acted on at once.

    A worker that stopped on its own would leave the others waiting for it in an
    all-reduce. Installed as the SIGINT handler, it only notes the request; the
    data-parallel model sends ``requested`` along with the gradients, and when
    any worker's is set, every worker raises KeyboardInterrupt at the same step,
    so the training loop keeps the state of the last whole epoch and worker 0
    saves it, as one process does on Ctrl-C. ``shared`` is a byte in shared
    memory (``multiprocessing.RawValue``) that the launcher sets on Ctrl-C.
    """

    def __init__(self, shared: Any = None) -> None:
        self.shared = shared
        self.signalled = False

    def __call__(self, signum: int = 2, frame: FrameType | None = None) -> None:
        self.signalled = True

    @property
    def requested(self) -> bool:
        return self.signalled or bool(self.shared is not None and self.shared.value)


def first_line(error: BaseException) -> str:
    """An error's first sentence, without gloo's source-file prefix and advice."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    text = re.sub(r"^\[[^\]]*\]\s*", "", text)
    return text.split(". ")[0].rstrip(".")
