"""The playground's socket and HTTP API against generated input (Hypothesis), over a real
uvicorn server: JSON messages of every shape (known and unknown types and settings, wrong
types, NaN, huge numbers, deep nesting), binary frames, oversized messages, and connections
dropped abruptly — after the handshake, mid-training, mid-frame, with a reset instead of a
close. Every answer must be a message a page can show (never a traceback, never an internal
error close), and afterwards the server must be alive with every one of its 8 slots free.
"""

import contextlib
import json
import os
import socket
import struct
import time
from collections import Counter

import pytest

pytest.importorskip("starlette", reason="the playground needs: pip install 'handgrad[playground]'")
pytest.importorskip("uvicorn", reason="the playground needs: pip install 'handgrad[playground]'")
pytest.importorskip("websockets", reason="the playground needs: pip install 'handgrad[playground]'")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from handgrad.playground import server
from handgrad.playground.config import DEFAULTS, race_defaults
from handgrad.playground.server import Background

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("HANDGRAD_FUZZ_EXAMPLES", "150"))
KINDS = {"hello", "ready", "frame", "status", "diverged", "error"}
RUN = Counter()                      # what the generated cases did, for the closing count

# --- what a page (or anything else) might send -----------------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner,
                                                                       max_size=4)), max_leaves=10)
setting_keys = sorted({*DEFAULTS, *race_defaults(), "batch", "l2"})
good_values = {"dataset": st.sampled_from(["xor", "moons", "spiral", "sine", "csv", "MNIST"]),
               "hidden": st.one_of(st.just("4,2"), st.lists(st.integers(-1, 9), max_size=7)),
               "lr": st.one_of(st.floats(-1, 20), st.just("0.03")),
               "points": st.integers(0, 3000), "batch_size": st.integers(-1, 3000)}
setups = st.dictionaries(st.sampled_from(setting_keys + ["colour"]),
                         st.one_of(values, *good_values.values()), max_size=6)
messages = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(server.MESSAGES), st.text(max_size=8), values)},
    optional={"view": st.one_of(st.sampled_from(["playground", "race", "graph"]), values),
              "setup": st.one_of(setups, values), "steps": st.one_of(st.integers(-5, 600), values),
              "layer": values, "row": values, "col": values, "value": values, "seq": values})


def json_text(message):
    try:
        return json.dumps(message, allow_nan=True)
    except (ValueError, TypeError):
        return "{}"


actions = st.one_of(
    messages.map(lambda m: ("json", json_text(m))),
    st.text(max_size=200).map(lambda t: ("text", t)),                      # not JSON, mostly
    st.binary(max_size=300).map(lambda b: ("binary", b)),
    st.integers(1, 3).map(lambda k: ("deep", "[" * (30_000 * k))),          # nesting past any limit
    st.just(("oversized", "x" * (server.MAX_FRAME_BYTES + 10))),
    st.just(("play", None)),                                                # training, then whatever
)
endings = st.sampled_from(["close", "drop", "reset"])


# --- a raw socket: handshake by hand, then a frame cut off -----------------------------------------

def handshake(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              b"Sec-WebSocket-Version: 13\r\n\r\n" % port)
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = s.recv(4096)
        if not chunk:
            break
        reply += chunk
    return s, reply


def frame_head(opcode, length, fin=True):
    first = (0x80 if fin else 0) | opcode
    if length < 126:
        head = struct.pack("!BB", first, 0x80 | length)
    elif length < 65536:
        head = struct.pack("!BBH", first, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, length)
    return head + b"\x01\x02\x03\x04"                                       # the mask key


def drop(s, reset):
    if reset:                                # RST instead of FIN: the peer vanishes
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


# --- the storm -------------------------------------------------------------------------------------

def check_reply(text):
    msg = json.loads(text)
    assert msg["type"] in KINDS, msg
    if msg["type"] == "error":
        assert isinstance(msg["message"], str) and "Traceback" not in msg["message"], msg
    return msg


def drain(ws, seconds=0.05):
    """Read what comes for a moment; every reply must be one a page can show."""
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        try:
            text = ws.recv(timeout=left)
        except TimeoutError:
            return
        msg = check_reply(text)
        if msg.get("seq") is not None:
            ws.send(json.dumps({"type": "ack", "seq": msg["seq"]}))


