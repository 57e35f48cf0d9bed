"""The playground in a real browser: Playwright drives Debian's headless Chromium against the
real server (uvicorn on 127.0.0.1, a free port, in a thread).

Each test checks what a user sees: the loss falls and the decision boundary changes
(pixel statistics of the canvas, not a screenshot diff), layers and neurons come and go,
a bad learning rate is explained, the race scrubs, the backprop and graph views show
handgrad's own numbers when hovered. Screenshots of each view go to the test's tmp
folder and, with HANDGRAD_SCREENSHOTS=docs/playground, into that folder too.
"""

import os
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs

import numpy as np
import pytest

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
INSTALL = "pip install playwright starlette uvicorn websockets python-multipart; apt-get install -y chromium"


def _missing():
    for module in ("playwright.sync_api", "starlette", "uvicorn", "websockets"):
        try:
            __import__(module)
        except ImportError:
            return f"{module.split('.')[0]} is not installed ({INSTALL})"
    if not os.path.exists(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    return None


if _missing():
    pytest.skip(f"browser tests need Playwright and Chromium: {_missing()}", allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

from handgrad import MLP  # noqa: E402
from handgrad.playground import config  # noqa: E402
from handgrad.playground.server import Background  # noqa: E402


@pytest.fixture(scope="module")
def server():
    with Background() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 820}, accept_downloads=True)
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.set_default_timeout(15_000)
    yield pg
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


