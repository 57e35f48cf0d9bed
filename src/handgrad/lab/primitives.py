"""Lesson 2, "Affine maps, activations, losses and gradient descent": its claims about ReLU and
the losses, the cost of backprop, its quadrant task, initialization, the optimizers and
autograd. The quadrant task is the lesson's: 1,000 points from a unit Gaussian in 2-D,
labelled by quadrant, 2 → 16 → 4 with ReLU and He init, mini-batches of 64, 500 steps (the
lesson gives no learning rate for it; we take SGD's 0.1)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import autograd, engine
from ..data import make_spiral
from ..mlp import MLP
from ..nn.activations import Softmax
from ..nn.losses import cross_entropy, mse, softmax
from ..optim import SGD, Adam, AdamW, Optimizer, global_norm
from .flops import Tally, counted
from .pictures import COLORS, arch, boundary, dot_strip, seed_band, threshold_line
from .registry import experiment
from .result import Result, at_least, at_most, between, fmt, near, num, pct, table
from .stats import Sample
from .training import Watched, fit, lesson_quadrants, memo, seeds_for

LESSON = "primitives"
QUAD_SETUP = ("the lesson's quadrant task: 1,000 points from a unit Gaussian in 2-D labelled by "
              "quadrant, 2 → 16 → 4 with ReLU, He init, zero biases, batch 64, 500 steps, SGD lr 0.1 "
              "(the lesson gives no rate)")


def glorot_normal(rng: np.random.Generator, d_out: int, d_in: int) -> np.ndarray:
    """Glorot's N(0, 2 / (n_in + n_out)), as lesson 2 writes it."""
    return math.sqrt(2 / (d_in + d_out)) * rng.standard_normal((d_out, d_in))


def unit_normal(rng: np.random.Generator, d_out: int, d_in: int) -> np.ndarray:
    return rng.standard_normal((d_out, d_in))


INITS: dict[str, Any] = {"he": "he", "glorot": glorot_normal, "normal": unit_normal}


@memo
def quadrant_run(seed: int, lr: float = 0.1, steps: int = 500, hidden: tuple[int, ...] = (16,),
                 init: str = "he", optimizer: str = "sgd", momentum: float = 0.0,
                 loss: str | None = None) -> Watched:
    """The lesson's quadrant task trained from ``seed``, one setting changed."""
    X, y = lesson_quadrants(seed)
    model = MLP([2, *hidden, 4], init_method=INITS[init], seed=seed, loss=loss)
    opt: Optimizer = SGD(lr, momentum=momentum) if optimizer == "sgd" else Adam(lr)
    return fit(model, X, y, batch_size=64, steps=steps, optimizer=opt, X_eval=X, y_eval=y,
               every=10, batch_acc=True)


# --- affine maps and activations --------------------------------------------------------------

@experiment(
    "half-zero", "About half the activations are exactly zero",
    claim="At a randomly initialized ReLU layer about half of the activations are exactly zero.",
    lesson=LESSON, section="Affine maps and activations", seconds=(0.3, 0.5),
    related=("he-factor-two", "relu-100-layers"),
    fails_with={"half": dict(bias=1.0)})
def half_zero(quick: bool = False, seed: int = 0, bias: float = 0.0) -> Result:
    """The quadrant network's hidden layer at initialization on its 1,000 points: the share of
    activations that are exactly 0 (biases 0, as the lesson initializes them)."""
    seeds = seeds_for(quick, seed)
    per_unit: Any                     # the first seed's (that is ``seed``): (16,)
    shares, per_unit = [], None
    for s in seeds:
        X, _ = lesson_quadrants(s)
        model = MLP([2, 16, 4], seed=s)
        model.layers[0].params["bias"][:] = bias
        model.forward(X, training=False)
        a = model.layers[0].a                                            # (n, 16)
        shares.append(float(np.mean(a == 0)))
        if s == seed:
            per_unit = np.mean(a == 0, axis=0)                           # (16,)
    share = Sample(shares)
    r = Result()
    r.setups = {"the lesson's": "the lesson's quadrant network: 1,000 points from a unit Gaussian in 2-D, "
                                "2 → 16 → 4 with ReLU, He init, zero biases, at initialization; "
                                f"{len(seeds)} seeds"}
    r.checks = [near("half", "about half the hidden activations are exactly 0 (within 10 % of ½)", share, 0.5,
                     0.10, f"{pct(share.mean)} (sd {100 * share.sd:.1f} points)")]
    r.measurements = {"share_exactly_zero": share.values}
    r.found = (f"{pct(share.mean)} of the hidden activations are exactly 0 on average (from "
               f"{pct(min(shares))} to {pct(max(shares))} over {len(seeds)} seeds).")
    r.why = ("With zero biases each unit computes z = w·x, and for inputs spread around the origin and "
             "weights of random sign z is negative for about half of the points; ReLU sends those to "
             "exactly 0. Per unit the share varies (it is the fraction of points on one side of a "
             "line), but it averages out to ½.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(7, 3.6))
        ax.bar(np.arange(1, 17), 100 * per_unit, color=COLORS["relu"])
        threshold_line(ax, 50, "half")
        ax.set(xlabel="hidden unit", ylabel="inputs where it outputs exactly 0 (%)", ylim=(0, 100),
               title=f"Seed {seed}: {pct(float(np.mean(per_unit)))} of the activations are 0")
        return fig

    r.plots["zeros"] = draw
    return r


@experiment(
    "relu-rescues-depth", "Sigmoid makes deep nets hard to train; ReLU does not",
    claim="Sigmoid and tanh saturate badly and make deep networks hard to train; ReLU, whose "
          "derivative is 1 for positive inputs, made deep networks trainable.",
    lesson=LESSON, section="Affine maps and activations", seconds=(4, 15),
    related=("tanh-saturation", "activation-max-grads", "relu-100-layers"),
    fails_with={"sigmoid-fails": dict(deep_act="relu"), "relu-trains": dict(steps=20)})
def relu_rescues_depth(quick: bool = False, seed: int = 0, depth: int = 10, width: int = 32,
                       steps: int | None = None, lr: float = 0.05, deep_act: str = "sigmoid") -> Result:
    """The lessons give no setup; ours: the 3-arm spiral (300 points), ``depth`` hidden layers
    of 32, SGD lr 0.05, batch 32; sigmoid with Xavier init against ReLU with He, the same
    seeds and batches; accuracy on the 300 points. A 20-layer variant in the full run."""
    steps = steps or (1000 if quick else 2500)
    seeds = list(range(seed, seed + 5))
    depths = (depth,) if quick else (depth, 2 * depth)
    acc: dict[tuple[str, int], list[float]] = {}
    shown = {}
    for d in depths:
        for act, init in (("sigmoid", "xavier"), ("relu", "he")):
            acc[act, d] = []
            used = deep_act if act == "sigmoid" else act      # ``deep_act`` stands in for sigmoid
            for s in seeds:
                X, y = make_spiral(seed=s)
                model = MLP([2] + [width] * d + [3], [used] * d + ["softmax"], init_method=init, seed=s)
                w = fit(model, X, y, batch_size=32, steps=steps, lr=lr, X_eval=X, y_eval=y, at=(steps,))
                acc[act, d].append(w.acc_at(steps))
                if s == seed and d == depth:
                    shown[act] = (model, X, y)
    sig, rel = Sample(acc["sigmoid", depth]), Sample(acc["relu", depth])
    r = Result()
    r.setups = {"the lesson's": f"the lessons give no setup; ours: the 3-arm spiral (300 points), {depth} "
                                f"hidden "
                                f"layers of {width}, SGD lr {lr:g}, batch 32, {steps:,} steps; sigmoid + "
                                f"Xavier "
                                "against ReLU + He, the same seeds and batches; 5 seeds"}
    r.checks = [at_most("sigmoid-fails", f"{depth} sigmoid layers barely train: accuracy within 15 points of "
                        "chance (33 %)", sig, 1 / 3 + 0.15, pct(sig.mean)),
                at_least("relu-trains", f"{depth} ReLU layers train: accuracy ≥ 90 %", rel, 0.9,
                         pct(rel.mean))]
    if not quick:
        r.setups[f"variant: {2 * depth} layers"] = f"the same with {2 * depth} hidden layers"
        deep_sig = Sample(acc["sigmoid", 2 * depth])
        r.checks += [at_most("sigmoid-fails", f"{2 * depth} sigmoid layers", deep_sig, 1 / 3 + 0.15,
                             pct(deep_sig.mean), variant=f"{2 * depth} layers"),
                     at_least("relu-trains", f"{2 * depth} ReLU layers", Sample(acc["relu", 2 * depth]), 0.9,
                              pct(float(np.mean(acc["relu", 2 * depth]))), variant=f"{2 * depth} layers")]
    r.measurements = {f"accuracy[{a}, {d} layers]": v for (a, d), v in acc.items()}
    r.found = (f"After {steps:,} steps {depth} sigmoid layers reach {pct(sig.mean)} on the spiral (chance "
               f"is 33 %), "
               f"{depth} ReLU layers {pct(rel.mean)}.")
    r.why = ("σ'(z) is at most ¼, so each sigmoid layer shrinks the backward signal by ¼ or more and ten "
             "of them leave the first layers almost no gradient; ReLU passes it on unchanged through "
             "every active unit.")

    def draw(plt: Any) -> Any:
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), gridspec_kw={"width_ratios": [1.2, 1, 1]})
        groups = {f"{a}, {d} layers": [100 * v for v in acc[a, d]] for (a, d) in acc}
        dot_strip(axes[0], groups, [COLORS["sigmoid"] if "sigmoid" in k else COLORS["relu"] for k in groups],
                  "accuracy on the spiral (%)", said=100 / 3, said_label="chance")
        axes[0].set_ylim(0, 105)
        axes[0].set_title("One dot per seed")
        for ax, act in zip(axes[1:], ("sigmoid", "relu")):
            model, X, y = shown[act]
            boundary(ax, model, X, y, f"{act}, {depth} layers (seed {seed})")
        return fig

    r.plots["depth"] = draw
    return r


