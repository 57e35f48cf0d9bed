"""The far side of the sandbox: runs a learner's exercise file in a process of its own.

The checker never runs a learner's code in its own process. It starts

    python -I harness.py CONFIG

and talks to it through two pipes: each message is 8 bytes of length, then JSON. The
checker asks (load this file, call this function with these arrays, read this attribute,
add these two objects …) and the harness answers with data — numbers, strings, NumPy arrays,
lists, tuples, dicts — or with a handle (an id) for anything else, such as a learner's
``Value`` or optimizer. The checker keeps every expected answer on its side: the learner's
process never sees one, so it can only pass by computing it.

Before any learner code runs, the harness limits itself (address space, CPU seconds, file
size, no core dumps, no new processes) and installs an audit hook (PEP 578) that refuses to
start processes and, when grading, to open files outside the workspace or use the network.
A refused action is reported to the checker at once, on the same pipe.

This file imports the standard library and NumPy only, never handgrad: a sandbox may hide
handgrad altogether. The same ``Handler`` serves a notebook's ``check`` in-process.
"""

from __future__ import annotations

import base64
import json
import math
import operator
import os
import struct
import sys
import traceback
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, NoReturn

HEADER = struct.Struct(">Q")
MAX_FRAME = 256 << 20            # the largest message either side accepts (256 MiB)
MAX_DEPTH = 40                   # nesting beyond this is sent as a handle
ARRAY_KINDS = "biufc"            # bool, int, uint, float, complex: the arrays sent as data
BINARY_OPS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
              "truediv": operator.truediv, "pow": operator.pow, "matmul": operator.matmul}
UNARY_OPS = {"neg": operator.neg}


# --- the wire format ---------------------------------------------------------------------

def to_wire(value: Any, keep: Callable[[Any], Any], depth: int = 0) -> Any:
    """``value`` as JSON-able data; ``keep(obj)`` makes the handle of anything that is not."""
    import numpy as np
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2 ** 62 else float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if value is Ellipsis:
        return {"$ellipsis": True}
    if depth > MAX_DEPTH:
        return keep(value)
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind in ARRAY_KINDS:
        a = np.ascontiguousarray(value)
        return {"$nd": [a.dtype.str, list(a.shape), base64.b64encode(a.tobytes()).decode()],
                "scalar": isinstance(value, np.generic)}
    if isinstance(value, tuple) and type(value) is tuple:
        return {"$tuple": [to_wire(v, keep, depth + 1) for v in value]}
    if type(value) is list:
        return [to_wire(v, keep, depth + 1) for v in value]
    if type(value) is dict and all(isinstance(k, (str, int)) and not isinstance(k, bool)
                                   for k in value):
        return {"$dict": [[k, to_wire(v, keep, depth + 1)] for k, v in value.items()]}
    return keep(value)


def from_wire(data: Any, on_handle: Callable[[dict[str, Any]], Any], depth: int = 0) -> Any:
    """The value ``data`` encodes; ``on_handle(message)`` turns a handle into an object."""
    import numpy as np
    if depth > MAX_DEPTH + 2:
        raise ValueError("message nested too deeply")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [from_wire(v, on_handle, depth + 1) for v in data]
    if not isinstance(data, dict):
        raise ValueError(f"unexpected {type(data).__name__} in a message")
    if "$nd" in data:
        dtype, shape, payload = data["$nd"]
        dtype = np.dtype(str(dtype))
        if dtype.kind not in ARRAY_KINDS or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise ValueError("malformed array in a message")
        raw = base64.b64decode(payload, validate=True)
        if len(raw) != dtype.itemsize * math.prod(shape):
            raise ValueError("array bytes do not match its shape")
        a = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        return a[()] if data.get("scalar") else a
    if "$tuple" in data:
        return tuple(from_wire(v, on_handle, depth + 1) for v in data["$tuple"])
    if "$dict" in data:
        return {k: from_wire(v, on_handle, depth + 1) for k, v in data["$dict"]}
    if "$float" in data:
        return float(data["$float"])
    if "$ellipsis" in data:
        return Ellipsis
    if "$obj" in data or "$ref" in data:
        return on_handle(data)
    raise ValueError("unknown value in a message")


def write_frame(fd: int, message: Any) -> None:
    """Send one message: its length, then its JSON."""
    body = json.dumps(message, separators=(",", ":")).encode()
    view = memoryview(HEADER.pack(len(body)) + body)
    while view:
        view = view[os.write(fd, view):]


