"""run.sh, the README's entry point: handgrad's commands run where the user calls them from
(so `cd ws && ../run.sh learn` finds the workspace), the test suite in the repository, and the
hints print the path run.sh was called by. Tried on a copy of run.sh whose .venv holds
stand-ins that print where they ran."""

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from handgrad.invocation import prog, prog_from

ROOT = Path(__file__).resolve().parents[1]
SAYS_WHERE = '#!/bin/sh\necho "$PWD|$HANDGRAD_PROG|$*"\n'


@pytest.fixture
def repo(tmp_path):
    """A copy of run.sh beside a pyproject.toml and a .venv that is already set up."""
    repo = tmp_path / "repo"
    (repo / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(ROOT / "run.sh", repo / "run.sh")
    (repo / "pyproject.toml").write_text("[project]\nname = 'stand-in'\n")
    digest = hashlib.sha256((repo / "pyproject.toml").read_bytes()).hexdigest()[:16]
    (repo / ".venv" / f".installed-{digest}").touch()
    for tool in ("handgrad", "python"):
        (repo / ".venv" / "bin" / tool).write_text(SAYS_WHERE)
        (repo / ".venv" / "bin" / tool).chmod(0o755)
    (repo / "ws").mkdir()
    return repo


def run(cwd, *args):
    out = subprocess.run(["bash", *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)})
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().split("|")


def test_handgrads_commands_run_in_the_callers_folder(repo):
    where, called_as, args = run(repo / "ws", "../run.sh", "learn", "list")
    assert Path(where) == repo / "ws" and called_as == "../run.sh" and args == "learn list"
    where, called_as, _ = run(repo, "./run.sh", "train")
    assert Path(where) == repo and called_as == "./run.sh"


def test_the_test_suite_runs_in_the_repository_wherever_it_is_called_from(repo):
    where, _, args = run(repo / "ws", "../run.sh", "test", "-q")
    assert Path(where) == repo and args == "-m pytest -q"


def test_hints_print_the_command_the_user_started(monkeypatch, tmp_path):
    monkeypatch.delenv("HANDGRAD_PROG", raising=False)
    assert prog() == "handgrad" and prog_from(tmp_path) == "handgrad"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ws").mkdir()
    monkeypatch.setenv("HANDGRAD_PROG", "./run.sh")
    assert prog() == "./run.sh" and prog_from("ws") == "../run.sh"
    monkeypatch.setenv("HANDGRAD_PROG", "/opt/handgrad/run.sh")
    assert prog_from("ws") == "/opt/handgrad/run.sh"


def test_help_lists_run_shs_own_commands_then_handgrads(repo):
    out = subprocess.run(["bash", "./run.sh", "--help"], cwd=repo, capture_output=True, text=True,
                         timeout=60, env={"PATH": "/usr/bin:/bin", "HOME": str(repo)})
    lines = out.stdout.strip().splitlines()
    assert out.returncode == 0 and lines[0].startswith("One entry point")
    assert any(line.strip().startswith("./run.sh test") for line in lines)
    assert lines[-1].endswith("|--help")                           # then handgrad's own help