# --- losses -----------------------------------------------------------------------------------

def logit_grads(p_wrong: float, K: int) -> tuple[float, float]:
    """‖dL/dz‖ of cross-entropy and of MSE on the softmax, at one example whose wrong class has
    probability ``p_wrong`` (the others share the rest)."""
    a = math.log(p_wrong * (K - 1) / (1 - p_wrong))                      # the logit giving p_wrong
    z = np.zeros((1, K))
    z[0, 0] = a                                                          # (1, K)
    y = np.array([1])                                                    # the true class is 1
    _, g_ce = cross_entropy(z, y)                                        # (1, K) p − Y
    s = Softmax()
    p = s.forward(z)                                                     # (1, K)
    _, g_p = mse(p, np.eye(K)[y])                                        # (1, K) dL/dp = p − Y
    return float(np.linalg.norm(g_ce)), float(np.linalg.norm(s.backward(g_p)))


@experiment(
    "mse-saturates", "MSE on softmax stalls when confidently wrong",
    claim="For classification MSE on the softmax's probabilities saturates: once a predicted "
          "probability is near 0 or 1 its gradient vanishes even when the prediction is confidently "
          "wrong; cross-entropy's does not.",
    lesson=LESSON, section="Measuring wrongness: loss functions", seconds=(2, 3),
    related=("ce-gradient", "quadrant-first-loss"),
    fails_with={"vanishes": dict(p_wrong=0.5)})
def mse_saturates(quick: bool = False, seed: int = 0, p_wrong: float = 0.99, K: int = 4) -> Result:
    """‖dL/dz‖ of both losses at one confidently wrong example (K = 4 classes, as the quadrant
    task), handgrad's own losses and softmax; then the quadrant network trained with each."""
    ce, ms = logit_grads(p_wrong, K)
    grid = np.linspace(0.3, 0.999, 200)
    curve = np.array([logit_grads(p, K) for p in grid])
    seeds = seeds_for(quick, seed)
    slow = Sample([quadrant_run(s, loss="mse").eval_acc[5] / quadrant_run(s).eval_acc[5] for s in seeds])
    r = Result()
    r.setups = {"the lesson's": f"one example, {K} classes, its true class given probability "
                                f"{(1 - p_wrong) / (K - 1):.4f} and a wrong one {p_wrong}; ‖dL/dz‖ of "
                                f"cross-entropy "
                                "and of MSE on the softmax (the spec's 1/(2n) Σ (p − y)²)",
                "variant: training": QUAD_SETUP + f", trained with MSE on the softmax against cross-entropy; "
                                                  f"{len(seeds)} seeds"}
    r.checks = [at_most("vanishes",
                        f"at p_wrong = {p_wrong} the MSE gradient nearly vanishes: under a tenth of "
                        "cross-entropy's", ms / ce, 0.1, f"MSE {ms:.4f} against cross-entropy {ce:.3f} "
                        f"({ce / ms:.0f}× smaller)", log=True),
                at_most("trains-slower", "trained with MSE the quadrant network is behind after 50 steps "
                        "(accuracy at most 90 % of cross-entropy's)", slow, 0.9, f"{pct(slow.mean)} of it",
                        variant="training")]
    r.measurements = {"grad_norm[cross_entropy]": ce, "grad_norm[mse]": ms,
                      "accuracy_ratio_step_50": slow.values}
    r.found = (f"At a wrong class with probability {p_wrong}, ‖dL/dz‖ is {ce:.3f} for cross-entropy and "
               f"{ms:.4f} "
               f"for MSE on the softmax, {ce / ms:.0f}× smaller; trained on the quadrants, MSE is at "
               f"{pct(slow.mean, 0)} of cross-entropy's accuracy after 50 steps.")
    r.why = ("Cross-entropy's gradient is p − y, as large as the error. MSE's goes through the "
             "softmax's Jacobian, whose entries are p_k(δ_jk − p_j): every term carries a probability, "
             "and when one probability is near 1 all of them are near 0 — the error is large, the "
             "signal to fix it is not.")

    def draw(plt: Any) -> Any:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4))
        a1.semilogy(grid, curve[:, 0], color=COLORS["ce"], label="cross-entropy")
        a1.semilogy(grid, curve[:, 1], color=COLORS["mse"], label="MSE on the softmax")
        a1.axvline(p_wrong, color="0.5", ls=":", lw=1)
        a1.set(xlabel="probability given to a wrong class", ylabel="‖dL/dz‖ at that example",
               title=f"Gradient at a wrong prediction, {K} classes")
        a1.legend(loc="lower left")
        for loss, c, name in ((None, COLORS["ce"], "cross-entropy"), ("mse", COLORS["mse"], "MSE")):
            runs = [quadrant_run(s, loss=loss) for s in seeds]
            seed_band(a2, np.array(runs[0].eval_steps), 100 * np.array([w.eval_acc for w in runs]), c, name)
        a2.set(xlabel="step", ylabel="accuracy (%)", title="The quadrant network, trained with each loss")
        a2.legend(loc="lower right")
        return fig

    r.plots["mse"] = draw
    return r


@experiment(
    "ce-gradient", "Cross-entropy's gradient is p − y",
    claim="The gradient of cross-entropy with respect to the logits is the predicted distribution "
          "minus the one-hot label, p − y (divided by B for a batch mean): no softmax Jacobian.",
    lesson=LESSON, section="The cross-entropy gradient", seconds=(0.3, 0.3),
    related=("mse-saturates", "autograd-three-ways"),
    fails_with={"p-minus-y": dict(loss="mse")})
