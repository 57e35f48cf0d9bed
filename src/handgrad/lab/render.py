"""One result as Markdown or as HTML.

Each claim opens with three plain sentences — what the lesson says, what we measured, why —
then its picture; the raw numbers (each part of the claim with its threshold and distance,
the setups, the tables) are folded under ``<details>``. The verdict is written in words and,
in HTML, coloured; no symbol in it needs an emoji font.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from typing import Any

from .verdicts import BACKGROUNDS, COLORS


def anchor(slug: str) -> str:
    return slug


def command(r: Any) -> str:
    quick = " --quick" if r.settings.get("quick") else ""
    return f"handgrad lab run {r.slug}{quick}"


def meta_line(r: Any) -> str:
    return f"{command(r)} · seed {r.settings.get('seed', 0)} · {r.seconds:.1f} s"


def check_rows(checks: list[Any]) -> list[list[str]]:
    return [[c.text, c.variant or "the lesson's", c.measured, c.threshold or "—", c.distance_text,
             "—" if c.effect is None else f"{c.effect:+.2g}", c.outcome] for c in checks]


CHECK_HEADER = ["part of the claim", "setup", "measured", "threshold", "distance from threshold",
                "effect size (sd)", "holds"]


def _related(r: Any, titles: dict[str, str], link: Callable[[str, str], str]) -> str:
    found = [link(s, titles[s]) for s in r.related if s in titles]
    return ("Related: " + ", ".join(found)) if found else ""


# --- Markdown -------------------------------------------------------------------------------

def md(text: str) -> str:
    return str(text).replace("\n", " ")


def md_cell(text: str) -> str:
    return md(text).replace("|", "\\|")


def result_markdown(r: Any, titles: dict[str, str] | None = None) -> str:
    """One claim as a Markdown section (pictures as links to the PNG files beside it)."""
    out = [f'<a id="{anchor(r.slug)}"></a>', "", f"### {r.id}. {r.title}", "",
           f"*{md(r.citation)}* · **Verdict: {r.verdict}**", ""]
    if r.skipped or r.error:
        out += [f"**{'Skipped' if r.skipped else 'Error'}.** {md(r.skipped or r.error or '')}", "",
                f"**The lesson says:** {md(r.claim)}", ""]
    else:
        out += [f"**The lesson says:** {md(r.claim)}", "", f"**We measured:** {md(r.found)}", "",
                f"**Why:** {md(r.why)}", ""]
        out += [f"![{md(r.title)}]({r.image_name(name)})" for name in r.images]
        if r.images:
            out.append("")
        out += ['<details markdown="1"><summary>The numbers: each part of the claim, its setup, threshold '
                "and distance</summary>", ""]
        if r.checks:
            out += ["| " + " | ".join(CHECK_HEADER) + " |", "|" + "---|" * len(CHECK_HEADER)]
            out += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in check_rows(r.checks)]
            out.append("")
        if r.setups:
            out += ["| setup | what it is |", "|---|---|"]
            out += [f"| {md_cell(k)} | {md_cell(v)} |" for k, v in r.setups.items()]
            out.append("")
        for t in r.tables:
            out += ([f"*{md(t.caption)}*", ""] if t.caption else []) + [t.markdown(), ""]
        out += [f"- {md(n)}" for n in r.notes]
        if r.notes:
            out.append("")
        out += [f"`{meta_line(r)}`", "", "</details>", ""]
    rel = _related(r, titles or {}, lambda s, t: f"[{md(t)}](#{anchor(s)})")
    if rel:
        out += [rel, ""]
    return "\n".join(out)


# --- HTML -----------------------------------------------------------------------------------

CSS = """
.hg-lab { font: 16px/1.55 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328;
          max-width: 1100px; margin: 0 auto; padding: 0 1em; }
.hg-lab h1 { font-size: 1.9em; } .hg-lab h2 { margin-top: 2.2em; border-bottom: 1px solid #d0d7de; }
.hg-lab h3 { margin: 2.4em 0 0.3em; }
.hg-lab table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.88em; }
.hg-lab td, .hg-lab th { border: 1px solid #d0d7de; padding: 3px 8px; vertical-align: top;
          text-align: left; }
