"""Losses and numerics: experiments 9 to 12."""

import math
import re

import numpy as np

from ..check import trace
from ..data import make_quadrants
from ..mlp import MLP
from ..nn.activations import Softmax
from ..nn.losses import cross_entropy, mse, softmax
from ..optim import SGD, global_norm
from .core import (
    COLORS,
    Check,
    Result,
    batches,
    experiment,
    fmt,
    mnist,
    text_table,
    timed,
    train_steps,
)

SECTION = "Losses and numerics"


def naive_softmax(z):
    """e^z / Σ e^z exactly as written: overflows once e^z does (z > 709.78 in float64)."""
    e = np.exp(z)                  # (K,) inf for large z
    return e / e.sum()             # inf / inf = NaN


@experiment(9, "softmax-overflow", "Naive softmax overflows; the stable one does not",
            "Naive softmax on [1000, 999, 998] gives NaN; the stable one (subtract the maximum "
            "first) gives [0.665, 0.244, 0.090].", SECTION, seconds=(1, 1))
def softmax_overflow(quick=False, seed=0, logits=(1000.0, 999.0, 998.0),
                     expected=(0.665, 0.244, 0.090)):
    """Both softmaxes on the lesson's logits, in float64 and float32; then the first logit
    of [c, c − 1, c − 2] swept from 0 to 1000 to find where the naive one breaks."""
    z = np.array(logits, dtype=np.float64)
    with np.errstate(all="ignore"):
        naive = naive_softmax(z)
        naive32 = naive_softmax(z.astype(np.float32))
        stable = softmax(z)
        shifts = np.linspace(0, 1000, 2001)
        sweep = {dt: np.array([[naive_softmax((c - np.arange(3)).astype(dt))[0],
                                softmax((c - np.arange(3)).astype(dt))[0]] for c in shifts])
                 for dt in (np.float64, np.float32)}
    breaks = {np.dtype(dt).name: float(shifts[np.argmax(~np.isfinite(v[:, 0]))])   # first NaN
              for dt, v in sweep.items()}
    gap = float(np.max(np.abs(stable - np.array(expected))))

    r = Result()
    r.measurements = {"naive_float64": naive.tolist(), "naive_float32": naive32.tolist(),
                      "stable": stable.tolist(), "largest_difference_from_lesson": gap,
                      "naive_breaks_at_logit[float64]": breaks["float64"],
                      "naive_breaks_at_logit[float32]": breaks["float32"]}
    r.checks = [
        Check(f"naive softmax on {list(logits)} gives NaN",
              f"naive: [{', '.join(fmt(p) for p in naive)}] (e^{logits[0]:g} = "
              f"{fmt(np.exp(z[0]) if z[0] < 709 else math.inf)})",
              bool(np.isnan(naive).any())),
        Check(f"the stable softmax gives {list(expected)} (to 3 decimals)",
              f"stable: [{', '.join(f'{p:.4f}' for p in stable)}], largest difference {gap:.4f}",
              gap <= 1e-3),
    ]
    r.notes.append(f"The second probability is {stable[1]:.5f}: the lesson's 0.244 is truncated "
                   "(rounded it is 0.245). Naive softmax breaks once e^z overflows: at a largest "
                   f"logit above ≈ {breaks['float64']:.0f} in float64 and ≈ "
                   f"{breaks['float32']:.0f} in float32 (training's default); the stable one "
                   "subtracts the maximum, so its largest exponent is e^0 = 1.")

    def draw(plt):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 3.8),
                                     gridspec_kw={"width_ratios": [1.5, 1]})
        for dt, ls in ((np.float32, "--"), (np.float64, "-")):
            v = sweep[dt]
            name = np.dtype(dt).name
            a1.plot(shifts, np.where(np.isfinite(v[:, 0]), v[:, 0], np.nan), ls,
                    color=COLORS["sigmoid"], label=f"naive, {name} (NaN after {breaks[name]:.0f})")
        a1.plot(shifts, sweep[np.float64][:, 1], color=COLORS["relu"], lw=2.5, alpha=0.6,
                label="stable")
        a1.set(xlabel="largest logit c in [c, c − 1, c − 2]", ylabel="p₁", ylim=(0, 1),
               title="softmax([c, c − 1, c − 2])₁: the naive one stops at overflow")
        a1.legend(loc="lower center")
        a2.bar(range(3), stable, color=COLORS["relu"])
        for i, (p, e) in enumerate(zip(stable, expected)):
            a2.text(i, p + 0.02, f"{p:.3f}\n(lesson {e:.3f})", ha="center", fontsize=8)
        a2.set_xticks(range(3), [f"z = {v:g}" for v in logits])
        a2.set(ylim=(0, 0.85), ylabel="probability", title="stable softmax of the lesson's logits")
        return fig

    r.plots["softmax"] = draw
    return r


