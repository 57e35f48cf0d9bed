"""Thread control: the lab's experiments run NumPy's BLAS on one thread."""

from __future__ import annotations

import contextlib
from typing import Any


def one_blas_thread() -> Any:
    """A context in which NumPy's BLAS runs on one thread (threadpoolctl, when installed).

    The lab's matrices are small, so one thread is as fast, and timings on a shared machine
    are steadier: a BLAS thread that waits for a busy core can make one matrix product ten
    times slower.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1)
