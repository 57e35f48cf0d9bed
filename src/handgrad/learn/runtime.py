"""Where a learner's code runs: a process of its own (``ProcessSession``), or, for a notebook,
this one (``LocalSession``). The checker holds ``Remote`` handles to the learner's objects and
uses them as if they were local: calling one, reading an attribute, adding two of them sends a
request to the learner's process (``harness.py``) and brings back data or another handle.

A process session gives the learner's code a time budget (summed over the check), an
address-space limit, a cap on output, no core dumps and no new processes, and a scrubbed
environment. ``sandbox=True`` (grading) adds an audit hook that refuses files outside the
workspace and the network, and — where bubblewrap (``bwrap``) works — runs the process in
its own namespaces: no network, nothing of the file system but the system's libraries,
Python, and a copy of the one workspace (handgrad's own source is hidden).

Everything that goes wrong on the far side becomes a ``LearnerError`` with one clear line.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from . import harness

HARNESS = Path(harness.__file__).resolve()
PACKAGE = HARNESS.parents[1]                 # handgrad's own source: hidden from submissions
INSIDE = "/workspace"                        # where a workspace appears inside bubblewrap
HARNESS_INSIDE = "/handgrad-learn/harness.py"


@dataclass
class Limits:
    """What a learner's code may use during one check."""
    seconds: float = 10.0         # wall-clock time inside the learner's code, summed over a check
    memory_mb: int = 2048         # address space of the learner's process
    output_mb: int = 32           # what it may print or write


class LearnerError(Exception):
    """Something the learner's code did: ``kind`` is exception, syntax, exit, memory, crash,
    timeout or protocol; ``str()`` is the one-line summary, ``detail`` what follows it."""

    def __init__(self, kind: str, summary: str, detail: str = "") -> None:
        super().__init__(summary)
        self.kind, self.summary, self.detail = kind, summary, detail

    def __str__(self) -> str:
        return self.summary + (f"\n{self.detail}" if self.detail else "")


# --- handles -----------------------------------------------------------------------------

