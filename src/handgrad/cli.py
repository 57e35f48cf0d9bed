"""The ``handgrad`` command line (click). One function per command; add one with @main.command.

Every error a user can cause ends in one clear line and a non-zero exit:
``click.ClickException`` (exit 1) for bad data and files, ``click.UsageError`` /
``click.BadParameter`` (exit 2) for bad options — click's own usage errors included, which
``Handgrad`` prints on one line. A number option takes a ``Number`` (finite, in its range),
a list of sizes ``Sizes``, a family's name ``Names``; an output path is checked with
``io.unwritable`` before any work starts. ``tests/test_property_cli.py`` walks this command
tree and tries bad values on every option.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
import numpy as np

from .check import gradcheck as run_gradcheck
from .check import trace as run_trace
from .compare import compare as run_compare
from .compare import format_table, plot_losses
from .data import DATASETS, available_datasets, load_dataset
from .data.datasets import ALIASES as DATASET_ALIASES
from .distributed import (
    Interrupted,
    Job,
    Report,
    WorkerError,
    WorkerLostError,
    env_rank,
    launch,
    launched_by_torchrun,
    run,
)
from .engine.draw import draw
from .engine.example import describe, example_graph
from .history import DivergenceError
from .images import load_inputs
from .invocation import prog
from .io import Checkpoint, load_checkpoint, unwritable
from .lab.commands import lab as lab_group
from .learn.commands import learn as learn_group
from .mlp import MLP
from .nn.activations import ACTIVATION_ALIASES, activation_names
from .nn.losses import LOSS_ALIASES, LOSSES, get_loss_name, loss_names
from .nn.norms import norm_names
from .optim import optimizer_names, optimizer_settings, schedule_names
from .perceptron import GATES, gate_report
from .plot import confusion_matrix
from .recipes import (
    PRESETS,
    RESUMABLE,
    did_you_mean,
    existing_run_files,
    resolve,
    resume_conflicts,
    run_recipe,
    saved_settings,
    write_run,
)
from .twins import backend_names

_T = TypeVar("_T")

if TYPE_CHECKING:       # click 8.4 made its parameter types generic; older ones take no [...]
    _Choice = click.Choice[str]
    _SizesType = click.ParamType[list[int]]
    _BackendsType = click.ParamType[tuple[str, ...]]
else:
    _Choice = click.Choice
    _SizesType = _BackendsType = click.ParamType


class Handgrad(click.Group):
    """The ``handgrad`` group: click's usage errors (a bad option, a missing argument) come out
    on one line, ``Error: … (see 'handgrad train --help')``, instead of the usage, a hint and
    the error on four. Usage lines and those hints name the command the user typed
    (``./run.sh`` when started through it)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("prog_name", prog())
        return super().main(*args, **kwargs)

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        return _one_line(lambda: super(Handgrad, self).make_context(info_name, args, parent,
                                                                    **extra))

    def invoke(self, ctx: click.Context) -> Any:
        return _one_line(lambda: super(Handgrad, self).invoke(ctx))


# `handgrad` alone prints the help (click raises it as a usage error); that stays as it is
_HELP_WITHOUT_ARGUMENTS = getattr(click.exceptions, "NoArgsIsHelpError", ())


def _one_line(call: Callable[[], _T]) -> _T:
    try:
        return call()
    except click.UsageError as e:
        if e.ctx is None or isinstance(e, _HELP_WITHOUT_ARGUMENTS):
            raise
        message = e.format_message().replace("\n", " ").rstrip(".")
        raise click.UsageError(f"{message} (see '{e.ctx.command_path} --help')") from None


class Names(_Choice):
    """A choice among a registry's names, read when the command runs (so a name registered
    after this module was imported is offered too).

    ``what`` is the family ("activation"), ``names()`` lists its registry's names, ``extra``
    are offered before them ("none" for the norm and the schedule) and ``aliases`` (a dict,
    read live) are other spellings it accepts. Case is ignored; a wrong name is one line
    with the closest name and the valid ones.
    """

    def __init__(self, what: str, names: Callable[[], Iterable[str]], *extra: str,
                 aliases: Mapping[str, str] | None = None) -> None:
        self.what, self.names, self.extra, self.aliases = what, names, extra, aliases or {}
        self.case_sensitive = False

    @property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]  # read live, never set
        return (*self.extra, *self.names())

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        key = str(value).lower()
        if key in self.choices or key in self.aliases:
            return key
        self.fail(f"unknown {self.what} {value!r}{did_you_mean(key, self.choices)}; "
                  f"valid names: {', '.join(self.choices)}", param, ctx)


