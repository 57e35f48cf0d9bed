"""The exported page (``handgrad playground --export DIR``) in a real browser, opened from a
file:// URL and from a plain static host, with no server and no network: all four views,
training live in the browser with handgrad's JavaScript twin.

The numbers it shows are checked against handgrad's NumPy: the backprop view's arrays, a
training run replayed step by step (same start, same batches), and the checkpoint the page
writes, loaded by ``handgrad.io.load_model``.
"""

import functools
import http.server
import json
import re
import threading

import numpy as np
import pytest
from test_playground_browser import CHROMIUM, DIVERGING, _missing, new_page, pixels, shot

if _missing():
    pytest.skip(f"browser tests need Playwright and Chromium: {_missing()}", allow_module_level=True)

from playwright.sync_api import sync_playwright

from handgrad.data import toy_names
from handgrad.mlp import MLP
from handgrad.nn.penalties import add_penalties
from handgrad.optim import make_optimizer
from handgrad.playground import export_static
from handgrad.playground.backprop import backprop_steps
from handgrad.playground.config import BACKPROP_PRESETS

pytestmark = pytest.mark.slow
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return export_static(tmp_path_factory.mktemp("export") / "site")


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context, pg = new_page(browser, 1280, 800)
    requests = []
    pg.on("request", lambda r: requests.append(r.url))
    yield pg
    context.close()
    assert not pg.errors, f"errors in the page: {pg.errors}"
    outside = [u for u in requests if not u.startswith(("file://", "data:", "blob:", "http://127.0.0.1"))]
    assert not outside, f"the page reached out: {outside[:3]}"


def open_view(page, site, view, query=""):
    page.goto((site / "index.html").as_uri() + f"#view={view}" + query)


# --- the playground trains in the browser --------------------------------------------------------

def test_the_exported_playground_trains_the_default_data_to_95_percent(page, site, tmp_path):
    open_view(page, site, "playground")
    page.wait_for_function("HG.views.playground.state.frame !== null")
    assert "handgrad's JavaScript twin, in this browser" in page.inner_text("header")
    start = pixels(page, "#pg-output")
    page.click("#pg-step")                                    # one mini-batch
    page.wait_for_function("HG.views.playground.state.frame.step === 1")
    page.select_option("#pg-speed", "100")
    page.click("#pg-play")
    page.wait_for_function("HG.views.playground.state.frame.epoch >= 150", timeout=60_000)
    page.click("#pg-play")
    page.wait_for_function("!HG.views.playground.state.playing")
    frame = page.evaluate("HG.views.playground.state.frame")
    assert frame["test_accuracy"] >= 0.95, frame["now"]
    assert np.abs(pixels(page, "#pg-output") - start).mean() > 10
    assert page.inner_text("#pg-state") == "paused"
    shot(page, tmp_path, "static-playground.png")


def test_the_exported_page_explains_bad_settings_and_diverges_cleanly(page, site):
    open_view(page, site, "playground", "&lr=-1")
    page.wait_for_selector("#banner:not([hidden])")
    assert "learning rate must be a number above 0 and at most 10; got '-1'" in \
        page.inner_text("#banner-text")
    open_view(page, site, "playground", "&lr=10&activation=relu&hidden=8,8&speed=200")
    page.reload()
    page.wait_for_function("HG.views.playground.state.frame !== null")
    page.click("#pg-play")
    page.wait_for_function(DIVERGING, timeout=30_000)


def test_every_registered_dataset_is_drawn_in_the_browser_by_the_same_recipe(page, site):
    """The static page draws its data with its own generator: the points differ from NumPy's
    for the same seed, the recipe does not (classes, their sizes, their centres and spread)."""
    from handgrad.playground.data import make_points
    open_view(page, site, "graph")
    page.wait_for_function("HG.views.graph.state.data !== null")
    assert page.evaluate("names => names.filter(n => !HG.data.has(n))", toy_names()) == []
    for name in toy_names():
        setup = {"dataset": name, "points": 2000, "noise": 0.2, "classes": 3, "seed": 1}
        js = page.evaluate("s => { const p = HG.data.makePoints(s); "
                           "return {P: p.P, t: p.t, task: p.task}; }", setup)
        py = make_points(setup)
        P, t = np.array(js["P"]), np.array(js["t"])
        assert js["task"] == py.task and P.shape == py.P.shape, name
        assert np.abs(P).max() == pytest.approx(0.9, abs=1e-6)
        if py.task == "classification":
            assert sorted(set(t.tolist())) == sorted(set(py.t.tolist())), name
            for k in set(py.t.tolist()):
                a, b = P[t == k], py.P[py.t == k]
                assert abs(len(a) - len(b)) < 0.1 * len(py.P), (name, k)
                if name not in ("blobs", "separable"):      # their geometry is drawn at random
                    assert np.allclose(a.mean(0), b.mean(0), atol=0.12), (name, k)
                    assert np.allclose(a.std(0), b.std(0), atol=0.12), (name, k)


