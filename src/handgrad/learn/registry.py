"""The exercises: one ``Exercise`` each, registered in the order of the lessons.

An exercise is data plus one check function, all in one place (one module per lesson under
``exercises/``): its statement, the starting template, hints from a nudge to nearly the
answer, our reference solution, and known-wrong solutions — each the reference with a few
lines changed, together with the named mistake the checker must report for it.

    @exercise("softmax-stable", "A softmax that survives logits of 1000", SOFTMAX_LESSON, ...)
    def check_softmax(learner):
        ...                   # raises Fail at the first wrong answer
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MARKER = "# I AM NOT DONE"        # the line a learner deletes when an exercise is done


@dataclass(frozen=True)
class Lesson:
    """A lesson, cited by its title."""
    key: str
    title: str


@dataclass
class Wrong:
    """A known-wrong solution: the reference with ``edits`` (old, new) made, which the checker
    must reject naming ``mistake``."""
    mistake: str
    edits: list[tuple[str, str]]
    why: str = ""


@dataclass(eq=False)                 # compared and hashed by identity: each exercise is one object
class Exercise:
    id: str
    title: str
    lesson: Lesson
    section: str
    statement: str
    template: str
    solution: str
    hints: list[str]
    check: Callable[[Any], None]
    wrongs: list[Wrong] = field(default_factory=list)
    seconds: float = 10.0                       # time limit of the learner's code per check
    heavy: bool = False                         # trains or measures at check time (seconds)
    number: int = 0                             # its place in the order of the lessons

    @property
    def file_name(self) -> str:
        return f"{self.number:02d}-{self.id}.py"

    def header(self) -> str:
        body = "\n\n".join(textwrap.fill(p.strip(), 88) if not p.startswith("    ") else p
                           for p in textwrap.dedent(self.statement).strip().split("\n\n"))
        return (f'"""{self.number:02d} · {self.title}\n\n{body}\n\n'
                f'Lesson: "{self.lesson.title}", {self.section}.\n'
                f"Check it: handgrad learn check {self.id}    "
                f"A hint: handgrad learn hint {self.id}\n"
                f'"""\n')

    def file_text(self) -> str:
        """The starting file: statement, the marker, the template."""
        return (self.header() + f"{MARKER}  (delete this line when your code is ready)\n\n"
                + textwrap.dedent(self.template).strip() + "\n")

    def solution_text(self) -> str:
        return self.header() + "\n" + textwrap.dedent(self.solution).strip() + "\n"

    def wrong_text(self, wrong: Wrong) -> str:
        """The reference solution with the known-wrong edits made."""
        text = self.solution_text()
        for old, new in wrong.edits:
            if text.count(old) != 1:
                raise ValueError(f"{self.id}: the edit for {wrong.mistake!r} must match the "
                                 f"solution exactly once; {old!r} matches {text.count(old)} times")
            text = text.replace(old, new)
        return text

    def names(self) -> list[str]:
        """What the learner defines at the top level (functions, classes, answers)."""
        found = []
        for node in ast.parse(textwrap.dedent(self.template)).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                found.append(node.name)
            elif isinstance(node, ast.Assign):
                found += [t.id for t in node.targets if isinstance(t, ast.Name) and t.id.isupper()]
        return found


EXERCISES: dict[str, Exercise] = {}     # by id, in the order they were registered


Check = Callable[[Any], None]        # a check function: takes a Learner, raises Fail when wrong


def exercise(id: str, title: str, lesson: Lesson, section: str, *, statement: str,
             template: str, solution: str, hints: list[str], wrongs: list[Wrong],
             seconds: float = 10.0, heavy: bool = False) -> Callable[[Check], Check]:
    """Register the decorated check function as the exercise ``id``."""
    def register(check: Check) -> Check:
        if id in EXERCISES:
            raise ValueError(f"exercise {id!r} is registered twice")
        EXERCISES[id] = Exercise(id, title, lesson, section, statement, template, solution,
                                 hints, check, wrongs, seconds, heavy)
        return check
    return register
