import sys

import numpy as np
import pytest
from click.testing import CliRunner

from handgrad.cli import main
from handgrad.compare import compare, format_table
from handgrad.twins import TWINS, backend_names


def test_compare_trains_the_same_network_in_three_backends():
    pytest.importorskip("torch", reason="PyTorch is not installed")
    pytest.importorskip("mlx.core", reason="MLX is not installed")
    report = compare("digits", epochs=2, batch_size=64)
    r = report["results"]
    assert set(r) == set(backend_names())
    for name in TWINS:
        assert np.allclose(r[name]["loss"], r["numpy"]["loss"], rtol=1e-5)
        assert abs(r[name]["accuracy"] - r["numpy"]["accuracy"]) <= 1 / 359
        assert r[name]["max_weight_diff"] < 1e-4
    assert r["numpy"]["loss"][1] < r["numpy"]["loss"][0]
    assert "s/epoch" in format_table(report)


def test_compare_command_prints_the_table_and_writes_the_plot(tmp_path):
    out = tmp_path / "compare-losses.png"
    result = CliRunner().invoke(main, ["compare", "--epochs", "2", "--out", str(tmp_path)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "numpy" in result.output and "test acc" in result.output
    assert out.stat().st_size > 10_000


def test_a_missing_backend_is_reported_not_crashed_on(monkeypatch):
    for mod in [m for m in sys.modules if m == "torch" or m.startswith("handgrad.twins.torch")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "torch", None)          # import torch -> ImportError
    report = compare("blobs", epochs=1, backends=("numpy", "torch"))
    assert "not installed" in report["results"]["torch"]["error"]
    assert "loss" in report["results"]["numpy"]
    assert "not installed" in format_table(report)
