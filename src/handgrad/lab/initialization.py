"""Initialization: experiments 6 to 8."""

import math

import numpy as np

from ..data import make_blobs, make_quadrants
from ..mlp import MLP
from ..optim import SGD
from .core import (
    COLORS,
    Check,
    Result,
    batches,
    experiment,
    fmt,
    mnist,
    steps_to,
    text_table,
    train_steps,
)

SECTION = "Initialization"


def activation_stds(act, W0, gains, X):
    """For each gain g = σ²n: the std of every layer's activations when each weight is
    W0 · √(g/n) (W0 a fixed draw of N(0, 1) weights, n the fan-in), and the first layer
    whose activations are not finite (None if all are)."""
    n = X.shape[1]
    model = MLP([n] * (len(W0) + 1), [act] * len(W0),
                init_method=lambda rng, o, i: np.zeros((o, i)))          # weights set below
    out = {}
    for g in gains:
        for layer, w in zip(model.layers, W0):
            np.multiply(w, np.float32(math.sqrt(g / n)), out=layer.W)   # (n, n) σ = √(g/n)
        with np.errstate(all="ignore"):
            model.forward(X)
            stds = np.array([np.std(layer.a, dtype=np.float64) for layer in model.layers])
            moments = np.array([np.mean(np.square(layer.a, dtype=np.float64))
                                for layer in model.layers])
        bad = [i + 1 for i, layer in enumerate(model.layers) if not np.isfinite(layer.a).all()]
        out[g] = (stds, moments, bad[0] if bad else None)
    return out


@experiment(6, "init-scale", "Weight variance decides: explode, vanish or stay stable",
            "With weight variance σ² and fan-in n, σ²n > 1 explodes (NaN by layer 30) and σ²n < 1 "
            "vanishes (≈ 0 by layer 30); He keeps 50 ReLU layers stable; Xavier keeps tanh stable "
            "and halves the signal per layer under ReLU.", SECTION, seconds=(2, 5))