.hg-lab th { background: #f6f8fa; }
.hg-lab img { max-width: 100%; height: auto; display: block; margin: 0.8em 0; }
.hg-lab .verdict { display: inline-block; font-weight: 600; padding: 1px 9px; border-radius: 10px;
          border: 1px solid currentColor; white-space: nowrap; }
.hg-lab .cite { color: #57606a; font-style: italic; }
.hg-lab .meta { color: #57606a; font-size: 0.85em; }
.hg-lab .lead p { margin: 0.35em 0; }
.hg-lab details { margin: 0.6em 0; } .hg-lab summary { cursor: pointer; color: #0969da; }
.hg-lab code { background: #f6f8fa; padding: 0 3px; border-radius: 3px; }
.hg-lab .outcome-no, .hg-lab .outcome-unclear { font-weight: 600; }
"""


def esc(text: object) -> str:
    return html.escape(str(text))


def badge(verdict: str) -> str:
    return (f'<span class="verdict" style="color:{COLORS[verdict]};background:{BACKGROUNDS[verdict]}">'
            f"{esc(verdict)}</span>")


def table_html(header: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in header)
    body = "".join(f'<tr class="{esc(classes[i]) if classes else ""}">'
                   + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>"
                   for i, row in enumerate(rows))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def image_html(r: Any, name: str, png: bytes, embed: bool) -> str:
    src = (f"data:image/png;base64,{base64.b64encode(png).decode('ascii')}" if embed
           else r.image_name(name))
    return f'<img alt="{esc(r.title)}: {esc(name)}" src="{src}" loading="lazy">'


def result_html(r: Any, embed: bool = False, titles: dict[str, str] | None = None) -> str:
    """One claim as an HTML fragment; pictures embedded (``embed``) or linked beside it."""
    parts = [f'<section class="claim" id="{esc(anchor(r.slug))}">',
             f"<h3>{r.id}. {esc(r.title)}</h3>",
             f'<p><span class="cite">{esc(r.citation)}</span> · verdict: {badge(r.verdict)}</p>']
    if r.skipped or r.error:
        parts.append(f"<p><b>{'Skipped' if r.skipped else 'Error'}.</b> {esc(r.skipped or r.error)}</p>")
        parts.append(f"<p><b>The lesson says:</b> {esc(r.claim)}</p>")
    else:
        parts.append('<div class="lead">'
                     f"<p><b>The lesson says:</b> {esc(r.claim)}</p>"
                     f"<p><b>We measured:</b> {esc(r.found)}</p>"
                     f"<p><b>Why:</b> {esc(r.why)}</p></div>")
        parts += [image_html(r, name, png, embed) for name, png in r.images.items()]
        parts.append("<details><summary>The numbers: each part of the claim, its setup, threshold "
                     "and distance</summary>")
        if r.checks:
            parts.append(table_html(CHECK_HEADER, check_rows(r.checks),
                                    [f"outcome-{c.outcome.replace(' ', '-')}" for c in r.checks]))
        if r.setups:
            parts.append(table_html(["setup", "what it is"], [[k, v] for k, v in r.setups.items()]))
        for t in r.tables:
            if t.caption:
                parts.append(f"<p><i>{esc(t.caption)}</i></p>")
            parts.append(table_html(t.header, t.rows))
        if r.notes:
            parts.append("<ul>" + "".join(f"<li>{esc(n)}</li>" for n in r.notes) + "</ul>")
        parts.append(f'<p class="meta"><code>{esc(meta_line(r))}</code></p></details>')
    rel = _related(r, titles or {}, lambda s, t: f'<a href="#{esc(anchor(s))}">{esc(t)}</a>')
    if rel:
        parts.append(f"<p>{rel}</p>")
    parts.append("</section>")
    return "\n".join(parts)


def page(body: str, title: str = "handgrad lab") -> str:
    """A whole HTML page around a fragment: no external file, script or font."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head>\n"
            f'<body><div class="hg-lab">\n{body}\n</div></body></html>\n')
