"""The playground's server: every endpoint and message type with good and bad input,
training that makes the loss fall, sessions that stay apart and end with their tab.

Starlette's TestClient drives the app in-process; one test talks to a real uvicorn
server to check the frame flow control (a page that does not draw gets no more frames).
"""

import base64
import contextlib
import gc
import json
import subprocess
import sys
import textwrap
import time
import warnings
import weakref

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the playground needs: pip install 'handgrad[playground]'")
pytest.importorskip("uvicorn", reason="the playground needs: pip install 'handgrad[playground]'")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")             # Starlette's note on which httpx it prefers
    from starlette.testclient import TestClient

from handgrad.data import toy_names
from handgrad.io import load_model
from handgrad.playground import config
from handgrad.playground.config import SettingError, check_race, check_setup
from handgrad.playground.data import features, make_points, parse_csv
from handgrad.playground.race import RaceSession
from handgrad.playground.server import Background, create_app
from handgrad.playground.session import Session

BASE = "http://127.0.0.1"
WS = "ws://127.0.0.1/ws"


@pytest.fixture
def app():
    return create_app()


@pytest.fixture
def client(app):
    with TestClient(app, base_url=BASE) as c:
        yield c


def receive(ws, kind, limit=200):
    """The next message of type ``kind`` (frames from a play loop may come in between)."""
    for _ in range(limit):
        msg = ws.receive_json()
        if msg["type"] == kind:
            return msg
    raise AssertionError(f"no {kind!r} message in {limit}")


@pytest.fixture
def connect(client):
    """connect(client) -> (ws, session id); every socket is closed at the end of the test."""
    stack = contextlib.ExitStack()

    def open_(c):
        ws = stack.enter_context(c.websocket_connect(WS))
        hello = ws.receive_json()
        assert hello["type"] == "hello" and hello["session"]
        return ws, hello["session"]
    yield open_
    stack.close()


def setup(ws, **settings):
    ws.send_json({"type": "setup", "setup": settings})
    first = ws.receive_json()
    while first["type"] in ("status", "frame"):          # replies to earlier messages
        first = ws.receive_json()
    if first["type"] == "error":
        return first, None
    assert first["type"] == "ready", first
    frame = receive(ws, "frame")
    return first, frame


# --- the page and the options ------------------------------------------------------------------

def test_the_page_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for view in ("view-playground", "view-race", "view-backprop", "view-graph"):
        assert view in page.text
    scripts = [s.split('"')[0] for s in page.text.split('<script src="')[1:]]
    assert "static-data.js" in scripts and len(scripts) >= 6
    for src in scripts + ["static/style.css"]:
        r = client.get("/" + src)
        assert r.status_code == 200, src
    assert client.get("/static-data.js").text.strip() == "window.HANDGRAD_STATIC = null;"
    assert "http://" not in page.text and "https://" not in page.text      # nothing from outside


def test_the_page_fetches_nothing_from_the_internet():
    from handgrad.playground.server import STATIC
    for path in STATIC.rglob("*"):
        if path.suffix in (".html", ".js", ".css"):
            text = path.read_text(encoding="utf-8")
            for needle in ("http://", "https://", "//cdn", "@import"):
                hits = [ln for ln in text.splitlines() if needle in ln and "w3.org/2000/svg" not in ln]
                assert not hits, f"{path.name}: {hits[:1]}"


def test_options_are_read_from_handgrads_registries(client):
    from handgrad.data import toy_names
    from handgrad.nn import LOSSES, NORMS, activation_label, activation_names, norm_names
    from handgrad.optim import OPTIMIZERS, optimizer_names
    o = client.get("/api/options").json()
    assert [d["name"] for d in o["datasets"]] == [*toy_names(), "csv"]
    assert {d["name"]: d["label"] for d in o["datasets"]}["checkerboard"] == "checker"
    assert o["activations"] == [{"name": n, "label": activation_label(n)}
                                for n in activation_names(hidden=True)]
    assert "gelu_tanh" in [a["name"] for a in o["activations"]]
    assert o["optimizers"] == [{"name": n, "label": OPTIMIZERS[n].label} for n in optimizer_names()]
    assert o["norms"][1:] == [{"name": n, "label": NORMS[n].label} for n in norm_names()]
    assert {"name": "cross_entropy", "label": LOSSES["cross_entropy"].label} in o["losses"]
    assert "binary_cross_entropy" not in [x["name"] for x in o["losses"]]   # not a softmax output
    assert [v["name"] for v in o["views"]] == ["playground", "race", "backprop", "graph"]
    assert o["defaults"]["dataset"] == "xor" and o["max_layers"] == 6
    assert o["engine"] == "numpy" and "NumPy" in o["engine_label"]
    assert o["speed"] in o["speeds"] and o["speeds"][0] == 1


def test_a_newly_registered_name_is_offered_and_trains(monkeypatch, client):
    from handgrad.nn import ACTIVATIONS
    from handgrad.nn.activations import Tanh
    from handgrad.optim import OPTIMIZERS, SGD, Preset

    class Hardtanh(Tanh):
        name, label = "softsign_like", "Softsign-like"
    monkeypatch.setitem(ACTIVATIONS, "softsign_like", Hardtanh)
    monkeypatch.setitem(OPTIMIZERS, "heavy_ball", Preset(SGD, "Heavy ball", momentum=0.95))
    o = client.get("/api/options").json()
    assert {"name": "softsign_like", "label": "Softsign-like"} in o["activations"]
    assert {"name": "heavy_ball", "label": "Heavy ball"} in o["optimizers"]
    assert "lr_heavy_ball" in o["race_defaults"]
    s = Session(check_setup({"activation": "softsign_like", "optimizer": "heavy_ball"}))
    s.advance(3)
    assert s.optimizer.momentum == 0.95 and s.trainer.steps == 3


def test_the_views_are_one_table(client):
    from handgrad.playground.views import STATIC, VIEWS
    page = client.get("/").text
    for v in VIEWS:
        assert f'data-view="{v.name}"' in page and f'id="view-{v.name}"' in page
        assert f'static/js/{v.name}.js' in page
        assert (STATIC / "views" / f"{v.name}.html").is_file()
        if v.api is not None:
            assert client.get(f"/api/{v.name}").status_code == 200
    for marker in ("<!-- tabs -->", "<!-- views -->", "<!-- view scripts -->", "<!-- engine -->"):
        assert marker not in page


