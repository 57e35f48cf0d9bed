"""Exercises of the lesson "Multilayer Perceptron", the full spec: MSE with its 1/(2n), a
layer's backward pass with W stored (n_out, n_in), counting parameters and cached floats,
and gradient checking itself."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, partial
from itertools import pairwise

import numpy as np

from ...check import Trace, rel_error, trace
from ...mlp import MLP
from ...nn import Linear, mse
from ..checking import Fail, Learner, Mistake, numeric_gradient, same, same_number, unpack
from ..registry import Lesson, Wrong, exercise
from .common import rng

LESSON = Lesson("spec", "Multilayer Perceptron")


@exercise(
    "mse", "Mean squared error with the lesson's 1/(2n)", LESSON, "section “Loss functions”",
    statement="""
    The spec defines, for n examples with d outputs each,

        L = 1/(2n) · Σ_i Σ_j (a_ij − y_ij)²        dL/da = (a − y) / n

    The ½ cancels the 2 of the derivative; the sum over the d outputs is inside, and only
    the n examples are averaged. (PyTorch's mse_loss has no ½ and averages over all n·d
    entries; scikit-learn's squared loss keeps the ½ but also averages over n·d. With one
    output, the lesson's and scikit-learn's agree.)

    Write mse(pred, target) returning (loss, grad), grad of pred's shape (n, d).
    """,
    template='''
    import numpy as np


    def mse(pred, target):
        """(L, dL/dpred) for L = 1/(2n) Σ_i Σ_j (pred_ij − target_ij)², pred and target (n, d)."""
        ...
    ''',
    solution='''
    import numpy as np


    def mse(pred, target):
        """(L, dL/dpred) for L = 1/(2n) Σ_i Σ_j (pred_ij − target_ij)², pred and target (n, d)."""
        n = pred.shape[0]
        diff = pred - target                        # (n, d)
        return 0.5 * np.sum(diff * diff) / n, diff / n
    ''',
    hints=[
        "n is the number of examples (rows), not the number of entries.",
        "The loss sums every squared difference, halves, and divides by n.",
        "Its gradient: the ½ and the 2 cancel, leaving (pred − target) / n.",
    ],
    wrongs=[Wrong("no-half", [("return 0.5 * np.sum(diff * diff) / n, diff / n",
                               "return np.sum(diff * diff) / n, 2 * diff / n")]),
            Wrong("mean-over-entries", [("n = pred.shape[0]", "n = pred.size")])],
)
def check_mse(L: Learner) -> None:
    f = L.fn("mse")
    r = rng(20)
    for n, d, what in ((5, 3, "5 examples with 3 outputs"), (4, 1, "4 examples with 1 output"),
                       (1, 2, "one example")):
        pred, target = r.standard_normal((n, d)), r.standard_normal((n, d))
        loss, grad = mse(pred, target)
        got_loss, got_grad = unpack(f(pred, target), 2, f"mse for {what}", ["loss", "grad"])
        same_number(got_loss, loss, f"the loss for {what}", [
            Mistake("no-half", 2 * loss, "it is twice the spec's: the ½ is missing (that is "
                    "PyTorch's mse_loss convention, with a sum over outputs)"),
            *([Mistake("mean-over-entries", loss / d, f"it is d = {d} times too small: you "
                       "averaged over all n·d entries; the spec divides by n only")] if d > 1
              else []),
        ])
        same(got_grad, grad, f"the gradient for {what}", [
            Mistake("no-half", 2 * grad, "it is twice the spec's: with the ½ the gradient is "
                    "(pred − target) / n"),
            *([Mistake("grad-missing-n", grad * n, "the 1/n is missing: (pred − target) / n")]
              if n > 1 else []),
        ])


@exercise(
    "linear-backward", "A layer's backward pass, W stored (n_out, n_in)", LESSON,
    "section “Backpropagation — the full chain rule derivation”",
    statement="""
    For z = a_prev Wᵀ + b with W of shape (n_out, n_in), given δ = dL/dz of shape (B, n_out):

        dL/dW = δᵀ a_prev          (n_out, n_in)   the shape of W
        dL/db = Σ_batch δ          (n_out,)
        dL/da_prev = δ W           (B, n_in)       no transpose this time

    Write linear_backward(delta, a_prev, W) returning (dW, db, da_prev). It is checked
    against handgrad's Linear on a square layer and a 4 → 3 layer.
    """,
    template='''
    import numpy as np


    def linear_backward(delta, a_prev, W):
        """(dW (n_out, n_in), db (n_out,), da_prev (B, n_in)) for z = a_prev @ W.T + b."""
        ...
    ''',
    solution='''
    import numpy as np


    def linear_backward(delta, a_prev, W):
        """(dW (n_out, n_in), db (n_out,), da_prev (B, n_in)) for z = a_prev @ W.T + b."""
        dW = delta.T @ a_prev               # (n_out, B) @ (B, n_in) -> (n_out, n_in)
        db = delta.sum(axis=0)              # (n_out,)
        da_prev = delta @ W                 # (B, n_out) @ (n_out, n_in) -> (B, n_in)
        return dW, db, da_prev
    ''',
    hints=[
        "Let the shapes decide: dW must be (n_out, n_in), so δ (B, n_out) is transposed first.",
        "z_bj = Σ_i a_bi W_ji + b_j: so ∂z_bj/∂a_bi = W_ji, which makes dL/da = δ W.",
        "dW = delta.T @ a_prev; db = delta.sum(axis=0); da_prev = delta @ W.",
    ],
    wrongs=[Wrong("dW-transposed", [("dW = delta.T @ a_prev", "dW = a_prev.T @ delta")]),
            Wrong("da-transposed", [("da_prev = delta @ W  ", "da_prev = delta @ W.T  ")])],
)
def check_linear_backward(L: Learner) -> None:
    f = L.fn("linear_backward")
    r = rng(21)
    for B, n_in, n_out, what in ((5, 3, 3, "a square 3 → 3 layer"), (6, 4, 3, "a 4 → 3 layer"),
                                 (1, 4, 3, "a batch of one")):
        layer = Linear(n_in, n_out, dtype=np.float64, rng=r)
        a_prev, delta = r.standard_normal((B, n_in)), r.standard_normal((B, n_out))
        layer.forward(a_prev)
        da = layer.backward(delta)
        W = layer.W.copy()
        dW, db, got_da = unpack(f(delta, a_prev, W), 3, f"linear_backward for {what}",
                                ["dW", "db", "da_prev"])
        same(dW, layer.dW, f"dW for {what}", [
            Mistake("dW-transposed", layer.dW.T, "dW has the shape of W transposed: with W "
                    "(n_out, n_in), dW = δᵀ a_prev")])
        same(db, layer.db, f"db for {what}", [
            Mistake("db-mean", delta.mean(axis=0), "the bias gradient sums over the batch; the "
                    "mean is B times too small")])
        same(got_da, da, f"da_prev for {what}", [
            Mistake("da-transposed", delta @ W.T if n_in == n_out else np.nan,
                    "you propagated through Wᵀ: with W (n_out, n_in), dL/da_prev = δ W")])


@lru_cache(maxsize=8)
def counted(sizes: tuple[int, ...], B: int) -> tuple[int, Trace]:
    """handgrad's parameter count and memory trace for these sizes and batch."""
    return MLP(list(sizes), seed=0).count_params(), trace(list(sizes), batch=B)


