"""The lessons as notebooks (notebooks/*.ipynb): each one runs from top to bottom without an error.

They are executed in a fresh kernel by nbclient (the `test` extra). The MNIST notebook falls back
to scikit-learn's 8x8 digits when MNIST is not found, so it needs one or the other.
"""

import importlib.util
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_the_four_lessons_are_there():
    assert [p.name for p in NOTEBOOKS] == ["01-mlp-by-hand.ipynb", "02-frameworks-and-parity.ipynb",
                                           "03-init-activations-optimizers.ipynb",
                                           "04-mnist-end-to-end.ipynb"]


def mnist_or_digits_available():
    from handgrad.data import find
    try:
        find("mnist", allow_download=False)
        return True
    except FileNotFoundError:
        return importlib.util.find_spec("sklearn") is not None


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path):
    for module, extra in (("nbclient", "test"), ("nbformat", "test"), ("ipykernel", "test"),
                          ("matplotlib", "plot")):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"running the notebooks needs {module}: pip install 'handgrad[{extra}]'")
    if "mnist" in path.name and not mnist_or_digits_available():
        pytest.skip("needs MNIST (set HANDGRAD_DATA) or scikit-learn for the 8x8 digits")
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()                                 # raises CellExecutionError on any error
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("text/html" in o.get("data", {}) for o in outputs), "the lab's results display"
