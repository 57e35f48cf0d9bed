"""The exercises and their checker: over every exercise, our solution passes, the untouched
template is "not done", and every known-wrong solution is rejected naming its mistake.

Exercises that train or measure at check time (``heavy``) carry the slow mark; the rest run
in the quick loop, in this process. tests/test_learn_isolation.py runs them in the learner's
own process, as ``handgrad learn check`` does.
"""

from pathlib import Path

import numpy as np
import pytest

from handgrad.learn import check
from handgrad.learn.checking import (
    MISSING,
    NOT_DONE,
    PASSED,
    Fail,
    Mistake,
    run_check,
    same,
    untouched,
)
from handgrad.learn.exercises import LESSONS, all_exercises, get
from handgrad.learn.registry import MARKER

EXERCISES = all_exercises()


def marked(ex):
    return pytest.param(ex, id=ex.id, marks=[pytest.mark.slow] if ex.heavy else [])


def write(tmp_path, ex, text):
    path = tmp_path / ex.file_name
    path.write_text(text)
    return path


def test_there_are_enough_exercises_in_the_order_of_the_lessons():
    assert len(EXERCISES) >= 30
    assert [ex.number for ex in EXERCISES] == list(range(1, len(EXERCISES) + 1))
    lessons = [LESSONS.index(ex.lesson) for ex in EXERCISES]
    assert lessons == sorted(lessons) and set(lessons) == set(range(len(LESSONS)))
    assert len({ex.id for ex in EXERCISES}) == len(EXERCISES)


def test_every_topic_of_the_lessons_has_an_exercise():
    ids = {ex.id for ex in EXERCISES}
    for topic in ("mlp-forward-points", "relu", "leaky-relu", "sigmoid", "tanh", "gelu", "silu",
                  "softmax-stable", "cross-entropy", "ce-gradient", "mse", "backward-pass",
                  "deeper-net", "he-init", "bias-gradient", "sgd-step", "momentum", "adam", "adamw",
                  "dropout", "batchnorm", "layernorm", "perceptron", "value-engine", "gradcheck",
                  "bug-quiz", "bug-fix", "predict-lr-5", "predict-lr-1e-5", "predict-width-1",
                  "predict-normal-init", "recall-by-hand"):
        assert topic in ids


@pytest.mark.parametrize("ex", EXERCISES, ids=[ex.id for ex in EXERCISES])
def test_every_exercise_is_complete(ex):
    assert len(ex.wrongs) >= 2, "at least two known-wrong solutions"
    assert len(ex.hints) >= 3, "hints from a nudge to nearly the answer"
    assert ex.statement.strip() and ex.names()
    assert MARKER in ex.file_text() and MARKER not in ex.solution_text()
    assert ex.file_text().startswith(f'"""{ex.number:02d} · {ex.title}')
    assert untouched(ex.file_text(), ex.file_text())
    for wrong in ex.wrongs:                      # each edit matches the solution exactly once
        assert ex.wrong_text(wrong) != ex.solution_text()
    compile(ex.solution_text(), ex.file_name, "exec")
    compile(ex.file_text(), ex.file_name, "exec")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # known-wrong solutions overflow on purpose
@pytest.mark.parametrize("ex", [marked(ex) for ex in EXERCISES])
def test_reference_passes_template_is_not_done_wrongs_are_named(ex, tmp_path):
    verdict = run_check(ex, write(tmp_path, ex, ex.solution_text()), isolated=False)
    assert verdict.status == PASSED, verdict.report()
    verdict = run_check(ex, write(tmp_path, ex, ex.file_text()), isolated=False)
    assert verdict.status == NOT_DONE and "not done yet" in verdict.message
    for wrong in ex.wrongs:
        verdict = run_check(ex, write(tmp_path, ex, ex.wrong_text(wrong)), isolated=False,
                            ignore_marker=True)
        assert verdict.status != PASSED, f"{wrong.mistake} passed"
        assert verdict.mistake == wrong.mistake, (wrong.mistake, verdict.report())


def test_a_passing_file_with_its_marker_left_is_not_done(tmp_path):
    ex = get("relu")
    text = ex.solution_text().replace("import numpy", f"{MARKER}\nimport numpy", 1)
    verdict = run_check(ex, write(tmp_path, ex, text), isolated=False)
    assert verdict.status == NOT_DONE and "Delete the line" in verdict.message