@exercise(
    "count-params", "Counting parameters and cached floats", LESSON, "section “Memory analysis”",
    statement="""
    For layer sizes [n_0, n_1, …, n_L] and a batch of B:

        parameters          Σ_l (n_l · n_(l−1) + n_l)       weights and biases
        cached activations  B · Σ_(l=0..L) n_l              the input and every layer's output
        cached pre-acts     B · Σ_(l=1..L) n_l              every z; the input has none

    For 784 → 256 → 128 → 10 with B = 64 that is 235,018 parameters, 75,392 activation
    floats and 25,216 pre-activation floats. Write the three functions; they are checked
    against handgrad's own count and its memory trace.
    """,
    template='''
    def count_params(sizes):
        """Trainable numbers of an MLP with these layer sizes, e.g. [784, 256, 128, 10]."""
        ...


    def activation_floats(sizes, B):
        """Floats cached for the activations (the input included) in a forward pass of B."""
        ...


    def preactivation_floats(sizes, B):
        """Floats cached for the pre-activations z in a forward pass of B."""
        ...
    ''',
    solution='''
    def count_params(sizes):
        """Trainable numbers of an MLP with these layer sizes, e.g. [784, 256, 128, 10]."""
        return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


    def activation_floats(sizes, B):
        """Floats cached for the activations (the input included) in a forward pass of B."""
        return B * sum(sizes)


    def preactivation_floats(sizes, B):
        """Floats cached for the pre-activations z in a forward pass of B."""
        return B * sum(sizes[1:])
    ''',
    hints=[
        "Walk the layers in pairs (n_in, n_out): zip(sizes[:-1], sizes[1:]).",
        "Each layer has n_in · n_out weights and n_out biases.",
        "The input X is cached (dW1 needs it) but it has no pre-activation.",
    ],
    wrongs=[Wrong("forgot-biases", [("n_in * n_out + n_out for", "n_in * n_out for")]),
            Wrong("preacts-with-input", [("return B * sum(sizes[1:])", "return B * sum(sizes)")])],
    heavy=True,
)
def check_count(L: Learner) -> None:
    count, acts, pre = L.fn("count_params"), L.fn("activation_floats"), L.fn("preactivation_floats")
    for sizes, B in (([784, 256, 128, 10], 64), ([4, 16, 3], 32), ([2, 8, 1], 4)):
        what = f"{sizes}"
        n_params, t = counted(tuple(sizes), B)
        weights_only = sum(a * b for a, b in pairwise(sizes))
        same_number(count(sizes), n_params, f"count_params({what})", [
            Mistake("forgot-biases", weights_only, "that counts the weights only: each layer "
                    "also has n_out biases")])
        same_number(acts(sizes, B), t.floats("cached activations (X, a)"),
                    f"activation_floats({what}, {B})", [
                        Mistake("no-input", B * sum(sizes[1:]), "the input X is cached too: "
                                "dW of the first layer needs it")])
        same_number(pre(sizes, B), t.floats("cached pre-activations (z)"),
                    f"preactivation_floats({what}, {B})", [
                        Mistake("preacts-with-input", B * sum(sizes), "the input has no "
                                "pre-activation: count z of layers 1 … L only")])


