"""Lesson 1, "An MLP by hand, then in PyTorch and MLX": its claims about structure, activations,
parameter counts, the loss at initialization and the scale of the weights."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..mlp import MLP
from ..nn.activations import Tanh, get_activation
from ..nn.blocks import FFN, SwiGLU
from ..nn.init import Initializer
from ..nn.losses import cross_entropy
from ..optim import Adam, Cosine
from ..perceptron import GATE_INPUTS, GATES
from .pictures import COLORS, boundary, count_bars, dot_strip, threshold_line
from .registry import experiment
from .result import Result, at_least, at_most, between, fmt, near, pct, table
from .stats import Sample
from .training import fit, mnist

LESSON = "by-hand"


def scaled_normal(gain: float) -> Initializer:
    """Weights N(0, gain / fan_in): gain = σ²n, 1 for Xavier's variance, 2 for He's."""
    return lambda rng, d_out, d_in: math.sqrt(gain / d_in) * rng.standard_normal((d_out, d_in))


def layer_grad_norms(model: MLP, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """‖dW‖ of every weight layer after one backward pass at initialization."""
    model.loss_and_grad(X.astype(model.dtype), y)
    return np.array([np.linalg.norm(layer.dW) for layer in model.layers])


# --- stacking without an activation -----------------------------------------------------------

@experiment(
    "linear-collapse", "Two linear layers are one linear layer",
    claim="Stacking linear layers with nothing between them collapses to one linear layer: "
          "(x W1) W2 equals x (W1 W2) up to float drift, so the stack can only learn linear "
          "functions; any non-linearity between them breaks this.",
    lesson=LESSON, section="Stacking linear layers without an activation", seconds=(1, 2),
    related=("universal-approximation", "perceptron-and-xor", "xor-2-4-1"),
    fails_with={"one-map": dict(between="relu"), "nonlinearity-breaks-it": dict(nonlinear="identity"),
                "xor": dict(between="relu")})
def linear_collapse(quick: bool = False, seed: int = 0, between: str = "identity",
                    nonlinear: str = "relu", draws: int | None = None) -> Result:
    """The lesson's demo: W1 (4, 16), W2 (16, 3), x (4,) drawn from N(0, 1) in float64, as
    x @ W (the lesson's layout). Then [2, 8, 8, 1] nets trained on XOR's four corners."""
    draws = draws or (300 if quick else 1000)
    rng = np.random.default_rng(seed)
    f, g = get_activation(between), get_activation(nonlinear)
    rel, rel_nl = [], []
    for _ in range(draws):
        W1, W2, x = rng.standard_normal((4, 16)), rng.standard_normal((16, 3)), rng.standard_normal((1, 4))
        one = x @ (W1 @ W2)                                               # (1, 3): one linear op
        rel.append(np.linalg.norm(f.forward(x @ W1) @ W2 - one) / np.linalg.norm(one))
        rel_nl.append(np.linalg.norm(g.forward(x @ W1) @ W2 - one) / np.linalg.norm(one))
    worst, median_nl = float(max(rel)), float(np.median(rel_nl))

    seeds = range(seed, seed + 5)
    X, y = GATE_INPUTS, GATES["xor"]
    fits = {}
    for act in (between, "relu"):
        for s in seeds:
            model = MLP([2, 8, 8, 1], [act, act, "sigmoid"], seed=s, dtype=np.float64)
            fit(model, X, y, batch_size=None, steps=500, optimizer=Adam(0.05))
            fits[act, s] = (model, model.score(X, y))
    best = max(fits[between, s][1] for s in seeds)
    relu_worst = min(fits["relu", s][1] for s in seeds)

    r = Result()
    r.setups = {"the lesson's": f"W1 (4, 16), W2 (16, 3) and x (4,) drawn from N(0, 1) in float64, "
                                f"{draws:,} draws; (x W1) W2 against x (W1 W2), with "
                                f"{'nothing' if between == 'identity' else between} between them",
                "XOR": f"[2, 8, 8, 1] with {between} hidden layers and a sigmoid output, the four "
                       "corners, full-batch Adam lr 0.05 for 500 steps, 5 seeds",
                "variant: ReLU between": "the same with ReLU hidden layers"}
    r.checks = [
        at_most("one-map", "(x W1) W2 and x (W1 W2) agree up to float drift (relative difference "
                "≤ 1e-12)", worst, 1e-12, f"largest relative difference {fmt(worst)}", log=True),
        at_least("nonlinearity-breaks-it", f"with {nonlinear} between the layers they differ "
                 "(median relative difference ≥ 0.1)", median_nl, 0.1, fmt(median_nl), log=True),
        at_most("xor", "the linear stack cannot fit XOR: at most 3 of the 4 corners (75 %)", best, 0.75,
                f"best of 5 seeds: {pct(best, 0)}"),
        at_least("relu-fits-xor", "with ReLU between the layers it fits all four corners", relu_worst,
                 1.0, f"worst of 5 seeds: {pct(relu_worst, 0)}", variant="ReLU between"),
    ]
    r.measurements = {"largest_relative_difference": worst, "median_relative_difference_with_"
                      f"{nonlinear}": median_nl, "xor_accuracy_linear": [fits[between, s][1] for s in seeds],
                      "xor_accuracy_relu": [fits["relu", s][1] for s in seeds]}
    r.found = (f"(x W1) W2 and x (W1 W2) differ by at most {fmt(worst)} (relative) over {draws:,} "
               f"draws, float rounding; with a ReLU between them by {fmt(median_nl)} (median). On "
               f"XOR the linear stack got at most {pct(best, 0)} of the corners, the ReLU one all four.")
    r.why = ("Matrix products are associative, so W1 W2 is one matrix and the stack is the map "
             "x ↦ x W: its decision boundary is one straight line, which can put at most three of "
             "XOR's corners on the right side. A ReLU between the layers is not linear, so the "
             "product no longer folds into one matrix.")

    def draw(plt: Any) -> Any:
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), gridspec_kw={"width_ratios": [1.5, 1, 1]})
        bins = np.linspace(-18, 1, 60)
        axes[0].hist(np.log10(np.maximum(rel, 1e-18)), bins, color=COLORS["linear"],
                     label="nothing between: one matrix")
        axes[0].hist(np.log10(rel_nl), bins, color=COLORS["relu"], alpha=0.8, label="ReLU between")
        axes[0].set(xlabel="log10 relative difference from x (W1 W2)", ylabel="draws",
                    title="(x W1) W2 against x (W1 W2)")
        axes[0].legend(loc="upper center")
        for ax, act in zip(axes[1:], (between, "relu")):
            model, acc = fits[act, seed]
            name = "linear" if act == "identity" else act
            boundary(ax, model, X, y, f"{name} hidden layers: {pct(acc, 0)} of XOR", margin=0.5, size=120)
            ax.set_aspect("equal")
        return fig

    r.plots["collapse"] = draw
    return r


@experiment(
    "universal-approximation", "One hidden layer fits sin(x) better as it widens",
    claim="A network with one hidden layer and a non-polynomial activation can approximate any "
          "continuous function on a closed interval, given enough units (Hornik, Cybenko).",
    lesson=LESSON, section="Stacking linear layers without an activation", seconds=(3, 14),
    related=("linear-collapse",),
    fails_with={"wider-is-better": dict(widths=(1, 2)), "fits-sin": dict(widths=(1, 2))})
def universal_approximation(quick: bool = False, seed: int = 0, widths: tuple[int, ...] | None = None,
                            steps: int | None = None, lr: float = 0.01) -> Result:
    """[1, w, 1] with a ReLU hidden layer (He) and a linear output, MSE (the spec's 1/(2n)),
    on 200 points of sin(x) in [−π, π]; full-batch Adam with a cosine decay. The error is
    the RMS error on 1,000 evenly spaced points; 5 seeds per width."""
    widths = tuple(widths or ((1, 16, 256) if quick else (1, 2, 4, 8, 16, 32, 64, 128, 256)))
    steps = steps or (1000 if quick else 2000)
    seeds = range(seed, seed + 5)
    grid = np.linspace(-np.pi, np.pi, 1000)[:, None]                    # (1000, 1)
    acts = ("relu",) if quick else ("relu", "tanh")
    errors: dict[tuple[str, int, int], float] = {}
    curves = {}
    for act in acts:
        for w in widths if act == "relu" else widths[::2]:
            for s in seeds:
                rng = np.random.default_rng((s, 4))
                x = np.sort(rng.uniform(-np.pi, np.pi, 200))[:, None]     # (200, 1)
                model = MLP([1, w, 1], [act, "identity"], "he" if act == "relu" else "xavier",
                            seed=s, dtype=np.float64)
                fit(model, x, np.sin(x), batch_size=None, steps=steps, optimizer=Adam(lr),
                    schedule=Cosine(lr, steps))
                pred = model.predict(grid)                                # (1000,)
                errors[act, w, s] = float(np.sqrt(np.mean((pred - np.sin(grid[:, 0])) ** 2)))
                if s == seed:
                    curves[act, w] = pred
    one, wide = widths[0], widths[-1]
    ratio = Sample([errors["relu", one, s] / errors["relu", wide, s] for s in seeds], log=True)
    err_wide = Sample([errors["relu", wide, s] for s in seeds], log=True)

    r = Result()
    r.setups = {"the lesson's": "the lesson gives no setup; ours: [1, w, 1], ReLU (He init), linear "
                                f"output, MSE, 200 points of sin(x) on [−π, π], full-batch Adam lr {lr:g} "
                                f"with a cosine decay over {steps:,} steps, widths {list(widths)}, 5 seeds"}
    if not quick:
        r.setups["variant: tanh"] = "the same with a tanh hidden layer (Xavier init)"
    r.checks = [
        at_least("wider-is-better", f"{wide} units fit at least 10× better than {one}",
                 ratio, 10, f"{fmt(ratio.mean)}× better (geometric mean over seeds)", log=True),
        at_most("fits-sin", f"with {wide} units the fit is close: RMS error ≤ 0.05 (5 % of sin's "
                "amplitude)", err_wide, 0.05, f"RMS error {fmt(err_wide.mean)}", log=True),
    ]
    r.measurements = {"widths": list(widths), **{
        f"rms_error[{a}, width {w}]": [errors[a, w, s] for s in seeds]
        for (a, w, s) in errors if s == seed}}
    r.tables.append(table(["width", *(f"RMS error, {a} (mean of 5 seeds)" for a in acts)],
                          [[w, *(fmt(np.mean([errors[a, w, s] for s in seeds])) if (a, w, seed) in errors
                                 else "—" for a in acts)] for w in widths]))
    r.found = (f"The RMS error against sin(x) falls from {fmt(errors['relu', one, seed])} with {one} "
               f"unit to {fmt(err_wide.mean)} with {wide} (geometric mean of 5 seeds), "
               f"{fmt(ratio.mean)}× smaller.")
    r.why = ("Each ReLU unit adds one kink to a piecewise-linear curve, so w units can follow sin(x) "
             "with w + 1 straight pieces, and the error of the best such curve shrinks as the pieces "
             "get shorter; a trained net gets only as close as its optimizer takes it, so past a few "
             "dozen units the training budget, not the width, sets the error.")

    def draw(plt: Any) -> Any:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4))
        for act in acts:
            ws = [w for w in widths if (act, w, seed) in errors]
            mean = [np.exp(np.mean([np.log(errors[act, w, s]) for s in seeds])) for w in ws]
            lo = [min(errors[act, w, s] for s in seeds) for w in ws]
            hi = [max(errors[act, w, s] for s in seeds) for w in ws]
            a1.fill_between(ws, lo, hi, color=COLORS[act], alpha=0.18, lw=0)
            a1.loglog(ws, mean, "o-", color=COLORS[act], label=f"{act} (band: 5 seeds)")
        threshold_line(a1, 0.05, "RMS 0.05")
        a1.set_xticks(widths, [str(w) for w in widths])
        a1.set(xlabel="hidden units", ylabel="RMS error against sin(x)",
               title="Error against width, one hidden layer")
        a1.legend(loc="lower left")
        g = grid[:, 0]
        a2.plot(g, np.sin(g), color="black", lw=3, alpha=0.25, label="sin(x)")
        for w, ls in zip((one, widths[len(widths) // 2], wide), (":", "--", "-")):
            a2.plot(g, curves["relu", w], ls, color=COLORS["relu"], lw=1.3,
                    label=f"ReLU, {w} unit{'s' if w > 1 else ''}")
        a2.set(xlabel="x", ylabel="output", title="What the ReLU nets learned (one seed)")
        a2.legend(loc="upper left")
        return fig

    r.plots["widths"] = draw
    return r


# --- activations ------------------------------------------------------------------------------

@experiment(
    "tanh-saturation", "Saturated tanh layers and the gradient",
    claim="When the pre-activations of stacked tanh layers get large, tanh'(z) = 1 − tanh²(z) ≈ 0 "
          "for |z| > 2, and multiplying such small factors through 50 layers leaves the early "
          "layers a gradient that is effectively zero.",
    lesson=LESSON, section="Activation functions", seconds=(2, 4),
    related=("relu-100-layers", "activation-max-grads", "relu-rescues-depth"),
    fails_with={"derivative-small": dict(edge=0.5), "vanishes-offsets": dict(bias_std=0.0),
                "vanishes-weights": dict(edge=0.5)})
def tanh_saturation(quick: bool = False, seed: int = 0, depth: int = 50, width: int = 256,
                    weight_gain: float = 16.0, bias_std: float = 4.0, edge: float = 2.0) -> Result:
    """tanh'(z) on a grid; then ‖dW‖ layer by layer through ``depth`` tanh layers of
    ``width`` at initialization (a batch of 64 N(0, 1) inputs, 10 classes, float64), with the
    pre-activations made large two ways: large weights (σ²n = ``weight_gain``) or Xavier
    weights with large biases (N(0, ``bias_std``²))."""
    z = np.linspace(-6, 6, 12001)[None, :]                              # (1, 12001)
    t = Tanh()
    t.forward(z)
    d = t.backward(np.ones_like(z))[0]                                  # (12001,) tanh'(z)
    beyond = float(d[np.abs(z[0]) > edge].max())
    seeds = range(seed, seed + 5)
    ways = {"large weights": (weight_gain, 0.0), "large biases": (1.0, bias_std),
            "unsaturated (Xavier)": (1.0, 0.0)}
    norms: dict[str, np.ndarray] = {}
    ratio: dict[str, list[float]] = {}
    size: dict[str, float] = {}
    for name, (gain, b) in ways.items():
        ratio[name] = []
        for s in seeds:
            rng = np.random.default_rng((s, 5))
            X, y = rng.standard_normal((64, width)), rng.integers(0, 10, 64)
            model = MLP([width] * (depth + 1) + [10], ["tanh"] * depth + ["softmax"],
                        scaled_normal(gain), seed=s, dtype=np.float64)
            for layer in model.layers[:-1]:
                layer.params["bias"][:] = b * rng.standard_normal(width)
            n = layer_grad_norms(model, X, y)
            ratio[name].append(float(n[0] / n[-2]))
            if s == seed:
                norms[name] = n[:-1]
                size[name] = float(np.mean([np.abs(layer.z).mean() for layer in model.layers[1:-1]]))
    # the factor by which the gradient changes per layer going back (from layer depth to 1)
    per_layer = {k: float(np.exp(-np.mean(np.diff(np.log(v))))) for k, v in norms.items()}
    big_w, big_b, plain = (Sample(ratio[k], log=True) for k in ways)

    r = Result()
    r.setups = {"the lesson's": f"{depth} tanh layers of {width} at initialization, a batch of 64 "
                                "N(0, 1) inputs, 10 classes, float64; the pre-activations made large "
                                f"(mean |z| > 2) either by large weights (σ²n = {weight_gain:g}) or by "
                                f"large biases (N(0, {bias_std:g}²), Xavier weights); 5 seeds",
                "variant: unsaturated": "Xavier weights (σ²n = 1), zero biases: |z| stays small"}
    r.checks = [
        at_most("derivative-small", f"tanh'(z) is small where |z| > {edge:g}: below 0.1 (a tenth of "
                "its peak)", beyond, 0.1, f"largest tanh' beyond |z| = {edge:g}: {beyond:.4f}"),
        at_most("vanishes-weights", f"saturated by large weights (mean |z| ≈ "
                f"{size['large weights']:.1f}), the first layer's gradient is effectively zero: "
                f"≤ 1e-6 of layer {depth}'s", big_w, 1e-6, f"‖dW1‖/‖dW{depth}‖ = {fmt(big_w.mean)}",
                log=True, says="effectively zero"),
        at_most("vanishes-offsets", f"saturated by large biases (mean |z| ≈ "
                f"{size['large biases']:.1f}), the first layer's gradient is effectively zero: ≤ 1e-6 of "
                f"layer {depth}'s", big_b, 1e-6, f"‖dW1‖/‖dW{depth}‖ = {fmt(big_b.mean)}", log=True),
        between("unsaturated", "unsaturated, the gradient keeps its size (within 10×)", plain, 0.1, 10,
                f"‖dW1‖/‖dW{depth}‖ = {fmt(plain.mean)}", log=True, variant="unsaturated"),
    ]
    r.measurements = {"largest_derivative_beyond_edge": beyond,
                      **{f"first_over_last[{k}]": v for k, v in ratio.items()},
                      **{f"factor_per_layer[{k}]": v for k, v in per_layer.items()},
                      **{f"mean_abs_z[{k}]": v for k, v in size.items()}}
    r.found = (f"tanh' is at most {beyond:.3f} beyond |z| = {edge:g}. Saturated by large biases, the "
               f"first of {depth} layers gets {fmt(big_b.mean)} of the last one's gradient — it "
               f"vanishes; saturated by large weights it gets {fmt(big_w.mean)} times it — it explodes.")
    r.why = ("Going back through a layer multiplies the gradient by tanh'(z) and by the weights. "
             "Large biases saturate the units without making the weights larger, so the product "
             f"shrinks (×{per_layer['large biases']:.2f} per layer going back, here); large weights saturate "
             f"them too, but the weights' own size outweighs the small derivatives (×"
             f"{per_layer['large weights']:.2f} per layer): the lesson's picture needs the first cause.")

    def draw(plt: Any) -> Any:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4))
        zz = z[0]
        a1.plot(zz, d, color=COLORS["tanh"], lw=2, label="tanh'(z) = 1 − tanh²(z)")
        a1.axvspan(-6, -edge, color="0.85", alpha=0.5)
        a1.axvspan(edge, 6, color="0.85", alpha=0.5, label=f"|z| > {edge:g}")
        threshold_line(a1, 0.1, "0.1")
        a1.set(xlabel="z", ylabel="derivative", title="tanh' is small once |z| > 2")
        a1.legend(loc="upper left")
        colors = {"large weights": COLORS["sigmoid"], "large biases": COLORS["relu"],
                  "unsaturated (Xavier)": COLORS["linear"]}
        for k, n in norms.items():
            a2.semilogy(np.arange(1, len(n) + 1), n, color=colors[k], label=f"{k}: ×{per_layer[k]:.2f}")
        a2.set(xlabel="layer (1 = next to the input)", ylabel="‖dW‖ at initialization",
               title=f"Gradient per layer through {depth} tanh layers (one seed)")
        a2.legend(loc="center left", title="going back, per layer:", title_fontsize=8)
        return fig

    r.plots["saturation"] = draw
    return r


def backward_signal(model: MLP, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """‖dL/da_l‖ for every hidden layer l (1 = next to the input): the gradient the backward
    pass carries down to each layer's output, after one forward pass at initialization."""
    model.loss_and_grad(X.astype(model.dtype), y)           # fills the caches
    out = model.layers[-1]
    _, delta = cross_entropy(out.z, y)                       # (B, K) (p − Y) / B
    grad = out.backward_delta(delta)                         # (B, n) dL/da of the last hidden layer
    norms = []
    for layer in reversed(model.layers[:-1]):
        assert grad is not None                              # every layer here passes it on
        norms.append(float(np.linalg.norm(grad)))
        layer.needs_input_grad = True
        grad = layer.backward(grad)                          # (B, n) one layer further back
    return np.array(norms[::-1])


@experiment(
    "relu-100-layers", "100 ReLU layers keep the gradient's size",
    claim="ReLU's derivative is exactly 1 where z > 0, so it does not decay: through 100 ReLU "
          "layers the gradient still has its full magnitude in the active half (together with "
          "a better initialization).",
    lesson=LESSON, section="Activation functions", seconds=(1, 2),
    related=("tanh-saturation", "he-factor-two", "init-test-50"),
    fails_with={"derivative-exactly-one": dict(activation="leaky_relu"),
                "full-magnitude": dict(gain=1.0)})
def relu_100_layers(quick: bool = False, seed: int = 0, depth: int = 100, width: int = 128,
                    gain: float = 2.0, activation: str = "relu") -> Result:
    """The gradient the backward pass carries down to each of ``depth`` ReLU layers of
    ``width``, ‖dL/da_l‖, at initialization: He (σ²n = 2) against Xavier's variance
    (σ²n = 1); a batch of 64 N(0, 1) inputs, 10 classes, float64; 5 seeds."""
    seeds = range(seed, seed + 5)
    act = get_activation(activation)
    zz = np.random.default_rng(seed).standard_normal((64, width))
    act.forward(zz)
    dev = float(np.max(np.abs(act.backward(np.ones_like(zz)) - (zz > 0))))
    ratio: dict[float, list[float]] = {}
    norms: dict[float, np.ndarray] = {}
    active: dict[float, float] = {}
    dw: dict[float, float] = {}
    for g in (gain, 1.0) if gain != 1.0 else (gain,):
        ratio[g] = []
        for s in seeds:
            rng = np.random.default_rng((s, 6))
            X, y = rng.standard_normal((64, width)), rng.integers(0, 10, 64)
            model = MLP([width] * (depth + 1) + [10], [activation] * depth + ["softmax"],
                        scaled_normal(g), seed=s, dtype=np.float64)
            n = backward_signal(model, X, y)
            ratio[g].append(float(n[0] / n[-1]))
            if s == seed:
                norms[g] = n
                active[g] = float(np.mean([np.mean(layer.z > 0) for layer in model.layers[:-1]]))
                w = [np.linalg.norm(layer.dW) for layer in model.layers[:-1]]
                dw[g] = float(w[0] / w[-1])
    he = Sample(ratio[gain], log=True)

    r = Result()
    r.setups = {"the lesson's": f"{depth} {activation} layers of {width} at initialization, He init "
                                f"(σ²n = {gain:g}), a batch of 64 N(0, 1) inputs, 10 classes, float64, 5 "
                                "seeds (the lesson gives no width; we take 128)"}
    r.checks = [at_most("derivative-exactly-one", "the derivative is exactly 1 where z > 0 and 0 "
                        "elsewhere (largest deviation 0)", dev, 0.0, f"largest deviation {fmt(dev)}"),
                between("full-magnitude", "the gradient reaching layer 1 keeps full magnitude: "
                        f"‖dL/da₁‖ within 10× of ‖dL/da_{depth}‖", he, 0.1, 10, fmt(he.mean), log=True)]
    xav = None
    if 1.0 in ratio and gain != 1.0:
        xav = Sample(ratio[1.0], log=True)
        r.setups["variant: Xavier's variance"] = ("the same with σ²n = 1, which halves the signal at "
                                                  "every ReLU layer")
        r.checks.append(between("full-magnitude", "the same with σ²n = 1", xav, 0.1, 10, fmt(xav.mean),
                                log=True, variant="Xavier's variance"))
    r.measurements = {"largest_derivative_deviation": dev,
                      **{f"signal_first_over_last[σ²n={g:g}]": v for g, v in ratio.items()},
                      **{f"dW_first_over_last[σ²n={g:g}]": v for g, v in dw.items()},
                      **{f"share_active[σ²n={g:g}]": v for g, v in active.items()}}
    r.found = (f"ReLU's derivative is exactly 0 or 1. With He init the gradient reaching layer 1 is "
               f"{fmt(he.mean)} of the one reaching layer {depth} (5 seeds)"
               + (f"; with σ²n = 1 it is {fmt(xav.mean)}." if xav is not None else "."))
    r.why = (f"Each active unit ({pct(active[gain], 0)} of them) passes the gradient on unchanged, and "
             "the weights scale it by σ²n on the way: ×σ²n/2 per layer, 1 with He's σ²n = 2 and ½ "
             "with σ²n = 1, which over 99 layers is 2⁻⁹⁹ᐟ² ≈ 1e-15 in norm. The derivative keeps the "
             "gradient only together with He's initialization, as the lesson says. (The weight "
             "gradients ‖dW‖ stay level either way: dW = δᵀa, and the shrinking δ meets an "
             "activation a that shrinks the other way.)")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(8, 4))
        for g, n in norms.items():
            name = f"He, σ²n = {g:g}" if g == gain else f"σ²n = {g:g}" + (" (Xavier)" if g == 1 else "")
            ax.semilogy(np.arange(1, len(n) + 1), n, color=COLORS["relu"] if g == gain else COLORS["linear"],
                        lw=2, label=name)
        ax.set(xlabel="layer (1 = next to the input)", ylabel="‖dL/da‖ reaching the layer",
               title=f"The backward signal through {depth} ReLU layers (one seed)")
        ax.legend(loc="lower right")
        return fig

    r.plots["layers"] = draw
    return r


# --- counting -----------------------------------------------------------------------------------

@experiment(
    "param-count-131", "The blob network has 131 parameters",
    claim="The 4 → 16 → 3 network has (4·16 + 16) + (16·3 + 3) = 80 + 51 = 131 trainable numbers.",
    lesson=LESSON, section="A two-layer MLP", seconds=(0.2, 0.2), related=("param-count-33", "memory-table"),
    fails_with={"count": dict(sizes=(4, 16, 4))})
def param_count_131(quick: bool = False, seed: int = 0, sizes: tuple[int, ...] = (4, 16, 3)) -> Result:
    """The parameters handgrad allocates for the lesson's network, counted array by array."""
    model = MLP(list(sizes), seed=seed)
    per = {k: int(v.size) for k, v in model.params.items()}
    total = sum(per.values())
    r = Result()
    r.setups = {"the lesson's": f"handgrad.MLP({list(sizes)}): its weight and bias arrays, counted"}
    r.checks = [between("count", "the network has 131 trainable numbers", total, 131, 131, f"{total:,}",
                        says="131", threshold="= 131")]
    r.measurements = {"parameters": total, **{f"size[{k}]": v for k, v in per.items()}}
    r.tables.append(table(["array", "shape", "numbers"],
                          [[k, str(v.shape), f"{v.size:,}"] for k, v in model.params.items()]))
    r.found = f"handgrad allocates {total:,} numbers: " + " + ".join(f"{v}" for v in per.values()) + "."
    r.why = ("A layer from n to m units holds an (m, n) weight matrix and m biases, m·n + m numbers: "
             "16·4 + 16 = 80 and 3·16 + 3 = 51.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(6, 2.6))
        count_bars(ax, per, f"{list(sizes)}: {total} parameters in all")
        return fig

    r.plots["count"] = draw
    return r


def llama_hidden(d: int, ratio: float = 8 / 3, multiple_of: int = 256) -> int:
    """LLaMA's FFN width: ⅔ of 4·d (three matrices cost what two of 4·d do), rounded up to a
    multiple of 256 — its published rule, which gives 11,008 for d = 4,096."""
    return multiple_of * math.ceil(ratio * d / multiple_of)


@experiment(
    "ffn-width", "The FFN's width: 4 × d or about 2.7 × d?",
    claim="In LLaMA-7B the FFN expands d_model = 4096 to 4 × d_model = 16,384 hidden units, about "
          "3 × 4096 × 16,384 ≈ 200 M parameters per layer (lesson 1); the spec instead gives GPT-2/3 "
          "4 × d and LLaMA ~2.7 × d with a gated SwiGLU (lesson 3).",
    lesson=LESSON, section="The transformer's FFN", seconds=(0.5, 0.5), related=("memory-table",),
    fails_with={"ratio-2.7": dict(multiple_of=4096), "same-budget": dict(ratio=4.0), "width-16384": {},
                "params-200m": {}})
def ffn_width(quick: bool = False, seed: int = 0, d: int = 4096, ratio: float = 8 / 3,
              multiple_of: int = 256) -> Result:
    """LLaMA's width rule for d = 4096; then handgrad's own SwiGLU and GPT-2 FFN blocks at
    d = 768, their parameters counted, to see that a gated FFN at ~2.7 × d costs what a plain
    one at 4 × d does."""
    hidden = llama_hidden(d, ratio, multiple_of)
    params = 3 * d * hidden
    small = 768
    swiglu = SwiGLU(small, llama_hidden(small, ratio, multiple_of), rng=np.random.default_rng(seed))
    ffn = FFN(small, rng=np.random.default_rng(seed))
    n_swiglu = sum(v.size for v in swiglu.params.values())
    n_ffn = sum(v.size for k, v in ffn.params.items() if k.endswith("weight"))
    budget = n_swiglu / n_ffn

    r = Result()
    r.setups = {"the lesson's": f"LLaMA-7B: d_model = {d}, FFN width by LLaMA's rule (⅔ · 4d, rounded up "
                                f"to a multiple of {multiple_of}), three matrices",
                "the spec's": f"handgrad's SwiGLU at d = {small} with the same rule, against GPT-2's FFN "
                              f"(4d) at d = {small}: the weight matrices counted"}
    r.checks = [
        between("width-16384", "LLaMA-7B's FFN has 4 × 4096 = 16,384 hidden units", hidden, 16384, 16384,
                f"{hidden:,} hidden units ({hidden / d:.4g} × d)", says="4 × 4096 = 16,384",
                threshold="= 16,384"),
        near("params-200m", "one LLaMA-7B FFN layer holds ≈ 200 M parameters (within 10 %)", params,
             3 * 4096 * 16384, 0.10, f"{params / 1e6:.1f} M (3 × {d} × {hidden:,})",
             says="3 × 4096 × 16,384 ≈ 200 M"),
        near("ratio-2.7", "LLaMA's FFN is ~2.7 × d_model (within 2 %)", hidden / d, 2.7, 0.02,
             f"{hidden / d:.4f} × d"),
        near("same-budget", "a gated FFN at ~2.7 × d costs what a plain one at 4 × d does (weights "
             "within 2 %)", budget, 1.0, 0.02, f"SwiGLU {n_swiglu:,} against FFN {n_ffn:,} weights "
             f"({budget:.3f}×)", variant=None),
    ]
    r.measurements = {"llama7b_ffn_hidden": hidden, "llama7b_ffn_params": params,
                      "ratio": hidden / d, "swiglu_weights": int(n_swiglu), "ffn_weights": int(n_ffn)}
    r.found = (f"LLaMA's rule gives {hidden:,} hidden units for d = {d} ({hidden / d:.2f} × d, as its "
               f"released configuration has), so one FFN layer holds {params / 1e6:.0f} M parameters, "
               "not 16,384 units and 200 M.")
    r.why = ("A SwiGLU FFN has three matrices instead of two; LLaMA shrinks the width to ⅔ of 4d so that "
             "3 · d · (8d/3) = 8d² weights cost what 2 · d · 4d do — which is why the spec's ~2.7 × "
             "and lesson 1's 4 × describe different FFNs.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(7, 3.2))
        rows = [("GPT-2/3 FFN: 4 × d", 4 * d, 2 * d * 4 * d, COLORS["linear"]),
                ("lesson 1's LLaMA-7B: 4 × d, 3 matrices", 4 * d, 3 * d * 4 * d, COLORS["said"]),
                (f"LLaMA-7B as released: {hidden:,}", hidden, params, COLORS["relu"])]
        for i, (_, h, p, c) in enumerate(rows):
            ax.barh(i, p / 1e6, color=c)
            ax.text(p / 1e6, i, f" {p / 1e6:.0f} M ({h:,} wide)", va="center", fontsize=9)
        ax.set_yticks(range(len(rows)), [row[0] for row in rows])
        ax.invert_yaxis()
        ax.set_xlim(0, 260)
        ax.set(xlabel="parameters in one FFN layer (millions), d = 4096",
               title="The FFN of LLaMA-7B: two ways of counting it")
        return fig

    r.plots["width"] = draw
    return r


# --- the loss at initialization ------------------------------------------------------------------

def torch_default_init(rng: np.random.Generator, d_out: int, d_in: int) -> np.ndarray:
    """PyTorch's nn.Linear default: U(−1/√fan_in, 1/√fan_in) (Kaiming-uniform with a = √5)."""
    bound = 1 / math.sqrt(d_in)
    return rng.uniform(-bound, bound, (d_out, d_in))


@experiment(
    "mnist-first-loss", "An untrained MNIST classifier starts at 2.3",
    claim="A randomly initialized 10-class classifier outputs a loss of about log 10 ≈ 2.30 on its "
          "first batch; if yours does not, you already have a bug.",
    lesson=LESSON, section="Cross-entropy", seconds=(2, 3), needs="MNIST",
    related=("blob-first-loss", "quadrant-first-loss", "bug-table"),
    fails_with={"log-10": dict(init="normal")})
def mnist_first_loss(quick: bool = False, seed: int = 0, init: str = "he") -> Result:
    """The lesson's MNIST network 784 → 256 → 10 before any training: the loss on a first
    shuffled batch of 128, over 10 seeds (5 with --quick); He init as the lesson's NumPy
    code draws it, then PyTorch's default init and N(0, 1) weights."""
    data = mnist()
    seeds = range(seed, seed + (5 if quick else 10))
    inits: dict[str, Any] = {init: init, "PyTorch's default": torch_default_init, "N(0, 1)": "normal"}
    first: dict[str, list[float]] = {k: [] for k in inits}
    for s in seeds:
        idx = np.random.default_rng((s, 7)).permutation(len(data.X_train))[:128]
        for name, method in inits.items():
            model = MLP([784, 256, 10], init_method=method, seed=s)
            with np.errstate(all="ignore"):
                first[name].append(model.evaluate(data.X_train[idx], data.y_train[idx])["loss"])
    k = math.log(10)
    main = Sample(first[init])
    torch_like = Sample(first["PyTorch's default"])
    big = Sample(first["N(0, 1)"], log=True)
    r = Result()
    r.setups = {"the lesson's": f"MNIST, 784 → 256 → 10, {init} init, the loss on a first shuffled batch "
                                f"of 128, {len(seeds)} seeds",
                "variant: PyTorch's default": "the lesson's PyTorch version: nn.Linear's default init, "
                                              "U(±1/√fan_in)",
                "variant: N(0, 1)": "weights not scaled by √(2/n)"}
    r.checks = [
        near("log-10", "the first batch's loss is about log 10 = 2.30 (within 10 %)", main, k, 0.10,
             f"{main.mean:.3f} (sd {main.sd:.3f})", says="≈ 2.30"),
        near("log-10", "the same with PyTorch's default init", torch_like, k, 0.10,
             f"{torch_like.mean:.3f}", variant="PyTorch's default"),
        at_least("too-large", "N(0, 1) weights start far above it (more than 10 × 2.30)", big, 10 * k,
                 f"{fmt(big.mean)}", log=True, variant="N(0, 1)"),
    ]
    r.measurements = {f"first_loss[{n}]": v for n, v in first.items()}
    r.found = (f"The first batch's loss is {main.mean:.2f} ± {main.sd:.2f} with "
               f"{'He' if init == 'he' else init} init, "
               f"{torch_like.mean:.2f} with PyTorch's default init and {fmt(big.mean)} with N(0, 1) "
               "weights.")
    r.why = ("The loss is log 10 only when the logits are nearly equal; He-scaled weights leave logits "
             "of a size near 1 on MNIST's [0, 1] pixels, which costs a little above log 10, PyTorch's "
             "smaller default init leaves them nearer 0, and unscaled weights make them huge.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(7, 4))
        dot_strip(ax, {f"{'He' if init == 'he' else init} (lesson)": first[init],
                       "PyTorch's default": first["PyTorch's default"],
                       "N(0, 1)": first["N(0, 1)"]},
                  [COLORS["lesson"], COLORS["variant"], COLORS["sigmoid"]], "loss on the first batch",
                  said=k, said_label="log 10 = 2.30", log=True)
        ax.set_title(f"784 → 256 → 10 before training ({len(seeds)} seeds)")
        return fig

    r.plots["first-loss"] = draw
    return r


# --- initialization ----------------------------------------------------------------------------

def stack_stds(gain: float, depth: int, width: int, seed: int, activation: str = "identity",
               dtype: type = np.float64, batch: int = 256) -> np.ndarray:
    """The std of every layer's output through ``depth`` layers of ``width`` with weights
    N(0, gain/width) and no bias, on a batch of N(0, 1) inputs; NaN once not finite."""
    rng = np.random.default_rng((seed, 8))
    x: np.ndarray = rng.standard_normal((batch, width)).astype(dtype)   # (B, n)
    act = get_activation(activation)
    out = []
    with np.errstate(all="ignore"):
        for _ in range(depth):
            W: np.ndarray = (math.sqrt(gain / width) * rng.standard_normal((width, width))).astype(dtype)
            x = act.forward(x @ W.T)                                   # (B, n)
            s = float(x.astype(np.float64).std()) if np.isfinite(x).all() else math.nan
            out.append(s)
    return np.array(out)


def first_nonfinite(stds: np.ndarray) -> int | None:
    bad = np.flatnonzero(~np.isfinite(stds))
    return int(bad[0]) + 1 if len(bad) else None


@experiment(
    "init-variance-factor", "(σ²n)ᴸ: explode, vanish, or stay",
    claim="A forward pass through L linear layers multiplies the input's variance by about (σ²·n)ᴸ: "
          "above 1 the activations explode (NaNs by layer 30), below 1 they vanish (every neuron "
          "≈ 0 by layer 30); σ²·n ≈ 1 keeps them.",
    lesson=LESSON, section="Initialization", seconds=(1, 2),
    related=("he-factor-two", "init-test-50", "n01-variance-1e12"),
    fails_with={"factor": dict(activation="relu"), "vanish": dict(small=0.9),
                "stable": dict(activation="relu"),
                "nan-by-30": dict(small=0.9)})
def init_variance_factor(quick: bool = False, seed: int = 0, depth: int = 50, width: int = 256,
                         small: float = 0.5, large: float = 2.0, activation: str = "identity") -> Result:
    """Linear layers (no bias, no activation) of width 256, weights N(0, σ²) with σ²n = 0.5, 1
    and 2 and N(0, 1) itself (σ²n = 256), in float64 as the lesson's NumPy computes; 5 seeds.
    The per-layer factor is read off the slope of log variance against depth."""
    seeds = range(seed, seed + 5)
    gains = (small, 1.0, large, float(width))
    stds = {(g, s): stack_stds(g, depth, width, s, activation) for g in gains for s in seeds}
    f32 = stack_stds(float(width), depth, width, seed, activation, np.float32)

    def factor(g: float, s: int) -> float:
        v = stds[g, s][: min(depth, 25)] ** 2
        return float(np.exp(np.polyfit(np.arange(len(v)), np.log(v), 1)[0]))

    factors = {g: Sample([factor(g, s) for s in seeds], log=True) for g in (small, 1.0, large)}
    worst_factor = max(abs(math.log(factors[g].mean / g)) for g in factors)
    nan64 = [first_nonfinite(stds[float(width), s]) for s in seeds]
    nan_large = [first_nonfinite(stds[large, s]) for s in seeds]
    nan32 = first_nonfinite(f32)
    at30 = Sample([stds[small, s][29] for s in seeds], log=True)
    kept = Sample([stds[1.0, s][-1] for s in seeds], log=True)
    first_nan = min((v for v in nan64 if v), default=None)

    r = Result()
    r.setups = {"the lesson's": f"{depth} linear layers of {width} ({activation}), no bias, weights N(0, σ²) "
                                f"with σ²n = {small:g}, 1, {large:g} and {width} (N(0, 1) itself), a batch "
                                f"of "
                                "256 N(0, 1) inputs, float64 (NumPy's default), 5 seeds",
                "variant: float32": "the N(0, 1) stack in float32, training's default dtype"}
    r.checks = [
        at_most("factor", "the variance is multiplied by σ²n per layer (within 10 %, for σ²n = "
                f"{small:g}, 1, {large:g})", math.exp(worst_factor) - 1, 0.10,
                ", ".join(f"σ²n = {g:g}: ×{factors[g].mean:.3f}" for g in factors)),
        at_most("nan-by-30", f"above 1 the activations turn NaN by layer 30 (even at σ²n = {width}, "
                "N(0, 1))", first_nan if first_nan else math.inf, 30,
                (f"first NaN/inf at layer {first_nan}" if first_nan else f"still finite at layer {depth}")
                + f" with σ²n = {width}; σ²n = {large:g} stays finite "
                  f"({'to layer ' + str(depth) if not any(nan_large) else 'not always'}, std "
                  f"{fmt(stds[large, seed][-1])} at layer {depth})", says="NaNs by layer 30"),
        at_most("vanish", f"below 1 (σ²n = {small:g}) every neuron is ≈ 0 by layer 30: std below 1e-3 "
                "of the input's", at30, 1e-3, f"std {fmt(at30.mean)} at layer 30", log=True),
        between("stable", f"σ²n = 1 keeps the std within 10× of the input's over {depth} layers", kept,
                0.1, 10, f"std {fmt(kept.mean)} at layer {depth}", log=True),
        at_most("nan-by-30", f"in float32, N(0, 1) weights (σ²n = {width}) turn NaN by layer 30",
                nan32 if nan32 else math.inf, 30,
                f"first NaN/inf at layer {nan32}" if nan32 else "never", variant="float32"),
    ]
    r.measurements = {**{f"factor_per_layer[σ²n={g:g}]": v.values for g, v in factors.items()},
                      "first_nonfinite_layer[N(0,1), float64]": nan64,
                      "first_nonfinite_layer[N(0,1), float32]": nan32,
                      f"std_at_layer_30[σ²n={small:g}]": at30.values,
                      f"std_at_layer_{depth}[σ²n=1]": kept.values}
    r.found = (f"The variance is multiplied by σ²n per layer (×{factors[large].mean:.2f} at σ²n = {large:g}, "
               f"×{factors[small].mean:.3f} at {small:g}); σ²n = {small:g} leaves a std of {fmt(at30.mean)} "
               f"at "
               "layer 30, but nothing turns NaN by layer 30: even N(0, 1) weights (σ²n = "
               f"{width}) stay finite in float64" + (f" and overflow at layer {nan32} in float32." if nan32
                                                    else "."))
    r.why = ("With σ²n = 2 the std grows √2 per layer, 2¹⁵ ≈ 3e4 by layer 30 — large, not overflow. A "
             "number overflows float32 past 3.4e38 and float64 past 1.8e308, so NaN by layer 30 needs "
             "a std growing ≈ 19× per layer in float32 (σ²n ≈ 370) and far more in float64.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(8.5, 4.5))
        layers = np.arange(1, depth + 1)
        shades = {small: COLORS["relu"], 1.0: COLORS["nesterov"], large: COLORS["tanh"],
                  float(width): COLORS["sigmoid"]}
        for g in gains:
            s = stds[g, seed]
            ax.semilogy(layers, s, color=shades[g], lw=2,
                        label=f"σ²n = {g:g}" + (" (N(0, 1))" if g == width else "")
                        + f": ×{math.sqrt(g):.3g} per layer")
        ax.semilogy(np.arange(1, len(f32) + 1), np.where(np.isfinite(f32), f32, np.nan), ":",
                    color=shades[float(width)], lw=2, label="N(0, 1) in float32")
        ax.axhline(3.4e38, color="0.4", ls="--", lw=1)
        ax.text(50, 3.4e38, "float32's largest number ", ha="right", va="bottom", fontsize=8, color="0.3")
        if nan32:
            ax.axvline(nan32, color=shades[float(width)], ls=":", lw=1)
            ax.text(nan32, 1e-20, f" float32 overflows\n at layer {nan32}", fontsize=8)
        ax.axvline(30, color=COLORS["said"], lw=1)
        ax.text(30, 1e-20, "the lesson's\n'NaN by layer 30' ", ha="right", fontsize=8, color=COLORS["said"])
        ax.set(xlabel="layer", ylabel="std of the activations", ylim=(1e-25, 1e75),
               title="Linear layers: the std changes by √(σ²n) per layer")
        ax.legend(loc="upper left", fontsize=8)
        return fig

    r.plots["stds"] = draw
    return r


@experiment(
    "he-factor-two", "Why He's variance is 2/fan_in",
    claim="ReLU zeroes about half the activations, so under Xavier's σ² = 1/fan_in the signal's "
          "variance halves at every layer; doubling it, He's σ² = 2/fan_in, keeps it.",
    lesson=LESSON, section="Initialization", seconds=(1, 2),
    related=("init-variance-factor", "relu-100-layers", "half-zero"),
    fails_with={"half-zero": dict(activation="identity"), "halves": dict(activation="identity"),
                "he-keeps": dict(activation="identity")})
def he_factor_two(quick: bool = False, seed: int = 0, depth: int = 10, width: int = 256,
                  activation: str = "relu") -> Result:
    """ReLU layers of 256 (no bias), a batch of N(0, 1) inputs: the share of exact
    zeros and the ratio E[a²]_l / E[a²]_(l−1) per layer under σ²n = 1 (Xavier) and 2 (He);
    a batch of 500, 5 seeds."""
    seeds = range(seed, seed + 5)
    act = get_activation(activation)
    res: dict[float, dict[str, list[float]]] = {}
    for g in (1.0, 2.0):
        res[g] = {"ratio": [], "zero": []}
        for s in seeds:
            rng = np.random.default_rng((s, 9))
            a = rng.standard_normal((500, width))                      # (B, n)
            m2 = [float(np.mean(a * a))]
            zeros = []
            for _ in range(depth):
                W = math.sqrt(g / width) * rng.standard_normal((width, width))
                a = act.forward(a @ W.T)                                # (B, n)
                m2.append(float(np.mean(a * a)))
                zeros.append(float(np.mean(a == 0)))
            res[g]["ratio"].append(float(np.exp(np.mean(np.diff(np.log(m2))))))
            res[g]["zero"].append(float(np.mean(zeros)))
    zero = Sample(res[1.0]["zero"])
    halves = Sample(res[1.0]["ratio"])
    keeps = Sample(res[2.0]["ratio"])
    r = Result()
    r.setups = {"the lesson's": f"{depth} {activation} layers of {width}, no bias, weights N(0, σ²n/n) with "
                                "σ²n = 1 (Xavier's variance) and 2 (He's), a batch of 500 N(0, 1) inputs, "
                                "5 seeds"}
    r.checks = [
        near("half-zero", "ReLU zeroes about half the activations (within 10 % of ½)", zero, 0.5, 0.10,
             pct(zero.mean)),
        near("halves", "with σ² = 1/fan_in the mean square E[a²] halves per layer (×0.5 within 10 %)",
             halves, 0.5, 0.10, f"×{halves.mean:.3f} per layer"),
        near("he-keeps", "with σ² = 2/fan_in it stays (×1 within 10 %)", keeps, 1.0, 0.10,
             f"×{keeps.mean:.3f} per layer"),
    ]
    r.measurements = {"share_zero": zero.values, "factor[σ²n=1]": halves.values,
                      "factor[σ²n=2]": keeps.values}
    r.found = (f"{pct(zero.mean)} of the activations are exactly 0; per layer E[a²] is multiplied by "
               f"{halves.mean:.3f} with Xavier's variance and by {keeps.mean:.3f} with He's.")
    r.why = ("z = a W has variance n·σ²·E[a²]; ReLU keeps z where it is positive, half of a symmetric "
             "distribution, so E[relu(z)²] = ½ Var(z) = ½ σ²n E[a²]: the factor is σ²n / 2, and only "
             "σ²n = 2 makes it 1.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(6.5, 4))
        dot_strip(ax, {"Xavier: σ²n = 1": halves.values, "He: σ²n = 2": keeps.values},
                  [COLORS["linear"], COLORS["relu"]], "E[a²] ratio per layer (5 seeds)")
        for y, text in ((0.5, "½: halves"), (1.0, "1: kept")):
            threshold_line(ax, y, text)
        ax.set_ylim(0.3, 1.2)
        ax.set_title(f"ReLU zeroes {pct(zero.mean, 0)} of the activations")
        return fig

    r.plots["factor"] = draw
    return r
