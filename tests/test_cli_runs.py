import json

import numpy as np
import pytest
from click.testing import CliRunner

from handgrad.cli import main
from handgrad.io import load_checkpoint
from handgrad.twins import TWINS


def load_digits_test():
    from handgrad.data import load_dataset
    d = load_dataset("digits")
    return d.X_test, d.y_test


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.slow                   # trains and draws in a process of its own: about 2 s
def test_train_writes_checkpoint_history_and_pictures(tmp_path):
    out = tmp_path / "digits"
    code, text = run("train", "--dataset", "digits", "--epochs", "3", "--momentum", "0.9",
                     "--lr", "0.05", "--dropout", "0.1", "--out", out, "--quiet")
    assert code == 0, text
    names = {p.name for p in out.iterdir()}
    assert {"checkpoint.safetensors", "history.csv", "history.json", "curves.png", "confusion.png",
            "misclassified.png", "first_layer.png"} <= names
    hist = json.loads((out / "history.json").read_text())
    assert len(hist["epochs"]) == 3 and hist["test_accuracy"] > 0.85
    assert (out / "history.csv").read_text().startswith("epoch,train_loss")
    ckpt = load_checkpoint(out / "checkpoint.safetensors")
    assert ckpt.meta("recipe")["momentum"] == 0.9 and ckpt.spec["dropout"] == [0.1]


def test_resume_continues_the_run_exactly(tmp_path):
    args = ["--dataset", "digits", "--lr", "0.05", "--momentum", "0.9", "--batch-size", "32",
            "--quiet", "--no-plots"]
    assert run("train", *args, "--epochs", "4", "--out", tmp_path / "full")[0] == 0
    assert run("train", *args, "--epochs", "2", "--out", tmp_path / "part")[0] == 0
    code, text = run("train", "--resume", "--epochs", "4", "--out", tmp_path / "part", "--quiet",
                     "--no-plots")
    assert code == 0, text
    full = load_checkpoint(tmp_path / "full" / "checkpoint.safetensors")
    part = load_checkpoint(tmp_path / "part" / "checkpoint.safetensors")
    assert [r["train_loss"] for r in part.history().rows] == [r["train_loss"] for r in full.history().rows]
    assert all(np.array_equal(part.state[k], full.state[k]) for k in full.state)


def test_resume_without_a_checkpoint_is_a_usage_error(tmp_path):
    code, text = run("train", "--resume", "--out", tmp_path / "none")
    assert code == 2 and "--resume needs --out with a checkpoint" in text


def test_evaluate_and_predict(tmp_path):
    out = tmp_path / "run"
    assert run("train", "--dataset", "digits", "--epochs", "5", "--out", out, "--quiet",
               "--no-plots")[0] == 0
    code, text = run("evaluate", out)
    assert code == 0 and "digits test set" in text and "accuracy" in text
    from handgrad.data import load_dataset
    d = load_dataset("digits")
    np.save(tmp_path / "three.npy", d.X_test[:3] * 16)        # pixels 0-16 scale is handled
    code, text = run("predict", out / "checkpoint.safetensors", tmp_path / "three.npy")
    assert code == 0 and text.count("three.npy[") == 3
    from PIL import Image
    img = (255 - d.X_test[0].reshape(8, 8) * 255).astype(np.uint8)   # dark digit on white
    Image.fromarray(img).resize((32, 32)).save(tmp_path / "digit.png")
    code, text = run("predict", out, tmp_path / "digit.png")        # 32x32 for an 8x8 model
    assert code == 1 and "is 32x32 but the model takes 8x8" in text and "--resize" in text
    code, text = run("predict", out, tmp_path / "digit.png", "--resize")
    assert code == 0 and text.startswith(str(tmp_path / "digit.png"))
    np.save(tmp_path / "nan.npy", np.full((2, 64), np.nan))
    code, text = run("predict", out, tmp_path / "nan.npy")
    assert code == 1 and "NaN" in text and "Traceback" not in text


