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

from handgrad import MLP
from handgrad.io import load_model
from handgrad.playground import config
from handgrad.playground.backprop import backprop_steps
from handgrad.playground.config import SettingError, check_race, check_setup
from handgrad.playground.data import features, make_points, parse_csv
from handgrad.playground.race import run_race
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


def test_options_list_the_choices(client):
    o = client.get("/api/options").json()
    assert set(o["datasets"]) >= {"xor", "circles", "moons", "spiral", "blobs", "checkerboard",
                                  "quadrants", "sine", "csv"}
    assert o["optimizers"] == ["sgd", "momentum", "nesterov", "adam", "adamw"]
    assert o["defaults"]["dataset"] == "xor" and o["max_layers"] == 6


def test_thumbnails_show_every_dataset_in_the_square(client):
    thumbs = client.get("/api/thumbnails").json()
    assert set(thumbs) == set(config.DATASETS) - {"csv"}
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
    ({"batch": 0}, "batch", "batch size"),
    ({"batch": 2.5}, "batch", "whole number"),
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
    ({"norm": "batch", "batch": 1}, "batch", "at least 2"),
    ({"hidden": [], "dropout": 0.5}, "hidden", "hidden layer"),
    ({"colour": "red"}, "colour", "unknown setting 'colour'"),
])
def test_bad_settings_say_what_was_expected_and_what_came(settings, field, words):
    with pytest.raises(SettingError) as e:
        check_setup(settings)
    assert e.value.field == field
    assert words in str(e.value)


def test_settings_from_a_url_are_text_and_are_parsed():
    s = check_setup({"lr": "0.3", "hidden": "4,2", "features": "x,y,xy", "batch": "16",
                     "seed": "7", "dataset": "Moons"})
    assert s["lr"] == 0.3 and s["hidden"] == [4, 2] and s["features"] == ["x", "y", "xy"]
    assert s["batch"] == 16 and s["seed"] == 7 and s["dataset"] == "moons"
    assert check_setup({"hidden": ""})["hidden"] == []


# --- the WebSocket session ------------------------------------------------------------------------

def test_a_session_trains_and_its_loss_falls(client, connect):
    ws, _ = connect(client)
    ready, frame0 = setup(ws, dataset="circles", hidden=[6, 6], lr=0.1, activation="tanh",
                          optimizer="adam", batch=16, seed=1)
    assert ready["layer_sizes"] == [2, 6, 6, 2] and ready["task"] == "classification"
    assert frame0["epoch"] == 0 and frame0["output"]["kind"] == "grid"
    ws.send_json({"type": "play"})
    assert receive(ws, "status")["playing"] is True
    last = None
    for _ in range(30):
        last = receive(ws, "frame")
        ws.send_json({"type": "ack", "seq": last["seq"]})
        if last["epoch"] >= 30:
            break
    ws.send_json({"type": "pause"})
    receive(ws, "status")
    assert last["epoch"] >= 30
    assert last["test_loss"] < 0.5 * frame0["test_loss"]
    assert last["test_accuracy"] > 0.9
    # a frame carries each picture once: grid K bytes per cell, one map per hidden neuron
    probs = base64.b64decode(last["output"]["probs"])
    assert len(probs) == 48 * 48 * 2
    assert [len(n["scales"]) for n in last["neurons"]] == [6, 6]
    assert len(base64.b64decode(last["neurons"][0]["data"])) == 6 * 24 * 24
    assert len(json.dumps(last)) < 60_000
    ws.close()


def test_step_and_reset(client, connect):
    ws, _ = connect(client)
    setup(ws, dataset="xor", seed=3)
    ws.send_json({"type": "step"})
    f1 = receive(ws, "frame")
    assert f1["epoch"] == 1 and f1["step"] == 20           # 200 training points, batch 10
    assert [p[0] for p in f1["curve"]] == [1]
    assert receive(ws, "status")["playing"] is False
    ws.send_json({"type": "step"})
    assert receive(ws, "frame")["epoch"] == 2
    ws.send_json({"type": "reset"})
    ready = receive(ws, "ready")
    f0 = receive(ws, "frame")
    assert f0["epoch"] == 0 and ready["setup"]["seed"] == 3
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