class Number(click.FloatRange):
    """A finite number in a range (click's FloatRange lets NaN and infinity through)."""

    name = "number"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"expected a finite number; got {value!r}", param, ctx)
        return number


SEED = click.IntRange(0, 2**32 - 1)       # as NumPy's generators and scikit-learn take them


class Sizes(_SizesType):
    """Layer sizes, comma-separated: at least two whole numbers from 1 to ``most`` (None: no
    limit, for a command that only computes with them). Every item counts: an empty one,
    a number that is not whole or not positive is refused, never skipped."""

    name = "sizes"

    def __init__(self, most: int | None = None) -> None:
        self.most = most

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> list[int]:
        if isinstance(value, list):
            return value
        items = str(value).split(",")
        for i, item in enumerate(items, 1):
            where = f"item {i} of {value!r}"
            if not item.strip():
                self.fail(f"{where} is empty; expected comma-separated sizes like 784,256,10",
                          param, ctx)
            try:
                n = int(item)
            except ValueError:
                self.fail(f"{where} is {item.strip()!r}, not a whole number; expected "
                          "comma-separated sizes like 784,256,10", param, ctx)
            if n < 1:
                self.fail(f"{where} is {n}; a layer needs at least 1 unit", param, ctx)
            if self.most is not None and n > self.most:
                self.fail(f"{where} is {n:,}; the most this command takes is {self.most:,} "
                          "units a layer", param, ctx)
        if len(items) < 2:
            self.fail(f"need at least two sizes, the inputs and the outputs (like 784,10); got "
                      f"{value!r}", param, ctx)
        return [int(item) for item in items]


class Backends(_BackendsType):
    """Backend names, comma-separated, each once (every item counts, as with ``Sizes``)."""

    name = "backends"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        items = [item.strip().lower() for item in str(value).split(",")]
        for i, item in enumerate(items, 1):
            if not item:
                self.fail(f"item {i} of {value!r} is empty; expected names like numpy,torch",
                          param, ctx)
            if item not in backend_names():
                self.fail(f"unknown backend {item!r}{did_you_mean(item, backend_names())}; "
                          f"valid names: {', '.join(backend_names())}", param, ctx)
            if items.index(item) != i - 1:
                self.fail(f"{item} is named twice in {value!r}", param, ctx)
        return tuple(items)


ACTIVATION = Names("activation", activation_names, aliases=ACTIVATION_ALIASES)
OPTIMIZER = Names("optimizer", optimizer_names)
NORM = Names("norm", norm_names, "none")
DATASET = Names("dataset", available_datasets, aliases=DATASET_ALIASES)
PRESET = Names("preset", lambda: list(PRESETS))
# the widest layer a command that trains or checks will build: 100,000 units (a 784 -> 100,000
# layer is 300 MB of float32 weights); trace, which builds nothing, takes any size
WIDEST = 100_000


def _out_folder(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An output folder that can be written (made if missing), checked before any work."""
    if value is not None:
        why = unwritable(value, folder=True)
        if why:
            raise click.BadParameter(why, ctx, param)
    return value


def _out_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An output file in a folder that exists and can be written, checked before any work."""
    if value is not None:
        parent = Path(value).parent
        if not parent.is_dir():
            raise click.BadParameter(f"the folder {parent} does not exist", ctx, param)
        why = unwritable(value, folder=False)
        if why:
            raise click.BadParameter(why, ctx, param)
    return value


def _memory_check(layers: Sequence[int] | None, batch_size: int, what: str = "train") -> None:
    """A usage error when the network could not even be held in this computer's memory."""
    if layers is None:
        return
    need = run_trace(layers, batch_size).bytes("training total")
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):      # no such counters here: let it try
        return
    if need > have:
        raise click.UsageError(
            f"to {what} {' -> '.join(f'{n:,}' for n in layers)} at batch {batch_size} needs "
            f"{need / 2**30:,.1f} GiB of memory; this computer has {have / 2**30:,.1f} GiB. "
            f"See '{prog()} trace --layers {','.join(map(str, layers))}' for where it goes.")


@click.group(cls=Handgrad, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="handgrad")
def main() -> None:
    """handgrad: a multi-layer perceptron with every gradient derived by hand."""


@main.command()
@click.option("--layers", type=Sizes(), required=True,
              help="Layer sizes, e.g. 784,256,128,10 (any size: nothing of that size is made).")
@click.option("--batch-size", "--batch", "batch_size", default=64, show_default=True,
              type=click.IntRange(1), help="Batch size B.")