def test_a_csv_file_trains_in_the_browser_with_its_class_names(page, site, tmp_path):
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{x:.3f};{y:.3f};{'in' if x * x + y * y < 1 else 'out'}"
                     for x, y in rng.uniform(-2, 2, (150, 2)))
    (tmp_path / "ring.csv").write_text("x;y;where\n" + rows)
    (tmp_path / "bad.csv").write_text("1,2,0\n" * 12 + "1,oops,1\n")
    open_view(page, site, "playground")
    page.wait_for_function("HG.views.playground.state.frame !== null")
    page.set_input_files("#pg-csv", str(tmp_path / "bad.csv"))
    page.wait_for_selector("#banner:not([hidden])")
    assert "bad.csv: line 13: 'oops' is not a number" in page.inner_text("#banner-text")
    page.set_input_files("#pg-csv", str(tmp_path / "ring.csv"))
    page.wait_for_function("HG.views.playground.state.ready.setup.dataset === 'csv'")
    assert page.evaluate("HG.views.playground.state.ready.class_names") == ["in", "out"]
    assert "in" in page.inner_text("#pg-colors") and page.is_hidden("#pg-noise")


# --- the race runs live ----------------------------------------------------------------------------

def test_the_exported_race_runs_live(page, site):
    open_view(page, site, "race", "&epochs=20&speed=2")
    page.wait_for_function("HG.views.race.state.ready !== null")
    start = pixels(page, '.racer[data-name="adam"] canvas')
    page.click("#race-step")
    page.wait_for_function("HG.views.race.state.frame.racers.every(r => r.step === 1)")
    page.click("#race-play")
    page.wait_for_function("HG.views.race.state.frame.epoch > 2")
    assert page.evaluate("HG.views.race.state.playing")                  # live, not a recording
    page.wait_for_function("HG.views.race.state.frame.finished", timeout=60_000)
    racers = page.evaluate("HG.views.race.state.frame.racers")
    assert [r["epoch"] for r in racers] == [20, 20, 20]
    assert all(r["test_loss"] < racers[0]["now"][2] * 2 for r in racers)
    assert np.abs(pixels(page, '.racer[data-name="adam"] canvas') - start).mean() > 5


# --- JS against NumPy, as the page uses the twin ---------------------------------------------------

def relative(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300), initial=0.0))


def test_the_backprop_view_computes_handgrads_numbers_in_the_browser(page, site):
    open_view(page, site, "backprop")
    page.wait_for_function("HG.views.backprop.state.data !== null")
    worst, cases = 0.0, 0
    queries = [{"preset": p, "seed": s} for p in BACKPROP_PRESETS for s in (0, 3, 9)]
    queries += [{"x1": "1.5", "x2": "-2", "label": "2", "seed": "5"}]
    for q in queries:
        js = page.evaluate("q => HG.local.backprop(q).arrays", q)
        py = backprop_steps(q)["arrays"]
        assert set(js) == set(py)
        for key in py:
            worst = max(worst, relative(js[key], py[key]))
        cases += 1
    print(f"\nbackprop view, twin against NumPy: worst relative difference {worst:.2e} over {cases} examples")
    assert worst < 1e-12
    page.hover('[data-node="h1"]')
    assert page.inner_text("#bp-source").startswith("the twin computes")


def test_the_graph_view_recomputes_as_the_engine_does(page, site):
    from handgrad.playground.graph import graph_steps
    open_view(page, site, "graph")
    page.wait_for_function("HG.views.graph.state.data !== null")
    for leaves in ({"a": 2, "b": -3, "c": 10}, {"a": 2, "b": -3, "c": 1}, {"a": -1.5, "b": 0, "c": 0},
                   {"a": 0.25, "b": 4, "c": -1}):
        js = page.evaluate("q => HG.local.graph(q)", leaves)
        py = graph_steps(leaves)
        assert [n["data"] for n in js["nodes"]] == [n["data"] for n in py["nodes"]]
        assert [b["grads"] for b in js["backward"]] == [b["grads"] for b in py["backward"]]
    page.click("#gr-play")
    page.fill("#gr-c", "1")
    page.wait_for_function("HG.views.graph.state.data.leaves.c === 1")
    assert [n["data"] for n in page.evaluate("HG.views.graph.state.data.nodes")] == \
        [n["data"] for n in graph_steps({"c": 1})["nodes"]]


