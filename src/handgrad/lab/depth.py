"""Activations and depth: experiments 1 to 5."""

import numpy as np

from ..data import make_circles, make_sine, make_spiral, make_xor
from ..mlp import MLP
from ..nn.activations import Sigmoid, Tanh
from ..optim import SGD, Adam, Cosine
from .core import COLORS, Check, Result, batches, experiment, fmt, steps_to, text_table, train_steps
from .pictures import boundary

SECTION = "Activations and depth"


def layer_grad_norms(act, init, depth, width, X, y, seed, dtype=np.float64):
    """‖dW‖ of every weight layer of a fresh ``depth``-hidden-layer net, after one backward pass."""
    model = MLP([X.shape[1]] + [width] * depth + [int(y.max()) + 1], [act] * depth + ["softmax"],
                init_method=init, seed=seed, dtype=dtype)
    model.loss_and_grad(X.astype(dtype), y)
    return model, np.array([np.linalg.norm(layer.dW) for layer in model.layers])


@experiment(1, "vanishing-sigmoid", "Sigmoid's gradient vanishes with depth",
            "Sigmoid's derivative peaks at 0.25 and tanh's at 1; through a 50-layer sigmoid net at "
            "initialization the gradient reaching the first layer is effectively zero.",
            SECTION, seconds=(1, 2))
