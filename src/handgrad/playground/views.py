"""The page's views, declared once: the table below is the only list of them.

A view named ``name`` is its own files — ``static/views/{name}.html`` (its part of the page),
``static/js/{name}.js`` (its script, which registers ``HG.views[name]``) and, when it needs
numbers from handgrad, a module here — and one line in ``VIEWS``. The server builds the
page's tabs, sections and script tags from the table, adds ``GET /api/{name}`` for a view
with an ``api``, and serves a view with a ``session`` over the tab's socket; the static
export writes each view's ``static`` data beside the page.

    View("race", "Optimizer race", session=(check_race, RaceSession))
"""

import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .backprop import backprop_steps
from .backprop import static_data as backprop_static
from .config import check_race, check_setup, options
from .graph import graph_steps
from .race import RaceSession
from .session import Session

STATIC = Path(__file__).parent / "static"
ENGINES = {                  # what computes, as the page says it
    "numpy": "handgrad's NumPy, through the local server",
    "twin": "handgrad's JavaScript twin, in this browser",
}


def graph_static() -> dict[str, Any]:
    """The lesson's graph with its own values; the page re-evaluates it for other a, b, c."""
    try:
        return graph_steps()
    except ImportError as e:
        return {"type": "error", "message": str(e)}


@dataclass(frozen=True)
class View:
    """One view of the page: its ``#view=`` name, its tab's label, and what it needs from
    handgrad — ``api``: query dict -> JSON, served at GET /api/{name}; ``static``: () -> JSON,
    what a static copy carries; ``session``: (check settings, session class), a run that
    trains live over the tab's socket."""
    name: str
    label: str
    api: Callable[[dict[str, Any]], Any] | None = None
    static: Callable[[], Any] | None = None
    session: tuple[Callable[[Any], dict[str, Any]], type[Session | RaceSession]] | None = None


VIEWS = (
    View("playground", "Playground", session=(check_setup, Session)),
    View("race", "Optimizer race", session=(check_race, RaceSession)),
    View("backprop", "Backprop, step by step", api=backprop_steps, static=backprop_static),
    View("graph", "The graph", api=graph_steps, static=graph_static),
)


def live_views() -> dict[str, View]:
    """The views that train over the socket, by name."""
    return {v.name: v for v in VIEWS if v.session is not None}


def page_options(engine: str = "numpy") -> dict[str, Any]:
    """The options the page builds its controls from, with the views and the engine."""
    return {**options(), "views": [{"name": v.name, "label": v.label} for v in VIEWS],
            "engine": engine, "engine_label": ENGINES[engine]}


def render_page(engine: str = "numpy") -> str:
    """index.html with the views' tabs, sections and scripts filled in from ``VIEWS``."""
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    tabs = "\n".join(f'    <button data-view="{v.name}" class="tab">{html.escape(v.label)}</button>'
                     for v in VIEWS)
    sections = "\n".join((STATIC / "views" / f"{v.name}.html").read_text(encoding="utf-8")
                         for v in VIEWS)
    scripts = "\n".join(f'<script src="static/js/{v.name}.js"></script>' for v in VIEWS)
    return (page.replace("<!-- tabs -->", tabs).replace("<!-- views -->", sections)
            .replace("<!-- view scripts -->", scripts).replace("<!-- engine -->", ENGINES[engine]))
