"""Running experiments: one, several or all, with their pictures and the report."""

from __future__ import annotations

import importlib.util
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .lessons import citation
from .registry import EXPERIMENTS, get
from .report import write_report
from .result import Result


def run_one(key: int | str, quick: bool = False, seed: int = 0, draw: bool = True,
            **params: Any) -> Result:
    """Run one experiment (by number or name) and return its Result; an exception inside the
    experiment becomes a result with verdict "error" (the others still run)."""
    e = get(key)
    start = time.perf_counter()
    try:
        return e(quick=quick, seed=seed, draw=draw, **params)
    except Exception as ex:
        where = traceback.extract_tb(ex.__traceback__)[-1]
        place = f"{Path(where.filename).name}:{where.lineno}"
        r = Result(error=f"{type(ex).__name__}: {ex} (at {place})")
        r.id, r.slug, r.title, r.claim = e.id, e.slug, e.title, e.claim
        r.lesson, r.section, r.related = e.lesson, e.section, e.related
        r.settings = {"quick": quick, "seed": seed, **params}
        r.seconds = time.perf_counter() - start
        return r


def run(keys: Iterable[int | str] | None = None, quick: bool = False, seed: int = 0,
        out: str | Path | None = None, draw: bool = True,
        log: Callable[[str], Any] | None = None) -> list[Result]:
    """Run the experiments ``keys`` (numbers or names; None: all of them) in order.

    ``out``: a folder that receives each picture as PNG, report.md, report.html and
    results.json. ``log``: a function called with a line of progress (print, say).
    """
    chosen = [get(k) for k in keys] if keys else list(EXPERIMENTS.values())
    start = time.perf_counter()
    results = []
    for i, e in enumerate(chosen, 1):
        if log:
            log(f"[{i}/{len(chosen)}] {e.id}. {e.title} …")
        r = run_one(e.id, quick=quick, seed=seed, draw=draw)
        results.append(r)
        if log:
            log(r.text())
    if out is not None:
        write_report(results, out, quick=quick, seconds=time.perf_counter() - start)
    return results


def listing() -> str:
    """The registry as text: number, name, title, citation, claim, about how long, needs."""
    lines = []
    if importlib.util.find_spec("matplotlib") is None:
        lines += ["The pictures need matplotlib, which is not installed: "
                  "pip install 'handgrad[plot]'. Without it the lab gives the numbers alone.", ""]
    lines += ["Times are for 2 CPU cores.", ""]
    for e in EXPERIMENTS.values():
        quick, full = e.seconds
        when = (f"about {full:g} s (full run only)" if e.quick_skips
                else f"about {quick:g} s with --quick, {full:g} s in full")
        lines.append(f"{e.id:>2}  {e.slug:<28} {e.title}")
        lines.append(f"    {citation(e.lesson, e.section)}")
        lines.append(f"    claim: {e.claim}")
        lines.append(f"    {when}" + (f"; needs {e.needs}" if e.needs else ""))
    return "\n".join(lines)
