"""Exercises of the lesson "Build an MLP by hand": the linear layer, every activation and its
derivative, softmax, cross-entropy and its gradient, the forward and backward pass of the
4 → 16 → 3 network, He initialization, SGD, the lesson's perturbations as predict-then-run
exercises, the deeper network, the five-bug quiz and the questions to answer from memory."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np

from ...nn import GELU, LeakyReLU, Linear, ReLU, SiLU, Tanh, cross_entropy, sigmoid, softmax
from .. import measure
from ..checking import (
    Fail,
    Learner,
    Mistake,
    as_array,
    choice,
    near,
    numeric_gradient,
    same,
    same_number,
    unpack,
    within,
    within_factor,
)
from ..registry import Lesson, Wrong, exercise
from . import bugs
from .common import derivative, grads_of, letter, mistaken_backward, mlp, rng, softmax_rows, weights

LESSON = Lesson("by-hand", "Build an MLP by hand: forward, loss, manual backward pass")

# --- 1. the linear layer -------------------------------------------------------------------

@exercise(
    "linear-layer", "The linear layer: z = x Wᵀ + b", LESSON, "section “The linear layer”",
    statement="""
    A linear layer with d_in inputs and d_out outputs is d_out neurons reading the same input:
    neuron j takes the dot product of x with its weight vector and adds its bias. handgrad
    stores the weights as W of shape (d_out, d_in), one row per neuron, as PyTorch does; then
    a batch x of shape (B, d_in) maps to z = x Wᵀ + b of shape (B, d_out). (The lesson packs
    the same numbers as a (d_in, d_out) matrix and writes x W: the transpose of ours.)

    Write linear(x, W, b). It is checked against handgrad's Linear on a square layer, a
    4 → 3 layer and a batch of one.
    """,
    template='''
    import numpy as np


    def linear(x, W, b):
        """x (B, d_in), W (d_out, d_in), b (d_out,) -> z (B, d_out)."""
        ...
    ''',
    solution='''
    import numpy as np


    def linear(x, W, b):
        """x (B, d_in), W (d_out, d_in), b (d_out,) -> z (B, d_out)."""
        return x @ W.T + b          # (B, d_in) @ (d_in, d_out) + (d_out,) -> (B, d_out)
    ''',
    hints=[
        "Row j of W holds neuron j's weights, so z[:, j] is the dot product of x with W[j].",
        "The matrix product x @ M needs M of shape (d_in, d_out); W is (d_out, d_in).",
        "x @ W.T gives (B, d_out); adding b (d_out,) broadcasts it to every row of the batch.",
    ],
    wrongs=[Wrong("transposed-weight", [("x @ W.T + b  ", "x @ W + b  ")]),
            Wrong("no-bias", [("x @ W.T + b  ", "x @ W.T  ")])],
)
def check_linear(L: Learner) -> None:
    linear = L.fn("linear")
    r = rng(1)
    for B, d_in, d_out, what in ((3, 3, 3, "a square layer (3 → 3)"), (5, 4, 3, "a 4 → 3 layer"),
                                 (1, 4, 3, "a batch of one")):
        x = r.standard_normal((B, d_in))
        layer = Linear(d_in, d_out, dtype=np.float64, rng=r)
        layer.params["bias"][...] = r.standard_normal(d_out)
        W, b = layer.W.copy(), layer.params["bias"].copy()
        same(linear(x, W, b), layer.forward(x), f"linear(x, W, b) for {what}", [
            Mistake("transposed-weight", x @ W + b if d_in == d_out else np.nan,
                    "you multiplied by W, not Wᵀ: handgrad's W is (d_out, d_in), one row per "
                    "neuron, so z = x @ W.T + b"),
            Mistake("no-bias", x @ W.T, "the bias is missing: z = x Wᵀ + b"),
        ])


# --- 2-7. activations and their derivatives ---------------------------------------------

Z_EDGES = np.array([[-3.0, -0.5, 0.0, 0.5, 2.0], [1.5, 0.0, -1.0, 0.25, -2.5]])


def z_cases() -> list[tuple[np.ndarray, str]]:
    return [(Z_EDGES, "z with zeros, negatives and positives"),
            (rng(2).standard_normal((4, 6)) * 3, "a random (4, 6) z")]


@exercise(
    "relu", "ReLU and its derivative", LESSON, "section “Activation functions”",
    statement="""
    ReLU(z) = max(0, z), elementwise. Its derivative is 1 where z > 0 and 0 where z < 0; at
    z = 0 it has none, and PyTorch (and handgrad) take 0 there.

    Write relu(z) and relu_grad(z) for an array z of any shape.
    """,
    template='''
    import numpy as np


    def relu(z):
        """max(0, z) elementwise."""
        ...


    def relu_grad(z):
        """ReLU's derivative at each entry of z: 1.0 where z > 0, else 0.0."""
        ...
    ''',
    solution='''
    import numpy as np


    def relu(z):
        """max(0, z) elementwise."""
        return np.maximum(z, 0.0)


    def relu_grad(z):
        """ReLU's derivative at each entry of z: 1.0 where z > 0, else 0.0."""
        return (z > 0).astype(float)
    ''',
    hints=[
        "np.max reduces an array to its largest entry; the elementwise maximum of two arrays "
        "(or an array and a number) is another function.",
        "For the derivative, a comparison z > 0 gives an array of True/False; make it floats.",
        "relu: np.maximum(z, 0.0). relu_grad: (z > 0).astype(float) — strictly greater.",
    ],
    wrongs=[Wrong("np-max", [("np.maximum(z, 0.0)", "np.max(z, 0)")]),
            Wrong("grad-at-zero", [("(z > 0).astype(float)", "(z >= 0).astype(float)")]),
            Wrong("grad-is-value", [("return (z > 0).astype(float)", "return np.maximum(z, 0.0)")])],
)
def check_relu(L: Learner) -> None:
    relu, relu_grad = L.fn("relu"), L.fn("relu_grad")
    for z, what in z_cases():
        same(relu(z), ReLU().forward(z), f"relu(z) for {what}", [
            Mistake("np-max", np.max(z, 0), "np.max(z, 0) is the largest entry along axis 0 "
                    "(it reduces the array); the elementwise maximum is np.maximum(z, 0)")])
    for z, what in z_cases():
        same(relu_grad(z), derivative(ReLU(), z), f"relu_grad(z) for {what}", [
            Mistake("grad-at-zero", (z >= 0).astype(float),
                    "at z = 0 the derivative is taken as 0 (as PyTorch does): use z > 0, not z >= 0"),
            Mistake("grad-is-value", np.maximum(z, 0),
                    "that is ReLU itself, not its derivative: the slope is 1 or 0"),
        ])


@exercise(
    "leaky-relu", "Leaky ReLU and its derivative", LESSON, "section “Activation functions”",
    statement="""
    Leaky ReLU keeps a small slope α for negative inputs so a unit never goes completely
    silent: f(z) = z for z > 0 and α·z otherwise (α = 0.01 by default). Its derivative is 1
    for z > 0 and α otherwise.

    Write leaky_relu(z, alpha) and leaky_relu_grad(z, alpha). They are checked with α = 0.01
    and α = 0.2.
    """,
    template='''
    import numpy as np


    def leaky_relu(z, alpha=0.01):
        ...


    def leaky_relu_grad(z, alpha=0.01):
        ...
    ''',
    solution='''
    import numpy as np


    def leaky_relu(z, alpha=0.01):
        return np.where(z > 0, z, alpha * z)


    def leaky_relu_grad(z, alpha=0.01):
        return np.where(z > 0, 1.0, alpha)
    ''',
    hints=[
        "np.where(condition, a, b) picks a where the condition holds and b elsewhere.",
        "For negative z the output is α times z, and the slope there is α.",
        "leaky_relu: np.where(z > 0, z, alpha * z); the derivative: np.where(z > 0, 1.0, alpha).",
    ],
    wrongs=[Wrong("alpha-not-times-z", [("np.where(z > 0, z, alpha * z)", "np.where(z > 0, z, alpha)")]),
            Wrong("grad-forgets-alpha", [("np.where(z > 0, 1.0, alpha)", "np.where(z > 0, 1.0, 0.0)")])],
)
def check_leaky_relu(L: Learner) -> None:
    f, df = L.fn("leaky_relu"), L.fn("leaky_relu_grad")
    for alpha in (0.01, 0.2):
        for z, what in z_cases():
            same(f(z, alpha), LeakyReLU(alpha).forward(z), f"leaky_relu(z, {alpha}) for {what}", [
                Mistake("alpha-not-times-z", np.where(z > 0, z, alpha),
                        "for z < 0 the output is α·z, not α itself")])
            same(df(z, alpha), derivative(LeakyReLU(alpha), z),
                 f"leaky_relu_grad(z, {alpha}) for {what}", [
                     Mistake("grad-forgets-alpha", (z > 0).astype(float),
                             "that is ReLU's derivative: for z < 0 the slope is α, not 0")])


Z_WIDE = np.array([[-1000.0, -30.0, -1.0, 0.0, 1.0, 30.0, 1000.0]])


@exercise(
    "sigmoid", "The sigmoid and its derivative", LESSON, "section “Activation functions”",
    statement="""
    σ(z) = 1 / (1 + e^(−z)) squashes any number into (0, 1); its derivative is σ(z)(1 − σ(z)).
    Both must stay finite for z = ±1000 (no NaN).

    Write sigmoid(z) and sigmoid_grad(z).
    """,
    template='''
    import numpy as np


    def sigmoid(z):
        ...


    def sigmoid_grad(z):
        ...
    ''',
    solution='''
    import numpy as np


    def sigmoid(z):
        e = np.exp(-np.abs(z))                                 # in (0, 1]: never overflows
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


    def sigmoid_grad(z):
        s = sigmoid(z)
        return s * (1 - s)
    ''',
    hints=[
        "The derivative is written with σ(z), not with z: compute σ(z) first.",
        "e^(−z) overflows for z = −1000, and e^z / (1 + e^z) gives inf / inf = NaN for z = 1000; "
        "only ever exponentiate −|z|.",
        "With e = exp(−|z|): σ(z) = 1 / (1 + e) for z ≥ 0 and e / (1 + e) for z < 0; "
        "σ'(z) = s (1 − s) with s = σ(z).",
    ],
    wrongs=[Wrong("flipped-sign", [("np.where(z >= 0, 1 / (1 + e), e / (1 + e))",
                                    "np.where(z >= 0, e / (1 + e), 1 / (1 + e))")]),
            Wrong("grad-from-z", [("return s * (1 - s)", "return z * (1 - z)")])],
)
def check_sigmoid(L: Learner) -> None:
    f, df = L.fn("sigmoid"), L.fn("sigmoid_grad")
    for z, what in [(Z_WIDE, "z from −1000 to 1000"), *z_cases()]:
        with np.errstate(all="ignore"):
            overflow = np.exp(z) / (1 + np.exp(z))
        same(f(z), sigmoid(z), f"sigmoid(z) for {what}", [
            Mistake("flipped-sign", sigmoid(-z), "the sign in the exponent is flipped: "
                    "σ(z) = 1 / (1 + e^(−z)) rises with z"),
            Mistake("overflow", overflow, "e^z / (1 + e^z) is inf / inf = NaN at z = 1000: "
                    "only exponentiate −|z|"),
        ])
        s = sigmoid(z)
        same(df(z), s * (1 - s), f"sigmoid_grad(z) for {what}", [
            Mistake("grad-from-z", z * (1 - z), "you computed z(1 − z): the derivative is "
                    "σ(z)(1 − σ(z)), the formula applied to σ(z), not to z")])


@exercise(
    "tanh", "tanh and its derivative", LESSON, "section “Activation functions”",
    statement="""
    tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z)) maps to (−1, 1); its derivative is
    1 − tanh²(z), which vanishes for |z| > 2 or so — the vanishing-gradient story of the
    lesson. Both must stay finite for z = ±1000 (np.tanh is allowed).

    Write tanh(z) and tanh_grad(z).
    """,
    template='''
    import numpy as np


    def tanh(z):
        ...


    def tanh_grad(z):
        ...
    ''',
    solution='''
    import numpy as np


    def tanh(z):
        return np.tanh(z)


    def tanh_grad(z):
        t = np.tanh(z)
        return 1 - t * t
    ''',
    hints=[
        "The exponential formula overflows at |z| = 1000 (inf / inf); np.tanh does not.",
        "The derivative is written with tanh(z): compute t = tanh(z) first.",
        "tanh_grad: t = np.tanh(z); return 1 − t·t.",
    ],
    wrongs=[Wrong("grad-from-z", [("return 1 - t * t", "return 1 - z * z")]),
            Wrong("grad-no-square", [("return 1 - t * t", "return 1 - t")])],
)
def check_tanh(L: Learner) -> None:
    f, df = L.fn("tanh"), L.fn("tanh_grad")
    for z, what in [(Z_WIDE, "z from −1000 to 1000"), *z_cases()]:
        same(f(z), Tanh().forward(z), f"tanh(z) for {what}", [
            Mistake("overflow", lambda g: bool(np.isnan(g).any()),
                    "NaN: the exponential formula overflows at |z| = 1000 (inf / inf); use "
                    "np.tanh")])
        t = np.tanh(z)
        same(df(z), derivative(Tanh(), z), f"tanh_grad(z) for {what}", [
            Mistake("grad-from-z", 1 - z * z, "you computed 1 − z²: the derivative is 1 − tanh²(z)"),
            Mistake("grad-no-square", 1 - t, "1 − tanh(z) forgets the square: 1 − tanh²(z)"),
        ])


@exercise(
    "gelu", "GELU and its derivative", LESSON, "section “Activation functions”",
    statement="""
    GELU(z) = z·Φ(z), with Φ the standard normal CDF: a smooth ReLU used by BERT and GPT-2.
    By the product rule its derivative is Φ(z) + z·φ(z), with φ the normal density. This
    exercise asks for the exact GELU (handgrad's and PyTorch's default), not GPT-2's tanh
    approximation. normal_cdf and normal_pdf are given.

    Write gelu(z) and gelu_grad(z).
    """,
    template='''
    import math

    import numpy as np

    erf = np.vectorize(math.erf)        # the error function, elementwise


    def normal_cdf(z):
        """Φ(z) = P(N(0, 1) <= z)."""
        return 0.5 * (1 + erf(np.asarray(z) / math.sqrt(2)))


    def normal_pdf(z):
        """φ(z), the standard normal density."""
        return np.exp(-0.5 * np.asarray(z) ** 2) / math.sqrt(2 * math.pi)


    def gelu(z):
        ...


    def gelu_grad(z):
        ...
    ''',
    solution='''
    import math

    import numpy as np

    erf = np.vectorize(math.erf)        # the error function, elementwise


    def normal_cdf(z):
        """Φ(z) = P(N(0, 1) <= z)."""
        return 0.5 * (1 + erf(np.asarray(z) / math.sqrt(2)))


    def normal_pdf(z):
        """φ(z), the standard normal density."""
        return np.exp(-0.5 * np.asarray(z) ** 2) / math.sqrt(2 * math.pi)


    def gelu(z):
        return z * normal_cdf(z)


    def gelu_grad(z):
        return normal_cdf(z) + z * normal_pdf(z)
    ''',
    hints=[
        "gelu is one product of two things you have.",
        "Differentiate z·Φ(z) with the product rule; Φ' is φ.",
        "gelu: z * normal_cdf(z); gelu_grad: normal_cdf(z) + z * normal_pdf(z).",
    ],
    wrongs=[Wrong("tanh-approximation", [
                ("return z * normal_cdf(z)",
                 "return 0.5 * z * (1 + np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)))")]),
            Wrong("grad-missing-term", [("return normal_cdf(z) + z * normal_pdf(z)",
                                         "return normal_cdf(z)")])],
)
def check_gelu(L: Learner) -> None:
    f, df = L.fn("gelu"), L.fn("gelu_grad")
    for z, what in z_cases():
        approx = GELU(approximate="tanh").forward(z)
        same(f(z), GELU().forward(z), f"gelu(z) for {what}", [
            Mistake("tanh-approximation", approx, "that is GPT-2's tanh approximation (off by up "
                    f"to {np.abs(approx - GELU().forward(z)).max():.1e}); this exercise asks for "
                    "the exact z·Φ(z)")], rtol=1e-9, atol=1e-12)
        act = GELU()
        act.forward(z)
        same(df(z), derivative(GELU(), z), f"gelu_grad(z) for {what}", [
            Mistake("grad-missing-term", act.Phi, "only Φ(z): the product rule adds z·φ(z)")],
             rtol=1e-9, atol=1e-12)


@exercise(
    "silu", "SiLU (Swish) and its derivative", LESSON, "section “Activation functions”",
    statement="""
    SiLU(z) = z·σ(z), the activation inside LLaMA's feed-forward layers. By the product rule
    its derivative is σ(z) + z·σ(z)(1 − σ(z)). A stable sigmoid is given.

    Write silu(z) and silu_grad(z).
    """,
    template='''
    import numpy as np


    def sigmoid(z):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


    def silu(z):
        ...


    def silu_grad(z):
        ...
    ''',
    solution='''
    import numpy as np


    def sigmoid(z):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


    def silu(z):
        return z * sigmoid(z)


    def silu_grad(z):
        s = sigmoid(z)
        return s + z * s * (1 - s)
    ''',
    hints=[
        "silu is one product; its derivative needs the product rule.",
        "d/dz [z σ(z)] = 1·σ(z) + z·σ'(z), and σ' = σ(1 − σ).",
        "silu_grad: s = sigmoid(z); return s + z * s * (1 − s).",
    ],
    wrongs=[Wrong("grad-missing-product", [("return s + z * s * (1 - s)", "return s")]),
            Wrong("grad-is-sigmoid-grad", [("return s + z * s * (1 - s)", "return s * (1 - s)")])],
)
def check_silu(L: Learner) -> None:
    f, df = L.fn("silu"), L.fn("silu_grad")
    for z, what in z_cases():
        s = sigmoid(z)
        same(f(z), SiLU().forward(z), f"silu(z) for {what}")
        same(df(z), derivative(SiLU(), z), f"silu_grad(z) for {what}", [
            Mistake("grad-missing-product", s, "only σ(z): the product rule adds z·σ(z)(1 − σ(z))"),
            Mistake("grad-is-sigmoid-grad", s * (1 - s), "that is the sigmoid's derivative; SiLU "
                    "is z·σ(z), so the product rule gives σ + z·σ(1 − σ)"),
        ])


# --- 8. softmax ------------------------------------------------------------------------------

@exercise(
    "softmax-stable", "A softmax that survives logits of 1000", LESSON, "section “Softmax”",
    statement="""
    softmax(z)_i = e^(z_i) / Σ_j e^(z_j) turns a row of logits into probabilities. Subtracting
    the row's maximum first changes nothing mathematically (it cancels) but keeps every
    exponent ≤ 0, so nothing overflows.

    Write softmax(z) over the last axis, for one row (shape (C,)) or a batch of rows
    (shape (B, C)). It is checked on random logits, on the lesson's [1000, 999, 998], on a
    batch whose rows differ by 1000, and on a row of equal logits.

    Then answer NAIVE_AT_1000: what does the naive np.exp(z) / np.exp(z).sum() give for
    z = [1000, 999, 998]?
      "a"  [nan, nan, nan]
      "b"  [inf, inf, inf]
      "c"  [1, 0, 0]
      "d"  about [0.665, 0.245, 0.090]
    """,
    template='''
    import numpy as np


    def softmax(z):
        """Probabilities along the last axis of z; finite for any finite z."""
        ...


    NAIVE_AT_1000 = ...     # "a", "b", "c" or "d"
    ''',
    solution='''
    import numpy as np


    def softmax(z):
        """Probabilities along the last axis of z; finite for any finite z."""
        z = np.asarray(z, dtype=float)
        e = np.exp(z - z.max(axis=-1, keepdims=True))      # every exponent <= 0
        return e / e.sum(axis=-1, keepdims=True)


    NAIVE_AT_1000 = "a"
    ''',
    hints=[
        "np.exp(1000) is inf in float64 (the largest float is about 1.8e308 ≈ e^709.8).",
        "Subtract each row's own maximum — z.max(axis=-1, keepdims=True) — before np.exp, and "
        "normalize along the same axis.",
        "inf / inf is NaN, not inf.",
    ],
    wrongs=[Wrong("no-max", [("np.exp(z - z.max(axis=-1, keepdims=True))", "np.exp(z)")]),
            Wrong("wrong-axis", [("z.max(axis=-1, keepdims=True)", "z.max(axis=0, keepdims=True)"),
                                 ("e.sum(axis=-1, keepdims=True)", "e.sum(axis=0, keepdims=True)")]),
            Wrong("global-max", [("z - z.max(axis=-1, keepdims=True)", "z - z.max()")]),
            Wrong("choice-b", [('NAIVE_AT_1000 = "a"', 'NAIVE_AT_1000 = "b"')])],
)
def check_softmax(L: Learner) -> None:
    f = L.fn("softmax")
    cases = [
        (rng(3).standard_normal((5, 4)) * 2, "random logits (5, 4)"),
        (np.array([[1000.0, 999.0, 998.0]]), "the lesson's logits [[1000, 999, 998]]"),
        (np.array([1000.0, 999.0, 998.0]), "one row z = [1000, 999, 998] (shape (3,))"),
        (np.array([[1.0, 2.0, 3.0], [1001.0, 1002.0, 1003.0]]), "rows [1, 2, 3] and [1001, 1002, 1003]"),
        (np.array([[-1000.0, -999.0, -998.0]]), "logits of −1000"),
        (np.zeros((1, 4)), "a row of equal logits"),
    ]
    for z, what in cases:
        with np.errstate(all="ignore"):
            naive = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
            by_column = np.exp(z - z.max(axis=0, keepdims=True))
            by_column = by_column / by_column.sum(axis=0, keepdims=True)
            global_max = np.exp(z - z.max())
            global_max = global_max / global_max.sum(axis=-1, keepdims=True)
        mistakes = [
            Mistake("no-max", naive, "no max-subtraction: e^1000 overflows to inf and inf / inf "
                    "is NaN. Subtract each row's maximum before np.exp"),
            Mistake("wrong-axis", by_column, "you normalized down the columns (axis 0), across "
                    "the batch: each row is one example and must sum to 1 on its own"),
            Mistake("global-max", global_max, "you subtracted the maximum of the whole batch: a "
                    "row 1000 below it underflows to 0 / 0 = NaN. Subtract each row's own maximum"),
        ]
        if z.ndim == 1 or z.shape[0] == 1:
            mistakes = [m for m in mistakes if m.key != "wrong-axis"]
        same(f(z), softmax(z), f"softmax(z) for {what}", mistakes)
    with np.errstate(all="ignore"):
        z = np.array([1000.0, 999.0, 998.0])
        naive = np.exp(z) / np.exp(z).sum()
    measured = ("a" if np.isnan(naive).all() else "b" if np.isinf(naive).all() else
                "c" if np.allclose(naive, [1, 0, 0]) else "d")
    choice(L.answer("NAIVE_AT_1000"), measured,
           {"a": "[nan, nan, nan]", "b": "[inf, inf, inf]", "c": "[1, 0, 0]",
            "d": "about [0.665, 0.245, 0.090]"},
           "NAIVE_AT_1000", {
               "a": "",
               "b": "e^1000 does overflow to inf, but then the division inf / inf is NaN, not inf.",
               "c": "nothing rounds to [1, 0, 0]: every exponential is inf, and inf / inf is NaN.",
               "d": "that is the true softmax, which only the stable version computes; the "
                    "naive one overflows to inf / inf = NaN.",
           })


# --- 9. the forward pass ---------------------------------------------------------------------

@exercise(
    "forward-pass", "The forward pass of the 4 → 16 → 3 network", LESSON, "section “Forward pass”",
    statement="""
    The lesson's network: 4 inputs, 16 hidden ReLU units, 3 logits. With handgrad's weight
    layout (W1 (16, 4), W2 (3, 16)):

        z1 = X W1ᵀ + b1      (B, 16)
        a1 = ReLU(z1)        (B, 16)
        z2 = a1 W2ᵀ + b2     (B, 3)     the logits: no activation here

    Write forward(X, W1, b1, W2, b2) returning (z1, a1, z2): the backward pass will need all
    three. It is checked against handgrad's MLP on a batch of 8, a batch of one, and a
    square 3 → 3 → 3 network.
    """,
    template='''
    import numpy as np


    def forward(X, W1, b1, W2, b2):
        """X (B, 4) -> (z1 (B, 16), a1 (B, 16), z2 (B, 3)). W1 (16, 4), W2 (3, 16)."""
        ...
    ''',
    solution='''
    import numpy as np


    def forward(X, W1, b1, W2, b2):
        """X (B, 4) -> (z1 (B, 16), a1 (B, 16), z2 (B, 3)). W1 (16, 4), W2 (3, 16)."""
        z1 = X @ W1.T + b1                  # (B, 4) @ (4, 16) -> (B, 16)
        a1 = np.maximum(z1, 0)              # (B, 16)
        z2 = a1 @ W2.T + b2                 # (B, 16) @ (16, 3) -> (B, 3)
        return z1, a1, z2
    ''',
    hints=[
        "Two linear layers with a ReLU between them; nothing after the second one.",
        "Each linear layer is z = a_prev @ W.T + b with W (d_out, d_in).",
        "z1 = X @ W1.T + b1; a1 = np.maximum(z1, 0); z2 = a1 @ W2.T + b2; return all three.",
    ],
    wrongs=[Wrong("forgot-relu", [("a1 = np.maximum(z1, 0)", "a1 = z1")]),
            Wrong("relu-on-logits", [("z2 = a1 @ W2.T + b2", "z2 = np.maximum(a1 @ W2.T + b2, 0)")])],
)
def check_forward(L: Learner) -> None:
    f = L.fn("forward")
    r = rng(4)
    for sizes, B, what in (((3, 3, 3), 4, "a square 3 → 3 → 3 network"),
                           ((4, 16, 3), 8, "the lesson's 4 → 16 → 3 network, batch 8"),
                           ((4, 16, 3), 1, "a batch of one")):
        Ws, bs = weights(sizes, seed=int(r.integers(1000)))
        X = r.standard_normal((B, sizes[0])) * 2
        model = mlp(Ws, bs)
        model.forward(X)
        z1, a1, z2 = model.layers[0].z, model.layers[0].a, model.layers[1].z
        got = unpack(f(X, Ws[0], bs[0], Ws[1], bs[1]), 3, f"forward(X, …) for {what}",
                     ["z1", "a1", "z2"])
        transposed = (X @ Ws[0] + bs[0]) if sizes[0] == sizes[1] else np.nan
        same(got[0], z1, f"z1 for {what}", [Mistake(
            "transposed-weight", transposed, "you multiplied by W1, not W1ᵀ: handgrad's weights "
            "are (d_out, d_in)")], name="forward")
        same(got[1], a1, f"a1 for {what}", [Mistake(
            "forgot-relu", z1, "a1 equals z1: the ReLU is missing")], name="forward")
        same(got[2], z2, f"z2 (the logits) for {what}", [
            Mistake("forgot-relu", z1 @ Ws[1].T + bs[1], "z2 was computed from z1: the ReLU "
                    "is missing"),
            Mistake("relu-on-logits", np.maximum(z2, 0), "the logits went through a ReLU: the "
                    "output layer has no activation (the softmax lives in the loss)"),
        ], name="forward")


# --- 10-11. cross-entropy and its gradient ---------------------------------------------------

def ce_cases() -> list[tuple[np.ndarray, np.ndarray, str]]:
    r = rng(5)
    return [(r.standard_normal((6, 3)) * 2, r.integers(0, 3, 6), "random logits (6, 3)"),
            (np.array([[1000.0, 0.0, 0.0], [0.0, 1000.0, 0.0]]), np.array([1, 1]),
             "logits of 1000 (the first example confidently wrong)"),
            (r.standard_normal((1, 4)), np.array([2]), "a batch of one")]


def ce_loss(logits: np.ndarray, y: np.ndarray) -> float:
    return cross_entropy(logits, y)[0]


@exercise(
    "cross-entropy", "Cross-entropy from logits", LESSON, "section “Cross-entropy loss”",
    statement="""
    For logits z (B, C) and integer labels y (B,), the loss is the mean over the batch of
    −log p[y], with p = softmax(z). Compute log p without forming p: log p = (z − m) −
    log Σ e^(z − m), m the row's maximum. Then a confidently wrong logit of 1000 gives a loss
    of about 1000 — not inf, and not the 27.6 that log(p + 1e-12) caps it at.

    Write cross_entropy(logits, y) returning the mean loss (a number).
    """,
    template='''
    import numpy as np


    def cross_entropy(logits, y):
        """Mean over the batch of −log softmax(logits)[y]. logits (B, C), y (B,) ints."""
        ...
    ''',
    solution='''
    import numpy as np


    def cross_entropy(logits, y):
        """Mean over the batch of −log softmax(logits)[y]. logits (B, C), y (B,) ints."""
        B = logits.shape[0]
        s = logits - logits.max(axis=1, keepdims=True)              # (B, C), row max 0
        log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))    # (B, C) log-softmax
        return -log_p[np.arange(B), y].mean()
    ''',
    hints=[
        "log softmax(z) = z − log Σ_j e^(z_j); subtracting the row's max inside keeps it finite.",
        "Pick one entry per row: log_p[np.arange(B), y] — not log_p[:, y], which takes whole "
        "columns.",
        "Average over the batch with .mean(), and negate.",
    ],
    wrongs=[Wrong("sum-not-mean", [("return -log_p[np.arange(B), y].mean()",
                                    "return -log_p[np.arange(B), y].sum()")]),
            Wrong("log-clip", [("log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))",
                                "log_p = np.log(np.exp(s) / np.exp(s).sum(axis=1, keepdims=True) "
                                "+ 1e-12)")])],
)
def check_cross_entropy(L: Learner) -> None:
    f = L.fn("cross_entropy")
    for z, y, what in ce_cases():
        B = len(y)
        loss = cross_entropy(z, y)[0]
        with np.errstate(all="ignore"):
            p = softmax_rows(z)
            clipped = float(-np.log(p[np.arange(B), y] + 1e-12).mean())
            naive = float(-np.log(p[np.arange(B), y]).mean())
            columns = float(-np.log(p[:, y] + 1e-300).mean())
        same_number(f(z, y), loss, f"cross_entropy for {what}", [
            Mistake("sum-not-mean", loss * B, f"the loss is B = {B} times too large: "
                    "average over the batch (mean), don't sum"),
            Mistake("log-clip", clipped, "log(p + 1e-12) caps the loss at 27.6 when p "
                    "underflows to 0: compute log p as (z − max) − log Σ e^(z − max)"),
            Mistake("log-of-softmax", naive, "log(softmax(z)) is log 0 = −inf when p "
                    "underflows: compute log p as (z − max) − log Σ e^(z − max)"),
            Mistake("all-columns", columns, "log_p[:, y] takes whole columns (a B × B "
                    "block); pick one entry per row with log_p[np.arange(B), y]"),
        ] if B > 1 else [
            Mistake("log-clip", clipped, "log(p + 1e-12) caps the loss at 27.6 when p "
                    "underflows to 0: compute log p as (z − max) − log Σ e^(z − max)")])


@exercise(
    "ce-gradient", "The gradient of softmax cross-entropy: (p − Y) / B", LESSON,
    "section “The gradient of cross-entropy”",
    statement="""
    With p = softmax(z) and the loss averaged over the batch, the gradient with respect to the
    logits is (p − Y) / B, Y the one-hot labels: no softmax Jacobian, no quotient rule. This
    gradient starts every backward pass.

    Write ce_grad(logits, y) returning dL/dlogits, shape (B, C). It is checked against
    handgrad's cross_entropy and against central differences of the loss.
    """,
    template='''
    import numpy as np


    def ce_grad(logits, y):
        """dL/dlogits (B, C) of the mean cross-entropy. logits (B, C), y (B,) ints."""
        ...
    ''',
    solution='''
    import numpy as np


    def ce_grad(logits, y):
        """dL/dlogits (B, C) of the mean cross-entropy. logits (B, C), y (B,) ints."""
        B = logits.shape[0]
        e = np.exp(logits - logits.max(axis=1, keepdims=True))    # (B, C)
        p = e / e.sum(axis=1, keepdims=True)                       # (B, C) softmax
        p[np.arange(B), y] -= 1                                    # (B, C) p − Y
        return p / B                                               # (B, C)
    ''',
    hints=[
        "Start from the stable softmax p of each row.",
        "Subtracting the one-hot Y means: subtract 1 at [i, y[i]] for every row i.",
        "The loss is a mean over B examples, so every entry of the gradient carries a 1/B.",
    ],
    wrongs=[Wrong("forgot-batch", [("return p / B  ", "return p  ")]),
            Wrong("flipped-sign", [("return p / B  ", "return -p / B  ")])],
)
def check_ce_grad(L: Learner) -> None:
    f = L.fn("ce_grad")
    for z, y, what in ce_cases():
        B = len(y)
        g = cross_entropy(z, y)[1]
        if np.abs(z).max() < 100:
            x = z.copy()
            numeric = numeric_gradient(partial(ce_loss, x, y), x)
            assert np.allclose(numeric, g, atol=1e-7)           # handgrad's own, against the math
        p = softmax_rows(z)
        mistakes = [
            Mistake("forgot-batch", g * B, f"the gradient is B = {B} times too large: did you "
                    "forget to divide by the batch size?"),
            Mistake("flipped-sign", -g, "the sign is flipped: it is p − Y, which points uphill"),
            Mistake("no-one-hot", p / B, "you returned p / B: subtract the one-hot labels, "
                    "(p − Y) / B"),
        ]
        same(f(z, y), g, f"ce_grad for {what}", mistakes[B == 1:])


# --- 12-13. backward ------------------------------------------------------------------------

@exercise(
    "backward-pass", "The backward pass of the 2-layer network, by hand", LESSON,
    "section “Backpropagation”",
    statement="""
    From the forward pass's z1, a1, z2 and the labels y, walk the chain rule back:

        dz2 = (p − Y) / B                    (B, 3)    p = softmax(z2)
        dW2 = dz2ᵀ a1    db2 = Σ_batch dz2   (3, 16), (3,)
        da1 = dz2 W2                          (B, 16)
        dz1 = da1 ⊙ 1[z1 > 0]                 (B, 16)
        dW1 = dz1ᵀ X     db1 = Σ_batch dz1   (16, 4), (16,)

    With handgrad's layout (W of shape (d_out, d_in)) every dW has the shape of its W, and
    dL/da_prev = δ W with no transpose. Write backward(X, y, z1, a1, z2, W2) returning
    (dW1, db1, dW2, db2). It is checked against handgrad's MLP and central differences.
    """,
    template='''
    import numpy as np


    def backward(X, y, z1, a1, z2, W2):
        """Gradients of the mean cross-entropy: (dW1 (16, 4), db1 (16,), dW2 (3, 16), db2 (3,))."""
        ...
    ''',
    solution='''
    import numpy as np


    def backward(X, y, z1, a1, z2, W2):
        """Gradients of the mean cross-entropy: (dW1 (16, 4), db1 (16,), dW2 (3, 16), db2 (3,))."""
        B = X.shape[0]
        e = np.exp(z2 - z2.max(axis=1, keepdims=True))
        dz2 = e / e.sum(axis=1, keepdims=True)           # (B, 3) softmax p
        dz2[np.arange(B), y] -= 1                        # (B, 3) p − Y
        dz2 /= B                                         # (B, 3) (p − Y) / B
        dW2 = dz2.T @ a1                                 # (3, B) @ (B, 16) -> (3, 16)
        db2 = dz2.sum(axis=0)                            # (3,)
        da1 = dz2 @ W2                                   # (B, 3) @ (3, 16) -> (B, 16)
        dz1 = da1 * (z1 > 0)                             # (B, 16) through ReLU's mask
        dW1 = dz1.T @ X                                  # (16, B) @ (B, 4) -> (16, 4)
        db1 = dz1.sum(axis=0)                            # (16,)
        return dW1, db1, dW2, db2
    ''',
    hints=[
        "Start with dz2 = (p − Y) / B, as in the ce-gradient exercise.",
        "A weight gradient is δᵀ times the layer's input (so it has W's shape, (d_out, d_in)); "
        "a bias gradient sums δ over the batch; the gradient flowing back is δ W.",
        "Between the layers, multiply by ReLU's mask (z1 > 0): no gradient flows through a unit "
        "that was off.",
    ],
    wrongs=[Wrong("forgot-batch", [("    dz2 /= B                                         "
                                    "# (B, 3) (p − Y) / B\n", "")]),
            Wrong("forgot-relu-mask", [("dz1 = da1 * (z1 > 0)", "dz1 = da1")]),
            Wrong("dW-transposed", [("dW2 = dz2.T @ a1", "dW2 = a1.T @ dz2"),
                                    ("dW1 = dz1.T @ X", "dW1 = X.T @ dz1")])],
)
def check_backward(L: Learner) -> None:
    f = L.fn("backward")
    r = rng(6)
    for sizes, B, what in (((4, 16, 3), 8, "the 4 → 16 → 3 network, batch 8"),
                           ((4, 16, 3), 1, "a batch of one")):
        Ws, bs = weights(sizes, seed=int(r.integers(1000)))
        X = r.standard_normal((B, 4)) * 2
        y = r.integers(0, 3, B)
        model = mlp(Ws, bs)
        g = grads_of(model, X, y)
        z1, a1, z2 = model.layers[0].z, model.layers[0].a, model.layers[1].z
        got = unpack(f(X, y, z1, a1, z2, Ws[1]), 4, f"backward(…) for {what}",
                     ["dW1", "db1", "dW2", "db2"])
        expected = [g["layers.0.weight"], g["layers.0.bias"], g["layers.1.weight"],
                    g["layers.1.bias"]]
        no_b = mistaken_backward(X, y, Ws, bs, per_batch=False)
        no_mask = mistaken_backward(X, y, Ws, bs, mask=False)
        if B > 2:                                      # the derivation, against the math
            W = model.layers[0].params["weight"]
            numeric = numeric_gradient(partial(model.loss_of, X, y), W)
            assert np.allclose(numeric, expected[0], atol=1e-6)
        for i, name in ((2, "dW2"), (3, "db2"), (0, "dW1"), (1, "db1")):
            l, kind = (1 if i >= 2 else 0), i % 2
            mistakes = []
            if B > 1:
                mistakes.append(Mistake("forgot-batch", no_b[kind][l], f"it is B = {B} times too "
                                        "large: did you forget to divide by the batch size?"))
            if l == 0:
                mistakes.append(Mistake("forgot-relu-mask", no_mask[kind][l], "no gradient may "
                                        "flow back through a ReLU that was off: multiply da1 by "
                                        "the mask (z1 > 0)"))
            if kind == 0:
                mistakes.append(Mistake("dW-transposed", expected[i].T, f"{name} has the shape of "
                                        "W transposed: with W stored (d_out, d_in), dW = δᵀ a_prev "
                                        "(a_prevᵀ δ belongs to the lesson's x W layout)"))
            same(got[i], expected[i], f"{name} for {what}", mistakes, name="backward")


@exercise(
    "bias-gradient", "The bias gradient sums over the batch", LESSON,
    "section “Why the bias gradient is a sum”",
    statement="""
    z = a Wᵀ + b adds the same b to every row of the batch, so each row sends its own
    gradient back to b, and they add up: dL/db = Σ over the batch of δ, one number per unit.
    (The 1/B of the mean loss is already inside δ.)

    Write bias_grad(delta) for δ of shape (B, d), returning shape (d,).
    """,
    template='''
    import numpy as np


    def bias_grad(delta):
        """dL/db (d,) from δ = dL/dz (B, d)."""
        ...
    ''',
    solution='''
    import numpy as np


    def bias_grad(delta):
        """dL/db (d,) from δ = dL/dz (B, d)."""
        return delta.sum(axis=0)          # (B, d) -> (d,)
    ''',
    hints=[
        "Each of the B rows used b once.",
        "Reduce over the batch axis (0), not the feature axis.",
        "delta.sum(axis=0).",
    ],
    wrongs=[Wrong("mean", [("return delta.sum(axis=0)", "return delta.mean(axis=0)")]),
            Wrong("wrong-axis", [("return delta.sum(axis=0)", "return delta.sum(axis=1)")])],
)
def check_bias_grad(L: Learner) -> None:
    f = L.fn("bias_grad")
    r = rng(7)
    for B, d, what in ((4, 4, "δ of shape (4, 4)"), (6, 3, "δ of shape (6, 3)"),
                       (1, 5, "a batch of one")):
        delta = r.standard_normal((B, d))
        layer = Linear(3, d, dtype=np.float64, rng=r)
        layer.forward(r.standard_normal((B, 3)))
        layer.backward(delta)
        same(f(delta), layer.db, f"bias_grad for {what}", [
            Mistake("mean", delta.mean(axis=0), f"the mean is B = {B} times too small: the bias "
                    "was added to every row, so the rows' gradients add up"),
            Mistake("wrong-axis", delta.sum(axis=1), "you summed over the units (axis 1); the "
                    "bias gets one gradient per unit, summed over the batch (axis 0)"),
            Mistake("sum-all", delta.sum(), "you summed everything to one number; the bias has "
                    "one gradient per unit"),
        ])


# --- 14. He initialization -----------------------------------------------------------------

@exercise(
    "he-init", "He and Xavier initialization", LESSON, "section “Initialization”",
    statement="""
    He initialization draws every weight from N(0, 2/fan_in): standard deviation √(2/fan_in).
    Xavier (Glorot) uses variance 2/(fan_in + fan_out), for tanh and sigmoid networks.
    Weights are (d_out, d_in), so fan_in = d_in. Draw from the generator you are given
    (rng.standard_normal), never from np.random's global state, so a seed fixes the result.

    Write he_normal(rng, d_out, d_in) and xavier_normal(rng, d_out, d_in). Then answer
    WHY_TWO: where does the 2 in He's 2/fan_in come from?
      "a"  ReLU zeroes about half of its inputs, halving the second moment of the
           activations; doubling the weights' variance gives it back
      "b"  the network has two layers
      "c"  the variance of a sum of two independent terms is twice as large
      "d"  it makes the weights' standard deviation equal to 2/fan_in
    """,
    template='''
    import math

    import numpy as np


    def he_normal(rng, d_out, d_in):
        """A (d_out, d_in) weight with entries ~ N(0, 2 / d_in)."""
        ...


    def xavier_normal(rng, d_out, d_in):
        """A (d_out, d_in) weight with entries ~ N(0, 2 / (d_in + d_out))."""
        ...


    WHY_TWO = ...       # "a", "b", "c" or "d"
    ''',
    solution='''
    import math

    import numpy as np


    def he_normal(rng, d_out, d_in):
        """A (d_out, d_in) weight with entries ~ N(0, 2 / d_in)."""
        return rng.standard_normal((d_out, d_in)) * math.sqrt(2 / d_in)


    def xavier_normal(rng, d_out, d_in):
        """A (d_out, d_in) weight with entries ~ N(0, 2 / (d_in + d_out))."""
        return rng.standard_normal((d_out, d_in)) * math.sqrt(2 / (d_in + d_out))


    WHY_TWO = "a"
    ''',
    hints=[
        "N(0, v) has standard deviation √v: scale standard normal draws by √v, not by v.",
        "fan_in is the number of inputs each neuron sums over: d_in.",
        "he_normal: rng.standard_normal((d_out, d_in)) * math.sqrt(2 / d_in).",
    ],
    wrongs=[Wrong("variance-as-std", [("math.sqrt(2 / d_in)", "(2 / d_in)")]),
            Wrong("fan-out", [("math.sqrt(2 / d_in)", "math.sqrt(2 / d_out)")]),
            Wrong("choice-b", [('WHY_TWO = "a"', 'WHY_TWO = "b"')])],
)
def check_he_init(L: Learner) -> None:
    d_out, d_in = 300, 120
    n = d_out * d_in
    for name, var in (("he_normal", 2 / d_in), ("xavier_normal", 2 / (d_in + d_out))):
        f = L.fn(name)
        what = f"{name}(rng, {d_out}, {d_in})"
        w1 = same_shape(f(L.code("np.random.default_rng(7)"), d_out, d_in), (d_out, d_in), what)
        w2 = f(L.code("np.random.default_rng(7)"), d_out, d_in)
        if not np.array_equal(w1, np.asarray(w2)):
            raise Fail(f"{what}: two generators with the same seed gave different weights: draw "
                       "from the rng you are given (rng.standard_normal), not np.random",
                       "global-random")
        std, want = float(w1.std()), math.sqrt(var)
        if abs(float(w1.mean())) > 5 * want / math.sqrt(n):
            raise Fail(f"{what}: the mean is {w1.mean():.3g}; weights should be centered on 0",
                       "not-centered")
        if abs(std / want - 1) < 0.03:
            continue
        candidates = {"variance-as-std": (var, f"you scaled by the variance {var:.4g} instead of "
                                               f"its square root {want:.4g}"),
                      "fan-out": (math.sqrt(2 / d_out), "you divided by fan_out (d_out); "
                                  "He's variance is 2 / fan_in"),
                      "unscaled": (1.0, "the weights are N(0, 1): scale them"),
                      "xavier-for-he": (math.sqrt(2 / (d_in + d_out)), "that is Xavier's scale"),
                      "he-for-xavier": (math.sqrt(2 / d_in), "that is He's scale")}
        for key, (s, text) in candidates.items():
            if abs(std / s - 1) < 0.03:
                raise Fail(f"{what}: standard deviation {std:.4g}, expected {want:.4g}: {text}", key)
        raise Fail(f"{what}: standard deviation {std:.4g}, expected √{var:.4g} = {want:.4g}")
    choice(L.answer("WHY_TWO"), "a", {
        "a": "ReLU halves the second moment; the 2 gives it back", "b": "two layers",
        "c": "a sum of two terms", "d": "standard deviation 2/fan_in"}, "WHY_TWO", {
        "a": "",
        "b": "the 2 does not depend on the depth: every layer of a 100-layer ReLU net uses it.",
        "c": "nothing is summed twice: each pre-activation sums fan_in terms (hence 1/fan_in); "
             "the 2 makes up for ReLU zeroing about half of them.",
        "d": "2/fan_in is the variance; the standard deviation is √(2/fan_in).",
    })


def same_shape(got: object, shape: tuple[int, ...], what: str) -> np.ndarray:
    """``got`` as an array, or a Fail unless it has ``shape`` (a transposed one is named)."""
    a = as_array(got, what)
    if a.shape != shape:
        if a.shape == shape[::-1]:
            raise Fail(f"{what}: shape {a.shape} is transposed: handgrad's weights are "
                       f"(d_out, d_in) = {shape}", "transposed-shape")
        raise Fail(f"{what}: expected shape {shape}, got {a.shape}", "wrong-shape")
    return a


# --- 15. SGD ----------------------------------------------------------------------------------

@exercise(
    "sgd-step", "One step of stochastic gradient descent", LESSON,
    "section “Stochastic gradient descent”",
    statement="""
    SGD moves every parameter against its gradient: θ ← θ − η·∂L/∂θ. With η = 0.05 and
    dW2[0, 0] = 0.13, W2[0, 0] falls by 0.0065.

    Write sgd_step(params, grads, lr) for two dicts with the same keys (name -> array). Change
    the arrays in params in place — a model holds on to its arrays, so a new array put in the
    dict would never reach it — and return nothing.
    """,
    template='''
    import numpy as np


    def sgd_step(params, grads, lr):
        """θ ← θ − lr·g for every array in params, in place."""
        ...
    ''',
    solution='''
    import numpy as np


    def sgd_step(params, grads, lr):
        """θ ← θ − lr·g for every array in params, in place."""
        for name, p in params.items():
            p -= lr * grads[name]             # in place: the same array, new numbers
    ''',
    hints=[
        "The step goes against the gradient: downhill.",
        "`p = p - lr * g` makes a new array and leaves the old one (the model's) unchanged; "
        "`p -= lr * g` changes the array itself.",
        "for name, p in params.items(): p -= lr * grads[name]",
    ],
    wrongs=[Wrong("ascent", [("p -= lr * grads[name]", "p += lr * grads[name]")]),
            Wrong("not-in-place", [("p -= lr * grads[name]", "params[name] = p - lr * grads[name]")])],
)
def check_sgd(L: Learner) -> None:
    f = L.fn("sgd_step")
    r = rng(8)
    W2 = r.standard_normal((3, 16))
    W2[0, 0] = 0.5
    dW2 = r.standard_normal((3, 16))
    dW2[0, 0] = 0.13
    b2, db2 = r.standard_normal(3), r.standard_normal(3)
    arrays = {"W2": L.put(W2), "b2": L.put(b2)}
    params = L.put(arrays)
    f(params, {"W2": dW2, "b2": db2}, 0.05)
    in_dict = L.fetch(params)
    held = {k: L.fetch(v) for k, v in arrays.items()}
    for name, p, g in (("W2", W2, dW2), ("b2", b2, db2)):
        expected = p - 0.05 * g
        if np.allclose(np.asarray(in_dict[name], dtype=float), expected) and \
                np.allclose(held[name], p):
            raise Fail(f"sgd_step: params['{name}'] is a new array; the array the model holds "
                       "did not change. Update in place: p -= lr * g", "not-in-place")
        same(held[name], expected, f"params['{name}'] after sgd_step(params, grads, lr=0.05)", [
            Mistake("ascent", p + 0.05 * g, "the step went uphill: θ ← θ − lr·g"),
            Mistake("no-lr", p - g, "the learning rate is missing: θ ← θ − lr·g"),
        ])
    L.note(f"W2[0, 0]: 0.5 − 0.05 × 0.13 = {0.5 - 0.05 * 0.13:.4f}")


# --- 16-19. the lesson's perturbations: predict, then run ------------------------------------

BLOB_SETUP = ("the lesson's network (4 → 16 → 3, He init, zero biases) on its three blobs "
              "(1024 points, seed 42), SGD with batches of 32")


@exercise(
    "predict-lr-5", "Predict: learning rate 5", LESSON, "section “Exercises: perturb it”",
    statement=f"""
    Predict, then run. Train {BLOB_SETUP} for 2000 steps with lr = 5.0 instead of 0.05.
    What does the loss curve look like? Decide on paper, then run it (your own NumPy loop,
    or let the checker run it: a wrong answer tells you what it measured).

    LR_5_CURVE is one of:
      "a"  the loss turns NaN within a few steps
      "b"  the loss leaps up, then sits flat near log 3 ≈ 1.10 with accuracy at chance
      "c"  it trains faster than with lr 0.05 and ends lower
      "d"  it still falls, only more noisily
    """,
    template='''
    LR_5_CURVE = ...      # "a", "b", "c" or "d"
    ''',
    solution='''
    LR_5_CURVE = "b"
    ''',
    hints=[
        "A step of 5 × gradient moves the weights by more than their own size.",
        "After a huge step, many hidden units get large negative biases; a ReLU that is off "
        "for every input gets no gradient ever again.",
        "Look at the accuracy after the jump: what does a network whose hidden layer is dead "
        "predict?",
    ],
    wrongs=[Wrong("choice-a", [('LR_5_CURVE = "b"', 'LR_5_CURVE = "a"')]),
            Wrong("choice-c", [('LR_5_CURVE = "b"', 'LR_5_CURVE = "c"')])],
    seconds=10,
    heavy=True,
)
def check_lr_5(L: Learner) -> None:
    answer = L.answer("LR_5_CURVE")
    run, base = measure.lesson_run(lr=5.0), measure.lesson_run()
    loss, acc = run["loss"][-1], run["accuracy"][-1]
    if run["nan_at"] is not None:
        measured = "a"
    elif acc < 0.45 and abs(loss - math.log(3)) < 0.3:
        measured = "b"
    elif loss < 0.9 * base["loss"][-1]:
        measured = "c"
    else:
        measured = "d"
    seen = (f"handgrad measured: the loss went from {run['loss'][0]:.2f} to a peak of "
            f"{run['max_loss']:.4g}, then {loss:.3f} after 2000 steps (log 3 = 1.099), accuracy "
            f"{100 * acc:.1f}% (lr 0.05: loss {base['loss'][-1]:.3f}, accuracy "
            f"{100 * base['accuracy'][-1]:.1f}%)"
            + ("" if run["nan_at"] is None else f"; NaN at step {run['nan_at']}"))
    choice(answer, measured, {"a": "NaN within a few steps", "b": "leaps up, then flat near log 3",
                              "c": "faster, ends lower", "d": "falls, more noisily"},
           "LR_5_CURVE", dict.fromkeys("abcd", seen + "."))
    L.note(seen + ". The lesson says a too-large rate 'bounces or NaNs out'; here it does "
           "neither: it kills the hidden layer.")


@exercise(
    "predict-lr-1e-5", "Predict: learning rate 1e-5", LESSON, "section “Exercises: perturb it”",
    statement=f"""
    Predict, then run. Train {BLOB_SETUP} with lr = 1e-5. How many steps pass before there is
    any progress? Count "progress" as the loss over all 1024 points falling 10% below where
    it started.

    STEPS_TO_10_PERCENT is your number of steps; within a factor of 3 of handgrad's
    measurement passes.
    """,
    template='''
    STEPS_TO_10_PERCENT = ...
    ''',
    solution='''
    STEPS_TO_10_PERCENT = 500
    ''',
    hints=[
        "Each step moves a weight by 1e-5 × its gradient; the gradients here are of order 1.",
        "The loss starts near 2.9: 10% of it is about 0.29. How much does one step lower it?",
        "To first order a step lowers the loss by lr × ‖g‖²; ‖g‖² is a few tens at the start.",
    ],
    wrongs=[Wrong("too-low", [("STEPS_TO_10_PERCENT = 500", "STEPS_TO_10_PERCENT = 20")]),
            Wrong("too-high", [("STEPS_TO_10_PERCENT = 500", "STEPS_TO_10_PERCENT = 100000")])],
    seconds=10,
    heavy=True,
)
def check_lr_small(L: Learner) -> None:
    answer = L.answer("STEPS_TO_10_PERCENT")
    run = measure.lesson_run(lr=1e-5, steps=20000, until_loss_fraction=0.9)
    steps = measure.first_step_reaching(run, "loss", 0.9 * run["loss"][0], below=True)
    measured = float(steps or 20000)
    within_factor(answer, measured, 3.0, "STEPS_TO_10_PERCENT")
    L.note(f"handgrad measured {measured:g} steps (loss {run['loss'][0]:.3f} → "
           f"{run['loss'][-1]:.3f}); lr 0.05 gets there in about 10.")


@exercise(
    "predict-width-1", "Predict: a hidden layer of width 1", LESSON, "section “Exercises: perturb it”",
    statement=f"""
    Predict, then run. Train {BLOB_SETUP} for 2000 steps with hidden_dim = 1: a single ReLU
    unit between the inputs and the three logits. The lesson says the accuracy plateaus at
    about 33%. What accuracy over all 1024 points does it reach?

    WIDTH_1_ACCURACY is a fraction (0.5 for 50%); within ±0.08 of handgrad's measurement passes.
    """,
    template='''
    WIDTH_1_ACCURACY = ...
    ''',
    solution='''
    WIDTH_1_ACCURACY = 0.78
    ''',
    hints=[
        "One unit gives the output layer a single number h ≥ 0 per point.",
        "Three logits that are straight lines in h can still split h into three intervals.",
        "If the three blobs lie roughly in order along some direction, one unit can separate "
        "them; chance (33%) is what you get when the unit dies.",
    ],
    wrongs=[Wrong("lesson-33", [("WIDTH_1_ACCURACY = 0.78", "WIDTH_1_ACCURACY = 0.33")]),
            Wrong("too-high", [("WIDTH_1_ACCURACY = 0.78", "WIDTH_1_ACCURACY = 1.0")])],
    seconds=10,
    heavy=True,
)
def check_width_1(L: Learner) -> None:
    answer = L.answer("WIDTH_1_ACCURACY")
    run, base = measure.lesson_run(hidden=1), measure.lesson_run()
    acc = run["accuracy"][-1]
    within(answer, acc, 0.08, "WIDTH_1_ACCURACY", [
        Mistake("lesson-33", near(1 / 3, 0.035), f"that is the lesson's figure, and on its own "
                f"setup it is wrong: handgrad measured {100 * acc:.1f}% (width 16: "
                f"{100 * base['accuracy'][-1]:.1f}%). One ReLU unit gives the output a single "
                "number h ≥ 0, and three lines in h can still split blobs that lie in order "
                "along one direction; it stays at chance only if the unit dies")])
    L.note(f"handgrad measured {100 * acc:.1f}% after 2000 steps; the lesson's 33% is what a dead "
           "unit gives.")


@exercise(
    "predict-normal-init", "Predict: weights from N(0, 1)", LESSON, "section “Exercises: perturb it”",
    statement=f"""
    Predict, then run. Train {BLOB_SETUP}, but draw the weights from N(0, 1) (plain randn,
    not scaled by √(2/fan_in)). Does training still converge? How many steps does it take to
    reach 80% accuracy over all 1024 points (He init: about 80)?

    NORMAL_INIT_CONVERGES is "yes" or "no"; NORMAL_INIT_STEPS_TO_80 is your step count, and
    within a factor of 2 of handgrad's measurement passes.
    """,
    template='''
    NORMAL_INIT_CONVERGES = ...      # "yes" or "no"
    NORMAL_INIT_STEPS_TO_80 = ...
    ''',
    solution='''
    NORMAL_INIT_CONVERGES = "yes"
    NORMAL_INIT_STEPS_TO_80 = 150
    ''',
    hints=[
        "Two layers is shallow: the variance grows by a factor of about fan_in/2 per layer, "
        "twice, not fifty times.",
        "The first loss is larger (the logits are spread), so the first steps have more to undo.",
        "Compare to He's 80 steps: slower, but not by orders of magnitude.",
    ],
    wrongs=[Wrong("choice-no", [('NORMAL_INIT_CONVERGES = "yes"', 'NORMAL_INIT_CONVERGES = "no"')]),
            Wrong("too-high", [("NORMAL_INIT_STEPS_TO_80 = 150", "NORMAL_INIT_STEPS_TO_80 = 2000")])],
    seconds=10,
    heavy=True,
)
def check_normal_init(L: Learner) -> None:
    converges = L.answer("NORMAL_INIT_CONVERGES")
    run, base = measure.lesson_run(init="normal"), measure.lesson_run()
    steps = measure.first_step_reaching(run, "accuracy", 0.8)
    he_steps = measure.first_step_reaching(base, "accuracy", 0.8)
    seen = (f"handgrad measured: first loss {run['loss'][0]:.2f} (He: {base['loss'][0]:.2f}), "
            f"80% accuracy after {steps} steps (He: {he_steps}), final accuracy "
            f"{100 * run['accuracy'][-1]:.1f}%")
    choice(converges, "yes" if steps is not None else "no", {"yes": "it converges",
                                                             "no": "it does not"},
           "NORMAL_INIT_CONVERGES", {"yes": seen + ".", "no": seen + "."})
    if steps is not None:
        within_factor(L.answer("NORMAL_INIT_STEPS_TO_80"), float(steps), 2.0,
                      "NORMAL_INIT_STEPS_TO_80")
    L.note(seen + ". A poor init hurts most in deep networks: see predict-init-depth.")


# --- 20-21. deeper, and tanh -------------------------------------------------------------

@exercise(
    "deeper-net", "A deeper network: d_in → 16 → 16 → 3 and its backward", LESSON,
    "section “Exercises: go deeper”",
    statement="""
    Extend the network to two hidden layers, d_in → 16 → 16 → 3 (three weight matrices), and
    derive the new backward pass on paper first. Then write it for any depth: Ws and bs are
    lists, one (d_out, d_in) weight and one bias per layer, ReLU after every layer but the
    last.

    forward(X, Ws, bs) returns (zs, acts): zs the pre-activation of each layer, acts the
    input X followed by each layer's output (so acts has one entry more than zs).
    backward(X, y, Ws, bs) returns (dWs, dbs) for the mean cross-entropy.

    It is checked against handgrad on a square 4 → 4 → 4 → 4, on 4 → 16 → 16 → 3 and on the
    quadrant task's 2 → 16 → 16 → 16 → 4; then the checker trains 4 → 16 → 16 → 3 on the
    lesson's blobs with your gradients and SGD, and it must converge.
    """,
    template='''
    import numpy as np


    def forward(X, Ws, bs):
        """(zs, acts): zs[l] = acts[l] @ Ws[l].T + bs[l]; ReLU after all but the last layer."""
        ...


    def backward(X, y, Ws, bs):
        """(dWs, dbs): the gradients of the mean cross-entropy, one per layer."""
        ...
    ''',
    solution='''
    import numpy as np


    def forward(X, Ws, bs):
        """(zs, acts): zs[l] = acts[l] @ Ws[l].T + bs[l]; ReLU after all but the last layer."""
        zs, acts = [], [X]
        for l, (W, b) in enumerate(zip(Ws, bs)):
            z = acts[-1] @ W.T + b                          # (B, d_l)
            zs.append(z)
            acts.append(z if l == len(Ws) - 1 else np.maximum(z, 0))
        return zs, acts


    def backward(X, y, Ws, bs):
        """(dWs, dbs): the gradients of the mean cross-entropy, one per layer."""
        zs, acts = forward(X, Ws, bs)
        B = X.shape[0]
        e = np.exp(zs[-1] - zs[-1].max(axis=1, keepdims=True))
        delta = e / e.sum(axis=1, keepdims=True)
        delta[np.arange(B), y] -= 1
        delta /= B                                          # (B, K) (p − Y) / B
        dWs, dbs = [None] * len(Ws), [None] * len(Ws)
        for l in range(len(Ws) - 1, -1, -1):
            dWs[l] = delta.T @ acts[l]                      # (d_l, B) @ (B, d_{l-1})
            dbs[l] = delta.sum(axis=0)                      # (d_l,)
            if l > 0:
                delta = (delta @ Ws[l]) * (zs[l - 1] > 0)   # back through W, then the mask
        return dWs, dbs
    ''',
    hints=[
        "The backward of every hidden layer is the same two steps: δ_prev = (δ W) ⊙ 1[z_prev > 0].",
        "Walk the layers from the last to the first; dW[l] = δᵀ acts[l] uses the layer's input.",
        "Keep the forward's zs for the masks and acts for the weight gradients.",
    ],
    wrongs=[Wrong("forgot-relu-mask", [("delta = (delta @ Ws[l]) * (zs[l - 1] > 0)",
                                        "delta = delta @ Ws[l]")]),
            Wrong("propagated-transposed", [("delta = (delta @ Ws[l]) * (zs[l - 1] > 0)",
                                             "delta = (delta @ Ws[l].T) * (zs[l - 1] > 0)")]),
            Wrong("forgot-batch", [("delta /= B  ", "delta *= 1  ")])],
    seconds=20,
    heavy=True,
)
def check_deeper(L: Learner) -> None:
    fwd, bwd = L.fn("forward"), L.fn("backward")
    r = rng(9)
    for sizes, B in (((4, 4, 4, 4), 6), ((4, 16, 16, 3), 8), ((2, 16, 16, 16, 4), 5)):
        what = " → ".join(map(str, sizes))
        Ws, bs = weights(sizes, seed=int(r.integers(1000)))
        X = r.standard_normal((B, sizes[0])) * 2
        y = r.integers(0, sizes[-1], B)
        model = mlp(Ws, bs)
        g = grads_of(model, X, y)
        zs, acts = unpack(fwd(X, Ws, bs), 2, f"forward(X, Ws, bs) for {what}", ["zs", "acts"])
        if not isinstance(zs, (list, tuple)) or len(zs) != len(Ws):
            raise Fail(f"forward for {what}: zs should hold {len(Ws)} arrays, one per layer",
                       "wrong-type")
        if not isinstance(acts, (list, tuple)) or len(acts) != len(Ws) + 1:
            raise Fail(f"forward for {what}: acts should hold {len(Ws) + 1} arrays: X, then "
                       "each layer's output", "wrong-type")
        for l, layer in enumerate(model.layers):
            same(zs[l], layer.z, f"zs[{l}] for {what}")
            same(acts[l + 1], layer.a if l < len(Ws) - 1 else layer.z, f"acts[{l + 1}] for {what}")
        dWs, dbs = unpack(bwd(X, y, Ws, bs), 2, f"backward(X, y, Ws, bs) for {what}",
                          ["dWs", "dbs"])
        variants = {"forgot-batch": mistaken_backward(X, y, Ws, bs, per_batch=False),
                    "forgot-relu-mask": mistaken_backward(X, y, Ws, bs, mask=False),
                    "propagated-transposed": mistaken_backward(X, y, Ws, bs,
                                                               propagate_transposed=True)}
        texts = {"forgot-batch": f"it is B = {B} times too large: did you forget to divide by "
                                 "the batch size?",
                 "forgot-relu-mask": "the gradient went back through a ReLU without its mask "
                                     "1[z > 0]",
                 "propagated-transposed": "you propagated δ through Wᵀ: with W (d_out, d_in), "
                                          "dL/da_prev = δ W"}
        for l in range(len(Ws) - 1, -1, -1):
            for kind, got, name in ((0, dWs, "dWs"), (1, dbs, "dbs")):
                if not isinstance(got, (list, tuple)) or len(got) != len(Ws):
                    raise Fail(f"backward for {what}: {name} should hold {len(Ws)} arrays",
                               "wrong-type")
                key = f"layers.{l}.{'weight' if kind == 0 else 'bias'}"
                same(got[l], g[key], f"{name}[{l}] for {what}", [
                    Mistake(k, v[kind][l] if v[kind][l] is not None else np.nan, texts[k])
                    for k, v in variants.items()])
    # train it with the learner's gradients: it must converge
    rng_, X, y = measure.lesson_blobs()
    model = measure.lesson_net(rng_, sizes=(4, 16, 16, 3))
    Ws = [layer.params["weight"].copy() for layer in model.layers]
    bs = [layer.params["bias"].copy() for layer in model.layers]
    for _ in range(600):
        idx = rng_.choice(len(X), 32, replace=False)
        dWs, dbs = bwd(X[idx], y[idx], Ws, bs)
        for W, b, dW, db in zip(Ws, bs, dWs, dbs):
            W -= 0.05 * np.asarray(dW)
            b -= 0.05 * np.asarray(db)
    final = mlp(Ws, bs)
    acc = float(np.mean(final.predict(X) == y))
    if acc < 0.75:
        raise Fail(f"trained with your gradients (600 steps, lr 0.05), 4 → 16 → 16 → 3 reaches "
                   f"only {100 * acc:.1f}% on the blobs (the lesson's 4 → 16 → 3: about 80%)")
    L.note(f"trained with your gradients: {100 * acc:.1f}% accuracy on the blobs after 600 steps")


@exercise(
    "tanh-backward", "Swap ReLU for tanh", LESSON, "section “Exercises: try tanh”",
    statement="""
    Replace the hidden ReLU of the 4 → 16 → 3 network by tanh: a1 = tanh(z1). Only one line
    of the backward pass changes, because tanh'(z) = 1 − tanh²(z) = 1 − a1².

    Write backward_tanh(X, y, z1, a1, z2, W2) returning (dW1, db1, dW2, db2), as in the
    backward-pass exercise. Then answer FASTER: on the lesson's blobs (lr 0.05, batch 32),
    which hidden activation reaches 80% accuracy in fewer steps — "relu", "tanh", or "same"
    (within 25% of each other)?
    """,
    template='''
    import numpy as np


    def backward_tanh(X, y, z1, a1, z2, W2):
        """Like backward(), for a1 = tanh(z1)."""
        ...


    FASTER = ...      # "relu", "tanh" or "same"
    ''',
    solution='''
    import numpy as np


    def backward_tanh(X, y, z1, a1, z2, W2):
        """Like backward(), for a1 = tanh(z1)."""
        B = X.shape[0]
        e = np.exp(z2 - z2.max(axis=1, keepdims=True))
        dz2 = e / e.sum(axis=1, keepdims=True)
        dz2[np.arange(B), y] -= 1
        dz2 /= B                                         # (B, 3)
        dW2 = dz2.T @ a1                                 # (3, 16)
        db2 = dz2.sum(axis=0)                            # (3,)
        da1 = dz2 @ W2                                   # (B, 16)
        dz1 = da1 * (1 - a1 ** 2)                        # (B, 16) tanh' = 1 − tanh²
        dW1 = dz1.T @ X                                  # (16, 4)
        db1 = dz1.sum(axis=0)                            # (16,)
        return dW1, db1, dW2, db2


    FASTER = "relu"
    ''',
    hints=[
        "Everything but the activation's derivative is the ReLU backward pass.",
        "tanh's derivative can be written with the forward's output a1 — no new exponentials.",
        "dz1 = da1 * (1 − a1²). For FASTER, think of where tanh saturates.",
    ],
    wrongs=[Wrong("relu-mask", [("dz1 = da1 * (1 - a1 ** 2)", "dz1 = da1 * (z1 > 0)")]),
            Wrong("grad-from-z", [("dz1 = da1 * (1 - a1 ** 2)", "dz1 = da1 * (1 - z1 ** 2)")]),
            Wrong("choice-tanh", [('FASTER = "relu"', 'FASTER = "tanh"')])],
    heavy=True,
)
def check_tanh_backward(L: Learner) -> None:
    f = L.fn("backward_tanh")
    r = rng(10)
    Ws, bs = weights((4, 16, 3), seed=11)
    X = r.standard_normal((8, 4)) * 2
    y = r.integers(0, 3, 8)
    model = mlp(Ws, bs, hidden="tanh")
    g = grads_of(model, X, y)
    z1, a1, z2 = model.layers[0].z, model.layers[0].a, model.layers[1].z
    got = unpack(f(X, y, z1, a1, z2, Ws[1]), 4, "backward_tanh(…)", ["dW1", "db1", "dW2", "db2"])
    relu_mask = mistaken_backward(X, y, Ws, bs, hidden="tanh", mask_from_z=True)
    from_z = mistaken_backward(X, y, Ws, bs, hidden="tanh", derivative_of_z=True)
    for i, key, name in ((2, "layers.1.weight", "dW2"), (3, "layers.1.bias", "db2"),
                         (0, "layers.0.weight", "dW1"), (1, "layers.0.bias", "db1")):
        l, kind = (1 if i >= 2 else 0), i % 2
        same(got[i], g[key], f"{name} with a tanh hidden layer", [
            Mistake("relu-mask", relu_mask[kind][l], "you used ReLU's mask (z1 > 0); tanh's "
                    "derivative is 1 − tanh²(z1) = 1 − a1²"),
            Mistake("grad-from-z", from_z[kind][l], "you used 1 − z1²: the derivative is "
                    "1 − tanh²(z1) = 1 − a1²"),
        ], name="backward_tanh")
    relu_steps = measure.first_step_reaching(measure.lesson_run(), "accuracy", 0.8)
    tanh_steps = measure.first_step_reaching(measure.lesson_run(activation="tanh"), "accuracy", 0.8)
    a, b = float(relu_steps or 2000), float(tanh_steps or 2000)
    measured = "same" if max(a, b) <= 1.25 * min(a, b) else ("relu" if a < b else "tanh")
    seen = f"handgrad measured 80% after {a:g} steps with ReLU and {b:g} with tanh."
    choice(L.answer("FASTER"), measured, {"relu": "ReLU", "tanh": "tanh", "same": "about the same"},
           "FASTER", dict.fromkeys(("relu", "tanh", "same"), seen))
    L.note(seen)


# --- 22. the initial loss ---------------------------------------------------------------

@exercise(
    "initial-loss", "Predict the loss before training", LESSON, "section “Exercises: predict the first loss”",
    statement=f"""
    Predict on paper, then verify. A classifier that spreads its probability evenly over C
    classes has loss −log(1/C) = log C. LOSS_IF_UNIFORM is that number for the lesson's
    3 classes.

    The lesson says its freshly initialized network starts near that value. Now run
    {BLOB_SETUP}, before any step: MEASURED_FIRST_LOSS is the loss over all 1024 points.
    Within ±0.15 of handgrad's measurement passes.
    """,
    template='''
    LOSS_IF_UNIFORM = ...
    MEASURED_FIRST_LOSS = ...
    ''',
    solution='''
    import math

    LOSS_IF_UNIFORM = math.log(3)
    MEASURED_FIRST_LOSS = 2.9
    ''',
    hints=[
        "Uniform over 3 classes: every p = 1/3. The loss is −log p_y.",
        "He init keeps the variance of each layer's output near that of its input; the "
        "blobs' inputs are far from unit scale (their centers are drawn with standard deviation 3).",
        "Large inputs → spread logits → confident (and often wrong) first guesses: the loss "
        "starts well above log 3.",
    ],
    wrongs=[Wrong("lesson-log-3", [("MEASURED_FIRST_LOSS = 2.9", "MEASURED_FIRST_LOSS = 1.0986")]),
            Wrong("probability", [("LOSS_IF_UNIFORM = math.log(3)", "LOSS_IF_UNIFORM = 1 / 3")])],
    heavy=True,
)
def check_initial_loss(L: Learner) -> None:
    within(L.answer("LOSS_IF_UNIFORM"), math.log(3), 0.005, "LOSS_IF_UNIFORM", [
        Mistake("probability", near(1 / 3, 0.01), "1/3 is each class's probability; the loss is "
                "−log(1/3) = log 3"),
        Mistake("log-10", near(math.log(10), 0.01), "log 10 is for 10 classes (MNIST); the blobs "
                "have 3"),
    ])
    first = measure.lesson_run()["loss"][0]
    within(L.answer("MEASURED_FIRST_LOSS"), first, 0.15, "MEASURED_FIRST_LOSS", [
        Mistake("lesson-log-3", near(math.log(3), 0.05), f"log 3 is what uniform predictions "
                f"give, and what the lesson says to expect — but handgrad measured {first:.3f} on "
                "the lesson's own setup: the inputs are far from unit scale, so the logits start "
                "spread out")])
    L.note(f"handgrad measured a first loss of {first:.3f}; the lesson's 'near log 3 ≈ 1.10' holds "
           "only for inputs of unit scale.")


# --- 23-24. the five training-loop bugs ----------------------------------------------------

@exercise(
    "bug-quiz", "Five bugs, five symptoms", LESSON, "section “Exercises: the training-loop bug quiz”",
    statement="""
    Five common training-loop bugs:
      (a) forgot to zero the gradients (they pile up from step to step)
      (b) lr = 100
      (c) lr = 1e-9
      (d) initial weights not scaled by √(2/n): too large
      (e) the data never shuffled (it comes sorted by label)

    and five symptoms, measured by handgrad on a 20 → 64 → 10 network with each bug alone
    (the setup of the next exercise, bug-fix):
      "nan"           the loss is NaN or inf within a few steps
      "flat"          the loss does not move at all
      "huge-start"    the first loss is about 50 instead of log 10 ≈ 2.30
      "val-poor"      the training loss drops to almost 0, yet validation accuracy is far
                      below a shuffled run's
      "rises-again"   the loss falls at first, then climbs back up

    Fill DIAGNOSIS with the bug behind each symptom. (The lesson's table says the unshuffled
    run's validation accuracy is 10% — chance; here it is about half the shuffled run's, not
    chance. Its table also lists "train accuracy 99%, validation 60%": that is overfitting,
    which none of the five bugs causes.)
    """,
    template='''
    DIAGNOSIS = {
        "nan": ...,            # "a", "b", "c", "d" or "e"
        "flat": ...,
        "huge-start": ...,
        "val-poor": ...,
        "rises-again": ...,
    }
    ''',
    solution='''
    DIAGNOSIS = {
        "nan": "b",
        "flat": "c",
        "huge-start": "d",
        "val-poor": "e",
        "rises-again": "a",
    }
    ''',
    hints=[
        "Two of the bugs are about the learning rate: one too large, one too small.",
        "Which bug acts before the first step is ever taken?",
        "A network that sees one class at a time, in order, remembers the last classes it saw.",
    ],
    wrongs=[Wrong("wrong-nan", [('"nan": "b"', '"nan": "c"'), ('"flat": "c"', '"flat": "b"')]),
            Wrong("wrong-val-poor", [('"val-poor": "e"', '"val-poor": "a"'),
                                           ('"rises-again": "a"', '"rises-again": "e"')])],
    seconds=10,
    heavy=True,
)
def check_bug_quiz(L: Learner) -> None:
    answer = L.answer("DIAGNOSIS")
    if not isinstance(answer, dict):
        raise Fail("DIAGNOSIS should be a dict from each symptom to a letter", "wrong-type")
    seen = bugs.symptoms_of_each_bug()
    for symptom in bugs.SYMPTOMS:
        given = letter(answer.get(symptom))
        if given not in bugs.BUGS:
            raise Fail(f'DIAGNOSIS["{symptom}"]: answer with a letter a to e; got '
                       f"{answer.get(symptom)!r}", "not-a-choice")
        culprit = seen["culprit"][symptom]
        if given != culprit:
            raise Fail(f'DIAGNOSIS["{symptom}"] is "{given}" ({bugs.BUGS[given]}), but with that '
                       f"bug handgrad saw: {seen['seen'][given]}. The symptom "
                       f"'{bugs.SYMPTOMS[symptom]}' came from another bug.",
                       f"wrong-{symptom}")
    L.note("what each bug did: " + "; ".join(f"({k}) {v}" for k, v in seen["seen"].items()))


@exercise(
    "bug-fix", "Fix the broken training script", LESSON, "section “Exercises: the training-loop bug quiz”",
    statement="""
    This file is a training script with all five bugs of bug-quiz in it. Run it with python,
    read the symptoms it prints, find the five lines and fix them. Keep the
    functions and their signatures: the checker calls init_params, learning_rate, batches,
    train_step and train, measures each symptom, and then trains with your train() and
    checks the validation accuracy.

    Fixed means: a first loss near log 10 (not about 50), a learning rate that neither blows
    up nor stands still (anything from 0.01 to 0.5), batches in a new random order every
    epoch, gradients zeroed before each backward pass, and above 90% validation accuracy.
    """,
    template=bugs.BROKEN_SCRIPT,
    solution=bugs.FIXED_SCRIPT,
    hints=[
        "Run the script: it prints the loss every 50 steps. Which symptoms do you see?",
        "One bug is in init_params, one in batches, one in train_step, and two share "
        "learning_rate.",
        "init: multiply by np.sqrt(2 / d_in); learning_rate: return 0.1; batches: "
        "order = rng.permutation(n); train_step: set every grads[k][...] = 0 before "
        "loss_and_grads.",
    ],
    wrongs=[Wrong("val-poor", [bugs.FIX_SHUFFLE[::-1]]),
            Wrong("huge-start", [bugs.FIX_INIT[::-1]]),
            Wrong("rises-again", [bugs.FIX_ZERO[::-1]])],
    seconds=40,
    heavy=True,
)
def check_bug_fix(L: Learner) -> None:
    bugs.check_fixed_script(L)


# --- 25. from memory -----------------------------------------------------------------------

RECALL: dict[str, tuple[str, Any, Any, dict[str, str]]] = {
    "COLLAPSED_W": ("Y = (X W1) W2 with no activation equals X W for which W?",
                    {"a": "W1 W2", "b": "W2 W1", "c": "W1 + W2", "d": "no single W does"}, "a", {
                        "b": "in the lesson's row convention (x W) the products chain left to right: "
                             "(X W1) W2 = X (W1 W2). W2 W1 is the column convention's order.",
                        "c": "matrix products do not turn into sums: (X W1) W2 = X (W1 W2).",
                        "d": "matrix multiplication is associative: (X W1) W2 = X (W1 W2), one "
                             "linear layer.",
                    }),
    "WHY_NOT_WITH_RELU": ("Why does a ReLU between them stop the collapse?",
                          {"a": "ReLU is not linear, so ReLU(X W1) W2 is not X times any fixed matrix",
                           "b": "ReLU changes the shapes", "c": "ReLU adds a bias",
                           "d": "it does not stop it"}, "a", {
                              "b": "ReLU keeps every shape; it is elementwise.",
                              "c": "ReLU has no parameters.",
                              "d": "it does: max(0, ·) bends the map, and a stack of bent maps can "
                                   "draw any boundary.",
                          }),
    "PARAMS_4_16_3": ("How many trainable numbers in the 4 → 16 → 3 network?", None, 131, {}),
    "CE_GRADIENT": ("dL/dz for softmax + cross-entropy averaged over a batch of B",
                    {"a": "(p − y) / B", "b": "p − y", "c": "(p − y) p (1 − p) / B",
                     "d": "(y − p) / B"}, "a", {
                        "b": "that is one example's; the batch mean divides by B.",
                        "c": "that is what squared error through a softmax gives; cross-entropy's "
                             "log cancels the softmax's Jacobian.",
                        "d": "the sign is flipped: the gradient points uphill, toward p − y.",
                    }),
    "BIAS_GRADIENT": ("Why is db = dz.sum(axis=0)?",
                      {"a": "the same bias is added to every row of the batch, so the rows' "
                            "gradients add up", "b": "the bias is zero at the start",
                       "c": "to average the noise", "d": "because the bias has no input"}, "a", {
                          "b": "the starting value plays no part in its gradient.",
                          "c": "a sum, not an average: the 1/B is already inside dz.",
                          "d": "it does have one: a constant 1; that makes its local derivative 1, "
                               "and the broadcast over the batch makes the sum.",
                      }),
    "STUCK_AT_LOG_C": ("The loss sits at log C and never moves: the most likely bug?",
                       {"a": "the learning rate is far too small, or the weights are stuck at 0",
                        "b": "the learning rate is far too large", "c": "the data is not shuffled",
                        "d": "the model overfits"}, "a", {
                           "b": "too large a rate makes the loss jump or turn NaN, not sit still.",
                           "c": "unshuffled data still moves the loss (toward the latest classes).",
                           "d": "overfitting lowers the training loss.",
                       }),
    "MNIST_FIRST_LOSS": ("The first loss of a fresh 10-class classifier, about", None,
                         math.log(10), {}),
}


def recall_template(questions: dict[str, tuple[str, Any, Any, dict[str, str]]]) -> str:
    """The answer sheet: each question as a comment, its constant below it."""
    lines = []
    for name, (question, options, _, _) in questions.items():
        lines.append(f"# {question}")
        if options:
            lines += [f'#   "{k}"  {v}' for k, v in options.items()]
            lines.append(f"{name} = ...")
        else:
            lines.append(f"{name} = ...      # a number")
        lines.append("")
    return "\n".join(lines)


def recall_solution(questions: dict[str, tuple[str, Any, Any, dict[str, str]]]) -> str:
    text = recall_template(questions)
    for name, (_, options, correct, _) in questions.items():
        if options:
            text = text.replace(f"{name} = ...", f'{name} = "{correct}"')
        else:
            text = text.replace(f"{name} = ...      # a number",
                                f"{name} = {correct:.4g}      # a number")
    return text


def check_recall(L: Learner, questions: dict[str, tuple[str, Any, Any, dict[str, str]]]) -> None:
    for name, (question, options, correct, why) in questions.items():
        answer = L.answer(name)
        if options:
            choice(answer, correct, options, f"{name} ({question})", {"": "", **why, correct: ""})
        else:
            within(answer, float(correct), 0.01 * max(1.0, abs(float(correct))), f"{name} ({question})")


@exercise(
    "recall-by-hand", "From memory: the MLP by hand", LESSON, "section “Check yourself”",
    statement="""
    Close the lesson and answer from memory. Each answer is a letter or a number, written
    into the constant below its question.
    """,
    template=recall_template(RECALL),
    solution=recall_solution(RECALL),
    hints=[
        "Count parameters layer by layer: d_in × d_out weights plus d_out biases.",
        "log C for C equally likely classes; for MNIST C = 10.",
        "Matrix multiplication is associative.",
    ],
    wrongs=[Wrong("choice-b", [('COLLAPSED_W = "a"', 'COLLAPSED_W = "b"')]),
            Wrong("choice-b", [('CE_GRADIENT = "a"', 'CE_GRADIENT = "b"')])],
)
def check_recall_by_hand(L: Learner) -> None:
    check_recall(L, RECALL)