@click.option("--activation", default="relu", show_default=True, type=ACTIVATION,
              help="Hidden activation.")
def trace(layers: list[int], batch_size: int, activation: str) -> None:
    """Print the forward and backward shape tables, parameter count and memory.

    They are computed from the sizes: a small stand-in with the same layers runs once, so
    a network too large for this computer's memory is traced as well.
    """
    spec = {"layer_sizes": layers, "activations": [activation] * (len(layers) - 2) + ["softmax"]}
    click.echo(str(run_trace(spec, batch_size)))


# a gradient check nudges every parameter twice: 2 forward passes each, about a millisecond
# here for a small network, so a million parameters take a quarter of an hour
MOST_CHECKED = 1_000_000


@main.command()
@click.option("--layers", type=Sizes(most=WIDEST), default="4,16,16,3",
              show_default=True, help="Layer sizes.")
@click.option("--activation", default="tanh", show_default=True, type=ACTIVATION,
              help="Hidden activation.")
@click.option("--loss", type=Names("loss", loss_names, aliases=LOSS_ALIASES), default="ce",
              show_default=True, help="The loss, and with it the output: softmax for "
              "cross-entropy (ce), one sigmoid unit for binary cross-entropy (bce), linear "
              "for MSE.")
@click.option("--norm", type=NORM, default="none",
              show_default=True, help="Norm after each hidden linear layer.")
@click.option("--batch-size", "--batch", "batch_size", default=8, show_default=True,
              type=click.IntRange(1, 4096), help="Batch size B.")
@click.option("--tol", default=1e-6, show_default=True,
              type=Number(0, 1, min_open=True, max_open=True),
              help="Largest relative error that passes (a relative error is at most 1).")
@click.option("--eps", default=1e-5, show_default=True, type=Number(0, 1, min_open=True),
              help="Finite-difference step.")
@click.option("--seed", default=0, show_default=True, type=SEED)
def gradcheck(layers: list[int], activation: str, loss: str, norm: str, batch_size: int,
              tol: float, eps: float, seed: int) -> None:
    """Check every analytic gradient against central differences (float64).

    Exits with status 1 when any parameter's relative error exceeds --tol. Each of the
    network's parameters costs two forward passes: a progress bar shows how far it is,
    Ctrl-C stops it, and networks over 1,000,000 parameters are refused.
    """
    output = LOSSES[get_loss_name(loss)].output
    if output == "sigmoid":
        layers = layers[:-1] + [1]
    entries = sum(a * b + b for a, b in itertools.pairwise(layers))
    if entries > MOST_CHECKED:
        raise click.UsageError(
            f"{' -> '.join(map(str, layers))} has {entries:,} parameters; a gradient check "
            f"nudges each one twice, so the most it takes is {MOST_CHECKED:,}. Check a "
            "narrower network with the same layers: the formulas do not depend on the widths.")
    model = MLP(layers, [activation] * (len(layers) - 2) + [output], seed=seed,
                dtype=np.float64, norm=None if norm == "none" else norm, output_scale=1.0,
                loss=loss)
    rng = np.random.default_rng(seed + 1)
    X = rng.standard_normal((batch_size, layers[0]))
    draw: dict[str, Callable[[], np.ndarray]] = {
        "classification": lambda: rng.integers(0, layers[-1], batch_size),
        "binary": lambda: rng.integers(0, 2, batch_size),
        "regression": lambda: rng.standard_normal((batch_size, layers[-1]))}
    y = draw[model.task]()
    click.echo(f"gradient check of {layers} ({activation}, {loss}, batch {batch_size}, float64)")
    try:
        report = run_gradcheck(model, X, y, eps=eps, tol=tol, progress=True)
    except KeyboardInterrupt:
        _interrupted("gradient check interrupted before it finished; nothing was checked")
    except ValueError as e:       # BatchNorm on a batch of 1, say
        raise click.ClickException(str(e)) from None
    click.echo(str(report))
    sys.exit(0 if report.passed else 1)


def _interrupted(message: str) -> NoReturn:
    """Ctrl-C: one line, and exit status 130 as a shell gives it."""
    click.echo(message, err=True)
    sys.exit(130)


def _default_dataset() -> str:
    """scikit-learn's digits when scikit-learn is installed, else the blobs."""
    from importlib.util import find_spec
    return "digits" if find_spec("sklearn") else "blobs"


