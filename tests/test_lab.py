"""The lab's machinery: the registry and its citations, the verdict rules, the statistics, the FLOP
counter, the report and the command line — with the cheapest experiments run for real."""

import json
import math
import os

import numpy as np
import pytest
from click.testing import CliRunner

from handgrad import MLP, lab
from handgrad.lab.commands import lab as lab_command
from handgrad.lab.flops import Tally, counted
from handgrad.lab.lessons import LESSONS
from handgrad.lab.result import Result, at_least, at_most, between, fact, near, not_here, verdict_of
from handgrad.lab.stats import Sample, Share, t975, wilson
from handgrad.lab.training import fit, lesson_blobs, lesson_quadrants
from handgrad.lab.verdicts import (
    AS_STATED,
    COLORS,
    FAIL,
    FAILS,
    HOLDS,
    PARTLY,
    PASS,
    SKIPPED,
    UNCLEAR,
    UNSETTLED,
    UNTESTED,
    VERDICTS,
)

ALL = list(lab.EXPERIMENTS.values())


# --- the registry ----------------------------------------------------------------------------------

def test_the_registry_holds_at_least_45_claims_each_citing_its_lesson():
    assert len(ALL) >= 45
    assert [e.id for e in ALL] == list(range(1, len(ALL) + 1))
    slugs = [e.slug for e in ALL]
    assert len(set(slugs)) == len(slugs)
    for e in ALL:
        assert e.lesson is None or e.lesson in LESSONS, e.slug
        assert e.section and e.claim and e.title
        assert e.fails_with, f"{e.slug} names no setting under which its check fails"
        assert all(r in slugs and r != e.slug for r in e.related), e.slug
        assert 0 < e.seconds[0] <= e.seconds[1]
    assert sum(e.lesson is not None for e in ALL) >= 40
    beyond = [e.slug for e in ALL if e.lesson is None]
    assert beyond == [e.slug for e in ALL[-len(beyond):]], "our own claims come after the lessons'"


def test_the_claims_the_lessons_make_are_all_there():
    wanted = {"init-test-50", "memory-table", "n01-variance-1e12", "layernorm-rmsnorm", "batchnorm-modes",
              "inverted-dropout", "mnist-deep-diagnostics", "gelu-silu-minima", "half-zero",
              "relu-100-layers",
              "tanh-saturation", "lr-range-sgd", "lr-range-adam", "diverging-by-step-2",
              "quadrant-first-loss",
              "noisy-xor-plateau", "param-count-131", "param-count-33", "ffn-width", "blob-first-loss",
              "normal-init-blobs", "lr-too-high", "lr-too-low", "width-one", "tanh-vs-relu", "xor-2-4-1",
              "three-backends", "backprop-2x", "batch-mean", "bug-table", "weight-decay-overfitting",
              "mnist-95"}
    assert wanted <= {e.slug for e in ALL}
    assert {e.lesson for e in ALL} >= set(LESSONS)


def test_an_experiment_is_found_by_number_or_name():
    first = ALL[0]
    assert lab.get(first.id) is first and lab.get(f"0{first.id}") is first and lab.get(first.slug) is first
    with pytest.raises(KeyError, match=r"valid: 1 \(linear-collapse\), 2 "):
        lab.get("no-such-thing")


def test_a_registration_without_a_failing_setting_is_refused():
    from handgrad.lab.registry import experiment
    with pytest.raises(ValueError, match="names no setting"):
        experiment("x", "x", claim="c", lesson=None, section="s", seconds=(1, 1), fails_with={})
    with pytest.raises(ValueError, match="unknown lesson"):
        experiment("x", "x", claim="c", lesson="nope", section="s", seconds=(1, 1), fails_with={"k": {}})


# --- checks and verdicts ---------------------------------------------------------------------------

def test_a_number_is_held_to_its_threshold_with_a_distance():
    c = at_most("k", "small", 1e-8, 1e-6, log=True)
    assert c.outcome == PASS and c.distance == pytest.approx(2.0) and c.distance_text == "+2 decades"
    c = at_least("k", "big", 0.9, 1.0)
    assert c.outcome == FAIL and c.distance == pytest.approx(-0.1)
    assert near("k", "about 1.10", 1.2, 1.1, 0.1).outcome == PASS
    assert near("k", "about 1.10", 1.25, 1.1, 0.1).outcome == FAIL
    assert between("k", "band", math.nan, 0, 1).outcome == FAIL       # a run that diverged
    assert between("k", "band", math.nan, 0, 1).distance == -math.inf


