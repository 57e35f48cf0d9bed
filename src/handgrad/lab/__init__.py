"""The lab: every claim the lessons make, reproduced as an experiment with a number, a verdict
and a picture.

    from handgrad import lab
    r = lab.run_one(6, quick=True)    # or lab.get("init-scale")(quick=True)
    r.verdict, r.measurements, r.checks, r.images
    lab.run(out="report", quick=True) # every experiment, plus report.md / .html / .json

Each experiment is a plain function in the registry ``EXPERIMENTS`` (id -> Experiment). It
is seeded and deterministic (wall-clock timings excepted), measures the number its claim
is about, and returns a ``Result`` whose verdict — holds, holds partly, does not hold —
follows from those measurements alone.
"""

# each module registers its experiments on import
from . import depth, dynamics, initialization, numerics, optimizers, real, regularization  # noqa: F401
from .core import EXPERIMENTS, SECTIONS, Check, Experiment, Result, Skip, get, verdict_of
from .report import write_report
from .runner import listing, run, run_one
from .verdicts import FAILS, HOLDS, PARTLY, SKIPPED

__all__ = ["EXPERIMENTS", "SECTIONS", "Check", "Experiment", "Result", "Skip", "get", "listing",
           "run", "run_one", "verdict_of", "write_report", "HOLDS", "PARTLY", "FAILS", "SKIPPED"]
