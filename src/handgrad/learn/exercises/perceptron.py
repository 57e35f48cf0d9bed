"""Exercises of the chapter that goes from Rosenblatt's perceptron to a full MLP: the
perceptron's learning rule (AND learned, XOR never), how deep ReLU stacks explode or vanish
with the wrong init, inverted dropout, BatchNorm's and LayerNorm's backward passes, and
questions to answer from memory."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np

from ...nn import BatchNorm1d, Dropout, LayerNorm
from ...perceptron import GATE_INPUTS, GATES, Perceptron
from .. import measure
from ..checking import Fail, Learner, Mistake, as_array, numeric_gradient, same, unpack, within
from ..registry import Lesson, Wrong, exercise
from .by_hand import check_recall, recall_solution, recall_template
from .common import rng

LESSON = Lesson("perceptron", "From the perceptron to the MLP: activations, initialization, "
                              "normalization, dropout")


# --- the perceptron ----------------------------------------------------------------------------

def perceptron_by_hand(X: np.ndarray, y: np.ndarray, lr: float, epochs: int, *, bias: bool = True,
                       strict: bool = False, always: bool = False) -> tuple[np.ndarray, float, list[int]]:
    """Rosenblatt's rule with one known mistake switched on (the defaults are right)."""
    w, b, mistakes = np.zeros(X.shape[1]), 0.0, []
    for _ in range(epochs):
        wrong = 0
        for x, t in zip(X, y):
            z = x @ w + b
            guess = int(z > 0) if strict else int(z >= 0)
            if always:
                w += lr * (2 * t - 1) * x
                b += lr * (2 * t - 1) if bias else 0.0
                wrong += int(guess != t)
            elif guess != t:
                w += lr * (t - guess) * x
                b += lr * (t - guess) if bias else 0.0
                wrong += 1
        mistakes.append(wrong)
        if wrong == 0:
            break
    return w, b, mistakes


