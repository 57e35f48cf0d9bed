"""The lab: each experiment runs in its --quick form and returns finite numbers; its verdict
follows from what it measured (fed settings under which its claim must fail, it says so);
spot checks with exact expectations; the report, the registry and the command line."""

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from handgrad import lab
from handgrad.lab.commands import lab as lab_command
from handgrad.lab.core import Check, Result, Skip, mnist, text_table
from handgrad.lab.verdicts import FAILS, HOLDS, PARTLY, SKIPPED, UNTESTED

# --quick experiments that take well under two seconds on two cores run in the quick loop;
# the others are marked slow.
FAST = {1, 3, 4, 9, 11, 12, 15, 19, 28}
ALL_IDS = sorted(lab.EXPERIMENTS)
NAN_ON_PURPOSE = {6: ("std[ReLU, σ²n=512]",),       # N(0, 1) weights overflow
                  9: ("naive_",),                   # naive softmax
                  13: ("final_",), 16: ("final_",)}  # diverging learning rates


def numbers(value):
    """Every number inside a measurement (lists and dicts walked)."""
    if isinstance(value, dict):
        return [n for v in value.values() for n in numbers(v)]
    if isinstance(value, (list, tuple)):
        return [n for v in value for n in numbers(v)]
    if isinstance(value, (bool, np.bool_)) or value is None or isinstance(value, str):
        return []
    return [float(value)]


# --- the registry -----------------------------------------------------------------------------

def test_the_registry_holds_the_28_experiments_in_order():
    assert ALL_IDS == list(range(1, 29))
    slugs = [e.slug for e in lab.EXPERIMENTS.values()]
    assert len(set(slugs)) == len(slugs)
    for e in lab.EXPERIMENTS.values():
        assert e.claim and e.title and e.section in lab.SECTIONS
        assert len(e.seconds) == 2 and 0 < e.seconds[0] <= e.seconds[1]


def test_an_experiment_is_found_by_number_or_name():
    assert lab.get(6).slug == "init-scale"
    assert lab.get("06").id == 6
    assert lab.get("init-scale").id == 6
    with pytest.raises(KeyError, match=r"valid ids: 1 \(vanishing-sigmoid\), 2 "):
        lab.get("no-such-thing")


def test_the_verdict_follows_from_the_checks_alone():
    yes, no, untested = Check("a", "1", True), Check("b", "2", False), Check("c", "3", None)
    assert lab.verdict_of([yes, yes]) == HOLDS
    assert lab.verdict_of([yes, no]) == PARTLY
    assert lab.verdict_of([no, no]) == FAILS
    assert lab.verdict_of([yes, untested]) == HOLDS        # an untestable part is left out
    assert lab.verdict_of([untested]) == UNTESTED
    assert Result(checks=[yes], skipped="no MNIST").verdict == SKIPPED


# --- every experiment, --quick --------------------------------------------------------------

@pytest.mark.parametrize("key", [pytest.param(i, marks=() if i in FAST else pytest.mark.slow)
                                 for i in ALL_IDS])
def test_each_experiment_runs_quick_and_measures_finite_numbers(key):
    r = lab.run_one(key, quick=True, draw=False)
    assert r.error is None, r.error
    if r.verdict == SKIPPED:
        pytest.skip(r.skipped)
    assert r.verdict in (HOLDS, PARTLY, FAILS)
    assert r.checks and all(isinstance(c.passed, (bool, type(None))) and c.measured for c in r.checks)
    found = numbers(r.measurements)
    assert found, "an experiment measures numbers"
    # NaN is measured on purpose where a claim is about it, and nowhere else
    finite = [n for k, v in r.measurements.items() for n in numbers(v)
              if not k.startswith(NAN_ON_PURPOSE.get(r.id, ()))]
    assert all(math.isfinite(n) for n in finite), r.measurements
    json.dumps(r.to_dict())                                  # JSON-ready


def test_the_same_seed_gives_the_same_numbers():
    a, b = (lab.run_one(4, quick=True, draw=False) for _ in range(2))
    assert a.measurements == b.measurements
    c = lab.run_one(11, quick=True, draw=False, seed=0)
    d = lab.run_one(11, quick=True, draw=False, seed=1)
    assert c.measurements != d.measurements


# --- verdicts come from measurements: settings under which a claim must fail -------------------

def test_softmax_on_small_logits_does_not_overflow_so_the_claim_fails():
    r = lab.run_one(9, draw=False, logits=(3.0, 0.0, 0.0))
    assert r.verdict == FAILS
    assert r.measurements["largest_difference_from_lesson"] > 0.1


def test_a_round_bowl_leaves_momentum_and_adam_nothing_to_win():
    r = lab.run_one(18, quick=True, draw=False, kappas=(1,))    # x² + y²: SGD's best rate is exact
    assert r.verdict == FAILS
    assert r.measurements["steps[SGD, κ=1]"] == 1


def test_one_epoch_is_too_few_for_the_perceptron_to_learn_and():
    r = lab.run_one(26, quick=True, draw=False, epochs=1, seeds=1)
    assert r.verdict == PARTLY
    assert r.measurements["converged[and]"] is False


def test_two_sigmoid_layers_do_not_vanish_so_that_part_fails():
    r = lab.run_one(1, draw=False, depth=2)
    assert r.verdict == PARTLY
    assert r.measurements["first_over_last_grad[sigmoid (Xavier)]"] > 1e-6
    assert [c.passed for c in r.checks] == [True, True, False]


# --- spot checks ---------------------------------------------------------------------------------