def test_a_new_view_is_its_own_files_and_one_line_in_the_table(monkeypatch, tmp_path):
    """Adding a view: its part of the page, its script, and its line in VIEWS — the server
    builds the tab, the section, the script tag and the API route from them, and the
    export carries it."""
    import shutil

    from handgrad.playground import export, server, views
    static = tmp_path / "static"
    shutil.copytree(views.STATIC, static)
    (static / "views" / "hello.html").write_text('<main id="view-hello" class="view" hidden>hi</main>\n')
    (static / "js" / "hello.js").write_text("HG.views.hello = {open: function () {}};\n")
    hello = views.View("hello", "Hello", api=lambda query: {"hello": query.get("who", "world")},
                       static=lambda: {"hello": "file"})
    for module in (views, server, export):
        monkeypatch.setattr(module, "STATIC", static)
    monkeypatch.setattr(views, "VIEWS", (*views.VIEWS, hello))
    monkeypatch.setattr(server, "VIEWS", views.VIEWS)
    monkeypatch.setattr(export, "VIEWS", views.VIEWS)
    with TestClient(create_app(), base_url=BASE) as c:
        page = c.get("/").text
        assert '<button data-view="hello" class="tab">Hello</button>' in page
        assert 'id="view-hello"' in page and 'src="static/js/hello.js"' in page
        assert c.get("/api/hello?who=class").json() == {"hello": "class"}
        assert c.get("/static/js/hello.js").status_code == 200
        assert {"name": "hello", "label": "Hello"} in c.get("/api/options").json()["views"]
    site = export.export_static(tmp_path / "site")
    assert 'id="view-hello"' in (site / "index.html").read_text()
    assert '"hello":{"hello":"file"}' in (site / "static-data.js").read_text()


def test_thumbnails_show_every_dataset_in_the_square(client):
    thumbs = client.get("/api/thumbnails").json()
    assert set(thumbs) == set(toy_names())
    for name, points in thumbs.items():
        P = np.array([p[:2] for p in points])
        assert np.abs(P).max() <= 0.9 + 1e-3, name


# --- settings ----------------------------------------------------------------------------------

@pytest.mark.parametrize("settings, field, words", [
    ({"lr": -1}, "lr", "learning rate must be a number above 0"),
    ({"lr": "abc"}, "lr", "got 'abc'"),
    ({"lr": 100}, "lr", "at most 10"),
    ({"lr": True}, "lr", "learning rate"),
    ({"lr": float("nan")}, "lr", "learning rate"),
    ({"dataset": "mnist"}, "dataset", "valid: xor"),
    ({"hidden": [4, 0]}, "hidden", "at least 1"),
    ({"hidden": [9]}, "hidden", "at most 8"),
    ({"hidden": [2] * 7}, "hidden", "at most 6"),
    ({"hidden": "4,x"}, "hidden", "whole number"),
    ({"hidden": 4}, "hidden", "list"),
    ({"batch_size": 0}, "batch_size", "batch size"),
    ({"batch": 2.5}, "batch_size", "whole number"),
    ({"hidden": "4,,2"}, "hidden", "an empty entry"),
    ({"weight_decay": -0.1}, "weight_decay", "weight decay (L2)"),
    ({"l1": 2}, "l1", "L1 rate"),
    ({"loss": "binary_cross_entropy"}, "loss", "valid: cross_entropy"),
    ({"activation": "gelu_tanh", "lr": 0}, "lr", "above 0"),
    ({"features": []}, "features", "at least one"),
    ({"features": ["z"]}, "features", "valid: x, y"),
    ({"dataset": "sine", "features": ["x", "y"]}, "features", "needs y"),
    ({"activation": "softmax"}, "activation", "valid: relu"),
    ({"optimizer": "lbfgs"}, "optimizer", "valid: sgd"),
    ({"dropout": 0.95}, "dropout", "at most 0.9"),
    ({"norm": "group"}, "norm", "valid: none"),
    ({"points": 10}, "points", "at least 20"),
    ({"classes": 7}, "classes", "at most 6"),
    ({"train": 1.0}, "train", "training fraction"),
    ({"seed": -1}, "seed", "seed"),
    ({"norm": "batch", "batch_size": 1}, "batch_size", "at least 2"),
    ({"hidden": [], "dropout": 0.5}, "hidden", "hidden layer"),
    ({"colour": "red"}, "colour", "unknown setting 'colour'"),
])
def test_bad_settings_say_what_was_expected_and_what_came(settings, field, words):
    with pytest.raises(SettingError) as e:
        check_setup(settings)
    assert e.value.field == field
    assert words in str(e.value)


def test_settings_from_a_url_are_text_and_are_parsed():
    s = check_setup({"lr": "0.3", "hidden": "4,2", "features": "x,y,xy", "batch_size": "16",
                     "seed": "7", "dataset": "Moons", "l1": "0.001"})
    assert s["lr"] == 0.3 and s["hidden"] == [4, 2] and s["features"] == ["x", "y", "xy"]
    assert s["batch_size"] == 16 and s["seed"] == 7 and s["dataset"] == "moons" and s["l1"] == 0.001
    assert check_setup({"hidden": ""})["hidden"] == []


def test_the_old_keys_of_a_link_are_still_read():
    s = check_setup({"batch": "16", "l2": "0.01"})
    assert s["batch_size"] == 16 and s["weight_decay"] == 0.01 and "batch" not in s
    assert check_setup({"batch": 4, "batch_size": 8})["batch_size"] == 8     # the new name wins
    r = check_race({"batch": 8, "optimizers": "adam,sgd"})
    assert r["batch_size"] == 8 and r["optimizers"] == ["adam", "sgd"]


# --- the WebSocket session ------------------------------------------------------------------------

def epochs(session, k):
    """Train ``session`` for k whole epochs, as the page's play would."""
    session.advance(k * session.trainer.steps_per_epoch, seconds=float("inf"))


def test_a_session_trains_and_its_loss_falls(client, connect):
    ws, _ = connect(client)
    ready, frame0 = setup(ws, dataset="circles", noise=0.2, hidden=[6, 6], lr=0.1,
                          activation="tanh", optimizer="adam", batch_size=16, seed=1)
    assert ready["layer_sizes"] == [2, 6, 6, 2] and ready["task"] == "classification"
    assert ready["steps_per_epoch"] == 13 and ready["class_names"] == ["0", "1"]
    assert frame0["epoch"] == 0 and frame0["output"]["kind"] == "grid"
    ws.send_json({"type": "speed", "steps": 100})
    ws.send_json({"type": "play"})
    assert receive(ws, "status")["playing"] is True
    last = None
    for _ in range(400):                                   # a busy machine gives fewer steps a frame
        last = receive(ws, "frame")
        ws.send_json({"type": "ack", "seq": last["seq"]})
        if last["epoch"] >= 30:
            break
    ws.send_json({"type": "pause"})
    receive(ws, "status")
    assert last["epoch"] >= 30 and last["view"] == "playground"
    assert last["test_loss"] < 0.5 * frame0["test_loss"]
    assert last["test_accuracy"] > 0.9
    # a frame carries each picture once: grid K bytes per cell, one map per hidden neuron
    probs = base64.b64decode(last["output"]["probs"])
    assert len(probs) == 48 * 48 * 2
    assert [len(n["scales"]) for n in last["neurons"]] == [6, 6]
    assert len(base64.b64decode(last["neurons"][0]["data"])) == 6 * 24 * 24
    assert len(json.dumps(last)) < 60_000
    ws.close()


