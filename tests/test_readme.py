"""The README's tour runs as written."""

import re
import shutil
from pathlib import Path

import pytest


def test_the_tour_runs(capsys):
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    tour = re.search(r"## A short tour\n\n```python\n(.*?)```", text, re.S).group(1)
    namespace = {}
    exec(compile(tour, "README.md", "exec"), namespace)
    assert namespace["model"].score(namespace["X"], namespace["y"]) > 0.9
    out = capsys.readouterr().out
    assert "passed" in out and "235,146" in out


def test_the_compare_sample_is_what_the_command_prints():
    """Every number of the README's `handgrad compare` sample but the timings comes out again."""
    pytest.importorskip("torch", reason="PyTorch is not installed")
    pytest.importorskip("mlx.core", reason="MLX is not installed")
    from handgrad.compare import compare, format_table
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    sample = re.search(r"```\n(digits: \[64, 256, 10\].*?)```", text, re.S).group(1).splitlines()
    printed = format_table(compare("digits", epochs=5)).splitlines()
    assert printed[:2] == sample[:2]                      # the title and the header
    rows = {line.split()[0]: line.split() for line in printed[2:]}
    expected = {line.split()[0]: line.split() for line in sample[2:]}
    assert rows["numpy"][:-2] == expected["numpy"][:-2]   # NumPy's numbers to the last digit
    for name in ("torch", "mlx"):                         # the frameworks' last digit depends on
        ours, theirs = rows[name], expected[name]         # their thread count: within 2e-6
        assert [abs(float(a) - float(b)) < 2e-6 for a, b in zip(ours[1:6], theirs[1:6])] == [True] * 5
        assert ours[6] == theirs[6]                       # the same test accuracy
        assert float(ours[-1]) < 1e-6                     # weights within 1e-6 of NumPy's


def graphviz_missing():
    """Why the README's drawing cannot run here (None when it can): it needs the graphviz
    package and the Graphviz program ``dot``, both optional."""
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return "the graphviz package is not installed (pip install 'handgrad[graph]')"
    if shutil.which("dot") is None:
        return "the Graphviz program `dot` is not installed (apt-get install graphviz)"
    return None


# a line that renders a picture with Graphviz: draw(…, "….svg" / ".png" / ".pdf")
DRAWING = re.compile(r"^.*\bdraw\(.*\.(svg|png|pdf)[\"'].*$", re.M)


def readme_blocks():
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, re.S)


@pytest.mark.slow
def test_every_python_example_in_the_readme_runs(tmp_path, monkeypatch):
    """The examples run in order in one namespace (a later one may use an earlier one's model);
    the data-parallel one needs worker processes and is run by tests/test_distributed.py.
    Without Graphviz the lines that draw a picture are left out here; the drawing example
    runs whole in test_the_readmes_drawing_runs, which says why it skips."""
    pytest.importorskip("torch", reason="PyTorch is not installed")
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    monkeypatch.chdir(tmp_path)                 # examples that write a picture write it here
    no_graphviz = graphviz_missing()
    namespace = {}
    ran = 0
    for i, block in enumerate(readme_blocks()):
        if "init_process_group" in block:
            continue
        if no_graphviz:
            block = DRAWING.sub("", block)
        exec(compile(block, f"README.md python block {i}", "exec"), namespace)
        ran += 1
    assert ran >= 6


def test_the_readmes_drawing_runs(tmp_path, monkeypatch):
    """The README's scalar-engine example, its drawing included, as written."""
    why = graphviz_missing()
    if why:
        pytest.skip(f"the README's drawing needs Graphviz: {why}")
    monkeypatch.chdir(tmp_path)
    blocks = [b for b in readme_blocks() if DRAWING.search(b)]
    assert blocks, "the README has no drawing example any more: remove this test"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    assert "<svg" in (tmp_path / "graph.svg").read_text()