def softmax_grads(p_wrong, K):
    """‖dL/dz‖ for cross-entropy and for MSE on softmax outputs, at one example whose
    wrong class gets probability ``p_wrong`` (the others share the rest equally)."""
    a = math.log(p_wrong * (K - 1) / (1 - p_wrong))                    # logit giving p_wrong
    z = np.zeros((1, K))
    z[0, 0] = a                                                         # (1, K)
    y = np.array([1])                                                   # the true class is 1
    _, g_ce = cross_entropy(z, y)                                       # (1, K) p − Y
    s = Softmax()
    p = s.forward(z)                                                    # (1, K)
    _, g_p = mse(p, np.eye(K)[y])                                       # (1, K) dL/dp = p − Y
    g_mse = s.backward(g_p)                                             # (1, K) through p(1 − p)
    return float(np.linalg.norm(g_ce)), float(np.linalg.norm(g_mse))


@experiment(10, "mse-vs-cross-entropy", "MSE on softmax trains more slowly than cross-entropy",
            "MSE on softmax outputs trains more slowly than cross-entropy, because its gradient "
            "carries the vanishing factors p(1 − p); at a confidently wrong prediction it nearly "
            "stops.", SECTION, seconds=(2, 8), needs="MNIST (or the 8x8 digits with --quick)")
def mse_vs_cross_entropy(quick=False, seed=0, steps=None, lr=0.1, hidden=64, target=0.85,
                         confident=0.99):
    """The same network, init and batches trained with cross-entropy and with the lesson's
    MSE on one-hot labels; then ‖dL/dz‖ of each loss at one example as its wrong class
    grows more confident."""
    steps = steps or (400 if quick else 1500)
    data = mnist(quick, n_train=10000, n_test=2000)
    sizes = [data.n_features, hidden, 10]
    runs = {}
    for loss in ("cross_entropy", "mse"):
        model = MLP(sizes, ["relu", "softmax"], seed=seed, loss=loss)
        runs[loss] = train_steps(model, data.X_train, data.y_train, SGD(lr),
                                 batches(len(data.X_train), 64, steps, seed),
                                 every=max(steps // 40, 1),
                                 X_eval=data.X_test, y_eval=data.y_test)
    reach = {k: next((s for s, a in zip(c["step"], c["eval_acc"]) if a >= target), None)
             for k, c in runs.items()}
    final = {k: c["eval_acc"][-1] for k, c in runs.items()}
    p_grid = np.linspace(0.1, 0.999, 200)
    grads = np.array([softmax_grads(p, 10) for p in p_grid])           # (200, 2): CE, MSE
    ce_c, mse_c = softmax_grads(confident, 10)

    r = Result()
    r.measurements = {**{f"test_accuracy[{k}]": v for k, v in final.items()},
                      **{f"steps_to_target[{k}]": v for k, v in reach.items()},
                      f"grad_norm_at_p_wrong_{confident}[cross_entropy]": ce_c,
                      f"grad_norm_at_p_wrong_{confident}[mse]": mse_c}
    ce_at, mse_at = reach["cross_entropy"], reach["mse"]
    slower = ce_at is not None and (mse_at is None or mse_at > ce_at)
    r.checks = [
        Check(f"MSE needs more steps than cross-entropy to reach {100 * target:.0f}% test accuracy",
              f"steps to {100 * target:.0f}%: cross-entropy {fmt(ce_at)}, MSE {fmt(mse_at)}"
              + ("" if mse_at else f" within {steps:,}")
              + f"; after {steps:,} steps {100 * final['cross_entropy']:.1f}% vs "
                f"{100 * final['mse']:.1f}%",
              slower),
        Check(f"at a confidently wrong prediction (p_wrong = {confident}) the MSE gradient nearly "
              "vanishes (below a tenth of cross-entropy's)",
              f"‖dL/dz‖: cross-entropy {ce_c:.3f}, MSE {mse_c:.4f} ({ce_c / mse_c:.0f}× smaller)",
              mse_c < 0.1 * ce_c),
    ]
    r.notes.append(f"{data.name}: {len(data.X_train):,} training images, test accuracy on "
                   f"{len(data.X_test):,}; [{sizes[0]}, {hidden}, 10], ReLU, SGD lr {lr}, "
                   "batch 64; MSE is the lesson's 1/(2n) Σ (p − y)² on one-hot rows "
                   "(MLP(..., loss='mse')). "
                   "Cross-entropy's dL/dz = p − y; MSE's is J_softmax (p − y), whose entries carry "
                   "p_k(1 − p_k) factors that vanish as any p_k nears 0 or 1.")
    if data.note:
        r.notes.append(data.note)

    def draw(plt):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4))
        for k, label in (("cross_entropy", "cross-entropy"), ("mse", "MSE")):
            c = runs[k]
            a1.plot(c["step"], 100 * np.array(c["eval_acc"]),
                    color=COLORS["ce" if k != "mse" else "mse"], label=label)
        a1.axhline(100 * target, color="0.5", ls=":", lw=0.8)
        a1.set(xlabel="step", ylabel="test accuracy (%)",
               title=f"{data.name}: same net, init and batches")
        a1.legend()
        a2.plot(p_grid, grads[:, 0], color=COLORS["ce"], label="cross-entropy")
        a2.plot(p_grid, grads[:, 1], color=COLORS["mse"], label="MSE on softmax")
        a2.set(xlabel="probability given to the wrong class", ylabel="‖dL/dz‖ at that example",
               yscale="log", title="Gradient at a wrong prediction: MSE's vanishes")
        a2.legend()
        return fig

    r.plots["mse-vs-ce"] = draw
    return r