class Remote:
    """A learner's object, living in the learner's process; this side holds its id."""

    __slots__ = ("_ident", "_label", "_session", "_text", "_type")
    _session: Session
    _ident: int
    _type: str
    _text: str
    _label: str

    def __init__(self, session: Session, ident: int, type_name: str, text: str, label: str) -> None:
        for k, v in (("_session", session), ("_ident", ident), ("_type", type_name),
                     ("_text", text), ("_label", label or text)):
            object.__setattr__(self, k, v)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        label = name if self._type in ("module", "SimpleNamespace") else f"{self._label}.{name}"
        return self._session.request("get", f"reading {label}", label, obj=self, name=name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._session.request("set", f"setting {self._label}.{name}", obj=self, name=name,
                              value=value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        what = f"{self._label}({describe_args(args, kwargs)})"
        return self._session.request("call", what, obj=self, args=list(args), kwargs=kwargs)

    def _binop(self, name: str, a: Any, b: Any, sign: str) -> Any:
        what = f"{describe(a)} {sign} {describe(b)}"
        return self._session.request("binop", what, name=name, a=a, b=b)

    def __add__(self, o: Any) -> Any: return self._binop("add", self, o, "+")
    def __radd__(self, o: Any) -> Any: return self._binop("add", o, self, "+")
    def __sub__(self, o: Any) -> Any: return self._binop("sub", self, o, "-")
    def __rsub__(self, o: Any) -> Any: return self._binop("sub", o, self, "-")
    def __mul__(self, o: Any) -> Any: return self._binop("mul", self, o, "*")
    def __rmul__(self, o: Any) -> Any: return self._binop("mul", o, self, "*")
    def __truediv__(self, o: Any) -> Any: return self._binop("truediv", self, o, "/")
    def __pow__(self, o: Any) -> Any: return self._binop("pow", self, o, "**")

    def __neg__(self) -> Any:
        return self._session.request("unop", f"-{self._label}", name="neg", a=self)

    def __repr__(self) -> str:
        return self._text


def describe(value: Any) -> str:
    """A short description of an argument, for messages: ``array (2, 3)``, ``0.05``, ``a``."""
    if isinstance(value, Remote):
        return value._label
    if isinstance(value, np.ndarray):
        if value.size <= 4 and value.ndim <= 1:
            return np.array2string(value, precision=4, separator=", ")
        return f"array {value.shape}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {describe(v)}" for k, v in list(value.items())[:4]) + "}"
    if isinstance(value, (list, tuple)) and len(value) > 4:
        return f"{type(value).__name__} of {len(value)}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(describe(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    text = repr(value)
    return text if len(text) < 40 else text[:37] + "..."


def describe_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    return ", ".join([describe(a) for a in args] + [f"{k}={describe(v)}" for k, v in kwargs.items()])


# --- sessions ----------------------------------------------------------------------------

class Session:
    """The checker's side of one learner process: requests in, data or handles out.

    ``send`` delivers one message and returns the answer: to a process (ProcessSession) or
    to a Handler in this process (LocalSession)."""

    def __init__(self, send: Callable[[dict[str, Any]], dict[str, Any]],
                 limits: Limits | None = None) -> None:
        self.send = send
        self.current = ""                       # what the learner's code is doing, for messages
        self.limits = limits or Limits()
        self.violations: list[str] = []

    def _ref(self, value: Any) -> dict[str, Any]:
        if isinstance(value, Remote):
            return {"$ref": value._ident}
        raise TypeError(f"cannot send a {type(value).__name__} to the learner's process")

    def request(self, op: str, what: str, label: str = "", **fields: Any) -> Any:
        """Ask the learner's process; ``what`` names the step for messages, ``label`` names a
        handle that comes back (else its repr)."""
        message = {"op": op, **{k: harness.to_wire(v, self._ref) for k, v in fields.items()}}
        self.current = what
        answer = self.send(message)
        if "error" in answer:
            raise learner_error(answer["error"], what, self.limits)
        try:
            return harness.from_wire(answer["ok"], lambda h: self._handle(h, label))
        except (ValueError, KeyError, TypeError) as e:
            raise LearnerError("protocol", f"{what} sent back something unreadable ({e})") from None

    def _handle(self, h: dict[str, Any], label: str) -> Remote:
        if "$obj" not in h:
            raise ValueError("a handle this side never gave")
        return Remote(self, int(h["$obj"]), str(h["type"]), str(h["repr"]), label)

    def has(self, obj: Remote, name: str) -> bool:
        return bool(self.request("has", f"looking for {name}", obj=obj, name=name))

    def load(self, path: Path) -> Remote:
        module: Remote = self.request("load", f"importing {path.name}", path.name,
                                      path=self.path_inside(path))
        return module

    def path_inside(self, path: Path) -> str:
        return str(path)

    def put(self, value: Any) -> Remote:
        """Place ``value`` in the learner's process; the handle lets the checker look again."""
        placed: Remote = self.request("put", "placing a value", describe(value), value=value)
        return placed

    def fetch(self, obj: Remote) -> Any:
        return self.request("fetch", f"reading {obj._label}", obj=obj)

    def code(self, source: str) -> Remote:
        """A function of the checker's (its source), made in the learner's process."""
        function: Remote = self.request("code", "making a test function", "f", source=source)
        return function

    def output(self, lines: int = 20) -> str:
        return ""

    def close(self) -> None:
        return None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalSession(Session):
    """The learner's objects in this very process (a notebook): same answers, no isolation."""

    def __init__(self) -> None:
        self.handler = harness.Handler()
        super().__init__(self.handler.handle)

    def namespace(self, names: dict[str, Any]) -> Remote:
        """A module-like handle on a notebook's objects."""
        ident = self.handler.keep(SimpleNamespace(**names))["$obj"]
        code: Remote = self.request("namespace", "reading your code", "your code", ident=ident)
        return code


class ProcessSession(Session):
    """A learner process started with ``harness.py``; ``sandbox`` for grading untrusted code."""

    def __init__(self, workspace: Path, limits: Limits | None = None, sandbox: bool = False,
                 bwrap: bool = False) -> None:
        super().__init__(self._send, limits)
        self.workspace = Path(workspace).resolve()
        self.sandbox, self.bwrap = sandbox, bwrap and sandbox
        self.used = 0.0                         # seconds spent inside the learner's code
        self.buffer = b""
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            self.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
            cwd=self.workspace, env=scrubbed_environment(self.workspace), start_new_session=True)
        try:
            ready = self._receive(what="starting Python")
        except LearnerError as e:
            raise LearnerError("protocol", "the Python process for your code did not start "
                               f"({e.summary})", self.output(5)) from None
        if "ready" not in ready:
            raise LearnerError("protocol", "the Python process for your code did not start",
                               self.output(5))
        self.used = 0.0                         # starting Python is not the learner's time

    def path_inside(self, path: Path) -> str:
        path = Path(path).resolve()
        if self.bwrap:
            return str(INSIDE / path.relative_to(self.workspace))
        return str(path)

    def command(self) -> list[str]:
        roots = python_roots()
        config = {"workspace": INSIDE if self.bwrap else str(self.workspace),
                  "strict": self.sandbox, "memory_mb": self.limits.memory_mb,
                  "output_mb": self.limits.output_mb,
                  "cpu_seconds": int(self.limits.seconds) + 5,
                  "readable": roots, "hidden": [str(PACKAGE)]}
        if not self.bwrap:
            return [sys.executable, "-I", str(HARNESS), json.dumps(config)]
        return bwrap_command(roots, self.workspace) + [
            sys.executable, "-I", HARNESS_INSIDE, json.dumps(config)]

    def _send(self, message: dict[str, Any]) -> dict[str, Any]:
        try:
            harness.write_frame(self.proc.stdin.fileno(), message)     # type: ignore[union-attr]
        except (BrokenPipeError, OSError):
            raise self._died(self.current) from None
        return self._receive(what=self.current)

    def _receive(self, what: str) -> dict[str, Any]:
        fd = self.proc.stdout.fileno()                                   # type: ignore[union-attr]
        start = time.monotonic()
        try:
            while True:
                frame = self._frame()
                if frame is not None:
                    if "violation" in frame:
                        self.violations.append(str(frame["violation"]))
                        continue
                    return frame
                left = self.limits.seconds - self.used - (time.monotonic() - start)
                if left <= 0:
                    self.close()
                    raise LearnerError(
                        "timeout", f"it ran for more than {self.limits.seconds:g} s "
                        f"(an endless loop?) in {what}")
                ready, _, _ = select.select([fd], [], [], min(left, 1.0))
                if ready:
                    chunk = os.read(fd, 1 << 20)
                    if not chunk:
                        raise self._died(what)
                    self.buffer += chunk
        finally:
            self.used += time.monotonic() - start

    def _frame(self) -> dict[str, Any] | None:
        head = harness.HEADER.size
        if len(self.buffer) < head:
            return None
        (n,) = harness.HEADER.unpack(self.buffer[:head])
        if n > harness.MAX_FRAME:
            self.close()
            raise LearnerError("protocol", "the learner's process sent a message too large to read")
        if len(self.buffer) < head + n:
            return None
        body, self.buffer = self.buffer[head:head + n], self.buffer[head + n:]
        try:
            frame = json.loads(body)
        except ValueError:
            self.close()
            raise LearnerError("protocol", "the learner's process sent something unreadable "
                               "(did your code write to file descriptor 1 directly?)") from None
        if not isinstance(frame, dict):
            raise LearnerError("protocol", "the learner's process sent something unreadable")
        return frame

    def _died(self, what: str) -> LearnerError:
        code = self.proc.wait()
        self.close()
        last = self.output(40)
        if self.bwrap and code > 128:                  # bubblewrap reports a signal as 128 + n
            code = 128 - code
        if code < 0:
            sig = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            why = {"SIGSEGV": "crashed with a segmentation fault (SIGSEGV)",
                   "SIGBUS": "crashed with a bus error (SIGBUS)",
                   "SIGABRT": "aborted (SIGABRT)",
                   "SIGXCPU": "used up its CPU time (SIGXCPU)",
                   "SIGXFSZ": f"wrote more than {self.limits.output_mb} MiB (SIGXFSZ): "
                              "printing in a loop?",
                   "SIGKILL": "was killed (SIGKILL): out of memory?"}.get(sig, f"died of {sig}")
            return LearnerError("crash", f"the Python process running your code {why} in {what}",
                                crash_line(last))
        return LearnerError("exit", f"the Python process running your code exited with status "
                            f"{code} in {what} (os._exit?)")

    def output(self, lines: int = 20) -> str:
        """The last ``lines`` lines the learner's code printed (and Python's warnings)."""
        try:
            self.log.seek(0, os.SEEK_END)
            size = self.log.tell()
            self.log.seek(max(0, size - 16384))
            text = self.log.read().decode(errors="replace")
        except (OSError, ValueError):
            return ""
        kept = [line for line in text.splitlines() if line.strip() and "harness.py" not in line
                and not line.startswith("Extension modules")]
        return "\n".join(kept[-lines:])

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None and not stream.closed:
                try:
                    stream.close()
                except OSError:
                    pass

    def __del__(self) -> None:
        proc = getattr(self, "proc", None)
        if proc is not None and proc.poll() is None:
            self.close()