@exercise(
    "perceptron", "The perceptron learns AND, never XOR", LESSON, "section “The Perceptron Model”",
    statement="""
    Rosenblatt's perceptron predicts ŷ = 1 if w·x + b ≥ 0, else 0, and learns only from
    its mistakes: for each example in turn,

        w ← w + lr·(y − ŷ)·x        b ← b + lr·(y − ŷ)

    (y − ŷ is 0 when it was right, +1 or −1 when it was wrong). Start from w = 0, b = 0.
    An epoch visits the examples in order; stop after the first epoch without a mistake.

    Write perceptron_fit(X, y, lr=1.0, epochs=100) returning (w, b, mistakes) with mistakes
    the number of mistakes in each epoch. On AND it must stop with none; on XOR, which no
    line separates, it never does.
    """,
    template='''
    import numpy as np


    def perceptron_fit(X, y, lr=1.0, epochs=100):
        """(w (d,), b, mistakes per epoch) for 0/1 labels y."""
        ...
    ''',
    solution='''
    import numpy as np


    def perceptron_fit(X, y, lr=1.0, epochs=100):
        """(w (d,), b, mistakes per epoch) for 0/1 labels y."""
        w, b, mistakes = np.zeros(X.shape[1]), 0.0, []
        for _ in range(epochs):
            wrong = 0
            for x, target in zip(X, y):
                guess = 1 if x @ w + b >= 0 else 0
                if guess != target:
                    w = w + lr * (target - guess) * x
                    b = b + lr * (target - guess)
                    wrong += 1
            mistakes.append(wrong)
            if wrong == 0:
                break
        return w, b, mistakes
    ''',
    hints=[
        "Two loops: epochs outside, examples inside. Count the mistakes of each epoch.",
        "Change w and b only when the guess is wrong, by lr·(y − ŷ) times the input (and 1 for b).",
        "The step fires at exactly 0 too: 1 if w·x + b ≥ 0.",
    ],
    wrongs=[Wrong("no-bias-update", [("b = b + lr * (target - guess)", "b = b")]),
            Wrong("strict-threshold", [("1 if x @ w + b >= 0 else 0", "1 if x @ w + b > 0 else 0")])],
)
def check_perceptron(L: Learner) -> None:
    f = L.fn("perceptron_fit")
    r = rng(30)
    X3 = r.standard_normal((20, 3))
    y3 = (X3 @ np.array([1.0, -2.0, 0.5]) + 0.3 > 0).astype(int)
    cases = [(GATE_INPUTS, GATES["and"], 1.0, 100, "AND"), (GATE_INPUTS, GATES["and"], 0.1, 100,
                                                           "AND with lr 0.1"),
             (GATE_INPUTS, GATES["or"], 1.0, 100, "OR"), (X3, y3, 1.0, 100, "20 separable points in 3-D"),
             (GATE_INPUTS, GATES["xor"], 1.0, 30, "XOR, 30 epochs")]
    for X, y, lr, epochs, what in cases:
        ref = Perceptron(X.shape[1], lr=lr).fit(X, y, epochs=epochs)
        w, b, mistakes = unpack(f(X, y, lr, epochs), 3, f"perceptron_fit on {what}",
                                ["w", "b", "mistakes"])
        variants = {k: perceptron_by_hand(X, y, lr, epochs, **kw) for k, kw in (
            ("no-bias-update", {"bias": False}), ("strict-threshold", {"strict": True}),
            ("update-always", {"always": True}))}
        texts = {"no-bias-update": "the bias never changes: b ← b + lr·(y − ŷ) too",
                 "strict-threshold": "the step must fire at 0 as well: ŷ = 1 when w·x + b ≥ 0",
                 "update-always": "the rule changes the weights only on a mistake"}
        full = np.r_[as_array(w, f"w for {what}"), as_array(b, f"b for {what}").reshape(-1)]
        same(full, np.r_[ref.weights, ref.bias], f"(w, b) after perceptron_fit on {what}", [
            Mistake(k, np.r_[v[0], v[1]], texts[k]) for k, v in variants.items()])
        counts = [int(m) for m in as_array(mistakes, f"mistakes on {what}").reshape(-1)]
        want = list(ref.mistakes)
        if counts[:len(want)] != want or any(counts[len(want):]):
            raise Fail(f"mistakes per epoch on {what}: expected {want}, got {counts}")
    xor = Perceptron(2).fit(GATE_INPUTS, GATES["xor"], epochs=30)
    L.note(f"on XOR it made {xor.mistakes[:6]}… mistakes per epoch, never 0: the weights cycle")


# --- deep ReLU stacks: predict, then run ------------------------------------------------------------