@experiment(11, "batch-size-mean", "The mean keeps the gradient's size as the batch grows",
            "With the mean convention, doubling the batch leaves the size of the per-step "
            "gradient about the same; with a sum it doubles.", SECTION, seconds=(1, 2))
def batch_size_mean(quick=False, seed=0, sizes=None, draws=None, n=8192):
    """‖∇L‖ of one fixed network on mini-batches of each size (the mean over the batch,
    handgrad's and PyTorch's convention), averaged over random batches; the sum convention's
    gradient is B times the mean's."""
    sizes = sizes or [8, 16, 32, 64, 128, 256, 512, 1024, 2048]
    draws = draws or (10 if quick else 30)
    X, y = make_quadrants(n_samples=n, seed=seed)
    model = MLP([2, 32, 32, 4], seed=seed)
    rng = np.random.default_rng(seed)
    mean_norm = []
    for B in sizes:
        norms = []
        for _ in range(draws):
            idx = rng.choice(n, B, replace=False)
            model.loss_and_grad(X[idx], y[idx])
            norms.append(global_norm(model.grads))
        mean_norm.append(float(np.mean(norms)))
    model.loss_and_grad(X, y)
    full = global_norm(model.grads)
    mean_norm = np.array(mean_norm)
    sum_norm = mean_norm * np.array(sizes)
    per_doubling = {k: float(np.exp(np.mean(np.diff(np.log(v)) / np.diff(np.log2(sizes)))))
                    for k, v in (("mean", mean_norm), ("sum", sum_norm))}

    r = Result()
    r.measurements = {"batch_sizes": sizes, "grad_norm[mean]": mean_norm.tolist(),
                      "grad_norm[sum]": sum_norm.tolist(), "full_batch_grad_norm": full,
                      "factor_per_doubling[mean]": per_doubling["mean"],
                      "factor_per_doubling[sum]": per_doubling["sum"]}
    r.checks = [
        Check("mean: doubling the batch leaves the gradient norm about the same (factor 0.8–1.25)",
              f"× {per_doubling['mean']:.2f} per doubling ({fmt(mean_norm[0])} at B = {sizes[0]}, "
              f"{fmt(mean_norm[-1])} at B = {sizes[-1]})", 0.8 <= per_doubling["mean"] <= 1.25),
        Check("sum: doubling the batch about doubles it (factor 1.6–2.5)",
              f"× {per_doubling['sum']:.2f} per doubling", 1.6 <= per_doubling["sum"] <= 2.5),
    ]
    r.table = text_table(["batch", "‖∇L‖, mean", "‖∇L‖, sum"],
                         [[B, fmt(a), fmt(b)] for B, a, b in zip(sizes, mean_norm, sum_norm)])
    r.notes.append(f"[2, 32, 32, 4] at initialization on {n:,} quadrant points, each "
                   f"norm the average over {draws} random batches. The mean's small drift down "
                   f"is noise averaging out: ‖g_B‖² ≈ ‖g‖² + tr Σ / B, toward the full-batch norm "
                   f"{fmt(full)}. The sum convention's gradient is exactly B times the mean's, so "
                   "with a sum the learning rate must shrink as the batch grows.")

    def draw(plt):
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.loglog(sizes, mean_norm, "o-", color=COLORS["relu"], label="mean over the batch")
        ax.loglog(sizes, sum_norm, "s-", color=COLORS["sigmoid"], label="sum over the batch")
        ax.axhline(full, color=COLORS["relu"], ls=":", lw=0.8, label="full-batch gradient (mean)")
        ax.set_xticks(sizes, [str(s) for s in sizes])
        ax.set(xlabel="batch size", ylabel="‖∇L‖", title="Gradient size against batch size")
        ax.legend()
        return fig

    r.plots["grad-norm"] = draw
    return r