def crash_line(output: str) -> str:
    """From Python's fault report (most recent call first), the learner's innermost line:
    'at 05-x.py, line 7 in f'. The learner's files are the ones outside Python's folders."""
    roots = python_roots() + [str(PACKAGE)]
    for line in output.splitlines():
        if not line.strip().startswith('File "'):
            continue
        name, _, rest = line.strip()[6:].partition('"')
        if name and not any(name.startswith(r) for r in roots) and "harness.py" not in name:
            return f"  at {Path(name).name}{rest}".rstrip()
    return ""


def learner_error(error: dict[str, Any], what: str, limits: Limits) -> LearnerError:
    """The message for an error the harness reported."""
    kind, kind_of = str(error.get("kind")), str(error.get("type"))
    message, where = str(error.get("message", "")), str(error.get("where", ""))
    at = f"  at {where}" if where else ""
    if kind == "syntax":
        detail = f"  {error.get('file')}, line {error.get('line')}\n{error.get('caret', '')}"
        return LearnerError("syntax", f"{kind_of}: {message}", detail.rstrip())
    if kind == "exit":
        return LearnerError("exit", f"your code called sys.exit({message}) in {what}", at)
    if kind == "memory":
        return LearnerError("memory", f"your code ran out of memory in {what} (the limit is "
                            f"{limits.memory_mb} MiB)", at)
    return LearnerError("exception", f"{what} raised {kind_of}: {message}", at)