def test_a_missing_file_says_how_to_get_it_back(tmp_path):
    verdict = run_check(get("relu"), tmp_path / "02-relu.py", isolated=False)
    assert verdict.status == MISSING and "handgrad learn reset relu" in verdict.message


def test_exercises_are_found_by_name_number_and_file_name():
    assert get("softmax-stable") is get(8) is get("08") is get("08-softmax-stable.py")
    with pytest.raises(KeyError, match="did you mean softmax-stable"):
        get("softmx")


# --- the comparison and its messages ---------------------------------------------------------

def test_a_wrong_answer_says_shape_first_wrong_entry_and_relative_error():
    with pytest.raises(Fail) as e:
        same(np.array([[1.0, 2.0], [3.0, 5.0]]), np.array([[1.0, 2.0], [3.0, 4.0]]), "f(x)")
    assert "first wrong entry [1, 1]: expected 4, got 5  (shape (2, 2))" in e.value.message
    assert "relative error" in e.value.message
    with pytest.raises(Fail) as e:
        same(np.ones((2, 3)), np.ones((3, 2)), "g(x)")
    assert "expected shape (3, 2), got shape (2, 3)" in e.value.message


def test_a_constant_factor_is_noticed_even_without_a_named_mistake():
    with pytest.raises(Fail) as e:
        same(np.array([2.0, -4.0, 6.0]), np.array([1.0, -2.0, 3.0]), "h")
    assert "2 times the expected one" in e.value.message and e.value.mistake is None


def test_a_named_mistake_is_found_by_its_answer():
    with pytest.raises(Fail) as e:
        same(np.array([3.0, 6.0]), np.array([1.0, 2.0]), "the gradient",
             [Mistake("forgot-batch", np.array([3.0, 6.0]), "B times too large")])
    assert e.value.mistake == "forgot-batch" and "B times too large" in e.value.message


def test_the_gradient_message_names_the_batch_size(tmp_path):
    ex = get("ce-gradient")
    wrong = next(w for w in ex.wrongs if w.mistake == "forgot-batch")
    verdict = run_check(ex, write(tmp_path, ex, ex.wrong_text(wrong)), isolated=False,
                        ignore_marker=True)
    assert "the gradient is B = 6 times too large: did you forget to divide by the batch size?" \
        in verdict.message


# --- from a notebook ------------------------------------------------------------------------

def test_check_from_a_notebook_prints_the_verdict(capsys):
    def relu(z):
        return np.maximum(z, 0.0)

    def relu_grad(z):
        return (z > 0).astype(float)

    verdict = check("relu", relu, relu_grad)
    assert verdict.passed and "passed" in capsys.readouterr().out
    verdict = check("relu", relu, relu_grad=lambda z: (z >= 0).astype(float))
    assert verdict.mistake == "grad-at-zero"
    assert "use z > 0, not z >= 0" in capsys.readouterr().out


def test_check_from_a_notebook_says_how_to_pass_a_missing_answer(capsys):
    def softmax(z):
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    verdict = check("softmax-stable", softmax)
    assert verdict.mistake == "missing"
    assert "NAIVE_AT_1000=…" in capsys.readouterr().out
    assert check("softmax-stable", softmax, NAIVE_AT_1000="a").passed


def test_check_from_a_notebook_reports_an_exception_with_its_line(capsys):
    def relu(z):
        return z.nonexistent()

    verdict = check("relu", relu, lambda z: z)
    assert not verdict.passed
    assert "raised AttributeError" in capsys.readouterr().out


def test_a_learners_input_array_is_a_copy(tmp_path):
    """A learner's function that changes its input in place cannot spoil the checker's data."""
    ex = get("softmax-stable")
    text = ex.solution_text().replace("    z = np.asarray(z, dtype=float)\n",
                                      "    z = np.asarray(z, dtype=float)\n    z -= 0.0\n")
    assert run_check(ex, write(tmp_path, ex, text), isolated=False).passed


def test_paths_of_exercises_in_the_statements_are_relative():
    for ex in EXERCISES:
        text = ex.file_text() + ex.solution_text()
        assert "/work" not in text and "../shared" not in text and "lessons/" not in text


def test_file_names_are_numbered():
    assert get("relu").file_name == "02-relu.py"
    assert Path(get("xor-train").file_name).suffix == ".py"
