"""What an experiment returns: its checks, its measurements and the verdict they give.

An experiment measures, then states each part of its claim as a ``Check``: the part in
words, the number this run measured, the threshold it is held to and how far the number
lies from it ("distance from threshold", positive on the claim's side). A part measured
over several seeds passes only when its whole 95 % interval clears the threshold.

Checks on the lesson's own setup decide the verdict; checks on a variant (``variant="…"``)
explain it. With ``L`` the lesson-setup checks:

    every part of L passes                         -> "holds"
    a failing part holds under a variant           -> "does not hold as stated"
      of the same key, and every failing part does
    some parts pass, some fail                     -> "holds partly"
    none passes                                    -> "does not hold"
    none fails, some the seeds cannot settle       -> "not settled"

A part this machine cannot test (a speed on Apple silicon) is reported and left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .lessons import citation, section_of
from .stats import Sample, Share
from .verdicts import (
    AS_STATED,
    ERROR,
    FAIL,
    FAILS,
    HOLDS,
    NOT_HERE,
    PARTLY,
    PASS,
    SKIPPED,
    UNCLEAR,
    UNSETTLED,
    UNTESTED,
)


class Skip(Exception):
    """Raised by an experiment that cannot run here (data or an extra missing); says why."""


# --- numbers as a reader wants them ---------------------------------------------------------

def fmt(x: Any, digits: int = 3) -> str:
    """0.25, 3.2e-12, 1,234, NaN; None as 'never'."""
    if x is None:
        return "never"
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    x = float(x)
    if not math.isfinite(x):
        return "NaN" if math.isnan(x) else ("inf" if x > 0 else "−inf")
    if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5):
        return f"{x:.{max(digits - 1, 1)}e}".replace("e-0", "e-").replace("e+0", "e+")
    return f"{x:.{digits}g}"


def num(x: float) -> str:
    """A setting as one writes it: 0.1, 1e-5, 100."""
    return f"{x:g}".replace("e-0", "e-").replace("e+0", "e+")


def pct(x: float, digits: int = 1) -> str:
    """0.953 as 95.3%; NaN (a run that diverged) as NaN."""
    return "NaN" if math.isnan(x) else f"{100 * x:.{digits}f}%"


# --- one part of a claim --------------------------------------------------------------------

@dataclass
class Check:
    """One part of a claim: the part in words, what this run measured, the threshold and
    how far the measurement lies from it. Build one with ``at_most``, ``at_least``,
    ``between``, ``near``, ``fact`` or ``not_here``."""

    key: str
    text: str
    measured: str
    outcome: str                        # PASS, FAIL, UNCLEAR or NOT_HERE
    threshold: str = ""                 # "≤ 1e-6", "within 10 % of 1.10", …
    value: float | None = None          # the number held to the threshold (a mean over seeds)
    distance: float | None = None       # from the threshold, + on the claim's side
    distance_text: str = "—"
    effect: float | None = None         # (mean − threshold) / sd over seeds
    stats: dict[str, Any] | None = None
    variant: str | None = None          # None: the lesson's own setup
    says: str = ""                      # the lesson's own number, where it gives one

    @property
    def passed(self) -> bool | None:
        """True or False when tested and settled; None when unclear or not testable here."""
        return {PASS: True, FAIL: False}.get(self.outcome)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "text": self.text, "measured": self.measured,
                "outcome": self.outcome, "passed": self.passed, "threshold": self.threshold,
                "value": _jsonable(self.value), "distance": _jsonable(self.distance),
                "distance_text": self.distance_text, "effect_size": _jsonable(self.effect),
                "stats": _jsonable(self.stats), "variant": self.variant, "lesson_says": self.says}


def _value_and_bounds(value: Any) -> tuple[float, float, float, dict[str, Any] | None]:
    """(mean, low end, high end, stats) of a number, a Sample or a Share."""
    if isinstance(value, (Sample, Share)):
        lo, hi = value.interval
        return value.mean, lo, hi, value.to_dict()
    v = float(value)
    return v, v, v, None


def _outcome(ok_lo: bool, ok_hi: bool) -> str:
    """Both ends of the interval on the claim's side: pass; neither: fail; else unclear."""
    if ok_lo and ok_hi:
        return PASS
    return FAIL if not (ok_lo or ok_hi) else UNCLEAR


def _gap(edge: float, limit: float, log: bool) -> float:
    """How far ``edge`` lies from ``limit``: decades when ``log``, else relative to ``limit``
    (absolute when the limit is 0)."""
    if math.isnan(edge):
        return math.nan
    if log:
        if edge <= 0 or limit <= 0:
            return -math.inf if edge <= 0 else math.inf
        return math.log10(edge / limit)
    if not math.isfinite(edge):
        return math.copysign(math.inf, edge)
    return (edge - limit) / abs(limit) if limit else edge - limit


