"""``handgrad learn`` as a learner uses it: init, list, check, hint, solution, reset — and what
they say when something is wrong."""

import json

import pytest
from click.testing import CliRunner

from handgrad.cli import main
from handgrad.learn.exercises import all_exercises, get
from handgrad.learn.registry import MARKER
from handgrad.learn.workspace import STATE


@pytest.fixture
def ws(tmp_path, monkeypatch):
    root = tmp_path / "ex"
    result = CliRunner().invoke(main, ["learn", "init", str(root)])
    assert result.exit_code == 0, result.output
    monkeypatch.chdir(root)
    return root


def learn(*args):
    return CliRunner().invoke(main, ["learn", *args])


def test_init_writes_every_exercise_and_never_overwrites(ws):
    assert len(list(ws.glob("[0-9][0-9]-*.py"))) == len(all_exercises())
    assert (ws / "README.md").is_file() and (ws / STATE).is_file()
    mine = ws / get("relu").file_name
    mine.write_text("my own work\n")
    (ws / get("tanh").file_name).unlink()
    result = learn("init", str(ws))
    assert result.exit_code == 0 and f"{len(all_exercises()) - 1} of them kept" in result.output
    assert mine.read_text() == "my own work\n"
    assert (ws / get("tanh").file_name).read_text() == get("tanh").file_text()


def test_check_exits_0_on_a_pass_and_1_otherwise_and_remembers(ws):
    ex = get("relu")
    result = learn("check", "relu")
    assert result.exit_code == 1 and "not done yet" in result.output
    (ws / ex.file_name).write_text(ex.solution_text())
    result = learn("check", "2")
    assert result.exit_code == 0 and "passed" in result.output
    state = json.loads((ws / STATE).read_text())
    assert "relu" in state["done"]
    assert "✓  2 relu" in learn("list").output
    (ws / ex.file_name).write_text(ex.solution_text() + "\n# changed\n")
    assert "~  2 relu" in learn("list").output


def test_hints_come_one_at_a_time(ws):
    ex = get("softmax-stable")
    first = learn("hint", ex.id).output
    assert "Hint 1 of" in first and "Hint 2" not in first
    second = learn("hint", ex.id).output
    assert "Hint 1 of" in second and "Hint 2 of" in second
    for _ in ex.hints:
        last = learn("hint", ex.id).output
    assert "that was the last hint" in last


def test_the_solution_waits_for_a_pass_or_force_and_keeps_yours(ws):
    ex = get("bias-gradient")
    result = learn("solution", ex.id)
    assert result.exit_code == 1 and "stays hidden" in result.output
    mine = ws / ex.file_name
    mine.write_text(mine.read_text().replace("    ...", "    return delta.sum(axis=0) * 2"))
    result = learn("solution", ex.id, "--force")
    assert result.exit_code == 0 and "13-bias-gradient.mine.py" in result.output
    assert "delta.sum(axis=0) * 2" in (ws / "13-bias-gradient.mine.py").read_text()
    assert MARKER not in mine.read_text()
    result = learn("solution", ex.id)
    assert result.exit_code == 0 and "return delta.sum(axis=0)" in result.output


def test_reset_brings_the_template_back_and_keeps_yours(ws):
    ex = get("relu")
    (ws / ex.file_name).write_text("attempt 1\n")
    assert learn("reset", "relu").exit_code == 0
    (ws / ex.file_name).write_text("attempt 2\n")
    result = learn("reset", "relu")
    assert "02-relu.mine-2.py" in result.output
    assert (ws / "02-relu.mine.py").read_text() == "attempt 1\n"
    assert (ws / "02-relu.mine-2.py").read_text() == "attempt 2\n"
    assert (ws / ex.file_name).read_text() == ex.file_text()


def test_wrong_input_ends_in_one_line(tmp_path, monkeypatch, ws):
    result = learn("check", "softmx")
    assert result.exit_code == 2 and "did you mean softmax-stable" in result.output
    result = learn("check")
    assert result.exit_code == 2 and "--all" in result.output
    monkeypatch.chdir(tmp_path)
    result = learn("list")
    assert result.exit_code == 1 and "no handgrad learn workspace here" in result.output
    assert "Traceback" not in result.output
    result = learn("grade", str(tmp_path / "nowhere"))
    assert result.exit_code == 1 and "is not a folder of submissions" in result.output
    (tmp_path / "afile").write_text("x")
    result = learn("init", str(tmp_path / "afile"))
    assert result.exit_code == 2 and "is a file" in result.output


def test_a_broken_state_file_is_kept_and_progress_starts_again(ws):
    (ws / STATE).write_text("{ not json")
    result = learn("list")
    assert result.exit_code == 0 and "could not be read" in result.output
    assert (ws / (STATE + ".broken")).read_text() == "{ not json"


def test_the_hints_name_the_command_the_learner_started(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HANDGRAD_PROG", "./run.sh")            # as run.sh sets it
    result = learn("init", "ws")
    assert result.exit_code == 0 and "next: cd ws && ../run.sh learn" in result.output
    monkeypatch.chdir(tmp_path / "ws")
    monkeypatch.setenv("HANDGRAD_PROG", "../run.sh")
    result = learn("solution", "relu")
    assert result.exit_code == 1 and "`../run.sh learn hint relu` gives a hint" in result.output
