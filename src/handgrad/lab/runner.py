"""Running experiments: one, several or all, with their pictures and the report."""

import time
import traceback

from .core import EXPERIMENTS, Result, get
from .report import write_report


def run_one(key, quick=False, seed=0, draw=True, **params):
    """Run one experiment (by id or slug) and return its Result; an exception inside the
    experiment becomes a result with verdict "error" (the others still run)."""
    e = get(key)
    start = time.perf_counter()
    try:
        return e(quick=quick, seed=seed, draw=draw, **params)
    except Exception as ex:
        where = traceback.extract_tb(ex.__traceback__)[-1]
        place = f"{where.filename.split('/')[-1]}:{where.lineno}"
        r = Result(error=f"{type(ex).__name__}: {ex} (at {place})")
        r.id, r.slug, r.title, r.claim, r.section = e.id, e.slug, e.title, e.claim, e.section
        r.settings = {"quick": quick, "seed": seed, **params}
        r.seconds = time.perf_counter() - start
        return r


def run(keys=None, quick=False, seed=0, out=None, draw=True, log=None):
    """Run the experiments ``keys`` (ids or slugs; None: all of them) in order.

    ``out``: a folder that receives each picture as PNG, report.md, report.html and
    results.json. ``log``: a function called with a line of progress (print, say).
    Returns the Results.
    """
    experiments = [get(k) for k in keys] if keys else sorted(EXPERIMENTS.values(),
                                                               key=lambda e: e.id)
    start = time.perf_counter()
    results = []
    for i, e in enumerate(experiments, 1):
        if log:
            log(f"[{i}/{len(experiments)}] {e.id}. {e.title} …")
        r = run_one(e.id, quick=quick, seed=seed, draw=draw)
        results.append(r)
        if log:
            log(r.text())
    if out is not None:
        write_report(results, out, quick=quick, seconds=time.perf_counter() - start)
    return results


def listing():
    """The registry as text: id, slug, title, claim, about how long, what it needs."""
    lines = ["The pictures need matplotlib (pip install 'handgrad[plot]'); times are for 2 CPU cores.", ""]
    for e in sorted(EXPERIMENTS.values(), key=lambda e: e.id):
        quick, full = e.seconds
        lines.append(f"{e.id:>2}  {e.slug:<24} {e.title}")
        lines.append(f"    claim: {e.claim}")
        lines.append(f"    about {quick:g} s with --quick, {full:g} s in full"
                     + (f"; needs {e.needs}" if e.needs else ""))
    return "\n".join(lines)
