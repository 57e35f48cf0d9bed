"""The playground's local web server: Starlette routes, one training session per tab.

    GET  /                          the page (static files in ``static/``)
    GET  /api/options               the choices and limits the page offers
    GET  /api/thumbnails            a small sample of each built-in dataset
    POST /api/race                  the optimizer race for the JSON settings sent
    GET  /api/backprop?preset=a     backprop, step by step (or ?x1=..&x2=..&label=..)
    GET  /api/graph                 the scalar-engine graph, forward and backward
    POST /api/session/{id}/csv      the user's CSV file for that tab (form field "file")
    GET  /api/session/{id}/checkpoint   the tab's trained network, a .safetensors file
    GET  /api/session/{id}/snippet  Python that reloads it
    WS   /ws                        the tab's session (messages below)

A WebSocket is one tab's session. The page sends JSON messages

    {"type": "setup", "setup": {...}}   (re)build data and network; answered by ready + frame
    {"type": "play"} / {"type": "pause"} / {"type": "step"} / {"type": "reset"}
    {"type": "ack", "seq": n}           frame n is drawn: the next one may come

and gets hello, ready, frame, diverged, status and error messages. While playing,
the server trains for about 40 ms, sends a frame, and waits for the page's ack
(at most ``ACK_TIMEOUT`` seconds) before it trains again: a slow page gets fewer
frames, never a queue of them. At most ``max_sessions`` tabs are served at once;
closing a tab ends its session and frees its model. Training runs in a worker
thread so the server keeps answering.

A bad setting never reaches a traceback: the page gets {"type": "error", "field",
"message"} (or HTTP 400 with the same JSON) and the session goes on as before.
"""

import asyncio
import ipaddress
import json
import secrets
import socket
import threading
import webbrowser
from pathlib import Path
from urllib.parse import urlsplit

try:
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.datastructures import Headers
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
    from starlette.routing import Mount, Route, WebSocketRoute
    from starlette.staticfiles import StaticFiles
    from starlette.websockets import WebSocket, WebSocketDisconnect
except ImportError as e:   # the optional extra is missing
    raise ImportError("the playground needs a web server (Starlette, uvicorn): "
                      "pip install 'handgrad[playground]'") from e

from .backprop import backprop_steps
from .config import SettingError, check_race, check_setup, options
from .data import MAX_CSV_BYTES, parse_csv, thumbnails
from .graph import graph_steps
from .race import run_race
from .session import CHECKPOINT_NAME, Session

STATIC = Path(__file__).parent / "static"
MAX_SESSIONS = 8          # tabs served at once
MAX_MESSAGE = 64_000      # characters in one message from the page
ACK_TIMEOUT = 2.0         # seconds to wait for the page to draw a frame
FPS = 20                  # frames per second at most
RACES_AT_ONCE = 2         # optimizer races computed at the same time
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


class Tab:
    """One browser tab: its training session (once set up), its CSV data, its play state."""

    def __init__(self, sid):
        self.id = sid
        self.session = None
        self.table = None
        self.playing = False
        self.lock = asyncio.Lock()         # one training call at a time
        self.send_lock = asyncio.Lock()    # one message on the wire at a time
        self.wake = asyncio.Event()        # set when play starts
        self.acked = asyncio.Event()       # set when the page drew the last frame
        self.seq = 0                       # the number of the last frame sent while playing


class Sessions:
    """The open tabs, at most ``limit`` of them."""

    def __init__(self, limit=MAX_SESSIONS):
        self.limit = limit
        self.tabs = {}

    def open(self):
        if len(self.tabs) >= self.limit:
            return None
        tab = Tab(secrets.token_urlsafe(12))
        self.tabs[tab.id] = tab
        return tab

    def close(self, tab):
        tab.session = tab.table = None       # drop the model and data now
        self.tabs.pop(tab.id, None)

    def get(self, sid):
        return self.tabs.get(sid)

    def __len__(self):
        return len(self.tabs)


def error_json(e, status=400):
    return JSONResponse({"type": "error", "field": getattr(e, "field", None), "message": str(e)},
                        status_code=status)


# --- HTTP -------------------------------------------------------------------------------------

async def index(request):
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


async def static_data(request):
    """The page asks for static-data.js; a static export holds its runs there, a server none."""
    return Response("window.HANDGRAD_STATIC = null;\n", media_type="text/javascript")


async def api_options(request):
    return JSONResponse(options())


async def api_thumbnails(request):
    return JSONResponse(await run_in_threadpool(thumbnails))


async def api_race(request):
    try:
        settings = json.loads(await request.body() or b"{}")
        settings = check_race(settings)
    except json.JSONDecodeError as e:
        return error_json(ValueError(f"the race settings must be JSON: {e}"))
    except SettingError as e:
        return error_json(e)
    async with request.app.state.races:
        result = await run_in_threadpool(run_race, settings)
    return JSONResponse(result)


async def api_backprop(request):
    try:
        result = await run_in_threadpool(backprop_steps, dict(request.query_params))
    except SettingError as e:
        return error_json(e)
    return JSONResponse(result)


