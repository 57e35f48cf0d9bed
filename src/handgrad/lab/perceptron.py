"""Lesson 4, "From the perceptron to the MLP": Rosenblatt's perceptron and XOR, the activation
functions, its initialization test, the three norms, inverted dropout and its MNIST run."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..mlp import MLP
from ..nn.activations import get_activation
from ..nn.dropout import Dropout
from ..nn.norms import NORMS
from ..perceptron import GATE_INPUTS, GATES, Perceptron
from .by_hand_training import mnist_run
from .pictures import COLORS, seed_band, threshold_line
from .registry import experiment
from .result import Result, at_least, at_most, between, fact, fmt, near, pct, table
from .stats import Sample
from .training import MNIST_NEEDS, seeds_for

LESSON = "perceptron"


@experiment(
    "perceptron-and-xor", "The perceptron learns AND and never XOR",
    claim="A single perceptron learns the linearly separable AND perfectly; on XOR it never converges, "
          "wrong however long it trains — no straight line separates XOR.",
    lesson=LESSON, section="The perceptron and the XOR problem", seconds=(1, 1),
    related=("xor-2-4-1", "linear-collapse"),
    fails_with={"and": dict(and_epochs=1), "xor": dict(gate="or")})
def perceptron_and_xor(quick: bool = False, seed: int = 0, gate: str = "xor", and_epochs: int = 100,
                       xor_epochs: int = 1000) -> Result:
    """The lesson's setup: handgrad's Perceptron(2, lr=0.1) from zero weights, the four corners in
    order; AND for 100 epochs, XOR (``gate``) for 1,000."""
    X = GATE_INPUTS
    p_and = Perceptron(2, lr=0.1).fit(X, GATES["and"], epochs=and_epochs)
    p_xor = Perceptron(2, lr=0.1).fit(X, GATES[gate], epochs=xor_epochs)
    and_right = int(np.sum(p_and.predict(X) == GATES["and"]))
    xor_right = int(np.sum(p_xor.predict(X) == GATES[gate]))
    cycle = p_xor.cycle()
    r = Result()
    r.setups = {"the lesson's": f"Perceptron(2, lr=0.1) from zero weights, the four corners in order; AND "
                                f"for "
                                f"{and_epochs} epochs, {gate.upper()} for {xor_epochs:,}"}
    r.checks = [at_least("and", "AND: all four corners right", and_right, 4, f"{and_right} of 4 right, after "
                         f"{p_and.epochs_} epoch(s)"),
                at_most("xor",
                        f"{gate.upper()}: still wrong after {xor_epochs:,} epochs (at most 3 of 4 right)",
                        xor_right, 3, f"{xor_right} of 4 right; at least {min(p_xor.mistakes)} mistake(s) in "
                        "every epoch" + (f"; the weights cycle with period {cycle.period}" if cycle else ""))]
    r.measurements = {"and_mistakes_per_epoch": p_and.mistakes,
                      "xor_fewest_mistakes": int(min(p_xor.mistakes)),
                      "xor_right": xor_right, "xor_cycle_period": cycle.period if cycle else None}
    r.found = (f"AND is learned after {p_and.epochs_} epochs; after {xor_epochs:,} epochs XOR still gets "
               f"{xor_right} of "
               f"4 right, with at least {min(p_xor.mistakes)} mistake(s) every epoch"
               + (f" and weights that repeat every {cycle.period} epoch(s)." if cycle else "."))
    r.why = ("The perceptron's rule moves its line toward each mistake; for separable data it stops once "
             "every point is right (Novikoff's theorem bounds the mistakes). XOR's corners cannot all be "
             "right for any line, so there is always a mistake to move toward, and the weights cycle.")

    def draw(plt: Any) -> Any:
        from matplotlib.colors import ListedColormap
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
        ax = axes[0]
        for name, p, c in (("AND", p_and, COLORS["relu"]), (gate.upper(), p_xor, COLORS["sigmoid"])):
            m = p.mistakes[:30]
            ax.plot(np.arange(1, len(m) + 1), m, "o-", ms=3, color=c, label=name)
        ax.set(xlabel="epoch", ylabel="mistakes in the epoch", title="Mistakes per epoch (first 30)",
               yticks=range(5))
        ax.legend()
        gx, gy = np.meshgrid(np.linspace(-0.5, 1.5, 200), np.linspace(-0.5, 1.5, 200))
        grid = np.c_[gx.ravel(), gy.ravel()]
        cmap = ListedColormap([COLORS["relu"], COLORS["sigmoid"]])
        for ax, (name, p, labels) in zip(axes[1:], (("AND", p_and, GATES["and"]),
                                                    (gate.upper(), p_xor, GATES[gate]))):
            ax.contourf(gx, gy, p.predict(grid).reshape(gx.shape),  # type: ignore[union-attr]  # a batch
                        levels=[-0.5, 0.5, 1.5], cmap=cmap, alpha=0.2)
            ax.scatter(X[:, 0], X[:, 1], c=labels, cmap=cmap, vmin=0, vmax=1, s=90, zorder=3)
            ax.set(xticks=[0, 1], yticks=[0, 1],
                   title=f"{name}: {int(np.sum(p.predict(X) == labels))} of 4 right")
            ax.set_aspect("equal")
            ax.grid(False)
        return fig

    r.plots["gates"] = draw
    return r


def layer_grad_ratio(act: str, init: str, depth: int, width: int, seed: int) -> float:
    """‖dW1‖ / ‖dW_depth‖ of a fresh net of ``depth`` hidden layers after one backward pass."""
    rng = np.random.default_rng((seed, 12))
    X, y = rng.standard_normal((128, width)), rng.integers(0, 10, 128)
    model = MLP([width] * (depth + 1) + [10], [act] * depth + ["softmax"], init, seed=seed, dtype=np.float64)
    model.loss_and_grad(X, y)
    n = [np.linalg.norm(layer.dW) for layer in model.layers]
    return float(n[0] / n[-2])


@experiment(
    "activation-max-grads", "Sigmoid's gradient peaks at 0.25: it vanishes",
    claim="On x in [−5, 5] the largest gradient of sigmoid is 0.250 (so it vanishes through layers), of "
          "tanh 1.000 (better), and of ReLU 1.000 (no attenuation).",
    lesson=LESSON, section="Activation functions", seconds=(1, 1),
    related=("tanh-saturation", "relu-rescues-depth", "relu-100-layers"),
    fails_with={"sigmoid-peak": dict(grid=(1.0, 5.0)), "tanh-peak": dict(grid=(1.0, 5.0)),
                "relu-peak": dict(grid=(-5.0, -1.0)), "vanishing": dict(depth=2)})
def activation_max_grads(quick: bool = False, seed: int = 0, grid: tuple[float, float] = (-5.0, 5.0),
                         depth: int = 50) -> Result:
    """The lesson's grid: 1,000 points from −5 to 5; each activation's derivative from handgrad's own
    backward pass; then ‖dW1‖/‖dW50‖ through 50 sigmoid layers of 64 (Xavier), float64, 5 seeds."""
    x = np.linspace(grid[0], grid[1], 1000)[None, :]                    # (1, 1000)
    peak = {}
    for name in ("sigmoid", "tanh", "relu"):
        act = get_activation(name)
        act.forward(x)
        peak[name] = float(act.backward(np.ones_like(x)).max())
    ratio = Sample([layer_grad_ratio("sigmoid", "xavier", depth, 64, s) for s in range(seed, seed + 5)],
                   log=True)
    r = Result()
    r.setups = {"the lesson's": f"x = 1,000 points from {grid[0]:g} to {grid[1]:g}; the derivatives from "
                                f"handgrad's "
                                f"activations; then {depth} sigmoid layers of 64 (Xavier init) at "
                                f"initialization, "
                                "a batch of 128, float64, 5 seeds"}
    r.checks = [near("sigmoid-peak", "sigmoid's largest gradient is 0.250", peak["sigmoid"], 0.25, 0.002,
                     f"{peak['sigmoid']:.5f}"),
                near("tanh-peak", "tanh's is 1.000", peak["tanh"], 1.0, 0.0005, f"{peak['tanh']:.5f}"),
                near("relu-peak", "ReLU's is 1.000", peak["relu"], 1.0, 0.0005, f"{peak['relu']:.5f}"),
                at_most("vanishing",
                        f"so sigmoid's gradient vanishes: through {depth} layers the first gets under "
                        "1e-6 of the last one's", ratio, 1e-6, f"‖dW1‖/‖dW{depth}‖ = {fmt(ratio.mean)}",
                        log=True)]
    r.measurements = {f"largest_derivative[{k}]": v for k, v in peak.items()}
    r.measurements["sigmoid_first_over_last"] = ratio.values
    r.found = (f"The largest derivatives on the lesson's grid are {peak['sigmoid']:.4f}, {peak['tanh']:.4f} "
               f"and "
               f"{peak['relu']:.4f}; through {depth} sigmoid layers the first layer gets {fmt(ratio.mean)} "
               f"of the last "
               "one's gradient.")
    r.why = ("σ' = σ(1 − σ) is largest at 0, where σ = ½: ½ · ½ = ¼. Every sigmoid layer multiplies the "
             f"backward signal by at most ¼ (times the weights), so {depth} of them leave the first layers "
             "almost nothing; tanh' and ReLU' reach 1.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(7, 3.8))
        for name in ("sigmoid", "tanh", "relu"):
            act = get_activation(name)
            act.forward(x)
            ax.plot(x[0], act.backward(np.ones_like(x))[0], color=COLORS[name],
                    label=f"{name}': largest {peak[name]:.3f}")
        threshold_line(ax, 0.25, "0.25")
        ax.set(xlabel="x", ylabel="derivative", title="The derivatives on the lesson's grid")
        ax.legend(loc="upper left")
        return fig

    r.plots["derivatives"] = draw
    return r


@experiment(
    "gelu-silu-minima", "GELU's minimum is about −0.17, SiLU's about −0.28",
    claim="GELU's output range is about (−0.17, ∞) and SiLU's about (−0.28, ∞).",
    lesson=LESSON, section="Activation functions", seconds=(0.3, 0.3),
    related=("activation-max-grads",),
    fails_with={"gelu-min": dict(grid=(0.0, 5.0)), "silu-min": dict(grid=(0.0, 5.0))})
def gelu_silu_minima(quick: bool = False, seed: int = 0, grid: tuple[float, float] = (-6.0, 6.0)) -> Result:
    """handgrad's GELU (exact, and GPT-2's tanh form) and SiLU on 24,001 points of ``grid``: the
    smallest value each takes and where."""
    x = np.linspace(grid[0], grid[1], 24001)[None, :]
    lows = {}
    for name in ("gelu", "gelu_tanh", "silu"):
        y = get_activation(name).forward(x)[0]
        i = int(np.argmin(y))
        lows[name] = (float(y[i]), float(x[0, i]))
    r = Result()
    r.setups = {"the lesson's": f"handgrad's GELU (x·Φ(x)) and SiLU (x·σ(x)) on {x.shape[1]:,} points from "
                                f"{grid[0]:g} to {grid[1]:g}, float64",
                "variant: GELU, tanh form": "GPT-2's ½x(1 + tanh(√(2/π)(x + 0.044715x³)))"}
    r.checks = [near("gelu-min", "GELU's smallest value is about −0.17 (within 2 %)", lows["gelu"][0], -0.17,
                     0.02,
                     f"{lows['gelu'][0]:.5f} at x = {lows['gelu'][1]:.4f}"),
                near("silu-min", "SiLU's smallest value is about −0.28 (within 2 %)", lows["silu"][0], -0.28,
                     0.02,
                     f"{lows['silu'][0]:.5f} at x = {lows['silu'][1]:.4f}"),
                near("gelu-min", "GELU's tanh form", lows["gelu_tanh"][0], -0.17, 0.02,
                     f"{lows['gelu_tanh'][0]:.5f}",
                     variant="GELU, tanh form")]
    r.measurements = {f"minimum[{k}]": v[0] for k, v in lows.items()}
    r.measurements.update({f"argmin[{k}]": v[1] for k, v in lows.items()})
    r.found = (f"GELU bottoms out at {lows['gelu'][0]:.4f} (x = {lows['gelu'][1]:.3f}), SiLU at "
               f"{lows['silu'][0]:.4f} "
               f"(x = {lows['silu'][1]:.3f}).")
    r.why = ("Both are x times a smooth step that is small but not zero for negative x, so they dip below 0 "
             "before returning to it: the dip ends where the derivative Φ(x) + xφ(x) (or σ + xσ(1 − σ)) "
             "crosses zero.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(7, 3.8))
        xs = np.linspace(-4, 2, 600)[None, :]
        for name, c in (("gelu", COLORS["gelu"]), ("silu", COLORS["silu"]), ("relu", COLORS["relu"])):
            ax.plot(xs[0], get_activation(name).forward(xs)[0], color=c, label=name)
            if name in lows:
                ax.plot(lows[name][1], lows[name][0], "o", color=c)
                ax.annotate(f"{lows[name][0]:.3f}", (lows[name][1], lows[name][0]),
                            textcoords="offset points",
                            xytext=(0, -14), ha="center", fontsize=8, color=c)
        ax.set(xlabel="x", ylabel="f(x)", ylim=(-0.5, 2), title="GELU and SiLU dip below zero")
        ax.legend(loc="upper left")
        return fig

    r.plots["minima"] = draw
    return r


def init_test(scale: Callable[[int], float], depth: int, width: int, batch: int, seed: int) -> np.ndarray:
    """The lesson's test: x ~ N(0, 1) of (batch, width), then ``depth`` times x = relu(x @ W) with a
    fresh W = scale(width) · N(0, 1), no bias; the std after every layer (float64)."""
    rng = np.random.default_rng((seed, 13))
    x = rng.standard_normal((batch, width))
    relu = get_activation("relu")
    stds = [float(x.std())]
    with np.errstate(all="ignore"):
        for _ in range(depth):
            W = scale(width) * rng.standard_normal((width, width))         # (n, n), the lesson's x @ W
            x = relu.forward(x @ W)                                        # (B, n)
            stds.append(float(x.std()))
    return np.array(stds)


@experiment(
    "init-test-50", "The init test: 50 ReLU layers of 256",
    claim="Passing a batch of 1,000 through 50 ReLU layers of width 256, the std at layer 50 is ~1e-30 "
          "(vanished) with weights × 0.01, ~1e+10 (exploded) with weights × 1.0, and ~1.0 (stable) with He "
          "init.",
    lesson=LESSON, section="Initialization: the variance argument", seconds=(4, 12),
    related=("init-variance-factor", "n01-variance-1e12", "he-factor-two", "relu-100-layers"),
    fails_with={"he": dict(he_gain=1.0), "tiny": dict(he_gain=1.0), "huge": dict(he_gain=1.0)})
def init_test_50(quick: bool = False, seed: int = 0, depth: int = 50, width: int = 256,
                 he_gain: float = 2.0) -> Result:
    """The lesson's test_init, as written (float64, no bias, a fresh N(0, 1) draw per layer scaled by
    0.01, 1.0 or √(2/256)); a batch of 1,000 (200 with --quick), 5 seeds."""
    batch = 200 if quick else 1000
    seeds = range(seed, seed + 5)
    scales = {"tiny (× 0.01)": lambda n: 0.01, "huge (× 1.0)": lambda n: 1.0,
              "He (× √(2/256))": lambda n: math.sqrt(he_gain / n)}
    runs = {k: [init_test(f, depth, width, batch, s) for s in seeds] for k, f in scales.items()}
    last = {k: Sample([v[-1] for v in vals], log=True) for k, vals in runs.items()}
    tiny, huge, he = last.values()
    r = Result()
    r.setups = {"the lesson's": f"the lesson's test: x ~ N(0, 1) of ({batch}, {width}), {depth} times x = "
                                f"relu(x @ W) "
                                "with a fresh N(0, 1) W times 0.01, 1.0 or √(2/256), no bias, float64; 5 "
                                "seeds"
                                + (" (the full run uses the lesson's batch of 1,000)" if quick else "")}
    r.checks = [between("tiny", "weights × 0.01: the std at layer 50 is ~1e-30 (within one decade)", tiny,
                        1e-31, 1e-29,
                        f"{fmt(tiny.mean)}", log=True, says="~1e-30"),
                between("huge", "weights × 1.0: ~1e+10 (within one decade)", huge, 1e9, 1e11,
                        f"{fmt(huge.mean)}",
                        log=True, says="~1e+10"),
                between("he", "He: ~1.0 (within one decade)", he, 0.1, 10.0, f"{he.mean:.3f}", log=True)]
    r.measurements = {f"std_at_layer_{depth}[{k}]": v.values for k, v in last.items()}
    per = {k: float(np.exp(np.mean(np.diff(np.log(vals[0][1:]))))) for k, vals in runs.items()}
    r.found = (f"At layer {depth} the std is {fmt(tiny.mean)} with weights × 0.01 and {fmt(huge.mean)} with "
               f"× 1.0 — "
               f"{abs(math.log10(tiny.mean / 1e-30)):.0f} and {math.log10(huge.mean / 1e10):.0f} orders of "
               f"magnitude "
               f"beyond the lesson's 1e-30 and 1e+10 — and {he.mean:.2f} with He.")
    r.why = (f"Each ReLU layer multiplies the root-mean-square by √(n·σ²/2): √(256 · 0.01² / 2) = 0.113 for "
             f"the tiny "
             f"weights and √(256/2) = 11.3 for the huge ones (measured ×{per['tiny (× 0.01)']:.3f} and "
             f"×{per['huge (× 1.0)']:.1f}); fifty of them make 0.113⁵⁰ ≈ 4e-48 and 11.3⁵⁰ ≈ 4e+52. He's "
             "√(2/256) makes the factor 1.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(8, 4.2))
        layers = np.arange(depth + 1)
        colors = [COLORS["relu"], COLORS["sigmoid"], COLORS["nesterov"]]
        for (k, vals), c in zip(runs.items(), colors):
            ax.semilogy(layers, vals[0], color=c, lw=2, label=f"{k}: {fmt(vals[0][-1])} at layer {depth}")
        for y, c in ((1e-30, COLORS["relu"]), (1e10, COLORS["sigmoid"])):
            ax.plot(depth, y, "x", color=c, ms=10, mew=2)
            ax.annotate(f"the lesson: {fmt(y)}", (depth, y), textcoords="offset points", xytext=(-8, 6),
                        ha="right", fontsize=8, color=c)
        ax.set(xlabel="layer", ylabel="std of the activations", title="The lesson's init test (one seed)",
               ylim=(1e-55, 1e60))
        ax.legend(loc="upper left", fontsize=8)
        return fig

    r.plots["init-test"] = draw
    return r


@experiment(
    "layernorm-rmsnorm", "LayerNorm and RMSNorm: the statistics they leave",
    claim="On x = randn(4, 768)·10 + 5, LayerNorm leaves each row with mean 0.0000 and std 1.0000; RMSNorm "
          "leaves each row with RMS 1.0000, but its mean is not zeroed.",
    lesson=LESSON, section="Normalization", seconds=(0.3, 0.3),
    related=("batchnorm-modes", "normalization-grid"),
    fails_with={"ln-mean": dict(beta=1.0), "ln-std": dict(eps=100.0), "rms-one": dict(eps=1000.0),
                "rms-mean-kept": dict(shift=0.0)})
def layernorm_rmsnorm(quick: bool = False, seed: int = 0, shift: float = 5.0, eps: float = 1e-5,
                      beta: float = 0.0) -> Result:
    """The lesson's input, x = N(0, 1)·10 + 5 of shape (4, 768), float64, through handgrad's
    LayerNorm and RMSNorm (γ = 1, β = ``beta``); per-row statistics averaged over the rows, 5 seeds."""
    stats: dict[str, list[float]] = {"ln_mean": [], "ln_std": [], "rms_rms": [], "rms_mean": []}
    for s in range(seed, seed + 5):
        x = np.random.default_rng((s, 14)).standard_normal((4, 768)) * 10 + shift
        ln = NORMS["layer"](768, eps=eps, dtype=np.float64)
        ln.params["bias"][:] = beta
        rms = NORMS["rms"](768, eps=eps, dtype=np.float64)
        a, b = ln.forward(x), rms.forward(x)
        stats["ln_mean"].append(float(np.abs(a.mean(axis=1)).mean()))
        stats["ln_std"].append(float(a.std(axis=1).mean()))
        stats["rms_rms"].append(float(np.sqrt((b ** 2).mean(axis=1)).mean()))
        stats["rms_mean"].append(float(b.mean(axis=1).mean()))
    ln_mean, ln_std = Sample(stats["ln_mean"]), Sample(stats["ln_std"])
    rms_rms, rms_mean = Sample(stats["rms_rms"]), Sample(stats["rms_mean"])
    r = Result()
    r.setups = {"the lesson's": "x = N(0, 1)·10 + 5 of shape (4, 768), float64, through handgrad's "
                                "LayerNorm and "
                                f"RMSNorm (γ = 1, β = {beta:g}, ε = {eps:g}); 5 seeds"}
    r.checks = [at_most("ln-mean", "LayerNorm: each row's mean is 0.0000 (|mean| below 5e-5)", ln_mean, 5e-5,
                        fmt(ln_mean.mean), log=True),
                near("ln-std", "LayerNorm: each row's std is 1.0000 (within 5e-5)", ln_std, 1.0, 5e-5,
                     f"{ln_std.mean:.7f}"),
                near("rms-one", "RMSNorm: each row's RMS is 1.0000 (within 5e-5)", rms_rms, 1.0, 5e-5,
                     f"{rms_rms.mean:.7f}"),
                at_least("rms-mean-kept", "RMSNorm: the mean is not zeroed (at least 0.1)", rms_mean, 0.1,
                         f"{rms_mean.mean:.4f}")]
    r.measurements = stats
    r.found = (f"After LayerNorm each row has mean {fmt(ln_mean.mean)} and std {ln_std.mean:.6f}; after "
               f"RMSNorm an "
               f"RMS of {rms_rms.mean:.6f} and a mean of {rms_mean.mean:.3f}.")
    r.why = ("LayerNorm subtracts the row's mean and divides by its std: mean 0, std √(σ²/(σ² + ε)) ≈ 1 − "
             "ε/(2σ²). "
             "RMSNorm only divides by √(mean(x²)): the RMS becomes 1, and a row centred at 5 with spread "
             "10 keeps its mean at 5/√(5² + 10²) ≈ 0.45.")

    def draw(plt: Any) -> Any:
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), sharey=True)
        x = np.random.default_rng((seed, 14)).standard_normal((4, 768)) * 10 + shift
        ln = NORMS["layer"](768, eps=eps, dtype=np.float64)
        rms = NORMS["rms"](768, eps=eps, dtype=np.float64)
        for ax, (name, v, c) in zip(axes, (("input x", x[0], COLORS["linear"]),
                                           ("LayerNorm(x)", ln.forward(x)[0], COLORS["relu"]),
                                           ("RMSNorm(x)", rms.forward(x)[0], COLORS["tanh"]))):
            ax.hist(v, 40, color=c)
            ax.axvline(v.mean(), color="black", lw=1)
            ax.set(title=f"{name}: mean {v.mean():.3f}, std {v.std():.3f}", xlabel="value")
        axes[0].set_ylabel("count (one row of 768)")
        return fig

    r.plots["norms"] = draw
    return r


@experiment(
    "batchnorm-modes", "BatchNorm at training and at inference; batch size 1",
    claim="BatchNorm behaves differently in training and at inference (it needs running statistics for "
          "inference) and breaks with batch size 1; LayerNorm is identical at training and inference and "
          "works with any batch size.",
    lesson=LESSON, section="Normalization", seconds=(0.5, 0.5),
    related=("layernorm-rmsnorm", "normalization-grid"),
    fails_with={"bn-differs": dict(shift=0.0, scale=1.0, batch=8192), "bn-batch-1": dict(batch_one="layer"),
                "running-stats": dict(warmup=0), "ln-same": dict(ln="batch"), "ln-batch-1": dict(ln="batch")})
def batchnorm_modes(quick: bool = False, seed: int = 0, shift: float = 5.0, scale: float = 10.0,
                    batch: int = 32,
                    warmup: int = 200, batch_one: str = "batch", ln: str = "layer") -> Result:
    """handgrad's BatchNorm1d and LayerNorm on (batch, 64) inputs N(5, 10²), float64: a fresh
    BatchNorm in training and in evaluation mode on the same batch; again after ``warmup``
    training batches have filled its running statistics; a batch of one in training mode; and
    LayerNorm in both modes and on one row alone."""
    rng = np.random.default_rng(seed)

    def draw_batch(n: int) -> np.ndarray:
        return rng.standard_normal((n, 64)) * scale + shift

    x = draw_batch(batch)
    bn = NORMS["batch"](64, dtype=np.float64)
    fresh = float(np.max(np.abs(bn.forward(x, training=True) - bn.forward(x, training=False))))
    for _ in range(warmup):
        bn.forward(draw_batch(batch), training=True)
    out = bn.forward(draw_batch(4096), training=False)                   # new data, at inference
    warm = max(float(np.abs(out.mean(axis=0)).mean()), float(np.abs(out.std(axis=0) - 1).mean()))
    try:
        NORMS[batch_one](64, dtype=np.float64).forward(draw_batch(1), training=True)
        refused = ""
    except ValueError as e:
        refused = str(e)
    lnorm = NORMS[ln](64, dtype=np.float64)
    x = draw_batch(batch)
    same = float(np.max(np.abs(lnorm.forward(x, training=True) - lnorm.forward(x, training=False))))
    try:                                                      # one row alone, in training mode
        row = lnorm.forward(x[:1], training=True)                        # (1, 64)
        alone = float(np.max(np.abs(row - lnorm.forward(x, training=True)[:1])))
    except ValueError:
        alone = math.inf
    r = Result()
    r.setups = {"the lesson's": f"handgrad's BatchNorm1d and LayerNorm on batches of {batch} × 64 drawn from "
                                f"N({shift:g}, {scale:g}²), float64"}
    r.checks = [at_least("bn-differs",
                         "a fresh BatchNorm gives different outputs in training and at inference "
                         "(largest difference ≥ 0.1)", fresh, 0.1, f"largest difference {fmt(fresh)}"),
                at_most("running-stats",
                        f"once its running statistics have seen {warmup} training batches, they "
                        "normalize new data at inference: each feature's mean within 0.1 of 0 and std "
                        "within 0.1 "
                        "of 1", warm, 0.1, f"largest average deviation {fmt(warm)}"),
                fact("bn-batch-1", "BatchNorm breaks with a batch of one in training",
                     (f"handgrad refuses it: "
                     f"“{refused}”" if refused else "it ran without complaint"), bool(refused)),
                at_most("ln-same",
                        "LayerNorm is identical in training and at inference (largest difference ≤ 1e-12)",
                        same, 1e-12, f"largest difference {fmt(same)}", log=True),
                at_most("ln-batch-1", "LayerNorm gives a row the same output alone as in a batch (≤ 1e-12)",
                        alone,
                        1e-12, f"largest difference {fmt(alone)}", log=True)]
    r.measurements = {"bn_train_vs_eval_fresh": fresh, "bn_train_vs_eval_warm": warm,
                      "bn_batch_1_refused": bool(refused),
                      "ln_train_vs_eval": same, "ln_alone_vs_batch": alone}
    r.found = (f"A fresh BatchNorm's training and inference outputs differ by up to {fmt(fresh)}; after "
               f"{warmup} batches its "
               f"running statistics normalize new data to within {fmt(warm)}; a batch of one is refused; "
               f"LayerNorm's "
               f"outputs agree to {fmt(max(same, alone))}.")
    r.why = ("In training BatchNorm normalizes each feature with the batch's own mean and variance; at "
             "inference it "
             "uses running averages (starting at mean 0, variance 1), which only match once they have seen "
             "enough batches. With one example the batch variance is 0 and x − μ = 0: every input maps to β. "
             "LayerNorm's statistics come from the row itself.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(7, 3.6))
        vals = {"BatchNorm, fresh:\ntraining − inference": fresh,
                f"BatchNorm after {warmup} batches:\ninference's error on new data": warm,
                "LayerNorm:\ntraining − inference": max(same, 1e-17),
                "LayerNorm:\none row alone − in a batch": max(alone, 1e-17)}
        ax.barh(list(vals), list(vals.values()), color=[COLORS["sigmoid"], COLORS["tanh"], COLORS["relu"],
                                                        COLORS["relu"]])
        ax.set_xscale("log")
        ax.invert_yaxis()
        ax.set(xlabel="largest |difference| (LayerNorm's are 0: drawn at 1e-17)",
               title="Does the mode change the output?")
        return fig

    r.plots["modes"] = draw
    return r


@experiment(
    "inverted-dropout", "Inverted dropout keeps the mean",
    claim="Inverted dropout with p = 0.5 zeroes about half of x = ones(10000) and scales the rest by "
          "1/(1 − p): the mean stays ≈ 1.000, and at inference dropout is the identity.",
    lesson=LESSON, section="Dropout", seconds=(0.3, 0.3),
    related=("dropout-ensemble", "mnist-deep-diagnostics"),
    fails_with={"mean-kept": dict(inverted=False), "half-zeroed": dict(p=0.2),
                "inference-identity": dict(eval_training=True)})
def inverted_dropout(quick: bool = False, seed: int = 0, p: float = 0.5, inverted: bool = True,
                     eval_training: bool = False) -> Result:
    """handgrad's Dropout(p) on ones(10000) in training mode, 10 seeds (5 with --quick); then in
    evaluation mode. ``inverted=False`` undoes the 1/(1 − p) scaling, the bug the lesson warns of."""
    seeds = seeds_for(quick, seed)
    means, zeros = [], []
    x = np.ones((1, 10000))
    for s in seeds:
        y = Dropout(p, rng=np.random.default_rng(s)).forward(x, training=True)
        y = y if inverted else y * (1 - p)
        means.append(float(y.mean()))
        zeros.append(float(np.mean(y == 0)))
    mean, zero = Sample(means), Sample(zeros)
    at_inference = Dropout(p, rng=np.random.default_rng(seed)).forward(x, training=eval_training)
    off = float(np.max(np.abs(at_inference - x)))
    r = Result()
    r.setups = {"the lesson's": f"handgrad's Dropout(p = {p:g}) on ones(10000), float64, {len(seeds)} seeds"}
    r.checks = [near("mean-kept", "the mean stays ≈ 1.000 (within 2 %)", mean, 1.0, 0.02, f"{mean.mean:.4f}"),
                near("half-zeroed", "about half the entries are zeroed (0.500, within 4 %)", zero, 0.5, 0.04,
                     f"{zero.mean:.4f}"),
                at_most("inference-identity", "at inference it is the identity (largest change 0)", off, 0.0,
                        f"largest change {fmt(off)}")]
    r.measurements = {"mean": means, "share_zeroed": zeros, "inference_change": off}
    r.found = (f"In training the mean is {mean.mean:.4f} and {pct(zero.mean)} of the entries are 0; at "
               f"inference nothing "
               "changes.")
    r.why = ("Each entry survives with probability 1 − p and is then multiplied by 1/(1 − p), so its "
             "expected "
             "value is (1 − p) · 1/(1 − p) = 1; without the scaling it would be 1 − p, and inference, which "
             "uses every unit, would see activations twice as large as training did.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(7, 3.6))
        y = Dropout(p, rng=np.random.default_rng(seed)).forward(x, training=True)[0]
        ax.hist(y, bins=[-0.25, 0.25, 1.75, 2.25], color=COLORS["relu"], rwidth=0.6)
        ax.set_xticks([0, 2], ["0 (dropped)", f"{1 / (1 - p):g} (kept, ×1/(1 − p))"])
        ax.set(ylabel="entries of 10,000", title=f"Dropout(p = {p:g}) on ones: mean {y.mean():.4f}")
        return fig

    r.plots["dropout"] = draw
    return r


@experiment(
    "mnist-deep-diagnostics", "The MNIST run's diagnostics, epoch by epoch",
    claim="MNIST with 784 → 256 → 128 → 10, dropout 0.2, SGD lr 0.1, batch 128 for 10 epochs prints, after "
          "the first epoch, loss 0.412, test accuracy 0.928 and gradient norm 1.84, and after the tenth, "
          "loss 0.087, test accuracy 0.978 and gradient norm 0.43 — healthy convergence.",
    lesson=LESSON, section="Reading the diagnostics: MNIST 784 → 256 → 128 → 10", seconds=(60, 60),
    needs=MNIST_NEEDS, related=("mnist-95", "weight-decay-overfitting", "inverted-dropout"),
    fails_with={k: dict(epochs=1, seeds=5, lr=1e-4, batch_size=8, n_train=2000)
                for k in ("loss-1", "acc-1", "grad-1", "loss-last", "acc-last", "grad-last", "healthy")},
    quick_skips="10 epochs of MNIST on 5 seeds take about a minute")
def mnist_deep_diagnostics(quick: bool = False, seed: int = 0, epochs: int = 10, seeds: int = 5,
                           lr: float = 0.1, batch_size: int = 128, n_train: int | None = None) -> Result:
    """The lesson's run with handgrad's loop: 784 → 256 → 128 → 10, He init, dropout 0.2 after both
    hidden layers, SGD lr 0.1, batch 128, 10 epochs, 5 seeds; after each epoch the loss of its
    last batch and the gradient norm of its last step (what the lesson prints), and the accuracy
    on the 10,000 test images. (The lesson splits the 70,000 images 80/20; we use MNIST's own
    60,000/10,000.)"""
    runs = [mnist_run(s, epochs=epochs, hidden=(256, 128), dropout=0.2, lr=lr, batch_size=batch_size,
                      n_train=n_train) for s in range(seed, seed + seeds)]
    per_epoch = [len(w.losses) // epochs for w in runs]
    last_loss = [[w.losses[(e + 1) * k - 1] for e in range(epochs)] for w, k in zip(runs, per_epoch)]
    acc = [w.history.column("val_accuracy") for w in runs]
    grad = [w.history.column("grad_norm") for w in runs]
    first = {"loss": Sample([v[0] for v in last_loss], log=True), "acc": Sample([v[0] for v in acc]),
             "grad": Sample([v[0] for v in grad], log=True)}
    end = {"loss": Sample([v[-1] for v in last_loss], log=True), "acc": Sample([v[-1] for v in acc]),
           "grad": Sample([v[-1] for v in grad], log=True)}
    mean_loss = Sample([w.history[-1]["train_loss"] for w in runs], log=True)
    r = Result()
    r.setups = {"the lesson's": f"MNIST, 784 → 256 → 128 → 10, He init, dropout 0.2, SGD lr {lr:g}, batch "
                                f"128, "
                                f"{epochs} epochs, {seeds} seeds; the last batch's loss and gradient norm "
                                f"of each "
                                "epoch, test accuracy on 10,000 images",
                "variant: the epoch's mean loss": "the training loss averaged over the epoch (what a history "
                                                  "records) instead of the last batch's"}
    r.checks = [between("loss-1", "after epoch 1 the loss is about 0.412 (within a factor of 1.5)",
                        first["loss"],
                        0.412 / 1.5, 0.412 * 1.5, f"{first['loss'].mean:.3f}", log=True, says="0.412"),
                between("acc-1", "after epoch 1 the test accuracy is about 0.928 (±1 point)", first["acc"],
                        0.918, 0.938,
                        f"{first['acc'].mean:.4f}", says="0.928"),
                between("grad-1", "after epoch 1 the gradient norm is about 1.84 (within a factor of 2)",
                        first["grad"],
                        0.92, 3.68, f"{first['grad'].mean:.2f}", log=True, says="1.84"),
                between("loss-last", f"after epoch {epochs} the loss is about 0.087 (within a factor of 1.5)",
                        end["loss"], 0.087 / 1.5, 0.087 * 1.5, f"{end['loss'].mean:.3f}", log=True,
                        says="0.087"),
                between("acc-last", f"after epoch {epochs} the test accuracy is about 0.978 (±0.3 points)",
                        end["acc"],
                        0.975, 0.981, f"{end['acc'].mean:.4f}", says="0.978"),
                between("grad-last",
                        f"after epoch {epochs} the gradient norm is about 0.43 (within a factor of 2)",
                        end["grad"], 0.215, 0.86, f"{end['grad'].mean:.2f}", log=True, says="0.43"),
                at_most("healthy", "healthy convergence: the gradient norm falls (by at least 10 % from the "
                        "first epoch to the last)", Sample([g[-1] / g[0] for g in grad], log=True), 0.9,
                        f"{fmt(float(np.exp(np.mean(np.log([g[-1] / g[0] for g in grad])))))}×", log=True),
                between("loss-last", "the epoch's mean loss instead", mean_loss, 0.087 / 1.5, 0.087 * 1.5,
                        f"{mean_loss.mean:.3f}", log=True, variant="the epoch's mean loss")]
    r.measurements = {"last_batch_loss": last_loss, "test_accuracy": acc, "grad_norm": grad}
    r.tables.append(table(["epoch", "loss (last batch)", "test accuracy", "|grad|", "the lesson prints"],
                          [[e + 1, f"{np.mean([v[e] for v in last_loss]):.3f}",
                            f"{np.mean([v[e] for v in acc]):.4f}",
                            f"{np.mean([v[e] for v in grad]):.2f}",
                            {0: "0.412, 0.928, 1.84", epochs - 1: "0.087, 0.978, 0.43"}.get(e, "")]
                           for e in range(epochs)], f"Means over {seeds} seeds"))
    r.found = (f"After epoch 1: loss {first['loss'].mean:.3f}, accuracy {first['acc'].mean:.4f}, |grad| "
               f"{first['grad'].mean:.2f}; after epoch {epochs}: loss {end['loss'].mean:.3f}, accuracy "
               f"{end['acc'].mean:.4f}, |grad| {end['grad'].mean:.2f} (geometric means over {seeds} seeds).")
    r.why = ("A last batch's loss and gradient norm are single noisy draws, so they scatter from seed to "
             "seed "
             "around the epoch's trend; the accuracy is an average over 10,000 images and settles much more "
             "tightly, which is why it is the number to compare.")

    def draw(plt: Any) -> Any:
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
        ep = np.arange(1, epochs + 1)
        for ax, (vals, name, said, log) in zip(axes, ((last_loss, "loss (last batch)", (0.412, 0.087), True),
                                                      (acc, "test accuracy", (0.928, 0.978), False),
                                                      (grad, "gradient norm (last step)", (1.84, 0.43),
                                                       True))):
            seed_band(ax, ep, np.array(vals), COLORS["relu"], f"{seeds} seeds", log=log)
            ax.plot([1, epochs], said, "x", color=COLORS["said"], ms=10, mew=2, label="the lesson's")
            ax.set(xlabel="epoch", title=name, yscale="log" if log else "linear")
            ax.legend(fontsize=8)
        return fig

    r.plots["diagnostics"] = draw
    return r