@exercise(
    "predict-init-depth", "Predict: 50 ReLU layers, three inits", LESSON,
    "section “The Variance Propagation Argument”",
    statement="""
    Predict, then run. Push a batch of unit-normal inputs through 50 ReLU layers of width 256
    (no biases) and measure the standard deviation of the last layer's output, for weights
    drawn from N(0, 0.01²), from N(0, 1), and from He's N(0, 2/256).

    Answer with powers of ten: LOG10_STD_SMALL = −3 means a standard deviation of 1e-3.
    Within ±2 of handgrad's measurement passes. Hint for paper: each layer multiplies the
    standard deviation by about σ_w · √(256 / 2).
    """,
    template='''
    LOG10_STD_SMALL = ...    # weights ~ N(0, 0.01²)
    LOG10_STD_LARGE = ...    # weights ~ N(0, 1)
    LOG10_STD_HE = ...       # weights ~ N(0, 2 / 256)
    ''',
    solution='''
    import math

    LOG10_STD_SMALL = 50 * math.log10(0.01 * math.sqrt(128))
    LOG10_STD_LARGE = 50 * math.log10(1.0 * math.sqrt(128))
    LOG10_STD_HE = 0
    ''',
    hints=[
        "A layer sums 256 products; ReLU then keeps about half of the second moment.",
        "So the standard deviation is multiplied by σ_w·√(256/2) = σ_w·√128 per layer, and by "
        "its 50th power over 50 layers.",
        "log10 of a product is the sum of the logs: 50 · log10(σ_w · √128).",
    ],
    wrongs=[Wrong("lesson-figures", [("LOG10_STD_SMALL = 50 * math.log10(0.01 * math.sqrt(128))",
                                      "LOG10_STD_SMALL = -30"),
                                     ("LOG10_STD_LARGE = 50 * math.log10(1.0 * math.sqrt(128))",
                                      "LOG10_STD_LARGE = 10")]),
            Wrong("too-high", [("LOG10_STD_SMALL = 50 * math.log10(0.01 * math.sqrt(128))",
                                "LOG10_STD_SMALL = 0")])],
    heavy=True,
)
def check_init_depth(L: Learner) -> None:
    m = measure.deep_relu_stds(batch=64)
    lesson = {"small": -30.0, "large": 10.0}
    for name, key in (("LOG10_STD_SMALL", "small"), ("LOG10_STD_LARGE", "large"),
                      ("LOG10_STD_HE", "he")):
        mistakes = []
        if key in lesson:
            mistakes.append(Mistake("lesson-figures", lambda g, v=lesson[key]: bool(abs(float(g) - v) <= 2),
                                    f"that is the lesson's figure (1e{lesson[key]:+.0f}), and it "
                                    f"is off by {abs(m[key] - lesson[key]):.0f} orders of "
                                    f"magnitude: handgrad measured 1e{m[key]:+.1f}. Each layer "
                                    "multiplies the std by σ_w·√128, fifty times"))
        within(L.answer(name), m[key], 2.0, name, mistakes)
    L.note("handgrad measured: " + ", ".join(f"{k} 1e{v:+.1f}" for k, v in m.items())
           + " (the lesson prints ~1e-30 and ~1e+10)")


# --- dropout -----------------------------------------------------------------------------------

