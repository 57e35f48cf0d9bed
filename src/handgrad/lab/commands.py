"""``handgrad lab``: list the experiments, run some, or run them all into a report.

    handgrad lab list
    handgrad lab run 6 9 init-test-50 [--out DIR] [--quick] [--seed N]
    handgrad lab all [--out DIR] [--quick] [--seed N]

Every run prints each experiment's numbers and verdict and writes its pictures, report.md,
report.html and results.json into the output folder. A claim that does not hold is a
finding, not a failure: the exit status is 1 only when an experiment could not run at all
(an error), 2 for a bad command line.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .registry import EXPERIMENTS, get
from .report import tally_sentence
from .runner import listing, run
from .verdicts import ERROR

_F = TypeVar("_F", bound=Callable[..., Any])


def _ids(ctx: Any, param: Any, values: tuple[str, ...]) -> list[int]:
    """Each number or name checked against the registry; an unknown one names the valid ones."""
    keys = []
    for value in values:
        try:
            keys.append(get(value).id)
        except KeyError as e:
            raise click.BadParameter(e.args[0]) from None
    return keys


def writable_folder(out: str) -> None:
    """Make sure the report can be written into ``out`` before any experiment runs: it is
    created if missing, and a file is written and removed in it. One clear line if not."""
    path = Path(out)
    try:
        if path.exists() and not path.is_dir():
            raise click.ClickException(f"cannot write the report to {out}: it is a file, "
                                       "not a folder")
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".handgrad-lab-")
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        raise click.ClickException(f"cannot write the report to {out}: "
                                   f"{e.strerror or e}") from None


def _finish(results: list[Any], out: str | None) -> None:
    errors = [r for r in results if r.verdict == ERROR]
    click.echo(tally_sentence(results))
    if out is not None:
        click.echo(f"wrote {Path(out) / 'report.md'}, report.html, results.json and the pictures")
    if errors:
        raise click.ClickException(f"{len(errors)} experiment(s) could not run: "
                                   + "; ".join(f"{r.id} ({r.error})" for r in errors))


@click.group(name="lab")
def lab() -> None:
    """The lessons' claims as experiments: a number, a verdict and a picture for each."""


@lab.command(name="list")
def list_() -> None:
    """Every experiment: its number, name, lesson, claim, and about how long it takes."""
    click.echo(listing())


def _options(default_out: str) -> Callable[[_F], _F]:
    def wrap(fn: _F) -> _F:
        fn = click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0),
                          help="First seed of every experiment.")(fn)
        fn = click.option("--quick", is_flag=True,
                          help="5 seeds instead of 10 and fewer variants (the whole lab in under "
                               "3 minutes); the longest MNIST runs are left to the full run.")(fn)
        fn = click.option("--out", type=click.Path(), default=default_out,
                          show_default=True,
                          help="Folder for the pictures and the report.")(fn)
        return fn
    return wrap


@lab.command(name="run")
@click.argument("ids", nargs=-1, required=True, callback=_ids)
@_options("lab-report")
def run_(ids: list[int], out: str, quick: bool, seed: int) -> None:
    """Run the experiments IDS (numbers or names, e.g. 6 9 init-test-50)."""
    writable_folder(out)
    _finish(run(ids, quick=quick, seed=seed, out=out, log=click.echo), out)


@lab.command(name="all")
@_options("lab-report")
def all_(out: str, quick: bool, seed: int) -> None:
    """Run every experiment and write the full report."""
    writable_folder(out)
    _finish(run(list(EXPERIMENTS), quick=quick, seed=seed, out=out, log=click.echo), out)
