"""The lab: the lessons' claims, each run as an experiment with a number, a verdict and a picture.

    from handgrad import lab
    r = lab.run_one("init-test-50")     # by name, or by number: lab.run_one(44)
    r.verdict, r.found, r.why, r.checks, r.measurements, r.images
    lab.run(out="report", quick=True)   # every experiment, plus report.md / .html / .json

Each experiment is a plain function registered in ``EXPERIMENTS`` (number -> Experiment).
It cites the lesson its claim comes from, runs the lesson's own setup first and then the
variants that explain it, and returns a ``Result`` whose verdict follows from its checks
alone. The modules, one job each:

    lessons      the five lessons, by the titles the report cites
    result       Check and Result, and the verdict the checks give
    stats        means, intervals and effect sizes over seeds
    registry     the registry and the @experiment decorator
    training     training through handgrad.train.train, with a notebook; the lessons' data
    flops        counting the floating-point operations a computation runs
    threads      one BLAS thread while experiments run
    pictures     matplotlib style, palette and PNG rendering
    render, report, runner, commands    one result as Markdown / HTML, the report, runs, CLI

The experiments live in one module per lesson (``by_hand``, ``primitives``, ``spec``,
``perceptron``, ``stacking``) and ``beyond`` for claims that are ours.
"""

# each module registers its experiments on import, in the order of the report
from . import by_hand, by_hand_training, primitives, spec, perceptron, stacking, beyond  # noqa: F401, I001
from .lessons import LESSONS, SECTIONS
from .registry import EXPERIMENTS, Experiment, get
from .report import write_report
from .result import Check, Result, Skip, verdict_of
from .runner import listing, run, run_one
from .verdicts import AS_STATED, FAILS, HOLDS, PARTLY, SKIPPED, UNSETTLED, UNTESTED

__all__ = ["EXPERIMENTS", "LESSONS", "SECTIONS", "Check", "Experiment", "Result", "Skip", "get",
           "listing", "run", "run_one", "verdict_of", "write_report",
           "HOLDS", "PARTLY", "AS_STATED", "FAILS", "UNSETTLED", "UNTESTED", "SKIPPED"]
