"""The lab's report: report.md and report.html with the PNG pictures beside them, and
results.json with every number. The HTML needs no other file than those pictures (no
script, no font, no stylesheet), so the folder drops into a static site as it is."""

from __future__ import annotations

import datetime
import json
import os
import platform
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from .lessons import BEYOND, BEYOND_ABOUT, LESSONS, SECTIONS
from .render import anchor, badge, esc, md, md_cell, page, result_html, result_markdown
from .result import Result
from .verdicts import VERDICTS


def environment() -> dict[str, Any]:
    """Where and with what the results were measured."""
    from .. import __version__
    return {"date": datetime.date.today().isoformat(), "handgrad": __version__,
            "numpy": np.__version__, "python": platform.python_version(),
            "machine": f"{platform.system()} {platform.machine()}", "cpus": os.cpu_count()}


def tally(results: list[Result]) -> dict[str, Any]:
    """Claims in all, from the lessons and beyond them; verdicts by kind."""
    verdicts = Counter(r.verdict for r in results)
    return {"claims": len(results), "from_the_lessons": sum(not r.beyond for r in results),
            "beyond_the_lessons": sum(r.beyond for r in results),
            "verdicts": {v: verdicts[v] for v in VERDICTS if verdicts[v]}}


PLURAL = {"holds": "hold", "holds partly": "hold partly", "does not hold as stated": "do not hold as stated",
          "does not hold": "do not hold"}


def tally_sentence(results: list[Result]) -> str:
    t = tally(results)
    kinds = ", ".join(f"{n} {v if n == 1 else PLURAL.get(v, v)}" for v, n in t["verdicts"].items())
    return (f"{t['claims']} claim{'s' if t['claims'] != 1 else ''} ({t['from_the_lessons']} from the "
            f"lessons, "
            f"{t['beyond_the_lessons']} of our own): {kinds}.")


def wrong_rows(results: list[Result]) -> list[tuple[Result, str, str, str]]:
    """(result, part of the claim, what the lesson says, what we measured) for every part of a
    lesson's claim that does not hold on the lesson's own setup."""
    return [(r, c.text, c.says, c.measured) for r in results if not r.beyond for c in r.wrong()]


def _by_section(results: list[Result]) -> list[tuple[str, str, list[Result]]]:
    about = {lesson.heading: lesson.about for lesson in LESSONS.values()}
    about[BEYOND] = BEYOND_ABOUT
    return [(s, about[s], [r for r in results if r.report_section == s]) for s in SECTIONS
            if any(r.report_section == s for r in results)]


INTRO = ("Each claim the five lessons make, run as a seeded experiment on handgrad's own "
         "models, on the lesson's own setup first — its data, sizes, initialization, learning "
         "rate and steps — then on variants that explain it, each marked as a variant. A claim "
         "holds only where the number it is about clears its threshold; a claim about luck is "
         "measured over several seeds, and holds only where the 95 % interval of the mean clears "
         "it. Every threshold is shown with the distance the measurement lies from it, and every "
         "check has a setting, run by the tests, in which it fails.")


def _mode(quick: bool) -> str:
    return ("quick run (`--quick`: 5 seeds instead of 10 and fewer variants; the longest MNIST "
            "runs are left to the full run)" if quick else "full run")


def report_markdown(results: list[Result], env: dict[str, Any], quick: bool, seconds: float) -> str:
    titles = {r.slug: r.title for r in results}
    out = ["# The lab: the lessons' claims, measured", "", INTRO, "",
           f"{_mode(quick)}, {env['date']}: handgrad {env['handgrad']}, NumPy {env['numpy']}, "
           f"Python {env['python']}, {env['machine']}, {env['cpus']} CPUs; "
           f"{seconds / 60:.1f} minutes in all. Regenerate it with "
           f"`handgrad lab all{' --quick' if quick else ''} --out docs/lab`.", "",
           f"**{tally_sentence(results)}**", ""]
    wrong = wrong_rows(results)
    if wrong:
        out += ["## Where a lesson is wrong", "",
                "The parts of the lessons' claims that do not hold on the lesson's own setup, "
                "with the lesson's number and ours:", "",
                "| claim | part | the lesson says | we measured |", "|---|---|---|---|"]
        out += [f"| [{md_cell(r.title)}](#{anchor(r.slug)}) | {md_cell(part)} | {md_cell(says)} | "
                f"{md_cell(got)} |" for r, part, says, got in wrong]
        out.append("")
    out += ["## Every claim", "", "| # | claim | lesson | verdict | what we measured |",
            "|---|---|---|---|---|"]
    out += [f"| {r.id} | [{md_cell(r.title)}](#{anchor(r.slug)}) | "
            f"{'ours' if r.beyond else LESSONS[r.lesson or ''].number} | {r.verdict} | "
            f"{md_cell(r.found or r.skipped or r.error or '')} |" for r in results]
    out.append("")
    for section, about, inside in _by_section(results):
        out += [f"## {section}", "", f"*{md(about)}.*", ""]
        out += [result_markdown(r, titles) for r in inside]
    return "\n".join(out)