def test_predict_rejects_what_it_cannot_read(tmp_path):
    out = tmp_path / "run"
    assert run("train", "--dataset", "digits", "--epochs", "1", "--out", out, "--quiet",
               "--no-plots")[0] == 0
    (tmp_path / "bad.png").write_bytes(b"not a png")
    code, text = run("predict", out, tmp_path / "bad.png")
    assert code == 1 and "not an image" in text
    np.save(tmp_path / "odd.npy", np.zeros(7))
    code, text = run("predict", out, tmp_path / "odd.npy")
    assert code == 1 and "cannot be split into rows of 64" in text
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    code, text = run("evaluate", tmp_path / "junk.safetensors", "--dataset", "digits")
    assert code == 1 and "not a readable checkpoint" in text


def test_a_diverging_run_reports_the_step_and_keeps_the_checkpoint(tmp_path):
    out = tmp_path / "run"
    # (a linear network: its weights grow geometrically until float32 overflows; a ReLU
    # network at a huge rate usually just dies, every unit off, with a finite loss)
    code, text = run("train", "--dataset", "digits", "--epochs", "3", "--lr", "10", "--activation",
                     "identity", "--out", out, "--quiet")
    assert code == 1 and "loss" in text and "learning rate 10" in text
    assert not (out / "checkpoint.safetensors").exists()


def test_a_loss_that_explodes_without_reaching_infinity_stops_the_run(tmp_path):
    code, text = run("train", "--dataset", "digits", "--epochs", "3", "--lr", "1000000", "--quiet",
                     "--no-plots")
    assert code == 1 and "exploded" in text and "learning rate 1e+06" in text
    code, text = run("train", "--dataset", "digits", "--epochs", "1", "--lr", "1000000", "--quiet",
                     "--divergence-factor", "1e40", "--no-plots")        # the threshold is an option
    assert "exploded" not in text and ("test accuracy" in text or "loss became" in text)


@pytest.mark.slow                   # trains and draws in a process of its own: about 2 s
def test_an_earlier_run_is_never_overwritten_by_default(tmp_path):
    out = tmp_path / "run"
    assert run("train", "--dataset", "digits", "--epochs", "2", "--out", out, "--quiet")[0] == 0
    before = (out / "checkpoint.safetensors").read_bytes()
    code, text = run("train", "--dataset", "digits", "--epochs", "1", "--out", out, "--quiet")
    assert code == 1 and "already holds a run" in text and "--resume" in text and "--overwrite" in text
    assert (out / "checkpoint.safetensors").read_bytes() == before
    (out / "notes.txt").write_text("mine")
    code, text = run("train", "--dataset", "digits", "--epochs", "1", "--out", out, "--quiet",
                     "--no-plots", "--overwrite")
    assert code == 0, text
    assert load_checkpoint(out / "checkpoint.safetensors").history().column("epoch") == [1]
    assert not (out / "curves.png").exists()           # the old run's pictures went with it
    assert (out / "notes.txt").read_text() == "mine"  # and nothing else of the user's


def test_resume_of_a_finished_run_changes_nothing(tmp_path):
    out = tmp_path / "run"
    assert run("train", "--dataset", "digits", "--epochs", "3", "--out", out, "--quiet",
               "--no-plots")[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    code, text = run("train", "--resume", "--epochs", "2", "--out", out, "--quiet")
    assert code == 1 and "already has 3 epochs" in text
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_resume_with_more_epochs_keeps_the_schedule_and_says_so(tmp_path):
    out = tmp_path / "run"
    assert run("train", "--dataset", "digits", "--epochs", "2", "--schedule", "cosine", "--out",
               out, "--quiet", "--no-plots")[0] == 0
    code, text = run("train", "--resume", "--epochs", "3", "--out", out, "--quiet", "--no-plots")
    assert code == 0, text
    assert "schedule was planned for 2 epochs and is kept" in text
    lrs = load_checkpoint(out / "checkpoint.safetensors").history().column("lr")
    assert lrs[2] <= lrs[1] < 1e-3 * 0.1               # no jump back up after the cosine's end


@pytest.mark.slow                   # trains and draws in a process of its own: about 2 s
def test_checkpoints_get_the_users_umask_like_the_other_files(tmp_path):
    import os
    out = tmp_path / "run"
    old = os.umask(0o022)
    try:
        assert run("train", "--dataset", "digits", "--epochs", "1", "--out", out, "--quiet")[0] == 0
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()}
    assert modes["checkpoint.safetensors"] == modes["history.json"] == 0o644


