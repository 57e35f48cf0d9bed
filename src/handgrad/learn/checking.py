"""The checker: compares a learner's answer with handgrad's own, and says what is wrong.

A check function receives a ``Learner`` (the learner's file, through a session) and raises
``Fail`` at the first wrong answer. The helpers here do the comparing, in float64:

    same(got, expected, "softmax(z) for logits of 1000", mistakes=[...])

says nothing when ``got`` matches; otherwise it says what was expected and what came back —
the shapes, the first wrong entry, the relative error — and, when ``got`` matches one of
the ``mistakes`` (each one the answer a known mistake would give, computed here, never read
from the learner's source), names that mistake.

``run_check`` runs one exercise on a file or on a notebook's objects and returns a
``Verdict``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..check import numeric_grad
from ..invocation import prog
from .registry import MARKER, Exercise
from .runtime import LearnerError, Limits, LocalSession, ProcessSession, Remote, Session, describe

# verdict statuses: the first passes; the rest do not
PASSED, NOT_DONE, FAILED, SYNTAX, TIMEOUT, CRASHED, BLOCKED, MISSING = (
    "passed", "not-done", "failed", "syntax-error", "timeout", "crashed", "blocked", "missing")


class Fail(Exception):
    """A wrong answer: the message says what and why; ``mistake`` names a known mistake."""

    def __init__(self, message: str, mistake: str | None = None) -> None:
        super().__init__(message)
        self.message, self.mistake = message, mistake


@dataclass
class Mistake:
    """A known mistake: its name, the answer it would give (or a test on the answer), and
    what to tell the learner who made it."""
    key: str
    answer: Any
    text: str


@dataclass
class Verdict:
    """What the checker found for one exercise."""
    exercise: str
    status: str
    message: str
    mistake: str | None = None
    notes: list[str] = field(default_factory=list)
    output: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def report(self) -> str:
        """The verdict as the learner reads it."""
        lines = [self.message]
        lines += [f"note: {n}" for n in self.notes]
        if self.output and not self.passed:
            lines += ["", "your code printed (last lines):"] + [f"  {o}" for o in
                                                                self.output.splitlines()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Verdict {self.exercise}: {self.status}>"


# --- what the check functions see ----------------------------------------------------------

class Learner:
    """The learner's file (or notebook objects) as the check functions use it."""

    def __init__(self, session: Session, module: Remote, file_name: str = "your file") -> None:
        self.session, self.module, self.file_name = session, module, file_name
        self.notes: list[str] = []

    def get(self, name: str, what: str = "a function") -> Any:
        """The learner's ``name``; a Fail that says so when it is missing."""
        if not self.session.has(self.module, name):
            raise Fail(f"{self.file_name} defines no {name}: the exercise asks for {what} "
                       f"named {name}", "missing")
        return getattr(self.module, name)

    def fn(self, name: str) -> Remote:
        f = self.get(name)
        if not isinstance(f, Remote):
            raise Fail(f"{name} should be a function; in {self.file_name} it is {describe(f)}",
                       "missing")
        return f

    def answer(self, name: str) -> Any:
        """A short answer the learner writes as a constant (a number or a letter)."""
        value = self.get(name, "an answer")
        if value is Ellipsis or value is None:
            raise Fail(f"{name} is still {value!r}: write your answer there", "unanswered")
        return value

    def put(self, value: Any) -> Remote:
        return self.session.put(value)

    def fetch(self, obj: Remote) -> Any:
        return self.session.fetch(obj)

    def code(self, source: str) -> Remote:
        return self.session.code(source)

    def note(self, text: str) -> None:
        """Something the learner should know even though the answer passes."""
        self.notes.append(text)


# --- comparing ---------------------------------------------------------------------------

def fmt(a: Any) -> str:
    """An array or number, short enough for a message."""
    if isinstance(a, np.ndarray):
        return np.array2string(a, precision=6, threshold=24, edgeitems=3, max_line_width=100,
                               suppress_small=False)
    if isinstance(a, float):
        return f"{a:.6g}"
    return describe(a)


