"""``handgrad learn``: practise the lessons' exercises, and grade a class.

    handgrad learn init [DIR]            write a workspace (never overwrites a file)
    handgrad learn [--start ID]          the watch mode
    handgrad learn list | check ID… | hint ID | solution ID [--force] | reset ID
    handgrad learn grade SUBMISSIONS --out grades.csv [--json grades.json]

``check`` exits 0 when every exercise asked for passes and 1 when one does not; every error
a user can cause is one line (exit 1, or 2 for a bad command line).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..invocation import prog, prog_from
from ..io import unwritable
from .checking import PASSED, Verdict
from .exercises import all_exercises, get
from .grade import GradeError, grade, summary_lines
from .registry import Exercise
from .runtime import Limits
from .watch import Watch, hints_text, listing
from .workspace import DEFAULT_DIR, Workspace, WorkspaceError

_F = TypeVar("_F", bound=Callable[..., Any])


def _workspace(directory: Path | None) -> Workspace:
    if directory is None:            # `handgrad learn --dir DIR list`: the group's --dir
        directory = click.get_current_context().meta.get("handgrad.learn.dir")
    try:
        ws = Workspace.find(directory)
    except WorkspaceError as e:
        raise click.ClickException(str(e)) from None
    if ws.warning:
        click.echo(f"warning: {ws.warning}", err=True)
    return ws


def _exercise(ctx: click.Context, param: click.Parameter, value: str | None) -> Exercise | None:
    if value is None:
        return None
    try:
        return get(value)
    except KeyError as e:
        raise click.BadParameter(e.args[0]) from None


def _exercises(ctx: click.Context, param: click.Parameter,
               values: tuple[str, ...]) -> list[Exercise | None]:
    return [_exercise(ctx, param, v) for v in values]


def _seconds(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """A time limit: a finite number of seconds (click's FloatRange lets NaN and infinity in)."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"expected a finite number of seconds; got {value}")
    return value


def _dir_option(fn: _F) -> _F:
    return click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
                        default=None, help="The workspace [default: the one the current folder "
                                           "is in].")(fn)


@click.group(name="learn", invoke_without_command=True)
@_dir_option
@click.option("--start", default=None, callback=_exercise, metavar="ID",
              help="Open this exercise first (a name like softmax-stable, or a number).")
@click.pass_context
def learn(ctx: click.Context, directory: Path | None, start: Exercise | None) -> None:
    """Exercises for every problem the lessons pose, with hints and a checker.

    Without a command: the watch mode. It checks the current exercise every time you save
    it; type h for a hint, l for the list, n / p for the next / previous exercise, c to
    check again, q to quit. Start with `handgrad learn init`.
    """
    ctx.meta["handgrad.learn.dir"] = directory
    if ctx.invoked_subcommand is not None:
        return
    ws = _workspace(directory)
    ctx.exit(Watch(ws, start).run())


@learn.command()
@click.argument("directory", required=False, default=DEFAULT_DIR,
                type=click.Path(file_okay=False, path_type=Path))
def init(directory: Path) -> None:
    """Write a workspace in DIRECTORY (default: handgrad-exercises): one file per exercise and a
    README. Files that are already there are kept as they are."""
    try:
        ws, written, kept = Workspace.create(directory)
    except WorkspaceError as e:
        raise click.ClickException(str(e)) from None
    n = len(all_exercises())
    click.echo(f"{ws.root}: {n} exercises"
               + (f", {len(kept)} of them kept as you had them" if kept else "")
               + f"; {len(written)} files written")
    click.echo(f"next: cd {directory} && {prog_from(directory)} learn")


@learn.command(name="list")
@_dir_option
def list_(directory: Path | None) -> None:
    """Every exercise, its lesson and where you are (✓ done, ~ changed since it passed)."""
    ws = _workspace(directory)
    click.echo(listing(ws, ws.first_unfinished()))
    click.echo(f"\n{ws.done_count()} of {len(all_exercises())} done")


@learn.command()
@click.argument("ids", nargs=-1, callback=_exercises)
@click.option("--all", "every", is_flag=True, help="Check every exercise.")
@click.option("--timeout", type=click.FloatRange(0, min_open=True), default=None, callback=_seconds,
              help="Seconds your code may run per exercise [each exercise's own: 10 to 40].")
@_dir_option
def check(ids: list[Exercise], every: bool, timeout: float | None,
          directory: Path | None) -> None:
    """Check the exercises IDS (names or numbers); exit status 0 when all pass, 1 otherwise."""
    if not ids and not every:
        raise click.UsageError(f"name the exercises to check (e.g. `{prog()} learn check relu 8`), "
                               "or pass --all")
    ws = _workspace(directory)
    todo = all_exercises() if every else ids
    passed = 0
    for ex in todo:
        verdict = run(ws, ex, timeout)
        passed += verdict.status == PASSED
        click.echo(f"{ex.number:02d} {ex.id}: {verdict.report()}")
    if len(todo) > 1:
        click.echo(f"\n{passed} of {len(todo)} pass")
    raise SystemExit(0 if passed == len(todo) else 1)


