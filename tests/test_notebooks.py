"""The lessons as notebooks (notebooks/*.ipynb): committed with their outputs, and still true.

The quick tests read the committed notebooks: one per lesson, each with "predict, then run"
prompts, pictures and no errors in its outputs. The slow tests run every notebook again in a
fresh kernel (nbclient, the `test` extra) and compare the numbers printed by the cells tagged
``numbers`` with the committed ones, within a tolerance (a cell may set its own in its metadata:
``"tolerance": {"rtol": 0.1, "atol": 1e-6}``; a cell that needs an optional package names it,
``"needs": ["torch"]``, and is compared only where that package is installed). A notebook whose
text says "97.62 %" is checked to still print 97.62 %, give or take the tolerance, so the
explanations cannot drift from the code.

To refresh the committed outputs after a change, run the notebook top to bottom in Jupyter and
save it, or: ``jupyter nbconvert --to notebook --execute --inplace notebooks/NAME.ipynb``.
"""

import copy
import importlib.util
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
NEEDS_MNIST = {"06-mnist.ipynb"}
RTOL, ATOL = 0.02, 1e-6
NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?", re.ASCII)


def read(path):
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell):
    return "".join(cell["source"])


def text_of(cell):
    """What a code cell printed: its streams and the plain text of its results."""
    parts = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream" and out.get("name") == "stdout":
            parts.append("".join(out["text"]))
        elif out["output_type"] in ("execute_result", "display_data"):
            data = out.get("data", {})
            if "text/plain" in data and not any(k.startswith("image/") for k in data):
                parts.append("".join(data["text/plain"]))
    return "".join(parts)


def numbers(text):
    """The numbers in a cell's output, with the thousands separators of '234,752' removed."""
    return [float(n) for n in NUMBER.findall(re.sub(r"(?<=\d),(?=\d{3}\b)", "", text))]


def differences(committed_cell, fresh_cell):
    """Where the fresh output of a `numbers` cell disagrees with the committed one."""
    tol = {"rtol": RTOL, "atol": ATOL, **committed_cell.get("metadata", {}).get("tolerance", {})}
    old, new = text_of(committed_cell), text_of(fresh_cell)
    a, b = numbers(old), numbers(new)
    if len(a) != len(b):
        return [f"{len(a)} numbers committed, {len(b)} now:\n--- committed\n{old}\n--- now\n{new}"]
    return [f"{x:g} committed, {y:g} now" for x, y in zip(a, b)
            if not abs(x - y) <= tol["atol"] + tol["rtol"] * abs(x)]


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def tagged(nb):
    return [c for c in code_cells(nb) if "numbers" in c.get("metadata", {}).get("tags", [])]


# --- the committed notebooks ---------------------------------------------------------------------

