"""The ``handgrad`` command line (click). One function per command; add one with @main.command."""

import sys

import click
import numpy as np


def _int_list(ctx, param, value):
    if value is None:
        return None
    try:
        sizes = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers like 784,256,10; got {value!r}")
    if len(sizes) < 2 or min(sizes) < 1:
        raise click.BadParameter(f"need at least two positive sizes; got {value!r}")
    return sizes


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="handgrad")
def main():
    """handgrad: a multi-layer perceptron with every gradient derived by hand."""


@main.command()
@click.option("--layers", "sizes", type=str, callback=_int_list, required=True,
              help="Layer sizes, e.g. 784,256,128,10.")
@click.option("--batch", default=64, show_default=True, type=click.IntRange(1), help="Batch size B.")
@click.option("--activation", default="relu", show_default=True, help="Hidden activation.")
def trace(sizes, batch, activation):
    """Print the forward and backward shape tables, parameter count and memory."""
    from .check import trace as run_trace
    from .mlp import MLP
    model = MLP(sizes, [activation] * (len(sizes) - 2) + ["softmax"], seed=0)
    click.echo(str(run_trace(model, batch)))


@main.command()
@click.option("--layers", "sizes", type=str, callback=_int_list, default="4,16,16,3",
              show_default=True, help="Layer sizes.")
@click.option("--activation", default="tanh", show_default=True, help="Hidden activation.")
@click.option("--loss", type=click.Choice(["ce", "bce", "mse"]), default="ce", show_default=True,
              help="ce: softmax output; bce: one sigmoid unit; mse: linear output.")
@click.option("--norm", type=click.Choice(["none", "batch", "layer", "rms"]), default="none",
              show_default=True, help="Norm after each hidden linear layer.")
@click.option("--batch", default=8, show_default=True, type=click.IntRange(1))
@click.option("--tol", default=1e-6, show_default=True, help="Largest relative error that passes.")
@click.option("--eps", default=1e-5, show_default=True, help="Finite-difference step.")
@click.option("--seed", default=0, show_default=True)
def gradcheck(sizes, activation, loss, norm, batch, tol, eps, seed):
    """Check every analytic gradient against central differences (float64).

    Exits with status 1 when any parameter's relative error exceeds --tol.
    """
    from .check import gradcheck as run_gradcheck
    from .mlp import MLP
    if loss == "bce":
        sizes = sizes[:-1] + [1]
    output = {"ce": "softmax", "bce": "sigmoid", "mse": "identity"}[loss]
    model = MLP(sizes, [activation] * (len(sizes) - 2) + [output], seed=seed, dtype=np.float64,
                norm=None if norm == "none" else norm, output_scale=1.0)
    rng = np.random.default_rng(seed + 1)
    X = rng.standard_normal((batch, sizes[0]))
    y = {"ce": lambda: rng.integers(0, sizes[-1], batch), "bce": lambda: rng.integers(0, 2, batch),
         "mse": lambda: rng.standard_normal((batch, sizes[-1]))}[loss]()
    report = run_gradcheck(model, X, y, eps=eps, tol=tol)
    click.echo(f"gradient check of {sizes} ({activation}, {loss}, batch {batch}, float64)")
    click.echo(str(report))
    sys.exit(0 if report.passed else 1)


def _default_dataset():
    """scikit-learn's digits when scikit-learn is installed, else the blobs."""
    from importlib.util import find_spec
    return "digits" if find_spec("sklearn") else "blobs"


@main.command()
@click.option("--preset", default=None, help="A named recipe: lesson, lesson-momentum, "
              "lesson-deep, mnist-best, fashion-adam, fashion-best, digits. Options override it.")
@click.option("--dataset", default=None, help="digits (default with scikit-learn), blobs "
              "(default without), mnist, fashion-mnist, spiral, …")
@click.option("--layers", "sizes", type=str, callback=_int_list, default=None,
              help="Layer sizes; default: features,256,classes.")
@click.option("--activation", default=None, help="Hidden activation [relu].")
@click.option("--epochs", default=None, type=click.IntRange(1),
              help="Epochs [30 on small sets, 5 on MNIST-sized ones].")
@click.option("--optimizer", type=click.Choice(["sgd", "adam", "adamw"]), default=None,
              help="[sgd]")
