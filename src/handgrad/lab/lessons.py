"""The five lessons the lab speaks for, by the names the report cites them with.

A claim cites its lesson by title and section. The titles are ours: short names for what
each lesson teaches, in the order a reader meets them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lesson:
    key: str
    number: int
    title: str
    about: str

    @property
    def heading(self) -> str:
        return f"Lesson {self.number}: {self.title}"


LESSONS: dict[str, Lesson] = {lesson.key: lesson for lesson in [
    Lesson("by-hand", 1, "An MLP by hand, then in PyTorch and MLX",
           "the blob network 4 → 16 → 3 written in NumPy with its backward pass derived, its "
           "initialization, learning rate and mini-batches; the same network in PyTorch and "
           "MLX; the perturbation exercises, MNIST and the table of training-loop bugs"),
    Lesson("primitives", 2, "Affine maps, activations, losses and gradient descent",
           "the four primitives, backpropagation in matrix form, an MLP on the quadrant task "
           "(2 → 16 → 4), initialization, momentum, Adam and AdamW, and a tiny autograd engine"),
    Lesson("spec", 3, "The MLP, specified",
           "the Layer / MLP API with MSE as 1/(2n), the shape and memory tables, the "
           "initialization rules and the list of tests an implementation must pass"),
    Lesson("perceptron", 4, "From the perceptron to the MLP",
           "Rosenblatt's perceptron, AND and XOR, the activation functions, the variance "
           "argument for initialization, BatchNorm, LayerNorm and RMSNorm, inverted dropout, "
           "and MNIST 784 → 256 → 128 → 10 with its per-epoch diagnostics"),
    Lesson("stacking", 5, "Stacking layers",
           "a linear layer, the two-layer forward pass, and a 2 → 8 → 1 network trained on a "
           "noisy XOR in the browser"),
]}

BEYOND = "Beyond the lessons"
BEYOND_ABOUT = ("claims the lessons do not make, kept because they explain the ones they do: "
                "each is marked as ours")

SECTIONS = [lesson.heading for lesson in LESSONS.values()] + [BEYOND]


def section_of(lesson: str | None) -> str:
    """The report section a claim belongs to: its lesson's, or the section of our own claims."""
    return LESSONS[lesson].heading if lesson else BEYOND


def citation(lesson: str | None, section: str) -> str:
    """'Lesson 2, "Affine maps, …", section "Initialization"', or where our own claim stands."""
    if lesson is None:
        return f"not from the lessons (ours: {section})" if section else "not from the lessons"
    it = LESSONS[lesson]
    return f"Lesson {it.number}, “{it.title}”, section “{section}”"