def report_html(results: list[Result], env: dict[str, Any], quick: bool, seconds: float,
                embed: bool = False) -> str:
    titles = {r.slug: r.title for r in results}
    body = ["<h1>The lab: the lessons' claims, measured</h1>", f"<p>{esc(INTRO)}</p>",
            f'<p class="meta">{esc(_mode(quick).replace("`", ""))}, {esc(env["date"])}: handgrad '
            f'{esc(env["handgrad"])}, NumPy {esc(env["numpy"])}, Python {esc(env["python"])}, '
            f'{esc(env["machine"])}, {env["cpus"]} CPUs; {seconds / 60:.1f} minutes in all.</p>',
            f"<p><b>{esc(tally_sentence(results))}</b></p>"]
    wrong = wrong_rows(results)
    if wrong:
        body.append("<h2>Where a lesson is wrong</h2><p>The parts of the lessons' claims that do "
                    "not hold on the lesson's own setup, with the lesson's number and ours:</p>")
        rows = "".join(f'<tr><td><a href="#{esc(anchor(r.slug))}">{esc(r.title)}</a></td>'
                       f"<td>{esc(part)}</td><td>{esc(says)}</td><td>{esc(got)}</td></tr>"
                       for r, part, says, got in wrong)
        body.append("<table><thead><tr><th>claim</th><th>part</th><th>the lesson says</th>"
                    f"<th>we measured</th></tr></thead><tbody>{rows}</tbody></table>")
    rows = "".join(f'<tr><td>{r.id}</td><td><a href="#{esc(anchor(r.slug))}">{esc(r.title)}</a></td>'
                   f"<td>{'ours' if r.beyond else LESSONS[r.lesson or ''].number}</td>"
                   f"<td>{badge(r.verdict)}</td><td>{esc(r.found or r.skipped or r.error or '')}</td></tr>"
                   for r in results)
    body.append("<h2>Every claim</h2><table><thead><tr><th>#</th><th>claim</th><th>lesson</th>"
                f"<th>verdict</th><th>what we measured</th></tr></thead><tbody>{rows}</tbody></table>")
    for section, about, inside in _by_section(results):
        body += [f'<h2 id="{esc(section.split(":")[0].lower().replace(" ", "-"))}">{esc(section)}</h2>',
                 f"<p><i>{esc(about)}.</i></p>"]
        body += [result_html(r, embed, titles) for r in inside]
    return page("\n".join(body), "handgrad lab: the lessons' claims, measured")


def write_report(results: list[Result], out: str | Path, quick: bool = False,
                 seconds: float | None = None) -> list[Path]:
    """Write the pictures, report.md, report.html and results.json into ``out``; returns the
    paths written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    env = environment()
    seconds = sum(r.seconds for r in results) if seconds is None else seconds
    paths = []
    for r in results:
        for name, png in r.images.items():
            path = out / r.image_name(name)
            path.write_bytes(png)
            paths.append(path)
    (out / "report.md").write_text(report_markdown(results, env, quick, seconds), encoding="utf-8")
    (out / "report.html").write_text(report_html(results, env, quick, seconds), encoding="utf-8")
    data = {"environment": env, "quick": quick, "seconds": round(seconds, 1), **tally(results),
            "lessons": {k: {"number": v.number, "title": v.title, "about": v.about}
                        for k, v in LESSONS.items()},
            "lesson_is_wrong": [{"slug": r.slug, "part": part, "lesson_says": says, "measured": got}
                                for r, part, says, got in wrong_rows(results)],
            "results": [r.to_dict() for r in results]}
    (out / "results.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    return paths + [out / "report.md", out / "report.html", out / "results.json"]