def _prepare_out(out: str | None, resume: bool,
                 overwrite: bool) -> tuple[Path | None, list[Path]]:
    """(the run folder's checkpoint path, the earlier run's files that --overwrite replaces),
    after refusing to destroy an earlier run."""
    if out is None:
        if resume:
            raise click.UsageError("--resume needs --out: the run folder to continue")
        if overwrite:
            raise click.UsageError("--overwrite needs --out: the run folder to replace")
        return None, []
    if resume and overwrite:
        raise click.UsageError("--resume continues the run in --out and --overwrite replaces "
                               "it: pick one")
    checkpoint = Path(out) / "checkpoint.safetensors"
    earlier = existing_run_files(out)
    if resume and not checkpoint.is_file():
        raise click.UsageError(f"--resume needs --out with a checkpoint in it; found none at {checkpoint}")
    if earlier and not resume and not overwrite:
        raise click.ClickException(
            f"{out} already holds a run ({', '.join(p.name for p in earlier)}). Continue it "
            f"with --resume (and more --epochs), replace it with --overwrite, or pick "
            "another --out.")
    return checkpoint, ([] if resume else earlier)


class _Replacing:
    """The earlier run's files that --overwrite replaces, moved aside (into a hidden folder
    in the run folder) while the new run starts: a run that fails before it writes its first
    checkpoint puts them back, one that wrote it removes them. Only the files a run writes
    are touched, nothing else of the user's."""

    files: list[Path]
    aside: Path                 # None only without files, and then it is never read

    def __init__(self, out: str | None, files: list[Path]) -> None:
        self.files = files
        self.aside = Path(out) / ".handgrad-replaced-run" if out else None  # type: ignore[assignment]

    def __enter__(self) -> _Replacing:
        if self.files:
            self.aside.mkdir(exist_ok=True)
            for path in self.files:
                path.replace(self.aside / path.name)
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.files:
            return
        started = (self.aside.parent / "checkpoint.safetensors").exists()
        for path in self.files:
            kept = self.aside / path.name
            if started:
                kept.unlink()
            elif not path.exists():
                kept.replace(path)
        if not any(self.aside.iterdir()):
            self.aside.rmdir()


