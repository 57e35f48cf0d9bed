"""The watch mode as a learner has it: in a terminal (a pseudo-terminal here), with real
saves of the exercise file while it runs, and keys typed at it."""

import json
import sys

import pytest

from handgrad.learn.exercises import get
from handgrad.learn.workspace import STATE, Workspace

pexpect = pytest.importorskip("pexpect", reason="pexpect is not installed (pip install pexpect)")


def spawn(root, *args):
    return pexpect.spawn(sys.executable, ["-m", "handgrad", "learn", *args], cwd=str(root),
                         encoding="utf-8", timeout=60, dimensions=(60, 140))


@pytest.mark.slow
def test_watch_checks_on_save_gives_hints_lists_and_moves_on(tmp_path):
    root = tmp_path / "ws"
    Workspace.create(root)
    first, second = get("linear-layer"), get("relu")
    child = spawn(root)
    child.expect("01 · linear-layer")
    child.expect("not done yet")
    child.expect(r"q quit")

    child.send("h")
    child.expect("Hint 1 of 3")
    child.send("h")
    child.expect("Hint 2 of 3")
    child.send("l")
    child.expect("softmax-stable")
    child.expect("any key goes back")
    child.send("x")
    child.expect("not done yet")

    path = root / first.file_name                      # a wrong answer, saved while it runs
    path.write_text(first.wrong_text(first.wrongs[0]).replace("import numpy", "import numpy", 1))
    child.expect("multiplied by W, not Wᵀ")
    path.write_text(first.solution_text())              # then the right one
    child.expect("linear-layer is done")
    child.expect("02 · relu")
    child.expect(r"\[█")                                # the progress bar moved: 1/…
    child.send("q")
    child.expect("progress is saved")
    child.expect(pexpect.EOF)
    state = json.loads((root / STATE).read_text())
    assert "linear-layer" in state["done"] and state["current"] == "relu"
    assert state["hints"]["linear-layer"] == 2

    child = spawn(root)                                  # a restart picks up at relu
    child.expect("02 · relu")
    child.expect("not done yet")
    (root / second.file_name).write_text(second.solution_text())
    child.expect("relu is done")
    child.expect("03 · leaky-relu")
    child.send("p")
    child.expect("02 · relu")
    child.sendcontrol("c")
    child.expect("progress is saved")
    child.expect(pexpect.EOF)


@pytest.mark.slow
def test_watch_starts_anywhere_and_says_when_everything_is_done(tmp_path):
    root = tmp_path / "ws"
    ws, _, _ = Workspace.create(root)
    last = get("xor-train")
    for ex in ws_exercises_but(last):
        ws.state["done"][ex.id] = None
    import hashlib
    for ex in ws_exercises_but(last):
        (root / ex.file_name).write_text(ex.solution_text())
        ws.state["done"][ex.id] = hashlib.sha256((root / ex.file_name).read_bytes()).hexdigest()
    ws.save()
    child = spawn(root, "--start", "relu")
    child.expect("02 · relu")                        # started where asked, although it is done
    child.send("n")
    child.expect("03 · leaky-relu")
    child.send("q")
    child.expect(pexpect.EOF)
    child = spawn(root)
    child.expect(f"{last.number} · xor-train")
    (root / last.file_name).write_text(last.solution_text())
    child.expect("All 43 exercises are done", timeout=120)
    child.expect(pexpect.EOF)


def ws_exercises_but(last):
    from handgrad.learn.exercises import all_exercises
    return [ex for ex in all_exercises() if ex is not last]