@click.option("--lr", default=None, type=float, help="Learning rate [0.1].")
@click.option("--momentum", default=None, type=float, help="SGD momentum [0].")
@click.option("--nesterov", is_flag=True, default=None, help="Nesterov momentum.")
@click.option("--weight-decay", default=None, type=float,
              help="L2 for sgd/adam, decoupled for adamw [0; adamw 0.01].")
@click.option("--dropout", default=None, type=float, help="Dropout after each hidden layer [0].")
@click.option("--norm", type=click.Choice(["none", "batch", "layer", "rms"]), default=None,
              help="Norm after each hidden linear map [none].")
@click.option("--batch-size", default=None, type=click.IntRange(1),
              help="Mini-batch size [16 on small sets, 128 on MNIST-sized ones].")
@click.option("--schedule", type=click.Choice(["none", "cosine", "step"]), default=None,
              help="Learning-rate schedule over the run [none].")
@click.option("--warmup-epochs", default=None, type=click.IntRange(0), help="Linear warm-up [0].")
@click.option("--clip-norm", default=None, type=float, help="Clip the global gradient norm.")
@click.option("--early-stopping", default=None, type=click.IntRange(1),
              help="Patience in epochs; the best weights are put back.")
@click.option("--val-fraction", default=None, type=float,
              help="Hold out this share of the training set for validation [0: the test set "
              "is shown as validation and nothing is tuned on it].")
@click.option("--standardize", is_flag=True, default=None, help="Standardize the features.")
@click.option("--backend", type=click.Choice(["numpy", "torch", "mlx"]), default=None,
              help="Who computes the steps [numpy].")
@click.option("--seed", default=None, type=int, help="[0]")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Run folder: checkpoint, history (CSV, JSON) and pictures.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its checkpoint.")
@click.option("--data-dir", default=None, help="Folder holding the dataset's files.")
@click.option("--no-plots", is_flag=True, help="Skip the pictures.")
@click.option("--quiet", is_flag=True, help="No progress bar or epoch lines.")
def train(preset, sizes, out, resume, data_dir, no_plots, quiet, **options):
    """Train an MLP (the lesson's: ReLU hidden layers, softmax output, SGD) and report test accuracy."""
    from pathlib import Path

    from .io import load_checkpoint
    from .recipes import resolve, run_recipe, write_run
    from .train import DivergenceError
    checkpoint = Path(out) / "checkpoint.safetensors" if out else None
    saved = {}
    if resume:
        if checkpoint is None or not checkpoint.is_file():
            raise click.UsageError(f"--resume needs --out with a checkpoint in it; found none at {checkpoint}")
        saved = load_checkpoint(checkpoint).meta("recipe", {})
    options["layers"] = sizes
    if options["norm"] == "none":
        options["norm"] = None
    recipe = resolve(preset, **{**saved, **{k: v for k, v in options.items() if v is not None}})
    recipe["dataset"] = recipe["dataset"] or _default_dataset()
    try:
        model, history, data = run_recipe(recipe, data_dir=data_dir, checkpoint=checkpoint,
                                          resume=resume, verbose=not quiet, progress=not quiet,
                                          log=click.echo)
    except DivergenceError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    except (ValueError, FileNotFoundError) as e:
        raise click.ClickException(str(e))
    if history.interrupted:
        click.echo(f"interrupted after epoch {len(history)}; resume with: handgrad train --out {out} --resume"
                   if out else f"interrupted after epoch {len(history)}")
        sys.exit(130)
    acc = history.test_accuracy
    click.echo(f"test accuracy: {100 * acc:.2f}% ({len(data.X_test):,} {data.name} test examples)")
    if out:
        for path in write_run(out, model, history, data, plots=not no_plots):
            click.echo(f"wrote {path}")
        click.echo(f"wrote {checkpoint}")


def _load_run(path):
    """(checkpoint, NumPy model) from a run folder or a checkpoint file, or a clean CLI error."""
    from pathlib import Path

    from .io import load_checkpoint
    p = Path(path)
    try:
        ckpt = load_checkpoint(p / "checkpoint.safetensors" if p.is_dir() else p)
        return ckpt, ckpt.model()
    except (ValueError, FileNotFoundError) as e:
        raise click.ClickException(str(e))


