"""The ``handgrad`` command line (click). One function per command; add one with @main.command.

Every error a user can cause ends in one clear line and a non-zero exit:
``click.ClickException`` (exit 1) for bad data and files, ``click.UsageError`` /
``click.BadParameter`` (exit 2) for bad options.
"""

import os
import sys
from pathlib import Path

import click
import numpy as np

from .check import gradcheck as run_gradcheck
from .check import trace as run_trace
from .compare import compare as run_compare
from .compare import format_table, plot_losses
from .data import DATASETS, available_datasets, load_dataset
from .distributed import (
    Job,
    WorkerError,
    WorkerLostError,
    env_rank,
    launch,
    launched_by_torchrun,
    run,
)
from .engine import describe, draw, example_graph
from .history import DivergenceError
from .images import load_inputs
from .io import load_checkpoint
from .lab.commands import lab as lab_group
from .learn.commands import learn as learn_group
from .mlp import MLP
from .nn.activations import ACTIVATION_ALIASES, activation_names
from .nn.losses import LOSS_ALIASES, LOSSES, get_loss_name, loss_names
from .nn.norms import norm_names
from .optim import optimizer_names, schedule_names
from .perceptron import GATES, gate_report
from .plot import confusion_matrix
from .recipes import PRESETS, did_you_mean, existing_run_files, resolve, run_recipe, write_run
from .twins import backend_names


def prog():
    """How the user started handgrad (``./run.sh`` sets HANDGRAD_PROG), for hints to paste."""
    return os.environ.get("HANDGRAD_PROG", "handgrad")


class Names(click.Choice):
    """A choice among a registry's names, read when the command runs (so a name registered
    after this module was imported is offered too).

    ``what`` is the family ("activation"), ``names()`` lists its registry's names, ``extra``
    are offered before them ("none" for the norm and the schedule) and ``aliases`` (a dict,
    read live) are other spellings it accepts. Case is ignored; a wrong name is one line
    with the closest name and the valid ones.
    """

    def __init__(self, what, names, *extra, aliases=None):
        self.what, self.names, self.extra, self.aliases = what, names, extra, aliases or {}
        self.case_sensitive = False

    @property
    def choices(self):
        return (*self.extra, *self.names())

    def convert(self, value, param, ctx):
        key = str(value).lower()
        if key in self.choices or key in self.aliases:
            return key
        self.fail(f"unknown {self.what} {value!r}{did_you_mean(key, self.choices)}; "
                  f"valid names: {', '.join(self.choices)}", param, ctx)