def test_a_sample_passes_only_when_its_whole_interval_clears_the_threshold():
    tight = Sample([1.20, 1.21, 1.19, 1.20, 1.22])
    wide = Sample([0.2, 2.0, 1.5, 0.9, 2.2])
    assert at_least("k", "above 1", tight, 1.0).outcome == PASS
    assert at_least("k", "above 1", wide, 1.0).outcome == UNCLEAR
    assert at_least("k", "above 3", wide, 3.0).outcome == FAIL
    c = at_least("k", "above 1", tight, 1.0)
    assert c.effect == pytest.approx((tight.mean - 1.0) / tight.sd)
    assert c.stats["n"] == 5 and c.stats["ci95"][0] > 1.0


def test_student_t_and_wilson_give_the_textbook_numbers():
    assert t975(1) == 12.706 and t975(4) == 2.776 and t975(30) == 2.042
    assert t975(120) == pytest.approx(1.980, abs=2e-3)
    s = Sample([1.0, 2.0, 3.0, 4.0, 5.0])
    assert s.mean == 3.0 and s.sd == pytest.approx(math.sqrt(2.5))
    lo, hi = s.interval
    assert hi - 3.0 == pytest.approx(2.776 * math.sqrt(2.5) / math.sqrt(5))
    lo, hi = wilson(8, 10)
    assert (round(lo, 3), round(hi, 3)) == (0.490, 0.943)
    assert Share([True] * 10).interval[0] == pytest.approx(0.722, abs=1e-3)
    g = Sample([1e-3, 1e-1], log=True)
    assert g.mean == pytest.approx(1e-2)


def test_the_verdict_follows_from_the_checks_alone():
    ok, bad = at_most("a", "a", 0, 1), at_most("b", "b", 2, 1)
    rescue = at_most("b", "b under a variant", 0, 1, variant="v")
    unsure = at_least("c", "c", Sample([0.5, 2.0, 1.4, 0.8, 1.9]), 1.0)
    assert verdict_of([ok]) == HOLDS
    assert verdict_of([ok, bad]) == PARTLY
    assert verdict_of([bad]) == FAILS
    assert verdict_of([bad, rescue]) == AS_STATED
    assert verdict_of([ok, bad, rescue]) == AS_STATED
    assert verdict_of([unsure]) == UNSETTLED
    assert verdict_of([ok, unsure]) == PARTLY
    assert verdict_of([not_here("x", "speed on a Mac", "no Mac here")]) == UNTESTED
    assert verdict_of([ok, not_here("x", "speed", "no Mac")]) == HOLDS
    assert verdict_of([fact("f", "raises", "it did", True)]) == HOLDS
    assert Result(checks=[ok], skipped="no MNIST").verdict == SKIPPED


def test_every_verdict_has_a_word_and_a_colour():
    assert set(COLORS) == set(VERDICTS)
    assert all(v.replace(" ", "").isalpha() for v in VERDICTS)      # words, no symbol needing a font


# --- the FLOP counter ------------------------------------------------------------------------------

def test_the_flop_counter_counts_what_runs():
    tally = Tally()
    x = counted(np.ones((4, 3)), tally)
    y = x @ np.ones((3, 5))                       # 2·4·3·5 = 120
    assert tally.by_kind["matmul"] == 120
    z = np.maximum(y, 0) + 1                      # 20 + 20
    assert tally.by_kind["elementwise"] == 40
    z.sum(axis=0)                                 # 20 − 5
    assert tally.by_kind["reduce"] == 15
    assert isinstance(z, type(x)) and tally.total == 175


def test_a_layer_that_skips_its_input_gradient_is_not_charged_for_it():
    from handgrad.lab.primitives import counted_flops
    fwd, bwd = counted_flops([4, 8, 3], batch=2, seed=0)
    fwd2, bwd2 = counted_flops([4, 8, 3], batch=2, seed=0, first_input_grad=True)
    assert fwd == fwd2 and bwd2 - bwd == 2 * 2 * 8 * 4    # exactly the product dL/dX = δ W