def test_the_speed_is_mini_batches_per_frame(client, connect):
    ws, _ = connect(client)
    setup(ws, dataset="xor")                               # 200 training points, batch size 10
    for speed, bad in ((5, False), (0, True), (501, True), ("fast", True)):
        ws.send_json({"type": "speed", "steps": speed})
        if bad:
            error = receive(ws, "error")
            assert error["field"] == "steps" and "speed (steps per frame)" in error["message"]
    ws.send_json({"type": "play"})
    receive(ws, "status")
    steps = []
    for _ in range(3):
        f = receive(ws, "frame")
        steps.append(f["step"])
        ws.send_json({"type": "ack", "seq": f["seq"]})
    ws.send_json({"type": "pause"})
    receive(ws, "status")
    assert steps == [5, 10, 15]
    ws.close()


def test_step_is_one_mini_batch_and_reset_starts_again(client, connect):
    ws, _ = connect(client)
    setup(ws, dataset="xor", seed=3)
    ws.send_json({"type": "step"})
    f1 = receive(ws, "frame")
    assert f1["step"] == 1 and f1["epoch"] == 0 and f1["now"][0] == pytest.approx(10 / 200)
    assert receive(ws, "status")["playing"] is False
    for _ in range(19):
        ws.send_json({"type": "step"})
        f = receive(ws, "frame")
    assert f["epoch"] == 1 and f["step"] == 20 and [p[0] for p in f["curve"]] == [1]
    ws.send_json({"type": "reset"})
    ready = receive(ws, "ready")
    f0 = receive(ws, "frame")
    assert f0["epoch"] == 0 and f0["step"] == 0 and ready["setup"]["seed"] == 3
    ws.close()


def test_l1_pulls_weights_to_zero_by_handgrads_penalty():
    from handgrad.nn.penalties import add_penalties
    base = {"dataset": "moons", "hidden": [6], "optimizer": "sgd", "lr": 0.1, "seed": 2}
    plain, sparse = Session(check_setup(base)), Session(check_setup({**base, "l1": 0.01}))
    by_hand = Session(check_setup(base))
    epochs(plain, 10)
    epochs(sparse, 10)
    t = by_hand.trainer                                  # the same steps, the penalty by hand
    for _ in range(10 * t.steps_per_epoch):
        if t.cursor == 0:
            t.order = t.model.rng.permutation(t.n)
        idx = t.order[t.cursor:t.cursor + t.batch_size]
        t.model.loss_and_grad(t.X[idx], t.y[idx])
        add_penalties(t.model.params, t.model.grads, l1=0.01)
        t.optimizer.step(t.model)
        t.cursor = (t.cursor + len(idx)) % t.n
    for k, w in sparse.model.state_dict().items():
        assert np.array_equal(w, by_hand.model.state_dict()[k]), k
    size = {name: np.abs(s.model.layers[0].W).sum() for name, s in (("plain", plain), ("l1", sparse))}
    assert size["l1"] < size["plain"]


@pytest.mark.parametrize("more", [{"batch_size": 7},
                                  {"batch_size": 199, "norm": "batch"}])   # 200 rows: 1 left
def test_steps_are_handgrads_training_loop_to_the_last_bit(more):
    setup_ = check_setup({"dataset": "moons", "hidden": [5, 3], "optimizer": "adam",
                          "seed": 4, "lr": 0.01, **more})
    s = Session(setup_)
    for _ in range(s.trainer.steps_per_epoch * 3):           # one mini-batch at a time
        s.advance(1)
    alone = Session(setup_)
    alone.model.fit(alone.X_train, alone.t_train, epochs=3, batch_size=more["batch_size"],
                    optimizer=alone.optimizer)
    for name, w in s.model.state_dict().items():
        assert np.array_equal(w, alone.model.state_dict()[name]), name
    assert s.history.column("train_loss") == pytest.approx(
        alone.model.history_.column("train_loss"), rel=1e-6)


def test_a_setting_change_pauses_and_starts_a_new_network(client, connect):
    ws, _ = connect(client)
    setup(ws, dataset="xor")
    ws.send_json({"type": "play"})
    receive(ws, "status")
    f = receive(ws, "frame")
    ws.send_json({"type": "ack", "seq": f["seq"]})
    ws.send_json({"type": "setup", "setup": {"dataset": "xor", "lr": -1}})
    assert receive(ws, "error")["field"] == "lr"
    f = receive(ws, "frame")                               # a bad setting changes nothing
    ws.send_json({"type": "ack", "seq": f["seq"]})
    assert receive(ws, "frame")["step"] > f["step"]
    ws.send_json({"type": "setup", "setup": {"dataset": "xor", "lr": 0.1}})
    assert receive(ws, "status")["playing"] is False
    ready = receive(ws, "ready")
    f0 = receive(ws, "frame")
    assert ready["setup"]["lr"] == 0.1 and f0["step"] == 0
    time.sleep(0.3)
    ws.send_json({"type": "step"})
    after = ws.receive_json()                              # paused: no frame came by itself
    assert after["type"] == "frame" and after["step"] == 1
    ws.close()


def test_the_same_seed_gives_the_same_run(client, connect):
    ws, _ = connect(client)
    _, a0 = setup(ws, dataset="moons", seed=5)
    ws.send_json({"type": "step"})
    a1 = receive(ws, "frame")
    _, b0 = setup(ws, dataset="moons", seed=5)
    ws.send_json({"type": "step"})
    b1 = receive(ws, "frame")
    assert a0["weights"] == b0["weights"] and a1["weights"] == b1["weights"]
    assert a1["output"]["probs"] == b1["output"]["probs"]
    ws.close()


def test_a_weight_is_set_by_hand(client, connect):
    ws, _ = connect(client)
    _, f0 = setup(ws, dataset="xor", hidden=[3])
    ws.send_json({"type": "set_weight", "layer": 1, "row": 1, "col": 2, "value": "-2.5"})
    f = receive(ws, "frame")
    assert f["weights"][1]["W"][1][2] == -2.5
    assert f["output"]["probs"] != f0["output"]["probs"]      # the picture follows
    for bad, field in (({"layer": 2}, "layer"), ({"row": 5}, "row"), ({"value": "nan"}, "value"),
                       ({"value": 1e6}, "value"), ({"col": -1}, "col")):
        ws.send_json({"type": "set_weight", "layer": 0, "row": 0, "col": 0, "value": 1, **bad})
        assert receive(ws, "error")["field"] == field
    ws.close()


