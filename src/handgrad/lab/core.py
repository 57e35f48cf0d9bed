"""What every experiment of the lab shares: its result, its verdict, the registry, the loop.

An experiment is a plain function. It measures, then states each part of its
claim as a ``Check`` — the part in words, the number this run measured, and
whether the number bears the part out. The verdict follows from the checks and
from nothing else:

    every check passes           -> "holds"
    some pass, some do not       -> "holds partly"
    none passes                  -> "does not hold"

A check that this machine cannot test (a claim about Apple silicon, say) has
``passed = None``: it is reported and left out of the verdict.
"""

import functools
import io
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..plot import pyplot
from .verdicts import ERROR, FAILS, HOLDS, PARTLY, SKIPPED, UNTESTED


class Skip(Exception):
    """Raised by an experiment that cannot run here (data or an extra missing); says why."""


@dataclass
class Check:
    """One part of a claim: the part in words, what this run measured, whether it bears it out."""

    text: str
    measured: str
    passed: "bool | None"

    def __post_init__(self):
        if self.passed is not None:
            self.passed = bool(self.passed)           # a NumPy bool_ too becomes True / False

    def to_dict(self):
        return {"text": self.text, "measured": self.measured, "passed": self.passed}


def verdict_of(checks):
    """holds / holds partly / does not hold, from the checks that could be tested."""
    tested = [c.passed for c in checks if c.passed is not None]
    if not tested:
        return UNTESTED
    if all(tested):
        return HOLDS
    return PARTLY if any(tested) else FAILS


@dataclass
class Result:
    """What an experiment measured, and what that says about its claim.

    ``measurements`` maps a name to a number, a list of numbers or a short
    string; ``table`` is an optional text table; ``notes`` say what a reader
    should know (a stand-in dataset, wall-clock numbers that vary run to run);
    ``images`` maps a picture's name to its PNG bytes.
    """

    checks: list = field(default_factory=list)
    measurements: dict = field(default_factory=dict)
    table: "Table | None" = None
    notes: list = field(default_factory=list)
    plots: dict = field(default_factory=dict)     # name -> function drawing a figure (not kept)
    images: dict = field(default_factory=dict)    # name -> PNG bytes
    timings: tuple = ()                           # measurement names that are wall-clock times
    id: int = 0
    slug: str = ""
    title: str = ""
    claim: str = ""
    section: str = ""
    seconds: float = 0.0
    settings: dict = field(default_factory=dict)
    skipped: "str | None" = None
    error: "str | None" = None

    @property
    def verdict(self):
        if self.error is not None:
            return ERROR
        if self.skipped is not None:
            return SKIPPED
        return verdict_of(self.checks)

    @property
    def summary(self):
        """One line: the verdict and the numbers behind it."""
        if self.error is not None:
            return f"error: {self.error}"
        if self.skipped is not None:
            return f"skipped: {self.skipped}"
        failed = [c for c in self.checks if c.passed is False]
        shown = failed if failed else [c for c in self.checks if c.passed]
        return f"{self.verdict}: " + "; ".join(c.measured for c in shown[:3])

    def image_name(self, name):
        return f"{self.id:02d}-{self.slug}-{name}.png"

    def save_images(self, out):
        """Write every picture into the folder ``out``; returns the paths."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, png in self.images.items():
            path = out / self.image_name(name)
            path.write_bytes(png)
            paths.append(path)
        return paths

    def to_dict(self):
        """Everything but the pictures' bytes, JSON-ready (pictures by file name)."""
        return {"id": self.id, "slug": self.slug, "title": self.title, "section": self.section,
                "claim": self.claim, "verdict": self.verdict, "summary": self.summary,
                "checks": [c.to_dict() for c in self.checks],
                "measurements": _jsonable(self.measurements),
                "table": self.table.to_dict() if self.table else None,
                "notes": list(self.notes), "images": [self.image_name(n) for n in self.images],
                "wall_clock_measurements": list(self.timings), "seconds": round(self.seconds, 2),
                "settings": _jsonable(self.settings), "skipped": self.skipped, "error": self.error}

    def text(self):
        """The result as plain text, as the command line prints it."""
        lines = [f"[{self.id}] {self.title}", f"  claim: {self.claim}"]
        for c in self.checks:
            mark = {True: "yes", False: "NO", None: "n/a"}[c.passed]
            lines.append(f"  {mark:>3}  {c.text} — measured: {c.measured}")
        if self.table:
            lines += ["", *("  " + row for row in str(self.table).splitlines()), ""]
        lines += [f"  note: {n}" for n in self.notes]
        lines.append(f"  verdict: {self.verdict.upper()}" + (f" ({self.skipped or self.error})"
                                                             if self.skipped or self.error else ""))
        lines.append(f"  ({self.seconds:.1f} s)")
        return "\n".join(lines)

    def __str__(self):
        return self.text()

    def _repr_html_(self):
        from .render import result_html
        return result_html(self)