def _endpoint(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """HOST:PORT, the port a whole number from 1 to 65535."""
    if value is None:
        return None
    host, _, port = value.rpartition(":")
    if not host.strip() or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise click.BadParameter(f"expected HOST:PORT, a machine's address and a port from 1 to "
                                 f"65535, like 10.0.0.1:29400; got {value!r}", ctx, param)
    return value


RESUME_HELP = (
    "Continue the run in --out from its checkpoint, with the settings it began with: "
    f"only {', '.join('--' + k.replace('_', '-') for k in RESUMABLE)} may differ (and where "
    "it runs: --workers, --device, --data-dir). The data (--dataset, --val-fraction, "
    "--standardize, --seed), the network (--layers, --activation, --norm, --dropout) and "
    "how each step is taken (--optimizer, --momentum, --nesterov, --weight-decay, --lr, "
    "--schedule, --warmup-epochs, --batch-size, --clip-norm) are the run itself: the "
    "checkpoint holds their weights and state, and a resumed run continues exactly as the "
    "uninterrupted one would have. Asked to change them, it refuses and names them. "
    "--early-stopping may change its patience, not start in a run that had none.")


@main.command()
@click.option("--preset", default=None, type=PRESET,
              help=f"A named recipe: {', '.join(PRESETS)}. Options override it.")
@click.option("--dataset", default=None, type=DATASET,
              help="digits (default with scikit-learn), blobs (default without), mnist, "
              "fashion-mnist, spiral, …")
@click.option("--layers", type=Sizes(most=WIDEST), default=None,
              help="Layer sizes; default: features,256,classes.")
@click.option("--activation", default=None, type=ACTIVATION, help="Hidden activation [relu].")
@click.option("--epochs", default=None, type=click.IntRange(1, 1_000_000),
              help="Epochs [30 on small sets, 5 on MNIST-sized ones]. With --resume: the total "
              "the run should reach.")
@click.option("--optimizer", type=OPTIMIZER, default=None,
              help="[sgd] momentum and nesterov are SGD with momentum 0.9 (unless --momentum).")
@click.option("--lr", default=None, type=Number(0, min_open=True),
              help="Learning rate [0.1].")
@click.option("--momentum", default=None, type=Number(0, 1, max_open=True),
              help="SGD momentum [0].")
@click.option("--nesterov", is_flag=True, default=None, help="Nesterov momentum.")
@click.option("--weight-decay", default=None, type=Number(0),
              help="L2 for sgd/adam, decoupled for adamw [0; adamw 0.01].")
@click.option("--dropout", default=None, type=Number(0, 1, max_open=True),
              help="Dropout after each hidden layer [0].")
@click.option("--norm", type=NORM, default=None,
              help="Norm after each hidden linear map [none].")
@click.option("--batch-size", "--batch", "batch_size", default=None,
              type=click.IntRange(1, 1_000_000),
              help="Mini-batch size [16 on small sets, 128 on MNIST-sized ones]; one larger "
              "than the training set is the whole set.")
@click.option("--schedule", type=Names("schedule", schedule_names, "none"), default=None,
              help="Learning-rate schedule over the run [none]. A resumed run keeps the "
              "schedule it was planned with, even with more --epochs (it says so).")
@click.option("--warmup-epochs", default=None, type=click.IntRange(0, 1_000_000),
              help="Linear warm-up [0].")
@click.option("--clip-norm", default=None, type=Number(0, min_open=True),
              help="Clip the global gradient norm.")
@click.option("--early-stopping", default=None, type=click.IntRange(1, 1_000_000),
              help="Patience in epochs; the best weights are put back.")
@click.option("--val-fraction", default=None, type=Number(0, 1, max_open=True),
              help="Hold out this share of the training set for validation [0: the test set "
              "is shown as validation and nothing is tuned on it].")
@click.option("--standardize", is_flag=True, default=None,
              help="Standardize the features (the checkpoint keeps the statistics, so evaluate "
              "and predict standardize new inputs alike).")
@click.option("--backend", type=Names("backend", backend_names), default=None,
              help="Who computes the steps [numpy].")
@click.option("--divergence-factor", default=None, type=Number(1, min_open=True),
              help="Stop when the loss exceeds this many times its starting value [1000]; NaN "
              "or infinity always stop.")
@click.option("--seed", default=None, type=SEED, help="[0]")
@click.option("--out", default=None, type=click.Path(file_okay=False), callback=_out_folder,
              help="Run folder: checkpoint, history (CSV, JSON) and pictures.")
@click.option("--resume", is_flag=True, help=RESUME_HELP)
@click.option("--overwrite", is_flag=True,
              help="Replace the run already in --out (its files stay until the new run has "
              "written its first checkpoint).")
@click.option("--data-dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="Folder holding the dataset's files.")
@click.option("--no-plots", is_flag=True, help="Skip the pictures.")
@click.option("--quiet", is_flag=True, help="No progress bar or epoch lines.")
@click.option("--workers", default=None, type=click.IntRange(1, 1024),
              help="Processes on this machine that train the model together (data parallel, "
              "torch.distributed): each takes 1/N of every batch, and the summed gradients "
              "make the same steps as one process. The batch size must divide by the number "
              "of workers [1].")
@click.option("--nnodes", default=1, show_default=True, type=click.IntRange(1, 1024),
              help="Machines taking part, each running this same command with --workers "
              "and --rdzv-endpoint.")
@click.option("--rdzv-endpoint", default=None, metavar="HOST:PORT", callback=_endpoint,
              help="Where the machines of an --nnodes run meet: one machine's address and a "
              "free port.")
@click.option("--timeout", default=60.0, show_default=True,
              type=Number(0, min_open=True),
              help="Seconds to wait for the other workers or machines (meeting, joining, "
              "each all-reduce); a worker that dies or hangs stops the run with an error "
              "a few seconds after this long at most.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
              help="With --backend torch and --workers: cuda gives each worker its own GPU "
              "(NCCL).")
def train(preset: str | None, out: str | None, resume: bool, overwrite: bool,
          data_dir: str | None, no_plots: bool, quiet: bool, workers: int | None, nnodes: int,
          rdzv_endpoint: str | None, timeout: float, device: str, **options: Any) -> None:
    """Train an MLP (the lesson's: ReLU hidden layers, softmax output, SGD) and report test accuracy.

    A loss that turns NaN or infinite, or grows past --divergence-factor times its
    starting value, stops the run with exit status 1 and keeps the last good weights.

    --workers N trains in N processes, data parallel; under torchrun
    (torchrun --nproc-per-node N -m handgrad train ...) each process is one worker.
    """
    parallel = (workers or 1) > 1 or nnodes > 1 or launched_by_torchrun()
    earlier: list[Path]
    if parallel and env_rank() != 0:       # under torchrun, worker 0 checks and clears --out
        checkpoint, earlier = (Path(out) / "checkpoint.safetensors" if out else None), []
    else:
        checkpoint, earlier = _prepare_out(out, resume, overwrite)
    asked = {k: v for k, v in options.items() if v is not None}
    if preset is not None:
        asked = {**PRESETS[preset], **asked}
    for key in ("norm", "schedule"):                   # "none" asked for is no norm, no schedule
        if asked.get(key) == "none":
            asked[key] = None
    try:
        if resume:
            saved = saved_settings(load_checkpoint(checkpoint))  # type: ignore[arg-type]  # has --out
            conflicts = resume_conflicts(saved, asked)
            if conflicts:
                raise click.UsageError(_resume_refusal(out, conflicts))
            recipe = resolve(None, **{**saved, **asked})
        else:
            recipe = resolve(None, **asked)
    except (ValueError, FileNotFoundError) as e:
        raise click.ClickException(str(e)) from None
    recipe["dataset"] = recipe["dataset"] or _default_dataset()
    takes = optimizer_settings(recipe["optimizer"])
    unused = [k for k in ("momentum", "nesterov") if asked.get(k) and k not in takes]
    if unused:
        raise click.UsageError(f"{recipe['optimizer']} takes no "
                               f"{' or '.join('--' + k for k in unused)}: they are SGD's")
    _memory_check(recipe["layers"], recipe["batch_size"] or 128)
    try:
        with _Replacing(out, earlier):
            if parallel:
                report = _train_data_parallel(recipe, out, resume, data_dir, not no_plots, quiet,
                                              workers, nnodes, rdzv_endpoint, timeout, device)
            elif device != "cpu":
                raise click.UsageError("--device cuda runs the data-parallel PyTorch twin: add "
                                       "--backend torch and --workers")
            else:
                result = run_recipe(recipe, data_dir=data_dir, checkpoint=checkpoint,
                                    resume=resume, verbose=not quiet, progress=not quiet,
                                    log=click.echo)
    except DivergenceError as e:
        raise click.ClickException(f"training diverged: {e}") from None
    except MemoryError:
        raise click.ClickException("out of memory: try a smaller --batch-size or smaller "
                                   "--layers") from None
    except Interrupted as e:
        click.echo(f"Error: {e}", err=True)
        sys.exit(130)
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
            lambda: write_run(out, result.model, result.history,  # type: ignore[arg-type]  # only with --out
                              data, plots=not no_plots,
                              test_accuracy=result.test_accuracy) + [checkpoint])


def _resume_refusal(out: str | None, conflicts: Sequence[tuple[str, Any, Any]]) -> str:
    """One line: the settings a resumed run may not change, with the run's values."""
    def flag(key: str) -> str:
        return "--" + key.replace("_", "-")

    def shown(value: Any) -> str:
        if isinstance(value, list):
            return ",".join(map(str, value))
        return "none" if value is None else f"{value:g}" if isinstance(value, float) else str(value)

    asked = ", ".join(f"{flag(k)} {shown(now)} (the run's: {shown(was)})"
                      for k, was, now in conflicts)
    why = ("; --early-stopping cannot start in a run that had none, which kept no best "
           "weights" if any(k == "early_stopping" for k, _, _ in conflicts) else "")
    may = [flag(k) for k in RESUMABLE]
    return (f"--resume continues the run in {out} with the settings it began with; it cannot "
            f"take {asked}{why}. Leave them out, or start a new run with another --out; on "
            f"resume only {', '.join(may[:-1])} and {may[-1]} may change.")


def _finish(out: str | None, interrupted: bool, epochs: int, accuracy: float, n_test: int,
            dataset: str, write: Callable[[], Iterable[object]]) -> None:
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


def _train_data_parallel(recipe: dict[str, Any], out: str | None, resume: bool,
                         data_dir: str | None, plots: bool, quiet: bool, workers: int | None,
                         nnodes: int, rdzv_endpoint: str | None, timeout: float,
                         device: str) -> Report | None:
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


def _load_run(path: str) -> tuple[Checkpoint, Any]:
    """(checkpoint, NumPy model) from a run folder or a checkpoint file, or a clean CLI error."""
    p = Path(path)
    try:
        ckpt = load_checkpoint(p / "checkpoint.safetensors" if p.is_dir() else p)
        return ckpt, ckpt.model()
    except (ValueError, FileNotFoundError) as e:
        raise click.ClickException(str(e)) from None


@main.command()
@click.argument("run", type=click.Path(exists=True))
@click.option("--dataset", default=None, type=DATASET,
              help="Default: the dataset the run trained on.")
@click.option("--data-dir", default=None, type=click.Path(exists=True, file_okay=False))
def evaluate(run: str, dataset: str | None, data_dir: str | None) -> None:
    """Test loss, accuracy and per-class accuracy of a run folder or checkpoint file."""
    ckpt, model = _load_run(run)
    dataset = dataset or ckpt.meta("recipe", {}).get("dataset")
    if dataset is None:
        raise click.UsageError("this checkpoint does not say its dataset; pass --dataset")
    try:
        data = load_dataset(dataset, data_dir=data_dir)
        X_test = ckpt.prepare(data.X_test)           # standardized as in training, if it was
        result = model.evaluate(X_test, data.y_test)
    except (ValueError, FileNotFoundError) as e:
        raise click.ClickException(str(e)) from None
    pred = model.predict(X_test)
    cm = confusion_matrix(data.y_test, pred, data.n_classes)  # type: ignore[arg-type]  # always set
    click.echo(f"{data.name} test set: loss {result['loss']:.4f}, accuracy "
               f"{100 * result['accuracy']:.2f}% ({len(pred):,} examples)")
    for k, name in enumerate(data.classes):
        click.echo(f"  {name:>12}: {100 * cm[k, k] / max(cm[k].sum(), 1):6.2f}%  ({cm[k].sum()})")


@main.command()
@click.argument("checkpoint", type=click.Path(exists=True))
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--top", default=3, show_default=True, type=click.IntRange(1),
              help="How many classes to show.")