@exercise(
    "dropout", "Inverted dropout", LESSON, "section “Inverted Dropout”",
    statement="""
    In training, dropout zeroes each activation with probability p and divides the
    survivors by 1 − p, so every activation keeps its expected value; at inference it does
    nothing at all. The backward pass multiplies by the same scaled mask.

    Write dropout(x, p, rng, training=True) returning (y, mask), with mask the array y = x ⊙
    mask was made with (entries 0 or 1/(1 − p)); at inference return (x, None). Draw from
    the rng you are given. Write dropout_backward(grad_out, mask).
    """,
    template='''
    import numpy as np


    def dropout(x, p, rng, training=True):
        """(y, mask): y = x ⊙ mask in training, with mask entries 0 or 1/(1 − p); (x, None) else."""
        ...


    def dropout_backward(grad_out, mask):
        ...
    ''',
    solution='''
    import numpy as np


    def dropout(x, p, rng, training=True):
        """(y, mask): y = x ⊙ mask in training, with mask entries 0 or 1/(1 − p); (x, None) else."""
        if not training or p == 0:
            return x, None
        mask = (rng.random(x.shape) >= p) / (1 - p)         # keep with probability 1 − p
        return x * mask, mask


    def dropout_backward(grad_out, mask):
        return grad_out if mask is None else grad_out * mask
    ''',
    hints=[
        "rng.random(shape) is uniform on [0, 1): it is below p with probability p.",
        "Scale the kept entries by 1/(1 − p) in training — not at inference.",
        "The backward is the forward's mask again: grad_out * mask.",
    ],
    wrongs=[Wrong("no-rescale", [("(rng.random(x.shape) >= p) / (1 - p)",
                                  "(rng.random(x.shape) >= p) * 1.0")]),
            Wrong("keep-prob-swapped", [("(rng.random(x.shape) >= p) / (1 - p)",
                                         "(rng.random(x.shape) < p) / (1 - p)")]),
            Wrong("drops-at-eval", [("    if not training or p == 0:\n        return x, None\n",
                                     "    if p == 0:\n        return x, None\n")])],
    heavy=True,
)
def check_dropout(L: Learner) -> None:
    f, back = L.fn("dropout"), L.fn("dropout_backward")
    r = rng(31)
    x = r.standard_normal((40, 30))
    y_eval = unpack(f(x, 0.5, L.code("np.random.default_rng(0)"), False), 2,
                    "dropout(x, 0.5, rng, training=False)", ["y", "mask"])[0]
    ref = Dropout(0.5)
    same(y_eval, ref.forward(x, training=False), "dropout(x, 0.5, rng, training=False)", [
        Mistake("drops-at-eval", lambda g: bool((g == 0).mean() > 0.2),
                "at inference dropout does nothing: return x unchanged")])
    for p in (0.3, 0.5):
        ones = np.ones((400, 500))
        y, mask = unpack(f(ones, p, L.code("np.random.default_rng(1)"), True), 2,
                         f"dropout(x, {p}, rng)", ["y", "mask"])
        y = as_array(y, f"dropout(x, {p}, rng)")
        zeroed = float(np.mean(y == 0))
        sigma = math.sqrt(p * (1 - p) / y.size)
        what = f"dropout(x, {p}, rng) on 200,000 ones"
        if abs(zeroed - (1 - p)) < 6 * sigma and abs(zeroed - p) > 6 * sigma:
            raise Fail(f"{what}: it zeroed {100 * zeroed:.1f}% of the entries: p is the "
                       f"fraction to drop, so keep each with probability 1 − p", "keep-prob-swapped")
        if abs(zeroed - p) > 6 * sigma:
            raise Fail(f"{what}: it zeroed {100 * zeroed:.2f}% of the entries, expected "
                       f"{100 * p:.0f}%")
        kept = y[y != 0]
        if np.allclose(kept, 1.0):
            raise Fail(f"{what}: the survivors are not rescaled, so the mean drops to "
                       f"{y.mean():.3f}: divide them by 1 − p", "no-rescale")
        if not np.allclose(kept, 1 / (1 - p)):
            raise Fail(f"{what}: survivors should be x / (1 − p) = {1 / (1 - p):.4g}; got "
                       f"values like {kept[:3]}", "wrong-scale")
        mask = as_array(mask, f"the mask of {what}")
        if mask.shape != y.shape or not np.allclose(ones * mask, y):
            raise Fail(f"{what}: the mask returned is not the one y was made with (y = x ⊙ mask)",
                       "wrong-mask")
        again = as_array(f(ones, p, L.code("np.random.default_rng(1)"), True)[0], what)
        if not np.array_equal(again, y):
            raise Fail(f"{what}: the same seed gave a different mask: draw from the rng you are "
                       "given", "global-random")
        g = r.standard_normal(y.shape)
        ref.p = p
        ref.fixed_mask = mask
        ref.forward(ones)
        same(back(g, mask), ref.backward(g), f"dropout_backward(grad_out, mask) for p = {p}", [
            Mistake("unscaled-backward", g * (mask != 0), "the backward needs the same scaled "
                    "mask: grad_out * mask")])


# --- normalization ------------------------------------------------------------------------

