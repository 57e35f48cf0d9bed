"""Lesson 3, "The MLP, specified": its initialization arithmetic, its XOR test and its memory
table, checked against the arrays handgrad actually allocates and runs."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ..mlp import MLP
from ..perceptron import GATE_INPUTS, GATES
from .pictures import COLORS
from .registry import experiment
from .result import Result, at_least, at_most, between, fmt, pct, table
from .stats import Sample, Share
from .training import fit

LESSON = "spec"


def normal_weights(rng: np.random.Generator, d_out: int, d_in: int) -> np.ndarray:
    return rng.standard_normal((d_out, d_in))


@experiment(
    "n01-variance-1e12", "N(0, 1) weights at width 256: 10¹² by layer 5",
    claim="With standard normal weights in layers of width 256, Var(z⁽ˡ⁾) = 256ˡ · Var(x): by layer 5 the "
          "variance has grown by 256⁵ ≈ 10¹², and the gradients overflow immediately; He init keeps the "
          "variance stable at every layer.",
    lesson=LESSON, section="Weight initialization", seconds=(1, 1),
    related=("init-variance-factor", "init-test-50", "he-factor-two"),
    fails_with={"1e12": dict(width=64), "he-stable": dict(he_gain=1.0), "overflow": dict(he_gain=1.0)})
def n01_variance(quick: bool = False, seed: int = 0, width: int = 256, he_gain: float = 2.0) -> Result:
    """Five layers of ``width`` with N(0, 1) weights and zero biases on a batch of 256 N(0, 1) inputs:
    Var(z⁵)/Var(x) for a linear stack (the formula's assumption, every z passed on as it is) and
    for ReLU layers (the spec's networks); then one backward pass of the ReLU net (10 classes,
    float32, training's dtype); and the same net with He init. 5 seeds."""
    seeds = range(seed, seed + 5)
    growth: dict[str, list[float]] = {"linear": [], "relu": [], "he": []}
    worst_grad, he_spread = [], []
    for s in seeds:
        rng = np.random.default_rng((s, 11))
        X = rng.standard_normal((256, width))
        y = rng.integers(0, 10, 256)
        for act in ("linear", "relu"):
            model = MLP([width] * 6 + [10], [("identity" if act == "linear" else "relu")] * 5 + ["softmax"],
                        normal_weights, seed=s, dtype=np.float64)
            model.forward(X)
            growth[act].append(float(model.layers[4].z.var() / X.var()))
            if act == "relu":
                m32 = MLP([width] * 6 + [10], ["relu"] * 5 + ["softmax"], normal_weights, seed=s)
                with np.errstate(all="ignore"):
                    m32.loss_and_grad(X.astype(np.float32), y)
                worst_grad.append(max(float(np.max(np.abs(g))) for g in m32.grads.values()))
        he = MLP([width] * 6 + [10], ["relu"] * 5 + ["softmax"],
                 lambda r, o, i: math.sqrt(he_gain / i) * r.standard_normal((o, i)), seed=s, dtype=np.float64)
        he.forward(X)
        v = [float(layer.z.var()) for layer in he.layers[:5]]
        he_spread.append(max(v) / min(v))
        growth["he"].append(v[-1] / float(X.var()))
    lin, rel = Sample(growth["linear"], log=True), Sample(growth["relu"], log=True)
    grad = Sample(worst_grad, log=True)
    spread = Sample(he_spread, log=True)
    target = 256.0 ** 5                             # the lesson's 256⁵ ≈ 1.1e12
    r = Result()
    r.setups = {"the lesson's": f"5 layers of {width}, N(0, 1) weights, zero biases, a batch of 256 N(0, 1) "
                                f"inputs, "
                                "every z passed on as it is (the formula's assumption), float64, 5 seeds; "
                                "the "
                                "gradients from one backward pass of the ReLU version in float32",
                "variant: ReLU layers": "the same with ReLU between the layers, as in the spec's networks"}
    r.checks = [between("1e12", f"Var(z⁵)/Var(x) ≈ 256⁵ = {fmt(target)} (within a factor of 2)", lin,
                        target / 2, target * 2, fmt(lin.mean), log=True, says="256⁵ ≈ 10¹²"),
                at_least("overflow", "the gradients overflow (turn inf or NaN in float32)", grad, 3.4e38,
                         f"the largest gradient is {fmt(grad.mean)}, finite", log=True,
                         says="overflow immediately"),
                at_most("he-stable", "He keeps the variance stable: within 10× across the 5 layers", spread,
                        10,
                        f"largest / smallest layer variance {fmt(spread.mean)}", log=True),
                between("relu-variance", f"with ReLU layers Var(z⁵)/Var(x) ≈ {fmt(target)}", rel, target / 2,
                        target * 2, fmt(rel.mean), log=True, variant="ReLU layers")]
    r.measurements = {f"var_growth_5_layers[{k}]": v for k, v in growth.items()}
    r.measurements.update({"largest_gradient_float32": worst_grad, "he_variance_spread": he_spread})
    r.found = (f"Through 5 linear layers the variance grows by {fmt(lin.mean)} (256⁵ = {fmt(target)}); "
               f"through ReLU "
               f"layers by {fmt(rel.mean)}; the largest gradient of the ReLU net is {fmt(grad.mean)} — "
               f"large, but "
               f"nowhere near float32's 3.4e38; He keeps every layer's variance within {fmt(spread.mean)}×.")
    r.why = ("Each layer multiplies the variance by n·Var(w) = 256 when z is passed on as it is; ReLU "
             "halves the "
             "second moment it passes on, so a ReLU stack grows by 128 per layer after the first, 16× less "
             "by "
             "layer 5. A variance of 10¹² is a standard deviation of 10⁶, and the gradients grow as the "
             "weights do — 10¹⁰-ish, still 28 orders of magnitude below overflow.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(7.5, 4))
        layers = np.arange(1, 6)
        for act, c, name in (("linear", COLORS["linear"], "N(0, 1), linear"),
                             ("relu", COLORS["sigmoid"], "N(0, 1), ReLU")):
            model = MLP([width] * 6 + [10], [("identity" if act == "linear" else "relu")] * 5 + ["softmax"],
                        normal_weights, seed=seed, dtype=np.float64)
            X = np.random.default_rng((seed, 11)).standard_normal((256, width))
            model.forward(X)
            ax.semilogy(layers, [layer.z.var() / X.var() for layer in model.layers[:5]], "o-", color=c,
                        label=name)
        ax.semilogy(layers, float(width) ** layers, ":", color="black", label=f"{width}ˡ (the formula)")
        he = MLP([width] * 6 + [10], ["relu"] * 5 + ["softmax"], "he", seed=seed, dtype=np.float64)
        X = np.random.default_rng((seed, 11)).standard_normal((256, width))
        he.forward(X)
        ax.semilogy(layers, [layer.z.var() / X.var() for layer in he.layers[:5]], "o-", color=COLORS["relu"],
                    label="He, ReLU")
        ax.set_xticks(layers)
        ax.set(xlabel="layer l", ylabel="Var(z⁽ˡ⁾) / Var(x)",
               title=f"Width {width}: the variance layer by layer")
        ax.legend()
        return fig

    r.plots["variance"] = draw
    return r


def xor_runs(n_seeds: int, seed: int, hidden: int = 4, act: str = "relu", init: Any = "lesson",
             steps: int = 5000, lr: float = 0.5) -> list[float]:
    """Accuracy on XOR's four corners after full-batch gradient descent, one run per seed."""
    X, y = GATE_INPUTS, GATES["xor"]
    method = (lambda rng, o, i: 0.5 * rng.standard_normal((o, i))) if init == "lesson" else init
    out = []
    for s in range(seed, seed + n_seeds):
        model = MLP([2, hidden, 1], [act, "sigmoid"], method, seed=s, dtype=np.float64)
        fit(model, X, y, batch_size=None, steps=steps, lr=lr)
        out.append(model.score(X, y))
    return out


@experiment(
    "xor-2-4-1", "The 2 → 4 → 1 ReLU network solves XOR",
    claim="A 2 → 4 → 1 MLP with a ReLU hidden layer and a sigmoid output, trained on XOR's four points, "
          "ends with all four predictions correct — the test that proves the non-linearity works.",
    lesson=LESSON, section="Test cases: the XOR problem", seconds=(8, 20),
    related=("perceptron-and-xor", "linear-collapse", "noisy-xor-plateau"),
    fails_with={"solves": dict(steps=50)})
def xor_2_4_1(quick: bool = False, seed: int = 0, steps: int = 5000, hidden: int = 4) -> Result:
    """Lesson 4's code for the test: weights N(0, 0.5²), zero biases, binary cross-entropy, full-batch
    gradient descent at lr 0.5 for 5,000 steps, over many seeds (50; 10 with --quick); the share
    of seeds with all four corners right. Variants: 8 hidden units; tanh with Xavier init."""
    n = 10 if quick else 50
    lesson = Share([a == 1.0 for a in xor_runs(n, seed, hidden, steps=steps)])
    variants = {} if quick else {
        "8 hidden units": Share([a == 1.0 for a in xor_runs(25, seed, 8, steps=steps)]),
        "tanh": Share([a == 1.0 for a in xor_runs(25, seed, hidden, "tanh", "xavier", steps=steps)])}
    r = Result()
    r.setups = {"the lesson's": f"2 → {hidden} → 1, ReLU and sigmoid, weights N(0, 0.5²) (lesson 4's code "
                                "for this test), zero biases, binary cross-entropy, full-batch lr 0.5, "
                                f"{steps:,} steps; {n} seeds"
                                + (" (the full run adds the variants)" if quick else "")}
    r.checks = [at_least("solves", "it solves XOR: all four corners right, on at least 90 % of seeds",
                         lesson, 0.9, f"{lesson.count} of {lesson.n} seeds ({pct(lesson.mean, 0)})")]
    r.measurements = {"solved[lesson]": lesson.hits}
    what = {"8 hidden units": ("2 → 8 → 1, otherwise the same; 25 seeds", "with 8 hidden units",
                               "8 units"),
            "tanh": ("tanh hidden layer with Xavier init; 25 seeds", "with tanh and Xavier init", "tanh")}
    for name, share in variants.items():
        r.setups[f"variant: {name}"] = what[name][0]
        r.checks.append(at_least("solves", what[name][1], share, 0.9, f"{share.count} of {share.n}",
                                 variant=name))
        r.measurements[f"solved[{what[name][2]}]"] = share.hits
    r.found = (f"The 2 → 4 → 1 ReLU network solves XOR on {lesson.count} of {lesson.n} seeds "
               f"({pct(lesson.mean, 0)})"
               + ("; " + ", ".join(f"with {what[k][2]} on {v.count} of {v.n}" for k, v in variants.items())
                  if variants else "") + ".")
    r.why = ("XOR needs at least two hidden units bending the right way. With four ReLU units drawn at "
             "random, "
             "on some seeds too many are dead on all four corners (z ≤ 0 everywhere, so no gradient "
             "ever revives them) or stuck on the same side, and the network ends with three corners right: "
             "as a test, it fails a fair share of the time. More units, or tanh (never exactly flat), make "
             "that rare.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(7, 3.8))
        shares = [lesson, *variants.values()]
        names = [f"2 → {hidden} → 1 ReLU\n(lesson)", "2 → 8 → 1 ReLU",
                 f"2 → {hidden} → 1 tanh"][:len(shares)]
        for i, sh in enumerate(shares):
            lo, hi = sh.interval
            ax.bar(i, 100 * sh.mean, color=[COLORS["lesson"], COLORS["variant"], COLORS["variant2"]][i])
            below, above = max(0.0, 100 * (sh.mean - lo)), max(0.0, 100 * (hi - sh.mean))
            ax.errorbar(i, 100 * sh.mean, yerr=[[below], [above]], color="black", capsize=4)
            ax.text(i, 3, f"{sh.count}/{sh.n}", ha="center", color="white", fontweight="bold")
        ax.axhline(90, color=COLORS["said"], ls=":", lw=1)
        ax.set_xticks(range(len(shares)), names, fontsize=8.5)
        ax.set(ylabel="seeds that solve XOR (%)", ylim=(0, 105), title="XOR solved? (bars: 95 % interval)")
        return fig

    r.plots["xor"] = draw
    return r


@experiment(
    "memory-table", "The spec's memory table for 784 → 256 → 128 → 10",
    claim="For 784 → 256 → 128 → 10 at batch 64 training holds 234,624 weights, 394 biases, 75,392 cached "
          "activations, 25,216 cached pre-activations and 235,018 gradients.",
    lesson=LESSON, section="Memory analysis", seconds=(0.3, 0.3),
    related=("param-count-131", "backprop-2x", "ffn-width"),
    fails_with={"biases": dict(sizes=(784, 256, 10)), "activations": dict(batch=32),
                "pre-activations": dict(batch=32), "weights": {}, "gradients": {}})
def memory_table(quick: bool = False, seed: int = 0, sizes: tuple[int, ...] = (784, 256, 128, 10),
                 batch: int = 64) -> Result:
    """handgrad's MLP after one forward and backward pass of a batch of 64: the numbers held in
    every weight, bias, cached input and activation, pre-activation and gradient array."""
    model = MLP(list(sizes), seed=seed)
    rng = np.random.default_rng(seed)
    X = rng.random((batch, sizes[0]), dtype=np.float32)
    model.loss_and_grad(X, rng.integers(0, sizes[-1], batch))
    layers = model.layers
    measured = {
        "weights": sum(layer.W.size for layer in layers),
        "biases": sum(layer.b.size for layer in layers if layer.b is not None),
        "activations": layers[0].x.size + sum(layer.a.size for layer in layers),   # a⁽⁰⁾ = x, then each a⁽ˡ⁾
        "pre-activations": sum(layer.z.size for layer in layers),
        "gradients": sum(g.size for g in model.grads.values()),
    }
    said = {"weights": 234624, "biases": 394, "activations": 75392, "pre-activations": 25216,
            "gradients": 235018}
    formula = {"weights": " + ".join(f"{a}·{b}" for a, b in itertools.pairwise(sizes)),
               "biases": " + ".join(map(str, sizes[1:])),
               "activations": f"{batch}·({' + '.join(map(str, sizes))})",
               "pre-activations": f"{batch}·({' + '.join(map(str, sizes[1:]))})",
               "gradients": "weights + biases"}
    r = Result()
    r.setups = {"the lesson's": f"handgrad.MLP({list(sizes)}) after one forward and backward pass of a "
                                f"batch of "
                                f"{batch}; every array it holds, counted"}
    r.checks = [between(k, f"{k}: {said[k]:,}", measured[k], said[k], said[k], f"{measured[k]:,}",
                        says=f"{said[k]:,}",
                        threshold=f"= {said[k]:,}") for k in said]
    r.measurements = measured
    r.tables.append(table(["row", "formula", "the spec says", "handgrad holds", "difference"],
                          [[k, formula[k], f"{said[k]:,}", f"{measured[k]:,}", f"{measured[k] - said[k]:+,}"]
                           for k in said]))
    r.found = (f"The weights are {measured['weights']:,}, not 234,624, and the gradients "
               f"{measured['gradients']:,}, not "
               "235,018; the biases, activations and pre-activations are as the table says.")
    r.why = (f"784·256 + 256·128 + 128·10 = 200,704 + 32,768 + 1,280 = {200704 + 32768 + 1280:,}: the "
             f"table's sum is "
             "128 short, and its gradient row, weights + biases, carries the same slip (234,624 + 394 = "
             "235,018).")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(8, 3.2))
        names = list(said)
        y = np.arange(len(names))
        ax.barh(y - 0.2, [said[k] for k in names], 0.38, color=COLORS["said"], label="the spec's table")
        ax.barh(y + 0.2, [measured[k] for k in names], 0.38, color=COLORS["relu"], label="handgrad holds")
        for i, k in enumerate(names):
            if measured[k] != said[k]:
                ax.text(max(measured[k], said[k]), i, f"  {measured[k] - said[k]:+,}", va="center",
                        fontsize=9,
                        color=COLORS["said"], fontweight="bold")
        ax.set_yticks(y, names)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set(xlabel="numbers held (log scale)", title=f"{' → '.join(map(str, sizes))}, batch {batch}")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize=8.5)
        return fig

    r.plots["memory"] = draw
    return r
