"""The static page's own JavaScript, under Node: it reads a CSV file by the server's rules
(the same rows, classes and names, the same message for the same mistake) and draws the
same datasets by the same recipes. Quick: no browser."""

import json
import shutil
import subprocess

import numpy as np
import pytest

from handgrad.playground.checks import SettingError
from handgrad.playground.data import parse_csv
from handgrad.playground.views import STATIC

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="needs Node (apt-get install -y nodejs)")

RUN = """
const data = require(process.argv[1]);
const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
console.log(JSON.stringify(cases.map(text => {
  try { const t = data.parseCsv(text); return {P: t.P, t: t.t, names: t.names}; }
  catch (e) { return {error: e.message, field: e.field}; }
})));
"""

CSVS = [
    "x,y,label\n" + "\n".join(f"{i * 0.1:.1f},{i % 3},{'ab'[i % 2]}" for i in range(12)),
    "a;b\n" + "\n".join(f"{i};{i * i}" for i in range(15)),
    "\t".join(["x", "y", "c"]) + "\n" + "\n".join(f"{i}\t{-i}\t{i % 3}" for i in range(20)),
    "", "x,y,label\n", "1,2,3,4\n" * 20, "1,2,0\n" * 5, "1,2,0\n" * 12 + "1,oops,1\n",
    "1,2,0\n" * 12 + "1,2\n", "1,2,0\n" * 12, "".join(f"{i},{i},{i}\n" for i in range(12)),
    "1,inf,0\n1,2,1\n" * 6, "1,1e308,0\n1,2,1\n" * 6,
    "".join(f"{i % 7},{i % 5},{i % 2}\n" for i in range(30)) + "1e9,1,0\n",
    "".join(f"{i},{i % 3}\n" for i in range(30)) + "5,4e7\n",
]


def test_a_csv_file_is_read_in_the_browser_as_the_server_reads_it():
    out = subprocess.run([NODE, "-e", RUN, str(STATIC / "js" / "data.js")], input=json.dumps(CSVS),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for text, js in zip(CSVS, json.loads(out.stdout)):
        try:
            P, t, names = parse_csv(text)
        except SettingError as e:
            assert js.get("error") == str(e) and js["field"] == "csv", (text[:40], js)
            continue
        assert "error" not in js, js
        assert np.allclose(js["P"], P) and np.allclose(js["t"], t) and js["names"] == names
