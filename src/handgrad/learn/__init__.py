"""Exercises for every problem the lessons pose, with a checker (floor 5).

In a workspace, ``handgrad learn`` runs them like rustlings does (see ``commands.py``); from a
notebook, the same checks run on your own objects:

    from handgrad.learn import check
    check("softmax-stable", softmax, NAIVE_AT_1000="a")

The pieces: ``exercises/`` (one module per lesson: statement, template, hints, our
solution, known-wrong solutions and the check of each exercise), ``checking`` (comparing
with handgrad in float64 and naming known mistakes), ``runtime`` and ``harness`` (the
learner's code in a process of its own), ``measure`` (the runs predictions are checked
against), ``workspace``, ``watch`` and ``grade``.
"""

from __future__ import annotations

from typing import Any

from .checking import Verdict, run_check
from .exercises import all_exercises, get

__all__ = ["all_exercises", "check", "get"]


def check(exercise: str | int, *objects: Any, **named: Any) -> Verdict:
    """Check your own functions, classes or answers for ``exercise`` and print the verdict.

    Positional objects fill the names the exercise asks for, in order (``check("relu",
    relu, relu_grad)``); any of them can also be given by name (``NAIVE_AT_1000="a"``).
    Your code runs in this process, without the time limit of ``handgrad learn check``.
    """
    ex = get(exercise)
    names = ex.names()
    if len(objects) > len(names):
        raise TypeError(f"{ex.id} asks for {len(names)} things ({', '.join(names)}); got "
                        f"{len(objects)}")
    namespace = dict(zip(names, objects))
    namespace.update(named)
    verdict = run_check(ex, namespace=namespace)
    if verdict.mistake == "missing":
        verdict.message += (f" — pass it to check(): check({ex.id!r}, …, "
                            f"{next((n for n in names if n not in namespace), 'NAME')}=…)")
    print(verdict.report())
    return verdict
