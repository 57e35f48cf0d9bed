"""A learner's code runs in a process of its own: whatever it does — a syntax error, an
endless loop, sys.exit, a segfault, a 50 GB allocation — the checker ends with one clear line.
When grading, the stricter sandbox refuses files outside the workspace, the network and new
processes, with bubblewrap where it works."""

import os
import sys

import pytest

from handgrad.learn.checking import BLOCKED, CRASHED, FAILED, PASSED, SYNTAX, TIMEOUT, run_check
from handgrad.learn.exercises import all_exercises, get
from handgrad.learn.runtime import Limits, bwrap_problem

RELU = get("relu")
GOOD_GRAD = "def relu_grad(z):\n    return (z > 0).astype(float)\n"


def relu_file(tmp_path, body):
    """An exercise file whose relu is ``body`` (indented into the function) and whose
    relu_grad is right."""
    text = ("import numpy as np\n\n\ndef relu(z):\n"
            + "".join(f"    {line}\n" for line in body.splitlines()) + "\n\n" + GOOD_GRAD)
    path = tmp_path / RELU.file_name
    path.write_text(text)
    return path


CASES = [
    ("return np.maximum(z, 0.0", SYNTAX, ["does not parse", "02-relu.py, line 5", "^"]),
    ("while True:\n    pass", TIMEOUT, ["ran for more than 1.5 s", "relu(array (2, 5))"]),
    ("import sys\nsys.exit(3)", CRASHED, ["your code called sys.exit(3) in relu(", "line 6"]),
    ("import os\nos._exit(4)", CRASHED, ["exited with status 4"]),
    ("import ctypes\nctypes.string_at(0)", CRASHED, ["segmentation fault (SIGSEGV)",
                                                     "02-relu.py, line 6"]),
    ("return np.ones(50_000_000_000 // 8)", FAILED, ["ran out of memory", "limit is 2048 MiB"]),
    ("raise ValueError('boom')", FAILED, ["relu(array (2, 5)) raised ValueError: boom",
                                          "at 02-relu.py, line 5"]),
    ("print('looking at', z.shape)\nreturn z", FAILED, ["relu(z) for z with zeros",
                                                        "your code printed", "looking at (2, 5)"]),
    ("import os\nos.system('true')\nreturn z", BLOCKED, ["tried to start another process"]),
]


@pytest.mark.parametrize("body, status, phrases", CASES, ids=[c[0][:24] for c in CASES])
def test_whatever_the_code_does_the_checker_answers_in_one_verdict(tmp_path, body, status, phrases):
    verdict = run_check(RELU, relu_file(tmp_path, body), limits=Limits(seconds=1.5))
    assert verdict.status == status, verdict.report()
    report = verdict.report()
    for phrase in phrases:
        assert phrase in report, (phrase, report)
    assert "Traceback" not in report


def test_a_missing_function_is_named(tmp_path):
    path = tmp_path / RELU.file_name
    path.write_text("import numpy as np\n\n\ndef relu(z):\n    return np.maximum(z, 0.0)\n")
    verdict = run_check(RELU, path)
    assert verdict.mistake == "missing" and "defines no relu_grad" in verdict.message


def test_input_reads_an_empty_stdin_and_the_checker_survives(tmp_path):
    verdict = run_check(RELU, relu_file(tmp_path, "input()\nreturn z"), limits=Limits(seconds=3))
    assert verdict.status == FAILED and "EOFError" in verdict.message


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("ex", all_exercises(), ids=[ex.id for ex in all_exercises()])
def test_in_its_own_process_too(ex, tmp_path):
    """The same verdicts when the code runs in its own process (as `handgrad learn check`)."""
    path = tmp_path / ex.file_name
    path.write_text(ex.solution_text())
    verdict = run_check(ex, path)
    assert verdict.status == PASSED, verdict.report()
    for wrong in ex.wrongs:
        path.write_text(ex.wrong_text(wrong))
        verdict = run_check(ex, path, ignore_marker=True)
        assert verdict.mistake == wrong.mistake, (wrong.mistake, verdict.report())


def test_a_file_saved_twice_in_a_second_at_the_same_size_is_read_again(tmp_path):
    """No stale bytecode: the checker compiles the file it is given, every time."""
    ex = get("softmax-stable")
    path = tmp_path / ex.file_name
    path.write_text(ex.solution_text())
    assert run_check(ex, path).status == PASSED
    wrong = ex.wrong_text(next(w for w in ex.wrongs if w.mistake == "choice-b"))
    assert len(wrong) == len(ex.solution_text())
    path.write_text(wrong)
    assert run_check(ex, path, ignore_marker=True).mistake == "choice-b"


HOSTILE = {
    "read": "open({target!r}).read()",
    "list": "import os\nos.listdir({parent!r})",
    "write": "open({outside!r}, 'w').write('x')",
    "network": "import socket\nsocket.create_connection(('127.0.0.1', 9))",
    "handgrad": "import handgrad.learn.exercises.by_hand",
    "fork": "import os\nwhile True:\n    os.fork()",
}


def hostile_file(tmp_path, what, other):
    ws = tmp_path / "mallory"
    ws.mkdir()
    code = HOSTILE[what].format(target=str(other), parent=str(other.parent),
                                outside=str(tmp_path / "escaped.txt"))
    return relu_file(ws, code + "\nreturn np.maximum(z, 0.0)")


@pytest.mark.parametrize("use_bwrap", [False, True], ids=["audit-hook", "bubblewrap"])
@pytest.mark.parametrize("what", [pytest.param(w, marks=[] if w == "read" else [pytest.mark.slow])
                                  for w in HOSTILE])
def test_a_submission_gets_nothing_outside_its_workspace(tmp_path, what, use_bwrap):
    if use_bwrap and bwrap_problem():
        pytest.skip(f"{bwrap_problem()} (Debian: apt-get install bubblewrap)")
    other = tmp_path / "bob" / RELU.file_name
    other.parent.mkdir()
    other.write_text("# bob's answer\n")
    path = hostile_file(tmp_path, what, other)
    verdict = run_check(RELU, path, sandbox=True, bwrap=use_bwrap, ignore_marker=True,
                        limits=Limits(seconds=5))
    assert verdict.status == BLOCKED, verdict.report()
    assert "blocked" in verdict.message and "no marks" in verdict.message
    assert not (tmp_path / "escaped.txt").exists()
    assert other.read_text() == "# bob's answer\n"


@pytest.mark.slow
def test_bubblewrap_hides_handgrad_other_workspaces_and_home_from_what_the_hook_misses(tmp_path):
    """os.path.exists raises no audit event, so only bubblewrap stands between it and the
    file system: handgrad's source, another workspace and the home folder are not there."""
    if bwrap_problem():
        pytest.skip(f"{bwrap_problem()} (Debian: apt-get install bubblewrap)")
    other = tmp_path / "bob" / RELU.file_name
    other.parent.mkdir()
    other.write_text("# bob's answer\n")
    package = os.path.dirname(sys.modules["handgrad"].__file__)
    probe = ("import os\n"
             f"seen = [os.path.exists({package!r}), os.path.exists({str(other)!r}),\n"
             "        os.path.exists(os.path.expanduser('~/.bashrc'))]\n"
             "assert seen == [False, False, False], seen\n"
             "return np.maximum(z, 0.0)")
    ws = tmp_path / "carol"
    ws.mkdir()
    verdict = run_check(RELU, relu_file(ws, probe), sandbox=True, bwrap=True, ignore_marker=True)
    assert verdict.status == PASSED, verdict.report()