def _jsonable(value):
    """Numbers as plain floats and ints (NaN and infinity as strings), arrays as lists."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in np.asarray(value, dtype=object).tolist()] \
            if isinstance(value, np.ndarray) else [_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else str(value)
    return value


# --- the registry --------------------------------------------------------------------------

@dataclass
class Experiment:
    """A registry entry: the claim, where it comes from, how long it takes, the function."""

    id: int
    slug: str
    title: str
    claim: str
    section: str
    seconds: tuple        # about how long: (--quick, full), on 2 CPU cores
    needs: str            # what it needs beyond NumPy (and matplotlib for its pictures)
    function: object

    def __call__(self, quick=False, seed=0, draw=True, **params):
        return self.function(quick=quick, seed=seed, draw=draw, **params)


EXPERIMENTS: "dict[int, Experiment]" = {}
SECTIONS = ["Activations and depth", "Initialization", "Losses and numerics",
            "Training dynamics", "Optimizers", "Regularization and normalization",
            "The real thing"]


def experiment(id, slug, title, claim, section, seconds, needs=""):
    """Register an experiment. The function takes ``quick``, ``seed`` and its own settings
    and returns a Result; the registered wrapper adds the claim, times the run, turns
    ``Skip`` into a skipped result and draws the pictures (``draw=False`` skips them)."""
    def register(fn):
        @functools.wraps(fn)
        def run(quick=False, seed=0, draw=True, **params):
            start = time.perf_counter()
            try:
                with one_blas_thread():     # small matrices: as fast, and steady on a busy machine
                    result = fn(quick=quick, seed=seed, **params)
            except Skip as why:
                result = Result(skipped=str(why))
            result.id, result.slug, result.title, result.claim = id, slug, title, claim
            result.section = section
            result.settings = {"quick": quick, "seed": seed, **params, **result.settings}
            if draw and result.skipped is None:
                try:
                    result.images = render(result.plots)
                except ImportError as e:                 # matplotlib missing: numbers only
                    result.notes.append(f"no pictures: {e}")
            result.plots = {}
            result.seconds = time.perf_counter() - start
            return result

        if id in EXPERIMENTS:
            raise ValueError(f"experiment {id} is registered twice")
        EXPERIMENTS[id] = Experiment(id, slug, title, claim, section, seconds, needs, run)
        return run
    return register


def get(key):
    """An experiment by number (6, "6", "06") or slug ("init-scale"); a clear error otherwise."""
    text = str(key).strip().lower()
    if text.isdigit() and int(text) in EXPERIMENTS:
        return EXPERIMENTS[int(text)]
    for e in EXPERIMENTS.values():
        if e.slug == text:
            return e
    valid = ", ".join(f"{e.id} ({e.slug})" for e in sorted(EXPERIMENTS.values(), key=lambda e: e.id))
    raise KeyError(f"no experiment {key!r}; valid ids: {valid}")


# --- pictures ------------------------------------------------------------------------------

STYLE = {"figure.dpi": 100, "savefig.dpi": 100, "font.size": 9.5, "axes.titlesize": 10.5,
         "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
         "axes.spines.right": False, "legend.frameon": False, "legend.fontsize": 8.5}
COLORS = {"sigmoid": "#d62728", "tanh": "#ff7f0e", "relu": "#1f77b4", "linear": "#7f7f7f",
          "sgd": "#7f7f7f", "momentum": "#1f77b4", "nesterov": "#2ca02c", "adam": "#d62728",
          "adamw": "#9467bd", "ce": "#1f77b4", "mse": "#d62728"}


def render(plots):
    """Each drawing function's figure as PNG bytes (matplotlib's Agg, off-screen)."""
    plt = pyplot()
    images = {}
    for name, draw in plots.items():
        with plt.rc_context(STYLE):
            fig = draw(plt)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", bbox_inches="tight")
            plt.close(fig)
        images[name] = buf.getvalue()
    return images


# --- the loop the experiments share -------------------------------------------------------

def batches(n, batch_size, steps, seed):
    """``steps`` mini-batches of row indices: shuffled epochs, drawn from a seeded generator,
    so that two models given the same seed see the same batches in the same order."""
    rng = np.random.default_rng(seed)
    batch_size = min(batch_size, n)
    out = []
    while len(out) < steps:
        order = rng.permutation(n)
        out += [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]
    return out[:steps]


def train_steps(model, X, y, optimizer, plan, *, every=1, X_eval=None, y_eval=None,
                after_step=None, until=None):
    """The lesson's loop, one mini-batch at a time: forward, backward, optimizer step.

    ``plan`` is a list of row-index arrays (see ``batches``). Returns a dict of curves:
    ``loss`` (each step's mini-batch loss), and every ``every`` steps ``step`` and, when
    evaluation data is given, ``eval_loss`` and ``eval_acc``. A loss that is not finite
    stops the loop; ``diverged_at`` then holds its step (else None). ``after_step(t)``
    is called after each update; ``until(curves)``, after each evaluation, stops the loop
    when it returns True (a target reached).
    """
    curves = {"loss": [], "step": [], "eval_loss": [], "eval_acc": [], "diverged_at": None}
    X, y = model.check_X(X), model.check_y(y, len(X))

    def evaluate(t):
        curves["step"].append(t)
        if X_eval is not None:
            with np.errstate(all="ignore"):
                r = model.evaluate(X_eval, y_eval)
            curves["eval_loss"].append(r["loss"])
            curves["eval_acc"].append(r.get("accuracy", math.nan))

    evaluate(0)
    for t, idx in enumerate(plan, 1):
        with np.errstate(all="ignore"):     # overflow is what some experiments are about
            loss = model.loss_and_grad(X.take(idx, axis=0), y.take(idx, axis=0))
        curves["loss"].append(loss)
        if not math.isfinite(loss):
            curves["diverged_at"] = t
            break
        with np.errstate(all="ignore"):
            optimizer.step(model)
        if after_step is not None:
            after_step(t)
        if t % every == 0 or t == len(plan):
            evaluate(t)
            if until is not None and until(curves):
                break
    return curves


def steps_to(values, target, steps=None, below=True):
    """The first step at which ``values`` reach ``target`` (None if never)."""
    steps = range(1, len(values) + 1) if steps is None else steps
    for s, v in zip(steps, values):
        if (v <= target) if below else (v >= target):
            return int(s)
    return None


def smooth(values, window):
    """A running mean over ``window`` steps (shorter at the start), for noisy mini-batch losses."""
    v = np.asarray(values, dtype=np.float64)
    c = np.cumsum(np.insert(v, 0, 0.0))
    lo = np.maximum(np.arange(1, len(v) + 1) - window, 0)
    return (c[1:] - c[lo]) / (np.arange(1, len(v) + 1) - lo)


def fmt(x, digits=3):
    """A number the way a reader wants it: 0.25, 3.2e-12, 1,234, NaN."""
    if x is None:
        return "never"
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    x = float(x)
    if not math.isfinite(x):
        return "NaN" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5):
        return f"{x:.{max(digits - 1, 1)}e}"
    return f"{x:.{digits}g}"


@dataclass
class Table:
    """A small table of strings: aligned text for a terminal, Markdown or HTML for a report."""

    header: list
    rows: list

    def __bool__(self):
        return bool(self.rows)

    def __str__(self):
        cells = [self.header, *self.rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.header))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def markdown(self):
        def row(cells):
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
        return "\n".join([row(self.header), row(["---"] * len(self.header)), *map(row, self.rows)])

    def to_dict(self):
        return {"header": self.header, "rows": self.rows}


def num(x):
    """A setting as one writes it: 0.1, 1e-5, 100 (no padding zeros in the exponent)."""
    return f"{x:g}".replace("e-0", "e-").replace("e+0", "e+")


def text_table(header, rows):
    """A Table from a header and rows of anything (each cell becomes its str)."""
    return Table([str(h) for h in header], [[str(c) for c in r] for r in rows])


def timed(fn, repeats):
    """The median wall-clock seconds of ``repeats`` calls of fn()."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


# --- data ----------------------------------------------------------------------------------

@dataclass
class Data:
    """A train/test split and what stood in for what (``note``)."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    note: str = ""

    @property
    def n_features(self):
        return self.X_train.shape[1]


def mnist(quick=False, n_train=None, n_test=None):
    """MNIST, the first ``n_train`` / ``n_test`` images of each split (all by default).

    MNIST is looked for where handgrad.data looks (never downloaded here). Where it is
    missing, a --quick run uses scikit-learn's 8x8 digits instead and says so in the
    result; a full run is skipped, saying how to get MNIST.
    """
    from ..data import load_digits, load_mnist
    try:
        X, y, Xt, yt = load_mnist(allow_download=False)
    except FileNotFoundError as e:
        where = str(e).splitlines()[0]
        if not quick:
            raise Skip(f"needs MNIST, which was not found ({where}); set HANDGRAD_DATA to a "
                       "folder holding mnist/ with the four IDX files, or run with --quick to "
                       "use scikit-learn's 8x8 digits instead") from None
        try:
            X, y, Xt, yt = load_digits(seed=0)
        except ImportError as e2:
            raise Skip(f"needs MNIST (not found) or, with --quick, the 8x8 digits ({e2})") from None
        note = ("MNIST was not found, so scikit-learn's 8x8 digits (1,437 training and 360 "
                "test images, 64 pixels) stand in: the numbers are about the digits, not MNIST")
        return Data("digits", X[:n_train], y[:n_train], Xt[:n_test], yt[:n_test], note)
    return Data("mnist", X[:n_train], y[:n_train], Xt[:n_test], yt[:n_test])


def one_blas_thread():
    """A context in which NumPy's BLAS runs on one thread (threadpoolctl, when installed).

    Timing on a shared machine is steadier this way: a BLAS thread that waits for a busy
    core can make one matrix product ten times slower.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(1)
