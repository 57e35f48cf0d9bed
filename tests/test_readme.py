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