def as_array(got: Any, what: str, name: str = "it") -> np.ndarray:
    """``got`` as a float64 array, or a Fail that says what came back instead."""
    if got is None:
        raise Fail(f"{what}: {name} returned None — did you forget `return` (or is the body "
                   "still `...`)?", "returned-none")
    if got is Ellipsis:
        raise Fail(f"{what}: {name} returned `...`: the body is not written yet", "returned-none")
    if isinstance(got, Remote):
        raise Fail(f"{what}: expected numbers, got a {got._type} object ({got!r})", "wrong-type")
    try:
        a = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise Fail(f"{what}: expected numbers, got {describe(got)}", "wrong-type") from None
    return a


def close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    """Same shape and equal within tolerance; NaN equals NaN, inf equals inf."""
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def matches(got: np.ndarray, mistake: Mistake, rtol: float, atol: float) -> bool:
    if callable(mistake.answer):
        return bool(mistake.answer(got))
    try:
        wrong = np.asarray(mistake.answer, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return close(got, wrong, max(rtol, 1e-9), max(atol, 1e-12))


def same(got: Any, expected: Any, what: str, mistakes: Iterable[Mistake] = (),
         rtol: float = 1e-6, atol: float = 1e-9, name: str = "it") -> np.ndarray:
    """Fail unless ``got`` equals ``expected`` (float64, within tolerance); returns ``got``.

    When it does not, a matching ``Mistake`` names itself; otherwise the message gives the
    shapes, the first wrong entry and the relative error."""
    g = as_array(got, what, name)
    e = np.asarray(expected, dtype=np.float64)
    if close(g, e, rtol, atol):
        return g
    for m in mistakes:
        if matches(g, m, rtol, atol):
            raise Fail(f"{what}: {m.text}\n" + difference(g, e, rtol, atol), m.key)
    raise Fail(f"{what}: wrong\n" + difference(g, e, rtol, atol) + generic_hint(g, e))


def difference(got: np.ndarray, expected: np.ndarray, rtol: float = 1e-6,
               atol: float = 1e-9) -> str:
    """Expected against got: shapes, the first wrong entry, the relative error."""
    lines = []
    if got.shape != expected.shape:
        lines.append(f"  expected shape {expected.shape}, got shape {got.shape}")
        lines += [labelled("expected", expected), labelled("got", got)]
        return "\n".join(lines)
    if expected.ndim == 0:
        lines.append(f"  expected {float(expected):.8g}, got {float(got):.8g}")
    else:
        lines += [labelled("expected", expected), labelled("got", got)]
        wrong = ~np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
        with np.errstate(all="ignore"):
            worst = np.nan_to_num(np.abs(got - expected), nan=np.inf)
        i = tuple(int(j) for j in (np.argwhere(wrong)[0] if wrong.any()
                                   else np.unravel_index(int(np.argmax(worst)), got.shape)))
        lines.append(f"  first wrong entry {list(i)}: expected {expected[i]:.8g}, got {got[i]:.8g}"
                     f"  (shape {expected.shape})")
    with np.errstate(all="ignore"):
        rel = float(np.linalg.norm(got - expected) / max(np.linalg.norm(expected), 1e-300))
    if math.isfinite(rel):
        lines.append(f"  relative error ‖got − expected‖ / ‖expected‖ = {rel:.3g}")
    return "\n".join(lines)


def labelled(label: str, a: np.ndarray) -> str:
    """``  expected [[…`` with the array's further lines indented under its first."""
    head = f"  {label:<9}"
    return head + fmt(a).replace("\n", "\n" + " " * len(head))


def generic_hint(got: np.ndarray, expected: np.ndarray) -> str:
    """A nudge when the answer is the right one times a constant, transposed or not finite."""
    if got.shape == expected.shape and got.size and np.isfinite(got).all():
        nz = np.abs(expected) > 1e-12
        if nz.any():
            ratio = got[nz] / expected[nz]
            c = float(np.median(ratio))
            if abs(c - 1) > 1e-3 and np.allclose(ratio, c, rtol=1e-6) and np.allclose(
                    got[~nz], 0, atol=1e-9):
                return (f"\n  your answer is {c:.6g} times the expected one" +
                        (": a sign is flipped" if abs(c + 1) < 1e-6 else ""))
    if got.ndim == 2 and got.shape == expected.shape[::-1] and np.allclose(got, expected.T):
        return "\n  your answer is the expected one transposed"
    if not np.isfinite(got).all() and np.isfinite(expected).all():
        return "\n  your answer has NaN or inf where the expected one is finite"
    return ""


def same_number(got: Any, expected: float, what: str, mistakes: Iterable[Mistake] = (),
                rtol: float = 1e-6, atol: float = 1e-9) -> float:
    """``same`` for a single number; returns it as a float."""
    g = as_array(got, what)
    if g.size != 1:
        raise Fail(f"{what}: expected one number, got {fmt(g)}", "wrong-type")
    return float(same(g.reshape(()), np.float64(expected), what, mistakes, rtol, atol))


def choice(got: Any, correct: str, options: dict[str, str], what: str,
           why_wrong: dict[str, str]) -> None:
    """A multiple-choice answer: ``options`` maps each letter to its text, ``why_wrong`` each
    wrong letter to what is wrong with it."""
    letters = ", ".join(f'"{k}"' for k in options)
    if not isinstance(got, str) or got.strip().lower().strip("()") not in options:
        raise Fail(f"{what}: answer with one of {letters}; got {describe(got)}", "not-a-choice")
    g = got.strip().lower().strip("()")
    if g != correct:
        raise Fail(f'{what}: "{g}" ({options[g]}) is not right. {why_wrong[g]}', f"choice-{g}")


def within_factor(got: Any, measured: float, factor: float, what: str,
                  mistakes: Iterable[Mistake] = ()) -> float:
    """A predicted count or size, right within a factor of ``factor`` of the measurement."""
    g = as_array(got, what)
    if g.size != 1 or not np.isfinite(g).all() or float(g) <= 0:
        raise Fail(f"{what}: expected one positive number, got {describe(got)}", "wrong-type")
    value = float(g)
    if measured / factor <= value <= measured * factor:
        return value
    for m in mistakes:
        if matches(g.reshape(()), m, 1e-9, 1e-12):
            raise Fail(f"{what}: {m.text}", m.key)
    side = "too-low" if value < measured else "too-high"
    raise Fail(f"{what}: {value:g} is {'far too low' if side == 'too-low' else 'far too high'}: "
               f"handgrad measured {measured:g} (a prediction within a factor of {factor:g} "
               "passes)", side)


def within(got: Any, measured: float, tol: float, what: str,
           mistakes: Iterable[Mistake] = ()) -> float:
    """A predicted number, right within ±``tol`` of the measurement."""
    g = as_array(got, what)
    if g.size != 1 or not np.isfinite(g).all():
        raise Fail(f"{what}: expected one number, got {describe(got)}", "wrong-type")
    value = float(g)
    if abs(value - measured) <= tol:
        return value
    for m in mistakes:
        if matches(g.reshape(()), m, 1e-9, 1e-12):
            raise Fail(f"{what}: {m.text}", m.key)
    raise Fail(f"{what}: {value:g} is off: handgrad measured {measured:.4g} (within ±{tol:g} "
               "passes)", "too-low" if value < measured else "too-high")


def near(value: float, tol: float = 1e-9) -> Callable[[np.ndarray], bool]:
    """A mistake's test: the answer is ``value`` (for predictions and short answers)."""
    return lambda g: g.size == 1 and bool(abs(float(g) - value) <= tol)


def numeric_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences (L(x + ε) − L(x − ε)) / 2ε of ``f`` in every entry of ``x``."""
    return numeric_grad(f, x, eps)


def unpack(got: Any, n: int, what: str, names: Sequence[str]) -> tuple[Any, ...]:
    """A tuple of ``n`` results (``names`` for the message), or a Fail that says what came."""
    if isinstance(got, (tuple, list)) and len(got) == n:
        return tuple(got)
    return_names = ", ".join(names)
    raise Fail(f"{what}: expected {n} results ({return_names}), got {describe(got)}",
               "wrong-type")


# --- running one check ---------------------------------------------------------------------

def untouched(text: str, template: str) -> bool:
    """True when the code after the marker line is still the template's (the statement above
    it may differ, e.g. written by an older handgrad)."""
    def code(t: str) -> str | None:
        lines = t.replace("\r\n", "\n").splitlines()
        for i, line in enumerate(lines):
            if line.strip().startswith(MARKER):
                return "\n".join(lines[i + 1:]).strip()
        return None
    mine = code(text)
    return mine is not None and mine == code(template)


def has_marker(text: str) -> bool:
    return any(line.strip().startswith(MARKER) for line in text.splitlines())


def run_check(exercise: Exercise, path: Path | None = None, *,
              namespace: dict[str, Any] | None = None, limits: Limits | None = None,
              sandbox: bool = False, bwrap: bool = False, isolated: bool = True,
              ignore_marker: bool = False) -> Verdict:
    """Check ``exercise`` on the learner's file ``path`` (or a notebook's ``namespace``).

    ``isolated`` runs the file in a process of its own (the default; ``False`` is for tests
    of our own solutions); ``sandbox`` is grading's stricter process, ``bwrap`` with
    bubblewrap. ``ignore_marker`` grades the code whether or not the marker is still there.
    """
    start = time.monotonic()
    limits = limits or Limits(seconds=exercise.seconds)
    text = ""
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return Verdict(exercise.id, MISSING, f"{Path(path).name} is missing: "
                           f"`{prog()} learn reset {exercise.id}` writes its template again")
        if untouched(text, exercise.file_text()):
            return Verdict(exercise.id, NOT_DONE, not_started(exercise, Path(path).name),
                           seconds=time.monotonic() - start)
    session: Session | None = None
    learner: Learner | None = None
    try:
        if namespace is not None:
            session = LocalSession()
            learner = Learner(session, session.namespace(namespace), "your code")
        elif isolated:
            assert path is not None
            session = ProcessSession(Path(path).parent, limits, sandbox=sandbox, bwrap=bwrap)
            learner = Learner(session, session.load(Path(path)), Path(path).name)
        else:
            assert path is not None
            session = LocalSession()
            learner = Learner(session, session.load(Path(path)), Path(path).name)
        exercise.check(learner)
        verdict = Verdict(exercise.id, PASSED, f"✓ {exercise.title}: passed", notes=learner.notes)
    except Fail as f:
        verdict = Verdict(exercise.id, FAILED, f"✗ {f.message}", f.mistake,
                          notes=learner.notes if learner else [])
    except LearnerError as e:
        status = {"syntax": SYNTAX, "timeout": TIMEOUT, "crash": CRASHED, "memory": FAILED,
                  "exit": CRASHED, "protocol": CRASHED}.get(e.kind, FAILED)
        head = "your file does not parse" if e.kind == "syntax" else "your code failed"
        verdict = Verdict(exercise.id, status, f"✗ {head}: {e}", e.kind)
    finally:
        output = session.output() if session is not None else ""
        violations = list(session.violations) if session is not None else []
        if session is not None:
            session.close()
    if violations:
        verdict = Verdict(exercise.id, BLOCKED, "✗ blocked: your code " + "; ".join(violations)
                          + " — an exercise needs none of this, so it gets no marks",
                          "sandbox", verdict.notes)
    verdict.output, verdict.seconds = output, time.monotonic() - start
    if path is not None and not ignore_marker and has_marker(text):
        if verdict.passed:
            verdict.message = (f"✓ your code passes. Delete the line '{MARKER}' in "
                               f"{Path(path).name} to mark {exercise.id} done and move on.")
        verdict.status = NOT_DONE
    return verdict


def not_started(exercise: Exercise, file_name: str) -> str:
    return (f"… {exercise.id} is not done yet: {file_name} is still the starting template. "
            f"Read the statement at its top, write your code where the `...` are, then delete "
            f"the line '{MARKER}'.")