def matmul_flops(tr, first_input_grad=False):
    """Per layer (forward, backward) matrix-multiply FLOPs, read off a ``handgrad.trace``.

    Forward z_l = a_(l−1) W_lᵀ: 2·B·d_in·d_out. Backward dW_l = δ_lᵀ a_(l−1): the same;
    and dL/da_(l−1) = δ_l W_l, the same again — present in the trace (a row da_(l−1))
    only where a layer passes its gradient on. The trace lists no dL/dX for the first
    layer (handgrad skips it); ``first_input_grad`` counts it as the lesson does.
    """
    B = tr.batch
    dims = {int(m.group(1)): tuple(map(int, re.findall(r"\d+", shape)))
            for name, _, shape in tr.backward if (m := re.fullmatch(r"dW(\d+)", name))}
    passes = {int(m.group(1)) + 1 for name, _, _ in tr.backward
              if (m := re.fullmatch(r"da(\d+)", name))}
    passes |= {1} if first_input_grad else set()
    return {l: (2 * B * o * i, 2 * B * o * i * (2 if l in passes else 1))
            for l, (o, i) in sorted(dims.items())}


def layer_times(model, X, y, rounds):
    """Seconds of each layer's forward and backward, each timed on its own, in interleaved
    rounds; the fastest round of each counts (timeit's rule: the least disturbed run)."""
    model.loss_and_grad(X, y)
    inputs = [X] + [l.a for l in model.layers[:-1]]                     # what each layer takes
    L = len(model.layers)
    grads = [None] * L                                                  # dL/d(output) of each layer
    _, grads[-1] = cross_entropy(model.layers[-1].z, y)                 # (B, K) δ = (p − Y)/B
    for i in range(L - 1, 0, -1):
        layer = model.layers[i]
        grads[i - 1] = layer.backward_delta(grads[i]) if i == L - 1 else layer.backward(grads[i])
    fwd, bwd = np.full((rounds, L), np.inf), np.full((rounds, L), np.inf)
    for k in range(rounds):
        for i, layer in enumerate(model.layers):
            back = layer.backward_delta if i == L - 1 else layer.backward
            fwd[k, i] = timed(lambda f=layer.forward, a=inputs[i]: f(a), 1)
            bwd[k, i] = timed(lambda f=back, g=grads[i]: f(g), 1)
    return fwd.min(axis=0), bwd.min(axis=0)


@experiment(12, "backward-cost", "Backprop costs about twice the forward pass",
            "Backprop costs about twice the forward pass: per layer it computes dW and dL/dx, each "
            "a matrix product as large as the forward one.", SECTION, seconds=(1, 3))
