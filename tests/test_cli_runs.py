import json

import numpy as np
import pytest
from click.testing import CliRunner

from handgrad.cli import main
from handgrad.io import load_checkpoint


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


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
    code, text = run("predict", out, tmp_path / "digit.png")
    assert code == 0 and text.startswith(str(tmp_path / "digit.png"))


def test_predict_rejects_what_it_cannot_read(tmp_path):
    out = tmp_path / "run"
    run("train", "--dataset", "digits", "--epochs", "1", "--out", out, "--quiet", "--no-plots")
    (tmp_path / "bad.png").write_bytes(b"not a png")
    code, text = run("predict", out, tmp_path / "bad.png")
    assert code == 1 and "not an image" in text
    np.save(tmp_path / "odd.npy", np.zeros(7))
    code, text = run("predict", out, tmp_path / "odd.npy")
    assert code == 1 and "cannot be split into rows of 64" in text
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    code, text = run("evaluate", tmp_path / "junk.safetensors", "--dataset", "digits")
    assert code == 1 and "not a readable .safetensors file" in text


def test_a_diverging_run_reports_the_step_and_keeps_the_checkpoint(tmp_path):
    out = tmp_path / "run"
    # (a linear network: its weights grow geometrically until float32 overflows; a ReLU
    # network at a huge rate usually just dies, every unit off, with a finite loss)
    code, text = run("train", "--dataset", "digits", "--epochs", "3", "--lr", "10", "--activation",
                     "identity", "--out", out, "--quiet")
    assert code == 1 and "loss became" in text and "learning rate 10" in text
    assert not (out / "checkpoint.safetensors").exists()


@pytest.mark.parametrize("backend", ["torch", "mlx"])
def test_train_with_a_twin_backend(tmp_path, backend):
    pytest.importorskip({"torch": "torch", "mlx": "mlx.core"}[backend], reason=f"{backend} missing")
    code, text = run("train", "--dataset", "digits", "--epochs", "3", "--backend", backend,
                     "--optimizer", "adam", "--lr", "0.003", "--out", tmp_path / backend, "--quiet",
                     "--no-plots")
    assert code == 0, text
    acc = float(text.split("test accuracy: ")[1].split("%")[0])
    assert acc > 85
    ckpt = load_checkpoint(tmp_path / backend / "checkpoint.safetensors")
    assert ckpt.optimizer().t > 0 and ckpt.model().score is not None   # loads into NumPy


@pytest.mark.slow
def test_one_epoch_of_full_mnist_with_momentum_reaches_96_percent():
    code, text = run("train", "--preset", "lesson-momentum", "--epochs", "1", "--quiet")
    assert code == 0, text
    acc = float(text.split("test accuracy: ")[1].split("%")[0])
    assert acc >= 96.0, text


@pytest.mark.slow
def test_fashion_mnist_trains(tmp_path):
    from pathlib import Path
    if not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    code, text = run("train", "--preset", "fashion-adam", "--epochs", "1", "--quiet")
    assert code == 0, text
    assert float(text.split("test accuracy: ")[1].split("%")[0]) > 80