@click.option("--resize", is_flag=True,
              help="Resize images that are not the model's input size (otherwise an error).")
def predict(checkpoint: str, images: tuple[str, ...], top: int, resize: bool) -> None:
    """Classify images (PNG or .npy) with a trained checkpoint.

    A PNG is scaled to 0-1 as the training images were; a .npy file holds pixels (0-255, or
    0-1) for a model trained on images, and the model's own kind of values otherwise. Values
    outside the range the model was trained on (by more than a tenth of it) are refused: a
    network answers them with a confidence that means nothing.
    """
    ckpt, model = _load_run(checkpoint)
    classes = _class_names(ckpt.meta("recipe", {}).get("dataset"), model.layer_sizes[-1])
    trained = ckpt.input_range()
    pixels = trained is None or (trained[0] >= 0 and trained[1] <= 1)
    for path in images:
        try:
            X = load_inputs(path, model.layer_sizes[0], resize=resize, pixels=pixels)
            _check_range(path, X, trained, pixels)
            probs = model.predict_proba(ckpt.prepare(X))
        except (ValueError, ImportError) as e:
            raise click.ClickException(f"{path}: {e}" if str(path) not in str(e) else str(e)) from None
        for i, p in enumerate(probs):
            best = np.argsort(p)[::-1][:min(top, len(p))]
            label = f"{path}" + (f"[{i}]" if len(probs) > 1 else "")
            click.echo(f"{label}: {classes[best[0]]}  ("
                       + ", ".join(f"{classes[k]} {100 * p[k]:.1f}%" for k in best) + ")")


