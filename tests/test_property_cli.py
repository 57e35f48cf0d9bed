"""Every command, every option: a bad value ends in one line on stderr and a non-zero exit,
with no traceback and no file changed.

The commands and their options are read from click's own tree (``handgrad.cli.main``), so an
option added tomorrow is tried too: its bad values follow from its declared type — a number
outside its range, NaN, infinity, text that is no number; a name that is none of the
choices; a path that is missing, a file where a folder belongs (or the reverse), a place
that cannot be written; a list with an empty item, a zero, a word. An option whose type says
nothing (free text) must be listed in ``TEXT`` with its bad values, or in ``LEFT_OUT`` with
the reason, or ``test_every_option_has_bad_values`` fails. A number option must declare its
range (``test_every_number_option_declares_its_range``).

Each case runs the command in this process (click's CliRunner) on a valid, quick invocation
(``BASE``) with one value made bad, inside a scratch folder that is compared file by file
before and after; a sample also runs as a real process. A command whose work is long (the
lab, the watch mode, grading) has it replaced by a tripwire (``WORK``): a bad value that
reaches the work is a failure. The number of cases each test ran is printed (``pytest -s``).
"""

import hashlib
import importlib
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handgrad import cli
from handgrad.cli import Backends, Sizes, main

ROOT = Path(__file__).resolve().parents[1]

# Free-text options and arguments: their bad values (the type cannot say what is bad).
TEXT = {
    ("lab", "run", "ids"): ["no-such-experiment", "0", "999", ""],
    ("learn", "start"): ["no-such-exercise", "0", "999", ""],
    ("learn", "check", "ids"): ["no-such-exercise", "0", "999", ""],
    ("learn", "hint", "exercise"): ["no-such-exercise", "0", "999", ""],
    ("learn", "solution", "exercise"): ["no-such-exercise", "0", "999", ""],
    ("learn", "reset", "exercise"): ["no-such-exercise", "0", "999", ""],
    ("learn", "grade", "only"): ["no-such-exercise", "1,,2", "", "relu,999"],
    ("train", "rdzv_endpoint"): ["", "no-port", "host:port", "host:0", "host:99999", ":29400"],
}

# Options no bad value can be given here, and why.
LEFT_OUT = {
    ("playground", "host"): "any text may name a host; whether it is one, the operating "
                            "system says when the server starts (a test that starts servers "
                            "lives in tests/test_playground_server.py)",
}

# A valid, quick invocation of each command: option and argument values by parameter name
# (True: a flag that is on). "{w}" is the scratch folder.
BASE = {
    ("trace",): {"layers": "4,3"},
    ("gradcheck",): {"layers": "3,4,2"},
    ("train",): {"dataset": "blobs", "epochs": "1", "quiet": True, "no_plots": True,
                 "out": "{w}/new-run"},
    ("evaluate",): {"run": "{w}/run"},
    ("predict",): {"checkpoint": "{w}/run", "images": ["{w}/x.npy"]},
    ("compare",): {"dataset": "blobs", "epochs": "1", "backends": "numpy"},
    ("engine",): {},
    ("perceptron",): {"gate": "and"},
    ("playground",): {"export_dir": "{w}/site", "no_browser": True},
    ("lab", "list"): {},
    ("lab", "run"): {"ids": ["1"], "quick": True, "out": "{w}/lab"},
    ("lab", "all"): {"quick": True, "out": "{w}/lab"},
    ("learn",): {"directory": "{w}/ws"},
    ("learn", "init"): {"directory": "{w}/new-ws"},
    ("learn", "list"): {"directory": "{w}/ws"},
    ("learn", "check"): {"ids": ["1"], "directory": "{w}/ws"},
    ("learn", "hint"): {"exercise": "1", "directory": "{w}/ws"},
    ("learn", "solution"): {"exercise": "1", "directory": "{w}/ws"},
    ("learn", "reset"): {"exercise": "1", "directory": "{w}/ws"},
    ("learn", "grade"): {"submissions": "{w}/submissions", "out": "{w}/grades.csv"},
}

