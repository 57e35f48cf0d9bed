import os
from pathlib import Path

import numpy as np
import pytest

# The real datasets live in ../shared/data in this workplace (see DESIGN.md).
_shared = Path(__file__).resolve().parents[2] / "shared" / "data"
if "HANDGRAD_DATA" not in os.environ and _shared.is_dir():
    os.environ["HANDGRAD_DATA"] = str(_shared)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def rel_diff(a, b):
    """max |a - b| / max |b|: the relative distance of two arrays as a whole."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.max(np.abs(b)) if b.size else 0.0
    return float(np.max(np.abs(a - b)) / scale) if scale > 0 else float(np.max(np.abs(a - b), initial=0.0))