def ce_gradient(quick: bool = False, seed: int = 0, loss: str = "cross_entropy", B: int = 8,
                K: int = 5) -> Result:
    """(p − y)/B against central finite differences of the batch-mean loss, float64, on random
    logits (B = 8 examples, K = 5 classes)."""
    rng = np.random.default_rng(seed)
    z = 3 * rng.standard_normal((B, K))                                  # (B, K)
    y = rng.integers(0, K, B)

    def L(zz: np.ndarray) -> float:
        if loss == "cross_entropy":
            return cross_entropy(zz, y)[0]
        return mse(softmax(zz), np.eye(K)[y])[0]

    eps = 1e-6
    numeric = np.zeros_like(z)
    for idx in np.ndindex(*z.shape):
        up, down = z.copy(), z.copy()
        up[idx] += eps
        down[idx] -= eps
        numeric[idx] = (L(up) - L(down)) / (2 * eps)
    analytic = (softmax(z) - np.eye(K)[y]) / B                           # (B, K) the lesson's formula
    err = float(np.max(np.abs(analytic - numeric)) / np.max(np.abs(numeric)))
    r = Result()
    r.setups = {"the lesson's": f"random logits N(0, 3²), a batch of {B} examples, {K} classes, float64; "
                                f"(p − y)/B against central differences (ε = 1e-6) of handgrad's "
                                f"{'cross-entropy' if loss == 'cross_entropy' else 'MSE on the softmax'}"}
    r.checks = [at_most("p-minus-y", "(p − y)/B is the gradient: largest difference from the finite "
                        "differences ≤ 1e-8 (relative)", err, 1e-8, fmt(err), log=True)]
    r.measurements = {"largest_relative_difference": err}
    r.found = f"(p − y)/B and the finite differences agree to {fmt(err)} (relative)."
    r.why = ("∂p_i/∂z_j = p_i([i = j] − p_j), and in −Σ y_i log p_i the p_i cancel: −y_j + p_j Σ y_i = p_j "
             "− y_j. "
             "Averaging over the batch divides by B.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(numeric.ravel(), analytic.ravel(), "o", color=COLORS["relu"], ms=5)
        lim = np.abs(numeric).max() * 1.1
        ax.plot([-lim, lim], [-lim, lim], color="0.5", lw=0.8)
        ax.set(xlabel="finite differences", ylabel="(p − y) / B",
               title=f"Every logit of the batch ({B} × {K})")
        return fig

    r.plots["gradient"] = draw
    return r


# --- the cost of backprop -----------------------------------------------------------------------

def counted_flops(sizes: list[int], batch: int, seed: int, first_input_grad: bool = False) -> tuple[int, int]:
    """(forward, backward) FLOPs counted while handgrad's MLP runs one batch: every array the
    pass makes descends from a Counted input, so every ufunc on it reports to one tally. The
    first layer skips dL/dX as handgrad (and the lesson's own backward) does, unless asked."""
    rng = np.random.default_rng(seed)
    model = MLP(sizes, seed=seed, dtype=np.float64)
    model.layers[0].needs_input_grad = first_input_grad
    tally = Tally()
    X = counted(rng.random((batch, sizes[0])), tally)                   # (B, d_in)
    y = rng.integers(0, sizes[-1], batch)
    model._forward(X)
    forward = tally.total
    model.backward(y)                                                    # the loss and every gradient
    return forward, tally.total - forward


@experiment(
    "backprop-2x", "Backprop costs about twice the forward pass",
    claim="Each gradient of the backward pass is one matrix product or one broadcast, the same order "
          "of work as the forward operation: the whole backward pass costs roughly twice the forward, "
          "whatever the depth.",
    lesson=LESSON, section="Backpropagation in matrix form", seconds=(1, 1),
    related=("autograd-three-ways", "memory-table"),
    fails_with={"twice": dict(nets=((784, 256, 10),))})
def backprop_2x(quick: bool = False, seed: int = 0,
                nets: tuple[tuple[int, ...], ...] = ((2, 16, 4), (2, 16, 16, 16, 4), (784, 256, 128, 10),
                                                     (256, 256, 256, 256, 256, 256, 10)),
                batch: int = 64) -> Result:
    """FLOPs counted from the operations handgrad's MLP actually runs (a Counted array tallies
    every matrix product, element-wise operation and reduction) for one batch of 64, forward and
    backward, float64; the first layer skips dL/dX as the lesson's own backward does (a
    variant counts it)."""
    rows, ratio, ratio_all = [], {}, {}
    for sizes in nets:
        fwd, bwd = counted_flops(list(sizes), batch, seed)
        fwd2, bwd2 = counted_flops(list(sizes), batch, seed, first_input_grad=True)
        ratio[sizes] = bwd / fwd
        ratio_all[sizes] = bwd2 / fwd2
        rows.append([arch(sizes), f"{fwd:,}", f"{bwd:,}", f"{ratio[sizes]:.2f}",
                     f"{ratio_all[sizes]:.2f}"])
    far = max(ratio.values(), key=lambda v: abs(math.log(v / 2)))
    r = Result()
    r.setups = {"the lesson's": "handgrad's MLP on one batch of 64, float64, FLOPs counted operation by "
                                "operation; "
                                "the first layer skips dL/dX as the lesson's own backward does; the quadrant "
                                "network, a deeper one, the spec's 784 → 256 → 128 → 10 and a 6-layer stack",
                "variant: dL/dX everywhere": "the first layer also computes the gradient of its input"}
    r.checks = [between("twice", f"{arch(s)}: backward ≈ 2 × forward (1.5 to 2.5 ×)", v, 1.5, 2.5,
                        f"{v:.2f}×") for s, v in ratio.items()]
    r.checks.append(between("twice", "784 → 256 → 128 → 10 with dL/dX at every layer", ratio_all[nets[2]]
                            if len(nets) > 2 else ratio_all[nets[0]], 1.5, 2.5,
                            f"{(ratio_all[nets[2]] if len(nets) > 2 else ratio_all[nets[0]]):.2f}×",
                            variant="dL/dX everywhere"))
    r.measurements = {f"backward_over_forward[{'-'.join(map(str, s))}]": v for s, v in ratio.items()}
    r.measurements.update({f"backward_over_forward_with_dX[{'-'.join(map(str, s))}]": v
                           for s, v in ratio_all.items()})
    r.tables.append(table(["network", "forward FLOPs", "backward FLOPs", "ratio",
                           "ratio with dL/dX at layer 1"],
                          rows))
    r.found = ("Counted operation by operation, the backward pass costs "
               + ", ".join(f"{v:.2f}×" for v in ratio.values())
               + " the forward for the four networks; a first layer with 784 inputs brings it down to "
               f"{ratio.get((784, 256, 128, 10), far):.2f}×.")
    r.why = ("A layer's forward is one product xWᵀ; its backward is two of the same size, dW = δᵀx and "
             "dL/dx = δW — twice. But nobody needs the gradient of the input, so the first layer skips "
             "its second product, and when that layer holds most of the weights (784 × 256 of the "
             "spec's 235 k) the whole backward pass is barely more than the forward.")
    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(8, 3.8))
        names = [arch(s) for s in nets]
        x = np.arange(len(nets))
        ax.bar(x - 0.2, [ratio[s] for s in nets], 0.38, color=COLORS["relu"],
               label="as run (layer 1 skips dL/dX)")
        ax.bar(x + 0.2, [ratio_all[s] for s in nets], 0.38, color=COLORS["tanh"],
               label="dL/dX at every layer")
        ax.axhspan(1.5, 2.5, color=COLORS["nesterov"], alpha=0.1, label="'about twice'")
        ax.set_xticks(x, names, fontsize=8)
        ax.set(ylabel="backward / forward FLOPs", title="Counted FLOPs of one batch of 64", ylim=(0, 2.8))
        ax.legend(loc="lower right", fontsize=8)
        return fig

    r.plots["flops"] = draw
    return r


# --- the quadrant task ----------------------------------------------------------------------------

@experiment(
    "quadrant-first-loss", "The quadrant network starts at log 4",
    claim="On the quadrant task the loss drops from about log 4 ≈ 1.39 at random initialization "
          "(the cross-entropy of a uniform guess over four classes).",
    lesson=LESSON, section="An MLP in NumPy: the quadrant task", seconds=(0.5, 0.5),
    related=("blob-first-loss", "mnist-first-loss", "quadrant-95"),
    fails_with={"log-4": dict(output_scale=30.0)})
def quadrant_first_loss(quick: bool = False, seed: int = 0, output_scale: float = 1.0) -> Result:
    """The first mini-batch loss of the lesson's quadrant network (He init), 10 seeds (5 with
    --quick); then with its output layer scaled by 0.01."""
    seeds = seeds_for(quick, seed)

    def first(s: int, scale: float) -> float:
        X, y = lesson_quadrants(s)
        model = MLP([2, 16, 4], seed=s)
        model.layers[-1].params["weight"] *= scale
        return fit(model, X, y, batch_size=64, steps=1).losses[0]

    he = Sample([first(s, output_scale) for s in seeds], log=True)
    small = Sample([first(s, 0.01) for s in seeds], log=True)
    k = math.log(4)
    r = Result()
    r.setups = {"the lesson's": QUAD_SETUP + f"; the first mini-batch's loss, {len(seeds)} seeds",
                "variant: output ×0.01": "the output layer's weights multiplied by 0.01: logits ≈ 0"}
    r.checks = [near("log-4", "the first loss is about log 4 = 1.39 (within 10 %)", he, k, 0.10,
                     f"{he.mean:.2f} (geometric mean; from {min(he.values):.2f} to {max(he.values):.2f})",
                     says="≈ 1.39"),
                near("log-4", "the same with the output layer scaled by 0.01", small, k, 0.10,
                     f"{small.mean:.3f}",
                     variant="output ×0.01")]
    r.measurements = {"first_loss": he.values, "first_loss[output ×0.01]": small.values}
    r.found = (f"The first mini-batch loss is {he.mean:.2f} (geometric mean of {len(seeds)} seeds), not "
               f"1.39; "
               f"with the output layer scaled by 0.01 it is {small.mean:.3f}.")
    r.why = ("log 4 is the loss of four equal logits. He's init keeps the signal's size through the "
             "hidden layer, so the output layer turns unit-size inputs into logits of size about 1 "
             "that differ from class to class, which costs more than a uniform guess; only an output "
             "layer started near 0 gives log 4.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(6.5, 4))
        dot_strip(ax, {"He (lesson)": he.values, "output ×0.01": small.values},
                  [COLORS["lesson"], COLORS["variant"]], "first mini-batch loss", said=k,
                  said_label="log 4 = 1.39", log=True)
        ax.set_title(f"The quadrant network's first loss ({len(seeds)} seeds)")
        return fig

    r.plots["first-loss"] = draw
    return r


@experiment(
    "quadrant-95", "The quadrant network passes 95 % within a few hundred steps",
    claim="Trained on the quadrant task, the accuracy on the mini-batch passes 95 % within the first "
          "few hundred steps, and the loss falls from log 4 toward zero.",
    lesson=LESSON, section="An MLP in NumPy: the quadrant task", seconds=(1, 2),
    related=("quadrant-first-loss", "unit-variance-init-shallow", "three-hidden-quadrants"),
    fails_with={"passes-95": dict(lr=1e-3), "falls": dict(lr=1e-3)})
def quadrant_95(quick: bool = False, seed: int = 0, lr: float = 0.1) -> Result:
    """The lesson's quadrant task: the first step whose mini-batch accuracy reaches 95 %, and
    the mini-batch loss at the end of the 500 steps; 10 seeds (5 with --quick)."""
    seeds = seeds_for(quick, seed)
    runs = {s: quadrant_run(s, lr=lr) for s in seeds}

    def first95(w: Watched) -> float:
        hit = next((i + 1 for i, a in enumerate(w.batch_accs[:500]) if a >= 0.95), None)
        return 1000.0 if hit is None else float(hit)

    steps = Sample([first95(w) for w in runs.values()], log=True)
    end = Sample([float(np.mean(w.losses[480:500])) for w in runs.values()], log=True)
    r = Result()
    r.setups = {"the lesson's": QUAD_SETUP.replace("lr 0.1", f"lr {num(lr)}") + f"; {len(seeds)} seeds"}
    r.checks = [at_most("passes-95", "the mini-batch accuracy passes 95 % within the first few hundred steps "
                        "(by step 300)", steps, 300, f"first at step {fmt(steps.mean)} (geometric mean; from "
                        f"{fmt(min(steps.values))} to {fmt(max(steps.values))}; 1,000 stands for never)",
                        log=True),
                at_most("falls",
                        "the loss falls from log 4 toward zero (below a tenth of log 4 = 0.139 by step 500)",
                        end, 0.139, f"{end.mean:.3f} over the last 20 mini-batches", log=True)]
    r.measurements = {"first_step_at_95": steps.values, "final_batch_loss": end.values}
    r.found = (f"The mini-batch accuracy first reaches 95 % at step {fmt(steps.mean)} (geometric mean of "
               f"{len(seeds)} "
               f"seeds) and the mini-batch loss ends at {end.mean:.3f}.")
    r.why = ("The four classes are separated by the two axes, two straight lines a ReLU layer draws "
             "easily; what is left after a hundred steps is sharpening the boundary near the axes, "
             "where few points lie.")

    def draw(plt: Any) -> Any:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4))
        for s, w in runs.items():
            k = 10
            acc = np.convolve(w.batch_accs[:500], np.ones(k) / k, mode="valid")
            a1.plot(np.arange(k, 501), 100 * acc, color=COLORS["relu"], alpha=0.6, lw=1,
                    label="one seed each (running mean of 10)" if s == seed else None)
        threshold_line(a1, 95, "95 %")
        a1.axvline(300, color=COLORS["said"], lw=1, ls=":")
        a1.set(xlabel="step", ylabel="mini-batch accuracy (%)", ylim=(0, 102), title="The quadrant task")
        a1.legend(loc="lower right")
        X, y = lesson_quadrants(seed)
        boundary(a2, runs[seed].model, X, y, f"after 500 steps (seed {seed})")
        return fig

    r.plots["training"] = draw
    return r