@pytest.mark.parametrize("args, expected", [
    (["train", "--preset", "lessn"], "did you mean 'lesson'"),
    (["train", "--activation", "rleu", "--dataset", "blobs"], "valid names: relu"),
    (["gradcheck", "--activation", "rleu"], "valid names: relu"),
    (["trace", "--layers", "4,3", "--batch-size", "0"], "0 is not in the range x>=1"),
    (["train", "--resume"], "--resume needs --out"),
    (["train", "--dataset", "mnist", "--data-dir", "/nonexistent"], "does not exist"),
    (["compare", "--backends", "numpy,jax"], "unknown backend"),
])
def test_bad_input_is_one_clear_line_and_a_non_zero_exit(args, expected):
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (1, 2), result.output
    assert expected in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_truncated_checkpoint_is_refused_and_left_untouched(tmp_path):
    out = tmp_path / "run"
    assert run("train", "--dataset", "digits", "--epochs", "1", "--out", out, "--quiet",
               "--no-plots")[0] == 0
    path = out / "checkpoint.safetensors"
    path.write_bytes(path.read_bytes()[:200])
    cut = path.read_bytes()
    code, text = run("train", "--resume", "--epochs", "2", "--out", out, "--quiet")
    assert code == 1 and "not a readable checkpoint" in text
    assert path.read_bytes() == cut


def test_compare_writes_its_plot_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, text = run("compare", "--epochs", "1", "--backends", "numpy")
    assert code == 0 and list(tmp_path.iterdir()) == []
    code, text = run("compare", "--epochs", "1", "--backends", "numpy", "--out", "plots")
    assert code == 0 and (tmp_path / "plots" / "compare-losses.png").is_file()


@pytest.mark.slow                   # trains and draws in a process of its own: about 2 s
def test_compare_on_cuda_without_a_cuda_pytorch_says_how_to_get_one():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this PyTorch has CUDA")
    code, text = run("compare", "--epochs", "1", "--backends", "torch", "--device", "cuda")
    assert code == 1 and "has no CUDA" in text and "install a CUDA build" in text


def test_the_interrupt_hint_is_a_command_that_works_from_here(tmp_path, monkeypatch):
    from handgrad import recipes
    monkeypatch.setenv("HANDGRAD_PROG", "./run.sh")
    monkeypatch.setattr(recipes, "train", lambda *a, **k: _interrupted_history())  # Ctrl-C
    code, text = run("train", "--dataset", "digits", "--epochs", "3", "--out", tmp_path / "r",
                     "--quiet", "--no-plots")
    assert code == 130 and f"resume with: ./run.sh train --out {tmp_path / 'r'} --resume" in text


def _interrupted_history():
    from handgrad.history import History
    h = History([{"epoch": 1, "train_loss": 1.0, "lr": 0.1, "grad_norm": 1.0, "seconds": 0.1}])
    h.interrupted = True
    return h


@pytest.mark.parametrize("backend", list(TWINS))
def test_train_with_a_twin_backend(tmp_path, backend):
    pytest.importorskip({"torch": "torch", "mlx": "mlx.core"}[backend], reason=f"{backend} missing")
    code, text = run("train", "--dataset", "digits", "--epochs", "3", "--backend", backend,
                     "--optimizer", "adam", "--lr", "0.003", "--out", tmp_path / backend, "--quiet",
                     "--no-plots")
    assert code == 0, text
    acc = float(text.split("test accuracy: ")[1].split("%")[0])
    assert acc > 85
    ckpt = load_checkpoint(tmp_path / backend / "checkpoint.safetensors")
    model = ckpt.model()                                                    # loads into NumPy
    assert ckpt.optimizer().t > 0 and model.score(*load_digits_test()) > 0.85


