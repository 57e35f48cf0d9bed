"""One experiment's result as Markdown or HTML (pictures embedded in the HTML)."""

import base64
import html

from .verdicts import CHECK_MARKS, COLORS, MARKS


def anchor(r):
    return f"{r.id}-{r.slug}"


def settings_line(r):
    mode = "--quick" if r.settings.get("quick") else "full"
    command = f"handgrad lab run {r.id}" + (" --quick" if mode == "--quick" else "")
    return f"`{command}` · seed {r.settings.get('seed', 0)} · {r.seconds:.1f} s"


def result_markdown(r, images=True):
    """One experiment as a Markdown section (pictures as links to the PNG files beside it)."""
    out = [f'<a id="{anchor(r)}"></a>', "", f"### {r.id}. {r.title}", "", f"**Claim.** {r.claim}", "",
           f"**Verdict: {MARKS[r.verdict]}.** " + (r.skipped or r.error or ""), ""]
    if r.checks:
        out += ["| | part of the claim | what this run measured |", "|---|---|---|"]
        out += [f"| {CHECK_MARKS[c.passed]} | {md_cell(c.text)} | {md_cell(c.measured)} |" for c in r.checks]
        out.append("")
    if r.table:
        out += [r.table.markdown(), ""]
    out += [f"- {md_text(n)}" for n in r.notes]
    if r.notes:
        out.append("")
    if images:
        out += [f"![{r.title}: {name}]({r.image_name(name)})" for name in r.images]
        if r.images:
            out.append("")
    out += [settings_line(r), ""]
    return "\n".join(out)


def md_cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def md_text(text):
    return str(text).replace("\n", " ")


# --- HTML ----------------------------------------------------------------------------------

CSS = """
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1100px;
       margin: 2em auto; padding: 0 1em; color: #1f2328; }
h1 { font-size: 1.8em; } h2 { margin-top: 2em; border-bottom: 1px solid #d0d7de; }
h3 { margin-top: 2em; } table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
td, th { border: 1px solid #d0d7de; padding: 3px 8px; vertical-align: top; text-align: left; }
th { background: #f6f8fa; } img { max-width: 100%; display: block; margin: 0.6em 0; }
.verdict { font-weight: bold; } .claim { font-size: 1.05em; } .meta { color: #6e7781; font-size: 0.85em; }
code { background: #f6f8fa; padding: 0 3px; border-radius: 3px; }
"""


def esc(text):
    return html.escape(str(text))


def table_html(header, rows):
    head = "".join(f"<th>{esc(c)}</th>" for c in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def result_html(r):
    """One experiment as an HTML fragment, its pictures embedded."""
    color = COLORS[r.verdict]
    parts = [f'<h3 id="{esc(anchor(r))}">{r.id}. {esc(r.title)}</h3>',
             f'<p class="claim"><b>Claim.</b> {esc(r.claim)}</p>',
             f'<p class="verdict" style="color:{color}">Verdict: {esc(MARKS[r.verdict])}. '
             f'{esc(r.skipped or r.error or "")}</p>']
    if r.checks:
        parts.append(table_html(["", "part of the claim", "what this run measured"],
                                 [[CHECK_MARKS[c.passed], c.text, c.measured] for c in r.checks]))
    if r.table:
        parts.append(table_html(r.table.header, r.table.rows))
    if r.notes:
        parts.append("<ul>" + "".join(f"<li>{esc(n)}</li>" for n in r.notes) + "</ul>")
    for name, png in r.images.items():
        data = base64.b64encode(png).decode("ascii")
        parts.append(f'<img alt="{esc(r.title)}: {esc(name)}" src="data:image/png;base64,{data}">')
    parts.append(f'<p class="meta">{esc(settings_line(r).replace("`", ""))}</p>')
    return "\n".join(parts)


