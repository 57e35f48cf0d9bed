"""The lab's report: Markdown with PNG files beside it, one self-contained HTML page (pictures
embedded as base64) and a JSON of every result."""

import datetime
import json
import os
import platform
from pathlib import Path

import numpy as np

from .core import SECTIONS
from .render import CSS, anchor, esc, md_cell, result_html, result_markdown
from .verdicts import COLORS, ERROR, FAILS, HOLDS, MARKS, PARTLY, SKIPPED, UNTESTED


def environment():
    """Where and with what the results were measured."""
    from .. import __version__
    return {"date": datetime.date.today().isoformat(), "handgrad": __version__, "numpy": np.__version__,
            "python": platform.python_version(), "machine": f"{platform.system()} {platform.machine()}",
            "cpus": os.cpu_count()}


def counts(results):
    """How many results have each verdict, in a sentence."""
    parts = []
    for v in (HOLDS, PARTLY, FAILS, UNTESTED, SKIPPED, ERROR):
        n = sum(r.verdict == v for r in results)
        if n:
            parts.append(f"{n} {v}")
    return ", ".join(parts)


def summary_rows(results):
    return [f"| [{r.id}](#{anchor(r)}) | {md_cell(r.title)} | {MARKS[r.verdict]} | {md_cell(_short(r))} |"
            for r in results]


def _short(r):
    """The numbers behind the verdict, short: the failed checks' measurements, else the first ones."""
    if r.skipped or r.error:
        return (r.skipped or r.error)[:160]
    failed = [c.measured for c in r.checks if c.passed is False]
    text = "; ".join(failed or [c.measured for c in r.checks if c.passed][:2])
    return text if len(text) <= 220 else text[:217] + "…"


def report_markdown(results, env, quick, seconds):
    mode = "quick run (`--quick`: smaller data, fewer steps)" if quick else "full run"
    out = ["# The lab: every claim, measured", "",
           "Each claim the lessons make, run as a seeded experiment on handgrad's own models: "
           "the number the claim is about, the verdict that number gives (holds, holds partly, "
           "does not hold — computed from the measurements, never set in advance) and the "
           "picture. Regenerate it with `handgrad lab all --out docs/lab`"
           + (" --quick" if quick else "") + ".", "",
           f"{mode}, {env['date']}: handgrad {env['handgrad']}, NumPy {env['numpy']}, "
           f"Python {env['python']}, "
           f"{env['machine']}, {env['cpus']} CPUs; {seconds / 60:.1f} minutes in all. Verdicts: "
           f"{counts(results)}. Every number is reproducible bit for bit from its seed except "
           "the wall-clock timings" + (f" (experiments {', '.join(str(r.id) for r in results if r.timings)} "
                                       "report some)" if any(r.timings for r in results) else "")
           + ", which vary by machine and moment.", "",
           "| # | claim | verdict | the numbers behind it |", "|---|---|---|---|", *summary_rows(results), ""]
    for section in SECTIONS:
        inside = [r for r in results if r.section == section]
        if inside:
            out += [f"## {section}", ""]
            out += [result_markdown(r) for r in inside]
    return "\n".join(out)


def report_html(results, env, quick, seconds):
    mode = "quick run (--quick: smaller data, fewer steps)" if quick else "full run"
    rows = "".join(f'<tr><td><a href="#{esc(anchor(r))}">{r.id}</a></td><td>{esc(r.title)}</td>'
                   f'<td style="color:{COLORS[r.verdict]};white-space:nowrap">{esc(MARKS[r.verdict])}</td>'
                   f"<td>{esc(_short(r))}</td></tr>" for r in results)
    body = ["<h1>The lab: every claim, measured</h1>",
            "<p>Each claim the lessons make, run as a seeded experiment on handgrad's own models: the "
            "number the claim is about, the verdict that number gives and the picture.</p>",
            f'<p class="meta">{esc(mode)}, {esc(env["date"])}: handgrad {esc(env["handgrad"])}, NumPy '
            f'{esc(env["numpy"])}, Python {esc(env["python"])}, {esc(env["machine"])}, {env["cpus"]} CPUs; '
            f"{seconds / 60:.1f} minutes. Verdicts: {esc(counts(results))}.</p>",
            "<table><tr><th>#</th><th>claim</th><th>verdict</th><th>the numbers behind it</th></tr>"
            f"{rows}</table>"]
    for section in SECTIONS:
        inside = [r for r in results if r.section == section]
        if inside:
            body.append(f"<h2>{esc(section)}</h2>")
            body += [result_html(r) for r in inside]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>handgrad lab</title><style>{CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def write_report(results, out, quick=False, seconds=None):
    """Write report.md (with the PNGs beside it), report.html and results.json into ``out``.

    Returns the paths written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    env = environment()
    seconds = sum(r.seconds for r in results) if seconds is None else seconds
    paths = []
    for r in results:
        paths += r.save_images(out)
    (out / "report.md").write_text(report_markdown(results, env, quick, seconds), encoding="utf-8")
    (out / "report.html").write_text(report_html(results, env, quick, seconds), encoding="utf-8")
    data = {"environment": env, "quick": quick, "seconds": round(seconds, 1),
            "verdicts": {r.id: r.verdict for r in results}, "results": [r.to_dict() for r in results]}
    (out / "results.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return paths + [out / "report.md", out / "report.html", out / "results.json"]
