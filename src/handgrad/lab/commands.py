"""``handgrad lab``: list the experiments, run some, or run them all into a report.

    handgrad lab list
    handgrad lab run 6 9 init-scale [--out DIR] [--quick] [--seed N]
    handgrad lab all [--out report/] [--quick] [--seed N]

Every run prints each experiment's numbers and verdict and writes its pictures, report.md,
report.html (self-contained) and results.json into the output folder. A claim that does
not hold is a finding, not a failure: the exit status is 1 only when an experiment could
not run at all (an error), 2 for a bad command line.
"""

from pathlib import Path

import click

from .core import EXPERIMENTS, get
from .runner import listing, run
from .verdicts import ERROR


def _ids(ctx, param, values):
    """Each id or slug checked against the registry; an unknown one names the valid ones."""
    keys = []
    for value in values:
        try:
            keys.append(get(value).id)
        except KeyError as e:
            raise click.BadParameter(e.args[0]) from None
    return keys


def _finish(results, out):
    errors = [r for r in results if r.verdict == ERROR]
    tally = {}
    for r in results:
        tally[r.verdict] = tally.get(r.verdict, 0) + 1
    click.echo("verdicts: " + ", ".join(f"{n} {v}" for v, n in tally.items()))
    if out is not None:
        click.echo(f"wrote {Path(out) / 'report.md'}, report.html, results.json and the pictures")
    if errors:
        raise click.ClickException(f"{len(errors)} experiment(s) could not run: "
                                   + "; ".join(f"{r.id} ({r.error})" for r in errors))


@click.group(name="lab")
def lab():
    """The lessons' claims as experiments: a number, a verdict and a picture for each."""


@lab.command(name="list")
def list_():
    """Every experiment: its id, name, claim, and about how long it takes."""
    click.echo(listing())


def _options(default_out):
    def wrap(fn):
        fn = click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0),
                          help="Seed of every experiment.")(fn)
        fn = click.option("--quick", is_flag=True,
                          help="Smaller data and fewer steps (the whole lab in about 3 minutes); "
                               "without MNIST, the 8x8 digits stand in.")(fn)
        fn = click.option("--out", type=click.Path(file_okay=False), default=default_out,
                          show_default=True, help="Folder for the pictures and the report.")(fn)
        return fn
    return wrap


@lab.command(name="run")
@click.argument("ids", nargs=-1, required=True, callback=_ids)
@_options("lab-report")
def run_(ids, out, quick, seed):
    """Run the experiments IDS (numbers or names, e.g. 6 9 init-scale)."""
    _finish(_run(ids, quick, seed, out), out)


@lab.command(name="all")
@_options("lab-report")
def all_(out, quick, seed):
    """Run every experiment and write the full report."""
    _finish(_run(sorted(EXPERIMENTS), quick, seed, out), out)


def _run(ids, quick, seed, out):
    """The experiments' results, or one clear line when the report folder cannot be written."""
    if out is not None:
        try:
            Path(out).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise click.ClickException(f"cannot write the report to {out}: "
                                       f"{e.strerror or e}") from None
    return run(ids, quick=quick, seed=seed, out=out, log=click.echo)
