"""Mistakes a newcomer makes get a clear error that says what was expected and what came."""

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
