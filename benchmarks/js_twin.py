"""Training steps per second of the playground's JavaScript twin against handgrad's NumPy.

    python benchmarks/js_twin.py              # 5 rounds of about 1 s per contender
    python benchmarks/js_twin.py --quick      # 2 rounds of 0.3 s

The network and data are the playground's defaults (XOR, inputs x and y, hidden layers 4 and 2
of tanh, a softmax output, SGD at 0.03, mini-batches of 10: 20 steps an epoch). Contenders,
each training whole epochs of shuffled mini-batches:

    numpy step     handgrad.MLP: loss_and_grad and the optimizer's step, batch by batch
    server mode    the playground server's Session.train_epoch: handgrad's training loop and
                   the loss and accuracy it reports after every epoch
    twin, node     static/js/twin.js under Node (MLP.epoch)
    twin, chromium the same file in headless Chromium, loaded from file:// as the page loads it

They run in interleaved rounds (A B C D, A B C D, ...) so a slow minute on a shared machine
hurts all alike; each is quoted by its median. Node and Chromium are skipped, with a message,
when they are not installed. The ratios compare the twin with NumPy measured in the same run.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")           # before NumPy loads: one thread, as the
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")      # twin has

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np

from handgrad.optim import make_optimizer
from handgrad.playground.config import check_setup
from handgrad.playground.session import Session, build_model

TWIN = Path(__file__).resolve().parents[1] / "src/handgrad/playground/static/js/twin.js"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# The twin's side: train whole epochs for about `seconds` after a short warm-up (the JIT), then
# report {steps, seconds}. `report` prints under Node and writes into the page in Chromium.
LOOP_JS = """
function run(twin, d, report) {
  var net = twin.build(d.spec);
  var X = twin.toMatrix(d.X, "X", d.X[0].length);
  var t0 = performance.now(), steps = 0;
  while (performance.now() - t0 < 300) net.epoch(X, d.y, d.batch);
  t0 = performance.now();
  while (performance.now() - t0 < d.seconds * 1000) steps += net.epoch(X, d.y, d.batch).steps;
  report({steps: steps, seconds: (performance.now() - t0) / 1000});
}
"""


def default_run():
    """The playground's default setup: its training data and its network."""
    session = Session(check_setup({}))
    setup = session.setup
    spec = {"layer_sizes": session.model.layer_sizes,
            "activations": [setup["activation"]] * len(setup["hidden"]) + ["softmax"],
            "optimizer": setup["optimizer"], "lr": setup["lr"], "l2": setup["l2"], "seed": 0}
    X = session.X_train.astype(np.float64)
    return session, spec, X, session.t_train, session.batch


def numpy_step(session, X, y, batch, seconds):
    """handgrad's forward, backward and step, mini-batch by mini-batch, for ``seconds``."""
    setup = session.setup
    model = build_model(setup, X.shape[1], session.model.layer_sizes[-1], "classification")
    opt = make_optimizer(setup["optimizer"], setup["lr"], weight_decay=setup["l2"])
    X = X.astype(model.dtype)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        order = model.rng.permutation(len(X))
        for s in range(0, len(X), batch):
            idx = order[s:s + batch]
            model.loss_and_grad(X[idx], y[idx])
            opt.step(model)
            steps += 1
    return steps / (time.perf_counter() - start)


def server_mode(session, seconds):
    """The server's Session.train_epoch: handgrad's training loop and the epoch's report."""
    session.reset()
    per_epoch = -(-len(session.X_train) // session.batch)
    epochs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        session.train_epoch()
        epochs += 1
    return epochs * per_epoch / (time.perf_counter() - start)


def twin_request(spec, X, y, batch, seconds):
    return {"spec": spec, "X": X.tolist(), "y": [int(v) for v in y], "batch": batch,
            "seconds": seconds}


def twin_node(node, request):
    script = (f"const twin = require({json.dumps(str(TWIN))});\n{LOOP_JS}\n"
              "run(twin, JSON.parse(require('fs').readFileSync(0, 'utf8')),"
              " (r) => console.log(JSON.stringify(r)));")
    out = subprocess.run([node, "-e", script], input=json.dumps(request), capture_output=True,
                         text=True, check=True, timeout=120)
    result = json.loads(out.stdout)
    return result["steps"] / result["seconds"]


def twin_chromium(folder, request):
    """The twin in headless Chromium: a page that loads twin.js from file:// as a classic script."""
    page = Path(folder) / "bench.html"
    page.write_text(
        "<!doctype html><html><body><pre id='out'></pre>\n"
        f"<script src='{TWIN.as_uri()}'></script>\n"
        f"<script>var DATA = {json.dumps(request)};\n{LOOP_JS}\n"
        "run(HG.twin, DATA, function (r) {"
        " document.getElementById('out').textContent = JSON.stringify(r); });</script>"
        "</body></html>\n", encoding="utf-8")
    out = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                          "--disable-background-networking", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=180)
    text = out.stdout.split("<pre id=\"out\">", 1)[-1].split("</pre>", 1)[0]
    if not text.strip():
        raise RuntimeError(f"Chromium wrote no result: {out.stderr.strip()[-300:]}")
    result = json.loads(text)
    return result["steps"] / result["seconds"]


@click.command()
@click.option("--rounds", default=5, show_default=True, help="interleaved rounds")
@click.option("--seconds", default=1.0, show_default=True, help="per contender per round")
@click.option("--quick", is_flag=True, help="2 rounds of 0.3 s")
def main(rounds, seconds, quick):
    if quick:
        rounds, seconds = 2, 0.3
    session, spec, X, y, batch = default_run()
    request = twin_request(spec, X, y, batch, seconds)
    contenders = {"numpy step": lambda: numpy_step(session, X, y, batch, seconds),
                  "server mode": lambda: server_mode(session, seconds)}
    node = shutil.which("node")
    if node:
        contenders["twin, node"] = lambda: twin_node(node, request)
    else:
        print("Node.js not found: the twin under Node is skipped", file=sys.stderr)
    folder = tempfile.TemporaryDirectory()
    if CHROMIUM:
        contenders["twin, chromium"] = lambda: twin_chromium(folder.name, request)
    else:
        print("Chromium not found: the twin in the browser is skipped", file=sys.stderr)
    rates = {name: [] for name in contenders}
    for r in range(rounds):
        for name, run in contenders.items():
            rates[name].append(run())
        print(f"round {r + 1}/{rounds}: " + ", ".join(f"{n} {v[-1]:,.0f}" for n, v in rates.items()),
              file=sys.stderr)
    folder.cleanup()
    median = {name: statistics.median(v) for name, v in rates.items()}
    layers = "-".join(str(n) for n in spec["layer_sizes"])
    print(f"\nthe playground's default network {layers} ({spec['activations'][0]}), "
          f"{len(X)} training points, batches of {batch}, {spec['optimizer']} lr {spec['lr']}")
    print(f"{'contender':16} {'steps/s':>10} {'vs numpy step':>14} {'vs server mode':>15}")
    for name, rate in median.items():
        print(f"{name:16} {rate:10,.0f} {rate / median['numpy step']:13.2f}x "
              f"{rate / median['server mode']:14.2f}x")


if __name__ == "__main__":
    main()
