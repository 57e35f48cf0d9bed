"""The playground's local web server: Starlette routes, one training session per tab.

    GET  /                          the page, its views filled in from ``views.VIEWS``
    GET  /api/options               the choices (from handgrad's registries), limits, defaults
    GET  /api/thumbnails            a small sample of each built-in dataset
    GET  /api/{view}?...            a view's numbers, computed by handgrad (backprop, graph)
    POST /api/session/{id}/csv      the user's CSV file for that tab (form field "file")
    GET  /api/session/{id}/checkpoint   the tab's trained network, a .safetensors file
    GET  /api/session/{id}/snippet  Python that reloads it
    WS   /ws                        the tab's session (messages below)

A WebSocket is one tab. It can hold a training run for each live view (the playground and
the optimizer race); a message names its view ("view", the playground when left out):

    {"type": "setup", "view": v, "setup": {...}}   (re)build data and network, paused;
                                                   answered by status, ready and frame
    {"type": "play"} / {"type": "pause"} / {"type": "reset"}
    {"type": "step"}                    one mini-batch, then a frame
    {"type": "speed", "steps": n}       mini-batches per frame while playing
    {"type": "set_weight", "layer": l, "row": j, "col": i, "value": w}   a weight set by hand
    {"type": "ack", "seq": n}           frame n is drawn: the next one may come

and gets hello, ready, frame, diverged, status and error messages, each with its view.
While playing, the server trains ``speed`` mini-batches (for at most 0.1 s), sends a frame,
and waits for the page's ack (at most ``ACK_TIMEOUT`` seconds) before it trains again: a
slow page gets fewer frames, never a queue of them, and no frame costs more than a tenth of
a second of work, so no tab waits behind another's. At most ``max_sessions`` tabs are served
at once; a tab that closes, reloads or drops its connection — mid-training or mid-message —
ends its session at once and frees its slot and its models.

A bad message never reaches a traceback: the page gets {"type": "error", "field",
"message"} (or HTTP 400 with the same JSON) and the session goes on as before. A binary
frame gets the same kind of answer; a message over ``MAX_MESSAGE`` closes the socket
(code 1009), as the WebSocket protocol says.
"""

import asyncio
import ipaddress
import json
import secrets
import socket
import threading
import webbrowser
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

try:
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.datastructures import Headers
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
    from starlette.routing import Mount, Route, WebSocketRoute
    from starlette.staticfiles import StaticFiles
    from starlette.types import ASGIApp, Receive, Scope, Send
    from starlette.websockets import WebSocket, WebSocketDisconnect
except ImportError as e:   # the optional extra is missing
    raise ImportError("the playground needs a web server (Starlette, uvicorn): "
                      "pip install 'handgrad[playground]'") from e

from .checks import SettingError, number
from .config import DEFAULT_SPEED, FPS, SPEEDS
from .data import MAX_CSV_BYTES, Table, parse_csv, thumbnails
from .race import RaceSession
from .session import CHECKPOINT_NAME, Session
from .views import STATIC, VIEWS, View, live_views, page_options, render_page

if TYPE_CHECKING:
    import uvicorn

MAX_SESSIONS = 8          # tabs served at once
MAX_MESSAGE = 64_000      # characters in one message from the page
MAX_FRAME_BYTES = 4 * MAX_MESSAGE   # a WebSocket message larger than this closes the socket
ACK_TIMEOUT = 2.0         # seconds to wait for the page to draw a frame
MAX_WEIGHT = 100.0        # a weight set by hand lies within ±MAX_WEIGHT
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


class Run:
    """One live view's training in a tab: its session (once set up), play state and speed."""

    def __init__(self) -> None:
        self.session: Session | RaceSession | None = None
        self.playing = False
        self.speed = DEFAULT_SPEED


class Tab:
    """One browser tab: a run per live view, its CSV data, its messages in flight."""

    def __init__(self, sid: str) -> None:
        self.id = sid
        self.runs = {name: Run() for name in live_views()}
        self.table: Table | None = None
        self.lock = asyncio.Lock()         # one training call at a time
        self.send_lock = asyncio.Lock()    # one message on the wire at a time
        self.wake = asyncio.Event()        # set when play starts
        self.acked = asyncio.Event()       # set when the page drew the last frame
        self.seq = 0                       # the number of the last frame sent while playing

    @property
    def session(self) -> Session | RaceSession | None:
        """The playground's session (the view the CSV, checkpoint and snippet belong to)."""
        return self.runs["playground"].session