@pytest.mark.slow
@pytest.mark.dataset("mnist")
def test_one_epoch_of_full_mnist_with_momentum_reaches_96_percent():
    code, text = run("train", "--preset", "lesson-momentum", "--epochs", "1", "--quiet")
    assert code == 0, text
    acc = float(text.split("test accuracy: ")[1].split("%")[0])
    assert acc >= 96.0, text


@pytest.mark.slow
@pytest.mark.dataset("fashion-mnist")
def test_fashion_mnist_trains(tmp_path):
    code, text = run("train", "--preset", "fashion-adam", "--epochs", "1", "--quiet")
    assert code == 0, text
    assert float(text.split("test accuracy: ")[1].split("%")[0]) > 80


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def two_epochs(tmp_path_factory):
    """A two-epoch digits run (lr 0.05, momentum 0.9, batch 32), to resume."""
    out = tmp_path_factory.mktemp("resume") / "run"
    code, text = run("train", "--dataset", "digits", "--epochs", "2", "--lr", "0.05", "--momentum",
                     "0.9", "--batch-size", "32", "--out", out, "--quiet", "--no-plots")
    assert code == 0, text
    return out


@pytest.mark.parametrize("args, named", [
    (["--lr", "0.5"], ["--lr 0.5 (the run's: 0.05)"]),
    (["--batch-size", "64", "--dropout", "0.5"],
     ["--batch-size 64 (the run's: 32)", "--dropout 0.5 (the run's: 0)"]),
    (["--optimizer", "adam"], ["--optimizer adam (the run's: sgd)"]),
    (["--norm", "batch"], ["--norm batch (the run's: none)"]),
    (["--layers", "64,128,10"], ["--layers 64,128,10 (the run's: 64,256,10)"]),
    (["--schedule", "cosine", "--seed", "3"], ["--schedule cosine", "--seed 3 (the run's: 0)"]),
    (["--preset", "digits"], ["--lr 0.1 (the run's: 0.05)", "--batch-size 16 (the run's: 32)"]),
    (["--early-stopping", "2"], ["--early-stopping 2 (the run's: none)", "kept no best weights"]),
])
def test_resume_refuses_to_change_the_run_and_names_what(two_epochs, args, named):
    before = _files(two_epochs)
    result = CliRunner().invoke(main, ["train", "--resume", "--epochs", "3", "--out",
                                       str(two_epochs), *args])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    for words in named:
        assert words in result.output
    assert "only --epochs, --early-stopping, --divergence-factor and --backend may change" in result.output
    assert _files(two_epochs) == before


def test_resume_takes_the_runs_own_settings_again_and_records_what_it_used(tmp_path, two_epochs):
    import shutil
    out = tmp_path / "run"
    shutil.copytree(two_epochs, out)
    code, text = run("train", "--resume", "--epochs", "3", "--out", out, "--lr", "0.05",
                     "--momentum", "0.9", "--batch-size", "32", "--dataset", "DIGITS",
                     "--layers", "64,256,10", "--norm", "none", "--divergence-factor", "50",
                     "--quiet", "--no-plots")
    assert code == 0, text
    ckpt = load_checkpoint(out / "checkpoint.safetensors")
    recipe = ckpt.meta("recipe")
    assert recipe["lr"] == 0.05 and recipe["batch_size"] == 32 and recipe["epochs"] == 3
    assert recipe["divergence_factor"] == 50 and recipe["layers"] == [64, 256, 10]
    assert ckpt.history().column("lr") == [0.05] * 3


