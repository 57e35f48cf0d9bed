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
    try:
        import sklearn  # noqa: F401
        return "digits"
    except ImportError:
        return "blobs"


@main.command()
@click.option("--dataset", default=None, help="digits (default with scikit-learn), blobs "
              "(default without), mnist, fashion-mnist, spiral, …")
@click.option("--layers", "sizes", type=str, callback=_int_list, default=None,
              help="Layer sizes; default: features,256,classes.")
@click.option("--activation", default="relu", show_default=True, help="Hidden activation.")
@click.option("--epochs", default=None, type=click.IntRange(1),
              help="Epochs [30 on small sets, 5 on MNIST-sized ones].")
@click.option("--lr", default=0.1, show_default=True, type=float, help="Learning rate.")
@click.option("--batch-size", default=None, type=click.IntRange(1),
              help="Mini-batch size [16 on small sets, 128 on MNIST-sized ones].")
@click.option("--seed", default=0, show_default=True)
@click.option("--data-dir", default=None, help="Folder holding the dataset's files.")
@click.option("--quiet", is_flag=True, help="No progress bar or epoch lines.")
def train(dataset, sizes, activation, epochs, lr, batch_size, seed, data_dir, quiet):
    """Train the lesson's MLP (ReLU hidden layers, softmax output, SGD) and report test accuracy."""
    from .data import load_dataset
    from .mlp import MLP
    dataset = dataset or _default_dataset()
    data = load_dataset(dataset, data_dir=data_dir, seed=seed)
    large = len(data.X_train) > 10_000
    epochs = epochs or (5 if large else 30)
    batch_size = batch_size or (128 if large else 16)
    sizes = sizes or [data.n_features, 256, data.n_classes]
    if sizes[0] != data.n_features or sizes[-1] != data.n_classes:
        raise click.BadParameter(f"{data.name} needs {data.n_features} inputs and "
                                 f"{data.n_classes} outputs; got {sizes}", param_hint="--layers")
    model = MLP(sizes, [activation] * (len(sizes) - 2) + ["softmax"], seed=seed)
    click.echo(f"{data!r}")
    click.echo(f"model {sizes}: {model.count_params():,} parameters, SGD lr {lr}, batch {batch_size}")
    model.fit(data.X_train, data.y_train, epochs=epochs, learning_rate=lr, batch_size=batch_size,
              validation_data=(data.X_test, data.y_test), progress=not quiet, verbose=not quiet,
              log=click.echo)
    acc = model.score(data.X_test, data.y_test)
    click.echo(f"test accuracy: {100 * acc:.2f}% ({len(data.X_test):,} {data.name} test examples)")


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


if __name__ == "__main__":
    main()