class Sessions:
    """The open tabs, at most ``limit`` of them."""

    def __init__(self, limit: int = MAX_SESSIONS) -> None:
        self.limit = limit
        self.tabs: dict[str, Tab] = {}

    def open(self) -> Tab | None:
        if len(self.tabs) >= self.limit:
            return None
        tab = Tab(secrets.token_urlsafe(12))
        self.tabs[tab.id] = tab
        return tab

    def close(self, tab: Tab) -> None:
        for run in tab.runs.values():        # drop the models and data now
            run.playing, run.session = False, None
        tab.table = None
        self.tabs.pop(tab.id, None)

    def get(self, sid: str) -> Tab | None:
        return self.tabs.get(sid)

    def __len__(self) -> int:
        return len(self.tabs)


def error_json(e: Exception, status: int = 400) -> JSONResponse:
    return JSONResponse({"type": "error", "field": getattr(e, "field", None), "message": str(e)},
                        status_code=status)


# --- HTTP -------------------------------------------------------------------------------------

async def index(request: Request) -> HTMLResponse:
    return HTMLResponse(render_page("numpy"), headers={"Cache-Control": "no-store"})


async def static_data(request: Request) -> Response:
    """The page asks for static-data.js; a static export holds its data there, a server none."""
    return Response("window.HANDGRAD_STATIC = null;\n", media_type="text/javascript")


async def api_options(request: Request) -> JSONResponse:
    return JSONResponse(page_options("numpy"))


async def api_thumbnails(request: Request) -> JSONResponse:
    return JSONResponse(await run_in_threadpool(thumbnails))


def view_api(view: View) -> Callable[[Request], Awaitable[JSONResponse]]:
    """GET /api/{view.name}: the view's numbers for the query, or a 400 saying what is wrong."""
    async def answer(request: Request) -> JSONResponse:
        try:                                 # (routed only for a view with an api)
            result = await run_in_threadpool(view.api, dict(request.query_params))  # type: ignore[arg-type]
        except SettingError as e:
            return error_json(e)
        except ImportError as e:
            return error_json(e, status=503)
        return JSONResponse(result)
    return answer


def _tab(request: Request) -> Tab:
    tab: Tab | None = request.app.state.sessions.get(request.path_params["sid"])
    if tab is None:
        raise LookupError("no such session: it ended when its tab closed; reload the page")
    return tab


async def api_csv(request: Request) -> JSONResponse:
    try:
        tab = _tab(request)
    except LookupError as e:
        return error_json(e, status=404)
    length = request.headers.get("content-length") or "0"
    if length.isdigit() and int(length) > MAX_CSV_BYTES + 10_000:
        return error_json(SettingError("csv", f"the CSV file is larger than "
                                              f"{MAX_CSV_BYTES // 1000} kB"), status=413)
    try:
        try:
            async with request.form(max_files=1, max_fields=4) as form:
                upload = form.get("file")
                if upload is None or isinstance(upload, str):
                    raise SettingError("csv", "send the CSV file in a form field named 'file'")
                raw = await upload.read(MAX_CSV_BYTES + 1)
        except SettingError:
            raise
        except Exception as e:               # a body that is not a well-formed form
            raise SettingError("csv", f"send the CSV file as a form upload (field 'file'); "
                                      f"the request could not be read: {e}") from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise SettingError("csv", "the CSV file must be UTF-8 text") from None
        table = await run_in_threadpool(parse_csv, text)
    except SettingError as e:
        return error_json(e)
    tab.table = table
    P, t, names = table
    task = "regression" if P.shape[1] == 1 else "classification"
    return JSONResponse({"type": "csv", "rows": len(P), "task": task, "class_names": names or [],
                         "classes": int(t.max()) + 1 if task == "classification" else 0})


def _trained_tab(request: Request) -> Tab:
    """The request's tab, which must hold a playground network (LookupError otherwise)."""
    tab = _tab(request)
    if tab.session is None:
        raise LookupError("this tab has no network yet: set one up first")
    return tab


async def api_checkpoint(request: Request) -> Response:
    try:
        tab = _trained_tab(request)
    except LookupError as e:
        return error_json(e, status=404)
    async with tab.lock:                     # (tab.session: a playground Session, checked above)
        data = await run_in_threadpool(tab.session.checkpoint_bytes)  # type: ignore[union-attr]
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{CHECKPOINT_NAME}"'})


async def api_snippet(request: Request) -> Response:
    try:
        tab = _trained_tab(request)
    except LookupError as e:
        return error_json(e, status=404)
    return PlainTextResponse(tab.session.snippet())  # type: ignore[union-attr]  # a Session, as above


# --- WebSocket --------------------------------------------------------------------------------

async def send(ws: WebSocket, tab: Tab, message: dict[str, Any]) -> None:
    async with tab.send_lock:
        await ws.send_text(json.dumps(message, allow_nan=False))


def _tagged(view: str, message: dict[str, Any]) -> dict[str, Any]:
    message["view"] = view
    return message


