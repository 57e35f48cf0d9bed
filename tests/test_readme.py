"""The README's tour runs as written."""

import re
from pathlib import Path


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
    import pytest
    pytest.importorskip("torch", reason="PyTorch is not installed")
    pytest.importorskip("mlx.core", reason="MLX is not installed")
    from handgrad.compare import compare, format_table
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    sample = re.search(r"```\n(digits: \[64, 256, 10\].*?)```", text, re.S).group(1).splitlines()
    printed = format_table(compare("digits", epochs=5)).splitlines()

    def without_timing(line):          # drop the s/epoch column, which is the machine's
        cells = line.split()
        return cells[:-2] + cells[-1:] if cells and cells[0] in ("numpy", "torch", "mlx") else cells

    assert [without_timing(l) for l in printed] == [without_timing(l) for l in sample]