def read_exactly(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> Any:
    """One message, or None at the end of the stream."""
    head = read_exactly(fd, HEADER.size)
    if head is None:
        return None
    (n,) = HEADER.unpack(head)
    if n > MAX_FRAME:
        raise ValueError(f"message of {n} bytes is larger than {MAX_FRAME}")
    body = read_exactly(fd, n)
    return None if body is None else json.loads(body)


# --- what went wrong, in the learner's terms ---------------------------------------------

def _where(exc: BaseException, files: set[str]) -> str:
    """The learner's last line in the traceback: 'name.py, line N: code', or ''."""
    import linecache
    found = ""
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        filename = frame.f_code.co_filename
        if os.path.abspath(filename) in files:              # only the learner's own lines are read
            found = f"{os.path.basename(filename)}, line {lineno}"
            line = linecache.getline(filename, lineno).strip()
            if line:
                found += f": {line}"
    return found


def describe_error(exc: BaseException, files: set[str]) -> dict[str, Any]:
    """The message the checker shows for an exception raised by the learner's code."""
    if isinstance(exc, SyntaxError):                  # IndentationError too
        caret = ""
        if exc.text is not None and exc.offset:
            line = exc.text.rstrip("\n")
            stripped = line.lstrip()
            col = max(exc.offset - (len(line) - len(stripped)) - 1, 0)
            caret = f"    {stripped}\n    {' ' * col}^"
        return {"kind": "syntax", "type": type(exc).__name__, "message": str(exc.msg),
                "file": os.path.basename(exc.filename or ""), "line": exc.lineno, "caret": caret}
    if isinstance(exc, SystemExit):
        return {"kind": "exit", "type": "SystemExit", "message": repr(exc.code),
                "where": _where(exc, files)}
    if isinstance(exc, MemoryError):
        return {"kind": "memory", "type": "MemoryError", "message": str(exc),
                "where": _where(exc, files)}
    if isinstance(exc, RecursionError):
        return {"kind": "exception", "type": "RecursionError", "message": str(exc),
                "where": _where(exc, files)}
    try:
        message = str(exc)
    except Exception:                    # a learner's exception whose __str__ fails
        message = "(its message could not be printed)"
    return {"kind": "exception", "type": type(exc).__name__, "message": message[:2000],
            "where": _where(exc, files)}


def safe_repr(obj: object) -> str:
    try:
        text = repr(obj)
    except Exception:
        text = f"<{type(obj).__name__} object>"
    return text if len(text) <= 200 else text[:197] + "..."


# --- the requests -------------------------------------------------------------------------

class Handler:
    """Answers the checker's requests: objects live here, the checker holds their ids."""

    def __init__(self) -> None:
        self.objects: dict[int, Any] = {}
        self.files: set[str] = set()    # the learner's files, to find their lines in tracebacks
        self.next_id = 1

    def keep(self, obj: Any) -> dict[str, Any]:
        ident = self.next_id
        self.next_id += 1
        self.objects[ident] = obj
        return {"$obj": ident, "type": type(obj).__name__, "repr": safe_repr(obj)}

    def lookup(self, message: dict[str, Any]) -> Any:
        ident = message.get("$ref", message.get("$obj"))
        if ident not in self.objects:
            raise ValueError(f"no object with id {ident!r}")
        return self.objects[ident]

    def decode(self, data: Any) -> Any:
        return from_wire(data, self.lookup)

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """One request in, one answer out: {"ok": value} or {"error": {...}}."""
        try:
            value = self.dispatch(request)
            if isinstance(value, Kept):                   # answered as a handle, even if data
                return {"ok": self.keep(value.value)}
            return {"ok": to_wire(value, self.keep)}
        except BaseException as exc:      # the learner's code may raise anything, SystemExit too
            if isinstance(exc, KeyboardInterrupt):
                raise
            return {"error": describe_error(exc, self.files)}

    def dispatch(self, r: dict[str, Any]) -> Any:
        op = r["op"]
        if op == "load":
            return self.load(r["path"])
        if op == "namespace":              # a notebook's objects, given directly
            return self.objects[r["ident"]]
        if op == "get":
            return getattr(self.decode(r["obj"]), r["name"])
        if op == "has":
            return hasattr(self.decode(r["obj"]), r["name"])
        if op == "set":
            setattr(self.decode(r["obj"]), r["name"], self.decode(r["value"]))
            return None
        if op == "call":
            fn = self.decode(r["obj"])
            return fn(*self.decode(r["args"]), **self.decode(r["kwargs"]))
        if op == "binop":
            return BINARY_OPS[r["name"]](self.decode(r["a"]), self.decode(r["b"]))
        if op == "unop":
            return UNARY_OPS[r["name"]](self.decode(r["a"]))
        if op == "put":
            return Kept(self.decode(r["value"]))
        if op == "fetch":
            return self.decode(r["obj"])
        if op == "code":                   # the checker's own helper functions, e.g. a loss
            import numpy as np
            return Kept(eval(r["source"], {"np": np, "math": math}))
        if op == "forget":
            self.objects.pop(r["ident"], None)
            return None
        raise ValueError(f"unknown request {op!r}")

    def load(self, path: str) -> Kept:
        """Run the learner's file as a fresh module, compiled from its source every time: a
        cached .pyc could be stale when a file is saved twice within a second at one size."""
        import types
        path = os.path.abspath(path)
        self.files.add(path)
        name = "exercise_" + "".join(c if c.isalnum() else "_" for c in os.path.basename(path)[:-3])
        with open(path, "rb") as f:
            source = f.read()
        module = types.ModuleType(name)
        module.__file__ = path
        sys.modules[name] = module
        exec(compile(source, path, "exec", dont_inherit=True), module.__dict__)
        return Kept(module)


class Kept:
    """A value to answer with as a handle, even when it could go as data."""

    def __init__(self, value: Any) -> None:
        self.value = value


# --- the guard: limits and an audit hook ---------------------------------------------------

PROCESS_EVENTS = {"os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                  "subprocess.Popen", "pty.spawn", "os.startfile"}
NETWORK_EVENTS = {"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg",
                  "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
                  "urllib.Request"}
WRITE_EVENTS = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown",
                "os.symlink", "os.link", "os.truncate", "os.utime", "shutil.rmtree",
                "shutil.copyfile", "shutil.move"}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _inside(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def install_guard(config: dict[str, Any], report: Callable[[str], Any]) -> None:
    """An audit hook that refuses what an exercise never needs; ``report`` hears each refusal."""
    strict = config.get("strict", False)
    workspace = os.path.realpath(config["workspace"])
    readable = [os.path.realpath(p) for p in config.get("readable", [])] + [
        workspace, "/dev/null", "/dev/urandom", "/dev/zero"]
    hidden = [os.path.realpath(p) for p in config.get("hidden", [])]
    me = os.getpid()
    told: set[str] = set()

    def refuse(what: str) -> NoReturn:
        if what not in told:
            told.add(what)
            report(what)
        raise PermissionError(f"not allowed while your exercise is checked: {what}")

    def path_of(arg: object) -> str | None:
        if isinstance(arg, bytes):
            arg = os.fsdecode(arg)
        if not isinstance(arg, str):
            return None                                        # a file descriptor
        return os.path.realpath(arg if os.path.isabs(arg) else os.path.join(os.getcwd(), arg))

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in PROCESS_EVENTS:
            refuse(f"tried to start another process ({event})")
        if event in ("os.kill", "os.killpg", "signal.pthread_kill") and args and args[0] != me:
            refuse(f"tried to send a signal to another process ({event})")
        if not strict:
            return
        if event in NETWORK_EVENTS or event == "socket.__new__":
            refuse("tried to use the network")
        if event == "ctypes.dlopen":
            refuse("tried to load a C library with ctypes")
        if event == "import" and args and str(args[0]).split(".")[0] == "handgrad":
            refuse("tried to import handgrad, whose source holds the reference solutions")
        if event == "open":
            path = path_of(args[0])
            if path is None:
                return
            flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
            mode = args[1] if len(args) > 1 and isinstance(args[1], str) else "r"
            writing = bool(flags & WRITE_FLAGS) or any(c in mode for c in "wax+")
            if _inside(path, hidden):
                refuse(f"tried to read {path}, which is hidden from submissions")
            if writing and not _inside(path, [workspace, "/dev/null"]):
                refuse(f"tried to write {path}, outside its workspace")
            if not writing and not _inside(path, readable):
                refuse(f"tried to read {path}, outside its workspace")
        elif event in ("os.listdir", "os.scandir", "glob.glob"):
            path = path_of(args[0] if args and args[0] is not None else ".")
            if path is not None and not _inside(path, readable):
                refuse(f"tried to list {path}, outside its workspace")
        elif event in WRITE_EVENTS:
            for arg in args[:2]:
                path = path_of(arg)
                if path is not None and not _inside(path, [workspace]):
                    refuse(f"tried to change {path}, outside its workspace")

    sys.addaudithook(hook)


def limit_resources(config: dict[str, Any]) -> None:
    import resource
    memory = int(config.get("memory_mb", 2048)) << 20
    cpu = int(config.get("cpu_seconds", 60))
    out = int(config.get("output_mb", 64)) << 20
    for name, value in (("RLIMIT_CORE", 0), ("RLIMIT_AS", memory), ("RLIMIT_CPU", cpu),
                        ("RLIMIT_FSIZE", out)):
        limit = getattr(resource, name, None)
        if limit is None:
            continue
        hard = resource.getrlimit(limit)[1]
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        try:
            resource.setrlimit(limit, (value, value if name != "RLIMIT_CPU" else value + 2))
        except (ValueError, OSError):
            resource.setrlimit(limit, (value, hard))


def no_more_processes() -> None:
    """RLIMIT_NPROC at 0: fork and clone fail (for a user other than root, or in a user
    namespace such as bubblewrap's); the audit hook covers the rest."""
    import resource
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    except (ValueError, OSError, AttributeError):
        pass


def main(argv: list[str]) -> int:
    config = json.loads(argv[1])
    limit_resources(config)
    chan_in, chan_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)                     # input() in the learner's code sees an empty stdin
    os.dup2(2, 1)                           # print() goes where the checker collects output
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # a TextIOWrapper
    import faulthandler
    faulthandler.enable()                   # a crash prints the Python line it happened on
    import numpy  # noqa: F401  (loaded before the limits on processes: BLAS may start threads)
    no_more_processes()
    install_guard(config, lambda what: write_frame(chan_out, {"violation": what}))
    handler = Handler()
    write_frame(chan_out, {"ready": os.getpid()})
    while True:
        request = read_frame(chan_in)
        if request is None:
            return 0
        write_frame(chan_out, handler.handle(request))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