def test_a_bad_setting_is_an_error_message_and_the_session_goes_on(client, connect):
    ws, _ = connect(client)
    setup(ws, dataset="xor", hidden=[3])
    error, _ = setup(ws, lr="-1")
    assert error["type"] == "error" and error["field"] == "lr" and error["view"] == "playground"
    assert "learning rate must be a number above 0 and at most 10; got '-1'" in error["message"]
    ws.send_json({"type": "step"})                      # the old network still trains
    frame = receive(ws, "frame")
    assert frame["step"] == 1 and len(frame["weights"][0]["W"]) == 3
    error, _ = setup(ws, hidden=[4, 99])
    assert error["field"] == "hidden"
    ws.close()


@pytest.mark.parametrize("message, words", [
    ("not json", "must be JSON"),
    ("[1, 2]", "must be JSON objects"),
    ('{"type": "fly"}', "unknown message type 'fly'"),
    ('{"type": "setup", "setup": [1]}', "settings must be a JSON object"),
    ('{"type": "play", "view": "graph"}', "unknown view 'graph'"),
    ("[" * 100_000, "message too long"),
    ("x" * 70_000, "message too long"),
])
def test_bad_messages_get_clear_errors(client, message, words, connect):
    ws, _ = connect(client)
    ws.send_text(message)
    error = ws.receive_json()
    assert error["type"] == "error" and words in error["message"]
    ready, _ = setup(ws)                                # and the session still works
    assert ready["type"] == "ready"
    ws.close()


def test_a_binary_message_gets_an_answer_not_a_traceback(client, connect):
    ws, _ = connect(client)
    ws.send_bytes(b"\x00\x01binary")
    error = ws.receive_json()
    assert error["type"] == "error" and "binary messages are not understood" in error["message"]
    ready, _ = setup(ws)
    assert ready["type"] == "ready"
    ws.close()


def test_play_before_setup_says_what_to_do(client, connect):
    ws, _ = connect(client)
    for kind in ("play", "step", "reset"):
        ws.send_json({"type": kind})
        error = ws.receive_json()
        assert error["type"] == "error" and "send a setup first" in error["message"]
    ws.close()


def test_divergence_is_reported_with_its_step_and_keeps_the_last_good_weights(client, connect):
    ws, _ = connect(client)
    _, frame0 = setup(ws, dataset="xor", lr=10, activation="relu", hidden=[8, 8], seed=0)
    ws.send_json({"type": "speed", "steps": 50})
    ws.send_json({"type": "play"})
    diverged = receive(ws, "diverged")
    assert diverged["step"] >= 1 and f"Diverged at step {diverged['step']}" in diverged["message"]
    assert receive(ws, "status")["playing"] is False
    ws.send_json({"type": "step"})                      # still diverged: says so again
    again = receive(ws, "diverged")
    assert again["step"] == diverged["step"]
    ws.send_json({"type": "play"})
    assert receive(ws, "diverged")["step"] == diverged["step"]
    ws.send_json({"type": "reset"})                     # a reset starts over
    assert receive(ws, "frame")["epoch"] == 0
    ws.close()


def test_a_diverged_session_holds_the_weights_of_its_last_frame():
    s = Session(check_setup({"dataset": "xor", "lr": 10, "activation": "relu",
                             "hidden": [8, 8], "seed": 0}))
    before = s.model.state_dict()
    while not s.diverged:
        before = s.model.state_dict()
        s.advance(7)
    assert s.diverged["step"] >= 1
    after = s.model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    frame = s.frame()
    assert frame["test_loss"] is not None and np.isfinite(frame["test_loss"])


def test_concurrent_sessions_do_not_interfere(client, connect):
    ws1, sid1 = connect(client)
    ws2, sid2 = connect(client)
    assert sid1 != sid2
    setup(ws1, dataset="moons", hidden=[5], seed=2)
    setup(ws2, dataset="spiral", hidden=[7, 7], optimizer="adam", seed=4)
    ws1.send_json({"type": "play"})
    ws2.send_json({"type": "play"})
    for _ in range(3):
        for ws in (ws1, ws2):
            f = receive(ws, "frame")
            ws.send_json({"type": "ack", "seq": f["seq"]})
    for ws in (ws1, ws2):
        ws.send_json({"type": "pause"})
        receive(ws, "status")
    ws1.send_json({"type": "step"})
    f1 = receive(ws1, "frame")
    ws2.send_json({"type": "step"})
    f2 = receive(ws2, "frame")
    # each one is exactly the run a lone session makes with its own settings
    for f, settings in ((f1, {"dataset": "moons", "hidden": [5], "seed": 2}),
                        (f2, {"dataset": "spiral", "hidden": [7, 7], "optimizer": "adam", "seed": 4})):
        alone = Session(check_setup(settings))
        alone.advance(f["step"], seconds=float("inf"))
        assert alone.frame()["weights"] == f["weights"]
    ws1.close()
    ws2.close()


def wait_until(condition, seconds=5):
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def test_a_closed_session_frees_its_model(app, client, connect):
    ws, sid = connect(client)
    setup(ws, dataset="xor")
    tab = app.state.sessions.get(sid)
    model = weakref.ref(tab.session.model)
    ws.close()
    assert wait_until(lambda: len(app.state.sessions) == 0)
    del tab
    gc.collect()
    assert model() is None
    assert client.get(f"/api/session/{sid}/checkpoint").status_code == 404


def test_sessions_are_bounded():
    app = create_app(max_sessions=1)
    with TestClient(app, base_url=BASE) as client:
        with client.websocket_connect(WS) as first:
            assert first.receive_json()["type"] == "hello"
            with client.websocket_connect(WS) as second:
                refused = second.receive_json()
                assert refused["type"] == "error" and refused["fatal"]
                assert "serving 1 tabs already" in refused["message"]


def ws_url(url):
    return url.replace("http", "ws") + "ws"


def open_tab(stack, url, timeout=5):
    """A tab's socket (closed with ``stack``) and the server's hello."""
    from websockets.sync.client import connect as ws_connect
    ws = stack.enter_context(ws_connect(ws_url(url), open_timeout=timeout, max_size=None))
    return ws, json.loads(ws.recv(timeout=timeout))