# Long work, replaced by a tripwire while the bad values are tried: "module:name".
WORK = {
    ("playground",): ["handgrad.playground.server:serve"],
    ("lab", "run"): ["handgrad.lab.commands:run"],
    ("lab", "all"): ["handgrad.lab.commands:run"],
    ("learn",): ["handgrad.learn.commands:Watch"],
    ("learn", "check"): ["handgrad.learn.commands:run"],
    ("learn", "grade"): ["handgrad.learn.grade:grade_student"],
}

COUNTS = {}                                   # test name -> cases run, printed at the end


# --- the command tree ------------------------------------------------------------------

def commands(group=main, path=()):
    """(path, command) for every command and group under ``group`` (not ``main`` itself)."""
    for name, command in sorted(group.commands.items()):
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


def is_flag(param):
    return isinstance(param, click.Option) and (param.is_flag or param.count)


def params():
    """(path, parameter) for every option and argument that takes a value."""
    for path, command in commands():
        for param in command.params:
            if not is_flag(param) and not getattr(param, "is_eager", False):
                yield path, param


PARAMS = list(params())
IDS = [" ".join(path) + " " + (param.opts[0] if isinstance(param, click.Option) else param.name)
       for path, param in PARAMS]


# --- bad values from a parameter's type --------------------------------------------------

NOT_WHOLE = ["", " ", "abc", "1.5", "1e3", "nan", "inf", "0x10", "1,000", "½"]
NOT_NUMBERS = ["", " ", "abc", "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e999",
               "-1e999", "1,5", "0x1p-2"]
BAD_SIZES = ["", ",", "64,,10", "64,10,", ",64,10", "64,0,10", "64,-5,10", "64,2.5,10",
             "64,x,10", "64", "64 10", "0,10", "1e3,10"]
BAD_BACKENDS = ["", ",", "numpy,,torch", "numpy,", "numpy,numpy", "jax", "NumPy,jax"]


def _below(low, open_):
    """Numbers below a lower bound (the bound itself when the bound is open)."""
    out = [low - max(1e-9, abs(low) * 1e-9), low - 1, -1e300]
    return ([low] if open_ else []) + [v for v in out if v < low]


def _above(high, open_):
    out = [high + max(1e-9, abs(high) * 1e-9), high + 1, 1e300]
    return ([high] if open_ else []) + [v for v in out if v > high]


def number_values(t):
    """Bad values of a number type, as text."""
    if isinstance(t, click.IntRange):
        values = list(NOT_WHOLE)
        if t.min is not None:
            low = t.min + 1 if t.min_open else t.min
            values += [str(low - 1), str(low - 10**30)]
        if t.max is not None:
            high = t.max - 1 if t.max_open else t.max
            values += [str(high + 1), str(high + 10**30)]
        return values
    values = list(NOT_NUMBERS)
    if t.min is not None:
        values += [repr(v) for v in _below(t.min, t.min_open)]
    if t.max is not None:
        values += [repr(v) for v in _above(t.max, t.max_open)]
    return values


def path_values(t, w):
    """Bad values of a click.Path: missing where it must exist, a file for a folder and the
    reverse, and places that can be neither read nor made."""
    values = [f"{w}/a-file/under-a-file", "/proc/handgrad-nowhere/x"]
    if t.exists:
        values += [f"{w}/missing", ""]
    if not t.file_okay:
        values.append(f"{w}/a-file")
    if not t.dir_okay:
        values.append(f"{w}/a-dir")
    return values


def name_strategy(t):
    """Text that is none of a choice's names or aliases, in any case."""
    taken = {str(c).lower() for c in t.choices} | {str(a).lower() for a in
                                                   getattr(t, "aliases", {})}
    text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                   max_size=12)
    return text.filter(lambda s: s.lower() not in taken and s.strip().lower() not in taken)


