"""Mistakes a newcomer makes get a clear error that says what was expected and what came."""

import re

import numpy as np
import pytest

import handgrad as hg
from handgrad.data import find, make_blobs


def test_zero_epochs_and_a_zero_batch_are_errors_not_empty_results():
    X, y = make_blobs(40, seed=0)
    model = hg.MLP([4, 8, 3], seed=0)
    with pytest.raises(ValueError, match="epochs must be a positive integer; got 0"):
        model.fit(X, y, epochs=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model.fit(X, y, epochs=1, batch_size=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer; got 0"):
        hg.trace([4, 8, 3], batch_size=0)


def test_a_learning_rate_beside_an_optimizer_is_refused_not_dropped():
    X, y = make_blobs(40, seed=0)
    with pytest.raises(ValueError, match="not both"):
        hg.MLP([4, 8, 3], seed=0).fit(X, y, epochs=1, learning_rate=0.5, optimizer=hg.SGD(0.1))


def test_an_explicit_data_folder_must_exist_and_hold_the_data(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find("mnist", data_dir=tmp_path / "nowhere", allow_download=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="does not hold them"):
        find("mnist", data_dir=tmp_path / "empty", allow_download=False)


def test_a_loss_that_explodes_stops_training_with_the_last_good_weights():
    X, y = make_blobs(200, seed=0)
    model = hg.MLP([4, 16, 3], ["identity", "softmax"], seed=0)
    model.fit(X, y, epochs=1, learning_rate=0.01, batch_size=50)
    good = model.state_dict()
    with pytest.raises(hg.DivergenceError, match="exploded") as e:
        model.fit(X, y, epochs=3, learning_rate=1e6, batch_size=50)
    assert "learning rate 1e+06" in str(e.value) and "Hint" in str(e.value)
    assert all(np.array_equal(model.state_dict()[k], v) for k, v in good.items())


def test_a_loss_that_only_jitters_near_zero_is_not_divergence():
    X, y = make_blobs(300, seed=2, center_std=6.0)       # separable: batch losses reach ~0
    model = hg.MLP([4, 16, 3], seed=0)
    losses = model.fit(X, y, epochs=40, learning_rate=0.1, batch_size=10)
    assert losses[-1] < 0.05


def test_the_gradcheck_verdict_says_why_it_passed_above_the_tolerance():
    from handgrad.check import GradcheckReport
    row = dict(name="layers.0.weight", shape=(4, 3), max_error=5.55e-4, worst_index=(1, 2),
               analytic=1e-12, numeric=1.0001e-12, passed=True, at_noise_floor=1)
    verdict = str(GradcheckReport([row], 1e-6, 1.8e-10)).splitlines()[-1]
    assert verdict.startswith("passed: max relative error 5.55e-04 is above the tolerance 1e-06")
    assert "noise floor 1.8e-10" in verdict and "count as agreeing" in verdict
    failed = str(GradcheckReport([dict(row, passed=False, at_noise_floor=0)], 1e-6, 1.8e-10))
    assert failed.splitlines()[-1] == "FAILED: max relative error 5.55e-04 > tolerance 1e-06"


@pytest.mark.parametrize("make, message", [
    (lambda: hg.Cosine(1e-3, total_steps=0), "total_steps must be an integer at least 1; got 0"),
    (lambda: hg.Cosine(0.1, 10, min_lr=0.2), "min_lr must be a finite number at least 0 and at most 0.1"),
    (lambda: hg.StepDecay(0.1, step_size=0), "step_size must be an integer at least 1"),
    (lambda: hg.StepDecay(0.1, 10, gamma=0), "gamma must be a finite number above 0"),
    (lambda: hg.Warmup(0.1, warmup_steps=-1), "warmup_steps must be an integer at least 0"),
    (lambda: hg.SGD(float("nan")), "learning rate must be a finite number at least 0; got nan"),
    (lambda: hg.SGD(float("inf")), "learning rate must be a finite number"),
    (lambda: hg.SGD(-0.1), "learning rate must be a finite number at least 0; got -0.1"),
    (lambda: hg.SGD(0.1, momentum=1.0), "momentum must be a finite number at least 0 and below 1"),
    (lambda: hg.SGD(0.1, momentum=-0.5), "momentum must be"),
    (lambda: hg.SGD(0.1, weight_decay=float("nan")), "weight_decay must be a finite number"),
    (lambda: hg.Adam(betas=(0.9, 1.0)), "β2 (betas[1]) must be a finite number at least 0 and below 1"),
    (lambda: hg.Adam(betas=(-0.1, 0.999)), "β1 (betas[0]) must be"),
    (lambda: hg.Adam(betas=(0.9,)), "betas must be two numbers"),
    (lambda: hg.Adam(eps=0), "eps must be a finite number above 0; got 0"),
    (lambda: hg.AdamW(weight_decay=-0.01), "weight_decay must be a finite number at least 0"),
])
def test_optimizers_and_schedules_check_their_settings_when_made(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_a_rate_of_zero_is_a_rate_as_in_pytorch():
    opt = hg.SGD(0.0, momentum=0.9)                # a schedule's end: a resumed run rebuilds it
    assert opt.lr == 0.0 and hg.Cosine(0.1, 10)(10) == 0.0


@pytest.mark.parametrize("kwargs, message", [
    (dict(eps=0), "eps, the finite-difference step, must be a finite number above 0"),
    (dict(eps=float("nan")), "eps, the finite-difference step"),
    (dict(tol=-1), "tol, the largest relative error that passes, must be above 0 and below 1"),
    (dict(tol=float("nan")), "tol, the largest relative error"),
    (dict(tol=1.0), "a relative error is at most 1"),
])
def test_a_gradient_check_refuses_a_step_or_tolerance_that_cannot_mean_anything(kwargs, message):
    model = hg.MLP([3, 4, 2], seed=0, dtype=np.float64)
    X = np.zeros((2, 3))
    with pytest.raises(ValueError, match=re.escape(message)):
        hg.gradcheck(model, X, np.array([0, 1]), **kwargs)


@pytest.mark.parametrize("lr", [float("nan"), float("inf"), 0.0, -1.0, True])
def test_the_perceptron_needs_a_finite_positive_rate(lr):
    from handgrad.perceptron import Perceptron
    with pytest.raises(ValueError, match="lr must be positive and finite"):
        Perceptron(2, lr=lr)


def test_perceptron_weights_that_overflow_are_an_error_not_nan():
    from handgrad.perceptron import GATE_INPUTS, GATES, Perceptron
    with pytest.raises(ValueError, match="the weights overflowed in epoch 1 at lr 1e\\+308"):
        Perceptron(2, lr=1e308).fit(GATE_INPUTS * 1e10, GATES["xor"])


def test_trace_refuses_sizes_that_are_no_network():
    for sizes in ([4], [4, 0, 3], [4, -1, 3], [4, 2.5, 3]):
        with pytest.raises(ValueError, match="layer sizes must be at least two positive integers"):
            hg.trace(sizes)


def test_a_resumed_recipe_that_changes_the_run_is_refused_by_name(tmp_path):
    from handgrad.recipes import resolve, run_recipe
    recipe = resolve(dataset="blobs", epochs=1, lr=0.05, batch_size=32)
    checkpoint = tmp_path / "checkpoint.safetensors"
    run_recipe(recipe, checkpoint=checkpoint)
    with pytest.raises(ValueError, match=r"asked to change lr from 0\.05 to 0\.5, batch_size "
                                         r"from 32 to 64 \(only epochs, early_stopping"):
        run_recipe(dict(recipe, epochs=2, lr=0.5, batch_size=64), checkpoint=checkpoint,
                   resume=True)
    run = run_recipe(dict(recipe, epochs=2, divergence_factor=100.0), checkpoint=checkpoint,
                     resume=True)
    assert len(run.history) == 2
