"""``handgrad learn`` with no command: the watch mode.

It opens the first unfinished exercise (or the one asked for), checks it, and checks it
again every time its file is saved. A single key does the rest — h the next hint, l the
list, n and p the next and previous exercise, c check again, q quit — without leaving.
When an exercise passes and its marker line is gone, it moves on to the next unfinished
one, until everything is done. Progress lives in the workspace's state file, so a restart
picks up where the learner left off.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
import time
from typing import IO, Any

from ..invocation import prog
from .checking import PASSED, Verdict, run_check
from .exercises import all_exercises
from .registry import Exercise
from .runtime import Limits
from .workspace import Workspace, digest

KEYS = "h hint · l list · n next · p previous · c check again · q quit"
MARKS = {"done": "✓", "changed": "~", "todo": " ", "missing": "?"}


def progress_bar(done: int, total: int, width: int = 30) -> str:
    filled = round(width * done / total) if total else width
    return "[" + "█" * filled + "░" * (width - filled) + f"] {done}/{total}"


def listing(ws: Workspace, current: Exercise | None = None) -> str:
    """Every exercise with its mark (✓ done, ~ changed since it passed, ? file missing)."""
    lines, lesson = [], None
    for ex in all_exercises():
        if ex.lesson != lesson:
            lesson = ex.lesson
            lines.append(f"  {lesson.title}")
        pointer = "›" if current is not None and ex is current else " "
        lines.append(f"  {pointer} {MARKS[ws.status(ex)]} {ex.number:2d} {ex.id:<26} {ex.title}")
    return "\n".join(lines)


def hints_text(ex: Exercise, shown: int) -> str:
    lines = [f"Hint {i} of {len(ex.hints)}: {h}" for i, h in enumerate(ex.hints[:shown], 1)]
    if shown >= len(ex.hints):
        lines.append(f"(that was the last hint; `{prog()} learn solution {ex.id} --force` puts "
                     "our solution into the file and keeps yours beside it)")
    return "\n".join(lines)


class Keys:
    """Single key presses from a terminal (cbreak mode); none when input is not a terminal."""

    def __init__(self, stream: IO[str]) -> None:
        self.fd: int | None = None
        self.saved: list[Any] | None = None
        try:
            fd = stream.fileno()
        except (AttributeError, ValueError, OSError):
            return
        if os.isatty(fd):
            import termios
            import tty
            self.fd, self.saved = fd, termios.tcgetattr(fd)
            tty.setcbreak(fd)

    def read(self, timeout: float) -> str | None:
        if self.fd is None:
            time.sleep(timeout)
            return None
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return None
        data = os.read(self.fd, 32)
        return data.decode(errors="ignore")[:1] if data else "q"

    def close(self) -> None:
        if self.fd is not None and self.saved is not None:
            import termios
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)


class Watch:
    def __init__(self, ws: Workspace, start: Exercise | None = None, out: IO[str] = sys.stdout,
                 keys: Keys | None = None, limits: Limits | None = None, poll: float = 0.25) -> None:
        self.ws, self.out, self.poll, self.limits = ws, out, poll, limits
        self.keys = keys or Keys(sys.stdin)
        self.clear = out.isatty() if hasattr(out, "isatty") else False
        self.exercises = all_exercises()
        self.current = start or self._resume()
        self.checked: str | None = None               # the hash of the file last checked
        self.verdict: Verdict | None = None
        self.extra = ""                               # hints shown under the verdict

    def _resume(self) -> Exercise | None:
        saved = self.ws.state.get("current")
        for ex in self.exercises:
            if ex.id == saved and self.ws.status(ex) != "done":
                return ex
        return self.ws.first_unfinished()

    # --- screen -----------------------------------------------------------------------------

    def show(self, body: str, top: str = "") -> None:
        ex = self.current
        head = f"handgrad learn  {progress_bar(self.ws.done_count(), len(self.exercises))}"
        parts = [head]
        if top:
            parts.append(top)
        if ex is not None:
            parts.append(f"\n{ex.number:02d} · {ex.id} — {ex.title}\n   {self.ws.path(ex)}")
        parts += ["", body.rstrip(), "", KEYS]
        if self.clear:
            self.out.write("\x1b[2J\x1b[H")
        self.out.write("\n".join(parts) + "\n")
        self.out.flush()

    # --- actions ----------------------------------------------------------------------------

    def check(self, top: str = "") -> None:
        ex = self.current
        assert ex is not None
        self.ws.state["current"] = ex.id
        path = self.ws.path(ex)
        was_done = self.ws.status(ex) == "done"        # opened to look again: stay on it
        self.checked = digest(path)
        self.extra = ""
        self.show("checking …", top)
        self.verdict = run_check(ex, path, limits=self.limits or Limits(seconds=ex.seconds))
        self.ws.record(ex, self.verdict)
        if self.verdict.status == PASSED and not was_done:
            following = self.ws.first_unfinished(after=ex)
            if following is None:
                self.current = None
                return
            self.current = following
            self.check(top=f"✓ {ex.id} is done. Next: {following.number:02d} · {following.id}")
            return
        self.show(self.verdict.report(), top)

    def move(self, step: int) -> None:
        assert self.current is not None
        i = (self.exercises.index(self.current) + step) % len(self.exercises)
        self.current = self.exercises[i]
        self.check()

    def hint(self) -> None:
        assert self.current is not None
        shown = self.ws.next_hint(self.current)
        body = self.verdict.report() if self.verdict is not None else ""
        self.extra = hints_text(self.current, shown)
        self.show(body + "\n\n" + self.extra)

    def all_done(self) -> None:
        self.show(f"🎉 All {len(self.exercises)} exercises are done. Well done!\n"
                  f"`{prog()} learn list` shows them; `{prog()} learn solution ID` shows ours "
                  "to compare with yours.")

    def _interrupted(self, signum: int, frame: Any) -> None:
        """Ctrl-C: remembered as well as raised, since a KeyboardInterrupt that lands in a
        finalizer (a closing check's ``__del__``) is swallowed by Python."""
        self.interrupted = True
        raise KeyboardInterrupt

    def run(self) -> int:
        self.interrupted = False
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, self._interrupted) if main else None
        try:
            if self.current is None:
                self.all_done()
                return 0
            self.check()
            in_list = False
            while self.current is not None:
                if self.interrupted:
                    raise KeyboardInterrupt
                key = self.keys.read(self.poll)
                if key in ("q", "\x04"):
                    break
                if in_list and key is not None:                  # any key leaves the list
                    in_list = False
                    self.show((self.verdict.report() if self.verdict is not None else "")
                              + (f"\n\n{self.extra}" if self.extra else ""))
                elif key == "h":
                    self.hint()
                elif key == "l":
                    in_list = True
                    self.show(listing(self.ws, self.current) + "\n\n(any key goes back)")
                elif key in ("n", "p"):
                    self.move(1 if key == "n" else -1)
                elif key in ("c", "\n", "\r"):
                    self.check()
                elif digest(self.ws.path(self.current)) != self.checked:
                    in_list = False
                    time.sleep(0.1)                      # let the editor finish writing
                    self.check()
            if self.current is None:
                self.all_done()
                return 0
            self.out.write("bye — your progress is saved\n")
            return 0
        except KeyboardInterrupt:
            self.out.write("\nbye — your progress is saved\n")
            return 0
        finally:
            self.keys.close()
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            self.ws.save()
