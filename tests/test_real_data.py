import gzip
import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from handgrad.data import (DATASETS, download, find, load_dataset, load_fashion_mnist, load_mnist,
                           parse_idx, read_idx, standardize, write_idx)
from handgrad.data.datasets import FILES

SHARED = Path(os.environ.get("HANDGRAD_DATA", "")) / "mnist"
FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(not FASHION.is_dir(), reason="Debian's dataset-fashion-mnist "
                                   "is not installed (apt-get install dataset-fashion-mnist)")


def test_mnist_loads_verified_with_the_known_structure():
    X, y, X_test, y_test = load_mnist()
    assert X.shape == (60000, 784) and X_test.shape == (10000, 784)
    assert X.dtype == np.float32 and 0 <= X.min() and X.max() == 1
    assert y.dtype == np.int64
    assert np.bincount(y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert y[0] == 5 and round(float(X[0].sum()) * 255) == 27525
    assert y_test[0] == 7 and round(float(X_test[0].sum()) * 255) == 18454
    images = load_mnist(flatten=False)[0]
    assert images.shape == (60000, 28, 28)


@needs_fashion
def test_fashion_mnist_loads_from_the_debian_package():
    X, y, X_test, y_test = load_fashion_mnist()
    assert X.shape == (60000, 784) and X_test.shape == (10000, 784)
    assert np.bincount(y).tolist() == [6000] * 10 and np.bincount(y_test).tolist() == [1000] * 10
    assert load_dataset("fashion").classes[9] == "Ankle boot"


def test_search_order_explicit_dir_then_env_then_cache(tmp_path, monkeypatch):
    explicit = tmp_path / "explicit"
    shutil.copytree(SHARED, explicit)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert find("mnist", data_dir=explicit)[0].parent == explicit
    assert find("mnist", allow_download=False)[0].parent == SHARED      # $HANDGRAD_DATA/mnist
    monkeypatch.delenv("HANDGRAD_DATA")
    shutil.copytree(SHARED, tmp_path / "cache" / "handgrad" / "mnist")
    assert find("mnist", allow_download=False)[0].parent == tmp_path / "cache" / "handgrad" / "mnist"


def test_nothing_found_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("HANDGRAD_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError) as e:
        find("mnist", data_dir=tmp_path / "nowhere", allow_download=False)
    msg = str(e.value)
    assert str(tmp_path / "nowhere") in msg and str(tmp_path / "empty" / "mnist") in msg
    assert str(tmp_path / "cache" / "handgrad" / "mnist") in msg and "downloading is turned off" in msg


def test_download_checks_the_files_and_fills_the_cache(tmp_path, monkeypatch):
    # No network here: the mirror is a local folder served through file:// URLs.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = download("mnist", mirrors=[SHARED.resolve().as_uri() + "/"])
    assert sorted(p.name for p in root.iterdir()) == sorted(f + ".gz" for f in FILES)
    monkeypatch.setenv("HANDGRAD_DATA", str(tmp_path / "empty"))
    assert find("mnist", allow_download=False)[0].parent == root
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in FILES:
        (bad / (f + ".gz")).write_bytes(gzip.compress(b"not mnist"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache2"))
    with pytest.raises(OSError, match="MD5 mismatch"):
        download("mnist", mirrors=[bad.as_uri() + "/"])
    with pytest.raises(OSError, match="could not download"):
        download("mnist", mirrors=[(tmp_path / "missing").as_uri() + "/"])


def test_idx_round_trip_raw_and_gzipped(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("x.idx", "x.idx.gz"):
        write_idx(tmp_path / name, a)
        assert np.array_equal(read_idx(tmp_path / name), a)
    f = np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3)
    write_idx(tmp_path / "f.idx", f)
    assert np.array_equal(read_idx(tmp_path / "f.idx"), f)


def test_broken_idx_files_say_what_is_wrong(tmp_path):
    good = gzip.decompress((SHARED / "t10k-labels-idx1-ubyte.gz").read_bytes())
    with pytest.raises(ValueError, match="bad magic number"):
        parse_idx(b"\x01\x02" + good[2:])
    with pytest.raises(ValueError, match="unknown element type 0x07"):
        parse_idx(good[:2] + b"\x07" + good[3:])
    with pytest.raises(ValueError, match=r"truncated: shape \(10000,\) of uint8 needs 10,000 bytes of data, found 9,000"):
        parse_idx(good[:-1000])
    with pytest.raises(ValueError, match="too long"):
        parse_idx(good + b"\x00")
    with pytest.raises(ValueError, match="too short"):
        parse_idx(b"\x00\x00")
    cut = tmp_path / "cut.gz"
    cut.write_bytes((SHARED / "t10k-labels-idx1-ubyte.gz").read_bytes()[:2000])
    with pytest.raises(ValueError, match="broken gzip data"):
        read_idx(cut)


def test_content_digest_catches_a_changed_file_and_accepts_a_recompressed_one(tmp_path):
    md5 = DATASETS["mnist"]["md5"][3]
    content = gzip.decompress((SHARED / "t10k-labels-idx1-ubyte.gz").read_bytes())
    again = tmp_path / "t10k-labels-idx1-ubyte.gz"
    again.write_bytes(gzip.compress(content, compresslevel=1))       # other bytes, same content
    assert hashlib.md5(again.read_bytes()).hexdigest() != DATASETS["mnist"]["gz_md5"][3]
    assert read_idx(again, md5=md5).shape == (10000,)
    changed = bytearray(content)
    changed[100] = (changed[100] + 1) % 10
    (tmp_path / "raw").write_bytes(bytes(changed))
    with pytest.raises(ValueError, match="content MD5 is .* expected 27ae3e4e"):
        read_idx(tmp_path / "raw", md5=md5)


def test_digits_split_and_standardize():
    d = load_dataset("digits", seed=0)
    assert d.X_train.shape == (1437, 64) and d.X_test.shape == (360, 64) or d.X_test.shape == (359, 64)
    assert d.X_train.max() <= 1 and d.n_classes == 10
    Xs, Xt = standardize(d.X_train, d.X_test)
    nonconstant = d.X_train.std(axis=0) > 0
    assert np.allclose(Xs.mean(axis=0), 0, atol=1e-5)
    assert np.allclose(Xs.std(axis=0)[nonconstant], 1, atol=1e-4)
    assert Xt.dtype == np.float32