def per_example_sum(model: MLP, X: np.ndarray, y: np.ndarray) -> float:
    """‖∇L‖ under the sum convention, built from the batch's per-example gradients one by one."""
    total: dict[str, np.ndarray] = {}
    for i in range(len(X)):
        model.loss_and_grad(X[i:i + 1], y[i:i + 1])
        for k, g in model.grads.items():
            total[k] = total.get(k, 0) + g.astype(np.float64)
    return global_norm(total)


@experiment(
    "batch-mean", "With the mean, doubling the batch keeps the gradient's size",
    claim="With the loss averaged over the batch, doubling the batch size leaves the per-step "
          "gradient roughly unchanged (a sum instead of a mean would scale it with the batch).",
    lesson=LESSON, section="An MLP in NumPy: the quadrant task", seconds=(2, 3),
    related=("quadrant-95", "lr-range-sgd"),
    fails_with={"mean-keeps": dict(reduction="sum")})
def batch_mean(quick: bool = False, seed: int = 0, reduction: str = "mean",
               sizes: tuple[int, ...] = (8, 16, 32, 64, 128, 256, 512)) -> Result:
    """The quadrant network at initialization: ‖∇L‖ on random mini-batches of each size, as
    handgrad computes it (the mean over the batch) and as the sum of the per-example gradients,
    each averaged over 5 batches; the factor per doubling, from a fit of log ‖∇L‖ against
    log₂ B; 5 networks."""
    seeds = list(range(seed, seed + 5))
    draws = 3 if quick else 5
    factor: dict[str, list[float]] = {"mean": [], "sum": []}
    shown: dict[str, list[float]] = {}
    for s in seeds:
        X, y = lesson_quadrants(s)
        model = MLP([2, 16, 4], seed=s, dtype=np.float64)
        rng = np.random.default_rng((s, 10))
        norms: dict[str, list[float]] = {"mean": [], "sum": []}
        for B in sizes:
            got: dict[str, list[float]] = {"mean": [], "sum": []}
            for _ in range(draws):
                idx = rng.choice(len(X), B, replace=False)
                model.loss_and_grad(X[idx], y[idx])
                got["mean"].append(global_norm(model.grads))
                got["sum"].append(per_example_sum(model, X[idx], y[idx]))
            for k in got:
                norms[k].append(float(np.mean(got[k])))
        for k in norms:
            factor[k].append(float(2 ** np.polyfit(np.log2(sizes), np.log2(norms[k]), 1)[0]))
        if s == seed:
            shown = norms
    lesson = Sample(factor[reduction])
    other = Sample(factor["sum" if reduction == "mean" else "mean"])
    r = Result()
    r.setups = {"the lesson's": f"the quadrant network (2 → 16 → 4, He) at initialization, ‖∇L‖ with the "
                                f"loss's "
                                f"{reduction} over the batch, batches of {', '.join(map(str, sizes))} drawn "
                                f"from its "
                                f"1,000 points, {draws} batches each, 5 networks, float64",
                "variant: the sum": "the sum of the per-example gradients, computed one example at a time"}
    r.checks = [between("mean-keeps", "doubling the batch leaves the gradient's size about the same (×0.8 to "
                        "×1.25 per doubling)", lesson, 0.8, 1.25, f"×{lesson.mean:.3f} per doubling"),
                between("sum-doubles", "with the sum it about doubles (×1.6 to ×2.5)", other, 1.6, 2.5,
                        f"×{other.mean:.3f} per doubling", variant="the sum")]
    r.measurements = {f"factor_per_doubling[{reduction}]": lesson.values,
                      "factor_per_doubling[other]": other.values}
    r.found = (f"Per doubling of the batch the gradient's norm is multiplied by {lesson.mean:.2f} with the "
               f"{reduction} and by {other.mean:.2f} with the {'sum' if reduction == 'mean' else 'mean'}.")
    r.why = ("The mean of B per-example gradients estimates the same full gradient at every B (its "
             "noise shrinks, so the norm falls slightly toward the full-batch norm); the sum is B times "
             "the mean, so with a sum the learning rate would have to shrink as the batch grows.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.loglog(sizes, shown["mean"], "o-", color=COLORS["relu"], label="mean over the batch (handgrad)")
        ax.loglog(sizes, shown["sum"], "s-", color=COLORS["sigmoid"], label="sum of per-example gradients")
        ax.set_xticks(sizes, [str(b) for b in sizes])
        ax.set(xlabel="batch size", ylabel="‖∇L‖", title=f"Gradient size against batch size (seed {seed})")
        ax.legend()
        return fig

    r.plots["batch"] = draw
    return r


# --- initialization ---------------------------------------------------------------------------------

@experiment(
    "unit-variance-init-shallow", "A two-layer net trains even from unit-variance weights",
    claim="The quadrant MLP is shallow enough that He's factor 2 is not needed: at a depth of two "
          "it still trains under Glorot's init, or even under unit-variance init.",
    lesson=LESSON, section="Initialization", seconds=(1, 2),
    related=("normal-init-blobs", "init-variance-factor", "quadrant-95"),
    fails_with={"glorot": dict(steps=20), "unit-variance": dict(steps=20)})
def unit_variance_init_shallow(quick: bool = False, seed: int = 0, steps: int = 500) -> Result:
    """The lesson's quadrant task under He, Glorot (N(0, 2/(n_in + n_out))) and N(0, 1) weights:
    accuracy on the 1,000 points after ``steps`` steps; then an 8-hidden-layer variant."""
    seeds = seeds_for(quick, seed)
    acc = {init: Sample([quadrant_run(s, init=init, steps=steps).acc_at(steps) for s in seeds])
           for init in ("he", "glorot", "normal")}
    deep_seeds = seeds[:5]
    deep = {init: Sample([quadrant_run(s, init=init, hidden=(16,) * 8).acc_at(500) for s in deep_seeds])
            for init in ("he", "normal")}
    r = Result()
    r.setups = {"the lesson's": QUAD_SETUP.replace("He init", "He, Glorot or N(0, 1) init").replace(
                    "500 steps", f"{steps} steps") + f"; {len(seeds)} seeds",
                "variant: 8 hidden layers": "2 → 16 × 8 → 4, 500 steps, 5 seeds"}
    r.checks = [at_least("glorot", "under Glorot's init it trains: accuracy ≥ 95 %", acc["glorot"], 0.95,
                         pct(acc["glorot"].mean)),
                at_least("unit-variance", "under N(0, 1) weights it trains: accuracy ≥ 95 %", acc["normal"],
                         0.95,
                         pct(acc["normal"].mean)),
                at_least("unit-variance", "with 8 hidden layers, under N(0, 1)", deep["normal"], 0.95,
                         pct(deep["normal"].mean), variant="8 hidden layers")]
    r.measurements = {f"accuracy[{k}]": v.values for k, v in acc.items()}
    r.measurements.update({f"accuracy[8 layers, {k}]": v.values for k, v in deep.items()})
    r.found = (f"After {steps} steps the quadrant network reaches {pct(acc['he'].mean)} from He's init, "
               f"{pct(acc['glorot'].mean)} from Glorot's and {pct(acc['normal'].mean)} from N(0, 1); with 8 "
               f"hidden layers N(0, 1) gives {pct(deep['normal'].mean)} (He {pct(deep['he'].mean)}).")
    r.why = ("With 2 inputs and 16 units, N(0, 1) weights are only 1 and 2.8 times He's scale: the "
             "signal grows a little through two layers and nothing saturates. Stack eight layers and "
             "the factor compounds (2.8 per layer), so the logits explode and training breaks.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(8, 4))
        groups = {"He": acc["he"].values, "Glorot": acc["glorot"].values, "N(0, 1)": acc["normal"].values,
                  "8 layers, He": deep["he"].values, "8 layers, N(0, 1)": deep["normal"].values}
        dot_strip(ax, {k: [100 * v for v in vals] for k, vals in groups.items()},
                  [COLORS["relu"], COLORS["tanh"], COLORS["sigmoid"], COLORS["linear"], "#8c564b"],
                  f"accuracy after {steps} steps (%)", said=95, said_label="95 %")
        ax.set_ylim(0, 105)
        ax.set_title("The quadrant task from three inits; two layers against eight")
        return fig

    r.plots["inits"] = draw
    return r


# --- optimizers -------------------------------------------------------------------------------------

@experiment(
    "sgd-momentum-adam", "Adam reaches a lower training loss faster",
    claim="On the quadrant task Adam reaches a lower training loss faster than SGD and SGD with "
          "momentum (the lesson's widget: the same MLP, the same data, 1,500 steps).",
    lesson=LESSON, section="Training curves: SGD, momentum and Adam", seconds=(3, 6),
    related=("lr-range-adam", "adam-bias-correction", "elongated-bowl"),
    fails_with={"adam-faster": dict(adam_lr=1e-5), "adam-faster-momentum": dict(adam_lr=1e-5)})
def sgd_momentum_adam(quick: bool = False, seed: int = 0, adam_lr: float = 1e-3, steps: int = 1500) -> Result:
    """The quadrant task for 1,500 steps with SGD (lr 0.1), SGD with momentum 0.9 (lr 0.1) and
    Adam at the lesson's default 1e-3; 'faster' compares the mean loss over the run on all
    1,000 points (lower is faster), seed by seed. Adam at 1e-2 is a variant."""
    seeds = seeds_for(quick, seed)

    def area(**kw: Any) -> list[float]:
        return [float(np.mean(quadrant_run(s, steps=steps, **kw).eval_loss)) for s in seeds]

    sgd, mom = area(), area(momentum=0.9)
    adam, adam_fast = area(optimizer="adam", lr=adam_lr), area(optimizer="adam", lr=1e-2)
    vs_sgd = Sample([a / b for a, b in zip(adam, sgd)], log=True)
    vs_mom = Sample([a / b for a, b in zip(adam, mom)], log=True)
    fast_sgd = Sample([a / b for a, b in zip(adam_fast, sgd)], log=True)
    fast_mom = Sample([a / b for a, b in zip(adam_fast, mom)], log=True)
    r = Result()
    rates = (f"{steps:,} steps; SGD lr 0.1, momentum 0.9 at lr 0.1, Adam at {num(adam_lr)} "
             "(the lesson's default)")
    r.setups = {"the lesson's": QUAD_SETUP.replace("500 steps, SGD lr 0.1 (the lesson gives no rate)", rates)
                                + f"; {len(seeds)} seeds",
                "variant: Adam 1e-2": "Adam at 1e-2"}
    r.checks = [at_most("adam-faster",
                        f"Adam ({num(adam_lr)}) trains faster than SGD: its mean loss over the run is "
                        "at least 10 % lower", vs_sgd, 0.9, f"{fmt(vs_sgd.mean)}× SGD's", log=True),
                at_most("adam-faster-momentum", "… and than momentum", vs_mom, 0.9,
                        f"{fmt(vs_mom.mean)}× momentum's",
                        log=True),
                at_most("adam-faster", "Adam at 1e-2 against SGD", fast_sgd, 0.9, f"{fmt(fast_sgd.mean)}×",
                        log=True, variant="Adam 1e-2"),
                at_most("adam-faster-momentum", "Adam at 1e-2 against momentum", fast_mom, 0.9,
                        f"{fmt(fast_mom.mean)}×", log=True, variant="Adam 1e-2")]
    r.measurements = {"mean_loss[sgd]": sgd, "mean_loss[momentum]": mom,
                      f"mean_loss[adam {num(adam_lr)}]": adam,
                      "mean_loss[adam 1e-2]": adam_fast}
    r.found = (f"Over {steps:,} steps Adam at {num(adam_lr)} averages {fmt(vs_sgd.mean)}× SGD's loss and "
               f"{fmt(vs_mom.mean)}× momentum's; Adam at 1e-2 averages {fmt(fast_sgd.mean)}× and "
               f"{fmt(fast_mom.mean)}×.")
    r.why = ("Which optimizer is fastest depends on its rate as much as on its rule: Adam moves every "
             "weight by about lr per step, so at 1e-3 it crawls where SGD at 0.1 and momentum (whose "
             "velocity makes 0.1 act like 1) stride; at 1e-2 Adam is the fastest.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(8, 4.2))
        lines: tuple[tuple[dict[str, Any], str, str], ...]
        lines = ((dict(), COLORS["sgd"], "SGD 0.1"),
                 (dict(momentum=0.9), COLORS["momentum"], "momentum 0.9, lr 0.1"),
                 (dict(optimizer="adam", lr=adam_lr), COLORS["adam"], f"Adam {num(adam_lr)}"),
                 (dict(optimizer="adam", lr=1e-2), "#f4a582", "Adam 1e-2"))
        for kw, c, name in lines:
            runs = [quadrant_run(s, steps=steps, **kw) for s in seeds]
            seed_band(ax, np.array(runs[0].eval_steps), np.array([w.eval_loss for w in runs]), c, name,
                      log=True)
        ax.set(xscale="log", yscale="log", xlabel="step", ylabel="loss on all 1,000 points",
               title=f"The quadrant task, {len(seeds)} seeds (band: range)")
        ax.legend(loc="lower left")
        return fig

    r.plots["optimizers"] = draw
    return r


class Probe:
    """A model with one parameter vector and a gradient set by a rule: the smallest thing
    ``handgrad.train.train`` can drive, to look at an optimizer alone. ``grad(theta)`` gives the
    gradient, ``value(theta)`` the loss."""

    def __init__(self, theta: np.ndarray, grad: Any, value: Any) -> None:
        self.params = {"theta": np.array(theta, dtype=np.float64)}
        self.grads = {"theta": np.zeros_like(self.params["theta"])}
        self.grad_fn, self.value_fn = grad, value
        self.rng = np.random.default_rng(0)
        self.path = [self.params["theta"].copy()]

    def check_X(self, X: Any) -> np.ndarray:
        return np.asarray(X, dtype=np.float64)

    def check_y(self, y: Any, n: int | None = None) -> np.ndarray:
        return np.asarray(y)

    def loss_and_grad(self, X: np.ndarray, y: np.ndarray) -> float:
        theta = self.params["theta"]
        if len(self.path) == 0 or not np.array_equal(self.path[-1], theta):
            self.path.append(theta.copy())
        self.grads["theta"][...] = self.grad_fn(theta)
        return float(self.value_fn(theta))

    def evaluate(self, X: Any, y: Any) -> dict[str, float]:
        return {"loss": float(self.value_fn(self.params["theta"]))}

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"theta": self.params["theta"].copy()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.params["theta"][...] = state["theta"]


def drive(probe: Probe, optimizer: Any, steps: int) -> Probe:
    """``steps`` updates of ``probe`` by ``optimizer``, through handgrad's training loop."""
    fit(probe, np.zeros((1, 1)), np.zeros(1), batch_size=None, steps=steps, optimizer=optimizer)
    probe.path.append(probe.params["theta"].copy())
    return probe


@experiment(
    "momentum-memory", "Momentum 0.9 remembers a gradient for about ten steps",
    claim="With momentum μ = 0.9 each gradient contributes to roughly ten steps of velocity.",
    lesson=LESSON, section="Momentum", seconds=(0.2, 0.2), related=("sgd-momentum-adam", "elongated-bowl"),
    fails_with={"ten-steps": dict(momentum=0.5), "total": dict(momentum=0.5)})
def momentum_memory(quick: bool = False, seed: int = 0, momentum: float = 0.9, lr: float = 0.1) -> Result:
    """One gradient of 1, then zeros, fed to handgrad's SGD with momentum: how far the parameter
    travels in all, and for how many steps the velocity keeps more than 1/e of the first."""
    grads = iter([1.0] + [0.0] * 199)
    probe = drive(Probe(np.zeros(1), lambda th: np.array([next(grads)]), lambda th: 0.0),
                  SGD(lr, momentum=momentum), 200)
    moves = -np.diff(np.array(probe.path)[:, 0]) / lr                   # each step's velocity
    total = float(moves.sum())
    lasting = int(np.sum(moves > moves[0] / math.e))
    r = Result()
    r.setups = {"the lesson's": f"handgrad's SGD, momentum {momentum:g}, lr {lr:g}: one gradient of 1, then "
                                f"199 "
                                "zeros, driven by handgrad's loop"}
    r.checks = [between("ten-steps",
                        "the gradient contributes to roughly ten steps (its velocity stays above "
                        "1/e of the first for 8 to 12 steps)", lasting, 8, 12, f"{lasting} steps"),
                near("total",
                     "in all it moves the parameter ten plain steps' worth, 1/(1 − 0.9) (within 1 %)",
                     total, 10.0, 0.01, f"{total:.4f} steps' worth")]
    r.measurements = {"steps_above_1_over_e": lasting, "total_in_steps": total,
                      "velocity": moves[:30].tolist()}
    r.found = (f"The velocity stays above 1/e of its first value for {lasting} steps, and the one gradient "
               f"moves "
               f"the parameter {total:.3f} times a plain step in all.")
    r.why = (f"v ← μv + g leaves the gradient in v with weight μᵏ after k steps: 0.9¹⁰ = {0.9 ** 10:.3f} < "
             f"1/e, "
             "and the weights sum to 1/(1 − μ) = 10.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(7, 3.6))
        ax.bar(np.arange(1, 31), moves[:30], color=COLORS["momentum"])
        threshold_line(ax, moves[0] / math.e, "1/e of the first")
        ax.set(xlabel="step after the gradient", ylabel="velocity (steps' worth)",
               title=f"One gradient's echo with momentum {momentum:g}")
        return fig

    r.plots["echo"] = draw
    return r


class LessonAdam(Adam):
    """Adam with each bias correction switchable, to see what the corrections do:

        m ← β1 m + (1 − β1) g,   v ← β2 v + (1 − β2) g²
        m̂ = m / (1 − β1ᵗ) if correct_m else m,   v̂ = v / (1 − β2ᵗ) if correct_v else v
        θ ← θ − lr · m̂ / (√v̂ + ε)
    """

    def __init__(self, lr: float = 1e-3, correct_m: bool = True, correct_v: bool = True) -> None:
        super().__init__(lr)
        self.correct_m, self.correct_v = correct_m, correct_v

    def adam_step(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        b1, b2 = self.betas
        m = self.slot(name, "m", p)
        v = self.slot(name, "v", p)
        m *= b1
        m += (1 - b1) * g                                                # first moment
        v *= b2
        v += (1 - b2) * g * g                                            # second moment
        m_hat = m / (1 - b1 ** self.t) if self.correct_m else m
        v_hat = v / (1 - b2 ** self.t) if self.correct_v else v
        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def update_sizes(optimizer: Optimizer, seed: int, steps: int, lr: float) -> list[float]:
    """The median |Δθ| / lr of each of the first ``steps`` steps on the quadrant task."""
    X, y = lesson_quadrants(seed)
    model = MLP([2, 16, 4], seed=seed, dtype=np.float64)
    before = [np.concatenate([p.ravel() for p in model.params.values()])]
    sizes: list[float] = []

    def after(t: int, m: Any) -> None:
        now = np.concatenate([p.ravel() for p in m.params.values()])
        sizes.append(float(np.median(np.abs(now - before[0]))) / lr)
        before[0] = now

    fit(model, X, y, batch_size=64, steps=steps, optimizer=optimizer, on_step=after)
    return sizes


@experiment(
    "adam-bias-correction", "Adam's bias correction and the first steps",
    claim="With β1 = 0.9 the uncorrected first moment m₁ = 0.1·g₁ understates the gradient ten times; "
          "bias correction restores the scale, and without the corrections the first ~100 steps run "
          "at an effectively much smaller learning rate.",
    lesson=LESSON, section="Adam", seconds=(1, 1),
    related=("adam-correction-fades", "lr-range-adam", "sgd-momentum-adam"),
    fails_with={"m1": dict(beta1=0.5), "restored": dict(correct=False), "smaller-without": dict(beta1=0.5)})
def adam_bias_correction(quick: bool = False, seed: int = 0, lr: float = 1e-3, beta1: float = 0.9,
                         correct: bool = True) -> Result:
    """The quadrant network, Adam lr 1e-3 from the same weights on the same batches: the median
    size of each update relative to lr for the first 100 steps, with both corrections, with
    none, and with only v's; m₁ / g₁ read off the optimizer's state after one step."""
    seeds = list(range(seed, seed + 5))
    g1 = np.array([0.5, -2.0, 1e-3])
    m1 = Adam(lr, betas=(beta1, 0.999))
    drive(Probe(np.ones(3), lambda th: g1.copy(), lambda th: 0.0), m1, 1)
    ratio_m1 = float(np.max(np.abs(m1.state["theta"]["m"] / g1)))          # m₁ / g₁ from its own state
    kinds = {"both corrected": (correct, correct), "none (MLX's default)": (False, False),
             "only v corrected": (False, True)}
    sizes = {k: [update_sizes(LessonAdam(lr, cm, cv), s, 100, lr) for s in seeds]
             for k, (cm, cv) in kinds.items()}
    first = {k: Sample([v[0] for v in vals]) for k, vals in sizes.items()}
    early = {k: Sample([float(np.mean(v)) for v in vals], log=True) for k, vals in sizes.items()}
    none_vs = Sample([np.mean(a) / np.mean(b) for a, b in zip(sizes["none (MLX's default)"],
                                                             sizes["both corrected"])], log=True)
    m_only = Sample([np.mean(a) / np.mean(b) for a, b in zip(sizes["only v corrected"],
                                                            sizes["both corrected"])], log=True)
    r = Result()
    r.setups = {"the lesson's": "the quadrant network (2 → 16 → 4, He, float64), Adam lr 1e-3, β = (0.9, "
                                "0.999), "
                                "batch 64, the same weights and batches for each kind of correction; 5 seeds",
                "variant: only m uncorrected": "v corrected, m not: the correction the lesson describes"}
    r.checks = [near("m1", "m₁ = (1 − β1)·g₁ = 0.1·g₁", ratio_m1, 0.1, 0.01, f"m₁ / g₁ = {ratio_m1:.6f}"),
                near("restored",
                     "with the corrections the first update is about lr per coordinate (within 10 %)",
                     first["both corrected"], 1.0, 0.10, f"{first['both corrected'].mean:.3f} × lr"),
                at_most("smaller-without",
                        "without the corrections the first 100 steps run at a much smaller "
                        "effective rate (under half)", none_vs, 0.5,
                        f"{fmt(none_vs.mean)}× the corrected steps",
                        log=True, says="much smaller"),
                at_most("smaller-without", "with only m uncorrected", m_only, 0.5, f"{fmt(m_only.mean)}×",
                        log=True, variant="only m uncorrected")]
    r.measurements = {"m1_over_g1": ratio_m1, **{f"first_update_over_lr[{k}]": v.values for k,
                                                 v in first.items()},
                      **{f"mean_update_over_lr_100_steps[{k}]": v.values for k, v in early.items()}}
    r.found = (f"m₁ is exactly {ratio_m1:.3f}·g₁ and the corrected first update is "
               f"{first['both corrected'].mean:.2f} lr; "
               f"but with no correction at all the first 100 steps are {fmt(none_vs.mean)}× larger, not "
               f"smaller — "
               f"only when m alone is uncorrected are they smaller ({fmt(m_only.mean)}×).")
    r.why = ("v is biased too, by (1 − β2) = 0.001 at step 1, and it sits under a square root: the "
             "uncorrected update is (1 − β1)/√(1 − β2) = 0.1/0.032 ≈ 3.2 times lr at step 1, and "
             "√(1 − β2ᵗ) stays small for hundreds of steps, so dropping both corrections makes the "
             "early steps larger. The lesson's picture holds for m alone.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(8, 4))
        colors = {"both corrected": COLORS["adam"], "none (MLX's default)": COLORS["momentum"],
                  "only v corrected": COLORS["sgd"]}
        for k, vals in sizes.items():
            seed_band(ax, np.arange(1, 101), np.array(vals), colors[k], k, log=True)
        threshold_line(ax, 1.0, "lr")
        ax.set(xscale="log", yscale="log", xlabel="step", ylabel="median |Δθ| / lr",
               title="Adam's first 100 updates, with and without bias correction (5 seeds)")
        ax.legend(loc="lower right")
        return fig

    r.plots["corrections"] = draw
    return r


@experiment(
    "adam-correction-fades", "When does Adam's bias correction drop out?",
    claim="After a few hundred steps 1 − β1ᵗ ≈ 1 and the bias correction drops out; the correctness "
          "of the early steps is its whole point.",
    lesson=LESSON, section="Adam", seconds=(1, 1), related=("adam-bias-correction",),
    fails_with={"fades": dict(at=100), "m-fades": dict(at=10)})
def adam_correction_fades(quick: bool = False, seed: int = 0, at: int = 300, lr: float = 1e-3,
                          steps: int = 3000) -> Result:
    """Adam on the quadrant network for ``steps`` steps; after each step, from the optimizer's own
    m and v, the ratio of the uncorrected update to the corrected one (1 when the correction has
    dropped out)."""
    X, y = lesson_quadrants(seed)
    model = MLP([2, 16, 4], seed=seed, dtype=np.float64)
    opt = Adam(lr)
    ratios: list[float] = []
    b1, b2 = opt.betas

    def after(t: int, m: Any) -> None:
        st = opt.state["layers.0.weight"]
        mm, vv = st["m"], st["v"]
        corrected = (mm / (1 - b1 ** t)) / (np.sqrt(vv / (1 - b2 ** t)) + opt.eps)
        plain = mm / (np.sqrt(vv) + opt.eps)
        ratios.append(float(np.median(np.abs(plain) / np.abs(corrected))))

    fit(model, X, y, batch_size=64, steps=steps, optimizer=opt, on_step=after)
    ratio = ratios[at - 1]
    within = next((t + 1 for t, v in enumerate(ratios) if abs(v - 1) <= 0.1), None)
    m_corr = 1 - b1 ** at
    r = Result()
    r.setups = {"the lesson's": f"the quadrant network (2 → 16 → 4, float64), Adam lr {num(lr)}, β = (0.9, "
                                f"0.999), "
                                f"batch 64, {steps:,} steps; the ratio read off the optimizer's state"}
    r.checks = [near("m-fades", f"1 − β1ᵗ ≈ 1 at step {at}", m_corr, 1.0, 1e-3,
                     f"1 − 0.9^{at} = {m_corr:.6f}"),
                near("fades",
                     f"the correction has dropped out by step {at}: uncorrected and corrected updates "
                     "agree within 10 %", ratio, 1.0, 0.10,
                     f"the uncorrected update is {ratio:.3f}× the corrected; "
                     f"within 10 % from step {fmt(within)}", says="a few hundred steps")]
    r.measurements = {f"ratio_at_step_{at}": ratio, "first_step_within_10pct": within,
                      "ratio_every_100_steps": ratios[::100]}
    r.found = (f"At step {at} the first moment's correction is gone (1 − 0.9^{at} = {m_corr:.4f}), but the "
               f"update without corrections is still {ratio:.2f}× the corrected one; they agree within 10 % "
               f"only "
               f"from step {fmt(within)}.")
    r.why = ("The second moment's factor is √(1 − 0.999ᵗ), which is 0.51 at step 300 and reaches 0.9 "
             "only after about 1,660 steps: β2 = 0.999 remembers a thousand steps, so its bias fades "
             "ten times more slowly than β1's.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(8, 4))
        t = np.arange(1, steps + 1)
        ax.semilogx(t, ratios, color=COLORS["adam"], lw=2, label="uncorrected / corrected update (measured)")
        ax.semilogx(t, 1 - b1 ** t, ":", color=COLORS["sgd"], label="1 − β1ᵗ")
        ax.semilogx(t, np.sqrt(1 - b2 ** t), "--", color=COLORS["momentum"], label="√(1 − β2ᵗ)")
        ax.axvline(at, color=COLORS["said"], lw=1)
        ax.text(at, 0.05, f" step {at}", color=COLORS["said"], fontsize=8)
        ax.axhspan(0.9, 1.1, color=COLORS["nesterov"], alpha=0.1)
        ax.set(xlabel="step", ylabel="factor", ylim=(0, 3.4), title="How long Adam's bias correction matters")
        ax.legend(loc="upper left")
        return fig

    r.plots["fades"] = draw
    return r


@experiment(
    "adamw-decoupled", "AdamW decays every weight alike; Adam + L2 does not",
    claim="In Adam, L2 weight decay added to the gradient is distorted by the per-parameter scaling: "
          "parameters with large gradients get less effective decay than those with small ones; "
          "AdamW applies θ ← θ − lr·λ·θ separately, alike for all.",
    lesson=LESSON, section="AdamW", seconds=(0.5, 0.5), related=("adam-bias-correction",),
    fails_with={"l2-uneven": dict(noise=(0.01, 0.01)), "adamw-even": dict(adamw=False)})
def adamw_decoupled(quick: bool = False, seed: int = 0, noise: tuple[float, float] = (10.0, 0.01),
                    lam: float = 0.1, lr: float = 1e-3, steps: int = 1000, adamw: bool = True) -> Result:
    """Two groups of 500 parameters, all starting at 1, whose gradients are pure noise of two
    sizes (±10 and ±0.01, zero on average, as at a minimum); the effective decay of a group is
    how much lower its mean ends with λ than without. Adam + L2 against AdamW (``adamw=False``
    runs Adam + L2 in AdamW's place)."""
    n = 500
    size = np.repeat(np.array(noise, dtype=np.float64), n)                 # (2n,)

    def final(opt: Optimizer) -> np.ndarray:
        rng = np.random.default_rng(seed)
        probe = Probe(np.ones(2 * n), lambda th: size * rng.choice([-1.0, 1.0], 2 * n), lambda th: 0.0)
        theta = drive(probe, opt, steps).params["theta"]
        return np.array([theta[:n].mean(), theta[n:].mean()])

    base = final(Adam(lr))
    l2 = 1 - final(Adam(lr, weight_decay=lam)) / base
    decoupled = 1 - final((AdamW if adamw else Adam)(lr, weight_decay=lam)) / base
    expected = 1 - (1 - lr * lam) ** steps
    r = Result()
    r.setups = {"the lesson's": f"two groups of {n} parameters from 1 with zero-mean gradient noise of size "
                                f"{noise[0]:g} and {noise[1]:g}, λ = {lam:g}, lr {num(lr)}, {steps:,} "
                                f"steps, driven by "
                                "handgrad's loop; the effective decay is how much lower a group's mean ends "
                                "than "
                                "with λ = 0"}
    r.checks = [at_most("l2-uneven",
                        "Adam + L2: the group with large gradients gets much less decay (under a "
                        "tenth of the other's)", l2[0] / l2[1], 0.1,
                        f"{pct(l2[0], 2)} against {pct(l2[1], 2)}", log=True),
                near("adamw-even", f"AdamW: both groups lose the same share, 1 − (1 − lr·λ)^{steps} = "
                     f"{pct(expected, 2)} (within 10 %)", decoupled[0] / decoupled[1], 1.0, 0.10,
                     f"{pct(decoupled[0], 2)} against {pct(decoupled[1], 2)}")]
    r.measurements = {"decay[adam+l2]": l2.tolist(), "decay[adamw]": decoupled.tolist(),
                      "predicted[adamw]": expected}
    r.found = (f"With Adam + L2 the noisy group (±{noise[0]:g}) loses {pct(l2[0], 2)} to the decay and the "
               f"quiet one "
               f"(±{noise[1]:g}) {pct(l2[1], 1)}; with AdamW both lose {pct(decoupled[0], 2)}.")
    r.why = ("Adam divides the whole gradient, λθ included, by √v̂, the size of the gradient's noise: a "
             "parameter with large gradients has its decay divided by a large number, one with tiny "
             "gradients has it blown up to a full lr-sized step. AdamW shrinks θ by lr·λ·θ outside that "
             "division, so every weight shrinks at the same rate.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(6.5, 3.8))
        x = np.arange(2)
        ax.bar(x - 0.2, 100 * l2, 0.38, color=COLORS["adam"], label="Adam + L2")
        ax.bar(x + 0.2, 100 * decoupled, 0.38, color=COLORS["adamw"], label="AdamW")
        ax.set_yscale("log")
        ax.set_xticks(x, [f"gradients ±{noise[0]:g}", f"gradients ±{noise[1]:g}"])
        ax.set(ylabel="lost to the decay (%)", title=f"The same λ = {lam:g}, {steps:,} steps")
        ax.legend()
        return fig

    r.plots["decay"] = draw
    return r


@experiment(
    "adam-normalizes-steps", "SGD and Adam on x² + 10y²",
    claim="On the elongated quadratic f(x, y) = x² + 10y², plain SGD takes large x-steps and small "
          "y-steps; Adam normalizes them.",
    lesson=LESSON, section="Better optimizers: Adam on an elongated quadratic", seconds=(0.3, 0.3),
    related=("elongated-bowl", "adamw-decoupled"),
    fails_with={"adam-equal": dict(adam_eps=10.0), "sgd-x-large": dict(adam_eps=10.0)})
def adam_normalizes_steps(quick: bool = False, seed: int = 0, start: tuple[float, float] = (1.0, 1.0),
                          lr: float = 0.01, adam_eps: float = 1e-8, steps: int = 20) -> Result:
    """SGD and Adam (both lr 0.01) from ``start`` on x² + 10y², driven by handgrad's loop: the
    sizes of their x- and y-steps over the first 20 steps."""
    def grad(th: np.ndarray) -> np.ndarray:
        return np.array([2 * th[0], 20 * th[1]])

    def value(th: np.ndarray) -> float:
        return float(th[0] ** 2 + 10 * th[1] ** 2)

    paths = {name: np.array(drive(Probe(np.array(start), grad, value), opt, steps).path)
             for name, opt in (("SGD", SGD(lr)), ("Adam", Adam(lr, eps=adam_eps)))}
    step = {k: np.abs(np.diff(p, axis=0)) for k, p in paths.items()}        # (steps, 2)
    ratio = {k: float(s[:, 0].sum() / s[:, 1].sum()) for k, s in step.items()}
    r = Result()
    r.setups = {"the lesson's": f"f = x² + 10y² from {start}, SGD and Adam at lr {num(lr)}, {steps} steps "
                                f"through "
                                "handgrad's loop (the lesson gives no start or rate)"}
    r.checks = [at_least("sgd-x-large", "SGD's x-steps are larger than its y-steps", ratio["SGD"], 1.0,
                         f"Σ|Δx| / Σ|Δy| = {ratio['SGD']:.3f} over the {steps} steps", log=True,
                         says="large x-steps, small y-steps"),
                near("adam-equal", "Adam's x- and y-steps are about equal (within 10 %)", ratio["Adam"], 1.0,
                     0.10,
                     f"Σ|Δx| / Σ|Δy| = {ratio['Adam']:.3f}")]
    r.measurements = {"x_over_y_step[SGD]": ratio["SGD"], "x_over_y_step[Adam]": ratio["Adam"]}
    r.found = (f"Over the first {steps} steps SGD travels {1 / ratio['SGD']:.1f}× as far along y as along x "
               f"— large "
               f"y-steps, small x-steps, the reverse of what the lesson says; Adam's two are within "
               f"{100 * abs(ratio['Adam'] - 1):.1f} % of each other.")
    r.why = ("SGD steps along the gradient (2x, 20y): from a point where |y| is not tiny the y-component "
             "is the larger — the steep direction gets the big steps, which is why SGD zig-zags across "
             "the valley and crawls along it. Adam divides each coordinate by its own gradient size, "
             "so both move by about lr.")

    def draw(plt: Any) -> Any:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.2))
        gx, gy = np.meshgrid(np.linspace(-0.2, 1.1, 200), np.linspace(-0.4, 1.1, 200))
        a1.contour(gx, gy, gx ** 2 + 10 * gy ** 2, levels=np.geomspace(0.01, 12, 14), colors="0.8",
                   linewidths=0.6)
        for k, c in (("SGD", COLORS["sgd"]), ("Adam", COLORS["adam"])):
            a1.plot(paths[k][:, 0], paths[k][:, 1], "o-", ms=3, color=c, label=k)
        a1.set(xlabel="x", ylabel="y", title=f"The first {steps} steps from {start}")
        a1.set_aspect("equal")
        a1.legend()
        for k, c in (("SGD", COLORS["sgd"]), ("Adam", COLORS["adam"])):
            a2.semilogy(np.arange(1, steps + 1), step[k][:, 0], "-", color=c, label=f"{k}: |Δx|")
            a2.semilogy(np.arange(1, steps + 1), step[k][:, 1], "--", color=c, label=f"{k}: |Δy|")
        a2.set(xlabel="step", ylabel="size of the step", title="Step sizes along x and y")
        a2.legend(ncol=2, fontsize=8)
        return fig

    r.plots["steps"] = draw
    return r


# --- autograd ---------------------------------------------------------------------------------------

@experiment(
    "autograd-three-ways", "Autograd is the chain rule, walked backwards",
    claim="A tiny autograd engine — values that remember their parents and a backward pass in "
          "reverse topological order — computes the same gradients as the chain rule worked by hand.",
    lesson=LESSON, section="Autograd: the computational graph", seconds=(1, 1),
    related=("ce-gradient", "three-backends", "backprop-2x"),
    fails_with={"widget": dict(eps=5.0), "mlp": dict(nudge=1e-3)})
def autograd_three_ways(quick: bool = False, seed: int = 0, eps: float = 1e-6, nudge: float = 0.0) -> Result:
    """The lesson's widget graph (a = 2, b = −3, c = 10; d = a·b, e = d + c, L = relu(e)) in
    handgrad's scalar Value engine, against central finite differences; then one batch of a
    4 → 8 → 8 → 3 network: the hand-derived backward of handgrad.MLP, the Value engine and the
    Tensor engine, float64 (``nudge`` perturbs the Tensor engine's weights)."""
    a, b, c = engine.Value(2.0), engine.Value(-3.0), engine.Value(10.0)
    d = a * b
    e = d + c
    L = e.relu()
    L.backward()
    got = np.array([a.grad, b.grad, c.grad])

    def f(x: np.ndarray) -> float:
        L: float = max(0.0, x[0] * x[1] + x[2])
        return L

    x0 = np.array([2.0, -3.0, 10.0])
    numeric = np.array([(f(x0 + eps * e) - f(x0 - eps * e)) / (2 * eps) for e in np.eye(3)])
    widget = float(np.max(np.abs(got - numeric)))

    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((16, 4)), rng.integers(0, 3, 16)
    sizes = [4, 8, 8, 3]
    hand = MLP(sizes, ["tanh", "relu", "softmax"], seed=seed, dtype=np.float64)
    hand.loss_and_grad(X, y)
    state = hand.state_dict()
    values = engine.MLP(sizes, ["tanh", "relu", "identity"]).load_state_dict(state)
    values.loss(X, y).backward()
    tensors = autograd.MLP(sizes, ["tanh", "relu", "identity"], dtype=np.float64).load_state_dict(
        {k: v * (1 + nudge) for k, v in state.items()})
    autograd.cross_entropy(tensors(X), y).backward()
    grads: dict[str, dict[str, Any]] = {"Value engine": values.grad_dict(),
                                        "Tensor engine": tensors.grad_dict()}

    def relative(a: Any, b: np.ndarray) -> float:
        return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))

    diff = {k: max(relative(g[n], hand.grads[n]) for n in hand.grads) for k, g in grads.items()}
    r = Result()
    r.setups = {"the lesson's": "the lesson's widget graph in handgrad's Value engine (a = 2, b = −3, c = "
                                "10); "
                                f"central differences with ε = {eps:g}",
                "the network": "one batch of 16 through 4 → 8 → 8 → 3 (tanh, ReLU), float64: handgrad.MLP's "
                               "hand-derived backward, the Value engine and the Tensor engine from the same "
                               "weights"}
    r.checks = [at_most("widget",
                        "the engine's dL/da, dL/db, dL/dc equal the chain rule's (finite differences "
                        "within 1e-6)", widget, 1e-6,
                        f"({', '.join(f'{v:g}' for v in got)}); largest difference "
                        f"{fmt(widget)}", log=True),
                at_most("mlp", "on the network, both engines give the hand-derived gradients (within 1e-12, "
                        "relative)", max(diff.values()), 1e-12,
                        "; ".join(f"{k}: {fmt(v)}" for k, v in diff.items()), log=True)]
    r.measurements = {"widget_gradients": got.tolist(), "widget_difference": widget,
                      **{f"max_relative_difference[{k}]": v for k, v in diff.items()}}
    r.found = (f"On the widget the Value engine gives dL/da = {got[0]:g}, dL/db = {got[1]:g}, dL/dc = "
               f"{got[2]:g}, as the "
               f"chain rule does; on the network both engines match the hand-derived gradients to "
               f"{fmt(max(diff.values()))}.")
    r.why = ("e = a·b + c = 4 > 0, so relu passes the gradient: dL/dc = 1, dL/da = b = −3, dL/db = a = 2. "
             "An engine that records each operation's parents and local rule, and visits the nodes in "
             "reverse topological order, multiplies exactly these local derivatives.")

    def draw(plt: Any) -> Any:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 3.6), gridspec_kw={"width_ratios": [1.6, 1]})
        place: dict[str, tuple[float, float, Any]] = {
            "a": (0, 2, a), "b": (0, 1, b), "c": (0, 0, c), "d = a·b": (1, 1.5, d), "e = d + c": (2, 1, e),
            "L = relu(e)": (3, 1, L)}
        nodes = {k: (x, y, v.data, v.grad) for k, (x, y, v) in place.items()}
        for (u, v) in (("a", "d = a·b"), ("b", "d = a·b"), ("d = a·b", "e = d + c"), ("c", "e = d + c"),
                       ("e = d + c", "L = relu(e)")):
            (x0, y0, _, _), (x1, y1, _, _) = nodes[u], nodes[v]
            a1.annotate("", (x1 - 0.28, y1), (x0 + 0.28, y0), arrowprops=dict(arrowstyle="->", color="0.5"))
        for name, (x, y, value, grad) in nodes.items():
            a1.text(x, y, f"{name}\n{value:g}   grad {grad:g}", ha="center", va="center", fontsize=9,
                    bbox=dict(boxstyle="round", fc="#eef4fb", ec=COLORS["relu"]))
        a1.set(xlim=(-0.5, 3.5), ylim=(-0.6, 2.6),
               title="The lesson's graph: values and the engine's gradients")
        a1.set_axis_off()
        worst = [max(diff[k], 1e-20) for k in grads]
        a2.bar(list(grads), worst, color=[COLORS["tanh"], COLORS["nesterov"]])
        a2.axhline(1e-12, color=COLORS["threshold"], ls=":", lw=1)
        a2.text(1.45, 1e-12, "1e-12 ", ha="right", va="bottom", fontsize=8)
        a2.set(yscale="log", ylim=(1e-20, 1), ylabel="largest difference from by hand (relative)",
               title="4 → 8 → 8 → 3, every parameter (float64)")
        return fig

    r.plots["engines"] = draw
    return r


@experiment(
    "softmax-stable", "Naive softmax overflows; the stable one does not",
    claim="On z = [1000, 999, 998] the naive softmax np.exp(z) / np.exp(z).sum() gives NaN; the "
          "stable one (subtract the maximum first) gives about [0.665, 0.244, 0.090].",
    lesson=LESSON, section="Exercise 1: softmax's numerical stability", seconds=(0.5, 0.5),
    related=("ce-gradient", "mnist-first-loss"),
    fails_with={"naive-nan": dict(logits=(3.0, 2.0, 1.0)), "stable-values": dict(logits=(3.0, 0.0, 0.0))})
def softmax_stable(quick: bool = False, seed: int = 0,
                   logits: tuple[float, ...] = (1000.0, 999.0, 998.0)) -> Result:
    """Both softmaxes on the lesson's logits, float64; then [c, c − 1, c − 2] swept to find where
    the naive one breaks in float64 and float32."""
    expected = np.array([0.665, 0.244, 0.090])
    z = np.array(logits, dtype=np.float64)
    with np.errstate(all="ignore"):
        e = np.exp(z)
        naive = e / e.sum()
        stable = softmax(z)
        shifts = np.linspace(0, 1000, 2001)
        breaks = {}
        for dt in (np.float64, np.float32):
            ex = [np.exp((c - np.arange(3)).astype(dt)) for c in shifts]          # e^z of [c, c − 1, c − 2]
            bad = [c for c, v in zip(shifts, ex) if not np.isfinite((v / v.sum())[0])]
            breaks[np.dtype(dt).name] = float(bad[0]) if bad else math.nan
    gap = float(np.max(np.abs(stable - expected)))
    nans = int(np.sum(np.isnan(naive)))
    r = Result()
    r.setups = {"the lesson's": f"z = {list(logits)}, float64: np.exp(z)/np.exp(z).sum() against handgrad's "
                                f"softmax "
                                "(the maximum subtracted first)"}
    r.checks = [at_least("naive-nan", "the naive softmax gives NaN", nans, 1,
                         f"[{', '.join(fmt(p) for p in naive)}] "
                         f"({nans} of 3 NaN)"),
                at_most("stable-values", "the stable one gives [0.665, 0.244, 0.090] (to 1e-3)", gap, 1e-3,
                        f"[{', '.join(f'{p:.5f}' for p in stable)}], largest difference {gap:.5f}")]
    r.measurements = {"naive": naive.tolist(), "stable": stable.tolist(), "largest_difference": gap,
                      "naive_breaks_at[float64]": breaks["float64"],
                      "naive_breaks_at[float32]": breaks["float32"]}
    r.found = (f"The naive softmax gives NaN; the stable one gives "
               f"[{', '.join(f'{p:.4f}' for p in stable)}] — the "
               f"lesson's 0.244 is {stable[1]:.5f} truncated (0.245 rounded). The naive one breaks once the "
               f"largest "
               f"logit passes {breaks['float64']:.0f} in float64 and {breaks['float32']:.0f} in float32.")
    r.why = ("e^1000 overflows to inf in float64 (anything above 709.78 does), and inf / inf is NaN. "
             "Subtracting the maximum leaves exponents ≤ 0, so every e^z is in (0, 1], and the ratio "
             "is unchanged: softmax(z) = softmax(z − max z).")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(6.5, 3.8))
        ax.bar(range(3), stable, color=COLORS["relu"])
        for i, (p, ex) in enumerate(zip(stable, expected)):
            ax.text(i, p + 0.02, f"{p:.4f}\n(lesson {ex:.3f})", ha="center", fontsize=9)
        ax.set_xticks(range(3), [f"z = {v:g}" for v in logits])
        ax.set(ylim=(0, 0.85), ylabel="probability",
               title="The stable softmax of the lesson's logits (the naive one: NaN)")
        return fig

    r.plots["softmax"] = draw
    return r
