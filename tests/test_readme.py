"""The README's tour runs as written."""

import re
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


@pytest.mark.slow
def test_every_python_example_in_the_readme_runs(tmp_path, monkeypatch):
    """The examples run in order in one namespace (a later one may use an earlier one's model);
    the data-parallel one needs worker processes and is run by tests/test_distributed.py."""
    pytest.importorskip("torch", reason="PyTorch is not installed")
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    monkeypatch.chdir(tmp_path)                 # examples that write a picture write it here
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    namespace = {}
    ran = 0
    for i, block in enumerate(blocks):
        if "init_process_group" in block:
            continue
        try:
            exec(compile(block, f"README.md python block {i}", "exec"), namespace)
        except ImportError as e:                # the graphviz program or package may be missing
            if "graphviz" not in str(e).lower():
                raise
        ran += 1
    assert ran >= 6