def init_scale(quick=False, seed=0, depth=50, width=512, batch=32, he_gain=2.0,
               explode_gain=4.0, between_gain=1.5):
    """The std of each layer's activations through ``depth`` layers of ``width`` units,
    for weights N(0, g/n): the same N(0, 1) draw scaled by √(g/n) for every line.

    Why: z = Σ_i w_i a_i over n inputs has Var(z) = n σ² E[a²]. A linear or tanh layer
    (near 0) passes E[a²] ≈ Var(z) on, so the signal is multiplied by σ²n each layer:
    the threshold is σ²n = 1. ReLU zeroes half of z, E[a²] = Var(z)/2, so the factor is
    σ²n/2 and the threshold is σ²n = 2 — He's choice.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch, width)).astype(np.float32)           # (B, n), std 1
    W0 = MLP([width] * (depth + 1), ["relu"] * depth, init_method="normal", seed=seed)
    W0 = [layer.W.copy() for layer in W0.layers]                          # depth × (n, n) N(0, 1)
    relu = activation_stds("relu", W0, [1.0, between_gain, he_gain, explode_gain, float(width)], X)
    tanh = activation_stds("tanh", W0, [0.5, 1.0], X)
    linear = activation_stds("identity", W0, [0.5, 1.0, 2.0], X)
    lines = {**{("ReLU", g): v for g, v in relu.items()},
             **{("tanh", g): v for g, v in tanh.items()},
             **{("linear", g): v for g, v in linear.items()}}

    def std_at(key, layer):
        return float(lines[key][0][layer - 1])

    def spread(key):
        s = lines[key][0]
        return float(s.max() / s.min())

    m = relu[1.0][1]
    halving = float(np.exp(np.mean(np.log(m[5:] / m[4:-1]))))            # E[a²] ratio per layer
    nan_layer = relu[float(width)][2]
    r = Result()
    r.measurements = {f"std[{k[0]}, σ²n={fmt(k[1])}][layer {l}]": std_at(k, l)
                      for k in lines for l in (1, 30, depth)}
    r.measurements.update({"first_nonfinite_layer[ReLU, N(0,1)]": nan_layer,
                           "second_moment_ratio_per_layer[ReLU, Xavier]": halving,
                           "std_spread[ReLU, He]": spread(("ReLU", he_gain)),
                           "std_spread[tanh, Xavier]": spread(("tanh", 1.0))})
    r.checks = [
        Check("σ²n = 2 (> 1) explodes a linear stack",
              f"std {fmt(std_at(('linear', 2.0), 1))} at layer 1, "
              f"{fmt(std_at(('linear', 2.0), depth))} at layer {depth}",
              std_at(("linear", 2.0), depth) > 1e6),
        Check(f"σ²n = {fmt(explode_gain)} (> 1) explodes a ReLU stack (std past 1e6 by layer "
              f"{depth})",
              f"std {fmt(std_at(('ReLU', explode_gain), depth))} at layer {depth}",
              std_at(("ReLU", explode_gain), depth) > 1e6),
        Check(f"σ²n = {fmt(between_gain)} (> 1) explodes a ReLU stack too",
              f"it vanishes instead: std {fmt(std_at(('ReLU', between_gain), depth))} at layer "
              f"{depth}. "
              "The threshold σ²n = 1 is right for linear and tanh layers; ReLU zeroes half the "
              "signal, so under ReLU it is σ²n = 2", std_at(("ReLU", between_gain), depth) > 1e6),
        Check(f"N(0, 1) weights (σ²n = {width}) overflow to inf/NaN (the lesson: by layer 30)",
              f"first non-finite activations at layer {nan_layer} (float32, width {width}: the std "
              f"grows √(n/2) ≈ {math.sqrt(width / 2):.0f}× per layer)" if nan_layer else
              f"still finite at layer {depth}", nan_layer is not None),
        Check("σ²n = 0.5 (< 1) vanishes: ≈ 0 (below 1e-3) by layer 30, linear and tanh",
              f"std at layer 30: linear {fmt(std_at(('linear', 0.5), 30))}, tanh "
              f"{fmt(std_at(('tanh', 0.5), 30))}",
              max(std_at(("linear", 0.5), 30), std_at(("tanh", 0.5), 30)) < 1e-3),
        Check(f"He (σ²n = {fmt(he_gain)}) keeps {depth} ReLU layers stable (std within one order "
              "of magnitude)", f"std from {fmt(lines['ReLU', he_gain][0].min())} to "
              f"{fmt(lines['ReLU', he_gain][0].max())} ({spread(('ReLU', he_gain)):.1f}×)",
              spread(("ReLU", he_gain)) <= 10),
        Check(f"Xavier (σ²n = 1) keeps {depth} tanh layers stable (within one order of magnitude)",
              f"std from {fmt(std_at(('tanh', 1.0), 1))} at layer 1 to "
              f"{fmt(std_at(('tanh', 1.0), depth))} at layer {depth} "
              f"({spread(('tanh', 1.0)):.1f}×)",
              spread(("tanh", 1.0)) <= 10),
        Check("Xavier under ReLU halves the signal per layer",
              f"E[a²] × {halving:.3f} per layer (the std × {math.sqrt(halving):.3f}); std "
              f"{fmt(std_at(('ReLU', 1.0), depth))} at layer {depth}", abs(halving - 0.5) < 0.05),
    ]
    r.table = text_table(["activation", "σ²n", "std at layer 1", "layer 30", f"layer {depth}",
                          "first inf/NaN"],
                         [[k[0], fmt(k[1]), fmt(std_at(k, 1)), fmt(std_at(k, 30)),
                           fmt(std_at(k, depth)), v[2] or "—"] for k, v in lines.items()])
    r.notes.append(f"{depth} layers of {width} units, zero biases, a batch of {batch} inputs "
                   "drawn from N(0, 1), float32; every line uses the same N(0, 1) weights scaled "
                   "by √(σ²n / n). Xavier is σ²n = 1 for these square layers, He σ²n = 2.")

    def draw(plt):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.3), sharey=True)
        layers = np.arange(1, depth + 1)
        shades = {1.0: "#9ecae1", between_gain: "#6baed6", he_gain: COLORS["relu"],
                  explode_gain: "#08306b", float(width): "black"}
        names = {1.0: "Xavier, σ²n = 1", he_gain: f"He, σ²n = {fmt(he_gain)}",
                 float(width): f"N(0, 1), σ²n = {width}"}
        for g, (s, _, _) in relu.items():
            a1.semilogy(layers, np.where(np.isfinite(s), s, np.nan), color=shades[g],
                        lw=2.2 if g == he_gain else 1.4, label=names.get(g, f"σ²n = {fmt(g)}"))
        if nan_layer:
            a1.axvline(nan_layer, color="black", ls=":", lw=0.8)
            a1.text(nan_layer + 0.5, 1e-8, f"NaN from layer {nan_layer}", fontsize=7.5)
        a1.set(xlabel="layer", ylabel="std of the activations",
               title="ReLU: stable only at σ²n = 2 (He)")
        a1.legend(loc="lower left")
        for (kind, g), (s, _, _) in {**{("tanh", g): v for g, v in tanh.items()},
                                     **{("linear", g): v for g, v in linear.items()}}.items():
            style = "-" if g == 1.0 else ("--" if g < 1 else ":")
            a2.semilogy(layers, s, color=COLORS[kind], ls=style,
                        label=f"{kind}, σ²n = {fmt(g)}" + (" (Xavier)" if g == 1.0 else ""))
        a2.set(xlabel="layer", title="linear and tanh: stable at σ²n = 1 (Xavier)")
        a2.legend(loc="lower left")
        a1.set_ylim(1e-12, 1e30)
        return fig

    r.plots["activation-std"] = draw
    return r


@experiment(7, "normal-init-blobs", "N(0, 1) weights on the blob network",
            "With N(0, 1) weights instead of He the lesson's blob network (4 → 16 → 3) starts "
            "from a much higher loss and needs more steps to train.", SECTION, seconds=(1, 4))
def normal_init_blobs(quick=False, seed=0, seeds=None, lr=0.05, target=0.05, max_steps=3000):
    """Steps until the loss on all 300 blobs first falls below ``target``, He against N(0, 1)
    weights, SGD lr 0.05, batch 32 (the README's tour), the same batches for both."""
    n_seeds = seeds or (3 if quick else 5)
    X, y = make_blobs(seed=seed)                                          # (300, 4), 3 classes
    runs = {}
    for init in ("he", "normal"):
        for s in range(seed, seed + n_seeds):
            model = MLP([4, 16, 3], init_method=init, seed=s)
            c = train_steps(model, X, y, SGD(lr), batches(len(X), 32, max_steps, s), every=10,
                            X_eval=X, y_eval=y, until=lambda c: c["eval_loss"][-1] <= target)
            runs[init, s] = c
    first = {i: float(np.median([runs[i, s]["eval_loss"][0] for s in range(seed, seed + n_seeds)]))
             for i in ("he", "normal")}
    reach = {i: [steps_to(runs[i, s]["eval_loss"], target, runs[i, s]["step"])
                 for s in range(seed, seed + n_seeds)] for i in ("he", "normal")}
    med = {i: float(np.median([max_steps * 2 if v is None else v for v in reach[i]]))
           for i in reach}
    trained = all(v is not None for v in reach["normal"])

    r = Result()
    r.measurements = {**{f"median_first_loss[{i}]": v for i, v in first.items()},
                      **{f"median_steps_to_target[{i}]": v for i, v in med.items()}}
    r.checks = [
        Check("N(0, 1) weights start from a much higher loss (more than twice He's)",
              f"first loss (median of {n_seeds} seeds): N(0, 1) {first['normal']:.2f}, "
              f"He {first['he']:.2f}",
              first["normal"] > 2 * first["he"]),
        Check(f"with N(0, 1) weights it needs more steps than He to reach loss {target}",
              f"median steps: N(0, 1) {fmt(med['normal'])}, He {fmt(med['he'])}"
              + ("" if trained else " (some seeds never got there)"), med["normal"] > med["he"]),
    ]
    seeds_ = range(seed, seed + n_seeds)
    r.table = text_table(["init", "first loss per seed", f"steps to loss ≤ {target} per seed",
                          "median"],
                         [[i, ", ".join(f"{runs[i, s]['eval_loss'][0]:.2f}" for s in seeds_),
                           ", ".join(fmt(v) for v in reach[i]), fmt(med[i])]
                          for i in ("he", "normal")])
    r.notes.append("Still trains: " + ("yes, every seed" if trained else "not every seed") +
                   f". At fan-ins of 4 and 16, N(0, 1) weights are only {math.sqrt(4 / 2):.1f}× "
                   f"and {math.sqrt(16 / 2):.1f}× He's scale; the larger weights start with a "
                   "larger loss but also take larger steps. The damage grows with the fan-in "
                   "(experiment 8: 784 inputs).")

    def draw(plt):
        fig, ax = plt.subplots(figsize=(7, 4))
        for (i, s), c in runs.items():
            name = "He" if i == "he" else "N(0, 1)"
            ax.semilogy(c["step"], c["eval_loss"], color=COLORS["relu" if i == "he" else "sigmoid"],
                        alpha=0.8, lw=1.2, label=name if s == seed else None)
        ax.axhline(target, color="0.5", ls=":", lw=0.8)
        ax.set(xlabel="step", ylabel="loss on all 300 points",
               title="Blob network [4, 16, 3]: He vs N(0, 1) weights, one line per seed")
        ax.legend()
        return fig

    r.plots["curves"] = draw
    return r


@experiment(8, "untrained-loss", "An untrained classifier's loss is log K",
            "An untrained classifier's loss is ≈ log K (1.10 for 3 blobs, 1.39 for 4 quadrants, "
            "2.30 for 10 digits); a loss that starts near 50 instead of 2.30 means the init is too "
            "large.",
            SECTION, seconds=(2, 7), needs="MNIST (or the 8x8 digits with --quick)")
def untrained_loss(quick=False, seed=0, seeds=3, steps=None, tolerance=0.02):
    """The loss before any training, for an output layer started small (``output_scale=0.01``,
    logits ≈ 0, p ≈ 1/K), He's plain init, and N(0, 1) weights; then the first steps of
    MNIST training from the small and the N(0, 1) start."""
    steps = steps or (100 if quick else 300)
    digits = mnist(quick, n_train=10000 if quick else None, n_test=2000)
    sets = {"blobs": ([4, 16, 3], make_blobs(seed=seed)),
            "quadrants": ([2, 16, 4], make_quadrants(seed=seed)),
            digits.name: ([digits.n_features, 256, 10],
                          (digits.X_train[:2000], digits.y_train[:2000]))}
    inits = {"output ×0.01": dict(init_method="he", output_scale=0.01),
             "He": dict(init_method="he"), "N(0, 1)": dict(init_method="normal")}
    loss = {}
    for name, (sizes, (X, y)) in sets.items():
        for label, kw in inits.items():
            with np.errstate(all="ignore"):
                loss[name, label] = float(np.mean([MLP(sizes, seed=s, **kw).evaluate(X, y)["loss"]
                                                   for s in range(seed, seed + seeds)]))
    curves = {}
    for label in ("output ×0.01", "N(0, 1)"):
        model = MLP([digits.n_features, 256, 10], seed=seed, **inits[label])
        curves[label] = train_steps(model, digits.X_train, digits.y_train, SGD(0.1),
                                    batches(len(digits.X_train), 128, steps, seed))["loss"]

    r = Result()
    r.measurements = {f"initial_loss[{n}, {i}]": v for (n, i), v in loss.items()}
    r.measurements.update({f"log_K[{n}]": math.log(s[0][-1]) for n, s in sets.items()})
    for name, (sizes, _) in sets.items():
        k = sizes[-1]
        got = loss[name, "output ×0.01"]
        off = abs(got / math.log(k) - 1)
        r.checks.append(Check(f"{name}: an untrained net (logits near 0) starts at log {k} = "
                              f"{math.log(k):.2f}", f"{got:.3f} ({100 * off:.1f}% off; He's plain "
                              f"init: {loss[name, 'He']:.2f})", off <= tolerance))
    big = loss[digits.name, "N(0, 1)"]
    r.checks.append(Check(f"{digits.name}: too large an init (N(0, 1) weights) starts far above "
                          f"log 10 (more than 10×)", f"{big:.1f} (log 10 = {math.log(10):.2f})",
                          big > 10 * math.log(10)))
    r.table = text_table(["data", "log K", *inits], [[n, f"{math.log(s[0][-1]):.3f}",
                                                       *(f"{loss[n, i]:.3f}" for i in inits)]
                                                      for n, s in sets.items()])
    r.notes.append(f"mean of {seeds} seeds; 'output ×0.01' is He init with the output layer "
                   "scaled by 0.01 (MLP(..., output_scale=0.01)); He's plain init starts above "
                   "log K because its logits are not small (the blobs' inputs have std ≈ 3).")
    if digits.note:
        r.notes.append(digits.note)

    def draw(plt):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4))
        names = list(sets)
        w = 0.27
        shades = ("#2ca02c", COLORS["relu"], COLORS["sigmoid"])
        for j, (label, color) in enumerate(zip(inits, shades)):
            a1.bar(np.arange(len(names)) + (j - 1) * w, [loss[n, label] for n in names], w * 0.9,
                   color=color, label=label)
        for i, n in enumerate(names):
            k = sets[n][0][-1]
            a1.plot([i - 1.5 * w, i + 1.5 * w], [math.log(k)] * 2, color="black", lw=1.5)
            a1.text(i + 1.5 * w, math.log(k), f" log {k}", va="center", fontsize=7.5)
        a1.set_yscale("log")
        a1.set_xticks(range(len(names)), names)
        a1.set(ylabel="loss before training", title="Untrained loss against log K (black)")
        a1.legend()
        for label, color in (("output ×0.01", "#2ca02c"), ("N(0, 1)", COLORS["sigmoid"])):
            a2.semilogy(np.arange(1, len(curves[label]) + 1), curves[label], color=color,
                        label=label)
        a2.axhline(math.log(10), color="black", lw=0.8, ls=":")
        a2.set(xlabel="step", ylabel="mini-batch loss",
               title=f"{digits.name} [{digits.n_features}, 256, 10], SGD 0.1: the first {steps} "
                     "steps")
        a2.legend()
        return fig

    r.plots["initial-loss"] = draw
    return r