def vanishing_sigmoid(quick=False, seed=0, depth=50, width=64, vanish_below=1e-6):
    """Derivatives on a grid, then ‖dW_l‖ layer by layer through sigmoid, tanh and ReLU nets.

    A sigmoid layer multiplies the backward signal by σ'(z) ≤ 1/4 and by its weights;
    with Xavier weights (Var W = 1/n) the product shrinks about fourfold per layer, so
    after 50 layers the first layer's gradient is of order 4^-50 ≈ 1e-30 of the last's.
    """
    z = np.linspace(-10, 10, 20001)[None, :]                           # (1, 20001), holds 0
    derivs = {}
    for name, act in (("sigmoid", Sigmoid()), ("tanh", Tanh())):
        act.forward(z)
        derivs[name] = act.backward(np.ones_like(z))[0]                 # (20001,) f'(z)
    peak = {k: (float(d.max()), float(z[0, d.argmax()])) for k, d in derivs.items()}

    X, y = make_spiral(n_per_class=64, seed=seed)                      # (192, 2)
    nets = {"sigmoid (Xavier)": ("sigmoid", "xavier"), "tanh (Xavier)": ("tanh", "xavier"),
            "ReLU (He)": ("relu", "he")}
    norms = {k: layer_grad_norms(a, i, depth, width, X, y, seed)[1] for k, (a, i) in nets.items()}
    ratio = {k: float(n[0] / n[-1]) for k, n in norms.items()}
    # The same sigmoid net in float32, the dtype training uses: what does one SGD step change?
    m32, n32 = layer_grad_norms("sigmoid", "xavier", depth, width, X, y, seed, np.float32)
    W1 = m32.layers[0].W
    changed = float(np.mean((W1 - np.float32(0.1) * m32.layers[0].dW) != W1))

    r = Result()
    r.measurements = {"sigmoid_derivative_peak": peak["sigmoid"][0],
                      "sigmoid_derivative_argmax": peak["sigmoid"][1],
                      "tanh_derivative_peak": peak["tanh"][0],
                      "tanh_derivative_argmax": peak["tanh"][1],
                      **{f"first_over_last_grad[{k}]": v for k, v in ratio.items()},
                      "sigmoid_first_layer_grad_norm_float32": float(n32[0]),
                      "fraction_of_W1_changed_by_one_float32_step": changed}
    r.checks = [
        Check("σ'(z) peaks at 0.25",
              f"max σ' = {peak['sigmoid'][0]:.5f} at z = {peak['sigmoid'][1]:.3f}",
              abs(peak["sigmoid"][0] - 0.25) < 1e-6),
        Check("tanh'(z) peaks at 1",
              f"max tanh' = {peak['tanh'][0]:.5f} at z = {peak['tanh'][1]:.3f}",
              abs(peak["tanh"][0] - 1) < 1e-6),
        Check(f"through {depth} sigmoid layers the first layer's gradient is effectively zero "
              f"(below {vanish_below:g} of the last layer's)",
              f"‖dW1‖/‖dW{depth + 1}‖ = {fmt(ratio['sigmoid (Xavier)'])} (float64); in float32 "
              f"‖dW1‖ = {fmt(float(n32[0]))} and an SGD step at lr 0.1 changes "
              f"{100 * changed:.0f}% of W1", ratio["sigmoid (Xavier)"] < vanish_below),
    ]
    r.table = text_table(["network", "‖dW1‖", f"‖dW{depth // 2}‖", f"‖dW{depth + 1}‖",
                          "first / last"],
                         [[k, fmt(n[0]), fmt(n[depth // 2 - 1]), fmt(n[-1]), fmt(ratio[k])]
                          for k, n in norms.items()])
    r.notes.append(f"{depth} hidden layers of {width} units, 3 spiral classes, one batch of "
                   f"{len(X)}, float64 so the smallest gradients are not rounded to 0; tanh and "
                   "ReLU are shown for contrast.")

    def draw(plt):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
        zz = z[0]
        keep = np.abs(zz) <= 6
        for name, d in derivs.items():
            a1.plot(zz[keep], d[keep], color=COLORS[name], label=f"{name}'(z), peak {d.max():.2f}")
        a1.axhline(0.25, color=COLORS["sigmoid"], ls=":", lw=0.8)
        a1.set(xlabel="z", ylabel="derivative", title="The derivatives: σ' ≤ 0.25, tanh' ≤ 1")
        a1.legend()
        for (name, n), c in zip(norms.items(), ("sigmoid", "tanh", "relu")):
            a2.semilogy(np.arange(1, len(n) + 1), n, "-", color=COLORS[c], label=name)
        a2.set(xlabel="layer (1 = next to the input)", ylabel="‖dW‖ at initialization",
               title=f"Gradient norm per layer, {depth} hidden layers")
        a2.legend()
        return fig

    r.plots["gradients"] = draw
    return r


@experiment(2, "relu-rescues-depth", "ReLU rescues depth",
            "A deep (10–20 layer) sigmoid net barely trains on the spiral, where the same net "
            "with ReLU and He initialization does.", SECTION, seconds=(2, 15))
def relu_rescues_depth(quick=False, seed=0, depths=None, width=32, steps=None, lr=0.05,
                       batch_size=32):
    """The same depth, width, data, batches and learning rate; only the activation (and
    its matching init: Xavier for sigmoid, He for ReLU) differs. Plain SGD."""
    depths = depths or ((10,) if quick else (10, 20))
    steps = steps or (1000 if quick else 2500)
    X, y = make_spiral(seed=seed)                                      # (300, 2), 3 classes
    chance = 1 / 3
    runs = {}
    for depth in depths:
        for act, init in (("sigmoid", "xavier"), ("relu", "he")):
            model = MLP([2] + [width] * depth + [3], [act] * depth + ["softmax"],
                        init_method=init, seed=seed)
            curves = train_steps(model, X, y, SGD(lr), batches(len(X), batch_size, steps, seed),
                                 every=steps)
            runs[depth, act] = (model, curves, model.score(X, y))

    r = Result()
    for (depth, act), (_, c, acc) in runs.items():
        r.measurements[f"train_accuracy[{act}, {depth} layers]"] = acc
        r.measurements[f"final_loss[{act}, {depth} layers]"] = float(np.mean(c["loss"][-50:]))
    for depth in depths:
        s, u = runs[depth, "sigmoid"][2], runs[depth, "relu"][2]
        r.checks.append(Check(f"{depth} sigmoid layers barely train (accuracy within 15 points of "
                              f"chance, {100 * chance:.0f}%)", f"sigmoid: {100 * s:.1f}% after "
                              f"{steps:,} steps", s < chance + 0.15))
        r.checks.append(Check(f"{depth} ReLU + He layers do train (accuracy ≥ 90%)",
                              f"ReLU: {100 * u:.1f}% after {steps:,} steps", u >= 0.9))
    r.table = text_table(["hidden layers", "activation", "first loss", "last loss (mean of 50)",
                          "train accuracy"],
                         [[d, a, fmt(c["loss"][0]), fmt(np.mean(c["loss"][-50:])),
                           f"{100 * acc:.1f}%"]
                          for (d, a), (_, c, acc) in runs.items()])
    r.notes.append(f"spiral of 300 points; {width} units per layer; SGD lr {lr}, batch "
                   f"{batch_size}, {steps:,} steps; same seed, same batches for both activations")

    def draw(plt):
        deep = max(depths)
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), gridspec_kw={"width_ratios": [1.4, 1, 1]})
        for (d, a), (_, c, _) in runs.items():
            k = max(1, len(c["loss"]) // 100)
            loss = np.convolve(c["loss"], np.ones(k) / k, mode="valid")
            axes[0].plot(np.arange(len(loss)) + k, loss, color=COLORS[a],
                         ls="-" if d == deep else "--", label=f"{a}, {d} layers")
        axes[0].set(xlabel="step", ylabel="training loss (running mean)",
                    title="Same net, same batches: only the activation differs")
        axes[0].legend()
        for ax, a in zip(axes[1:], ("sigmoid", "relu")):
            model, _, acc = runs[deep, a]
            boundary(ax, model, X, y, f"{a}, {deep} layers: {100 * acc:.0f}% train accuracy")
        return fig

    r.plots["training"] = draw
    return r


@experiment(3, "tanh-vs-relu-speed", "tanh trains more slowly than ReLU",
            "In a deep net (d_in → 16 → 16 → 3 and deeper) tanh needs more steps than ReLU to "
            "reach the same loss.", SECTION, seconds=(1, 3))
def tanh_vs_relu(quick=False, seed=0, hidden=None, seeds=None, target=0.5, lr=0.1,
                 max_steps=3000, batch_size=32):
    """Steps until the full-data loss on the spiral first falls below ``target``, for each
    seed; tanh with Xavier init, ReLU with He init, plain SGD, the same batches."""
    hidden = hidden or ((2, 4) if quick else (2, 4, 6))
    n_seeds = seeds or (3 if quick else 5)
    X, y = make_spiral(seed=seed)
    steps = {}
    for h in hidden:
        for act, init in (("tanh", "xavier"), ("relu", "he")):
            found = []
            for s in range(seed, seed + n_seeds):
                model = MLP([2] + [16] * h + [3], [act] * h + ["softmax"], init_method=init, seed=s)
                c = train_steps(model, X, y, SGD(lr), batches(len(X), batch_size, max_steps, s),
                                every=10, X_eval=X, y_eval=y,
                                until=lambda c: c["eval_loss"][-1] <= target)
                found.append(steps_to(c["eval_loss"], target, c["step"]))
            steps[h, act] = found

    def median(v):
        return float(np.median([max_steps * 2 if s is None else s for s in v]))

    r = Result()
    for h in hidden:
        t, u = median(steps[h, "tanh"]), median(steps[h, "relu"])
        r.measurements[f"median_steps[tanh, {h} hidden]"] = t
        r.measurements[f"median_steps[relu, {h} hidden]"] = u
        r.checks.append(Check(f"{h} hidden layers of 16: tanh needs more steps than ReLU",
                              f"median steps to loss {target}: tanh {fmt(t)}, ReLU {fmt(u)} "
                              f"({t / u:.1f}×)", t > u))
    r.table = text_table(["hidden layers", "activation", f"steps to loss ≤ {target}, per seed",
                          "median"],
                         [[h, a, ", ".join(fmt(s) for s in v), fmt(median(v))]
                          for (h, a), v in steps.items()])
    r.notes.append(f"spiral of 300 points, SGD lr {lr}, batch {batch_size}, {n_seeds} seeds "
                   f"(each its own init and batches), loss on all 300 points every 10 steps; "
                   f"'never' means not within {max_steps:,} steps")

    def draw(plt):
        fig, ax = plt.subplots(figsize=(7, 4))
        w = 0.35
        for j, act in enumerate(("tanh", "relu")):
            for i, h in enumerate(hidden):
                v = [max_steps if s is None else s for s in steps[h, act]]
                x = i + (j - 0.5) * w
                ax.bar(x, median(steps[h, act]), w * 0.9, color=COLORS[act], alpha=0.5,
                       label=act if i == 0 else None)
                ax.plot([x] * len(v), v, "o", color=COLORS[act], ms=4)
        ax.set_xticks(range(len(hidden)), [f"{h} hidden layers" for h in hidden])
        ax.set(ylabel=f"steps to loss ≤ {target}", title="Steps to the same loss (bars: median; "
               f"dots: {n_seeds} seeds)")
        ax.legend()
        return fig

    r.plots["steps"] = draw
    return r


@experiment(4, "linear-collapse", "Without a non-linearity, layers collapse",
            "Stacked linear layers collapse to one linear map: W2 W1 reproduces the 2-layer linear "
            "net exactly, and it cannot fit XOR or the circles.", SECTION, seconds=(1, 3))
def linear_collapse(quick=False, seed=0, hidden=16, steps=None, lr=0.05):
    """A [2, h, h, 1] net with identity hidden layers (and a sigmoid output) against the same
    net with ReLU; then the linear one's weights multiplied into a single layer."""
    steps = steps or (600 if quick else 1500)
    data = {"XOR": make_xor(n_samples=200, noise=0.1, seed=seed),
            "circles": make_circles(n_samples=300, seed=seed)}
    fits = {}
    for name, (X, y) in data.items():
        for act in ("identity", "relu"):
            model = MLP([2, hidden, hidden, 1], [act, act, "sigmoid"], seed=seed, dtype=np.float64)
            train_steps(model, X, y, Adam(lr), batches(len(X), 32, steps, seed), every=steps)
            fits[name, act] = (model, model.score(X, y))

    # Collapse: z = ((x W1ᵀ + b1) W2ᵀ + b2) W3ᵀ + b3 = x (W3 W2 W1)ᵀ + (W3 (W2 b1 + b2) + b3)
    model = fits["circles", "identity"][0]
    (W1, b1), (W2, b2), (W3, b3) = [(l.W, l.b) for l in model.layers]
    W = W3 @ W2 @ W1                                                     # (1, 2)
    b = W3 @ (W2 @ b1 + b2) + b3                                         # (1,)
    X = data["circles"][0].astype(np.float64)
    deep = model.predict_proba(X)[:, 1]                                  # (n,)
    single = 1 / (1 + np.exp(-(X @ W.T + b)[:, 0]))                      # (n,) σ(x Wᵀ + b)
    collapse_err = float(np.max(np.abs(deep - single)))

    r = Result()
    r.measurements = {"max_difference_collapsed_vs_stacked": collapse_err,
                      **{f"accuracy[{n}, {a}]": acc for (n, a), (_, acc) in fits.items()}}
    r.checks = [
        Check("W3 W2 W1 (and the folded bias) reproduces the stacked linear net exactly",
              f"largest output difference {fmt(collapse_err)} (float64 rounding)",
              collapse_err < 1e-12),
        Check("the linear net cannot fit XOR (no line separates it: at most 3 of 4 corners)",
              f"linear: {100 * fits['XOR', 'identity'][1]:.1f}% (ReLU: "
              f"{100 * fits['XOR', 'relu'][1]:.1f}%)", fits["XOR", "identity"][1] <= 0.8),
        Check("the linear net cannot fit the circles",
              f"linear: {100 * fits['circles', 'identity'][1]:.1f}% (ReLU: "
              f"{100 * fits['circles', 'relu'][1]:.1f}%)", fits["circles", "identity"][1] <= 0.7),
    ]
    r.table = text_table(["data", "hidden activation", "train accuracy"],
                         [[n, a, f"{100 * acc:.1f}%"] for (n, a), (_, acc) in fits.items()])
    r.notes.append(f"[2, {hidden}, {hidden}, 1] with a sigmoid output (binary cross-entropy), Adam "
                   f"lr {lr}, {steps:,} steps, float64; XOR as 200 jittered corners")

    def draw(plt):
        fig, axes = plt.subplots(1, 4, figsize=(13, 3.4))
        for ax, ((n, a), (m, acc)) in zip(axes, fits.items()):
            Xd, yd = data[n]
            boundary(ax, m, Xd, yd, f"{n}, {'linear' if a == 'identity' else a} hidden: "
                                    f"{100 * acc:.0f}%")
        fig.suptitle("Without a non-linearity the boundary is one straight line", y=1.02)
        return fig

    r.plots["boundaries"] = draw
    return r


@experiment(5, "universal-approximation", "One hidden layer fits sin(x) better as it widens",
            "Universal approximation: one hidden layer fits sin(x) on [−π, π] better as it widens "
            "(error against width 1 … 256).", SECTION, seconds=(3, 28))
def universal_approximation(quick=False, seed=0, widths=None, steps=None, lr=0.02):
    """Train [1, w, 1] (tanh, and ReLU) on 200 points of sin(x) with Adam and a cosine decay,
    full batch, float64; the error is the RMS error on 1,000 evenly spaced points."""
    widths = widths or ([1, 4, 16, 64] if quick else [1, 2, 4, 8, 16, 32, 64, 128, 256])
    steps = steps or (1500 if quick else 2500)
    X, y = (a.astype(np.float64) for a in make_sine(200, seed=seed))
    grid = np.linspace(-np.pi, np.pi, 1000)[:, None]                    # (1000, 1)
    errors, curves = {}, {}
    for act, init in (("tanh", "xavier"), ("relu", "he")):
        for w in widths:
            model = MLP([1, w, 1], [act, "identity"], init_method=init, seed=seed, dtype=np.float64)
            opt, schedule = Adam(lr), Cosine(lr, steps)
            for t in range(steps):
                opt.lr = schedule(t)
                model.loss_and_grad(X, y)
                opt.step(model)
            pred = model.predict(grid)                                  # (1000,)
            errors[act, w] = float(np.sqrt(np.mean((pred - np.sin(grid[:, 0])) ** 2)))
            curves[act, w] = pred

    r = Result()
    for act in ("tanh", "relu"):
        e = np.array([errors[act, w] for w in widths])
        slope = float(np.polyfit(np.log(widths), np.log(e), 1)[0])
        best = widths[int(np.argmin(e))]
        r.measurements[f"rms_error[{act}]"] = e.tolist()
        r.measurements[f"log_log_slope[{act}]"] = slope
        r.checks.append(Check(f"{act}: the widest net fits ≥ 10× better than one unit",
                              f"RMS error {fmt(e[0])} at width 1, {fmt(e[-1])} at width "
                              f"{widths[-1]} "
                              f"({e[0] / e[-1]:.0f}×)", e[0] / e[-1] >= 10))
        r.checks.append(Check(f"{act}: the error falls as the layer widens (the trend of "
                              "log error against log width has slope ≤ −0.5)",
                              f"slope {slope:.2f}; lowest error {fmt(e.min())} at width {best}",
                              slope <= -0.5))
    r.measurements["widths"] = list(widths)
    r.table = text_table(["width"] + [f"RMS error, {a}" for a in ("tanh", "relu")],
                         [[w, fmt(errors["tanh", w]), fmt(errors["relu", w])] for w in widths])
    r.notes.append(f"Adam lr {lr} decaying on a cosine over {steps:,} full-batch steps, float64, "
                   "one seed. The theorem is about what a width can represent; a trained net "
                   "gets only as close as its optimizer takes it, so past a few units the "
                   "measured error is set by the training budget more than by the width.")

    def draw(plt):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
        for act in ("tanh", "relu"):
            a1.loglog(widths, [errors[act, w] for w in widths], "o-", color=COLORS[act], label=act)
        a1.set(xlabel="hidden units", ylabel="RMS error against sin(x)",
               title="Error against width (one hidden layer)")
        a1.set_xticks(widths, [str(w) for w in widths])
        a1.legend()
        g = grid[:, 0]
        a2.plot(g, np.sin(g), color="black", lw=2.5, alpha=0.3, label="sin(x)")
        for w, ls in zip((1, 4, widths[-1]), (":", "--", "-")):
            a2.plot(g, curves["relu", w], ls, color=COLORS["relu"], lw=1.2,
                    label=f"ReLU, {w} unit{'s' if w > 1 else ''}")
        a2.set(xlabel="x", ylabel="output", title="ReLU fits: one kink per unit")
        a2.legend()
        return fig

    r.plots["widths"] = draw
    return r