# --- training through handgrad.train ---------------------------------------------------------------

def test_the_lab_trains_through_the_one_loop_and_keeps_the_last_short_batch():
    X, y = lesson_quadrants(0)                             # 1,000 points: 15 batches of 64 and one of 40
    w = fit(MLP([2, 16, 4], seed=0), X, y, batch_size=64, epochs=1)
    assert len(w.losses) == 16 and w.history is not None and len(w.history) == 1
    w = fit(MLP([2, 16, 4], seed=0), X, y, batch_size=64, steps=20, X_eval=X, y_eval=y, every=10)
    assert w.eval_steps == [0, 10,
                            20]                     # numbers at step 20 exactly, though the epoch runs on


def test_the_lessons_datasets_follow_their_recipes():
    X, y = lesson_blobs(0)
    assert X.shape == (1024, 4) and set(np.unique(y)) == {0, 1, 2}
    X, y = lesson_quadrants(0)
    assert X.shape == (1000, 2) and np.all(y[(X[:, 0] > 0) & (X[:, 1] > 0)] == 0)
    assert abs(float(X.std()) - 1) < 0.1                   # a unit Gaussian, as lesson 2 draws it


# --- cheap experiments, run for real ---------------------------------------------------------------

def test_the_spec_memory_table_is_wrong_by_128_weights():
    r = lab.run_one("memory-table", draw=False)
    assert r.measurements["weights"] == 784 * 256 + 256 * 128 + 128 * 10 == 234752
    assert r.measurements["gradients"] == 234752 + 394
    assert r.verdict == PARTLY
    assert {c.key for c in r.wrong()} == {"weights", "gradients"}
    assert "234,624" in r.wrong()[0].says


def test_softmax_numbers_are_the_lessons():
    r = lab.run_one("softmax-stable", draw=False)
    assert r.verdict == HOLDS
    np.testing.assert_allclose(r.measurements["stable"], [0.66524096, 0.24472847, 0.09003057], rtol=1e-7)
    assert r.measurements["naive_breaks_at[float64]"] == pytest.approx(710, abs=1)


def test_parameter_counts_are_counted_from_the_arrays():
    assert lab.run_one("param-count-131", draw=False).measurements["parameters"] == 131
    assert lab.run_one("param-count-33", draw=False).measurements["parameters"] == 33
    assert lab.run_one("param-count-131", draw=False, sizes=(4, 16, 4)).verdict == FAILS


def test_ffn_width_says_where_lesson_1_is_wrong():
    r = lab.run_one("ffn-width", draw=False)
    assert r.measurements["llama7b_ffn_hidden"] == 11008
    assert r.verdict == PARTLY and {c.key for c in r.wrong()} == {"width-16384", "params-200m"}


# --- missing data: skipped, with the whole reason ------------------------------------------------