def _check_range(path: str, X: np.ndarray, trained: tuple[float, float] | None,
                 pixels: bool) -> None:
    """A ValueError when the inputs lie outside what the model was trained on (by more than a
    tenth of that range)."""
    low, high = float(X.min()) + 0.0, float(X.max()) + 0.0         # + 0.0: no "-0"
    if trained is None:            # a checkpoint that does not say: pixels, as load_inputs made
        trained = (0.0, 1.0)
    margin = 0.1 * (trained[1] - trained[0])
    if low >= trained[0] - margin and high <= trained[1] + margin:
        return
    came = f"values from {low:g} to {high:g}"
    if pixels:
        came += " on the 0-1 scale (pixels over 1 are divided by 255)"
    raise ValueError(f"{path} holds {came}, but the model was trained on values from "
                     f"{trained[0]:g} to {trained[1]:g}: a network answers inputs far outside "
                     "its training range with a confidence that means nothing"
                     + ("; pixels run from 0 to 255, or 0 to 1" if pixels else ""))


def _class_names(dataset: str | None, n: int) -> list[str]:
    names = DATASETS.get(dataset or "", {}).get("classes")
    return names if names and len(names) == n else [str(k) for k in range(n)]


@main.command()
@click.option("--dataset", default="digits", show_default=True, type=DATASET,
              help=f"One of: {', '.join(available_datasets())}.")
@click.option("--epochs", default=5, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--layers", type=Sizes(most=WIDEST), default=None,
              help="Layer sizes; default: features,256,classes.")