def bad_values(path, param, w):
    """The deterministic bad values of a parameter (text, as a user types it)."""
    key, t = (*path, param.name), param.type
    if key in TEXT:
        return list(TEXT[key])
    if isinstance(t, (click.IntRange, click.FloatRange)):
        return number_values(t)
    if isinstance(t, click.Path):
        return path_values(t, w)
    if isinstance(t, Sizes):
        return BAD_SIZES + ([f"4,{t.most + 1},3"] if t.most else [])
    if isinstance(t, Backends):
        return list(BAD_BACKENDS)
    if isinstance(t, click.Choice):
        return ["", "no-such-name", "x" * 200, str(t.choices[0]) + "x"]
    raise LookupError(f"no bad values known for {' '.join(path)} {param.name} ({t!r})")


def bad_strategy(path, param, w):
    """Bad values to draw from: the deterministic ones, and for names any other text."""
    t = param.type
    fixed = st.sampled_from(bad_values(path, param, w))
    if isinstance(t, click.Choice) and (*path, param.name) not in TEXT:
        return st.one_of(fixed, name_strategy(t))
    if isinstance(t, click.IntRange):
        ints = []
        if t.min is not None:
            ints.append(st.integers(max_value=t.min - (0 if t.min_open else 1)))
        if t.max is not None:
            ints.append(st.integers(min_value=t.max + (0 if t.max_open else 1)))
        return st.one_of(fixed, *(s.map(str) for s in ints))
    if isinstance(t, click.FloatRange):
        floats = [st.sampled_from(["nan", "inf", "-inf"])]
        if t.min is not None:
            floats.append(st.floats(max_value=t.min, exclude_max=not t.min_open,
                                    allow_nan=False).map(repr))
        if t.max is not None:
            floats.append(st.floats(min_value=t.max, exclude_min=not t.max_open,
                                    allow_nan=False).map(repr))
        return st.one_of(fixed, *floats)
    if isinstance(t, Sizes):
        item = st.one_of(st.just(""), st.integers(max_value=0).map(str),
                         st.sampled_from(["x", "1.5", " ", "1e3"]))
        good = st.integers(1, 9).map(str)
        return st.one_of(fixed, st.lists(st.one_of(good, item), min_size=1, max_size=5)
                         .filter(lambda xs: any(x in ("", " ", "x", "1.5", "1e3")
                                                or not x.strip().lstrip("-").isdigit()
                                                or int(x) < 1 for x in xs) or len(xs) < 2)
                         .map(",".join))
    return fixed


# --- running a case ----------------------------------------------------------------------

class Reached(Exception):
    """A bad value got past the checks into the command's long work."""


def argv(path, param, value, w):
    """The command line: ``BASE[path]``, with ``param`` (unless None) set to ``value`` (options first, then
    "--" and the arguments, so that an argument may start with "-")."""
    command = dict(commands())[path]
    def filled(v):
        return [filled(x) for x in v] if isinstance(v, list) else \
            v.format(w=w) if isinstance(v, str) else v

    base = {k: filled(v) for k, v in BASE[path].items()}
    if param is not None:
        base[param.name] = value
    options, arguments = [], []
    for p in command.params:
        if p.name not in base:
            continue
        v = base[p.name]
        if isinstance(p, click.Argument):
            arguments += v if isinstance(v, list) else [v]
        elif v is True:
            options.append(p.opts[0])
        else:
            options.append(f"{p.opts[0]}={v}")
    if isinstance(command, click.Group):          # a group's option, then a quick subcommand
        return [*path, *options, "list"]
    return [*path, *options, *(["--", *arguments] if arguments else [])]