def shot(page, tmp_path, name):
    """A screenshot into the test's folder, and into $HANDGRAD_SCREENSHOTS when set."""
    path = tmp_path / name
    page.screenshot(path=str(path))
    target = os.environ.get("HANDGRAD_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / name)
    return path


def pixels(page, selector, blocks=30):
    """The canvas's colours, read from the page: the mean RGB of each of blocks x blocks
    tiles, as an array (blocks², 3)."""
    data = page.eval_on_selector(selector, """(c, n) => {
        const W = c.width, H = c.height, d = c.getContext('2d').getImageData(0, 0, W, H).data;
        const sum = new Float64Array(n * n * 3), count = new Float64Array(n * n);
        for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
            const t = Math.floor(y * n / H) * n + Math.floor(x * n / W), i = 4 * (y * W + x);
            sum[3 * t] += d[i]; sum[3 * t + 1] += d[i + 1]; sum[3 * t + 2] += d[i + 2]; count[t] += 1;
        }
        return Array.from(sum, (v, k) => v / count[Math.floor(k / 3)]); }""", blocks)
    return np.array(data, dtype=np.float64).reshape(-1, 3)


def number(text):
    """The last number in a text (the page writes minus as '−')."""
    found = re.findall(r"-?\d+\.?\d*(?:e-?\d+)?", text.replace("−", "-"))
    return float(found[-1])


def hash_params(page):
    return {k: v[0] for k, v in parse_qs(page.evaluate("location.hash.slice(1)")).items()}


def wait_frame(page, epoch_at_least=0):
    page.wait_for_function(
        f"HG.views.playground.state.frame && HG.views.playground.state.frame.epoch >= {epoch_at_least}")


def tip_text(page):
    page.wait_for_selector("#tooltip:not([hidden])")
    return page.inner_text("#tooltip")


# --- 1. the playground -----------------------------------------------------------------------------

def test_play_xor_the_loss_falls_and_the_boundary_forms(page, server, tmp_path):
    page.goto(server + "#view=playground&dataset=xor&lr=0.1&hidden=4,2&activation=tanh&seed=0")
    wait_frame(page)
    start_loss = float(page.inner_text("#pg-test-loss"))
    before = pixels(page, "#pg-output")
    page.click("#pg-play")
    wait_frame(page, 40)
    page.click("#pg-play")                                    # pause
    page.wait_for_function("!HG.views.playground.state.playing")
    page.wait_for_timeout(150)
    end_loss = float(page.inner_text("#pg-test-loss"))
    after = pixels(page, "#pg-output")
    assert end_loss < 0.3 * start_loss
    assert np.abs(after - before).mean() > 15                 # the picture changed a lot
    blue = (after[:, 2] > after[:, 0] + 60).mean()            # class 1 regions
    orange = (after[:, 0] > after[:, 2] + 60).mean()          # class 0 regions
    assert blue > 0.15 and orange > 0.15                      # both classes hold ground
    assert int(page.inner_text("#pg-epoch").replace(",", "")) >= 40
    assert page.eval_on_selector("#pg-curve", "c => c.width") > 0
    # the state is in the URL: reloading it rebuilds the same setup
    params = hash_params(page)
    assert params["dataset"] == "xor" and params["hidden"] == "4,2" and params["lr"] == "0.1"


def test_add_a_layer_and_a_neuron(page, server):
    page.goto(server + "#view=playground&dataset=circles&hidden=3")
    wait_frame(page)
    page.click("#pg-add-layer")
    page.wait_for_function("HG.views.playground.state.ready.layer_sizes.length === 4")
    assert page.inner_text("#pg-layer-count") == "2"
    assert page.locator('#pg-network canvas[data-layer="2"]').count() == 3
    page.click('.layer-ctl button[data-l="0"][data-d="1"]')
    page.wait_for_function("HG.views.playground.state.ready.layer_sizes[1] === 4")
    wait_frame(page)
    assert page.locator('#pg-network canvas[data-layer="1"]').count() == 4
    assert hash_params(page)["hidden"] == "4,3"
    page.click("#pg-remove-layer")
    page.wait_for_function("HG.views.playground.state.ready.layer_sizes.length === 3")
    assert page.locator('#pg-network canvas[data-layer="2"]').count() == 2   # the output units


def test_an_invalid_learning_rate_is_explained(page, server):
    page.goto(server + "#view=playground&dataset=moons")
    wait_frame(page)
    page.fill("#pg-lr", "-1")
    page.press("#pg-lr", "Enter")
    page.wait_for_selector("#banner:not([hidden])")
    text = page.inner_text("#banner-text")
    assert "learning rate must be a number above 0 and at most 10; got '-1'" in text
    assert "bad" in page.get_attribute("#pg-lr", "class")
    page.fill("#pg-lr", "0.03")
    page.press("#pg-lr", "Enter")
    page.wait_for_selector("#banner", state="hidden")
    assert "bad" not in (page.get_attribute("#pg-lr", "class") or "")
    page.click("#pg-step")                                   # and it trains
    wait_frame(page, 1)


def test_divergence_shows_its_step_and_keeps_the_last_good_picture(page, server):
    page.goto(server + "#view=playground&dataset=xor&lr=10&activation=relu&hidden=8,8")
    wait_frame(page)
    page.wait_for_timeout(100)
    before = pixels(page, "#pg-output")
    page.click("#pg-play")
    page.wait_for_selector("#banner:not([hidden])")
    assert re.search(r"Diverged at step \d+", page.inner_text("#banner-text"))
    page.wait_for_function("!HG.views.playground.state.playing")
    assert np.array_equal(pixels(page, "#pg-output"), before)


def test_the_playground_screenshot(page, server, tmp_path):
    page.goto(server + "#view=playground&dataset=spiral&classes=3&features=x,y,sinx,siny"
              "&hidden=8,8,5&activation=tanh&optimizer=adam&lr=0.03&batch=10&seed=1")
    wait_frame(page)
    page.click("#pg-play")
    wait_frame(page, 80)
    page.click("#pg-play")
    page.wait_for_function("!HG.views.playground.state.playing")
    without = pixels(page, "#pg-output")
    page.check("#pg-show-test")                              # the test points join the picture
    assert np.abs(pixels(page, "#pg-output") - without).mean() > 1
    page.uncheck("#pg-show-test")
    assert np.array_equal(pixels(page, "#pg-output"), without)
    page.hover('#pg-network canvas[data-layer="2"][data-unit="2"]')
    tip = tip_text(page)
    assert "hidden layer 2, neuron 2" in tip and "W[2, :]" in tip
    assert float(page.inner_text("#pg-test-loss")) < 0.6
    page.mouse.move(5, 880)
    page.wait_for_selector("#tooltip", state="hidden")
    shot(page, tmp_path, "playground.png")


# --- 2. the optimizer race ------------------------------------------------------------------------

def test_the_race_runs_and_scrubs(page, server, tmp_path):
    page.goto(server + "#view=race&dataset=spiral&epochs=60&lr_adam=0")
    page.wait_for_selector("#banner:not([hidden])")          # a bad rate first: explained
    assert "the adam learning rate must be a number above 0" in page.inner_text("#banner-text")
    assert "bad" in page.get_attribute("#race-lr_adam", "class")
    page.fill("#race-lr_adam", "0.01")
    page.click("#race-run")
    page.wait_for_function("HG.views.race.state.result && HG.views.race.state.result.epochs === 60")
    assert page.locator(".racer canvas").count() == 3
    assert not page.is_visible("#banner")
    last = int(page.get_attribute("#race-slider", "max"))
    end = [pixels(page, f'.racer[data-name="{n}"] canvas') for n in ("sgd", "momentum", "adam")]
    stats_end = page.locator(".racer .stat").all_inner_texts()
    shot(page, tmp_path, "race.png")
    page.eval_on_selector("#race-slider", "s => { s.value = 0; s.dispatchEvent(new Event('input')); }")
    assert page.inner_text("#race-epoch") == "epoch 0 of 60"
    start = [pixels(page, f'.racer[data-name="{n}"] canvas') for n in ("sgd", "momentum", "adam")]
    stats_start = page.locator(".racer .stat").all_inner_texts()
    assert np.array_equal(start[0], start[1]) and np.array_equal(start[0], start[2])   # one start
    assert len(set(stats_start)) == 1
    for a, b in zip(start, end):
        assert np.abs(a - b).mean() > 5                      # every boundary moved
    assert stats_end != stats_start
    page.eval_on_selector("#race-slider",
                          f"s => {{ s.value = {last}; s.dispatchEvent(new Event('input')); }}")
    assert page.inner_text("#race-epoch") == "epoch 60 of 60"
    params = hash_params(page)
    assert params["view"] == "race" and params["epochs"] == "60" and params["t"] == str(last)


# --- 3. backprop, step by step ------------------------------------------------------------------

def handgrad_lesson(preset):
    x1, x2, label = config.BACKPROP_PRESETS[preset]
    model = MLP([2, 4, 3], ["relu", "softmax"], seed=0)
    model.forward(np.array([[x1, x2]], dtype=np.float32))
    model.backward(np.array([label]))
    return model


def test_backprop_steps_through_every_stage_and_hovers_handgrads_numbers(page, server, tmp_path):
    page.goto(server + "#view=backprop&preset=a")
    page.wait_for_function("HG.views.backprop.state.data !== null")
    n = page.locator("#bp-stages li").count()
    assert n == 11
    titles = []
    for i in range(1, n + 1):
        title = page.inner_text("#bp-stage-title")
        assert title.startswith(f"Stage {i} of {n}")
        titles.append(title)
        if i < n:
            page.click("#bp-next")
    assert "forward" in titles[0] and "backward" in titles[-1]
    model = handgrad_lesson("a")
    hidden, out = model.layers
    # at the last stage, a hidden node shows db1 and an edge shows dW1, as handgrad computed them
    page.hover('[data-node="h1"]')
    tip = tip_text(page)
    assert "db1[1] = Σ_batch δ1[1]" in tip
    assert number(tip) == pytest.approx(float(hidden.db[1]), abs=1e-4)
    edge = page.locator('[data-edge="w2_0_0"]').bounding_box()
    page.mouse.move(edge["x"] + edge["width"] / 2, edge["y"] + edge["height"] / 2)
    tip = tip_text(page)
    assert "dW2[0,0] = δ2[0]·a1[0]" in tip
    assert number(tip) == pytest.approx(float(out.dW[0, 0]), abs=1e-4)
    # back one stage: δ1 with the ReLU mask written out
    page.click("#bp-prev")
    page.hover('[data-node="h2"]')
    tip = tip_text(page)
    assert "δ1[2] = ∂L/∂a1[2] · 1[z1[2] > 0]" in tip and "(the ReLU mask)" in tip
    assert number(tip) == pytest.approx(float(hidden.db[2]), abs=1e-4)    # B = 1: δ1 = db1
    shot(page, tmp_path, "backprop.png")
    # the forward stages: softmax probabilities
    for _ in range(5):
        page.click("#bp-prev")
    assert page.inner_text("#bp-stage-title").startswith("Stage 5 of 11")
    page.hover('[data-node="o2"]')
    assert number(tip_text(page)) == pytest.approx(float(out.a[0, 2]), abs=1e-4)


def test_backprop_play_and_a_custom_example(page, server):
    page.goto(server + "#view=backprop&preset=c")
    page.wait_for_function("HG.views.backprop.state.data !== null")
    page.fill("#bp-x1", "1.25")
    page.fill("#bp-x2", "-0.5")
    page.fill("#bp-label", "1")
    page.click("#bp-custom")
    page.wait_for_function("HG.views.backprop.state.data.label === 1")
    page.click("#bp-play")
    page.wait_for_function("HG.views.backprop.state.stage >= 1")
    page.click("#bp-play")                                   # pause
    page.fill("#bp-label", "7")
    page.click("#bp-custom")
    page.wait_for_selector("#banner:not([hidden])")
    assert "label must be a whole number" in page.inner_text("#banner-text")


# --- 4. the graph -----------------------------------------------------------------------------------

def test_the_graph_steps_forward_and_backward(page, server, tmp_path):
    engine = pytest.importorskip("handgrad.engine")
    root = engine.example_graph()
    grads = {v.label: v.grad for v in engine.topological_order(root)}
    page.goto(server + "#view=graph")
    page.wait_for_function("HG.views.graph.state.data !== null")
    assert page.inner_text("#gr-step") == "Forward 1 of 6"
    page.hover('[data-node="L"]')
    assert "not reached yet" in tip_text(page)
    for _ in range(11):
        page.click("#gr-next")
    assert page.inner_text("#gr-step") == "Backward 6 of 6"
    for label in "abcdeL":
        shown = page.text_content(f'[data-node="{label}"]').replace("−", "-")
        assert f"grad {grads[label]:.4f}" in shown
    page.click("#gr-prev")
    page.click("#gr-prev")                                   # just after d's own step
    assert page.inner_text("#gr-step") == "Backward 4 of 6"
    page.hover('[data-node="d"]')
    tip = tip_text(page)
    assert engine.RULES["*"] in tip
    assert "a.grad += -3 × 1 = -3" in tip and "b.grad += 2 × 1 = 2" in tip
    shot(page, tmp_path, "graph.png")
    page.click("#gr-first")
    assert page.inner_text("#gr-step") == "Forward 1 of 6"


# --- the static copy ---------------------------------------------------------------------------------

def test_the_static_copy_works_from_a_file_url(page, tmp_path):
    from handgrad.playground import export_static
    site = export_static(tmp_path / "site", race_datasets=("moons",))
    page.goto((site / "index.html").as_uri() + "#view=race")
    page.wait_for_function("HG.views.race.state.result !== null")
    assert page.locator(".racer canvas").count() == 3
    assert not page.is_visible("#race-run")
    page.click('#tabs [data-view="backprop"]')
    page.wait_for_function("HG.views.backprop.state.data !== null")
    page.click("#bp-next")
    assert page.inner_text("#bp-stage-title").startswith("Stage 2 of 11")
    page.click('#tabs [data-view="playground"]')
    assert "handgrad playground" in page.inner_text("#pg-static-note")