def test_softmax_numbers_are_the_lessons():
    r = lab.run_one(9, draw=False)
    assert r.verdict == HOLDS
    assert all(math.isnan(p) for p in r.measurements["naive_float64"])
    np.testing.assert_allclose(r.measurements["stable"], [0.66524096, 0.24472847, 0.09003057], rtol=1e-7)
    assert r.measurements["naive_breaks_at_logit[float64]"] == pytest.approx(710, abs=1)
    assert r.measurements["naive_breaks_at_logit[float32]"] == pytest.approx(89, abs=1)


def test_init_scale_he_is_stable_four_explodes_and_the_threshold_under_relu_is_two():
    r = lab.run_one(6, draw=False, width=256)
    m = r.measurements
    assert m["std_spread[ReLU, He]"] <= 10                       # within one order of magnitude
    assert m["std[ReLU, σ²n=4][layer 50]"] > 1e6                 # σ²n = 4 explodes
    assert m["std[ReLU, σ²n=1.5][layer 50]"] < 1e-2              # > 1 yet vanishes under ReLU
    assert m["second_moment_ratio_per_layer[ReLU, Xavier]"] == pytest.approx(0.5, abs=0.05)
    assert r.verdict == PARTLY
    failed = [c for c in r.checks if c.passed is False]
    assert len(failed) == 1 and "σ²n = 2" in failed[0].measured


@pytest.mark.slow
def test_the_five_training_bugs_each_show_their_symptom():
    r = lab.run_one(16, quick=True, draw=False)
    assert r.error is None and r.verdict != SKIPPED, r.skipped
    assert len(r.checks) == 5 and all(c.passed for c in r.checks), [c.measured for c in r.checks]
    bugs = [row[0] for row in r.table.rows]
    assert bugs == ["forgot to zero the gradients", "lr = 100", "lr = 1e-9",
                    "init N(0, 1), not scaled by √(2/n)", "no shuffling (sorted by label)"]
    assert r.measurements["final_accuracy[no shuffling (sorted by label)]"] <= 0.2


def test_three_ways_to_the_same_gradient():
    r = lab.run_one(28, quick=True, draw=False, rounds=2)
    assert r.measurements["max_relative_grad_difference[Value engine]"] <= 1e-12
    assert r.measurements["max_relative_grad_difference[Tensor engine]"] <= 1e-12


# --- data: MNIST missing ---------------------------------------------------------------------------

@pytest.fixture
def no_mnist(tmp_path, monkeypatch):
    monkeypatch.setenv("HANDGRAD_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path))


def test_without_mnist_a_full_run_is_skipped_saying_how_to_get_it(no_mnist):
    with pytest.raises(Skip, match="HANDGRAD_DATA"):
        mnist(quick=False)
    r = lab.run_one(24, draw=False)
    assert r.verdict == SKIPPED and "MNIST" in r.skipped


def test_without_mnist_quick_runs_fall_back_to_the_digits_and_say_so(no_mnist):
    pytest.importorskip("sklearn")
    data = mnist(quick=True)
    assert data.name == "digits" and data.n_features == 64 and "digits" in data.note
    r = lab.run_one(8, quick=True, draw=False)
    assert r.verdict == HOLDS and any("8x8 digits" in n for n in r.notes)


# --- the report ------------------------------------------------------------------------------------

def test_the_report_holds_every_claim_number_verdict_and_picture(tmp_path):
    pytest.importorskip("matplotlib")
    results = lab.run([9, 4], quick=True, out=tmp_path)
    assert [r.id for r in results] == [9, 4]
    md = (tmp_path / "report.md").read_text()
    page = (tmp_path / "report.html").read_text()
    data = json.loads((tmp_path / "results.json").read_text())
    for r in results:
        assert r.claim in md and r.images
        for name in r.images:
            png = tmp_path / r.image_name(name)
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert f"]({png.name})" in md
    assert "0.6652" in md and "✅ holds" in md
    assert page.count("data:image/png;base64,") == sum(len(r.images) for r in results)
    assert "<img" in page and 'src="0' not in page                # every picture embedded
    assert data["verdicts"] == {"9": HOLDS, "4": HOLDS}
    assert data["results"][0]["measurements"]["naive_float64"] == ["nan", "nan", "nan"]


def test_a_table_escapes_pipes_for_markdown_only():
    t = text_table(["x", "|Δp|"], [[1, "a|b"]])
    assert "\\|Δp\\|" in t.markdown() and "|Δp|" in str(t)


# --- the command line --------------------------------------------------------------------------------

def test_lab_list_names_every_experiment():
    result = CliRunner().invoke(lab_command, ["list"])
    assert result.exit_code == 0
    for e in lab.EXPERIMENTS.values():
        assert e.slug in result.output


def test_lab_run_an_unknown_id_lists_the_valid_ones():
    result = CliRunner().invoke(lab_command, ["run", "99"])
    assert result.exit_code == 2
    assert "no experiment '99'; valid ids: 1 (vanishing-sigmoid)" in result.output
    assert "Traceback" not in result.output


def test_lab_run_prints_the_numbers_and_writes_the_report(tmp_path):
    pytest.importorskip("matplotlib")
    result = CliRunner().invoke(lab_command, ["run", "softmax-overflow", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "verdict: HOLDS" in result.output and "0.6652" in result.output
    assert (tmp_path / "report.html").is_file() and (tmp_path / "09-softmax-overflow-softmax.png").is_file()


def test_lab_run_reports_an_experiment_that_breaks_in_one_line(tmp_path, monkeypatch):
    def broken(**kw):
        raise RuntimeError("something inside went wrong")

    monkeypatch.setattr(lab.EXPERIMENTS[9], "function", broken)
    result = CliRunner().invoke(lab_command, ["run", "9", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "Error: 1 experiment(s) could not run: 9 (RuntimeError: something inside went wrong" \
        in result.output
    assert "Traceback" not in result.output