def run(ws: Workspace, ex: Exercise, timeout: float | None) -> Verdict:
    from .checking import run_check
    verdict = run_check(ex, ws.path(ex), limits=Limits(seconds=timeout or ex.seconds))
    try:
        ws.record(ex, verdict)
    except WorkspaceError as e:
        click.echo(f"warning: {e}", err=True)
    return verdict


@learn.command()
@click.argument("exercise", callback=_exercise, metavar="ID")
@_dir_option
def hint(exercise: Exercise, directory: Path | None) -> None:
    """The next hint for exercise ID (the ones shown before come first)."""
    ws = _workspace(directory)
    click.echo(hints_text(exercise, ws.next_hint(exercise)))


@learn.command()
@click.argument("exercise", callback=_exercise, metavar="ID")
@click.option("--force", is_flag=True,
              help="Show it before yours passes: it goes into the exercise's file, and yours is "
                   "kept beside it as NN-ID.mine.py.")
@_dir_option
def solution(exercise: Exercise, force: bool, directory: Path | None) -> None:
    """Our solution to exercise ID, once yours passes (or with --force)."""
    ws = _workspace(directory)
    if force:
        kept = ws.write_solution(exercise)
        click.echo(f"our solution is now in {ws.path(exercise)}"
                   + (f"; yours is kept as {kept.name}" if kept else ""))
        return
    if ws.status(exercise) != "done":
        verdict = run(ws, exercise, None)
        if verdict.status != PASSED:
            raise click.ClickException(
                f"{exercise.id} does not pass yet, so its solution stays hidden: "
                f"`{prog()} learn hint {exercise.id}` gives a hint, and "
                f"`{prog()} learn solution {exercise.id} --force` puts the solution into "
                f"{exercise.file_name} (keeping yours beside it)")
    click.echo(exercise.solution_text().split('"""\n', 1)[1].strip())


@learn.command()
@click.argument("exercise", callback=_exercise, metavar="ID")
@_dir_option
def reset(exercise: Exercise, directory: Path | None) -> None:
    """Start exercise ID again from its template; your version is kept beside it."""
    ws = _workspace(directory)
    try:
        kept = ws.reset(exercise)
    except (WorkspaceError, OSError) as e:
        raise click.ClickException(f"cannot reset {exercise.id}: {e}") from None
    click.echo(f"{ws.path(exercise).name} is the starting template again"
               + (f"; your version is kept as {kept.name}" if kept else ""))


@learn.command(name="grade")
@click.argument("submissions", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default="grades.csv",
              show_default=True, help="The table: one row per student, one column per exercise.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also every message, as JSON [default: next to --out, .json].")
@click.option("--jobs", type=click.IntRange(1), default=2, show_default=True,
              help="Workspaces graded at a time.")
@click.option("--timeout", type=click.FloatRange(0, min_open=True), default=None, callback=_seconds,
              help="Seconds a submission's code may run per exercise [each exercise's own].")
@click.option("--memory", "memory_mb", type=click.IntRange(256), default=2048, show_default=True,
              help="MiB of memory a submission may use.")
@click.option("--only", default=None, metavar="ID,ID,…",
              help="Grade these exercises only (names or numbers).")
@click.option("--no-bwrap", is_flag=True,
              help="Do not use bubblewrap even where it works (limits and the audit hook only).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def grade_(submissions: Path, out: Path, json_path: Path | None, jobs: int, timeout: float | None,
           memory_mb: int, only: str | None, no_bwrap: bool, quiet: bool) -> None:
    """Grade SUBMISSIONS, a folder with one workspace per student, into a CSV and a JSON."""
    chosen = None
    if only is not None:
        items = only.split(",")
        if any(not k.strip() for k in items):
            raise click.BadParameter(f"an empty name in {only!r}; expected names or numbers "
                                     "like relu,8", param_hint="--only")
        try:
            chosen = [get(k.strip()) for k in items]
        except KeyError as e:
            raise click.BadParameter(e.args[0], param_hint="--only") from None
    json_path = json_path or out.with_suffix(".json")
    for path in (out, json_path):
        if not path.parent.is_dir():
            raise click.ClickException(f"cannot write {path}: the folder {path.parent} does not "
                                       "exist")
        why = unwritable(path, folder=False)
        if why:
            raise click.ClickException(why)
    try:
        summary = grade(submissions, out, json_path, jobs=jobs, seconds=timeout,
                        memory_mb=memory_mb, only=chosen, use_bwrap=not no_bwrap,
                        progress=not quiet, log=lambda m: click.echo(m, err=True))
    except GradeError as e:
        raise click.ClickException(str(e)) from None
    except OSError as e:
        raise click.ClickException(f"grading stopped: {e}") from None
    for line in summary_lines(summary, out, json_path):
        click.echo(line)