def test_one_notebook_per_lesson_and_one_for_mnist():
    assert [p.name for p in NOTEBOOKS] == [
        "01-mlp-by-hand.ipynb", "02-primitives.ipynb", "03-the-spec.ipynb",
        "04-perceptron-to-mlp.ipynb", "05-stacking-layers.ipynb", "06-mnist.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_as_a_lesson_reads(path):
    """Outputs committed (so it reads on a code host), no errors, pictures, prompts, numbers."""
    nb = read(path)
    cells = code_cells(nb)
    assert all(c.get("execution_count") for c in cells), "every code cell has been run"
    errors = [o for c in cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors, f"committed outputs hold an error: {errors[0].get('evalue')}"
    assert not [o for c in cells for o in c.get("outputs", [])
                if o["output_type"] == "stream" and o.get("name") == "stderr"], "no warnings"
    assert any("image/png" in o.get("data", {}) for c in cells for o in c.get("outputs", [])), \
        "at least one inline picture"
    markdown = [source(c) for c in nb["cells"] if c["cell_type"] == "markdown"]
    assert sum("**Predict" in m for m in markdown) >= 3, "predict-then-run prompts"
    assert any("## Your turn" in m and "handgrad learn" in m for m in markdown), \
        "ends with the lesson's exercises, pointing to handgrad learn"
    headings = [line for m in markdown for line in m.splitlines() if line.startswith("#")]
    assert not [h for h in headings if "`" in h], \
        "no code in headings: the book's table of contents would link to the wrong anchor"
    checked = tagged(nb)
    assert len(checked) >= 4, "cells whose printed numbers the slow test compares"
    assert all(numbers(text_of(c)) for c in checked), "every `numbers` cell printed numbers"


def test_the_exercises_named_in_the_notebooks_exist():
    """Each lesson's notebook ends with its exercises in `handgrad learn`, by id."""
    from handgrad.learn.exercises import EXERCISES
    for path in NOTEBOOKS:
        if path.name in NEEDS_MNIST:
            continue                                 # its exercise is a command: handgrad train
        turn = next(source(c) for c in read(path)["cells"]
                    if c["cell_type"] == "markdown" and "## Your turn" in source(c))
        named = re.findall(r"^\| `([a-z0-9-]+)` \|", turn, re.MULTILINE)
        assert named, f"{path.name} names no exercise"
        assert not [i for i in named if i not in EXERCISES], f"{path.name}: unknown exercise ids"


def test_the_comparison_catches_a_changed_number():
    cell = {"metadata": {}, "outputs": [{"output_type": "stream", "name": "stdout",
                                         "text": "loss 0.3586, accuracy 80.1% of 1,024 points\n"}]}
    same = copy.deepcopy(cell)
    close = copy.deepcopy(cell)
    close["outputs"][0]["text"] = "loss 0.3590, accuracy 80.2% of 1,024 points\n"
    moved = copy.deepcopy(cell)
    moved["outputs"][0]["text"] = "loss 0.4100, accuracy 80.1% of 1,024 points\n"
    longer = copy.deepcopy(cell)
    longer["outputs"][0]["text"] += "and one more line: 3\n"
    assert numbers(text_of(cell)) == [0.3586, 80.1, 1024.0]
    assert differences(cell, same) == [] and differences(cell, close) == []
    assert differences(cell, moved) == ["0.3586 committed, 0.41 now"]
    assert "3 numbers committed, 4 now" in differences(cell, longer)[0]
    loose = copy.deepcopy(cell)
    loose["metadata"]["tolerance"] = {"rtol": 0.2}
    assert differences(loose, moved) == []


# --- running them again --------------------------------------------------------------------------

def mnist_missing():
    from handgrad.data import find
    try:
        find("mnist", allow_download=False)
        return None
    except FileNotFoundError:
        return "needs MNIST on disk (set HANDGRAD_DATA or put it in ~/.cache/handgrad/mnist)"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_runs_and_its_numbers_still_hold(path, tmp_path, monkeypatch):
    for module, extra in (("nbclient", "test"), ("nbformat", "test"), ("ipykernel", "test"),
                          ("matplotlib", "plot")):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"running the notebooks needs {module}: pip install 'handgrad[{extra}]'")
    if path.name in NEEDS_MNIST and (reason := mnist_missing()):
        pytest.skip(reason)
    import nbclient
    import nbformat

    # One BLAS thread: the notebooks multiply small matrices, where threads only wait on each
    # other (much more so on a busy machine).
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(name, "1")
    committed = read(path)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()                                 # raises CellExecutionError on any error
    fresh = json.loads(nbformat.writes(nb))
    assert any("image/png" in o.get("data", {}) for c in code_cells(fresh) for o in c["outputs"])
    wrong = {}
    for i, (old, new) in enumerate(zip(tagged(committed), tagged(fresh))):
        if any(importlib.util.find_spec(m) is None for m in old["metadata"].get("needs", [])):
            continue                                 # it printed how to install what it needs
        if found := differences(old, new):
            wrong[f"cell {i} ({source(old).splitlines()[0][:60]})"] = found
    assert not wrong, f"numbers that no longer hold in {path.name}: {wrong}"