def snapshot(folder):
    """Every file and folder under ``folder``: relative path -> content hash (None: a folder)."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for d in dirs:
            out[os.path.relpath(os.path.join(root, d), folder)] = None
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, folder)] = hashlib.sha1(fh.read()).hexdigest()
    return out


def restore(w, before, after):
    """Put the scratch folder back as it was when a case changed it (so that a value that
    slipped through cannot make the next cases fail for another reason)."""
    if before != after:
        shutil.rmtree(w)
        shutil.copytree(w.with_name(w.name + "-pristine"), w)


def run_in_process(args, w):
    before = snapshot(w)
    result = CliRunner().invoke(main, args, prog_name="handgrad")
    after = snapshot(w)
    restore(w, before, after)
    return result.exit_code, result.stdout, result.stderr, result.exception, before, after


def check(args, code, stdout, stderr, exception, before, after):
    shown = f"handgrad {' '.join(map(repr, args))}\nexit {code}\nstdout: {stdout[-800:]}\n" \
            f"stderr: {stderr[-800:]}"
    assert not isinstance(exception, Reached), f"a bad value reached the work:\n{shown}"
    assert exception is None or isinstance(exception, SystemExit), \
        f"raised {exception!r}:\n{shown}"
    assert code not in (0, None), f"accepted:\n{shown}"
    assert "Traceback" not in stdout + stderr, shown
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), f"not one line:\n{shown}"
    changed = sorted(set(before.items()) ^ set(after.items()))
    assert not changed, f"files changed: {changed[:5]}\n{shown}"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A folder with what the base invocations need: a trained run, inputs, a workspace."""
    w = tmp_path_factory.mktemp("cli")
    result = CliRunner().invoke(main, ["train", "--dataset", "blobs", "--epochs", "1", "--quiet",
                                       "--no-plots", "--out", str(w / "run")])
    assert result.exit_code == 0, result.output
    np.save(w / "x.npy", np.zeros((1, 4), dtype=np.float32))
    (w / "a-file").write_text("a file")
    (w / "a-dir").mkdir()
    (w / "cwd").mkdir()
    from handgrad.learn.workspace import Workspace
    Workspace.create(w / "ws")
    Workspace.create(w / "submissions" / "student")
    shutil.copytree(w, w.with_name(w.name + "-pristine"))
    return w


@pytest.fixture
def tripwires(scratch, monkeypatch):
    """The long work of every command replaced by Reached; the scratch folder as the
    current one (a default output such as lab-report would land in it)."""
    def trip(*args, **kwargs):
        raise Reached()
    for targets in WORK.values():
        for target in targets:
            module, name = target.split(":")
            monkeypatch.setattr(importlib.import_module(module), name, trip)
    monkeypatch.chdir(scratch / "cwd")
    monkeypatch.setenv("HANDGRAD_PROG", "handgrad")
    return scratch


def _count(name, n=1):
    COUNTS[name] = COUNTS.get(name, 0) + n


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    yield
    for name, n in COUNTS.items():
        print(f"\n{name}: {n} generated cases")


# --- the tests ------------------------------------------------------------------------------

def test_the_tree_is_walked_whole():
    names = {" ".join(path) for path, _ in commands()}
    assert {"train", "predict", "lab run", "learn grade"} <= names
    assert len(PARAMS) >= 80


def test_every_command_has_a_base_invocation():
    missing = [" ".join(path) for path, command in commands()
               if path not in BASE and not (isinstance(command, click.Group) and not command.params)]
    assert not missing, f"add a valid, quick invocation to BASE for: {', '.join(missing)}"


@pytest.mark.parametrize("path", list(BASE), ids=[" ".join(p) for p in BASE])
def test_every_base_invocation_is_valid(path, tripwires):
    """Without a bad value, each base invocation works (or reaches its long work): so a
    refusal in the cases below is the bad value's doing."""
    args = argv(path, None, None, tripwires)
    result = CliRunner().invoke(main, args, prog_name="handgrad")
    restore(tripwires, {}, {None: None})
    assert result.exit_code == 0 or isinstance(result.exception, Reached), \
        f"handgrad {' '.join(args)}: exit {result.exit_code}\n{result.output}"


def test_every_option_has_bad_values(tmp_path):
    unknown = []
    for path, param in PARAMS:
        if (*path, param.name) in LEFT_OUT:
            continue
        try:
            assert bad_values(path, param, tmp_path)
        except LookupError as e:
            unknown.append(str(e))
    assert not unknown, "list these in TEXT (their bad values) or LEFT_OUT (why not):\n" + \
        "\n".join(unknown)
    stale = [k for k in (*TEXT, *LEFT_OUT) if k not in {(*p, q.name) for p, q in PARAMS}]
    assert not stale, f"TEXT or LEFT_OUT name options that are gone: {stale}"