async def api_graph(request):
    return JSONResponse(await run_in_threadpool(graph_steps))


def _tab_or_404(request):
    tab = request.app.state.sessions.get(request.path_params["sid"])
    if tab is None:
        raise LookupError("no such session: it ended when its tab closed; reload the page")
    return tab


async def api_csv(request):
    try:
        tab = _tab_or_404(request)
    except LookupError as e:
        return error_json(e, status=404)
    if int(request.headers.get("content-length") or 0) > MAX_CSV_BYTES + 10_000:
        return error_json(SettingError("csv", f"the CSV file is larger than "
                                              f"{MAX_CSV_BYTES // 1000} kB"), status=413)
    try:
        async with request.form(max_files=1, max_fields=4) as form:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise SettingError("csv", "send the CSV file in a form field named 'file'")
            raw = await upload.read(MAX_CSV_BYTES + 1)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise SettingError("csv", "the CSV file must be UTF-8 text") from None
        table = await run_in_threadpool(parse_csv, text)
    except SettingError as e:
        return error_json(e)
    tab.table = table
    P, t, _ = table
    task = "regression" if P.shape[1] == 1 else "classification"
    return JSONResponse({"type": "csv", "rows": len(P), "task": task,
                         "classes": int(t.max()) + 1 if task == "classification" else 0})


def _trained_tab(request):
    """The request's tab, which must hold a network (LookupError otherwise)."""
    tab = _tab_or_404(request)
    if tab.session is None:
        raise LookupError("this tab has no network yet: set one up first")
    return tab


async def api_checkpoint(request):
    try:
        tab = _trained_tab(request)
    except LookupError as e:
        return error_json(e, status=404)
    async with tab.lock:
        data = await run_in_threadpool(tab.session.checkpoint_bytes)
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{CHECKPOINT_NAME}"'})


async def api_snippet(request):
    try:
        tab = _trained_tab(request)
    except LookupError as e:
        return error_json(e, status=404)
    return PlainTextResponse(tab.session.snippet())


# --- WebSocket --------------------------------------------------------------------------------

async def send(ws, tab, message):
    async with tab.send_lock:
        await ws.send_text(json.dumps(message, allow_nan=False))


async def play_loop(ws, tab):
    """While playing: train a little, send a frame, wait for the page to draw it."""
    loop = asyncio.get_running_loop()
    while True:
        await tab.wake.wait()
        if not tab.playing or tab.session is None:
            tab.wake.clear()
            continue
        started = loop.time()
        async with tab.lock:                 # a pause waits for this frame: none comes after it
            session = tab.session
            if not tab.playing or session is None:
                continue
            try:
                message = await run_in_threadpool(_advance, session)
            except Exception as e:           # stop playing, say why; the session goes on
                message = {"type": "error", "field": None,
                           "message": f"training stopped ({type(e).__name__}: {e})"}
            stopped = message["type"] in ("diverged", "error")
            if stopped:
                tab.playing = False
                tab.wake.clear()
            tab.seq += 1
            message["seq"] = tab.seq         # the page acks this number once it has drawn it
            tab.acked.clear()
            await send(ws, tab, message)
            if stopped:
                await send(ws, tab, {"type": "status", "playing": False})
        if not tab.playing:
            continue
        try:
            await asyncio.wait_for(tab.acked.wait(), ACK_TIMEOUT)
        except asyncio.TimeoutError:
            pass
        await asyncio.sleep(max(0.0, 1 / FPS - (loop.time() - started)))


def _advance(session):
    session.advance()
    return session.diverged or session.frame()


def _step(session):
    session.train_epoch()
    return session.diverged or session.frame()


def _setup(tab, settings):
    setup = check_setup(settings)
    if tab.session is None:
        tab.session = Session(setup, tab.table)
    else:
        tab.session.configure(setup, tab.table)
    return [tab.session.ready(), tab.session.frame()]


def _reset(session):
    session.reset()
    return [session.ready(), session.frame()]


async def handle(ws, tab, text):
    """One message from the page; returns the replies to send."""
    if len(text) > MAX_MESSAGE:
        raise SettingError(None, f"message too long ({len(text)} characters; at most {MAX_MESSAGE})")
    try:
        msg = json.loads(text)
    except json.JSONDecodeError:
        raise SettingError(None, "messages must be JSON objects like {\"type\": \"play\"}") from None
    kind = msg.get("type") if isinstance(msg, dict) else None
    if kind == "ack":
        if msg.get("seq") == tab.seq:
            tab.acked.set()
        return []
    if kind == "setup":
        async with tab.lock:
            return await run_in_threadpool(_setup, tab, msg.get("setup", {}))
    if kind in ("play", "pause", "step", "reset") and tab.session is None:
        raise SettingError(None, f"{kind!r} needs a network: send a setup first")
    if kind == "play":
        if tab.session.diverged:
            return [tab.session.diverged, {"type": "status", "playing": False}]
        tab.playing = True
        tab.wake.set()
        return [{"type": "status", "playing": True}]
    if kind == "pause":
        tab.playing = False
        async with tab.lock:                 # the frame being made, if any, goes out first
            return [{"type": "status", "playing": False}]
    if kind == "step":
        tab.playing = False
        async with tab.lock:
            return [await run_in_threadpool(_step, tab.session), {"type": "status", "playing": False}]
    if kind == "reset":
        async with tab.lock:
            return await run_in_threadpool(_reset, tab.session)
    raise SettingError(None, f"unknown message type {kind!r}; valid: setup, play, pause, step, "
                             "reset, ack")


