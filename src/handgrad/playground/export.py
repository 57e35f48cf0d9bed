"""A static copy of the page, views 2–4 with precomputed runs: no server needed.

    handgrad playground --export site/      # then open site/index.html, or put it on any host

The optimizer race is run here for a few datasets, backprop for each example
preset and the graph once; the results go into ``static-data.js`` beside the page
(a script, not a JSON file, so that a page opened from a file:// URL can read it).
The live playground (view 1) needs the server and says so.
"""

import json
import shutil
from pathlib import Path

from .backprop import backprop_steps
from .config import BACKPROP_PRESETS, check_race, options
from .race import run_race

STATIC = Path(__file__).parent / "static"
RACE_DATASETS = ("spiral", "moons", "circles", "xor")


def precomputed(race_datasets=RACE_DATASETS):
    """The runs a static page shows: races, backprop presets and the graph."""
    from .graph import graph_steps
    graph = graph_steps()
    return {
        "options": options(),
        "race": {name: run_race(check_race({"dataset": name})) for name in race_datasets},
        "backprop": {name: backprop_steps({"preset": name}) for name in BACKPROP_PRESETS},
        "graph": graph,
    }


def export_static(directory, race_datasets=RACE_DATASETS):
    """Write index.html, static/ and static-data.js into ``directory``; returns its path."""
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file; give a folder to export the page into")
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(STATIC / "index.html", out / "index.html")
    shutil.copytree(STATIC, out / "static", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("index.html", "__pycache__"))
    data = json.dumps(precomputed(race_datasets), separators=(",", ":"), allow_nan=False)
    (out / "static-data.js").write_text(f"window.HANDGRAD_STATIC = {data};\n", encoding="utf-8")
    return out
