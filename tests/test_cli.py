import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from handgrad.cli import main


def run(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_train_on_the_default_embedded_dataset_reports_test_accuracy():
    code, out = run("train", "--epochs", "3")
    assert code == 0, out
    assert "digits" in out and "epoch   3/3" in out
    acc = float(out.split("test accuracy: ")[1].split("%")[0])
    assert acc > 85


def test_train_on_blobs_without_progress():
    code, out = run("train", "--dataset", "blobs", "--epochs", "5", "--quiet")
    assert code == 0 and "epoch" not in out and "test accuracy" in out


def test_trace_prints_the_tables():
    code, out = run("trace", "--layers", "784,256,128,10", "--batch", "64")
    assert code == 0
    assert "234,752" in out and "75,392" in out and "25,216" in out and "235,146" in out


def test_gradcheck_passes_and_fails_with_the_right_exit_code():
    code, out = run("gradcheck", "--layers", "4,16,16,3", "--activation", "tanh", "--loss", "ce")
    assert code == 0 and "passed" in out and "layers.2.bias" in out
    code, out = run("gradcheck", "--eps", "0.1")          # a step so large the difference is wrong
    assert code == 1 and "FAILED" in out
    for loss in ("bce", "mse"):
        assert run("gradcheck", "--loss", loss, "--norm", "layer")[0] == 0


def test_bad_layers_are_a_usage_error():
    code, out = run("trace", "--layers", "784,x")
    assert code == 2 and "comma-separated integers" in out


def test_the_installed_entry_point_runs():
    exe = shutil.which("handgrad") or str(Path(sys.executable).parent / "handgrad")
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True).stdout
    assert "train" in out and "trace" in out and "gradcheck" in out