def test_every_number_option_declares_its_range():
    loose = []
    for path, param in PARAMS:
        t, where = param.type, f"{' '.join(path)} {param.name}"
        if isinstance(t, (click.types.FloatParamType, click.types.IntParamType)) and not \
                isinstance(t, (click.IntRange, click.FloatRange)):
            loose.append(f"{where}: a plain {t.name} (give it a range)")
        elif isinstance(t, (click.IntRange, click.FloatRange)) and t.min is None:
            loose.append(f"{where}: no lower bound")
    assert not loose, "\n".join(loose)


TRIED = [(path, param, name) for (path, param), name in zip(PARAMS, IDS)
         if (*path, param.name) not in LEFT_OUT]


@pytest.mark.parametrize("path, param", [t[:2] for t in TRIED], ids=[t[2] for t in TRIED])
def test_each_bad_value_is_refused_in_one_line(path, param, tripwires):
    for value in bad_values(path, param, tripwires):
        args = argv(path, param, value, tripwires)
        check(args, *run_in_process(args, tripwires))
        _count("every option, its fixed bad values")


def _drawn(data, w):
    path, param = data.draw(st.sampled_from([t[:2] for t in TRIED]), label="option")
    value = data.draw(bad_strategy(path, param, w), label="value")
    return argv(path, param, value, w)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_bad_values_are_refused(data, tripwires):
    args = _drawn(data, tripwires)
    check(args, *run_in_process(args, tripwires))
    _count("generated (quick)")


@pytest.mark.slow
@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_many_generated_bad_values_are_refused(data, tripwires):
    args = _drawn(data, tripwires)
    check(args, *run_in_process(args, tripwires))
    _count("generated (slow)")


def run_as_a_process(args, w):
    before = snapshot(w)
    env = {**os.environ, "HANDGRAD_PROG": "handgrad", "PYTHONWARNINGS": "default"}
    done = subprocess.run([sys.executable, "-m", "handgrad", *args], capture_output=True,
                          text=True, cwd=w / "cwd", env=env, timeout=120)
    after = snapshot(w)
    restore(w, before, after)
    return done.returncode, done.stdout, done.stderr, None, before, after


# the sample run as real processes: commands whose checks need no tripwire
PROCESS_SAMPLE = [(p, q) for p, q in PARAMS if p not in WORK and (*p, q.name) not in LEFT_OUT]


@pytest.mark.parametrize("k", range(4))
def test_a_sample_as_real_processes(k, scratch):
    rng = np.random.default_rng(k)
    path, param = PROCESS_SAMPLE[rng.integers(len(PROCESS_SAMPLE))]
    values = bad_values(path, param, scratch)
    args = argv(path, param, values[rng.integers(len(values))], scratch)
    check(args, *run_as_a_process(args, scratch))
    _count("real processes (quick)")


@pytest.mark.slow
def test_every_option_once_as_a_real_process(scratch):
    rng = np.random.default_rng(0)
    for path, param in PROCESS_SAMPLE:
        values = bad_values(path, param, scratch)
        args = argv(path, param, values[rng.integers(len(values))], scratch)
        check(args, *run_as_a_process(args, scratch))
        _count("real processes (slow)")


def test_the_checks_catch_what_they_should(tripwires):
    """The harness itself: an accepted value, a traceback and a changed file all fail."""
    code, out, err, exc, before, after = run_in_process(["trace", "--layers=4,3"], tripwires)
    with pytest.raises(AssertionError, match="accepted"):
        check([], code, out, err, exc, before, after)
    with pytest.raises(AssertionError, match="raised"):
        check([], 1, "", "Error: x", ZeroDivisionError(), before, before)
    with pytest.raises(AssertionError, match="files changed"):
        check([], 2, "", "Error: x", None, before, {**before, "new": "0"})
    with pytest.raises(AssertionError, match="not one line"):
        check([], 2, "", "Usage: x\nError: y", None, before, before)
    assert math.isfinite(cli.SEED.max)