async def play_loop(ws: WebSocket, tab: Tab) -> None:
    """While a view plays: train a little, send a frame, wait for the page to draw it."""
    loop = asyncio.get_running_loop()
    while True:
        await tab.wake.wait()
        playing = [(name, run) for name, run in tab.runs.items()
                   if run.playing and run.session is not None]
        if not playing:
            tab.wake.clear()
            continue
        started = loop.time()
        for name, run in playing:
            async with tab.lock:             # a pause waits for this frame: none comes after it
                session = run.session
                if not run.playing or session is None:
                    continue
                try:
                    message = await run_in_threadpool(_advance, session, run.speed)
                except Exception as e:       # stop playing, say why; the session goes on
                    message = {"type": "error", "field": None,
                               "message": f"training stopped ({type(e).__name__}: {e})"}
                stopped = message["type"] in ("diverged", "error") or message.get("finished")
                if stopped:
                    run.playing = False
                tab.seq += 1
                message["seq"] = tab.seq     # the page acks this number once it has drawn it
                tab.acked.clear()
                await send(ws, tab, _tagged(name, message))
                if stopped:
                    await send(ws, tab, _tagged(name, {"type": "status", "playing": False}))
        if not any(run.playing for run in tab.runs.values()):
            continue
        try:
            await asyncio.wait_for(tab.acked.wait(), ACK_TIMEOUT)
        except asyncio.TimeoutError:
            pass
        await asyncio.sleep(max(0.0, 1 / FPS - (loop.time() - started)))


def _advance(session: Session | RaceSession, steps: int) -> dict[str, Any]:
    session.advance(steps)
    return session.diverged or session.frame()


def _step(session: Session | RaceSession) -> dict[str, Any]:
    session.advance(1)
    return session.diverged or session.frame()


def _setup(tab: Tab, view: str, run: Run, settings: Any) -> list[dict[str, Any]]:
    check, kind = live_views()[view].session  # type: ignore[misc]  # a live view has one
    setup = check(settings)
    if run.session is None:
        run.session = kind(setup, tab.table)
    else:
        run.session.configure(setup, tab.table)
    return [run.session.ready(), run.session.frame()]


def _reset(session: Session | RaceSession) -> list[dict[str, Any]]:
    session.reset()
    return [session.ready(), session.frame()]


def _set_weight(session: Session, msg: dict[str, Any]) -> dict[str, Any]:
    sizes = session.model.layer_sizes
    layer = number("layer", msg.get("layer"), 0, len(sizes) - 2, "layer", integer=True)
    row = number("row", msg.get("row"), 0, sizes[layer + 1] - 1, "row", integer=True)
    col = number("col", msg.get("col"), 0, sizes[layer] - 1, "col", integer=True)
    value = number("value", msg.get("value"), -MAX_WEIGHT, MAX_WEIGHT, "a weight")
    session.set_weight(layer, row, col, value)
    return session.frame()


MESSAGES = ("setup", "play", "pause", "step", "reset", "speed", "set_weight", "ack")


async def handle(ws: WebSocket, tab: Tab, text: str) -> tuple[str | None, list[dict[str, Any]]]:
    """One message from the page; returns (its view, the replies to send)."""
    if len(text) > MAX_MESSAGE:
        raise SettingError(None, f"message too long ({len(text)} characters; at most {MAX_MESSAGE})")
    try:
        msg = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise SettingError(None, "messages must be JSON objects like {\"type\": \"play\"}") from None
    if not isinstance(msg, dict):
        raise SettingError(None, "messages must be JSON objects like {\"type\": \"play\"}")
    kind = msg.get("type")
    if kind == "ack":
        if msg.get("seq") == tab.seq:
            tab.acked.set()
        return None, []
    if kind not in MESSAGES:
        raise SettingError(None, f"unknown message type {kind!r}; valid: {', '.join(MESSAGES)}")
    view = msg.get("view", "playground")
    if not isinstance(view, str) or view not in tab.runs:
        raise SettingError("view", f"unknown view {view!r}; the views that train: "
                                   f"{', '.join(tab.runs)}")
    try:
        return view, await _handle(tab, view, kind, msg)
    except Exception as e:
        e.view = view  # type: ignore[attr-defined]  # the error belongs to this view's controls
        raise