@click.option("--activation", default="relu", show_default=True, type=ACTIVATION)
@click.option("--optimizer", type=OPTIMIZER, default="sgd", show_default=True)
@click.option("--lr", default=0.1, show_default=True, type=Number(0, min_open=True))
@click.option("--momentum", default=0.0, show_default=True, type=Number(0, 1, max_open=True))
@click.option("--batch-size", "--batch", "batch_size", default=32, show_default=True,
              type=click.IntRange(1, 1_000_000))
@click.option("--seed", default=0, show_default=True, type=SEED)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
              help="Where the PyTorch twin (and MLX, with its CUDA backend) runs; needs a "
              "CUDA build of PyTorch (./run.sh installs the CPU build).")
@click.option("--backends", default=lambda: ",".join(backend_names()), type=Backends(),
              show_default="all of them", help="Which backends to train, comma-separated.")
@click.option("--out", default=None, type=click.Path(file_okay=False), callback=_out_folder,
              help="A folder for compare-losses.png, the three loss curves (none without it).")
@click.option("--data-dir", default=None, type=click.Path(exists=True, file_okay=False))
def compare(dataset: str, epochs: int, layers: list[int] | None, activation: str,
            optimizer: str, lr: float, momentum: float, batch_size: int, seed: int,
            device: str, backends: tuple[str, ...], out: str | None,
            data_dir: str | None) -> None:
    """Train one network in NumPy, PyTorch and MLX from the same weights and batches."""
    _memory_check(layers, batch_size)
    try:
        report = run_compare(dataset, epochs, layers, activation, lr, batch_size, optimizer,
                             momentum, seed, device, backends=backends, data_dir=data_dir)
    except (ValueError, FileNotFoundError) as e:
        raise click.ClickException(str(e)) from None
    except MemoryError:
        raise click.ClickException("out of memory: try a smaller --batch-size or smaller "
                                   "--layers") from None
    click.echo(format_table(report))
    if out:
        try:
            Path(out).mkdir(parents=True, exist_ok=True)
            click.echo(f"plot: {plot_losses(report, Path(out) / 'compare-losses.png')}")
        except ImportError as e:
            click.echo(f"no plot: {e}")
        except OSError as e:
            raise click.ClickException(f"cannot write the plot into {out}: "
                                       f"{e.strerror or e}") from None
    if all("error" in r for r in report["results"].values()):
        raise click.ClickException("no backend could train: see the errors above")


@main.command()
@click.option("--out", type=click.Path(dir_okay=False), default=None, callback=_out_file,
              help="Also write the picture: .svg, .png or .pdf (needs Graphviz), or .dot (text).")
def engine(out: str | None) -> None:
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
@click.option("--epochs", default=1000, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Most epochs to run. Training stops at the first epoch without a mistake, "
              "or when the weights come back to where an earlier epoch left them: from there "
              "they cycle for ever.")
@click.option("--lr", default=1.0, show_default=True, type=Number(0, 1e6, min_open=True),
              help="Learning rate.")
def perceptron(gate: str, epochs: int, lr: float) -> None:
    """Rosenblatt's perceptron on a logic gate: AND, OR and NAND converge; XOR cycles for ever."""
    try:
        click.echo(gate_report(gate.lower(), epochs=epochs, lr=lr, progress=True))
    except KeyboardInterrupt:
        _interrupted("perceptron interrupted before it converged or cycled")
    except ValueError as e:
        raise click.ClickException(str(e)) from None


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 127.0.0.1 is this computer only.")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on; 0 picks a free one.")
@click.option("--no-browser", is_flag=True, help="Print the address but do not open a browser.")
@click.option("--export", "export_dir", default=None, metavar="DIR",
              type=click.Path(file_okay=False, path_type=Path),
              help="Write the whole page into DIR instead of starting a server: every "
                   "view, training live in the browser with handgrad's JavaScript twin. It "
                   "works opened from disk and from any static host, with no network.")
def playground(host: str, port: int, no_browser: bool, export_dir: Path | None) -> None:
    """Start the playground: a local page that trains handgrad's own networks live.

    Four views: the playground (data, layers, the decision boundary and every neuron
    as it trains), an optimizer race, backprop step by step, and the scalar-engine graph.
    Served here, handgrad's NumPy computes everything; Ctrl-C stops the server.
    """
    if export_dir is not None:
        from .playground.export import export_static
        try:
            out = export_static(export_dir)
        except (OSError, ValueError) as e:
            raise click.ClickException(f"cannot export the playground to {export_dir}: {e}") from None
        click.echo(f"wrote {out / 'index.html'}: open it in a browser or put the folder on any "
                   "static host (no server needed: it trains with handgrad's JavaScript twin)")
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
