import numpy as np
import pytest

from handgrad.data import (
    TOY,
    load_dataset,
    make_blobs,
    make_circles,
    make_quadrants,
    make_sine,
    make_spiral,
    make_xor,
    train_val_split,
)


def test_xor_is_the_four_corners():
    X, y = make_xor()
    assert X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and y.tolist() == [0, 1, 1, 0]


@pytest.mark.parametrize("name", [k for k in TOY if k != "xor"])
def test_toy_sets_are_seeded_and_typed(name):
    X1, y1 = TOY[name](seed=3)
    X2, y2 = TOY[name](seed=3)
    X3, _ = TOY[name](seed=4)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    assert X1.dtype == np.float32 and X1.ndim == 2 and len(X1) == len(y1)
    assert y1.dtype == (np.float32 if name == "sine" else np.int64)


def test_blobs_three_centers_in_4d_with_spread_3():
    X, y = make_blobs(30000, seed=0)
    assert X.shape == (30000, 4) and set(y) == {0, 1, 2}
    within = np.mean([X[y == k].std(axis=0).mean() for k in range(3)])
    assert within == pytest.approx(1.0, rel=0.05)                  # points ~ N(center, 1)
    # centers ~ N(0, 3²): pooled over 300 seeds, the class means spread with std 3
    centers = []
    for seed in range(300):
        X, y = make_blobs(600, seed=seed)
        centers += [X[y == k].mean(axis=0) for k in range(3)]
    assert np.std(centers) == pytest.approx(3.0, rel=0.05)


def test_spiral_quadrants_circles_sine_shapes():
    X, y = make_spiral(50, 5, seed=0)
    assert X.shape == (250, 2) and np.bincount(y).tolist() == [50] * 5
    X, y = make_quadrants(1000, seed=0)
    assert set(y) == {0, 1, 2, 3} and ((X[y == 0] > 0).all())
    X, y = make_circles(1000, noise=0, seed=0)
    r = np.linalg.norm(X, axis=1)
    assert np.allclose(r[y == 0], 1) and np.allclose(r[y == 1], 0.5)
    X, y = make_sine(100, seed=0)
    assert np.allclose(y[:, 0], np.sin(X[:, 0]), atol=1e-6)


def test_split_is_seeded_stratified_and_disjoint():
    X = np.arange(1000, dtype=np.float32)[:, None]
    y = np.repeat([0, 1, 2, 3], 250)
    a = train_val_split(X, y, 0.2, seed=1)
    b = train_val_split(X, y, 0.2, seed=1)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    Xtr, ytr, Xva, yva = a
    assert len(Xva) == 200 and np.bincount(yva).tolist() == [50] * 4
    assert not set(Xtr[:, 0]) & set(Xva[:, 0])


def test_load_dataset_toys_and_unknown_names():
    d = load_dataset("blobs")
    assert d.n_features == 4 and d.n_classes == 3 and len(d.X_test) > 0
    with pytest.raises(ValueError, match="unknown dataset 'cifar'; valid names: digits, mnist"):
        load_dataset("cifar")