def _int_list(ctx, param, value):
    if value is None:
        return None
    try:
        sizes = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(
            f"expected comma-separated integers like 784,256,10; got {value!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise click.BadParameter(f"need at least two positive sizes; got {value!r}")
    return sizes


ACTIVATION = Names("activation", activation_names, aliases=ACTIVATION_ALIASES)
OPTIMIZER = Names("optimizer", optimizer_names)
NORM = Names("norm", norm_names, "none")


def _preset(ctx, param, value):
    if value is None or value in PRESETS:
        return value
    raise click.BadParameter(f"unknown preset {value!r}{did_you_mean(value, PRESETS)}; "
                             f"valid names: {', '.join(PRESETS)}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="handgrad")
def main():
    """handgrad: a multi-layer perceptron with every gradient derived by hand."""


@main.command()
@click.option("--layers", "sizes", type=str, callback=_int_list, required=True,
              help="Layer sizes, e.g. 784,256,128,10.")
@click.option("--batch-size", "--batch", "batch", default=64, show_default=True,
              type=click.IntRange(1), help="Batch size B.")
@click.option("--activation", default="relu", show_default=True, type=ACTIVATION,
              help="Hidden activation.")
def trace(sizes, batch, activation):
    """Print the forward and backward shape tables, parameter count and memory."""
    model = MLP(sizes, [activation] * (len(sizes) - 2) + ["softmax"], seed=0)
    click.echo(str(run_trace(model, batch)))


@main.command()
@click.option("--layers", "sizes", type=str, callback=_int_list, default="4,16,16,3",
              show_default=True, help="Layer sizes.")
@click.option("--activation", default="tanh", show_default=True, type=ACTIVATION,
              help="Hidden activation.")
@click.option("--loss", type=Names("loss", loss_names, aliases=LOSS_ALIASES), default="ce",
              show_default=True, help="The loss, and with it the output: softmax for "
              "cross-entropy (ce), one sigmoid unit for binary cross-entropy (bce), linear "
              "for MSE.")
@click.option("--norm", type=NORM, default="none",
              show_default=True, help="Norm after each hidden linear layer.")
@click.option("--batch-size", "--batch", "batch", default=8, show_default=True,
              type=click.IntRange(1), help="Batch size B.")
@click.option("--tol", default=1e-6, show_default=True, help="Largest relative error that passes.")
@click.option("--eps", default=1e-5, show_default=True, help="Finite-difference step.")
@click.option("--seed", default=0, show_default=True)
def gradcheck(sizes, activation, loss, norm, batch, tol, eps, seed):
    """Check every analytic gradient against central differences (float64).

    Exits with status 1 when any parameter's relative error exceeds --tol.
    """
    output = LOSSES[get_loss_name(loss)].output
    if output == "sigmoid":
        sizes = sizes[:-1] + [1]
    model = MLP(sizes, [activation] * (len(sizes) - 2) + [output], seed=seed, dtype=np.float64,
                norm=None if norm == "none" else norm, output_scale=1.0, loss=loss)
    rng = np.random.default_rng(seed + 1)
    X = rng.standard_normal((batch, sizes[0]))
    y = {"classification": lambda: rng.integers(0, sizes[-1], batch),
         "binary": lambda: rng.integers(0, 2, batch),
         "regression": lambda: rng.standard_normal((batch, sizes[-1]))}[model.task]()
    report = run_gradcheck(model, X, y, eps=eps, tol=tol)
    click.echo(f"gradient check of {sizes} ({activation}, {loss}, batch {batch}, float64)")
    click.echo(str(report))
    sys.exit(0 if report.passed else 1)


def _default_dataset():
    """scikit-learn's digits when scikit-learn is installed, else the blobs."""
    from importlib.util import find_spec
    return "digits" if find_spec("sklearn") else "blobs"


def _prepare_out(out, resume, overwrite):
    """The run folder's checkpoint path, after refusing to destroy an earlier run."""
    if out is None:
        if resume:
            raise click.UsageError("--resume needs --out: the run folder to continue")
        if overwrite:
            raise click.UsageError("--overwrite needs --out: the run folder to replace")
        return None
    if resume and overwrite:
        raise click.UsageError("--resume continues the run in --out and --overwrite replaces "
                               "it: pick one")
    checkpoint = Path(out) / "checkpoint.safetensors"
    earlier = existing_run_files(out)
    if resume and not checkpoint.is_file():
        raise click.UsageError(f"--resume needs --out with a checkpoint in it; found none at {checkpoint}")
    if earlier and not resume:
        if not overwrite:
            raise click.ClickException(
                f"{out} already holds a run ({', '.join(p.name for p in earlier)}). Continue it "
                f"with --resume (and more --epochs), replace it with --overwrite, or pick "
                "another --out.")
        for path in earlier:             # only the files a run writes: nothing else of the user's
            path.unlink()
    return checkpoint


@main.command()
@click.option("--preset", default=None, callback=_preset,
              help=f"A named recipe: {', '.join(PRESETS)}. Options override it.")
@click.option("--dataset", default=None, help="digits (default with scikit-learn), blobs "
              "(default without), mnist, fashion-mnist, spiral, …")
@click.option("--layers", "sizes", type=str, callback=_int_list, default=None,
              help="Layer sizes; default: features,256,classes.")
@click.option("--activation", default=None, type=ACTIVATION, help="Hidden activation [relu].")
@click.option("--epochs", default=None, type=click.IntRange(1),
              help="Epochs [30 on small sets, 5 on MNIST-sized ones]. With --resume: the total "
              "the run should reach.")
@click.option("--optimizer", type=OPTIMIZER, default=None,
              help="[sgd] momentum and nesterov are SGD with momentum 0.9 (unless --momentum).")
@click.option("--lr", default=None, type=click.FloatRange(0, min_open=True),
              help="Learning rate [0.1].")
@click.option("--momentum", default=None, type=click.FloatRange(0, 1, max_open=True),
              help="SGD momentum [0].")
@click.option("--nesterov", is_flag=True, default=None, help="Nesterov momentum.")
@click.option("--weight-decay", default=None, type=click.FloatRange(0),
              help="L2 for sgd/adam, decoupled for adamw [0; adamw 0.01].")
@click.option("--dropout", default=None, type=click.FloatRange(0, 1, max_open=True),
              help="Dropout after each hidden layer [0].")
@click.option("--norm", type=NORM, default=None,
              help="Norm after each hidden linear map [none].")
@click.option("--batch-size", "--batch", "batch_size", default=None, type=click.IntRange(1),
              help="Mini-batch size [16 on small sets, 128 on MNIST-sized ones].")
@click.option("--schedule", type=Names("schedule", schedule_names, "none"), default=None,
              help="Learning-rate schedule over the run [none]. A resumed run keeps the "
              "schedule it was planned with, even with more --epochs (it says so).")
@click.option("--warmup-epochs", default=None, type=click.IntRange(0), help="Linear warm-up [0].")
@click.option("--clip-norm", default=None, type=click.FloatRange(0, min_open=True),
              help="Clip the global gradient norm.")
@click.option("--early-stopping", default=None, type=click.IntRange(1),
              help="Patience in epochs; the best weights are put back.")
@click.option("--val-fraction", default=None, type=click.FloatRange(0, 1, max_open=True),
              help="Hold out this share of the training set for validation [0: the test set "
              "is shown as validation and nothing is tuned on it].")
@click.option("--standardize", is_flag=True, default=None, help="Standardize the features.")
@click.option("--backend", type=Names("backend", backend_names), default=None,
              help="Who computes the steps [numpy].")
@click.option("--divergence-factor", default=None, type=click.FloatRange(1, min_open=True),
              help="Stop when the loss exceeds this many times its starting value [1000]; NaN "
              "or infinity always stop.")
@click.option("--seed", default=None, type=int, help="[0]")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Run folder: checkpoint, history (CSV, JSON) and pictures.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its checkpoint.")
@click.option("--overwrite", is_flag=True, help="Replace the run already in --out.")
@click.option("--data-dir", default=None, type=click.Path(),
              help="Folder holding the dataset's files (it must exist and hold them).")
@click.option("--no-plots", is_flag=True, help="Skip the pictures.")
@click.option("--quiet", is_flag=True, help="No progress bar or epoch lines.")
@click.option("--workers", default=None, type=click.IntRange(1),
              help="Processes on this machine that train the model together (data parallel, "
              "torch.distributed): each takes 1/N of every batch, and the summed gradients "
              "make the same steps as one process. The batch size must divide by the number "
              "of workers [1].")
@click.option("--nnodes", default=1, show_default=True, type=click.IntRange(1),
              help="Machines taking part, each running this same command with --workers "
              "and --rdzv-endpoint.")
@click.option("--rdzv-endpoint", default=None, metavar="HOST:PORT",
              help="Where the machines of an --nnodes run meet: one machine's address and a "
              "free port.")
@click.option("--timeout", default=60.0, show_default=True,
              type=click.FloatRange(0, min_open=True),
              help="Seconds a worker waits for the others; a worker that dies or hangs stops "
              "the run with an error after at most this long.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
              help="With --backend torch and --workers: cuda gives each worker its own GPU "
              "(NCCL).")
def train(preset, sizes, out, resume, overwrite, data_dir, no_plots, quiet, workers, nnodes,
          rdzv_endpoint, timeout, device, **options):
    """Train an MLP (the lesson's: ReLU hidden layers, softmax output, SGD) and report test accuracy.

    A loss that turns NaN or infinite, or grows past --divergence-factor times its
    starting value, stops the run with exit status 1 and keeps the last good weights.

    --workers N trains in N processes, data parallel; under torchrun
    (torchrun --nproc-per-node N -m handgrad train ...) each process is one worker.
    """
    parallel = (workers or 1) > 1 or nnodes > 1 or launched_by_torchrun()
    if parallel and env_rank() != 0:       # under torchrun, worker 0 checks and clears --out
        checkpoint = Path(out) / "checkpoint.safetensors" if out else None
    else:
        checkpoint = _prepare_out(out, resume, overwrite)
    try:
        saved = load_checkpoint(checkpoint).meta("recipe", {}) if resume else {}
        options["layers"] = sizes
        if options["norm"] == "none":
            options["norm"] = None
        recipe = resolve(preset, **{**saved, **{k: v for k, v in options.items() if v is not None}})
        recipe["dataset"] = recipe["dataset"] or _default_dataset()
        if parallel:
            report = _train_data_parallel(recipe, out, resume, data_dir, not no_plots, quiet,
                                          workers, nnodes, rdzv_endpoint, timeout, device)
        elif device != "cpu":
            raise click.UsageError("--device cuda runs the data-parallel PyTorch twin: add "
                                   "--backend torch and --workers")
        else:
            result = run_recipe(recipe, data_dir=data_dir, checkpoint=checkpoint, resume=resume,
                                verbose=not quiet, progress=not quiet, log=click.echo)
    except DivergenceError as e:
        raise click.ClickException(f"training diverged: {e}") from None
    except (ValueError, FileNotFoundError, ImportError, WorkerError, WorkerLostError) as e:
        raise click.ClickException(str(e)) from None
    if parallel:
        if report is not None:             # None: a worker other than 0, which reports
            _finish(out, report.interrupted, report.epochs, report.test_accuracy,
                    report.n_test, report.dataset, lambda: report.written)
        return
    data = result.data
    _finish(out, result.history.interrupted, len(result.history), result.test_accuracy,
            len(data.X_test), data.name,
            lambda: write_run(out, result.model, result.history, data, plots=not no_plots,
                              test_accuracy=result.test_accuracy) + [checkpoint])


def _finish(out, interrupted, epochs, accuracy, n_test, dataset, write):
    """The end of a training run: the test accuracy and the files written (by ``write()``)."""
    if interrupted:
        again = f"{prog()} train --out {out} --resume" if out else None
        click.echo(f"interrupted after epoch {epochs}"
                   + (f"; resume with: {again}" if again else ""))
        sys.exit(130)
    click.echo(f"test accuracy: {100 * accuracy:.2f}% ({n_test:,} {dataset} test examples)")
    if out:
        for path in write():
            click.echo(f"wrote {path}")


def _train_data_parallel(recipe, out, resume, data_dir, plots, quiet, workers, nnodes,
                         rdzv_endpoint, timeout, device):
    """Worker 0's Report of a data-parallel run (None in the other workers under torchrun)."""
    if device == "cuda" and recipe["backend"] != "torch":
        raise click.UsageError("--device cuda runs the PyTorch twin: add --backend torch")
    job = Job(recipe, data_dir=data_dir, out=out, resume=resume, plots=plots, verbose=not quiet,
              timeout=timeout, device=device)
    if launched_by_torchrun():
        if workers or nnodes > 1 or rdzv_endpoint:
            raise click.UsageError("under torchrun, its own options place the workers: leave "
                                   "out --workers, --nnodes and --rdzv-endpoint")
        return run(job, log=click.echo)
    return launch(job, workers or 1, nnodes=nnodes, rdzv_endpoint=rdzv_endpoint)


def _load_run(path):
    """(checkpoint, NumPy model) from a run folder or a checkpoint file, or a clean CLI error."""
    p = Path(path)
    try:
        ckpt = load_checkpoint(p / "checkpoint.safetensors" if p.is_dir() else p)
        return ckpt, ckpt.model()
    except (ValueError, FileNotFoundError) as e:
        raise click.ClickException(str(e)) from None


@main.command()
@click.argument("run", type=click.Path(exists=True))
@click.option("--dataset", default=None, help="Default: the dataset the run trained on.")
@click.option("--data-dir", default=None, type=click.Path())
def evaluate(run, dataset, data_dir):
    """Test loss, accuracy and per-class accuracy of a run folder or checkpoint file."""
    ckpt, model = _load_run(run)
    dataset = dataset or ckpt.meta("recipe", {}).get("dataset")
    if dataset is None:
        raise click.UsageError("this checkpoint does not say its dataset; pass --dataset")
    try:
        data = load_dataset(dataset, data_dir=data_dir)
        result = model.evaluate(data.X_test, data.y_test)
    except (ValueError, FileNotFoundError) as e:
        raise click.ClickException(str(e)) from None
    pred = model.predict(data.X_test)
    cm = confusion_matrix(data.y_test, pred, data.n_classes)
    click.echo(f"{data.name} test set: loss {result['loss']:.4f}, accuracy "
               f"{100 * result['accuracy']:.2f}% ({len(pred):,} examples)")
    for k, name in enumerate(data.classes):
        click.echo(f"  {name:>12}: {100 * cm[k, k] / max(cm[k].sum(), 1):6.2f}%  ({cm[k].sum()})")


@main.command()
@click.argument("checkpoint", type=click.Path(exists=True))
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--top", default=3, show_default=True, type=click.IntRange(1),
              help="How many classes to show.")
@click.option("--resize", is_flag=True,
              help="Resize images that are not the model's input size (otherwise an error).")
def predict(checkpoint, images, top, resize):
    """Classify images (PNG or .npy) with a trained checkpoint."""
    ckpt, model = _load_run(checkpoint)
    classes = _class_names(ckpt.meta("recipe", {}).get("dataset"), model.layer_sizes[-1])
    for path in images:
        try:
            probs = model.predict_proba(load_inputs(path, model.layer_sizes[0], resize=resize))
        except (ValueError, ImportError) as e:
            raise click.ClickException(f"{path}: {e}" if str(path) not in str(e) else str(e)) from None
        for i, p in enumerate(probs):
            best = np.argsort(p)[::-1][:top]
            label = f"{path}" + (f"[{i}]" if len(probs) > 1 else "")
            click.echo(f"{label}: {classes[best[0]]}  ("
                       + ", ".join(f"{classes[k]} {100 * p[k]:.1f}%" for k in best) + ")")


def _class_names(dataset, n):
    names = DATASETS.get(dataset or "", {}).get("classes")
    return names if names and len(names) == n else [str(k) for k in range(n)]


@main.command()
@click.option("--dataset", default="digits", show_default=True,
              help=f"One of: {', '.join(available_datasets())}.")
@click.option("--epochs", default=5, show_default=True, type=click.IntRange(1))
@click.option("--layers", "sizes", type=str, callback=_int_list, default=None,
              help="Layer sizes; default: features,256,classes.")
@click.option("--activation", default="relu", show_default=True, type=ACTIVATION)
@click.option("--optimizer", type=OPTIMIZER, default="sgd", show_default=True)
@click.option("--lr", default=0.1, show_default=True, type=click.FloatRange(0, min_open=True))
@click.option("--momentum", default=0.0, show_default=True, type=click.FloatRange(0, 1, max_open=True))
@click.option("--batch-size", "--batch", "batch_size", default=32, show_default=True,
              type=click.IntRange(1))
@click.option("--seed", default=0, show_default=True)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
              help="Where the PyTorch twin (and MLX, with its CUDA backend) runs; needs a "
              "CUDA build of PyTorch (./run.sh installs the CPU build).")