def run_tab(url, port, steps, ending):
    """One tab: generated messages, then a close, a dropped connection or a reset."""
    with connect(url, open_timeout=10, max_size=None) as ws:
        assert check_reply(ws.recv(timeout=10))["type"] == "hello"
        for kind, payload in steps:
            RUN[kind] += 1
            try:
                if kind == "play":
                    ws.send(json.dumps({"type": "setup", "setup": {"dataset": "spiral"}}))
                    ws.send(json.dumps({"type": "speed", "steps": 200}))
                    ws.send(json.dumps({"type": "play"}))
                else:
                    ws.send(payload)
                drain(ws)
            except ConnectionClosed as closed:
                # the only close the server may choose: a message over the size limit
                assert kind == "oversized" and closed.rcvd is not None and closed.rcvd.code == 1009
                return
        RUN[ending] += 1
        if ending != "close":
            drop(ws.socket, ending == "reset")


def cut_frame(port, opcode, declared, sent_fraction, reset):
    """A raw socket: handshake, then a frame whose payload stops short, then gone."""
    RUN["cut frame"] += 1
    s, reply = handshake(port)
    assert reply.startswith(b"HTTP/1.1 101"), reply[:80]
    payload = b"x" * int(declared * sent_fraction)
    try:
        s.sendall(frame_head(opcode, declared) + payload)
    except OSError:
        pass
    drop(s, reset)


def test_the_socket_and_http_api_survive_a_storm_and_free_every_slot():
    background = Background(max_sessions=server.MAX_SESSIONS)
    with background as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        ws_url = url.replace("http", "ws") + "ws"

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(st.lists(actions, min_size=1, max_size=4), endings)
        def tabs(steps, ending):
            run_tab(ws_url, port, steps, ending)

        @settings(max_examples=EXAMPLES // 2, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(st.sampled_from([0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xA, 0xF]),
               st.sampled_from([10, 125, 126, 1000, 70_000, 2**20]), st.floats(0, 0.99),
               st.booleans())
        def cut_frames(opcode, declared, fraction, reset):
            cut_frame(port, opcode, declared, fraction, reset)

        import urllib.error
        import urllib.request

        def get(path):
            try:
                with urllib.request.urlopen(url + path, timeout=10) as r:
                    return r.status, r.read()
            except urllib.error.HTTPError as e:
                return e.code, e.read()

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(st.sampled_from(["api/backprop", "api/graph", "api/options", "api/thumbnails",
                                "api/session/nope/snippet", "api/nothing", "static/../x"]),
               st.dictionaries(st.sampled_from(["preset", "x1", "x2", "label", "seed", "a", "b",
                                                "c", "z"]),
                               st.one_of(st.text(max_size=12), st.floats().map(repr)), max_size=4))
        def http(path, query):
            RUN["http"] += 1
            from urllib.parse import urlencode
            status, body = get(path + ("?" + urlencode(query) if query else ""))
            assert status in (200, 400, 404, 503), (path, query, status, body[:200])
            if path.startswith("api/") and status != 404:
                json.loads(body)                          # a JSON answer, error or not

        tabs()
        cut_frames()
        http()
        # afterwards: alive, every slot given back, and all 8 accept a tab at once
        sessions = background.app.state.sessions
        end = time.monotonic() + 10
        while len(sessions) and time.monotonic() < end:
            time.sleep(0.05)
        assert len(sessions) == 0, f"{len(sessions)} slots still held"
        assert get("")[0] == 200
        with contextlib.ExitStack() as stack:
            open_tabs = [stack.enter_context(connect(ws_url, open_timeout=10))
                         for _ in range(server.MAX_SESSIONS)]
            hellos = [json.loads(ws.recv(timeout=10)) for ws in open_tabs]
            assert [h["type"] for h in hellos] == ["hello"] * server.MAX_SESSIONS
            RUN["slots free after the storm"] = len(hellos)
    print("\ngenerated cases:", dict(RUN))
    assert RUN["cut frame"] >= EXAMPLES // 4 and RUN["http"] >= EXAMPLES // 2