def scrubbed_environment(workspace: Path) -> dict[str, str]:
    """The only variables the learner's process sees: nothing of the user's own."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(workspace), "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "VECLIB_MAXIMUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


# --- bubblewrap ----------------------------------------------------------------------------

def python_roots() -> list[str]:
    """The folders Python and NumPy live in: readable by every learner process."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             str(Path(np.__file__).resolve().parents[1]),
             str(Path(os.path.realpath(sys.executable)).parent)}
    resolved = sorted({os.path.realpath(r) for r in roots if r and os.path.isdir(r)} | {
        r for r in roots if r and os.path.isdir(r)})
    return [r for r in resolved if not any(r != o and r.startswith(o.rstrip("/") + "/")
                                           for o in resolved)]


def bwrap_command(roots: list[str], workspace: Path) -> list[str]:
    """bubblewrap's arguments: the system read-only, Python, one workspace, nothing else."""
    args = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for extra in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
                  "/etc/localtime"):
        if os.path.exists(extra):
            args += ["--ro-bind", extra, extra]
    for root in roots:
        if not root.startswith("/usr/"):
            args += ["--ro-bind", root, root]
    for root in ["/usr", *roots]:
        if str(PACKAGE).startswith(root.rstrip("/") + "/"):
            args += ["--tmpfs", str(PACKAGE)]                 # handgrad's source: hidden
            break
    args += ["--ro-bind", str(HARNESS), HARNESS_INSIDE,
             "--bind", str(workspace), INSIDE, "--chdir", INSIDE, "--clearenv"]
    for k, v in scrubbed_environment(Path(INSIDE)).items():
        args += ["--setenv", k, v]
    return args + ["--"]


@lru_cache(maxsize=1)
def bwrap_problem() -> str | None:
    """None when bubblewrap can run Python here; otherwise why not, in one line."""
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    with tempfile.TemporaryDirectory() as tmp:
        cmd = bwrap_command(python_roots(), Path(tmp)) + [sys.executable, "-I", "-c",
                                                         "import numpy"]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"bubblewrap could not start ({e})"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return f"bubblewrap could not run Python here ({last})"
    return None
