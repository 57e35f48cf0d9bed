"""Seconds per ``fit``: handgrad.sklearn's estimators against scikit-learn's, on the same data.

    python benchmarks/sklearn_fit.py            # digits, Fashion-MNIST, a sparse text-like problem
    python benchmarks/sklearn_fit.py --quick    # one round, fewer epochs: a smoke run

Each problem fits handgrad's estimator and scikit-learn's with the same
parameters. The stochastic solvers run a fixed number of epochs
(``n_iter_no_change=inf``, so neither stops early and both do the same work).
Rounds interleave the contenders (handgrad, scikit-learn, handgrad, …) so
that a slow minute on a shared machine hurts both alike; each contender's
median is quoted, and ratio = scikit-learn's median / handgrad's (above 1:
handgrad is faster). "iters" is the epochs (lbfgs: iterations) of each,
handgrad/scikit-learn. Both take ``random_state=0``, so both draw the same
initial weights and shuffles: "weights Δ" is the largest relative difference
between the two fitted networks' weights, and the held-out accuracies printed
beside it agree. Nothing is asserted: these are numbers to read.

Problems:
  digits        scikit-learn's 8x8 digits (1,437 train / 360 test), 100 hidden units
  fashion       Fashion-MNIST (60,000 x 784 float32), 256 hidden units; skipped when not found
  sparse        a text-like problem: CSR word counts, 5,000 documents x 20,000 words, 20
                words per document from a Zipf-like vocabulary (0.1 % density), labels
                from a planted linear rule; 100 hidden units
  sparse32      the same in float32 (scikit-learn keeps float32 input, and so does handgrad)
"""

import os
import platform
import statistics
import sys
import time
import warnings

import click
import numpy as np
import scipy.sparse as sp
from sklearn import neural_network as sknn
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from handgrad import sklearn as hgsk


def digits_data():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.2, random_state=0, stratify=y)


def fashion_data():
    from handgrad.data import load_fashion_mnist
    X, y, X_test, y_test = load_fashion_mnist(allow_download=False)
    return X, X_test, y, y_test


def sparse_data(n=5000, d=20000, words=20, seed=0, dtype=np.float64):
    """Bag-of-words counts: ``words`` draws per document from a Zipf-like vocabulary of d words
    (about 0.1 % of the matrix is filled); the label is the sign of a planted linear score
    over the 2,000 most frequent words, split at its median."""
    rng = np.random.default_rng(seed)
    p = 1 / (np.arange(d) + 10.0)
    rows = np.repeat(np.arange(n), words)
    cols = rng.choice(d, size=n * words, p=p / p.sum())
    X = sp.csr_matrix((np.ones(n * words, dtype=dtype), (rows, cols)), shape=(n, d))
    X.sum_duplicates()                                       # counts
    w = np.zeros(d)
    w[:2000] = rng.normal(size=2000)
    score = X @ w
    y = (score > np.median(score)).astype(int)
    return train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)


def sparse_data_float32():
    return sparse_data(dtype=np.float32)


def problems(quick):
    """(name, data function, shared parameters) for every problem."""
    epochs = 1 if quick else None
    fixed = dict(n_iter_no_change=np.inf, random_state=0)
    return [
        ("digits adam", digits_data,
         dict(hidden_layer_sizes=(100,), solver="adam", max_iter=epochs or 100, **fixed)),
        ("digits sgd", digits_data,
         dict(hidden_layer_sizes=(100,), solver="sgd", learning_rate_init=0.1,
              max_iter=epochs or 100, **fixed)),
        ("digits lbfgs", digits_data,                   # tol=0: every run takes max_iter steps
         dict(hidden_layer_sizes=(100,), solver="lbfgs", tol=0.0, max_iter=10 if quick else 100,
              random_state=0)),
        ("fashion adam", fashion_data,
         dict(hidden_layer_sizes=(256,), solver="adam", max_iter=epochs or 5, **fixed)),
        ("sparse adam", sparse_data,
         dict(hidden_layer_sizes=(100,), solver="adam", max_iter=epochs or 10, **fixed)),
        ("sparse32 adam", sparse_data_float32,               # float32 CSR: both keep float32
         dict(hidden_layer_sizes=(100,), solver="adam", max_iter=epochs or 10, **fixed)),
    ]


def timed_fit(cls, params, X, y, X_test, y_test):
    est = cls(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        est.fit(X, y)
        seconds = time.perf_counter() - start
    return seconds, est.score(X_test, y_test), est.n_iter_, est


def weights_difference(ours, theirs):
    """The largest relative difference between two fitted networks' weights and biases."""
    return max(float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
               for a, b in zip(ours.coefs_ + ours.intercepts_,
                               theirs.coefs_ + theirs.intercepts_))


@click.command()
@click.option("--quick", is_flag=True, help="one round, fewer epochs: a smoke run")
@click.option("--rounds", type=int, default=3, show_default=True, help="interleaved rounds")
@click.option("--only", default=None, help="run the problems whose name contains this")
def main(quick, rounds, only):
    rounds = 1 if quick else rounds
    print(f"handgrad.sklearn against scikit-learn {sknn.__name__.split('.')[0]} "
          f"{__import__('sklearn').__version__}; NumPy {np.__version__}; Python "
          f"{platform.python_version()}; {os.cpu_count()} CPU cores; {rounds} interleaved "
          "round(s), medians")
    header = (f"{'problem':<14} {'data':>18} {'iters':>7} {'handgrad s':>11} "
              f"{'sklearn s':>10} {'ratio':>6} {'acc handgrad':>13} {'acc sklearn':>12} "
              f"{'weights Δ':>10}")
    print(header)
    print("-" * len(header))
    for name, load, params in problems(quick):
        if only and only not in name:
            continue
        try:
            X, X_test, y, y_test = load()
        except (FileNotFoundError, OSError, ImportError) as err:
            print(f"{name:<14} skipped: {str(err).splitlines()[0]}")
            continue
        kind = "CSR" if sp.issparse(X) else X.dtype.name
        data = f"{X.shape[0]}x{X.shape[1]} {kind}"
        contenders = {"handgrad": hgsk.MLPClassifier, "sklearn": sknn.MLPClassifier}
        small = dict(params, max_iter=1)
        for cls in contenders.values():                       # warm-up: caches, BLAS threads
            timed_fit(cls, small, X[:500], y[:500], X_test[:50], y_test[:50])
        times = {k: [] for k in contenders}
        scores, iters, fitted = {}, {}, {}
        for _ in range(rounds):
            for key, cls in contenders.items():
                seconds, scores[key], iters[key], fitted[key] = timed_fit(cls, params, X, y,
                                                                          X_test, y_test)
                times[key].append(seconds)
        med = {k: statistics.median(v) for k, v in times.items()}
        steps = f"{iters['handgrad']}/{iters['sklearn']}"
        print(f"{name:<14} {data:>18} {steps:>7} {med['handgrad']:>11.2f} "
              f"{med['sklearn']:>10.2f} {med['sklearn'] / med['handgrad']:>5.2f}x "
              f"{100 * scores['handgrad']:>12.2f}% {100 * scores['sklearn']:>11.2f}% "
              f"{weights_difference(fitted['handgrad'], fitted['sklearn']):>10.1e}")
        sys.stdout.flush()
    print("ratio = scikit-learn's median seconds / handgrad's (above 1: handgrad is faster). "
          "Both draw the same weights and shuffles from random_state=0; weights Δ = the largest "
          "relative difference of the fitted weights (float32 runs round differently).")


if __name__ == "__main__":
    main()