def test_a_bad_setting_is_an_error_message_and_the_session_goes_on(client, connect):
    ws, _ = connect(client)
    setup(ws, dataset="xor", hidden=[3])
    error, _ = setup(ws, lr="-1")
    assert error["type"] == "error" and error["field"] == "lr"
    assert "learning rate must be a number above 0 and at most 10; got '-1'" in error["message"]
    ws.send_json({"type": "step"})                      # the old network still trains
    frame = receive(ws, "frame")
    assert frame["epoch"] == 1 and len(frame["weights"][0]["W"]) == 3
    error, _ = setup(ws, hidden=[4, 99])
    assert error["field"] == "hidden"
    ws.close()


@pytest.mark.parametrize("message, words", [
    ("not json", "must be JSON"),
    ("[1, 2]", "unknown message type"),
    ('{"type": "fly"}', "unknown message type 'fly'"),
    ('{"type": "setup", "setup": [1]}', "settings must be a JSON object"),
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


def test_a_diverged_session_holds_the_weights_of_its_last_good_epoch():
    s = Session(check_setup({"dataset": "xor", "lr": 10, "activation": "relu",
                             "hidden": [8, 8], "seed": 0}))
    before = s.model.state_dict()
    while s.train_epoch():
        before = s.model.state_dict()
    assert s.diverged and s.diverged["epoch"] == len(s.history) + 1
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
        for _ in range(f["epoch"]):
            alone.train_epoch()
        assert alone.frame()["weights"] == f["weights"]
    ws1.close()
    ws2.close()


def test_a_closed_session_frees_its_model(app, client, connect):
    ws, sid = connect(client)
    setup(ws, dataset="xor")
    tab = app.state.sessions.get(sid)
    model = weakref.ref(tab.session.model)
    ws.close()
    for _ in range(100):
        if len(app.state.sessions) == 0:
            break
        time.sleep(0.02)
    del tab
    gc.collect()
    assert len(app.state.sessions) == 0
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


@pytest.mark.slow
def test_a_slow_page_gets_no_pile_of_frames():
    """Over a real socket: while a frame is not acked, no other comes (until the timeout)."""
    from websockets.sync.client import connect as ws_connect

    from handgrad.playground import server
    with Background() as url:
        with ws_connect(url.replace("http", "ws") + "ws") as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "hello"
            ws.send(json.dumps({"type": "setup", "setup": {"dataset": "xor"}}))
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

@pytest.mark.parametrize("name", [d for d in config.DATASETS if d not in ("csv", "sine")])
def test_every_dataset_trains(name):
    s = Session(check_setup({"dataset": name, "classes": 4, "hidden": [8], "optimizer": "adam",
                             "lr": 0.03, "points": 200}))
    start = s.frame()
    for _ in range(15):
        s.train_epoch()
    end = s.frame()
    K = s.points.n_classes
    assert K == {"blobs": 4, "spiral": 4, "quadrants": 4}.get(name, 2)
    assert end["output"]["classes"] == K
    assert end["train_loss"] < start["train_loss"]
    assert np.abs(s.points.P).max() <= 0.9 + 1e-6


def test_batch_norm_never_meets_a_batch_of_one():
    s = Session(check_setup({"dataset": "moons", "points": 402, "train": 0.5, "batch": 10,
                             "norm": "batch", "hidden": [4]}))
    assert len(s.X_train) % 10 != 1 and len(s.X_train) + len(s.X_test) == 402
    assert s.train_epoch() and s.frame()["epoch"] == 1


def test_regression_fits_a_sine(client, connect):
    ws, _ = connect(client)
    ready, f0 = setup(ws, dataset="sine", features=["x"], hidden=[8, 8], activation="tanh",
                      optimizer="adam", lr=0.03, noise=0)
    assert ready["task"] == "regression" and ready["layer_sizes"] == [1, 8, 8, 1]
    assert f0["output"]["kind"] == "curve" and f0["train_accuracy"] is None
    for _ in range(40):
        ws.send_json({"type": "step"})
        f = receive(ws, "frame")
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
    assert r.json() == {"type": "csv", "rows": 120, "task": "classification", "classes": 2}
    ready, frame = setup(ws, dataset="csv")
    assert ready["classes"] == 2 and len(ready["train"]) + len(ready["test"]) == 120
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
    for _ in range(3):
        s.train_epoch()
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

def test_the_race_starts_three_optimizers_from_the_same_weights(client):
    r = client.post("/api/race", json={"dataset": "moons", "epochs": 20, "hidden": "6,6",
                                       "lr_adam": "0.02"})
    assert r.status_code == 200, r.text
    race = r.json()
    names = [run["name"] for run in race["runs"]]
    assert names == ["sgd", "momentum", "adam"]
    assert race["runs"][2]["lr"] == 0.02
    first = {run["train_loss"][0] for run in race["runs"]}
    assert len(first) == 1                                # one start for all three
    assert len({run["frames"][0] for run in race["runs"]}) == 1
    for run in race["runs"]:
        assert len(run["frames"]) == len(race["snapshot_epochs"]) == 21
        assert len(run["test_loss"]) == 21
        assert run["train_loss"][-1] < 0.6 * run["train_loss"][0]
    assert race["runs"][0]["frames"][-1] != race["runs"][2]["frames"][-1]


@pytest.mark.slow
def test_a_diverging_racer_keeps_its_last_good_picture():
    race = run_race(check_race({"dataset": "xor", "epochs": 20, "lr_sgd": 10, "hidden": [8, 8]}))
    sgd = race["runs"][0]
    assert sgd["diverged"] and "Diverged at step" in sgd["diverged"]["message"]
    assert len(sgd["frames"]) == len(race["snapshot_epochs"])
    assert sgd["frames"][-1] == sgd["frames"][sgd["diverged"]["epoch"] - 1]
    assert race["runs"][2]["diverged"] is None


@pytest.mark.parametrize("body, field", [
    ({"epochs": 0}, "epochs"),
    ({"epochs": 10_000}, "epochs"),
    ({"lr_adam": -1}, "lr_adam"),
    ({"dataset": "sine"}, "dataset"),
    ({"hidden": [100]}, "hidden"),
    ({"speed": 1}, "speed"),
])
def test_bad_race_settings_are_400_with_the_field(client, body, field):
    r = client.post("/api/race", json=body)
    assert r.status_code == 400 and r.json()["field"] == field


def test_a_race_body_must_be_json(client):
    r = client.post("/api/race", content=b"{oops", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "must be JSON" in r.json()["message"]


# --- backprop, step by step -------------------------------------------------------------------

def test_backprop_numbers_are_handgrads(client):
    d = client.get("/api/backprop?preset=b").json()
    x1, x2, label = config.BACKPROP_PRESETS["b"]
    model = MLP([2, 4, 3], ["relu", "softmax"], seed=0)
    X = np.array([[x1, x2]], dtype=np.float32)
    model.forward(X)
    loss = model.backward(np.array([label]))
    stages = {s["key"]: s for s in d["stages"]}
    assert [s["key"] for s in d["stages"]] == ["x", "z1", "a1", "z2", "p", "loss", "delta2", "dW2",
                                               "da1", "delta1", "dW1"]
    hidden, out = model.layers
    assert np.allclose(stages["z1"]["value"], hidden.z, atol=1e-6)
    assert np.allclose(stages["p"]["value"], out.a, atol=1e-6)
    assert stages["loss"]["value"] == pytest.approx(loss, rel=1e-6)
    assert np.allclose(stages["delta2"]["value"], model.delta_out, atol=1e-6)
    assert np.allclose(stages["dW2"]["value"]["dW"], out.dW, atol=1e-6)
    assert np.allclose(stages["dW1"]["value"]["dW"], hidden.dW, atol=1e-6)
    assert np.allclose(stages["dW1"]["value"]["db"], hidden.db, atol=1e-6)
    assert np.allclose(stages["delta1"]["value"][0], hidden.db, atol=1e-6)    # B = 1: db1 = δ1
    # a hover text: the formula written out with the numbers, ending in handgrad's value
    item = stages["dW1"]["items"]["w1_2_1"]
    assert item["formula"].startswith("dW1[2,1] = δ1[2]·x[1]")
    assert float(item["numbers"].rsplit("=", 1)[1].replace("−", "-")) == pytest.approx(
        hidden.dW[2, 1], abs=5e-5)
    assert d["shapes"]["W1"] == [4, 2] and d["shapes"]["dW2"] == [3, 4]


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


def test_backprop_stages_mirror_mlp_backward_for_every_preset():
    for name in config.BACKPROP_PRESETS:
        d = backprop_steps({"preset": name})
        dW1 = np.array(d["stages"][-1]["value"]["dW"])
        x1, x2, label = config.BACKPROP_PRESETS[name]
        m = MLP([2, 4, 3], ["relu", "softmax"], seed=0)
        m.forward(np.array([[x1, x2]], dtype=np.float32))
        m.backward(np.array([label]))
        assert np.allclose(dW1, m.layers[0].dW, atol=1e-6)


# --- the graph ----------------------------------------------------------------------------------

def test_graph_steps_are_the_engines(client):
    engine = pytest.importorskip("handgrad.engine")
    g = client.get("/api/graph").json()
    by = {n["label"]: n for n in g["nodes"]}
    assert {k: by[k]["data"] for k in "abcdeL"} == {"a": 2, "b": -3, "c": 10, "d": -6, "e": 4, "L": 4}
    assert {k: by[k]["grad"] for k in "abcdeL"} == {"a": -3, "b": 2, "c": 1, "d": 1, "e": 1, "L": 1}
    assert by["d"]["rule"] == engine.RULES["*"] and by["a"]["rule"] == ""
    assert len(g["forward"]) == len(g["backward"]) == 6
    order = [n["label"] for n in g["nodes"]]
    root = engine.example_graph()
    assert order == [v.label for v in engine.topological_order(root)]
    assert g["backward"][0]["node"] == g["root"]
    assert g["backward"][-1]["grads"] == [by[k]["grad"] for k in order]   # steps end where backward does


# --- safety ----------------------------------------------------------------------------------------

def test_other_sites_cannot_drive_the_server(client):
    r = client.post("/api/race", json={}, headers={"origin": "http://evil.example"})
    assert r.status_code == 403
    r = client.get("/", headers={"host": "evil.example"})
    assert r.status_code == 400
    from starlette.websockets import WebSocketDisconnect
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect(WS, headers={"origin": "http://evil.example"}) as ws:
            ws.receive_json()
    assert refused.value.code == 1008
    ok = client.post("/api/race", json={"epochs": 1}, headers={"origin": BASE})
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
    out = export_static(tmp_path / "site", race_datasets=("moons",))
    assert (out / "index.html").is_file() and (out / "static" / "js" / "race.js").is_file()
    assert not (out / "static" / "index.html").exists()
    text = (out / "static-data.js").read_text()
    assert text.startswith("window.HANDGRAD_STATIC = ")
    data = json.loads(text[len("window.HANDGRAD_STATIC = "):].rstrip().rstrip(";"))
    assert set(data["race"]) == {"moons"} and set(data["backprop"]) == set(config.BACKPROP_PRESETS)
    assert data["graph"]["type"] in ("graph", "error")
    with pytest.raises(ValueError, match="is a file"):
        (tmp_path / "file").write_text("x")
        export_static(tmp_path / "file")


def test_make_points_scales_into_the_square():
    p = make_points({**config.DEFAULTS, "dataset": "moons"})
    assert np.abs(p.P).max() == pytest.approx(0.9, abs=1e-5)
    assert p.P.dtype == np.float32 and p.task == "classification"