@pytest.fixture
def no_mnist(tmp_path, monkeypatch):
    monkeypatch.setenv("HANDGRAD_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path))


def test_without_mnist_a_claim_is_skipped_never_measured_on_other_data(no_mnist):
    for quick in (True, False):
        r = lab.run_one("mnist-first-loss", quick=quick, draw=False)
        assert r.verdict == SKIPPED and not r.checks
        assert r.skipped.startswith("needs MNIST, which was not found") and "HANDGRAD_DATA" in r.skipped
        assert r.skipped.endswith("a folder holding a 'mnist' folder.")   # whole, said once
        assert r.skipped.count("HANDGRAD_DATA") == 1 and "\n" not in r.skipped


def test_quick_leaves_the_longest_mnist_runs_to_the_full_run():
    r = lab.run_one("mnist-deep-diagnostics", quick=True, draw=False)
    assert r.verdict == SKIPPED and r.skipped.startswith("--quick leaves it to the full run: 10 epochs")
    assert r.skipped.endswith("Run it without --quick to measure it.")


# --- the report ----------------------------------------------------------------------------------

def test_the_report_opens_each_claim_with_three_sentences_and_folds_the_numbers(tmp_path):
    pytest.importorskip("matplotlib")
    results = lab.run(["softmax-stable", "memory-table"], out=tmp_path)
    md = (tmp_path / "report.md").read_text()
    page = (tmp_path / "report.html").read_text()
    data = json.loads((tmp_path / "results.json").read_text())
    for r in results:
        assert r.images
        for name in r.images:
            png = tmp_path / r.image_name(name)
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert f"]({png.name})" in md and f'src="{png.name}"' in page
        assert r.citation in md
    for text in (md, page):
        assert text.count("The lesson says:") == 2 and text.count("We measured:") == 2 and "Why:" in text
        assert text.count("<details") == 2
        assert "Where a lesson is wrong" in text and "234,624" in text and "234,752" in text
    assert "holds partly" in page and COLORS[PARTLY] in page                # words and colour
    assert "http" not in page.split("</style>")[0] and "<script" not in page  # nothing outside the folder
    assert data["claims"] == 2 and data["from_the_lessons"] == 2
    assert data["lesson_is_wrong"][0]["slug"] == "memory-table"
    assert data["results"][0]["checks"][0]["distance_text"]
    assert data["results"][0]["citation"].startswith("Lesson 2, ")


def test_related_claims_are_linked():
    pytest.importorskip("matplotlib")
    from handgrad.lab.render import result_markdown
    r = lab.run_one("param-count-131", draw=False)
    md = result_markdown(r, {"param-count-33": "The 2 → 8 → 1 network has 33 parameters"})
    assert "Related: [The 2 → 8 → 1 network has 33 parameters](#param-count-33)" in md


# --- the command line --------------------------------------------------------------------------------

def test_lab_list_names_every_experiment_and_its_lesson(monkeypatch):
    result = CliRunner().invoke(lab_command, ["list"])
    assert result.exit_code == 0
    for e in ALL:
        assert e.slug in result.output
    assert "Lesson 4, “From the perceptron to the MLP”" in result.output
    assert "matplotlib" not in result.output                 # installed: nothing to say
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name,
                        *a: None if name == "matplotlib" else real(name, *a))
    result = CliRunner().invoke(lab_command, ["list"])
    assert "The pictures need matplotlib, which is not installed" in result.output


def test_lab_run_an_unknown_id_lists_the_valid_ones():
    result = CliRunner().invoke(lab_command, ["run", "99"])
    assert result.exit_code == 2
    assert "no experiment '99'; valid: 1 (linear-collapse)" in result.output
    assert "Traceback" not in result.output


def test_an_unwritable_report_folder_is_refused_before_anything_runs(tmp_path, monkeypatch):
    called = []
    monkeypatch.setattr("handgrad.lab.commands.run", lambda *a, **k: called.append(1))
    a_file = tmp_path / "report.md"
    a_file.write_text("keep me")
    result = CliRunner().invoke(lab_command, ["run", "softmax-stable", "--out", str(a_file)])
    assert result.exit_code == 1 and not called
    assert result.output.strip().splitlines() == [f"Error: cannot write the report to {a_file}: it is a "
                                                  f"file, "
                                                  "not a folder"]
    assert a_file.read_text() == "keep me"
    if os.geteuid() != 0:                                    # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        result = CliRunner().invoke(lab_command, ["all", "--out", str(locked)])
        assert result.exit_code == 1 and not called
        assert "cannot write the report to" in result.output and "Permission denied" in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_lab_run_prints_the_numbers_and_writes_the_report(tmp_path):
    pytest.importorskip("matplotlib")
    result = CliRunner().invoke(lab_command, ["run", "softmax-stable", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "verdict: HOLDS" in result.output and "0.6652" in result.output
    assert "1 claim (1 from the lessons, 0 of our own): 1 holds." in result.output
    assert (tmp_path / "report.html").is_file()


def test_lab_run_reports_an_experiment_that_breaks_in_one_line(tmp_path, monkeypatch):
    def broken(**kw):
        raise RuntimeError("something inside went wrong")

    e = lab.get("softmax-stable")
    monkeypatch.setattr(e, "function", broken)
    result = CliRunner().invoke(lab_command, ["run", "softmax-stable", "--out", str(tmp_path)])
    assert result.exit_code == 1
    expected = f"Error: 1 experiment(s) could not run: {e.id} (RuntimeError: something inside went wrong"
    assert expected in result.output
    assert "Traceback" not in result.output
