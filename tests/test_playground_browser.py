"""The playground in a real browser: Playwright drives Debian's headless Chromium against the
real server (uvicorn on 127.0.0.1, a free port, in a thread), and against the static copy
opened from a file:// URL (tests/test_playground_static.py).

Each test does what a learner did and checks what they see: the loss falls and the decision
boundary changes (pixel statistics of the canvas, not a screenshot diff), training goes as
fast as the speed control says, a stuck or diverging run says so, a setting change pauses,
a weight can be set by clicking it, a neuron shows big under the mouse, the backprop and
graph views show handgrad's own numbers in the lesson's colours and layout. Screenshots of
each view go to the test's tmp folder and, with HANDGRAD_SCREENSHOTS=docs/playground, into
that folder too.
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

from handgrad.playground.backprop import backprop_steps  # noqa: E402
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


def new_page(browser, width=1400, height=820):
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    pg = context.new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("console", lambda m: pg.errors.append(m.text)
          if m.type == "error" and not answered(m.text) else None)
    pg.set_default_timeout(15_000)
    return context, pg


def answered(text):
    """A 4xx answer to a bad input the test sends on purpose: the page explains it."""
    return re.match(r"Failed to load resource: the server responded with a status of 4\d\d", text)


@pytest.fixture
def page(browser):
    context, pg = new_page(browser)
    yield pg
    context.close()
    assert not pg.errors, f"errors in the page: {pg.errors}"


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


def has_colour(page, selector, rgb, tolerance=40):
    """Whether some pixel of the canvas is within ``tolerance`` of the colour ``rgb``."""
    return page.eval_on_selector(selector, """(c, [r, g, b, tol]) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < d.length; i += 4)
            if (d[i + 3] > 200 && Math.abs(d[i] - r) + Math.abs(d[i + 1] - g)
                + Math.abs(d[i + 2] - b) < tol) return true;
        return false; }""", [*rgb, tolerance])


def number(text):
    """The last number in a text (the page writes minus as '−')."""
    found = re.findall(r"-?\d+\.?\d*(?:e-?\d+)?", text.replace("−", "-"))
    return float(found[-1])


def hash_params(page):
    return {k: v[0] for k, v in parse_qs(page.evaluate("location.hash.slice(1)")).items()}


def wait_frame(page, step_at_least=0):
    page.wait_for_function(
        f"HG.views.playground.state.frame && HG.views.playground.state.frame.step >= {step_at_least}")


def steps(page):
    return page.evaluate("HG.views.playground.state.frame.step")


DIVERGING = "['diverged', 'diverging'].includes(document.getElementById('pg-state').textContent)"


def tip_text(page):
    page.wait_for_selector("#tooltip:not([hidden])")
    return page.inner_text("#tooltip")


def play_until(page, condition, speed="100"):
    page.select_option("#pg-speed", speed)
    page.click("#pg-play")
    page.wait_for_function(condition, timeout=30_000)
    page.click("#pg-play")
    page.wait_for_function("!HG.views.playground.state.playing")
    page.wait_for_timeout(100)


# --- 1. the playground -----------------------------------------------------------------------------

def test_the_default_xor_is_watchable_step_by_step_and_at_a_chosen_speed(page, server):
    page.goto(server + "#view=playground")
    wait_frame(page)
    assert page.input_value("#pg-speed") == "5"                # a few mini-batches a frame
    assert page.inner_text("#pg-state") == "paused"
    page.click("#pg-step")                                    # one mini-batch, not an epoch
    page.wait_for_function("HG.views.playground.state.frame.step === 1")
    assert "step 1" in page.inner_text("#pg-step-count")
    start_loss = float(page.inner_text("#pg-test-loss"))
    before = pixels(page, "#pg-output")
    page.select_option("#pg-speed", "1")
    page.click("#pg-play")
    page.wait_for_timeout(1000)
    assert page.inner_text("#pg-state") == "training"
    slow = steps(page)
    assert 2 <= slow <= 40                                    # at most one mini-batch a frame
    page.select_option("#pg-speed", "100")
    page.wait_for_function("HG.views.playground.state.frame.epoch >= 60", timeout=30_000)
    page.click("#pg-play")                                    # pause
    page.wait_for_function("!HG.views.playground.state.playing")
    assert page.inner_text("#pg-state") in ("paused",)
    page.wait_for_timeout(150)
    end_loss = float(page.inner_text("#pg-test-loss"))
    after = pixels(page, "#pg-output")
    assert end_loss < 0.5 * start_loss
    assert np.abs(after - before).mean() > 15                 # the picture changed a lot
    blue = (after[:, 2] > after[:, 0] + 60).mean()            # class 1 regions
    orange = (after[:, 0] > after[:, 2] + 60).mean()          # class 0 regions
    assert blue > 0.15 and orange > 0.15                      # both classes hold ground
    # the loss chart: test and training in their own colours, both drawn
    assert has_colour(page, "#pg-curve", (123, 63, 191)) and has_colour(page, "#pg-curve", (46, 139, 87))
    params = hash_params(page)
    assert params["dataset"] == "xor" and params["hidden"] == "4,2" and params["speed"] == "100"


def test_the_loss_chart_keeps_its_scale_through_a_spike(page, server):
    page.goto(server + "#view=playground")
    wait_frame(page)
    top = page.evaluate("HG.robustMax([{values: [0.7, 0.6, 0.5, 0.4, 5000, 0.3, 0.3, 0.2]}]).top")
    assert top < 1                                           # a spike does not flatten the rest
    page.evaluate("""HG.lineChart(document.getElementById('pg-curve'),
        [{values: [0.7, 0.6, 0.5, 0.4, 5000, 0.3, 0.3, 0.2], color: '#7b3fbf'}])""")
    assert has_colour(page, "#pg-curve", (198, 40, 40), 30)   # the clipped spike is marked


def test_a_too_large_learning_rate_says_diverged_or_diverging(page, server):
    page.goto(server + "#view=playground&lr=10&activation=relu&hidden=8,8")
    wait_frame(page)
    before = pixels(page, "#pg-output")
    page.select_option("#pg-speed", "50")
    page.click("#pg-play")
    page.wait_for_function(DIVERGING, timeout=30_000)
    state = page.inner_text("#pg-state")
    if state == "diverged":                                   # NaN or an explosion: stopped, explained
        assert re.search(r"Diverged at step \d+", page.inner_text("#banner-text"))
        page.wait_for_function("!HG.views.playground.state.playing")
        assert np.abs(pixels(page, "#pg-output") - before).mean() < 60
    else:
        assert "lower the learning rate" in page.inner_text("#pg-health")


def test_a_run_that_does_not_learn_says_stuck(page, server):
    page.goto(server + "#view=playground&dataset=spiral&classes=3&hidden=1&lr=0.0001&activation=sigmoid")
    wait_frame(page)
    play_until(page, "document.getElementById('pg-state').textContent === 'stuck'", speed="500")
    health = page.inner_text("#pg-health")
    assert ("has not fallen" in health or "no better than guessing" in health) and "try another" in health


def test_a_setting_change_pauses_and_says_so(page, server):
    page.goto(server + "#view=playground")
    wait_frame(page)
    page.select_option("#pg-speed", "10")
    page.click("#pg-play")
    page.wait_for_function("HG.views.playground.state.frame.step >= 30")
    page.fill("#pg-lr", "0.1")
    page.press("#pg-lr", "Enter")
    page.wait_for_function("HG.views.playground.state.setup.lr === 0.1 && !HG.views.playground.state.playing")
    page.wait_for_timeout(500)
    assert steps(page) == 0                                   # a fresh network, not training
    assert page.inner_text("#pg-state") == "paused"
    health = page.inner_text("#pg-health")
    assert "New learning rate" in health and "Press play" in health


def test_click_a_weight_to_set_it(page, server):
    page.goto(server + "#view=playground&hidden=3")
    wait_frame(page)
    link = page.locator('[data-link="1_1_2"]')                # W2[1, 2]: hidden unit 2 -> output 1
    box = link.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#pg-weight-edit:not([hidden])")
    assert "W2[1, 2]" in page.inner_text("#pg-weight-name")
    page.fill("#pg-weight-value", "-2.5")
    page.press("#pg-weight-value", "Enter")
    page.wait_for_function("HG.views.playground.state.frame.weights[1].W[1][2] === -2.5")
    assert page.is_hidden("#pg-weight-edit")


def test_hover_a_neuron_to_see_it_big(page, server):
    page.goto(server + "#view=playground&hidden=4,2")
    wait_frame(page)
    page.wait_for_timeout(100)
    output = pixels(page, "#pg-output")
    page.hover('#pg-network canvas[data-layer="1"][data-unit="0"]')
    page.wait_for_selector("#pg-output-label:not([hidden])")
    assert "hidden layer 1, neuron 0" in page.inner_text("#pg-output-label")
    assert np.abs(pixels(page, "#pg-output") - output).mean() > 5
    page.mouse.move(5, 790)
    page.wait_for_selector("#pg-output-label", state="hidden")
    assert np.abs(pixels(page, "#pg-output") - output).mean() < 1


def test_the_options_come_from_handgrads_registries(page, server):
    from handgrad.nn import activation_label
    page.goto(server + "#view=playground")
    wait_frame(page)
    options = page.eval_on_selector_all("#pg-activation option",
                                        "os => os.map(o => [o.value, o.textContent])")
    assert ["gelu_tanh", activation_label("gelu_tanh")] in options
    assert "Softmax" not in [label for _, label in options]
    page.select_option("#pg-activation", "gelu_tanh")
    page.wait_for_function("HG.views.playground.state.ready.setup.activation === 'gelu_tanh'")
    page.fill("#pg-l1", "0.01")                              # L1, as in the TensorFlow Playground
    page.press("#pg-l1", "Enter")
    page.wait_for_function("HG.views.playground.state.ready.setup.l1 === 0.01")
    page.click("#pg-step")
    page.wait_for_function("HG.views.playground.state.frame.step === 1")
    assert hash_params(page)["l1"] == "0.01"


def test_an_old_link_still_opens_its_network(page, server):
    page.goto(server + "#view=playground&dataset=moons&batch=16&l2=0.001&lr=0.1")
    page.wait_for_function("HG.views.playground.state.ready && "
                           "HG.views.playground.state.ready.setup.dataset === 'moons'")
    assert page.input_value("#pg-batch_size") == "16" and page.input_value("#pg-weight_decay") == "0.001"
    params = hash_params(page)
    assert params["batch_size"] == "16" and params["weight_decay"] == "0.001" and "batch" not in params


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


def test_csv_class_names_show_and_the_generator_controls_hide(page, server, tmp_path):
    page.goto(server + "#view=playground")
    wait_frame(page)
    assert page.is_hidden("#pg-classes-row")                  # XOR has two classes: no count to pick
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{x:.3f},{y:.3f},{'cat' if x > 0 else 'dog'}" for x, y in rng.uniform(-1, 1, (60, 2)))
    (tmp_path / "pets.csv").write_text("x,y,animal\n" + rows)
    page.set_input_files("#pg-csv", str(tmp_path / "pets.csv"))
    page.wait_for_function("HG.views.playground.state.ready.setup.dataset === 'csv'")
    assert "cat" in page.inner_text("#pg-colors") and "dog" in page.inner_text("#pg-colors")
    assert "2 classes (cat, dog)" in page.inner_text("#pg-csv-info")
    assert page.is_hidden("#pg-noise") and page.is_hidden("#pg-points")
    page.hover('#pg-network canvas[data-layer="3"][data-unit="1"]')       # an output unit
    assert "(dog)" in tip_text(page)
    (tmp_path / "far.csv").write_text("x,y,label\n" + "\n".join(f"{i % 7},{i % 5},{i % 2}" for i in range(30))
                                      + "\n1e308,1,0\n")
    page.set_input_files("#pg-csv", str(tmp_path / "far.csv"))
    page.wait_for_selector("#banner:not([hidden])")
    assert "far.csv: line 32: '1e308' is too large" in page.inner_text("#banner-text")
    page.click('#pg-datasets button[data-name="spiral"]')
    page.wait_for_function("HG.views.playground.state.ready.setup.dataset === 'spiral'")
    assert page.is_visible("#pg-classes-row") and page.is_visible("#pg-noise")


def test_the_playground_screenshot(page, server, tmp_path):
    page.goto(server + "#view=playground&dataset=spiral&classes=3&noise=0.2&features=x,y,sinx,siny"
              "&hidden=8,8,5&activation=tanh&optimizer=adam&lr=0.03&batch_size=10&seed=1")
    wait_frame(page)
    play_until(page, "HG.views.playground.state.frame.epoch >= 80", speed="200")
    without = pixels(page, "#pg-output")
    page.check("#pg-show-test")                              # the test points join the picture
    assert np.abs(pixels(page, "#pg-output") - without).mean() > 1
    page.uncheck("#pg-show-test")
    assert np.array_equal(pixels(page, "#pg-output"), without)
    page.hover('#pg-network canvas[data-layer="2"][data-unit="2"]')
    tip = tip_text(page)
    assert "hidden layer 2, neuron 2" in tip and "W[2, :]" in tip
    assert float(page.inner_text("#pg-test-loss")) < 0.6
    page.mouse.move(5, 5)
    page.wait_for_selector("#tooltip", state="hidden")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, tmp_path, "playground.png")


def test_a_refused_tab_keeps_its_message_and_reloaded_tabs_give_their_slots_back(browser):
    """A class: three tabs train, each is reloaded while training again and again; then every
    slot still takes a tab, and the one too many is told why — and the page keeps saying it."""
    with Background(max_sessions=3) as url:
        tabs = [new_page(browser) for _ in range(3)]
        try:
            for _ in range(2):
                for _, pg in tabs:
                    pg.goto(url + "#view=playground&speed=100")
                    pg.wait_for_function("HG.views.playground.state.frame !== null")
                    pg.click("#pg-play")
                    pg.wait_for_function("HG.views.playground.state.frame.step > 0")
            extra_context, extra = new_page(browser)
            extra.goto(url + "#view=playground")
            extra.wait_for_selector("#banner:not([hidden])")
            extra.wait_for_timeout(1000)                      # the socket has closed by now
            assert "serving 3 tabs already" in extra.inner_text("#banner-text")
            extra_context.close()
            for _, pg in tabs:                                # a reload mid-training: its slot is back
                pg.reload()
                pg.wait_for_function("HG.views.playground.state.frame !== null")
                assert pg.is_hidden("#banner")
        finally:
            for context, _ in tabs:
                context.close()


# --- 2. the optimizer race ------------------------------------------------------------------------

def test_the_race_runs_live_fits_the_screen_and_scrubs(browser, server, tmp_path):
    context, page = new_page(browser, 1280, 800)
    page.goto(server + "#view=race&dataset=spiral&epochs=30&lr_adam=0")
    page.wait_for_selector("#banner:not([hidden])")          # a bad rate first: explained
    assert "the adam learning rate must be a number above 0" in page.inner_text("#banner-text")
    assert "bad" in page.get_attribute("#race-lr_adam", "class")
    page.fill("#race-lr_adam", "0.01")
    page.click("#race-apply")
    page.wait_for_function("HG.views.race.state.ready && HG.views.race.state.ready.epochs === 30")
    assert page.locator(".racer canvas").count() == 3 and not page.is_visible("#banner")
    assert page.is_visible("#race-classes-field")            # spiral: a class count to pick
    start = [pixels(page, f'.racer[data-name="{n}"] canvas') for n in ("sgd", "momentum", "adam")]
    assert np.array_equal(start[0], start[1]) and np.array_equal(start[0], start[2])   # one start
    page.click("#race-step")
    page.wait_for_function("HG.views.race.state.frame.racers[0].step === 1")
    page.select_option("#race-speed", "100")
    page.click("#race-play")
    page.wait_for_function("HG.views.race.state.frame.finished", timeout=60_000)
    page.wait_for_function("!HG.views.race.state.playing")
    end = [pixels(page, f'.racer[data-name="{n}"] canvas') for n in ("sgd", "momentum", "adam")]
    for a, b in zip(start, end):
        assert np.abs(a - b).mean() > 5                      # every boundary moved
    # at 1280 x 800 the boards stand in one row, with the slider and the chart in view
    boxes = [page.locator(f'.racer[data-name="{n}"]').bounding_box() for n in ("sgd", "momentum", "adam")]
    assert len({round(b["y"]) for b in boxes}) == 1
    for selector in ("#race-slider", "#race-curve", "#race-legend"):
        b = page.locator(selector).bounding_box()
        assert b["y"] + b["height"] <= 800, selector
    legend = page.locator("#race-legend").bounding_box()      # the legend is beside the curves
    curve = page.locator("#race-curve").bounding_box()
    assert legend["x"] >= curve["x"] + curve["width"] or legend["y"] >= curve["y"] + curve["height"]
    shot(page, tmp_path, "race.png")
    page.eval_on_selector("#race-slider", "s => { s.value = 0; s.dispatchEvent(new Event('input')); }")
    assert page.inner_text("#race-epoch").startswith("epoch 0.00 of 30")
    back = [pixels(page, f'.racer[data-name="{n}"] canvas') for n in ("sgd", "momentum", "adam")]
    assert np.allclose(back[0], start[0], atol=1)
    params = hash_params(page)
    assert params["view"] == "race" and params["epochs"] == "30" and params["speed"] == "100"
    context.close()
    assert not page.errors


def test_a_racer_with_too_large_a_rate_is_flagged_and_classes_hide_for_two_classes(page, server):
    page.goto(server + "#view=race&dataset=moons&epochs=40&lr_sgd=5&speed=200")
    page.wait_for_function("HG.views.race.state.ready && HG.views.race.state.ready.setup.dataset === 'moons'")
    assert page.is_hidden("#race-classes-field")              # two classes: no count to pick
    page.click("#race-play")
    page.wait_for_function("HG.views.race.state.frame.finished", timeout=60_000)
    stat = page.inner_text('.racer[data-name="sgd"] .stat')
    assert re.search(r"diverg|stuck", stat), stat
    assert re.search(r"diverg|stuck", page.inner_text("#race-legend"))


# --- 3. backprop, step by step ------------------------------------------------------------------

def stroke(page, node):
    return page.eval_on_selector(f'[data-node="{node}"] circle', "c => getComputedStyle(c).stroke")


def hover_edge(page, edge, at=0.5):
    """The mouse on an edge, ``at`` of the way along it (edges cross near their middles)."""
    x, y = page.eval_on_selector(f'[data-edge="{edge}"]', """(l, at) => {
        const p = l.getPointAtLength(at * l.getTotalLength()), m = l.getScreenCTM();
        return [m.a * p.x + m.c * p.y + m.e, m.b * p.x + m.d * p.y + m.f]; }""", at)
    page.mouse.move(x, y)
    return tip_text(page)


def test_backprop_in_the_lessons_colours_and_layout_with_handgrads_numbers(page, server, tmp_path):
    page.goto(server + "#view=backprop&preset=a")
    page.wait_for_function("HG.views.backprop.state.data !== null")
    A = {k: np.array(v) for k, v in backprop_steps({"preset": "a"})["arrays"].items()}
    n = page.locator("#bp-stages li").count()
    assert n == 11
    forward = page.eval_on_selector("#bp-stage-title", "e => getComputedStyle(e).color")
    page.click("#bp-next")                                   # z1, forward: x W1 + b1, in cyan
    page.hover('[data-node="h2"]')
    tip = tip_text(page)
    assert "z1[2] = x[0]·W1[0,2] + x[1]·W1[1,2] + b1[2]" in tip
    assert number(tip) == pytest.approx(A["z1"][0, 2], abs=1e-4)
    assert "+ 0.0000" not in tip                             # biases that are not 0
    assert "x W1 + b1" in page.inner_text("#bp-formula")
    assert stroke(page, "h2") == "rgb(0, 172, 193)"                         # cyan
    for _ in range(n - 2):
        page.click("#bp-next")
    assert page.inner_text("#bp-stage-title").startswith(f"Stage {n} of {n} · backward")
    backward = page.eval_on_selector("#bp-stage-title", "e => getComputedStyle(e).color")
    assert forward != backward
    assert stroke(page, "h1") == "rgb(230, 145, 0)"                         # amber
    page.hover('[data-node="h1"]')
    tip = tip_text(page)
    assert "db1[1] = Σ_batch δ1[1]" in tip and number(tip) == pytest.approx(A["db1"][1], abs=1e-4)
    # the lesson's layout: dW1 = xᵀ δ1 is (2, 4), its entry [i, j] for input i, hidden unit j
    tip = hover_edge(page, "w1_3_1")
    assert "dW1[1,3] = x[1]·δ1[3]   (dW1 = xᵀ δ1)" in tip and "(2, 4) = (d_in, d_out)" in tip
    assert number(tip) == pytest.approx(A["dW1"][3, 1], abs=1e-4)
    shot(page, tmp_path, "backprop.png")
    page.check("#bp-layout-torch")                           # handgrad's: (d_out, d_in), δ1ᵀ x
    tip = hover_edge(page, "w1_3_1")
    assert "dW1[3,1] = δ1[3]·x[1]   (dW1 = δ1ᵀ x)" in tip and "(4, 2) = (d_out, d_in)" in tip
    assert "dW1 = δ1ᵀ x" in page.inner_text("#bp-formula")
    assert hash_params(page)["layout"] == "torch"


def test_crossing_edges_each_answer_for_themselves(page, server):
    page.goto(server + "#view=backprop&preset=b&stage=3&layout=torch")
    page.wait_for_function("HG.views.backprop.state.data !== null && HG.views.backprop.state.stage === 3")
    for edge, at in (("w2_0_3", 0.45), ("w2_2_1", 0.55), ("w2_2_0", 0.3), ("w2_1_1", 0.7),
                     ("w2_0_0", 0.5), ("w1_0_1", 0.4), ("w1_3_0", 0.6)):
        k, j = edge[3:].split("_") if edge.startswith("w2") else (None, None)
        tip = hover_edge(page, edge, at)
        if k is not None:
            assert f"W2[{k},{j}]" in tip, (edge, tip)
        assert page.locator(f'[data-edge="{edge}"].hovered').count() == 1


def test_a_custom_example_and_a_bad_label(page, server):
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

def test_the_graph_recomputes_when_a_learner_makes_e_negative(page, server, tmp_path):
    page.goto(server + "#view=graph")
    page.wait_for_function("HG.views.graph.state.data !== null")
    assert page.inner_text("#gr-step") == "Forward 1 of 6"
    page.hover('[data-node="a"]')
    tip = tip_text(page)
    assert "a = 2 = 2" not in tip and "-" not in tip.replace("−", "")   # one minus sign: −
    for _ in range(11):
        page.click("#gr-next")
    assert page.inner_text("#gr-step") == "Backward 6 of 6"
    assert "grad −3.0000" in page.text_content('[data-node="a"]')
    page.hover('[data-node="d"]')
    tip = tip_text(page)
    assert "a.grad += −3 × 1 = −3" in tip and "b.grad += 2 × 1 = 2" in tip
    shot(page, tmp_path, "graph.png")
    page.fill("#gr-c", "1")                                   # e = 2·(−3) + 1 = −5 < 0
    page.wait_for_function("HG.views.graph.state.data.leaves.c === 1")
    assert page.inner_text("#gr-step") == "Backward 6 of 6"
    assert "data −5.0000" in page.text_content('[data-node="e"]')
    for label in "abcde":
        assert "grad 0.0000" in page.text_content(f'[data-node="{label}"]')
    page.click("#gr-first")
    for _ in range(6):
        page.click("#gr-next")                                # to the ReLU's own backward step
    assert "the gradient stops here" in page.inner_text("#gr-text")
    assert hash_params(page)["c"] == "1"
    # two arrows into the × node meet it at different points
    ends = page.eval_on_selector_all('[data-arrow$=">d"]',
                                     "ls => ls.map(l => [+l.getAttribute('x2'), +l.getAttribute('y2')])")
    assert len(ends) == 2 and np.hypot(*np.subtract(*ends)) > 8