async def session_socket(ws: WebSocket):
    if not same_origin(ws.headers):
        await ws.close(code=1008)
        return
    await ws.accept()
    sessions = ws.app.state.sessions
    tab = sessions.open()
    if tab is None:
        await ws.send_text(json.dumps({
            "type": "error", "fatal": True, "field": None,
            "message": f"The playground is serving {sessions.limit} tabs already, the most it "
                       "allows; close one and reload this page."}))
        await ws.close(code=1013)
        return
    runner = asyncio.create_task(play_loop(ws, tab))
    try:
        await send(ws, tab, {"type": "hello", "session": tab.id, "options": options()})
        while True:
            text = await ws.receive_text()
            try:
                replies = await handle(ws, tab, text)
            except SettingError as e:
                replies = [{"type": "error", "field": e.field, "message": str(e)}]
            except ValueError as e:          # handgrad's own checks: a clear message already
                replies = [{"type": "error", "field": None, "message": str(e)}]
            except Exception as e:           # never a traceback in the page; the session goes on
                replies = [{"type": "error", "field": None,
                            "message": f"the server could not do that ({type(e).__name__}: {e})"}]
            for reply in replies:
                await send(ws, tab, reply)
    except WebSocketDisconnect:
        pass
    finally:
        runner.cancel()
        try:
            await runner
        except asyncio.CancelledError:
            pass
        sessions.close(tab)


# --- the app ----------------------------------------------------------------------------------

def same_origin(headers):
    """True unless an Origin header names another site than the Host (a page elsewhere
    talking to this server through the user's browser)."""
    origin = headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == (headers.get("host") or "").lower()


class SameOriginMiddleware:
    """Refuse requests that another website's page makes to this server (ASGI middleware)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send_):
        if scope["type"] == "http":
            if scope["method"] not in ("GET", "HEAD") and not same_origin(Headers(scope=scope)):
                await PlainTextResponse("cross-site request refused", status_code=403)(
                    scope, receive, send_)
                return
        await self.app(scope, receive, send_)


def is_loopback(host):
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def create_app(host="127.0.0.1", max_sessions=MAX_SESSIONS):
    """The Starlette app. Served on a loopback address, it answers only to loopback host
    names (no DNS rebinding) and only to its own pages."""
    allowed = list(LOOPBACK) if is_loopback(host) else ["*"]
    app = Starlette(
        routes=[
            Route("/", index),
            Route("/index.html", index),
            Route("/static-data.js", static_data),
            Route("/api/options", api_options),
            Route("/api/thumbnails", api_thumbnails),
            Route("/api/race", api_race, methods=["POST"]),
            Route("/api/backprop", api_backprop),
            Route("/api/graph", api_graph),
            Route("/api/session/{sid}/csv", api_csv, methods=["POST"]),
            Route("/api/session/{sid}/checkpoint", api_checkpoint),
            Route("/api/session/{sid}/snippet", api_snippet),
            WebSocketRoute("/ws", session_socket),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=allowed),
                    Middleware(SameOriginMiddleware)],
    )
    app.state.sessions = Sessions(max_sessions)
    app.state.races = asyncio.Semaphore(RACES_AT_ONCE)
    return app


def bind(host="127.0.0.1", port=0):
    """A listening socket on host:port (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as e:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def url_of(sock):
    host, port = sock.getsockname()[:2]
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"


def serve(host="127.0.0.1", port=0, open_browser=True, log=print, max_sessions=MAX_SESSIONS):
    """Run the playground until Ctrl-C: print its URL and (unless told not to) open it."""
    import uvicorn
    sock = bind(host, port)
    url = url_of(sock)
    server = uvicorn.Server(uvicorn.Config(create_app(host, max_sessions), log_level="warning",
                                           ws_max_size=MAX_MESSAGE * 4))
    log(f"handgrad playground: {url}  (Ctrl-C stops it)")
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    server.run(sockets=[sock])


class Background:
    """The server in a thread (tests, notebooks): ``with Background() as url: ...``."""

    def __init__(self, host="127.0.0.1", port=0, max_sessions=MAX_SESSIONS):
        import uvicorn
        self.sock = bind(host, port)
        self.url = url_of(self.sock)
        self.server = uvicorn.Server(uvicorn.Config(create_app(host, max_sessions),
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the playground server did not start")
            threading.Event().wait(0.02)
        return self.url

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