@click.option("--backends", default=lambda: ",".join(backend_names()),
              show_default="all of them", help="Which backends to train, comma-separated.")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="A folder for compare-losses.png, the three loss curves (none without it).")
@click.option("--data-dir", default=None, type=click.Path())
def compare(dataset, epochs, sizes, activation, optimizer, lr, momentum, batch_size, seed, device,
            backends, out, data_dir):
    """Train one network in NumPy, PyTorch and MLX from the same weights and batches."""
    chosen = tuple(b.strip() for b in backends.split(",") if b.strip())
    unknown = [b for b in chosen if b not in backend_names()]
    if unknown or not chosen:
        raise click.BadParameter(f"unknown backend(s) {', '.join(unknown) or '(none)'}; valid "
                                 f"names: {', '.join(backend_names())}", param_hint="--backends")
    try:
        report = run_compare(dataset, epochs, sizes, activation, lr, batch_size, optimizer,
                             momentum, seed, device, backends=chosen, data_dir=data_dir)
    except (ValueError, FileNotFoundError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(format_table(report))
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        try:
            click.echo(f"plot: {plot_losses(report, Path(out) / 'compare-losses.png')}")
        except ImportError as e:
            click.echo(f"no plot: {e}")
    if all("error" in r for r in report["results"].values()):
        raise click.ClickException("no backend could train: see the errors above")


@main.command()
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the picture: .svg, .png or .pdf (needs Graphviz), or .dot (text).")
def engine(out):
    """The scalar autograd engine on the lesson's graph: L = relu(a·b + c), a = 2, b = -3, c = 10.

    Prints every value and its gradient, the topological order that backward
    walks in reverse, and each operation's local rule.
    """
    if out is not None and Path(out).suffix.lower() not in (".svg", ".png", ".pdf", ".dot", ".gv"):
        raise click.BadParameter(f"cannot tell the format from {out!r}: end it in .svg, .png, "
                                 ".pdf or .dot", param_hint="--out")
    L = example_graph()
    click.echo(describe(L))
    if out is None:
        return
    try:
        draw(L, out)
    except (ImportError, RuntimeError) as e:     # the graphviz package or the dot program missing
        raise click.ClickException(f"{e} (or use --out {Path(out).with_suffix('.dot')})") from None
    except OSError as e:
        raise click.ClickException(f"cannot write {out}: {e.strerror or e}") from None
    click.echo(f"\nwrote {out}")


@main.command()
@click.option("--gate", required=True, type=click.Choice(list(GATES), case_sensitive=False),
              help="The logic gate to learn.")
@click.option("--epochs", default=1000, show_default=True, type=click.IntRange(1),
              help="Most epochs to run (training stops at the first epoch without a mistake).")
@click.option("--lr", default=1.0, show_default=True, type=click.FloatRange(0, min_open=True),
              help="Learning rate.")
def perceptron(gate, epochs, lr):
    """Rosenblatt's perceptron on a logic gate: AND, OR and NAND converge; XOR cycles for ever."""
    click.echo(gate_report(gate.lower(), epochs=epochs, lr=lr))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 127.0.0.1 is this computer only.")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on; 0 picks a free one.")