def _gap_text(d: float | None, log: bool, limit: float) -> str:
    if d is None or math.isnan(d):
        return "—"
    if math.isinf(d):
        return "+∞" if d > 0 else "−∞"
    sign = "+" if d >= 0 else "−"
    if log:
        return f"{sign}{abs(d):.2g} decades"
    if limit == 0:
        return f"{sign}{fmt(abs(d))}"
    return f"{sign}{100 * abs(d):.3g} %"


def _effect(value: Any, limit: float, sign: int) -> float | None:
    if isinstance(value, Sample):
        return sign * value.effect(limit)
    return None


def _nan_is_far(d: float) -> float:
    """A NaN measurement (a run that diverged) is as far from any threshold as can be."""
    return -math.inf if math.isnan(d) else d


def at_most(key: str, text: str, value: Any, limit: float, measured: str | None = None, *,
            log: bool = False, variant: str | None = None, says: str = "") -> Check:
    """The part holds when ``value`` (or its whole interval) is at most ``limit``."""
    mean, lo, hi, stats = _value_and_bounds(value)
    d = _nan_is_far(-_gap(hi, limit, log))
    return Check(key, text, measured or fmt(mean), _outcome(lo <= limit, hi <= limit),
                 f"≤ {fmt(limit)}", mean, d, _gap_text(d, log, limit), _effect(value, limit, -1),
                 stats, variant, says)


def at_least(key: str, text: str, value: Any, limit: float, measured: str | None = None, *,
             log: bool = False, variant: str | None = None, says: str = "") -> Check:
    """The part holds when ``value`` (or its whole interval) is at least ``limit``."""
    mean, lo, hi, stats = _value_and_bounds(value)
    d = _nan_is_far(_gap(lo, limit, log))
    return Check(key, text, measured or fmt(mean), _outcome(lo >= limit, hi >= limit),
                 f"≥ {fmt(limit)}", mean, d, _gap_text(d, log, limit), _effect(value, limit, +1),
                 stats, variant, says)


def between(key: str, text: str, value: Any, lo_limit: float, hi_limit: float,
            measured: str | None = None, *, log: bool = False, variant: str | None = None,
            says: str = "", threshold: str | None = None) -> Check:
    """The part holds when ``value`` (or its whole interval) lies in [lo_limit, hi_limit];
    the distance is to the nearer edge (relative to the band's centre, or in decades)."""
    mean, lo, hi, stats = _value_and_bounds(value)
    inside = lo_limit <= lo <= hi_limit and lo_limit <= hi <= hi_limit
    disjoint = not (hi >= lo_limit and lo <= hi_limit)          # NaN: disjoint
    outcome = PASS if inside else (FAIL if disjoint else UNCLEAR)
    centre = math.sqrt(lo_limit * hi_limit) if log else (lo_limit + hi_limit) / 2
    if log:
        d = min(_gap(lo, lo_limit, True), -_gap(hi, hi_limit, True))
    else:
        d = min(lo - lo_limit, hi_limit - hi) / (abs(centre) or 1.0)
    d = _nan_is_far(d)
    effect = None
    if isinstance(value, Sample) and value.sd > 0:
        effect = min(value.effect(lo_limit), -value.effect(hi_limit))
    return Check(key, text, measured or fmt(mean), outcome,
                 threshold or f"in [{fmt(lo_limit)}, {fmt(hi_limit)}]", mean, d,
                 _gap_text(d, log, centre), effect, stats, variant, says)


def near(key: str, text: str, value: Any, target: float, rel: float, measured: str | None = None,
         *, variant: str | None = None, says: str = "") -> Check:
    """The part holds when ``value`` lies within ±``rel`` (relative) of ``target``."""
    band = sorted((target * (1 - rel), target * (1 + rel)))
    return between(key, text, value, band[0], band[1], measured, variant=variant, says=says,
                   threshold=f"within {100 * rel:g} % of {fmt(target)}")


def fact(key: str, text: str, measured: str, holds: bool, *, variant: str | None = None,
         says: str = "") -> Check:
    """A part that is a yes-or-no observation (an error raised, a loop that converged)."""
    return Check(key, text, measured, PASS if holds else FAIL, "yes", None, None, "—", None, None,
                 variant, says)


def not_here(key: str, text: str, why: str) -> Check:
    """A part this machine cannot test; reported, left out of the verdict."""
    return Check(key, text, why, NOT_HERE, "", None, None, "—")


def verdict_of(checks: list[Check]) -> str:
    """The verdict the checks give (see the module's docstring)."""
    lesson = [c for c in checks if c.variant is None and c.outcome != NOT_HERE]
    if not lesson:
        return UNTESTED
    failed = [c for c in lesson if c.outcome == FAIL]
    unclear = [c for c in lesson if c.outcome == UNCLEAR]
    passed = [c for c in lesson if c.outcome == PASS]
    if not failed:
        return HOLDS if not unclear else (PARTLY if passed else UNSETTLED)
    rescued = {c.key for c in checks if c.variant is not None and c.outcome == PASS}
    if all(c.key in rescued for c in failed):
        return AS_STATED
    return PARTLY if passed else FAILS


# --- tables ---------------------------------------------------------------------------------

