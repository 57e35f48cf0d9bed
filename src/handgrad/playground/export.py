"""The whole page as static files: every view, training live in the browser, no server.

    handgrad playground --export site/      # then open site/index.html, or put it on any host

In a static copy the page computes with handgrad's JavaScript twin (``static/js/twin.js``:
the MLP's forward, backward and updates in float64, checked against the NumPy core) and
draws its toy datasets in the browser from a seed (``static/js/data.js``, the same recipes as
``handgrad.data``; the points differ from the server's for the same seed, since the random
generators differ). What the twin cannot make, handgrad makes here and writes into
``static-data.js`` beside the page: the options (read from handgrad's registries), the
backprop view's starting weights, the graph view's nodes. That file is a script, not JSON,
so that a page opened from a file:// URL can read it. Nothing is fetched from a network.
"""

import json
import shutil
from pathlib import Path
from typing import Any

from .views import STATIC, VIEWS, page_options, render_page


def static_data() -> dict[str, Any]:
    """What a static page carries: the options and each view's data."""
    return {"options": page_options("twin"),
            "views": {v.name: v.static() for v in VIEWS if v.static is not None}}


def export_static(directory: str | Path) -> Path:
    """Write index.html, static/ and static-data.js into ``directory``; returns its path."""
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file; give a folder to export the page into")
    out.mkdir(parents=True, exist_ok=True)
    data = json.dumps(static_data(), separators=(",", ":"), allow_nan=False)
    shutil.copytree(STATIC, out / "static", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("index.html", "views", "__pycache__"))
    (out / "static-data.js").write_text(f"window.HANDGRAD_STATIC = {data};\n", encoding="utf-8")
    (out / "index.html").write_text(render_page("twin"), encoding="utf-8")
    return out