def one_sided(f: Callable[[np.ndarray], float], x: np.ndarray, step: float) -> np.ndarray:
    """(f(x + ε e_i) − f(x)) / ε in every entry: the one-sided difference."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        y = x.copy()
        y[i] += step
        g[i] = (f(y) - f(x)) / step
    return g


@exercise(
    "gradcheck", "Gradient checking with central differences", LESSON,
    "section “Test cases: gradient checking”",
    statement="""
    A backward pass is trusted only once it agrees with numbers: for every entry θ_i,

        ∂L/∂θ_i ≈ (L(θ + ε e_i) − L(θ − ε e_i)) / 2ε        ε = 1e-5

    The central difference is accurate to O(ε²); the one-sided (L(θ + ε) − L(θ)) / ε only to
    O(ε). Nudge one entry at a time, in place, and put it back afterwards. The agreement is
    judged by the relative error |a − n| / (|a| + |n| + 1e-8), which is 0 when both are 0.

    Write numeric_grad(f, x, eps=1e-5), for f a function of the whole array x, returning an
    array of x's shape, and rel_error(a, n), elementwise.
    """,
    template='''
    import numpy as np


    def numeric_grad(f, x, eps=1e-5):
        """Central differences of the number f(x) in every entry of x (x is left unchanged)."""
        ...


    def rel_error(a, n):
        """|a − n| / (|a| + |n| + 1e-8), elementwise."""
        ...
    ''',
    solution='''
    import numpy as np


    def numeric_grad(f, x, eps=1e-5):
        """Central differences of the number f(x) in every entry of x (x is left unchanged)."""
        grad = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            old = x[i]
            x[i] = old + eps
            plus = f(x)
            x[i] = old - eps
            minus = f(x)
            x[i] = old                          # put it back
            grad[i] = (plus - minus) / (2 * eps)
        return grad


    def rel_error(a, n):
        """|a − n| / (|a| + |n| + 1e-8), elementwise."""
        return np.abs(a - n) / (np.abs(a) + np.abs(n) + 1e-8)
    ''',
    hints=[
        "np.ndindex(x.shape) walks every index of an array of any shape.",
        "Evaluate f at x + ε and at x − ε in one entry, then restore that entry before the next.",
        "The difference spans 2ε: divide by 2 * eps.",
    ],
    wrongs=[Wrong("forward-difference", [("x[i] = old - eps", "x[i] = old"),
                                         ("(plus - minus) / (2 * eps)", "(plus - minus) / eps")]),
            Wrong("half-step", [("(plus - minus) / (2 * eps)", "(plus - minus) / eps")]),
            Wrong("not-restored", [("x[i] = old                          # put it back",
                                    "x[i] = old + eps                    # not put back")]),
            Wrong("no-abs", [("(np.abs(a) + np.abs(n) + 1e-8)", "(a + n + 1e-8)")])],
)
def check_gradcheck(L: Learner) -> None:
    numeric, rel = L.fn("numeric_grad"), L.fn("rel_error")
    r = rng(22)
    for source, shape, what in (("lambda x: float(np.sum(np.sin(x) * x ** 2))", (3, 4),
                                 "f(x) = Σ sin(x)·x² on a (3, 4) x"),
                                ("lambda x: float(x.max() + np.log(np.exp(x - x.max()).sum()))",
                                 (5,), "f(x) = log Σ e^x on a (5,) x")):
        f = eval(source, {"np": np})
        x = r.standard_normal(shape)
        held = L.put(x.copy())
        got = numeric(L.code(source), held, 1e-5)
        after = L.fetch(held)
        work = x.copy()
        expected = numeric_gradient(partial(f, work), work, 1e-5)

        same(got, expected, f"numeric_grad for {what}", [
            Mistake("forward-difference", one_sided(f, x, 1e-5), "that is the one-sided difference "
                    "(f(x + ε) − f(x)) / ε, accurate to O(ε) only; use (f(x + ε) − f(x − ε)) / 2ε"),
            Mistake("half-step", 2 * expected, "it is twice too large: the central difference "
                    "spans 2ε, so divide by 2ε"),
        ], rtol=1e-6, atol=1e-8)
        if not np.allclose(np.asarray(after, dtype=float), x, rtol=0, atol=1e-12):
            raise Fail(f"numeric_grad for {what}: x was changed (largest change "
                       f"{np.abs(np.asarray(after, dtype=float) - x).max():.2g}): put every "
                       "entry back after nudging it", "not-restored")
    a = np.array([1.0, -2.0, 0.0, 3.0, -1e-3])
    n = np.array([1.0 + 1e-7, -2.1, 0.0, -3.0, -1e-3])
    with np.errstate(all="ignore"):
        no_abs = np.abs(a - n) / (a + n + 1e-8)
    same(rel(a, n), rel_error(a, n), "rel_error(a, n) for a, n with zeros and negative entries", [
        Mistake("no-abs", no_abs, "the denominator needs absolute values: |a| + |n| + 1e-8 (with "
                "negative entries a + n can be 0 or negative)"),
        Mistake("no-floor", lambda g: bool(np.isnan(g).any()), "0 / 0 where both are 0: keep "
                "the + 1e-8 in the denominator"),
    ])