def test_a_frame_that_cannot_go_out_still_frees_the_slot():
    """The tab closes while its network trains: the frame being sent fails, then the socket
    reports the disconnect. The slot must come back (it once did not: the failed send
    escaped the clean-up and, after a class reloaded its tabs, the server refused them)."""
    import asyncio

    app = create_app()
    inbox = asyncio.Queue()

    async def scenario():
        for message in ({"type": "websocket.connect"},
                        {"type": "websocket.receive", "text": '{"type": "setup", "setup": {}}'},
                        {"type": "websocket.receive", "text": '{"type": "play"}'}):
            await inbox.put(message)

        async def send(message):
            if message["type"] == "websocket.send" and '"seq"' in message.get("text", ""):
                await inbox.put({"type": "websocket.disconnect", "code": 1001})
                raise OSError("the tab is gone")       # uvicorn's ClientDisconnected is an OSError

        scope = {"type": "websocket", "path": "/ws", "raw_path": b"/ws", "query_string": b"",
                 "headers": [(b"host", b"127.0.0.1")], "scheme": "ws", "root_path": "",
                 "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 5000), "subprotocols": []}
        await asyncio.wait_for(app(scope, inbox.get, send), 10)

    asyncio.run(scenario())
    assert len(app.state.sessions) == 0


@pytest.mark.slow
def test_a_tab_closed_while_training_frees_its_slot():
    """Closing or reloading a tab in the middle of training (the play loop sending) gives its
    slot back, every time: the server once refused new tabs after a class reloaded its pages."""
    background = Background(max_sessions=3)
    with background as url:
        for i in range(12):
            with contextlib.ExitStack() as stack:
                ws, hello = open_tab(stack, url)
                assert hello["type"] == "hello"
                ws.send(json.dumps({"type": "setup", "setup": {"dataset": "spiral", "hidden": [8, 8]}}))
                ws.send(json.dumps({"type": "speed", "steps": 500}))
                ws.send(json.dumps({"type": "play"}))
                while "seq" not in (msg := json.loads(ws.recv(timeout=5))):
                    pass                                  # until a frame of the play loop
                if i % 2:
                    ws.send(json.dumps({"type": "ack", "seq": msg["seq"]}))
                    ws.recv(timeout=5)                    # the next frame is on its way
            # closed mid-training, a frame in flight
        assert wait_until(lambda: len(background.app.state.sessions) == 0)
        with contextlib.ExitStack() as stack:
            tabs = [open_tab(stack, url) for _ in range(3)]      # all three slots accept a tab
            assert [hello["type"] for _, hello in tabs] == ["hello"] * 3


@pytest.mark.slow
def test_a_race_stops_computing_when_its_tab_goes():
    background = Background()
    with background as url, contextlib.ExitStack() as stack:
        ws, _ = open_tab(stack, url)
        ws.send(json.dumps({"type": "setup", "view": "race",
                            "setup": {"points": 2000, "hidden": [8] * 6, "batch_size": 1}}))
        ws.send(json.dumps({"type": "speed", "view": "race", "steps": 500}))
        ws.send(json.dumps({"type": "play", "view": "race"}))
        while "seq" not in json.loads(ws.recv(timeout=10)):
            pass
        tab = next(iter(background.app.state.sessions.tabs.values()))
        race = tab.runs["race"].session
        ws.socket.shutdown(2)                               # gone, without a word
        assert wait_until(lambda: len(background.app.state.sessions) == 0)
        time.sleep(0.3)                                     # a frame in its thread may finish
        steps = race.trainers[0].steps
        time.sleep(1.0)
        assert race.trainers[0].steps == steps              # and nothing computes any more


@pytest.mark.slow
def test_a_default_race_does_not_wait_behind_two_heavy_ones():
    with Background() as url, contextlib.ExitStack() as stack:
        for _ in range(2):                                  # two tabs racing big networks, flat out
            ws, _ = open_tab(stack, url)
            ws.send(json.dumps({"type": "setup", "view": "race",
                                "setup": {"points": 2000, "hidden": [8] * 6, "batch_size": 1,
                                          "optimizers": "sgd,momentum,adam,adamw"}}))
            ws.send(json.dumps({"type": "speed", "view": "race", "steps": 500}))
            ws.send(json.dumps({"type": "play", "view": "race"}))
        ws, _ = open_tab(stack, url)
        start = time.monotonic()
        ws.send(json.dumps({"type": "setup", "view": "race", "setup": {}}))
        while json.loads(ws.recv(timeout=10))["type"] != "frame":
            pass
        ws.send(json.dumps({"type": "step", "view": "race"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "frame"
        assert time.monotonic() - start < 5                 # answered at once, not queued


@pytest.mark.slow
def test_a_slow_page_gets_no_pile_of_frames():
    """Over a real socket: while a frame is not acked, no other comes (until the timeout)."""
    from handgrad.playground import server
    with Background() as url, contextlib.ExitStack() as stack:
        ws, hello = open_tab(stack, url)
        assert hello["type"] == "hello"
        ws.send(json.dumps({"type": "setup", "setup": {"dataset": "xor"}}))
        assert json.loads(ws.recv(timeout=5))["type"] == "status"
        assert json.loads(ws.recv(timeout=5))["type"] == "ready"
        assert json.loads(ws.recv(timeout=5))["type"] == "frame"
        ws.send(json.dumps({"type": "play"}))
        assert json.loads(ws.recv(timeout=5))["type"] == "status"
        first = json.loads(ws.recv(timeout=5))
        assert first["type"] == "frame"
        with pytest.raises(TimeoutError):
            ws.recv(timeout=server.ACK_TIMEOUT * 0.6)    # not drawn yet: nothing more
        ws.send(json.dumps({"type": "ack", "seq": first["seq"]}))
        second = json.loads(ws.recv(timeout=2))
        assert second["type"] == "frame" and second["seq"] == first["seq"] + 1
        ws.send(json.dumps({"type": "ack", "seq": second["seq"]}))
        ws.send(json.dumps({"type": "pause"}))
        while (msg := json.loads(ws.recv(timeout=5)))["type"] != "status":
            assert msg["type"] == "frame"                        # one in flight, at most
        assert msg["playing"] is False
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.5)                                 # paused: nothing more


# --- every dataset, regression and the user's CSV -------------------------------------------------

@pytest.mark.parametrize("name", toy_names(classification=True))
def test_every_dataset_trains(name):
    s = Session(check_setup({"dataset": name, "classes": 4, "hidden": [8], "optimizer": "adam",
                             "lr": 0.03, "points": 200}))
    start = s.frame()
    epochs(s, 15)
    end = s.frame()
    K = s.points.n_classes
    assert K == {"blobs": 4, "spiral": 4, "quadrants": 4}.get(name, 2)
    assert end["output"]["classes"] == K
    assert end["train_loss"] < start["train_loss"]
    assert np.abs(s.points.P).max() <= 0.9 + 1e-6


def test_batch_norm_never_meets_a_batch_of_one():
    s = Session(check_setup({"dataset": "moons", "points": 402, "train": 0.5, "batch_size": 10,
                             "norm": "batch", "hidden": [4]}))
    assert len(s.X_train) % 10 != 1 and len(s.X_train) + len(s.X_test) == 402
    epochs(s, 1)
    assert not s.diverged and s.frame()["epoch"] == 1


def test_regression_fits_a_sine(client, connect):
    ws, _ = connect(client)
    ready, f0 = setup(ws, dataset="sine", features=["x"], hidden=[8, 8], activation="tanh",
                      optimizer="adam", lr=0.03, noise=0)
    assert ready["task"] == "regression" and ready["layer_sizes"] == [1, 8, 8, 1]
    assert f0["output"]["kind"] == "curve" and f0["train_accuracy"] is None
    ws.send_json({"type": "speed", "steps": 100})
    ws.send_json({"type": "play"})
    for _ in range(40):
        f = receive(ws, "frame")
        ws.send_json({"type": "ack", "seq": f["seq"]})
        if f["epoch"] >= 40:
            break
    ws.send_json({"type": "pause"})
    assert f["test_loss"] < 0.2 * f0["test_loss"]
    assert ready["feature_pictures"]["shape"][0] == 1          # 1-D pictures: curves
    ws.close()


CSV_GOOD = "x,y,label\n" + "\n".join(
    f"{x:.3f},{y:.3f},{'inside' if x * x + y * y < 1 else 'outside'}"
    for x, y in np.random.default_rng(0).uniform(-2, 2, (120, 2)))


def test_a_csv_file_is_uploaded_and_trained_on(client, connect):
    ws, sid = connect(client)
    r = client.post(f"/api/session/{sid}/csv", files={"file": ("ring.csv", CSV_GOOD, "text/csv")})
    assert r.status_code == 200, r.text
    assert r.json() == {"type": "csv", "rows": 120, "task": "classification", "classes": 2,
                        "class_names": ["inside", "outside"]}
    ready, frame = setup(ws, dataset="csv")
    assert ready["classes"] == 2 and len(ready["train"]) + len(ready["test"]) == 120
    assert ready["class_names"] == ["inside", "outside"]
    for _ in range(20):
        ws.send_json({"type": "step"})
        f = receive(ws, "frame")
    assert f["train_loss"] < frame["train_loss"]
    snippet = client.get(f"/api/session/{sid}/snippet").text
    assert "# classes: 0 = 'inside', 1 = 'outside'" in snippet and "usecols=(0, 1)" in snippet
    ws.close()


@pytest.mark.parametrize("text, words", [
    ("", "empty"),
    ("x,y,label\n", "header but no rows"),
    ("1,2,3,4\n" * 20, "expected 3 columns"),
    ("1,2,0\n" * 5, "needs 10 to 2000 rows"),
    ("1,2,0\n" * 12 + "1,oops,1\n", "line 13: 'oops' is not a number"),
    ("1,2,0\n" * 12 + "1,2\n", "line 13: expected 3 values"),
    ("1,2,0\n" * 12, "2 to 6 classes; got 1"),
    ("".join(f"{i},{i},{i}\n" for i in range(12)), "got 12"),
    ("1,inf,0\n1,2,1\n" * 6, "not a finite number"),
    ("1,1e308,0\n1,2,1\n" * 6, "line 1: '1e308' is too large"),
    ("".join(f"{i % 7},{i % 5},{i % 2}\n" for i in range(30)) + "1e9,1,0\n",
     "line 31: x = 1e+09 lies so far"),
    ("".join(f"{i},{i % 3}\n" for i in range(30)) + "5,4e7\n", "line 31: target = 4e+07 lies so far"),
])
def test_a_bad_csv_gets_a_clear_message(client, text, words, connect):
    ws, sid = connect(client)
    r = client.post(f"/api/session/{sid}/csv", files={"file": ("bad.csv", text, "text/csv")})
    assert r.status_code == 400
    assert r.json()["field"] == "csv" and words in r.json()["message"], r.json()["message"]
    ready, _ = setup(ws)                                 # the session survives
    assert ready["type"] == "ready"
    ws.close()


def test_csv_upload_edge_cases(client, connect):
    ws, sid = connect(client)
    big = "1,2,0\n" * 200_000
    r = client.post(f"/api/session/{sid}/csv", files={"file": ("big.csv", big, "text/csv")})
    assert r.status_code == 413 and "larger than" in r.json()["message"]
    r = client.post(f"/api/session/{sid}/csv", files={"file": ("bin.csv", b"\xff\xfe\x00", "text/csv")})
    assert r.status_code == 400 and "UTF-8" in r.json()["message"]
    r = client.post(f"/api/session/{sid}/csv", data={"other": "1"})
    assert r.status_code == 400 and "field named 'file'" in r.json()["message"]
    r = client.post("/api/session/nope/csv", files={"file": ("a.csv", CSV_GOOD, "text/csv")})
    assert r.status_code == 404
    error, _ = setup(ws, dataset="csv")                  # no file yet for this tab
    assert error["field"] == "dataset" and "choose a CSV file" in error["message"]
    ws.close()


def test_a_two_column_csv_is_a_regression():
    text = "\n".join(f"{x},{x ** 2}" for x in np.linspace(-3, 3, 50))
    P, t, names = parse_csv(text)
    assert P.shape == (50, 1) and t.dtype.kind == "f" and names is None
    s = Session(check_setup({"dataset": "csv", "features": ["x", "x2"]}), table=(P, t, names))
    assert s.points.task == "regression" and s.frame()["output"]["kind"] == "curve"


# --- export: checkpoint and snippet ------------------------------------------------------------

@pytest.mark.slow
def test_checkpoint_download_reloads_the_same_network(client, tmp_path, connect):
    ws, sid = connect(client)
    setup(ws, dataset="spiral", classes=3, hidden=[8, 8], features=["x", "y", "sinx"],
          optimizer="adam", lr=0.03)
    for _ in range(5):
        ws.send_json({"type": "step"})
        f = receive(ws, "frame")
    r = client.get(f"/api/session/{sid}/checkpoint")
    assert r.status_code == 200 and "handgrad-playground.safetensors" in r.headers["content-disposition"]
    path = tmp_path / "handgrad-playground.safetensors"
    path.write_bytes(r.content)
    model = load_model(path)
    assert model.layer_sizes == [3, 8, 8, 3]
    assert [w["W"] for w in f["weights"]] == [np.round(l.W.astype(np.float64), 4).tolist()
                                              for l in model.layers]
    snippet = client.get(f"/api/session/{sid}/snippet").text
    out = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    accuracy = float(out.stdout.strip().splitlines()[-1].split()[-1])
    tab = client.app.state.sessions.get(sid)
    s = tab.session
    P = np.vstack([s.U_train, s.U_test])
    y = np.concatenate([s.t_train, s.t_test])
    assert accuracy == pytest.approx(s.model.score(features(P, s.setup["features"]), y))
    ws.close()


@pytest.mark.slow
def test_the_snippet_of_a_regression_undoes_the_scaling(tmp_path):
    s = Session(check_setup({"dataset": "sine", "features": ["x", "sinx"], "hidden": [6]}))
    epochs(s, 3)
    (tmp_path / "handgrad-playground.safetensors").write_bytes(s.checkpoint_bytes())
    code = s.snippet() + textwrap.dedent("""
        import json
        print(json.dumps([float(v) for v in y[:5]]))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    y = json.loads(out.stdout.strip().splitlines()[-1])
    p = s.points
    expected = s.model.predict(features(p.P[:5], s.setup["features"])) * p.t_scale + p.t_center
    assert np.allclose(y, expected, atol=1e-5)


def test_checkpoint_and_snippet_need_a_network(client, connect):
    ws, sid = connect(client)
    assert client.get(f"/api/session/{sid}/checkpoint").status_code == 404
    assert client.get(f"/api/session/{sid}/snippet").status_code == 404
    assert client.get("/api/session/unknown/snippet").status_code == 404
    ws.close()


# --- the optimizer race ------------------------------------------------------------------------

def race_setup(ws, **settings):
    ws.send_json({"type": "setup", "view": "race", "setup": settings})
    first = receive(ws, "ready") if "error" not in settings else None
    return first, receive(ws, "frame")


def test_the_race_starts_every_optimizer_from_the_same_weights(client, connect):
    ws, _ = connect(client)
    ready, f0 = race_setup(ws, dataset="moons", epochs=20, hidden="6,6", lr_adam="0.02")
    assert ready["view"] == "race" and [r["name"] for r in ready["racers"]] == ["sgd", "momentum", "adam"]
    assert ready["racers"][2]["lr"] == 0.02 and ready["racers"][1]["label"] == "Momentum"
    assert len({r["picture"] for r in f0["racers"]}) == 1          # one start for all three
    assert len({r["train_loss"] for r in f0["racers"]}) == 1
    ws.send_json({"type": "speed", "view": "race", "steps": 500})
    ws.send_json({"type": "play", "view": "race"})
    while True:
        f = receive(ws, "frame")
        ws.send_json({"type": "ack", "seq": f["seq"]})
        if f["finished"]:
            break
    assert receive(ws, "status")["playing"] is False              # it stops at its last epoch
    assert f["epoch"] == 20 and all(r["epoch"] == 20 for r in f["racers"])
    for start, end in zip(f0["racers"], f["racers"]):
        assert end["train_loss"] < 0.6 * start["train_loss"]
    assert f["racers"][0]["picture"] != f["racers"][2]["picture"]
    ws.close()


def test_a_race_steps_one_mini_batch_and_races_any_registered_optimizer(client, connect):
    ws, _ = connect(client)
    ready, _ = race_setup(ws, optimizers="nesterov,adamw", lr_adamw=0.005)
    assert [r["name"] for r in ready["racers"]] == ["nesterov", "adamw"]
    ws.send_json({"type": "step", "view": "race"})
    f = receive(ws, "frame")
    assert [r["step"] for r in f["racers"]] == [1, 1]
    ws.close()


def test_a_diverging_racer_keeps_its_last_good_picture_and_the_race_goes_on():
    race = RaceSession(check_race({"dataset": "xor", "epochs": 20, "lr_sgd": 10, "hidden": [8, 8]}))
    last = race.frame()
    while not race.finished:
        race.advance(50)
        f = race.frame()
        sgd = f["racers"][0]
        if sgd["diverged"]:
            break
        last = f
    assert sgd["diverged"] and "Diverged at step" in sgd["diverged"]["message"]
    assert sgd["picture"] == last["racers"][0]["picture"]
    race.advance(50)
    after = race.frame()
    assert after["racers"][2]["step"] > f["racers"][2]["step"] and after["racers"][2]["diverged"] is None
    assert after["racers"][0]["step"] == f["racers"][0]["step"]


@pytest.mark.parametrize("body, field", [
    ({"epochs": 0}, "epochs"),
    ({"epochs": 10_000}, "epochs"),
    ({"lr_adam": -1}, "lr_adam"),
    ({"dataset": "sine"}, "dataset"),
    ({"dataset": "csv"}, "dataset"),
    ({"hidden": [100]}, "hidden"),
    ({"optimizers": "sgd,lbfgs"}, "optimizers"),
    ({"optimizers": ""}, "optimizers"),
    ({"optimizers": "sgd,momentum,nesterov,adam,adamw"}, "optimizers"),
    ({"speed": 1}, "speed"),
])
def test_bad_race_settings_say_which_field(body, field):
    with pytest.raises(SettingError) as e:
        check_race(body)
    assert e.value.field == field


def test_a_bad_race_setting_is_an_error_in_the_race_view(client, connect):
    ws, _ = connect(client)
    ws.send_json({"type": "setup", "view": "race", "setup": {"lr_adam": 0}})
    error = receive(ws, "error")
    assert error["view"] == "race" and error["field"] == "lr_adam"
    ws.close()


# --- backprop, step by step -------------------------------------------------------------------

def handgrad_lesson(preset, seed=0):
    """The lesson's network on a preset, forward and backward through MLP.backward."""
    from handgrad.playground.backprop import lesson_model
    x1, x2, label = config.BACKPROP_PRESETS[preset]
    model = lesson_model(seed)
    model.forward(np.array([[x1, x2]]))
    loss = model.backward(np.array([label]))
    return model, loss


def test_backprop_numbers_are_handgrads(client):
    d = client.get("/api/backprop?preset=b").json()
    model, loss = handgrad_lesson("b")
    A = {k: np.array(v) for k, v in d["arrays"].items()}
    assert [s["key"] for s in d["stages"]] == ["x", "z1", "a1", "z2", "p", "loss", "delta2", "dW2",
                                               "da1", "delta1", "dW1"]
    hidden, out = model.layers
    assert model.dtype == np.float64
    assert np.array_equal(A["z1"], hidden.z) and np.array_equal(A["p"], out.a)
    assert A["loss"] == loss
    assert np.array_equal(A["delta2"], model.delta_out)
    assert np.array_equal(A["dW2"], out.dW) and np.array_equal(A["dW1"], hidden.dW)
    assert np.array_equal(A["db1"], hidden.db) and np.array_equal(A["delta1"][0], hidden.db)
    assert A["W1"].shape == (4, 2) and A["dW2"].shape == (3, 4)
    assert np.all(A["b1"] != 0) and np.all(np.abs(A["b2"]) <= 0.3)   # biases that show


def test_backprop_takes_a_custom_example(client):
    d = client.get("/api/backprop?x1=1.5&x2=-2&label=2&seed=3").json()
    assert d["x"] == [1.5, -2.0] and d["label"] == 2 and d["seed"] == 3 and d["preset"] is None


@pytest.mark.parametrize("query, field", [
    ("preset=z", "preset"), ("x1=abc", "x1"), ("label=3", "label"), ("x2=1e9", "x2"),
    ("seed=-2", "seed"), ("batch=4", "batch"),
])
def test_backprop_rejects_bad_examples(client, query, field):
    r = client.get("/api/backprop?" + query)
    assert r.status_code == 400 and r.json()["field"] == field


def test_backprop_static_weights_are_the_models():
    from handgrad.playground.backprop import lesson_model, static_data
    data = static_data()
    hidden, out = lesson_model(3).layers
    assert data["weights"]["3"]["W1"] == hidden.W.tolist() and data["weights"]["3"]["b2"] == out.b.tolist()


# --- the graph ----------------------------------------------------------------------------------

def test_graph_steps_are_the_engines(client):
    engine = pytest.importorskip("handgrad.engine")
    g = client.get("/api/graph").json()
    by = {n["label"]: n for n in g["nodes"]}
    assert {k: by[k]["data"] for k in "abcdeL"} == {"a": 2, "b": -3, "c": 10, "d": -6, "e": 4, "L": 4}
    assert {k: by[k]["grad"] for k in "abcdeL"} == {"a": -3, "b": 2, "c": 1, "d": 1, "e": 1, "L": 1}
    assert by["d"]["rule"] == engine.RULES["*"] and by["a"]["rule"] == ""
    assert len(g["nodes"]) == len(g["backward"]) == 6
    order = [n["label"] for n in g["nodes"]]
    root = engine.example_graph()
    assert order == [v.label for v in engine.topological_order(root)]
    assert g["backward"][0]["node"] == g["root"]
    assert g["backward"][-1]["grads"] == [by[k]["grad"] for k in order]   # steps end where backward does


def test_the_graph_takes_the_pages_a_b_c_and_the_relu_stops_the_gradient(client):
    g = client.get("/api/graph?a=2&b=-3&c=1").json()
    by = {n["label"]: n for n in g["nodes"]}
    assert by["e"]["data"] == -5 and by["L"]["data"] == 0
    assert {k: by[k]["grad"] for k in "abcde"} == {"a": 0, "b": 0, "c": 0, "d": 0, "e": 0}
    for query, field in (("a=x", "a"), ("b=1e9", "b"), ("c=nan", "c"), ("d=1", "d")):
        r = client.get("/api/graph?" + query)
        assert r.status_code == 400 and r.json()["field"] == field


def test_a_view_whose_optional_package_is_missing_answers_a_clear_503(client, monkeypatch):
    from handgrad.playground import graph

    def missing(**leaves):
        raise ImportError("this view needs a package that is not installed")
    monkeypatch.setattr(graph, "example_graph", missing)
    r = client.get("/api/graph")
    assert r.status_code == 503 and "not installed" in r.json()["message"]


# --- safety ----------------------------------------------------------------------------------------

def test_other_sites_cannot_drive_the_server(client, connect):
    _, sid = connect(client)
    r = client.post(f"/api/session/{sid}/csv", files={"file": ("a.csv", CSV_GOOD, "text/csv")},
                    headers={"origin": "http://evil.example"})
    assert r.status_code == 403
    r = client.get("/", headers={"host": "evil.example"})
    assert r.status_code == 400
    from starlette.websockets import WebSocketDisconnect
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect(WS, headers={"origin": "http://evil.example"}) as ws:
            ws.receive_json()
    assert refused.value.code == 1008
    ok = client.post(f"/api/session/{sid}/csv", files={"file": ("a.csv", CSV_GOOD, "text/csv")},
                     headers={"origin": BASE})
    assert ok.status_code == 200


def test_a_server_on_another_address_accepts_its_names():
    app = create_app(host="0.0.0.0")
    with TestClient(app, base_url="http://my-laptop.local") as c:
        assert c.get("/api/options").status_code == 200


@pytest.mark.slow
def test_serve_prints_its_address_on_a_free_port_and_answers():
    import urllib.request
    code = "from handgrad.playground import serve; serve(open_browser=False)"
    proc = subprocess.Popen([sys.executable, "-u", "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = line.split()[2]
        assert line.startswith("handgrad playground: http://127.0.0.1:") and url.endswith("/")
        for _ in range(50):
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    assert r.status == 200 and b"handgrad playground" in r.read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError(f"nothing answers at {url}")
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.slow
def test_import_handgrad_does_not_import_the_server():
    code = ("import sys, handgrad, handgrad.playground; "
            "print(sorted(m for m in ('starlette', 'uvicorn', 'websockets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr


@pytest.mark.slow
def test_a_missing_server_names_the_extra():
    code = textwrap.dedent("""
        import sys
        sys.modules["starlette"] = None
        try:
            import handgrad.playground.server
        except ImportError as e:
            print(e)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "pip install 'handgrad[playground]'" in out.stdout


# --- the static copy ----------------------------------------------------------------------------

@pytest.mark.slow
def test_export_writes_a_page_that_needs_no_server(tmp_path):
    from handgrad.playground import export_static
    out = export_static(tmp_path / "site")
    assert (out / "index.html").is_file() and (out / "static" / "js" / "twin.js").is_file()
    assert not (out / "static" / "index.html").exists() and not (out / "static" / "views").exists()
    page = (out / "index.html").read_text()
    assert "handgrad's JavaScript twin, in this browser" in page and "<!-- views -->" not in page
    text = (out / "static-data.js").read_text()
    assert text.startswith("window.HANDGRAD_STATIC = ")
    data = json.loads(text[len("window.HANDGRAD_STATIC = "):].rstrip().rstrip(";"))
    assert data["options"]["engine"] == "twin" and set(data["views"]) == {"backprop", "graph"}
    assert set(data["views"]["backprop"]["weights"]) == {str(s) for s in range(10)}
    assert data["views"]["graph"]["type"] in ("graph", "error")
    for path in out.rglob("*"):                            # nothing fetched from anywhere
        if path.suffix in (".html", ".js", ".css"):
            assert "https://" not in path.read_text() and "//cdn" not in path.read_text()
    with pytest.raises(ValueError, match="is a file"):
        (tmp_path / "file").write_text("x")
        export_static(tmp_path / "file")


def test_make_points_scales_into_the_square():
    p = make_points({**config.DEFAULTS, "dataset": "moons"})
    assert np.abs(p.P).max() == pytest.approx(0.9, abs=1e-5)
    p = make_points({**config.DEFAULTS, "dataset": "separable"})     # registered, no line of ours
    assert np.abs(p.P).max() == pytest.approx(0.9, abs=1e-5)
    assert p.P.dtype == np.float32 and p.task == "classification"