def backward_cost(quick=False, seed=0, sizes=(784, 256, 128, 10), batch=256, repeats=None,
                  low=1.5, high=3.0):
    """FLOPs per layer from ``handgrad.trace``'s shape tables; wall-clock time per layer,
    measured with dL/dx at every layer (the lesson's count) and as handgrad runs it (the
    first layer skips dL/dX, which nobody needs)."""
    repeats = repeats or (15 if quick else 60)
    rng = np.random.default_rng(seed)
    X = rng.random((batch, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], batch)
    titles = {"every layer": "dL/dx at every layer (the lesson's count)",
              "handgrad": "as handgrad runs it (layer 1 skips dL/dX)"}
    out = {}
    for mode in titles:
        model = MLP(list(sizes), seed=seed)
        model.layers[0].needs_input_grad = mode != "handgrad"
        flops = matmul_flops(trace(model, batch_size=batch), first_input_grad=mode != "handgrad")
        fwd_t, bwd_t = layer_times(model, X, y, repeats)
        out[mode] = (flops, fwd_t, bwd_t)
    f_all, ft, bt = out["every layer"]
    flop_ratio = {m: sum(b for _, b in v[0].values()) / sum(f for f, _ in v[0].values())
                  for m, v in out.items()}
    time_ratio = {m: float(v[2].sum() / v[1].sum()) for m, v in out.items()}
    per_layer = [b / f for f, b in f_all.values()]

    r = Result()
    r.timings = ("time_ratio[every layer]", "time_ratio[handgrad]", "forward_ms", "backward_ms")
    r.measurements = {"flop_ratio[every layer]": flop_ratio["every layer"],
                      "flop_ratio[handgrad]": flop_ratio["handgrad"],
                      "time_ratio[every layer]": time_ratio["every layer"],
                      "time_ratio[handgrad]": time_ratio["handgrad"],
                      "forward_ms": (1e3 * ft).tolist(), "backward_ms": (1e3 * bt).tolist()}
    r.checks = [
        Check("per layer, the backward pass does twice the forward's matrix-multiply FLOPs",
              "backward / forward FLOPs per layer: " + ", ".join(f"{v:.2f}" for v in per_layer),
              all(abs(v - 2) < 1e-9 for v in per_layer)),
        Check(f"in measured time the backward pass costs about twice the forward ({low}–{high}×)",
              f"{time_ratio['every layer']:.2f}× (sum over layers, fastest of {repeats} rounds)",
              low <= time_ratio["every layer"] <= high),
    ]
    rows = []
    for mode, (flops, fwd, bwd) in out.items():
        for l, ((f, b), tf, tb) in enumerate(zip(flops.values(), fwd, bwd), 1):
            rows.append([mode, f"{l}: {sizes[l - 1]} → {sizes[l]}", f"{f / 1e6:.1f}",
                         f"{b / 1e6:.1f}", f"{b / f:.1f}", f"{1e3 * tf:.3f}", f"{1e3 * tb:.3f}",
                         f"{tb / tf:.1f}"])
    r.table = text_table(["dL/dx", "layer", "fwd MFLOP", "bwd MFLOP", "ratio", "fwd ms",
                          "bwd ms", "ratio"], rows)
    r.notes.append(f"batch {batch}, float32, {list(sizes)}; FLOPs count the matrix products "
                   "only (2·B·d_in·d_out each), read off the shapes handgrad.trace prints. "
                   "Times are wall-clock, with NumPy's BLAS on one thread: they vary from run to "
                   "run and machine to machine.")
    r.notes.append(f"As handgrad runs it the first layer skips dL/dX (no one needs the input's "
                   f"gradient); with {sizes[0]} inputs that layer dominates, so the whole backward "
                   f"pass is {flop_ratio['handgrad']:.2f}× the forward in FLOPs and "
                   f"{time_ratio['handgrad']:.2f}× in time here.")

    def draw(plt):
        fig, axes = plt.subplots(1, 2, figsize=(12, 4))
        labels = [f"layer {l}\n{sizes[l - 1]} → {sizes[l]}" for l in range(1, len(sizes))]
        x = np.arange(len(labels))
        bars = [("forward", out["handgrad"][0], 0, out["handgrad"][1], COLORS["relu"]),
                ("backward, dL/dx at every layer", out["every layer"][0], 1, out["every layer"][2],
                 COLORS["sigmoid"]),
                ("backward as handgrad runs it", out["handgrad"][0], 1, out["handgrad"][2],
                 "#f4a582")]
        for j, (label, flops, k, ms, color) in enumerate(bars):
            axes[0].bar(x + (j - 1) * 0.27, [v[k] / 1e6 for v in flops.values()], 0.25,
                        color=color, label=label)
            axes[1].bar(x + (j - 1) * 0.27, 1e3 * ms, 0.25, color=color, label=label)
        axes[0].set(ylabel="matrix-multiply MFLOP", title=f"FLOPs from handgrad.trace: backward = "
                    f"{flop_ratio['every layer']:.2f}× forward "
                    f"({flop_ratio['handgrad']:.2f}× as run)")
        axes[1].set(ylabel="ms (fastest of the rounds)",
                    title=f"Measured time: backward = {time_ratio['every layer']:.2f}× "
                    f"forward ({time_ratio['handgrad']:.2f}× as run)")
        for ax in axes:
            ax.set_xticks(x, labels)
            ax.legend()
        return fig

    r.plots["cost"] = draw
    return r
