import shutil
import subprocess
import sys
from pathlib import Path

import pytest
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


@pytest.mark.parametrize("layers, expected", [
    ("784,x", "item 2 of '784,x' is 'x', not a whole number"),
    ("64,,10", "item 2 of '64,,10' is empty"),
    ("64,10,", "item 3 of '64,10,' is empty"),
    (",64,10", "item 1 of ',64,10' is empty"),
    ("64,0,10", "item 2 of '64,0,10' is 0; a layer needs at least 1 unit"),
    ("64,-5,10", "item 2 of '64,-5,10' is -5"),
    ("64,2.5,10", "item 2 of '64,2.5,10' is '2.5', not a whole number"),
    ("64", "need at least two sizes"),
    ("", "item 1 of '' is empty"),
])
def test_every_item_of_a_layer_list_counts(layers, expected):
    for command in ("trace", "gradcheck", "train", "compare"):
        result = CliRunner().invoke(main, [command, "--layers", layers])
        assert result.exit_code == 2 and expected in result.output, (command, result.output)
        assert len(result.output.strip().splitlines()) == 1


def test_a_layer_wider_than_a_command_builds_is_refused_but_trace_takes_it():
    code, out = run("gradcheck", "--layers", "4,1000000,3")
    assert code == 2 and "the most this command takes is 100,000 units a layer" in out
    code, out = run("trace", "--layers", "4,1000000,3")
    assert code == 0 and "(64, 1000000)" in out


def test_the_installed_entry_point_runs():
    exe = shutil.which("handgrad") or str(Path(sys.executable).parent / "handgrad")
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True).stdout
    assert "train" in out and "trace" in out and "gradcheck" in out


def test_engine_prints_the_example_graph_and_writes_dot(tmp_path):
    code, out = run("engine")
    assert code == 0
    assert "topological order (leaves first): a -> b -> d -> c -> e -> L" in out
    assert "relu(e)" in out and "-3.0000" in out
    code, out = run("engine", "--out", str(tmp_path / "g.dot"))
    assert code == 0 and (tmp_path / "g.dot").read_text().startswith("digraph engine {")


def test_engine_draws_svg_when_graphviz_is_there(tmp_path):
    pytest.importorskip("graphviz", reason="pip install 'handgrad[graph]'")
    if shutil.which("dot") is None:
        pytest.skip("the Graphviz program is not installed (apt-get install graphviz)")
    code, out = run("engine", "--out", str(tmp_path / "g.svg"))
    assert code == 0 and "<svg" in (tmp_path / "g.svg").read_text()


def test_engine_rejects_an_unknown_picture_format(tmp_path):
    code, out = run("engine", "--out", str(tmp_path / "g.jpg"))
    assert code == 2 and "end it in .svg, .png, .pdf or .dot" in out


def test_perceptron_reports_convergence_and_the_xor_cycle():
    code, out = run("perceptron", "--gate", "and")
    assert code == 0 and "converged after 6 epochs" in out
    code, out = run("perceptron", "--gate", "XOR")
    assert code == 0
    assert "did not converge; weights cycle with period 1 (from epoch 2 on)" in out
    code, out = run("perceptron", "--gate", "xnor")
    assert code == 2 and "'xnor' is not one of 'and', 'or', 'nand', 'xor'" in out


def test_playground_export_and_bad_port(tmp_path):
    code, out = run("playground", "--export", str(tmp_path / "site"))
    assert code == 0 and (tmp_path / "site" / "index.html").is_file()
    result = CliRunner().invoke(main, ["playground", "--port", "70000"])
    assert result.exit_code == 2 and "70000" in result.output


def test_lab_says_when_its_report_folder_cannot_be_written():
    code, out = run("lab", "run", "9", "--out", "/proc/no-such-place")
    assert code == 1 and "cannot write the report to /proc/no-such-place" in out


@pytest.mark.parametrize("args, expected", [
    (["gradcheck", "--eps", "0"], "Invalid value for '--eps': 0.0 is not in the range 0<x<=1"),
    (["gradcheck", "--tol", "-1"], "Invalid value for '--tol': -1.0 is not in the range 0<x<1"),
    (["gradcheck", "--tol", "nan"], "expected a finite number; got 'nan'"),
    (["perceptron", "--gate", "and", "--lr", "nan"], "expected a finite number; got 'nan'"),
    (["perceptron", "--gate", "and", "--lr", "inf"], "inf is not in the range"),
    (["train", "--layers", "64,,10"], "item 2 of '64,,10' is empty"),
    (["train", "--lr", "-inf"], "-inf is not in the range x>0"),
    (["gradcheck", "--seed", "-1"], "-1 is not in the range 0<=x<=4294967295"),
    (["gradcheck", "--layers", "784,2560,10"], "has 2,035,210 parameters"),
    (["trian"], "No such command 'trian'"),
    (["train", "--bogus", "1"], "No such option '--bogus'"),
    (["learn", "hint"], "Missing argument 'ID'"),
])
def test_a_bad_command_line_is_one_line_on_stderr(args, expected):
    result = CliRunner().invoke(main, args, prog_name="handgrad")
    assert result.exit_code == 2 and result.stdout == "", result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    assert expected in result.stderr and "--help" in result.stderr


def test_handgrad_alone_prints_its_help():
    result = CliRunner().invoke(main, [], prog_name="handgrad")
    assert "Usage: handgrad" in result.output and "Commands:" in result.output


def test_trace_of_a_network_too_big_to_build_answers_at_once():
    code, out = run("trace", "--layers", "100000,100000,10", "--batch-size", "100000")
    assert code == 0 and "Parameters: 10,001,100,010" in out and "186.3 GiB" in out


def test_the_xor_perceptron_stops_at_its_cycle_however_many_epochs_it_may_take():
    code, out = run("perceptron", "--gate", "xor", "--epochs", "1000000")
    assert code == 0 and "stopped after epoch 3" in out and "epochs: 3" in out


def test_ctrl_c_stops_a_gradient_check_with_one_line_and_status_130():
    import signal
    import time
    proc = subprocess.Popen([sys.executable, "-u", "-m", "handgrad", "gradcheck", "--layers",
                             "784,200,10", "--batch-size", "64"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()      # printed as the check starts (it would take minutes)
    assert first.startswith("gradient check of [784, 200, 10]")
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert err.strip() == "gradient check interrupted before it finished; nothing was checked"
    assert "Traceback" not in out + err


def test_usage_errors_name_the_command_the_user_typed(monkeypatch):
    for started_as in ("handgrad", "./run.sh"):
        monkeypatch.setenv("HANDGRAD_PROG", started_as)
        out = subprocess.run([sys.executable, "-m", "handgrad", "train", "--epochs", "x"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 2
        assert out.stderr.strip().endswith(f"(see '{started_as} train --help')")