def test_a_training_run_in_the_page_is_handgrads_step_for_step(page, site):
    """The page's session (the twin, its data, its batches) replayed by handgrad's MLP in
    float64 from the same start on the same batches: the same weights."""
    open_view(page, site, "playground")
    page.wait_for_function("HG.views.playground.state.frame !== null")
    worst = 0.0
    for setup in ({"activation": "tanh", "optimizer": "sgd", "lr": 0.1},
                  {"activation": "relu", "optimizer": "adam", "lr": 0.01, "hidden": [6, 5]},
                  {"activation": "gelu_tanh", "optimizer": "momentum", "lr": 0.05, "weight_decay": 0.01},
                  {"activation": "sigmoid", "optimizer": "adamw", "lr": 0.02, "dataset": "spiral",
                   "classes": 3, "loss": "mse"},
                  {"activation": "relu", "optimizer": "nesterov", "lr": 0.05, "l1": 0.003,
                   "weight_decay": 0.001}):
        run = page.evaluate("""s => {
            const o = HG.STATIC.options, setup = HG.local.checkSetup(Object.assign({}, o.defaults, s));
            const sess = new (HG.local.Session)(setup, null), start = sess.net.stateDict(), orders = [];
            const perm = sess.net.rng.permutation.bind(sess.net.rng);
            sess.net.rng.permutation = n => { const p = perm(n); orders.push(Array.from(p)); return p; };
            sess.advance(3 * sess.walker.stepsPerEpoch + 2, 1e9);
            return {setup, start, end: sess.net.stateDict(), orders, X: sess.X_train, y: sess.targets,
                    sizes: sess.net.layer_sizes};
        }""", setup)
        s = run["setup"]
        model = MLP(run["sizes"], [s["activation"]] * len(s["hidden"]) + ["softmax"], dtype=np.float64,
                    loss=s["loss"])
        model.load_state_dict({k: np.array(v) for k, v in run["start"].items()})
        opt = make_optimizer(s["optimizer"], s["lr"], weight_decay=s["weight_decay"])
        X, y, B = np.array(run["X"]), np.array(run["y"]), s["batch_size"]
        left = 3 * -(-len(X) // B) + 2
        for order in run["orders"]:
            for i in range(0, len(X), B):
                if left == 0:
                    break
                idx = np.array(order[i:i + B])
                model.loss_and_grad(X[idx], y[idx])
                add_penalties(model.params, model.grads, l1=s["l1"])
                opt.step(model)
                left -= 1
        for k, v in model.state_dict().items():
            worst = max(worst, relative(run["end"][k], v))
    print(f"\ntraining in the page, twin against NumPy: worst relative difference {worst:.2e}")
    assert worst < 1e-10


def test_the_checkpoint_the_page_writes_loads_in_handgrad(page, site, tmp_path):
    from handgrad.io import load_model
    open_view(page, site, "playground", "&dataset=moons&hidden=5,3&optimizer=adam&lr=0.02")
    page.wait_for_function("HG.views.playground.state.frame !== null")
    page.select_option("#pg-speed", "100")
    page.click("#pg-play")
    page.wait_for_function("HG.views.playground.state.frame.epoch >= 20")
    page.click("#pg-play")
    page.wait_for_function("!HG.views.playground.state.playing")
    with page.expect_download() as download:
        page.click("#pg-download")
    path = tmp_path / "handgrad-playground.safetensors"
    download.value.save_as(path)
    model = load_model(path)
    grid = page.evaluate("HG.data.features(HG.data.grid(12), ['x', 'y'])")
    js = page.evaluate("g => Array.from(HG.local.active.runs.playground.session.net"
                       ".predictProba(g).data)", grid)
    py = model.predict_proba(np.array(grid))
    assert model.layer_sizes == [2, 5, 3, 2] and relative(np.array(js).reshape(py.shape), py) < 1e-12
    page.click("#pg-show-code")
    code = page.inner_text("#pg-code")
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert re.search(r"\[[01] [01]\]", out.stdout)


# --- any static host --------------------------------------------------------------------------------

def test_the_exported_page_works_from_a_plain_static_host(browser, site):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    context, page = new_page(browser)
    try:
        page.goto(f"http://127.0.0.1:{httpd.server_address[1]}/index.html#view=playground")
        page.wait_for_function("HG.views.playground.state.frame !== null")
        page.click("#pg-step")
        page.wait_for_function("HG.views.playground.state.frame.step === 1")
        page.click('#tabs [data-view="backprop"]')
        page.wait_for_function("HG.views.backprop.state.data !== null")
        assert json.loads(page.evaluate("JSON.stringify(HG.STATIC.options.engine)")) == "twin"
    finally:
        context.close()
        httpd.shutdown()
    assert not page.errors, page.errors