@click.option("--no-browser", is_flag=True, help="Print the address but do not open a browser.")
@click.option("--export", "export_dir", default=None, metavar="DIR",
              type=click.Path(file_okay=False, path_type=Path),
              help="Write a static copy of the race, backprop and graph views (with "
                   "precomputed runs) into DIR instead of starting a server.")
def playground(host, port, no_browser, export_dir):
    """Start the playground: a local page that trains handgrad's own networks live.

    Four views: the playground (data, layers, the decision boundary and every neuron
    as it trains), an optimizer race, backprop step by step, and the scalar-engine graph.
    Ctrl-C stops the server.
    """
    if export_dir is not None:
        from .playground.export import export_static
        try:
            out = export_static(export_dir)
        except (OSError, ValueError) as e:
            raise click.ClickException(f"cannot export the playground to {export_dir}: {e}") from None
        click.echo(f"wrote {out / 'index.html'}: open it in a browser or put the folder on any "
                   "static host (no server needed)")
        return
    try:
        from .playground.server import is_loopback, serve
    except ImportError as e:                 # names the extra: pip install 'handgrad[playground]'
        raise click.ClickException(str(e)) from None
    if not is_loopback(host):
        click.echo(f"note: listening on {host}: other computers on the network can reach "
                   "this server", err=True)
    try:
        serve(host, port, open_browser=not no_browser, log=click.echo)
    except OSError as e:
        raise click.ClickException(str(e)) from None
    except KeyboardInterrupt:
        pass


main.add_command(lab_group)
main.add_command(learn_group)


if __name__ == "__main__":
    main()
