"""A learner's workspace: one file per exercise, a README, and a small state file.

    handgrad-exercises/
        README.md
        .handgrad-learn.json       what passed (and the file's hash when it did), hints shown
        01-linear-layer.py
        02-relu.py
        …

Nothing here overwrites a learner's file: ``create`` writes only the files that are missing,
and ``reset`` and ``write_solution`` keep the learner's version beside the new one
(``08-softmax-stable.mine.py``, then ``.mine-2.py``, …).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ..invocation import prog
from .checking import Verdict
from .exercises import all_exercises
from .registry import MARKER, Exercise

STATE = ".handgrad-learn.json"
DEFAULT_DIR = "handgrad-exercises"

README = f"""# Exercises for the lessons on the multi-layer perceptron

One file per exercise, numbered in the order of the lessons. Each starts with its
statement; below it is a starting template with `...` where your code goes, and the line

    {MARKER}

Write your code, then delete that line: the exercise counts as done once the checker
passes it and the line is gone.

## Commands (run them in this folder)

    handgrad learn                 watch mode: checks the current exercise every time you
                                   save it; type h for a hint, l for the list, n / p for the
                                   next / previous exercise, c to check again, q to quit
    handgrad learn list            every exercise and where you are
    handgrad learn check ID        check one exercise (exit status 0 when it passes)
    handgrad learn hint ID         the next hint, from a nudge to nearly the answer
    handgrad learn solution ID     our solution, once yours passes (--force: put it into the
                                   file now, keeping yours beside it as ID.mine.py)
    handgrad learn reset ID        start the exercise again (yours is kept as ID.mine.py)

ID is the exercise's name (softmax-stable), its number (8) or its file name. Started
through handgrad's `run.sh` instead of an installed `handgrad`? Type its path where these
say `handgrad`: `../run.sh learn list` from a workspace inside the repository.

Your code runs in a Python process of its own, with a time and a memory limit: an
endless loop or a crash ends in one line, never in a hung checker. From a notebook:

    from handgrad.learn import check
    check("softmax-stable", softmax, NAIVE_AT_1000="a")