def norm_case(seed: int, B: int = 6, d: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x as a Linear layer's output (mean and scale far from 0 and 1), random γ, β, dy."""
    r = rng(seed)
    x = r.standard_normal((B, 3)) @ r.standard_normal((3, d)) * 2 + r.standard_normal(d) * 3
    return x, r.standard_normal(d), r.standard_normal(d), r.standard_normal((B, d))


def weighted_output(module: Any, x: np.ndarray, r: np.ndarray) -> float:
    """Σ module(x) ⊙ r: a scalar whose gradient in x is the backward of r."""
    return float(np.sum(module.forward(x) * r))


def norm_shortcuts(x: np.ndarray, gamma: np.ndarray, dy: np.ndarray, axis: int, eps: float
                   ) -> dict[str, np.ndarray]:
    """The input gradients of two known mistakes: no path through μ and σ² at all
    (the shortcut), and the path through μ only."""
    inv = 1 / np.sqrt(x.var(axis=axis, keepdims=True) + eps)
    dx_hat = dy * gamma
    return {"shortcut": dx_hat * inv,
            "mean-path-only": inv * (dx_hat - dx_hat.mean(axis=axis, keepdims=True))}


def check_norm(L: Learner, kind: str, module: type, axis: int) -> None:
    fwd, bwd = L.fn(f"{kind}norm_forward"), L.fn(f"{kind}norm_backward")
    other = "layer" if kind == "batch" else "batch"
    for seed, B, d in ((32, 6, 5), (33, 8, 3)):
        x, gamma, beta, dy = norm_case(seed, B, d)
        norm = module(d, dtype=np.float64)
        norm.params["weight"][...] = gamma
        norm.params["bias"][...] = beta
        y = norm.forward(x)
        dx = norm.backward(dy)
        what = f"x ({B}, {d}) from a linear layer, random γ and β"
        o = 1 - axis
        wrong_axis = gamma * (x - x.mean(axis=o, keepdims=True)) / np.sqrt(
            x.var(axis=o, keepdims=True) + 1e-5) + beta
        unbiased = gamma * (x - x.mean(axis=axis, keepdims=True)) / np.sqrt(
            x.var(axis=axis, keepdims=True, ddof=1) + 1e-5) + beta
        same(fwd(x, gamma, beta), y, f"{kind}norm_forward for {what}", [
            Mistake("wrong-axis", wrong_axis, f"you normalized along the other axis: that is "
                    f"{other} normalization. {kind.capitalize()}Norm takes its statistics over "
                    + ("the batch, one per feature (axis 0)" if axis == 0 else
                       "the features, one per example (axis 1)")),
            Mistake("unbiased-variance", unbiased, "that is the unbiased variance (÷ (n − 1)); "
                    "the normalization uses the biased one (÷ n)"),
        ])
        got = unpack(bwd(dy, x, gamma), 3, f"{kind}norm_backward for {what}",
                     ["dx", "dgamma", "dbeta"])
        work = x.copy()
        probe = module(d, dtype=np.float64)
        probe.params["weight"][...], probe.params["bias"][...] = gamma, beta
        numeric = numeric_gradient(partial(weighted_output, probe, work, dy), work)
        assert np.allclose(numeric, dx, atol=1e-6)          # handgrad's own, against the math
        shortcuts = norm_shortcuts(x, gamma, dy, axis, 1e-5)
        same(got[0], dx, f"dx of {kind}norm for {what}", [
            Mistake("shortcut", shortcuts["shortcut"], "that is dy·γ/σ alone: μ and σ² depend on "
                    "every x too, so dx also subtracts the mean of dx̂ and x̂ ⊙ mean(dx̂ ⊙ x̂)"),
            Mistake("mean-path-only", shortcuts["mean-path-only"], "the path through the mean is "
                    "there, the path through the variance is missing: subtract x̂ ⊙ mean(dx̂ ⊙ x̂)"),
        ])
        same(got[1], norm.grads["weight"], f"dgamma of {kind}norm for {what}", [
            Mistake("dgamma-without-xhat", dy.sum(axis=0), "dγ sums dy ⊙ x̂, not dy alone")])
        same(got[2], norm.grads["bias"], f"dbeta of {kind}norm for {what}")


NORM_TEMPLATE = '''
import numpy as np


def {k}norm_forward(x, gamma, beta, eps=1e-5):
    """γ ⊙ x̂ + β with x̂ = (x − μ) / √(σ² + ε), μ and σ² taken over {over}."""
    ...


def {k}norm_backward(dy, x, gamma, eps=1e-5):
    """(dx, dgamma, dbeta) for the forward above, in training mode."""
    ...
'''

NORM_SOLUTION = '''
import numpy as np


def {k}norm_forward(x, gamma, beta, eps=1e-5):
    """γ ⊙ x̂ + β with x̂ = (x − μ) / √(σ² + ε), μ and σ² taken over {over}."""
    mu = x.mean(axis={a}, keepdims=True)                    # statistics over {over}
    var = x.var(axis={a}, keepdims=True)                    # biased: divide by n
    x_hat = (x - mu) / np.sqrt(var + eps)
    return gamma * x_hat + beta


def {k}norm_backward(dy, x, gamma, eps=1e-5):
    """(dx, dgamma, dbeta) for the forward above, in training mode."""
    inv_std = 1 / np.sqrt(x.var(axis={a}, keepdims=True) + eps)
    x_hat = (x - x.mean(axis={a}, keepdims=True)) * inv_std
    dgamma = (dy * x_hat).sum(axis=0)
    dbeta = dy.sum(axis=0)
    dx_hat = dy * gamma
    dx = inv_std * (dx_hat - dx_hat.mean(axis={a}, keepdims=True)
                    - x_hat * (dx_hat * x_hat).mean(axis={a}, keepdims=True))
    return dx, dgamma, dbeta
'''

NORM_DERIVATION = """
    x̂ = (x − μ) / σ̂ with σ̂ = √(σ² + ε), and y = γ ⊙ x̂ + β. Then dγ = Σ_batch dy ⊙ x̂,
    dβ = Σ_batch dy, and with dx̂ = dy ⊙ γ, because μ and σ² depend on every x of the group
    being normalized:

        dx = (1/σ̂) · (dx̂ − mean(dx̂) − x̂ ⊙ mean(dx̂ ⊙ x̂))

    the two means taken over the same axis as μ and σ². Dropping them (dx = dx̂ / σ̂) is the
    classic mistake: it passes a gradient check only when the norm comes first with γ = 1.
"""


@exercise(
    "batchnorm", "BatchNorm's forward and backward", LESSON, "section “Batch Normalization”",
    statement="""
    BatchNorm normalizes each feature over the batch (axis 0) with the batch's mean and
    biased variance, then scales by γ and shifts by β, one of each per feature.
    """ + NORM_DERIVATION + """
    Write batchnorm_forward and batchnorm_backward. They are checked against handgrad's
    BatchNorm1d (training mode) and central differences, after a linear layer with random
    γ and β.
    """,
    template=NORM_TEMPLATE.format(k="batch", over="the batch (axis 0)", a=0),
    solution=NORM_SOLUTION.format(k="batch", over="the batch (axis 0)", a=0),
    hints=[
        "Use keepdims=True so μ (1, d) broadcasts against x (B, d).",
        "dγ and dβ sum over the batch; dx needs the two extra terms of the derivation.",
        "dx = inv_std * (dx_hat − dx_hat.mean(axis=0) − x_hat * (dx_hat * x_hat).mean(axis=0)).",
    ],
    wrongs=[Wrong("unbiased-variance", [("var = x.var(axis=0, keepdims=True)",
                                         "var = x.var(axis=0, keepdims=True, ddof=1)")]),
            Wrong("shortcut", [("dx = inv_std * (dx_hat - dx_hat.mean(axis=0, keepdims=True)\n"
                                "                    - x_hat * (dx_hat * x_hat).mean(axis=0, "
                                "keepdims=True))", "dx = inv_std * dx_hat")]),
            Wrong("mean-path-only", [("\n                    - x_hat * (dx_hat * x_hat).mean("
                                      "axis=0, keepdims=True))", ")")])],
)
def check_batchnorm(L: Learner) -> None:
    check_norm(L, "batch", BatchNorm1d, axis=0)


@exercise(
    "layernorm", "LayerNorm's forward and backward", LESSON, "section “Layer Normalization”",
    statement="""
    LayerNorm normalizes each example over its features (axis 1), so it needs no batch and
    behaves the same in training and inference; γ and β are still one per feature.
    """ + NORM_DERIVATION + """
    Write layernorm_forward and layernorm_backward, checked against handgrad's LayerNorm
    and central differences.
    """,
    template=NORM_TEMPLATE.format(k="layer", over="the features (axis 1)", a=1),
    solution=NORM_SOLUTION.format(k="layer", over="the features (axis 1)", a=1),
    hints=[
        "Same formulas as BatchNorm, with the statistics over axis 1.",
        "dγ and dβ still sum over the batch (axis 0): γ and β are per feature.",
        "dx = inv_std * (dx_hat − dx_hat.mean(axis=1, keepdims=True) − x_hat * (dx_hat * "
        "x_hat).mean(axis=1, keepdims=True)).",
    ],
    wrongs=[Wrong("wrong-axis", [("mu = x.mean(axis=1, keepdims=True)", "mu = x.mean(axis=0, "
                                                                        "keepdims=True)"),
                                 ("var = x.var(axis=1, keepdims=True)", "var = x.var(axis=0, "
                                                                        "keepdims=True)")]),
            Wrong("shortcut", [("dx = inv_std * (dx_hat - dx_hat.mean(axis=1, keepdims=True)\n"
                                "                    - x_hat * (dx_hat * x_hat).mean(axis=1, "
                                "keepdims=True))", "dx = inv_std * dx_hat")])],
)
def check_layernorm(L: Learner) -> None:
    check_norm(L, "layer", LayerNorm, axis=1)


# --- from memory --------------------------------------------------------------------------------

RECALL: dict[str, tuple[str, Any, Any, dict[str, str]]] = {
    "BATCH_OF_ONE": ("Which normalization still works with a batch of one example?",
                     {"a": "BatchNorm", "b": "LayerNorm", "c": "neither"}, "b", {
                         "a": "BatchNorm takes its statistics over the batch: one example has "
                              "variance 0.",
                         "c": "LayerNorm normalizes each example over its own features.",
                     }),
    "DROPOUT_AT_INFERENCE": ("What does inverted dropout do at inference?",
                             {"a": "nothing: y = x", "b": "multiplies by 1 − p",
                              "c": "drops units as in training"}, "a", {
                                 "b": "that was the old, non-inverted dropout; inverted dropout "
                                      "scales in training instead.",
                                 "c": "at inference every unit is kept.",
                             }),
    "SIGMOID_MAX_GRADIENT": ("The largest value of σ'(z)", None, 0.25, {}),
    "TANH_MAX_GRADIENT": ("The largest value of tanh'(z)", None, 1.0, {}),
    "ONE_PERCEPTRON_XOR": ("Can a single perceptron represent XOR?",
                           {"a": "yes, with enough epochs", "b": "no: no line separates it"}, "b", {
                               "a": "no number of epochs helps: the perceptron draws one line, "
                                    "and XOR's classes are not on two sides of any line.",
                           }),
    "RMSNORM_CENTERS": ("Does RMSNorm subtract the mean?",
                        {"a": "yes", "b": "no: it only divides by the root mean square"}, "b", {
                            "a": "RMSNorm drops LayerNorm's centering (and β).",
                        }),
}


@exercise(
    "recall-perceptron-to-mlp", "From memory: perceptron, activations, norms, dropout", LESSON,
    "section “Exercises”",
    statement="""
    Close the chapter and answer from memory: a letter or a number for each.
    """,
    template=recall_template(RECALL),
    solution=recall_solution(RECALL),
    hints=[
        "σ' = σ(1 − σ) is largest where σ = ½.",
        "Which norm needs more than one example to compute its statistics?",
        "tanh' = 1 − tanh², largest at 0.",
    ],
    wrongs=[Wrong("choice-a", [('BATCH_OF_ONE = "b"', 'BATCH_OF_ONE = "a"')]),
            Wrong("too-high", [("SIGMOID_MAX_GRADIENT = 0.25", "SIGMOID_MAX_GRADIENT = 1")])],
)
def check_recall_norms(L: Learner) -> None:
    check_recall(L, RECALL)
