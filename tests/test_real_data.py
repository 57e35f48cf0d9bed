"""Real datasets: the loaders on made-up IDX files (run anywhere), then MNIST and Fashion-MNIST.

The loader tests register a small fake dataset, "tiny-idx", beside MNIST with checksums of
its own, and point $HANDGRAD_DATA and the cache at empty temporary folders: they need no
real files and no network (the "mirror" is a local folder read through file:// URLs).
"""

import gzip
import hashlib
import shutil
from types import SimpleNamespace

import numpy as np
import pytest

from handgrad.data import (
    DATASETS,
    download,
    find,
    load_dataset,
    load_idx_dataset,
    load_mnist,
    parse_idx,
    read_idx,
    standardize,
    write_idx,
)
from handgrad.data.datasets import FILES

TINY = "tiny-idx"


def md5(data):
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A four-file IDX dataset (12 train and 4 test images of 3x4 pixels), registered by name.

    Its files lie in ``source`` (also its only download mirror); nothing lies anywhere
    handgrad looks until a test puts it there with ``place``.
    """
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (12, 3, 4), dtype=np.uint8), rng.integers(0, 10, 12, dtype=np.uint8),
              rng.integers(0, 256, (4, 3, 4), dtype=np.uint8), rng.integers(0, 10, 4, dtype=np.uint8)]
    source = tmp_path / "source"
    source.mkdir()
    for stem, a in zip(FILES, arrays):
        write_idx(source / (stem + ".gz"), a)
    gz = [(source / (stem + ".gz")).read_bytes() for stem in FILES]
    monkeypatch.setitem(DATASETS, TINY, {
        "md5": [md5(gzip.decompress(g)) for g in gz], "gz_md5": [md5(g) for g in gz],
        "mirrors": [source.as_uri() + "/"], "system": [str(tmp_path / "system")],
        "classes": [str(d) for d in range(10)]})
    monkeypatch.setenv("HANDGRAD_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def place(folder):
        shutil.copytree(source, folder)
        return folder

    return SimpleNamespace(
        arrays=arrays, source=source, place=place, system=tmp_path / "system",
        env=tmp_path / "data" / TINY, cache=tmp_path / "cache" / "handgrad" / TINY)


# --- where a dataset is found -------------------------------------------------------------

def test_search_order_explicit_then_env_then_cache_then_system_then_download(tiny, tmp_path):
    explicit = tiny.place(tmp_path / "explicit")
    for folder in (tiny.env, tiny.cache, tiny.system):
        tiny.place(folder)
    assert find(TINY, data_dir=explicit)[0].parent == explicit
    named = tiny.place(tmp_path / "root" / TINY)
    assert find(TINY, data_dir=tmp_path / "root")[0].parent == named       # <dir>/<name> works too
    assert find(TINY, allow_download=False)[0].parent == tiny.env
    shutil.rmtree(tiny.env)
    assert find(TINY, allow_download=False)[0].parent == tiny.cache
    shutil.rmtree(tiny.cache)
    assert find(TINY, allow_download=False)[0].parent == tiny.system
    shutil.rmtree(tiny.system)
    with pytest.raises(FileNotFoundError):
        find(TINY, allow_download=False)
    paths = find(TINY)                                     # last: a download into the cache
    assert [p.parent for p in paths] == [tiny.cache] * 4
    assert [p.name for p in paths] == [stem + ".gz" for stem in FILES]


def test_raw_files_are_found_as_well_as_gzipped_ones(tiny):
    tiny.env.mkdir(parents=True)
    for stem, a in zip(FILES, tiny.arrays):
        write_idx(tiny.env / stem, a)                      # uncompressed, as some mirrors ship them
    X, y, X_test, y_test = load_idx_dataset(TINY, allow_download=False)
    assert np.array_equal(y, tiny.arrays[1]) and X_test.shape == (4, 12)


def test_nothing_found_says_where_it_looked(tiny, tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        find(TINY, allow_download=False)
    msg = str(e.value)
    for folder in (tiny.env, tiny.cache, tiny.system):
        assert str(folder) in msg
    assert "downloading is turned off" in msg and "train-images-idx3-ubyte" in msg
    DATASETS[TINY]["mirrors"] = [(tmp_path / "missing").as_uri() + "/"]
    with pytest.raises(FileNotFoundError, match="the download failed") as e:
        find(TINY)
    assert (tmp_path / "missing").as_uri() + "/train-images-idx3-ubyte.gz" in str(e.value)


def test_an_explicit_folder_without_the_files_is_an_error_not_a_fallback(tiny, tmp_path):
    tiny.place(tiny.env)                                   # the usual places would have it
    with pytest.raises(FileNotFoundError, match=r"not found in .*nowhere: the folder does not exist"):
        find(TINY, data_dir=tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="the folder does not hold them"):
        find(TINY, data_dir=tmp_path / "empty")


# --- downloading -------------------------------------------------------------------------

def test_download_checks_the_files_and_fills_the_cache(tiny, tmp_path):
    root = download(TINY)
    assert root == tiny.cache
    assert sorted(p.name for p in root.iterdir()) == sorted(f + ".gz" for f in FILES)   # no .part left
    assert [md5((root / (f + ".gz")).read_bytes()) for f in FILES] == DATASETS[TINY]["gz_md5"]
    assert find(TINY, allow_download=False)[0].parent == root
    # files already there with the right digest are kept: no mirror is asked again
    assert download(TINY, mirrors=[(tmp_path / "missing").as_uri() + "/"]) == root


def test_download_refuses_a_wrong_file_and_tries_the_next_mirror(tiny, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    for stem, a in zip(FILES, tiny.arrays):
        write_idx(bad / (stem + ".gz"), a[::-1].copy())    # a valid IDX file, but not the published one
    with pytest.raises(OSError, match="MD5 mismatch"):
        download(TINY, mirrors=[bad.as_uri() + "/"])
    assert list(tiny.cache.glob("*")) == []                # nothing unverified is kept
    with pytest.raises(OSError, match=r"could not download train-images-idx3-ubyte\.gz for tiny-idx"):
        download(TINY, mirrors=[(tmp_path / "missing").as_uri() + "/"])
    root = download(TINY, mirrors=[bad.as_uri() + "/", tiny.source.as_uri() + "/"])
    assert [md5((root / (f + ".gz")).read_bytes()) for f in FILES] == DATASETS[TINY]["gz_md5"]


# --- loading and verifying ------------------------------------------------------------------

def test_loaded_arrays_are_scaled_float32_images_and_int64_labels(tiny):
    tiny.place(tiny.env)
    X, y, X_test, y_test = load_idx_dataset(TINY, allow_download=False)
    assert X.shape == (12, 12) and X_test.shape == (4, 12) and X.dtype == np.float32
    assert np.array_equal(X, tiny.arrays[0].reshape(12, -1).astype(np.float32) / 255)
    assert y.dtype == np.int64 and np.array_equal(y, tiny.arrays[1])
    assert np.array_equal(y_test, tiny.arrays[3])
    images = load_idx_dataset(TINY, flatten=False, allow_download=False)[2]
    assert images.shape == (4, 3, 4) and np.array_equal(images * 255, tiny.arrays[2])


def test_a_changed_file_in_a_found_folder_fails_its_content_check(tiny, tmp_path):
    folder = tiny.place(tmp_path / "changed")
    labels = tiny.arrays[3].copy()
    labels[0] = (labels[0] + 1) % 10
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", labels)          # still a well-formed IDX file
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz: content MD5 is .*, expected "
                       + DATASETS[TINY]["md5"][3]):
        load_idx_dataset(TINY, data_dir=folder, allow_download=False)


def test_idx_round_trip_raw_and_gzipped(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("x.idx", "x.idx.gz"):
        write_idx(tmp_path / name, a)
        assert np.array_equal(read_idx(tmp_path / name), a)
    assert (tmp_path / "x.idx.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert (tmp_path / "x.idx").read_bytes()[:4] == b"\x00\x00\x08\x03"   # uint8, 3 dimensions
    f = np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3)
    write_idx(tmp_path / "f.idx", f)
    back = read_idx(tmp_path / "f.idx")
    assert back.dtype == np.float32 and np.array_equal(back, f)


def test_broken_idx_files_say_what_is_wrong(tmp_path):
    write_idx(tmp_path / "labels.idx", (np.arange(1000) % 10).astype(np.uint8))
    good = (tmp_path / "labels.idx").read_bytes()
    assert parse_idx(good).shape == (1000,)
    with pytest.raises(ValueError, match="bad magic number"):
        parse_idx(b"\x01\x02" + good[2:])
    with pytest.raises(ValueError, match="unknown element type 0x07"):
        parse_idx(good[:2] + b"\x07" + good[3:])
    with pytest.raises(ValueError,
                       match=r"truncated: shape \(1000,\) of uint8 needs 1,000 bytes of data, found 900"):
        parse_idx(good[:-100])
    with pytest.raises(ValueError, match="too long"):
        parse_idx(good + b"\x00")
    with pytest.raises(ValueError, match="too short"):
        parse_idx(b"\x00\x00")
    with pytest.raises(ValueError, match="declares 0 dimensions"):
        parse_idx(b"\x00\x00\x08\x00")
    cut = tmp_path / "cut.gz"
    cut.write_bytes(gzip.compress(good)[:-30])
    with pytest.raises(ValueError, match="broken gzip data"):
        read_idx(cut)


def test_content_digest_catches_a_changed_file_and_accepts_a_recompressed_one(tmp_path):
    write_idx(tmp_path / "labels.idx", (np.arange(1000) % 10).astype(np.uint8))
    content = (tmp_path / "labels.idx").read_bytes()
    digest = md5(content)
    published = gzip.compress(content, compresslevel=9)
    again = tmp_path / "again.gz"
    again.write_bytes(gzip.compress(content, compresslevel=1))         # other bytes, same content
    assert md5(again.read_bytes()) != md5(published)
    assert np.array_equal(read_idx(again, md5=digest), np.arange(1000) % 10)
    changed = bytearray(content)
    changed[100] = (changed[100] + 1) % 10
    (tmp_path / "raw").write_bytes(bytes(changed))
    with pytest.raises(ValueError, match=f"content MD5 is {md5(bytes(changed))}, expected {digest}"):
        read_idx(tmp_path / "raw", md5=digest)


# --- the skip a test gets when a real dataset is missing -------------------------------------

def test_a_missing_dataset_skips_with_one_line_that_says_how_to_get_it(tiny):
    from conftest import dataset_dir_or_skip, missing_reason
    with pytest.raises(pytest.skip.Exception) as e:
        dataset_dir_or_skip(TINY)
    reason = str(e.value)
    assert "\n" not in reason and reason.startswith("tiny-idx not found (looked in ")
    for folder in (tiny.env, tiny.cache, tiny.system):
        assert str(folder) in reason
    assert "python -c 'import handgrad.data as d; d.download(\"tiny-idx\")'" in reason
    assert f"put the four train-/t10k- *-ubyte.gz files in {tiny.cache}" in reason
    tiny.place(tiny.cache)
    assert dataset_dir_or_skip(TINY) == tiny.cache
    fashion = missing_reason("fashion")
    assert fashion.startswith("Fashion-MNIST not found")
    assert "apt-get install dataset-fashion-mnist" in fashion


# --- the real files ---------------------------------------------------------------------------

def test_mnist_loads_verified_with_the_known_structure(mnist):
    X, y, X_test, y_test = mnist
    assert X.shape == (60000, 784) and X_test.shape == (10000, 784)
    assert X.dtype == np.float32 and X.min() == 0 and X.max() == 1
    assert y.dtype == np.int64
    assert np.bincount(y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert y[0] == 5 and round(float(X[0].sum()) * 255) == 27525
    assert y_test[0] == 7 and round(float(X_test[0].sum()) * 255) == 18454
    images = load_mnist(flatten=False, allow_download=False)[0]
    assert images.shape == (60000, 28, 28) and np.array_equal(images[0].reshape(-1), X[0])


def test_fashion_mnist_loads_verified_with_ten_balanced_classes(fashion):
    X, y, X_test, y_test = fashion
    assert X.shape == (60000, 784) and X_test.shape == (10000, 784) and X.dtype == np.float32
    assert np.bincount(y).tolist() == [6000] * 10 and np.bincount(y_test).tolist() == [1000] * 10
    assert y[0] == 9 and round(float(X[0].sum()) * 255) == 76247
    assert y_test[0] == 9 and round(float(X_test[0].sum()) * 255) == 33456
    d = load_dataset("fashion", allow_download=False)
    assert d.name == "fashion-mnist" and d.classes[9] == "Ankle boot" and d.image_shape == (28, 28)


def test_digits_split_and_standardize():
    pytest.importorskip("sklearn",
                        reason="the digits come with scikit-learn: pip install 'handgrad[sklearn]'")
    d = load_dataset("digits", seed=0)
    # 20% of each class, rounded, is held out: 359 of the 1,797 images
    assert d.X_train.shape == (1438, 64) and d.X_test.shape == (359, 64)
    counts = np.bincount(d.y_train) + np.bincount(d.y_test)
    assert np.bincount(d.y_test).tolist() == [round(0.2 * c) for c in counts]
    assert d.X_train.min() == 0 and d.X_train.max() == 1 and d.n_classes == 10
    Xs, Xt = standardize(d.X_train, d.X_test)
    nonconstant = d.X_train.std(axis=0) > 0
    assert np.allclose(Xs.mean(axis=0), 0, atol=1e-5)
    assert np.allclose(Xs.std(axis=0)[nonconstant], 1, atol=1e-4)
    assert (~nonconstant).any() and (Xs[:, ~nonconstant] == 0).all()     # std 0 counts as 1: no NaN
    assert Xt.dtype == np.float32
