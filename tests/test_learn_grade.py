"""``handgrad learn grade`` on a class of synthetic workspaces: complete, partial, wrong, an
endless loop, a syntax error, an empty folder — and a hostile submission that tries to read
another student's file, write outside its workspace and fork without end."""

import csv
import json

import pytest
from click.testing import CliRunner

from handgrad.cli import main
from handgrad.learn.exercises import get
from handgrad.learn.grade import grade
from handgrad.learn.runtime import bwrap_problem

ONLY = [get(k) for k in ("linear-layer", "relu", "softmax-stable", "sgd-step")]
IDS = [ex.id for ex in ONLY]


def make_class(root):
    """20 workspaces and the table they must give (student -> status per exercise in ONLY)."""
    expected = {}

    def student(name, files, statuses):
        folder = root / name
        folder.mkdir(parents=True)
        for ex, text in files.items():
            (folder / ex.file_name).write_text(text)
        expected[name] = dict(zip(IDS, statuses))

    for i in range(6):
        student(f"complete-{i}", {ex: ex.solution_text() for ex in ONLY}, ["pass"] * 4)
    for i in range(5):
        files = {ex: ex.solution_text() if j < 2 else ex.file_text() for j, ex in enumerate(ONLY)}
        student(f"partial-{i}", files, ["pass", "pass", "not-done", "not-done"])
    for i, ex in enumerate(ONLY):
        files = {e: e.solution_text() for e in ONLY}
        files[ex] = ex.wrong_text(ex.wrongs[0])
        statuses = ["pass"] * 4
        statuses[i] = "fail"
        student(f"wrong-{i}", files, statuses)
    loop = {ex: ex.solution_text() for ex in ONLY}
    loop[ONLY[1]] = ONLY[1].solution_text().replace("    return np.maximum(z, 0.0)",
                                                    "    while True:\n        z = z + 1")
    student("endless-loop", loop, ["pass", "timeout", "pass", "pass"])
    broken = {ex: ex.solution_text() for ex in ONLY}
    broken[ONLY[2]] = broken[ONLY[2]].replace("def softmax(z):", "def softmax(z)")
    student("syntax-error", broken, ["pass", "pass", "syntax-error", "pass"])
    student("empty", {}, ["missing"] * 4)
    only_two = {ONLY[0]: ONLY[0].solution_text(), ONLY[3]: ONLY[3].file_text()}
    student("two-files", only_two, ["pass", "missing", "missing", "not-done"])
    student("marker-left", {ex: ex.file_text().split("(delete this line")[0] + "\n"
                            + ex.solution_text().split('"""\n', 1)[1] for ex in ONLY},
            ["pass"] * 4)
    assert len(expected) == 20
    return expected


def read_table(path):
    with open(path, newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


@pytest.mark.slow
def test_grading_twenty_workspaces_gives_the_expected_table(tmp_path):
    # 6 s per check: a correct one takes well under a second, even on a busy machine
    root = tmp_path / "submissions"
    expected = make_class(root)
    out, js = tmp_path / "grades.csv", tmp_path / "grades.json"
    summary = grade(root, out, js, only=ONLY, seconds=6, progress=False, log=lambda m: None)
    table = read_table(out)
    assert list(table) == sorted(expected)
    for name, statuses in expected.items():
        assert {k: table[name][k] for k in IDS} == statuses, name
        assert int(table[name]["passed"]) == list(statuses.values()).count("pass")
        assert table[name]["total"] == "4" and table[name]["flags"] == ""
    data = json.loads(js.read_text())
    assert data["exercises"] == IDS
    loop = data["students"]["endless-loop"]["results"]["relu"]
    assert loop["status"] == "timeout" and "ran for more than 6 s" in loop["message"]
    assert "line" in data["students"]["syntax-error"]["results"]["softmax-stable"]["message"]
    wrong = data["students"]["wrong-0"]["results"]["linear-layer"]
    assert wrong["mistake"] == ONLY[0].wrongs[0].mistake
    assert summary["workspaces"] == 20 and summary["median_passed"] == 3
    assert summary["statuses"]["timeout"] == 1


HOSTILE = """import os
import numpy as np


def linear(x, W, b):
    for attempt in (lambda: open({bob!r}).read(),
                    lambda: open("../bob/01-linear-layer.py").read(),
                    lambda: open({outside!r}, "w").write("escaped"),
                    lambda: open("../../escaped.txt", "w").write("escaped"),
                    lambda: [os.fork() for _ in range(1000)]):
        try:
            attempt()
        except Exception:
            pass
    return x @ W.T + b
"""


@pytest.mark.slow
@pytest.mark.parametrize("use_bwrap", [True, False], ids=["bubblewrap", "audit-hook"])
def test_a_hostile_submission_gets_nothing_and_is_marked_while_the_others_are_graded(
        tmp_path, use_bwrap):
    if use_bwrap and bwrap_problem():
        pytest.skip(f"{bwrap_problem()} (Debian: apt-get install bubblewrap)")
    root = tmp_path / "submissions"
    ex = ONLY[0]
    for name in ("alice", "bob"):
        (root / name).mkdir(parents=True)
        (root / name / ex.file_name).write_text(ex.solution_text())
    (root / "mallory").mkdir()
    bob = root / "bob" / ex.file_name
    (root / "mallory" / ex.file_name).write_text(HOSTILE.format(
        bob=str(bob), outside=str(tmp_path / "escaped.txt")))
    args = ["learn", "grade", str(root), "--out", str(tmp_path / "g.csv"), "--only", ex.id,
            "--quiet"] + ([] if use_bwrap else ["--no-bwrap"])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    table = read_table(tmp_path / "g.csv")
    assert table["alice"][ex.id] == table["bob"][ex.id] == "pass"
    assert table["mallory"][ex.id] == "blocked" and table["mallory"]["passed"] == "0"
    assert "blocked" in table["mallory"]["flags"]
    assert "blocked (a submission tried to reach outside its workspace): mallory" in result.output
    message = json.loads((tmp_path / "g.json").read_text())["students"]["mallory"]["results"][
        ex.id]["message"]
    assert "tried to read" in message and "tried to write" in message
    assert "tried to start another process" in message
    assert not (tmp_path / "escaped.txt").exists() and not (root / "escaped.txt").exists()
    assert bob.read_text() == ex.solution_text()
    if not use_bwrap:
        assert "warning" in result.output and "bubblewrap" in result.output


def test_grading_says_what_it_needs(tmp_path):
    (tmp_path / "nobody").mkdir()
    result = CliRunner().invoke(main, ["learn", "grade", str(tmp_path / "nobody"), "--out",
                                       str(tmp_path / "g.csv")])
    assert result.exit_code == 1 and "holds no student folders" in result.output
    result = CliRunner().invoke(main, ["learn", "grade", str(tmp_path), "--only", "nope"])
    assert result.exit_code == 2 and "unknown exercise 'nope'" in result.output