@dataclass
class Table:
    """A small table of strings: aligned text for a terminal, Markdown or HTML for a report."""

    header: list[str]
    rows: list[list[str]]
    caption: str = ""

    def __bool__(self) -> bool:
        return bool(self.rows)

    def __str__(self) -> str:
        cells = [self.header, *self.rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.header))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(([self.caption] if self.caption else []) + lines)

    def markdown(self) -> str:
        def row(cells: list[str]) -> str:
            return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
        return "\n".join([row(self.header), row(["---"] * len(self.header)), *map(row, self.rows)])

    def to_dict(self) -> dict[str, Any]:
        return {"caption": self.caption, "header": self.header, "rows": self.rows}


def table(header: list[Any], rows: list[list[Any]], caption: str = "") -> Table:
    """A Table from a header and rows of anything (each cell becomes its str)."""
    return Table([str(h) for h in header], [[str(c) for c in r] for r in rows], caption)


# --- the result -----------------------------------------------------------------------------

@dataclass
class Result:
    """What an experiment measured, and what that says about its claim.

    The experiment fills ``checks``, ``found`` (one sentence: what we measured), ``why`` (one
    sentence: why it comes out so), ``setups`` (the lesson's setup first, then each variant,
    by name), ``measurements`` (name -> number, list or short string), ``tables``, ``notes``
    and ``plots`` (name -> function drawing a matplotlib figure). The registry adds the
    claim, its citation and the pictures' PNG bytes (``images``).
    """

    checks: list[Check] = field(default_factory=list)
    found: str = ""
    why: str = ""
    setups: dict[str, str] = field(default_factory=dict)
    measurements: dict[str, Any] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plots: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    images: dict[str, bytes] = field(default_factory=dict)
    timings: tuple[str, ...] = ()       # measurement names that are wall-clock times
    id: int = 0
    slug: str = ""
    title: str = ""
    claim: str = ""
    lesson: str | None = None
    section: str = ""
    related: tuple[str, ...] = ()
    seconds: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None
    error: str | None = None

    @property
    def verdict(self) -> str:
        if self.error is not None:
            return ERROR
        if self.skipped is not None:
            return SKIPPED
        return verdict_of(self.checks)

    @property
    def beyond(self) -> bool:
        """True for a claim of ours, not the lessons'."""
        return self.lesson is None

    @property
    def citation(self) -> str:
        return citation(self.lesson, self.section)

    @property
    def report_section(self) -> str:
        return section_of(self.lesson)

    @property
    def summary(self) -> str:
        """One line: the verdict and what was found."""
        if self.error is not None:
            return f"error: {self.error}"
        if self.skipped is not None:
            return f"skipped: {self.skipped}"
        return f"{self.verdict}: {self.found}"

    def wrong(self) -> list[Check]:
        """The lesson-setup parts that do not hold, where the lesson gives its own number."""
        return [c for c in self.checks if c.variant is None and c.outcome == FAIL and c.says]

    def image_name(self, name: str) -> str:
        return f"{self.id:02d}-{self.slug}-{name}.png"

    def to_dict(self) -> dict[str, Any]:
        """Everything but the pictures' bytes, JSON-ready (pictures by file name)."""
        return {"id": self.id, "slug": self.slug, "title": self.title,
                "lesson": self.lesson, "section": self.section, "citation": self.citation,
                "beyond_the_lessons": self.beyond, "claim": self.claim, "found": self.found,
                "why": self.why, "verdict": self.verdict, "setups": dict(self.setups),
                "checks": [c.to_dict() for c in self.checks],
                "measurements": _jsonable(self.measurements),
                "tables": [t.to_dict() for t in self.tables], "notes": list(self.notes),
                "images": [self.image_name(n) for n in self.images], "related": list(self.related),
                "wall_clock_measurements": list(self.timings), "seconds": round(self.seconds, 2),
                "settings": _jsonable(self.settings), "skipped": self.skipped, "error": self.error}

    def text(self) -> str:
        """The result as plain text, as the command line prints it."""
        lines = [f"[{self.id}] {self.title}  ({self.citation})", f"  the lesson: {self.claim}"]
        if self.found:
            lines.append(f"  we found:   {self.found}")
        if self.why:
            lines.append(f"  why:        {self.why}")
        for c in self.checks:
            where = f" [variant: {c.variant}]" if c.variant else ""
            lines.append(f"  {c.outcome:>8}  {c.text}{where} — measured {c.measured}"
                         + (f" (threshold {c.threshold}; distance {c.distance_text})"
                            if c.threshold and c.threshold != "yes" else ""))
        lines += [f"  note: {n}" for n in self.notes]
        reason = self.skipped or self.error
        lines.append(f"  verdict: {self.verdict.upper()}" + (f" ({reason})" if reason else ""))
        lines.append(f"  ({self.seconds:.1f} s)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        from .render import result_html
        return result_html(self, embed=True)


def _jsonable(value: Any) -> Any:
    """Numbers as plain floats and ints (NaN and infinity as strings), arrays as lists."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (Sample, Share)):
        return _jsonable(value.to_dict())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else str(value)
    return value