def test_a_standardized_run_is_evaluated_and_predicts_on_standardized_inputs(tmp_path):
    out = tmp_path / "run"
    code, text = run("train", "--dataset", "digits", "--epochs", "3", "--standardize", "--out",
                     out, "--quiet", "--no-plots")
    assert code == 0, text
    trained = text.split("test accuracy: ")[1].split("%")[0]
    code, text = run("evaluate", out)
    assert code == 0 and f"accuracy {trained}%" in text
    X, y = load_digits_test()
    np.save(tmp_path / "x.npy", X[:20])
    model = load_checkpoint(out / "checkpoint.safetensors").model()
    code, text = run("predict", out, tmp_path / "x.npy", "--top", "1")
    guesses = [int(line.split(": ")[1].split()[0]) for line in text.splitlines()]
    from handgrad.data import Standardizer, load_dataset
    standardized = Standardizer().fit(load_dataset("digits").X_train).transform(X[:20])
    assert code == 0 and guesses == list(model.predict(standardized))
    assert guesses != list(model.predict(X[:20]))          # the raw pixels would answer otherwise


def test_predict_refuses_inputs_far_outside_the_training_range(tmp_path):
    out = tmp_path / "run"
    assert run("train", "--dataset", "digits", "--epochs", "1", "--out", out, "--quiet",
               "--no-plots")[0] == 0
    X, _ = load_digits_test()
    for name, values in [("pixels", X[:2] * 255), ("huge", X[:2] * 1e6), ("negative", -X[:2])]:
        np.save(tmp_path / f"{name}.npy", values)
    assert run("predict", out, tmp_path / "pixels.npy")[0] == 0            # 0-255 is scaled
    for name in ("huge", "negative"):
        result = CliRunner().invoke(main, ["predict", str(out), str(tmp_path / f"{name}.npy")])
        assert result.exit_code == 1 and result.output.count("\n") == 1
        assert "trained on values from 0 to 1" in result.output
        assert "a confidence that means nothing" in result.output
    blobs = tmp_path / "blobs"
    assert run("train", "--dataset", "blobs", "--epochs", "1", "--out", blobs, "--quiet",
               "--no-plots")[0] == 0
    np.save(tmp_path / "points.npy", np.array([[2.0, -3.0, 1.0, 4.0]]))     # not pixels: as is
    code, text = run("predict", blobs, tmp_path / "points.npy")
    assert code == 0 and "points.npy: " in text
    np.save(tmp_path / "far.npy", np.array([[200.0, -3.0, 1.0, 4.0]]))
    code, text = run("predict", blobs, tmp_path / "far.npy")
    assert code == 1 and "holds values from -3 to 200" in text


@pytest.mark.slow                   # trains and draws in a process of its own: about 2 s
def test_an_overwrite_that_fails_to_start_leaves_the_earlier_run(tmp_path):
    out = tmp_path / "run"
    assert run("train", "--dataset", "digits", "--epochs", "1", "--out", out, "--quiet")[0] == 0
    (out / "notes.txt").write_text("mine")
    before = _files(out)
    code, text = run("train", "--dataset", "digits", "--layers", "3,10", "--out", out,
                     "--overwrite", "--quiet")
    assert code == 1 and "digits needs 64 inputs" in text
    assert _files(out) == before and sorted(p.name for p in out.iterdir()) == sorted(before)


def test_an_unwritable_out_is_refused_before_any_work(tmp_path, monkeypatch):
    from handgrad import recipes
    monkeypatch.setattr(recipes, "load_dataset", lambda *a, **k: pytest.fail("work started"))
    (tmp_path / "file").write_text("x")
    for out in (tmp_path / "file", tmp_path / "file" / "run", "/proc/handgrad-run"):
        result = CliRunner().invoke(main, ["train", "--out", str(out)])
        assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
        assert "Invalid value for '--out'" in result.output
    result = CliRunner().invoke(main, ["engine", "--out", str(tmp_path / "file" / "g.dot")])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = CliRunner().invoke(main, ["engine", "--out", "/proc/g.dot"])
    assert result.exit_code == 2 and "/proc does not take new files" in result.output
    assert result.output.count("\n") == 1          # refused before the graph was printed
