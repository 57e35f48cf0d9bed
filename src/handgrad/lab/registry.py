"""The registry: every experiment of the lab, by number and by name.

    @experiment("init-test-50", "The init test's std at layer 50", lesson="perceptron",
                section="Initialization", claim="…", seconds=(1, 2),
                fails_with={"he": dict(he_gain=1.0)})
    def init_test(quick=False, seed=0, he_gain=2.0): ... return Result(...)

An experiment is a plain function of ``quick``, ``seed`` and its own settings that returns
a ``Result``. ``fails_with`` maps each part of the claim (a check's key) to settings under
which that part must fail: the tests run them all, so every check is shown able to fail.
Numbers follow the order of registration: the lessons in order, then our own claims.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .lessons import LESSONS, section_of
from .pictures import render
from .result import Result, Skip
from .threads import one_blas_thread


@dataclass
class Experiment:
    """A registry entry: the claim, where it comes from, how long it takes, the function."""

    id: int
    slug: str
    title: str
    claim: str
    lesson: str | None
    section: str
    seconds: tuple[float, float]          # about how long: (--quick, full), on 2 CPU cores
    needs: str                            # what it needs beyond NumPy (and matplotlib)
    related: tuple[str, ...]
    fails_with: dict[str, dict[str, Any]]
    function: Callable[..., Result]
    quick_skips: str = ""                 # why --quick leaves it out ("" when it runs)
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def report_section(self) -> str:
        return section_of(self.lesson)

    def __call__(self, quick: bool = False, seed: int = 0, draw: bool = True,
                 **params: Any) -> Result:
        return self.function(quick=quick, seed=seed, draw=draw, **params)


EXPERIMENTS: dict[int, Experiment] = {}


def experiment(slug: str, title: str, *, claim: str, lesson: str | None, section: str,
               seconds: tuple[float, float], fails_with: dict[str, dict[str, Any]],
               needs: str = "", related: tuple[str, ...] = (),
               quick_skips: str = "") -> Callable[[Callable[..., Result]], Callable[..., Result]]:
    """Register an experiment (see the module's docstring). The registered wrapper adds the
    claim and its citation, times the run, turns ``Skip`` into a skipped result and draws
    the pictures (``draw=False`` leaves them out)."""
    if lesson is not None and lesson not in LESSONS:
        raise ValueError(f"unknown lesson {lesson!r}; valid: {', '.join(LESSONS)}")
    if not fails_with:
        raise ValueError(f"experiment {slug!r} names no setting under which its check fails")

    def register(fn: Callable[..., Result]) -> Callable[..., Result]:
        number = len(EXPERIMENTS) + 1

        @functools.wraps(fn)
        def run(quick: bool = False, seed: int = 0, draw: bool = True, **params: Any) -> Result:
            start = time.perf_counter()
            try:
                if quick and quick_skips:
                    raise Skip(f"--quick leaves it to the full run: {quick_skips}. Run it without --quick "
                               "to measure it.")
                with one_blas_thread():      # small matrices: as fast, and steady on a busy machine
                    result = fn(quick=quick, seed=seed, **params)
            except Skip as why:
                result = Result(skipped=str(why))
            result.id, result.slug, result.title, result.claim = number, slug, title, claim
            result.lesson, result.section, result.related = lesson, section, related
            result.settings = {"quick": quick, "seed": seed, **params, **result.settings}
            if draw and result.skipped is None:
                try:
                    result.images = render(result.plots)
                except ImportError as e:                 # matplotlib missing: numbers only
                    result.notes.append(f"no pictures: {e}")
            result.plots = {}
            result.seconds = time.perf_counter() - start
            return result

        if any(e.slug == slug for e in EXPERIMENTS.values()):
            raise ValueError(f"experiment {slug!r} is registered twice")
        EXPERIMENTS[number] = Experiment(number, slug, title, claim, lesson, section, seconds,
                                         needs, related, fails_with, run, quick_skips)
        return run
    return register


def get(key: int | str) -> Experiment:
    """An experiment by number (6, "6", "06") or name ("init-test-50"); a KeyError naming
    the valid ones otherwise."""
    text = str(key).strip().lower()
    if text.isdigit() and int(text) in EXPERIMENTS:
        return EXPERIMENTS[int(text)]
    for e in EXPERIMENTS.values():
        if e.slug == text:
            return e
    valid = ", ".join(f"{e.id} ({e.slug})" for e in EXPERIMENTS.values())
    raise KeyError(f"no experiment {key!r}; valid: {valid}")
