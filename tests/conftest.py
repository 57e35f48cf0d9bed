"""Fixtures shared by the tests: a seeded generator, and the real datasets.

A test that needs MNIST or Fashion-MNIST asks for a fixture:

    mnist, fashion            the loaded arrays (X_train, y_train, X_test, y_test), read-only
    mnist_dir, fashion_dir    the folder holding the four IDX files

or carries the marker ``@pytest.mark.dataset("mnist")`` when it only needs the files to be
there (a command-line run that loads them itself). The files are found the way handgrad
finds them (``handgrad.data.find``: an explicit folder, $HANDGRAD_DATA/<name>/,
~/.cache/handgrad/<name>/, system copies), never downloaded by a test. Where they are
nowhere, the test is skipped with one line that says how to get them.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

from handgrad.data import canonical_name, find, load_idx_dataset
from handgrad.data.datasets import cache_dir, candidate_dirs

TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
SYSTEM_PACKAGES = {"fashion-mnist": "apt-get install dataset-fashion-mnist"}


def missing_reason(name):
    """One line: where ``name`` was looked for, and the command that gets it."""
    name = canonical_name(name)
    looked = ", ".join(str(p) for p in candidate_dirs(name))
    download = f"{sys.executable} -c 'import handgrad.data as d; d.download(\"{name}\")'"
    reason = (f"{TITLES.get(name, name)} not found (looked in {looked}); get it with: {download}  "
              f"or put the four train-/t10k- *-ubyte.gz files in {cache_dir() / name}")
    if name in SYSTEM_PACKAGES:
        reason += f"  or (Debian) {SYSTEM_PACKAGES[name]}"
    return reason


def dataset_dir_or_skip(name):
    """The folder holding dataset ``name``, found without downloading; skips the test if none."""
    name = canonical_name(name)
    try:
        paths = find(name, allow_download=False)
    except FileNotFoundError:
        pytest.skip(missing_reason(name))
    return Path(paths[0]).parent


def _load_read_only(name, folder):
    arrays = load_idx_dataset(name, data_dir=folder, flatten=True, allow_download=False)
    for a in arrays:
        a.setflags(write=False)          # one copy serves every test: none may change it
    return arrays


@pytest.fixture(scope="session")
def mnist_dir():
    return dataset_dir_or_skip("mnist")


@pytest.fixture(scope="session")
def fashion_dir():
    return dataset_dir_or_skip("fashion-mnist")


@pytest.fixture(scope="session")
def mnist(mnist_dir):
    """MNIST as (X_train (60000, 784) float32, y_train int64, X_test (10000, 784), y_test)."""
    return _load_read_only("mnist", mnist_dir)


@pytest.fixture(scope="session")
def fashion(fashion_dir):
    """Fashion-MNIST as (X_train (60000, 784) float32, y_train int64, X_test, y_test)."""
    return _load_read_only("fashion-mnist", fashion_dir)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "dataset(name): needs the real dataset `name` (mnist, fashion-mnist); "
                   "skipped with how to get it when it is not found")


def pytest_runtest_setup(item):
    for marker in item.iter_markers(name="dataset"):
        for name in marker.args:
            dataset_dir_or_skip(name)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def rel_diff(a, b):
    """max |a - b| / max |b|: the relative distance of two arrays as a whole."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.max(np.abs(b)) if b.size else 0.0
    return float(np.max(np.abs(a - b)) / scale) if scale > 0 else float(np.max(np.abs(a - b), initial=0.0))


@pytest.fixture(autouse=True)
def _started_as_handgrad(monkeypatch):
    """Every test sees handgrad started as `handgrad`, however the suite itself was started
    (./run.sh sets HANDGRAD_PROG so that hints print its path); a test that means otherwise
    sets it."""
    monkeypatch.delenv("HANDGRAD_PROG", raising=False)
