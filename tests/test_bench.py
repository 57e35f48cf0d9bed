"""The benchmark harness works and computes what it says (no timing is asserted here)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from handgrad import MLP
from handgrad.data import make_blobs
from handgrad.optim import SGD
from handgrad.train import train

_spec = importlib.util.spec_from_file_location(
    "speed", Path(__file__).resolve().parents[1] / "benchmarks" / "speed.py")
speed = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(speed)
BareRunner, LimitRunner, epoch_flops, fit_exponent, run, step_phases, time_epochs = (
    speed.BareRunner, speed.LimitRunner, speed.epoch_flops, speed.fit_exponent, speed.run,
    speed.step_phases, speed.time_epochs)


def test_epoch_flops_of_the_lesson_network():
    # forward and dW for the first layer (no dX), forward, dW and dX for the second
    per_example = 2 * 784 * 256 * 2 + 2 * 256 * 10 * 3
    assert epoch_flops([784, 256, 10], 60000, 128) == per_example * 60000
    assert epoch_flops([784, 256, 10], 60000, 128) == pytest.approx(49.1e9, rel=1e-3)


def test_fit_exponent_recovers_a_power_law():
    f = np.array([1e9, 4e9, 16e9])
    assert fit_exponent(f, 2e-9 * f) == pytest.approx(1.0)
    assert fit_exponent(f, 3e-5 * f ** 0.5) == pytest.approx(0.5)


def test_time_epochs_interleaves_and_reports_missing_contenders(monkeypatch):
    import sys
    X, y = make_blobs(512, n_features=16, seed=0)
    monkeypatch.setitem(sys.modules, "sklearn.neural_network", None)    # as if not installed
    med, times, skipped = time_epochs(X, y, [16, 32, 3], 64, 0.1, rounds=2,
                                      contenders=("numpy", "torch", "sklearn"))
    assert len(times["numpy"]) == 2 and med["numpy"] > 0
    assert "sklearn" in skipped and "not installed" in skipped["sklearn"]
    if "torch" not in skipped:                   # every contender runs once per round
        assert len(times["torch"]) == 2


@pytest.mark.slow
def test_the_whole_benchmark_on_a_small_set(tmp_path):
    report = run("digits", rounds=1, quick=True, out_dir=tmp_path, log=lambda *a: None,
                 contenders=("numpy", "torch", "sklearn"))
    text = (tmp_path / "results.md").read_text()
    assert "GEMM-bound limit" in text and "handgrad NumPy" in text and "× GEMM limit" in text
    assert "its matrix products alone" in text and "bare NumPy step, written inline" in text
    # the limit is measured in the rounds, like a contender: the epoch's FLOPs at the median rate
    assert report["limit"] == pytest.approx(report["flops"] / report["rate"])
    assert all(r["limit"] > 0 and r["numpy"] > 0 for r in report["sweeps"])
    assert {r["kind"] for r in report["sweeps"]} == {"width", "batch", "depth"}
    assert "mark" not in text and all(("faster" in f or "slower" in f or "GEMM" in f)
                                      for f in report["findings"])
    assert report["memory"]["measured_peak_bytes"] > 0
    assert (tmp_path / "scaling.png").stat().st_size > 10_000


def test_the_limit_is_the_epochs_flops_at_the_rate_measured_now():
    X, y = make_blobs(1000, n_features=16, seed=0)
    runner = LimitRunner(X, y, [16, 32, 3], 100, 0.1, 0)
    seconds = runner.epoch()
    assert runner.flops == epoch_flops([16, 32, 3], 1000, 100)
    assert seconds == pytest.approx(runner.flops / runner.rates[-1])
    assert runner.rates[-1] > 0


def test_step_phases_times_the_very_step_train_takes():
    X, y = make_blobs(300, n_features=16, seed=0)
    timed, trained = MLP([16, 32, 8, 3], seed=5), MLP([16, 32, 8, 3], seed=5)
    phases = step_phases(timed, X, y, batch_size=64, optimizer=SGD(0.1), epochs=2)
    train(trained, X, y, epochs=2, optimizer=SGD(0.1), batch_size=64)
    for name, w in trained.state_dict().items():
        np.testing.assert_array_equal(timed.state_dict()[name], w)      # same calls, same order
    assert list(phases) == [
        "gather the batch", "z1 = a0 W1ᵀ + b1", "a1 = relu(z1)", "z2 = a1 W2ᵀ + b2", "a2 = relu(z2)",
        "z3 = a2 W3ᵀ + b3", "a3 = softmax(z3)", "loss and δ3 = (p − Y)/B", "dW3, db3, δ3 W3",
        "δ2 = (δ3 W3) ⊙ f'(z2)", "dW2, db2, δ2 W2", "δ1 = (δ2 W2) ⊙ f'(z1)", "dW1, db1", "SGD update"]
    assert all(t >= 0 for t in phases.values())


def test_the_bare_inline_step_trains_the_network_train_trains():
    X, y = make_blobs(300, n_features=16, centers=4, seed=0)
    bare, model = BareRunner(X, y, [16, 32, 8, 4], 64, 0.1, seed=3), MLP([16, 32, 8, 4], seed=3)
    bare.epoch(), bare.epoch()
    train(model, X, y, epochs=2, optimizer=SGD(0.1), batch_size=64)     # a short last batch too
    for l, layer in enumerate(model.layers):
        np.testing.assert_allclose(bare.W[l], layer.W, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(bare.b[l], layer.b, rtol=1e-4, atol=1e-5)
    assert not np.allclose(bare.W[0], MLP([16, 32, 8, 4], seed=3).layers[0].W)   # it did train