@main.command()
@click.argument("run", type=click.Path(exists=True))
@click.option("--dataset", default=None, help="Default: the dataset the run trained on.")
@click.option("--data-dir", default=None)
def evaluate(run, dataset, data_dir):
    """Test loss, accuracy and per-class accuracy of a run folder or checkpoint file."""
    from .data import load_dataset
    from .plot import confusion_matrix
    ckpt, model = _load_run(run)
    dataset = dataset or ckpt.meta("recipe", {}).get("dataset")
    if dataset is None:
        raise click.UsageError("this checkpoint does not say its dataset; pass --dataset")
    data = load_dataset(dataset, data_dir=data_dir)
    result = model.evaluate(data.X_test, data.y_test)
    pred = model.predict(data.X_test)
    cm = confusion_matrix(data.y_test, pred, data.n_classes)
    click.echo(f"{data.name} test set: loss {result['loss']:.4f}, accuracy "
               f"{100 * result['accuracy']:.2f}% ({len(pred):,} examples)")
    for k, name in enumerate(data.classes):
        click.echo(f"  {name:>12}: {100 * cm[k, k] / max(cm[k].sum(), 1):6.2f}%  ({cm[k].sum()})")


@main.command()
@click.argument("checkpoint", type=click.Path(exists=True))
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--top", default=3, show_default=True, help="How many classes to show.")
def predict(checkpoint, images, top):
    """Classify images (PNG or .npy) with a trained checkpoint."""
    from .images import load_inputs
    ckpt, model = _load_run(checkpoint)
    classes = _class_names(ckpt.meta("recipe", {}).get("dataset"), model.layer_sizes[-1])
    for path in images:
        try:
            X = load_inputs(path, model.layer_sizes[0])
        except ValueError as e:
            raise click.ClickException(str(e))
        probs = model.predict_proba(X)
        for i, p in enumerate(probs):
            best = np.argsort(p)[::-1][:top]
            label = f"{path}" + (f"[{i}]" if len(probs) > 1 else "")
            click.echo(f"{label}: {classes[best[0]]}  ("
                       + ", ".join(f"{classes[k]} {100 * p[k]:.1f}%" for k in best) + ")")


def _class_names(dataset, n):
    from .data import DATASETS
    names = DATASETS.get(dataset or "", {}).get("classes")
    return names if names and len(names) == n else [str(k) for k in range(n)]


@main.command()
@click.option("--dataset", default="digits", show_default=True)
@click.option("--epochs", default=5, show_default=True, type=click.IntRange(1))
@click.option("--layers", "sizes", type=str, callback=_int_list, default=None,
              help="Layer sizes; default: features,256,classes.")
@click.option("--activation", default="relu", show_default=True)
@click.option("--optimizer", type=click.Choice(["sgd", "adam", "adamw"]), default="sgd",
              show_default=True)
@click.option("--lr", default=0.1, show_default=True, type=float)
@click.option("--momentum", default=0.0, show_default=True, type=float)
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=0, show_default=True)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
              help="Where the PyTorch twin (and MLX, with its CUDA backend) runs.")
@click.option("--plot", "plot_path", default="compare-losses.png", show_default=True,
              help="Where to write the plot of the three loss curves.")
@click.option("--data-dir", default=None)
def compare(dataset, epochs, sizes, activation, optimizer, lr, momentum, batch_size, seed, device,
            plot_path, data_dir):
    """Train one network in NumPy, PyTorch and MLX from the same weights and batches."""
    from .compare import compare as run_compare
    from .compare import format_table, plot_losses
    report = run_compare(dataset, epochs, sizes, activation, lr, batch_size, optimizer, momentum,
                         seed, device, data_dir=data_dir)
    click.echo(format_table(report))
    try:
        click.echo(f"plot: {plot_losses(report, plot_path)}")
    except ImportError as e:
        click.echo(f"no plot: {e}")


@main.command()
@click.option("--dataset", default="fashion-mnist", show_default=True)
@click.option("--rounds", default=7, show_default=True, type=click.IntRange(1),
              help="Interleaved rounds (one epoch of each contender per round).")
@click.option("--quick", is_flag=True, help="12,000 examples and fewer rounds: a smoke run.")
@click.option("--out", "out_dir", default="benchmarks", show_default=True,
              help="Where results.md and scaling.png go.")
@click.option("--contenders", default="numpy,torch,mlx,mlx-openblas,sklearn", show_default=True)
def bench(dataset, rounds, quick, out_dir, contenders):
    """Seconds per epoch: NumPy vs PyTorch vs MLX vs scikit-learn vs the GEMM limit."""
    from .bench import run
    run(dataset, rounds=rounds, quick=quick, out_dir=out_dir, log=click.echo,
        contenders=tuple(c.strip() for c in contenders.split(",")))


if __name__ == "__main__":
    main()