async def _handle(tab: Tab, view: str, kind: str, msg: dict[str, Any]) -> list[dict[str, Any]]:
    run = tab.runs[view]
    if kind == "setup":                      # a good one pauses; a bad one changes nothing
        async with tab.lock:
            replies = await run_in_threadpool(_setup, tab, view, run, msg.get("setup", {}))
            run.playing = False
        return [{"type": "status", "playing": False}, *replies]
    if kind == "speed":
        run.speed = number("steps", msg.get("steps"), 1, SPEEDS[-1], "speed (steps per frame)",
                           integer=True)
        return []
    if run.session is None:
        raise SettingError(None, f"{kind!r} needs a network: send a setup first")
    if kind == "play":
        if run.session.diverged:
            return [run.session.diverged, {"type": "status", "playing": False}]
        run.playing = True
        tab.wake.set()
        return [{"type": "status", "playing": True}]
    if kind == "pause":
        run.playing = False
        async with tab.lock:                 # the frame being made, if any, goes out first
            return [{"type": "status", "playing": False}]
    if kind == "step":
        run.playing = False
        async with tab.lock:
            return [await run_in_threadpool(_step, run.session), {"type": "status", "playing": False}]
    if kind == "set_weight":
        if view != "playground":
            raise SettingError(None, "weights are set by hand in the playground view only")
        async with tab.lock:                 # (the playground's session is a Session)
            return [await run_in_threadpool(_set_weight, run.session, msg)]  # type: ignore[arg-type]
    async with tab.lock:                     # reset
        run.playing = False
        return [{"type": "status", "playing": False},
                *await run_in_threadpool(_reset, run.session)]


async def _reply(ws: WebSocket, tab: Tab, text: str) -> list[dict[str, Any]]:
    """The replies to one message; every error becomes a message, never a traceback."""
    try:
        view, replies = await handle(ws, tab, text)
    except SettingError as e:
        view, replies = getattr(e, "view", None), [{"type": "error", "field": e.field,
                                                    "message": str(e)}]
    except ValueError as e:          # handgrad's own checks: a clear message already
        view, replies = getattr(e, "view", None), [{"type": "error", "field": None,
                                                    "message": str(e)}]
    except Exception as e:           # never a traceback in the page; the session goes on
        view, replies = getattr(e, "view", None), [{
            "type": "error", "field": None,
            "message": f"the server could not do that ({type(e).__name__}: {e})"}]
    return [reply if view is None else _tagged(view, reply) for reply in replies]


async def session_socket(ws: WebSocket) -> None:
    if not same_origin(ws.headers):
        await ws.close(code=1008)
        return
    await ws.accept()
    sessions: Sessions = ws.app.state.sessions
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
        await send(ws, tab, {"type": "hello", "session": tab.id, "options": page_options("numpy")})
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:
                replies = [{"type": "error", "field": None,
                            "message": "binary messages are not understood: send JSON text like "
                                       "{\"type\": \"play\"}"}]
            else:
                replies = await _reply(ws, tab, text)
            for reply in replies:
                await send(ws, tab, reply)
    except (WebSocketDisconnect, OSError, RuntimeError):
        pass                                 # the tab went away, mid-message or mid-frame
    finally:
        sessions.close(tab)                  # first: the slot is free whatever happens next
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


# --- the app ----------------------------------------------------------------------------------

def same_origin(headers: Headers) -> bool:
    """True unless an Origin header names another site than the Host (a page elsewhere
    talking to this server through the user's browser)."""
    origin = headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == (headers.get("host") or "").lower()


class SameOriginMiddleware:
    """Refuse requests that another website's page makes to this server (ASGI middleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send_: Send) -> None:
        if scope["type"] == "http":
            if scope["method"] not in ("GET", "HEAD") and not same_origin(Headers(scope=scope)):
                await PlainTextResponse("cross-site request refused", status_code=403)(
                    scope, receive, send_)
                return
        await self.app(scope, receive, send_)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def create_app(host: str = "127.0.0.1", max_sessions: int = MAX_SESSIONS) -> Starlette:
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
            *[Route(f"/api/{v.name}", view_api(v)) for v in VIEWS if v.api is not None],
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
    return app


def server_config(app: Starlette) -> "uvicorn.Config":
    """uvicorn's settings for the playground: quiet, and WebSocket messages bounded."""
    import uvicorn
    return uvicorn.Config(app, log_level="warning", ws_max_size=MAX_FRAME_BYTES)


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
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


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"


def serve(host: str = "127.0.0.1", port: int = 0, open_browser: bool = True,
          log: Callable[[str], object] = print, max_sessions: int = MAX_SESSIONS) -> None:
    """Run the playground until Ctrl-C: print its URL and (unless told not to) open it."""
    import uvicorn
    sock = bind(host, port)
    url = url_of(sock)
    server = uvicorn.Server(server_config(create_app(host, max_sessions)))
    log(f"handgrad playground: {url}  (Ctrl-C stops it)")
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    server.run(sockets=[sock])


class Background:
    """The server in a thread (tests, notebooks): ``with Background() as url: ...``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, max_sessions: int = MAX_SESSIONS) -> None:
        import uvicorn
        self.sock = bind(host, port)
        self.url = url_of(self.sock)
        self.app = create_app(host, max_sessions)
        self.server = uvicorn.Server(server_config(self.app))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the playground server did not start")
            threading.Event().wait(0.02)
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
