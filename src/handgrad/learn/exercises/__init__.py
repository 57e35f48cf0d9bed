"""The exercises, one module per lesson. ``LESSONS`` is the order of the lessons, and so of
the exercises (within a lesson, the order they are written in):

    by_hand      "Build an MLP by hand"
    primitives   affine maps, losses, backprop, optimizers, autograd
    spec         "Multilayer Perceptron", the full spec
    perceptron   from the perceptron to the MLP: init, norms, dropout
    stacking     "Stacking layers"
"""

from __future__ import annotations

import difflib

from ...invocation import prog
from ..registry import EXERCISES, Exercise
from . import by_hand, perceptron, primitives, spec, stacking

LESSONS = [by_hand.LESSON, primitives.LESSON, spec.LESSON, perceptron.LESSON, stacking.LESSON]

ORDERED = sorted(EXERCISES.values(), key=lambda e: LESSONS.index(e.lesson))   # a stable sort
for _number, _ex in enumerate(ORDERED, 1):
    _ex.number = _number


def all_exercises() -> list[Exercise]:
    """Every exercise, numbered in the order of the lessons."""
    return list(ORDERED)


def get(key: str | int) -> Exercise:
    """An exercise by id ("softmax-stable"), number (7, "07") or file name ("07-silu.py");
    a KeyError that names the closest id otherwise."""
    text = str(key).strip()
    if text.endswith(".py"):
        text = text[:-3]
    if text in EXERCISES:
        return EXERCISES[text]
    number = text.split("-", 1)[0]
    if number.isdigit():
        for ex in ORDERED:
            if ex.number == int(number) and (number == text or text == ex.file_name[:-3]):
                return ex
    close = difflib.get_close_matches(text, list(EXERCISES), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise KeyError(f"unknown exercise {key!r}{hint} (`{prog()} learn list` shows all "
                   f"{len(EXERCISES)})")