Your progress lives in `{STATE}`; delete it to start counting again (your files stay).
"""


class WorkspaceError(Exception):
    """A workspace that cannot be found or used; the message is one line for the user."""


def digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: never half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.warning: str | None = None           # set when the state file had to be set aside
        self.state = self._load()

    # --- finding and making ---------------------------------------------------------------

    @classmethod
    def find(cls, explicit: Path | None = None, start: Path | None = None) -> Workspace:
        """The workspace ``explicit`` names, or the one ``start`` (the current folder) is in."""
        if explicit is not None:
            root = Path(explicit).expanduser()
            if not (root / STATE).is_file():
                raise WorkspaceError(f"{root} is not a handgrad learn workspace (no {STATE} in "
                                     f"it); make one with: {prog()} learn init {root}")
            return cls(root)
        here = Path(start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / STATE).is_file():
                return cls(folder)
        raise WorkspaceError(f"no handgrad learn workspace here ({here} and the folders above "
                             f"it have no {STATE}); make one with: {prog()} learn init "
                             f"[FOLDER], then cd into it")

    @classmethod
    def create(cls, root: Path) -> tuple[Workspace, list[Path], list[Path]]:
        """Write every missing exercise file, the README and the state; keep what exists.
        Returns the workspace, the files written and the exercise files kept."""
        root = Path(root).expanduser()
        if root.exists() and not root.is_dir():
            raise WorkspaceError(f"{root} exists and is not a folder")
        try:
            root.mkdir(parents=True, exist_ok=True)
            written, kept = [], []
            for ex in all_exercises():
                path = root / ex.file_name
                if path.exists():
                    kept.append(path)
                    continue
                atomic_write(path, ex.file_text())
                written.append(path)
            if not (root / "README.md").exists():
                atomic_write(root / "README.md", README)
                written.append(root / "README.md")
            if not (root / STATE).exists():
                atomic_write(root / STATE, json.dumps(cls.empty_state(), indent=1))
        except OSError as e:
            raise WorkspaceError(f"cannot write the workspace in {root}: {e.strerror or e}") from None
        return cls(root), written, kept

    # --- state ------------------------------------------------------------------------------

    @staticmethod
    def empty_state() -> dict[str, Any]:
        return {"version": 1, "done": {}, "hints": {}, "current": None}

    def _load(self) -> dict[str, Any]:
        path = self.root / STATE
        try:
            state: object = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(state, dict) or not isinstance(state.get("done"), dict):
                raise ValueError("not a state file")
        except FileNotFoundError:
            return self.empty_state()
        except (OSError, ValueError):
            broken = path.with_name(STATE + ".broken")
            path.replace(broken)                          # kept, not lost
            state = self.empty_state()
            self.warning = f"{STATE} could not be read; it is kept as {broken.name} and progress " \
                           "starts again (your files are untouched)"
        state.setdefault("hints", {})
        state.setdefault("current", None)
        return state

    def save(self) -> None:
        try:
            atomic_write(self.root / STATE, json.dumps(self.state, indent=1, sort_keys=True))
        except OSError as e:
            raise WorkspaceError(f"cannot save progress in {self.root / STATE}: "
                                 f"{e.strerror or e}") from None

    # --- exercises ----------------------------------------------------------------------------

    def path(self, ex: Exercise) -> Path:
        return self.root / ex.file_name

    def status(self, ex: Exercise) -> str:
        """done, changed (passed once, edited since), todo or missing — from the state, without
        running anything."""
        d = digest(self.path(ex))
        if d is None:
            return "missing"
        passed = self.state["done"].get(ex.id)
        if passed is None:
            return "todo"
        return "done" if passed == d else "changed"

    def record(self, ex: Exercise, verdict: Verdict) -> None:
        if verdict.passed:
            self.state["done"][ex.id] = digest(self.path(ex))
        else:
            self.state["done"].pop(ex.id, None)
        self.save()

    def done_count(self) -> int:
        return sum(self.status(ex) == "done" for ex in all_exercises())

    def first_unfinished(self, after: Exercise | None = None) -> Exercise | None:
        """The first exercise not done, looking from the one after ``after`` and wrapping."""
        exercises = all_exercises()
        start = exercises.index(after) + 1 if after is not None else 0
        for ex in exercises[start:] + exercises[:start]:
            if self.status(ex) != "done":
                return ex
        return None

    def hints_shown(self, ex: Exercise) -> int:
        return int(self.state["hints"].get(ex.id, 0))

    def next_hint(self, ex: Exercise) -> int:
        """Show one more hint: returns how many are shown now."""
        shown = min(self.hints_shown(ex) + 1, len(ex.hints))
        self.state["hints"][ex.id] = shown
        self.save()
        return shown

    def keep_mine(self, ex: Exercise) -> Path | None:
        """Copy the learner's file beside itself (NN-id.mine.py, .mine-2.py, …); None if absent."""
        path = self.path(ex)
        if not path.exists():
            return None
        n, backup = 1, path.with_name(f"{path.stem}.mine.py")
        while backup.exists():
            n += 1
            backup = path.with_name(f"{path.stem}.mine-{n}.py")
        try:
            backup.write_bytes(path.read_bytes())
        except OSError as e:
            raise WorkspaceError(f"cannot keep your version as {backup.name}: {e.strerror or e}") \
                from None
        return backup

    def reset(self, ex: Exercise) -> Path | None:
        """The template again; the learner's version is kept beside it. Returns that copy."""
        backup = self.keep_mine(ex)
        atomic_write(self.path(ex), ex.file_text())
        self.state["done"].pop(ex.id, None)
        self.save()
        return backup

    def write_solution(self, ex: Exercise) -> Path | None:
        """Our solution into the exercise's file; the learner's version is kept beside it."""
        backup = self.keep_mine(ex)
        atomic_write(self.path(ex), ex.solution_text())
        self.state["done"].pop(ex.id, None)
        self.save()
        return backup
