"""Lesson 1, "An MLP by hand, then in PyTorch and MLX": its claims about training — the learning
rate, what the first steps show, the three backends, overfitting, its exercises and its table
of training-loop bugs. The blob network is the lesson's: 1,024 points from three Gaussian
blobs in 4-D, 4 → 16 → 3, He init, SGD lr 0.05, batch 32, 2,000 steps."""

from __future__ import annotations

import contextlib
import importlib.util
import math
import platform
from typing import Any

import numpy as np

from ..mlp import MLP
from ..optim import SGD, Adam, Optimizer
from ..twins import trainable
from .pictures import COLORS, dot_strip, seed_band, threshold_line
from .registry import experiment
from .result import Result, Skip, at_least, at_most, between, fmt, near, not_here, num, pct, table
from .stats import Sample, Share
from .training import MNIST_NEEDS, Watched, fit, lesson_blobs, memo, mnist, seeds_for

LESSON = "by-hand"
STEPS = 2000
BLOB_SETUP = ("the lesson's blob network: 1,024 points from three Gaussian blobs in 4-D (centres "
              "N(0, 3²)), 4 → 16 → 3 with ReLU, He init, zero biases, SGD lr 0.05, batch 32, 2,000 "
              "steps; loss and accuracy on all 1,024 points")


def zeros(rng: np.random.Generator, d_out: int, d_in: int) -> np.ndarray:
    return np.zeros((d_out, d_in))


INITS: dict[str, Any] = {"he": "he", "normal": "normal", "xavier": "xavier", "zeros": zeros}


@memo
def blob_run(seed: int, lr: float = 0.05, hidden: tuple[int, ...] = (16,), act: str = "relu",
             init: str = "he", optimizer: str = "sgd", steps: int = STEPS) -> Watched:
    """The lesson's blob network trained from ``seed`` (data, init and batches), with one of
    its settings changed; kept for the run, since several claims look at the same runs."""
    X, y = lesson_blobs(seed)
    model = MLP([4, *hidden, 3], [act] * len(hidden) + ["softmax"], init_method=INITS[init], seed=seed)
    opt: Optimizer = SGD(lr) if optimizer == "sgd" else Adam(lr)
    return fit(model, X, y, batch_size=32, steps=steps, optimizer=opt, X_eval=X, y_eval=y,
               every=10, at=(1, 2))


def final_acc(w: Watched) -> float:
    """Accuracy after the last step (for a run that diverged, at the last evaluation before it)."""
    return w.eval_acc[-1]


def curves(runs: list[Watched], what: str = "loss") -> tuple[np.ndarray, np.ndarray]:
    """(steps, one row per run) of the held-out loss or accuracy, NaN after a divergence."""
    steps = np.array(max(runs, key=lambda w: len(w.eval_steps)).eval_steps)
    rows = []
    for w in runs:
        v = np.full(len(steps), np.nan)
        vals = w.eval_loss if what == "loss" else w.eval_acc
        v[: len(vals)] = vals
        rows.append(v)
    return steps, np.array(rows)


# --- the learning rate ---------------------------------------------------------------------------

@experiment(
    "lr-range-sgd", "SGD's default range: η from 0.01 to 0.1",
    claim="The empirical default learning rate for SGD on small MLPs lies in [0.01, 0.1].",
    lesson=LESSON, section="SGD and the learning rate", seconds=(3, 8),
    related=("lr-range-adam", "lr-too-high", "lr-too-low"),
    fails_with={"range": dict(rates=(1e-5,))})
def lr_range_sgd(quick: bool = False, seed: int = 0, rates: tuple[float, ...] = (0.01, 0.1)) -> Result:
    """The blob network at each end of the range against the lesson's own rate 0.05, the same
    seed for data, init and batches: a rate 'works' when it ends within 2 points of 0.05's
    accuracy after the lesson's 2,000 steps. A sweep around the range shows where it sits."""
    seeds = seeds_for(quick, seed)
    ref = {s: final_acc(blob_run(s)) for s in seeds}
    gaps = {lr: Sample([final_acc(blob_run(s, lr=lr)) - ref[s] for s in seeds]) for lr in rates}
    sweep = tuple(sorted({*rates, 0.05})) if quick else (1e-4, 1e-3, 0.01, 0.05, 0.1, 1.0, 5.0)
    sweep_seeds = seeds[:5]
    swept = {lr: [final_acc(blob_run(s, lr=lr)) for s in sweep_seeds] for lr in sweep}
    r = Result()
    r.setups = {"the lesson's": BLOB_SETUP + f"; rates {', '.join(num(x) for x in rates)} against 0.05, "
                                             f"{len(seeds)} seeds",
                "sweep": f"rates {', '.join(num(x) for x in sweep)}, 5 seeds, to place the range"
                         + (" (the full run sweeps 1e-4 to 5)" if quick else "")}
    r.checks = [at_least("range", f"lr {num(lr)} trains the blob network as well as the lesson's 0.05 "
                         "(accuracy at most 2 points lower)", gaps[lr], -0.02,
                         f"{100 * gaps[lr].mean:+.2f} points (sd {100 * gaps[lr].sd:.2f})")
                 for lr in rates]
    r.measurements = {f"accuracy_gap[lr={num(lr)}]": g.values for lr, g in gaps.items()}
    r.measurements.update({f"sweep_accuracy[lr={num(lr)}]": v for lr, v in swept.items()})
    r.tables.append(table(["lr", "final accuracy (mean of 5 seeds)", "worst seed"],
                          [[num(lr), pct(float(np.mean(v))), pct(min(v))] for lr, v in swept.items()],
                          "The sweep"))
    refs = np.array([ref[s] for s in sweep_seeds])
    works = [lr for lr in sweep if min(np.array(swept[lr]) - refs) >= -0.02]
    r.found = (f"At lr {' and '.join(num(x) for x in rates)} the blob network ends "
               + " and ".join(f"{100 * gaps[lr].mean:+.1f}" for lr in rates)
               + f" points from lr 0.05's accuracy; in the sweep, {num(min(works))} to {num(max(works))} "
                 "all do as well.")
    r.why = ("SGD's step is lr × gradient: on this small, well-scaled problem any rate from about 0.01 to "
             "1 takes 2,000 steps far enough without overshooting, and the lesson's range sits inside "
             "that band; at 1e-3 and below the steps are too short for 2,000 of them to arrive.")

    def draw(plt: Any) -> Any:
        fig, axes = plt.subplots(1, 1 if quick else 2, figsize=(6 if quick else 13, 4), squeeze=False)
        dot_strip(axes[0][0], {f"lr {num(lr)}": [100 * v for v in g.values] for lr, g in gaps.items()},
                  [COLORS["lesson"]] * len(rates), "accuracy minus lr 0.05's (points)")
        threshold_line(axes[0][0], -2, "−2 points")
        axes[0][0].set_title(f"The range's ends against 0.05 ({len(seeds)} seeds)")
        if not quick:
            ax = axes[0][1]
            xs = np.array(sweep)
            mean = [100 * np.mean(swept[lr]) for lr in sweep]
            ax.fill_between(xs, [100 * min(swept[lr]) for lr in sweep],
                            [100 * max(swept[lr]) for lr in sweep],
                            color=COLORS["relu"], alpha=0.18, lw=0)
            ax.semilogx(xs, mean, "o-", color=COLORS["relu"], label="mean of 5 seeds (band: range)")
            ax.axvspan(0.01, 0.1, color=COLORS["nesterov"], alpha=0.12, label="the lesson's range")
            ax.set(xlabel="learning rate", ylabel="accuracy after 2,000 steps (%)", ylim=(0, 102),
                   title="The sweep: accuracy against the learning rate")
            ax.legend(loc="lower center")
        return fig

    r.plots["sweep"] = draw
    return r


@experiment(
    "lr-range-adam", "Adam's range: η from 1e-4 to 3e-4",
    claim="For Adam the learning rate lies in [1e-4, 3e-4].",
    lesson=LESSON, section="SGD and the learning rate", seconds=(3, 6),
    related=("lr-range-sgd", "sgd-momentum-adam", "adam-bias-correction"),
    fails_with={"range": dict(rates=(1e-6,))})
def lr_range_adam(quick: bool = False, seed: int = 0, rates: tuple[float, ...] = (1e-4, 3e-4)) -> Result:
    """Adam at each end of the lesson's range on the blob network (2,000 steps), against SGD at
    the lesson's 0.05; then Adam at its usual 1e-3 as a variant."""
    seeds = seeds_for(quick, seed)
    ref = {s: final_acc(blob_run(s)) for s in seeds}
    rates_all = (*rates, 1e-3)
    gaps = {lr: Sample([final_acc(blob_run(s, lr=lr, optimizer="adam")) - ref[s] for s in seeds])
            for lr in rates_all}
    r = Result()
    r.setups = {"the lesson's": BLOB_SETUP.replace("SGD lr 0.05", "Adam") + f"; Adam at "
                                f"{', '.join(num(x) for x in rates)} against SGD at 0.05, {len(seeds)} seeds",
                "variant: Adam 1e-3": "Adam at 1e-3, the default of PyTorch and of lesson 2"}
    r.checks = [at_least("range", f"Adam at {num(lr)} trains the blob network as well as SGD at 0.05 "
                         "(accuracy at most 2 points lower)", gaps[lr], -0.02,
                         f"{100 * gaps[lr].mean:+.2f} points (sd {100 * gaps[lr].sd:.2f})", says=num(lr))
                for lr in rates]
    r.checks.append(at_least("range", "Adam at 1e-3 does", gaps[1e-3], -0.02,
                             f"{100 * gaps[1e-3].mean:+.2f} points", variant="Adam 1e-3"))
    r.measurements = {f"accuracy_gap[adam lr={num(lr)}]": g.values for lr, g in gaps.items()}
    r.found = ("After 2,000 steps Adam ends " + ", ".join(f"{100 * gaps[lr].mean:+.1f} points at {num(lr)}"
                                                         for lr in rates_all)
               + " from SGD at 0.05.")
    r.why = ("Adam moves each weight by about lr per step whatever the gradient's size, so 2,000 steps "
             "at 1e-4 move a weight by at most 0.2 — not enough to carry He-scaled weights of the blob "
             "network to a solution. The lesson's range is the one large transformers train at; a "
             "small MLP wants Adam's usual 1e-3.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(7.5, 4))
        groups = {f"Adam {num(lr)}" + (" (lesson)" if lr in rates else ""): [100 * v for v in gaps[lr].values]
                  for lr in rates_all}
        dot_strip(ax, groups, [COLORS["lesson"]] * len(rates) + [COLORS["variant"]],
                  "accuracy minus SGD 0.05's (points)")
        threshold_line(ax, -2, "−2 points")
        ax.set_title(f"Adam on the blob network, 2,000 steps ({len(seeds)} seeds)")
        return fig

    r.plots["adam"] = draw
    return r


@experiment(
    "diverging-by-step-2", "A far too high η shows by step 2",
    claim="A loss curve that diverges by step 2 means the learning rate is far too high.",
    lesson=LESSON, section="SGD and the learning rate", seconds=(2, 3),
    related=("lr-too-high", "lr-range-sgd"),
    fails_with={"diverges": dict(lr=1e-4)})
def diverging_by_step_2(quick: bool = False, seed: int = 0, lr: float = 5.0) -> Result:
    """The blob network at the lesson's too-high rate 5.0 (its first perturbation): the loss on
    all 1,024 points before training and after steps 1 and 2."""
    seeds = seeds_for(quick, seed)
    runs = {s: blob_run(s, lr=lr) for s in seeds}
    calm = {s: blob_run(s) for s in seeds}

    def rise(w: Watched) -> float:
        after = w.loss_at(2) if 2 in w.eval_steps else math.inf
        return after / w.loss_at(0) if math.isfinite(after) else 1e300

    up = Sample([rise(w) for w in runs.values()], log=True)
    up_ok = Sample([rise(w) for w in calm.values()], log=True)
    share = Share([rise(w) > 1 for w in runs.values()])
    r = Result()
    r.setups = {"the lesson's": BLOB_SETUP.replace("lr 0.05", f"lr {num(lr)} (the lesson's too-high "
                                                   "rate)") + f"; {len(seeds)} seeds",
                "variant: lr 0.05": "the lesson's own rate, for contrast"}
    r.checks = [
        at_least("diverges", f"at lr {num(lr)} the loss is higher after step 2 than at the start "
                 "(geometric mean of loss₂ / loss₀ over the seeds above 1)", up, 1.0,
                 f"loss₂ / loss₀ = {fmt(up.mean)}; up on {share.count} of {share.n} seeds", log=True),
        at_most("calm", "at lr 0.05 it is lower", up_ok, 1.0, f"loss₂ / loss₀ = {fmt(up_ok.mean)}",
                log=True, variant="lr 0.05"),
    ]
    r.measurements = {f"loss_ratio_step2[lr={num(lr)}]": up.values, "loss_ratio_step2[lr=0.05]": up_ok.values}
    r.found = (f"At lr {num(lr)} the loss after two steps is {fmt(up.mean)}× its start (geometric mean), "
               f"higher on {share.count} of {share.n} seeds; at 0.05 it is {fmt(up_ok.mean)}×.")
    r.why = ("The first step moves every weight by lr × gradient; at lr 5 that step is a hundred times "
             "the lesson's, it lands far past the minimum, and the loss measured after it is larger "
             "— except on seeds whose first gradients are small, where the jump happens a few steps "
             "later.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(7, 4))
        for s, w in runs.items():
            ax.semilogy([0, 1, 2], [w.loss_at(t) if t in w.eval_steps else np.nan for t in (0, 1, 2)],
                        "o-", color=COLORS["sigmoid"], alpha=0.7,
                        label=f"lr {num(lr)}" if s == seed else None)
        for s, w in calm.items():
            ax.semilogy([0, 1, 2], [w.loss_at(t) for t in (0, 1, 2)], "o-", color=COLORS["relu"], alpha=0.7,
                        label="lr 0.05" if s == seed else None)
        ax.set_xticks([0, 1, 2], ["start", "step 1", "step 2"])
        ax.set(ylabel="loss on all 1,024 points",
               title=f"The first two steps, one line per seed ({len(seeds)})")
        ax.legend()
        return fig

    r.plots["first-steps"] = draw
    return r


# --- what the first steps show -------------------------------------------------------------------

@experiment(
    "blob-first-loss", "The blob network starts at log 3",
    claim="Before training, the first loss the blob network prints is about log(out_dim) = "
          "log 3 ≈ 1.10; a first loss wildly different (50? NaN?) means the init is broken.",
    lesson=LESSON, section="The full NumPy MLP: what you should see", seconds=(1, 1),
    related=("mnist-first-loss", "quadrant-first-loss", "zero-init-flat"),
    fails_with={"log-3": dict(output_scale=100.0)})
def blob_first_loss(quick: bool = False, seed: int = 0, output_scale: float = 1.0) -> Result:
    """The first mini-batch loss of the lesson's blob network (He init), over 10 seeds (5 with
    --quick); then the same with the output layer's weights scaled by 0.01 (logits ≈ 0), and
    with inputs standardized to unit variance."""
    seeds = seeds_for(quick, seed)

    def first(s: int, scale: float, standardize: bool = False) -> float:
        X, y = lesson_blobs(s)
        if standardize:
            X = (X - X.mean(axis=0)) / X.std(axis=0)
        model = MLP([4, 16, 3], seed=s)
        model.layers[-1].params["weight"] *= scale
        return fit(model, X, y, batch_size=32, steps=1).losses[0]

    he = Sample([first(s, output_scale) for s in seeds], log=True)
    small = Sample([first(s, 0.01) for s in seeds], log=True)
    std = Sample([first(s, 1.0, True) for s in seeds], log=True)
    k = math.log(3)
    r = Result()
    r.setups = {"the lesson's": BLOB_SETUP + f"; the loss of the first mini-batch, {len(seeds)} seeds",
                "variant: output ×0.01": "the output layer's weights multiplied by 0.01: logits ≈ 0",
                "variant: standardized inputs": "each input feature scaled to mean 0, variance 1"}
    r.checks = [near("log-3", "the first loss is about log 3 = 1.10 (within 10 %)", he, k, 0.10,
                     f"{he.mean:.2f} (geometric mean; from {min(he.values):.2f} to {max(he.values):.2f})",
                     says="≈ 1.10"),
                near("log-3", "the same with the output layer scaled by 0.01", small, k, 0.10,
                     f"{small.mean:.3f}", variant="output ×0.01"),
                near("log-3", "the same with standardized inputs", std, k, 0.10, f"{std.mean:.2f}",
                     variant="standardized inputs")]
    r.measurements = {"first_loss": he.values, "first_loss[output ×0.01]": small.values,
                      "first_loss[standardized]": std.values}
    r.found = (f"The first loss is {he.mean:.2f} (geometric mean) over {len(seeds)} seeds (from "
               f"{min(he.values):.2f} "
               f"to {max(he.values):.2f}), not 1.10; with the output layer scaled by 0.01 it is "
               f"{small.mean:.3f}, with standardized inputs {std.mean:.2f}.")
    r.why = ("The loss is log 3 only when the three logits are nearly equal. The blob data are not "
             "centred (the blob centres have a spread of 3), so He-scaled weights turn them into "
             "logits several units apart; an output layer started near zero, or inputs of unit "
             "size, bring the logits back near 0.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(7.5, 4))
        dot_strip(ax, {"He (lesson)": he.values, "output ×0.01": small.values,
                       "standardized inputs": std.values},
                  [COLORS["lesson"], COLORS["variant"], COLORS["variant2"]], "first mini-batch loss",
                  said=k, said_label="log 3 = 1.10", log=True)
        ax.set_title(f"The blob network's first loss ({len(seeds)} seeds)")
        return fig

    r.plots["first-loss"] = draw
    return r


@experiment(
    "zero-init-flat", "All-zero weights leave the loss flat",
    claim="A loss that stays flat means the learning rate is too low or the weights are stuck at "
          "zero (no init, or an all-zero init).",
    lesson=LESSON, section="The full NumPy MLP: what you should see", seconds=(1, 2),
    related=("blob-first-loss", "lr-too-low"),
    fails_with={"flat": dict(init="he")})
def zero_init_flat(quick: bool = False, seed: int = 0, init: str = "zeros") -> Result:
    """The blob network with every weight and bias 0, trained 2,000 steps at the lesson's lr."""
    seeds = seeds_for(quick, seed)
    runs = {s: blob_run(s, init=init) for s in seeds}
    drop = Sample([1 - w.loss_at(STEPS) / w.loss_at(0) for w in runs.values()])
    he = Sample([1 - blob_run(s).loss_at(STEPS) / blob_run(s).loss_at(0) for s in seeds])
    r = Result()
    r.setups = {"the lesson's": BLOB_SETUP.replace("He init", f"{init} init") + f"; {len(seeds)} seeds",
                "variant: He": "the lesson's He init, for contrast"}
    r.checks = [at_most("flat", "with all-zero weights the loss stays flat: it falls by under 2 % in "
                        "2,000 steps", drop, 0.02, f"it falls by {pct(drop.mean, 2)}"),
                at_least("trains", "with He init it falls by over 90 %", he, 0.9, f"by {pct(he.mean)}",
                         variant="He")]
    r.measurements = {"relative_drop": drop.values, "relative_drop[He]": he.values}
    r.found = (f"With all-zero weights the loss falls by {pct(drop.mean, 2)} in 2,000 steps (to about the "
               f"entropy of the class shares); with He init by {pct(he.mean)}.")
    r.why = ("With W = 0 every hidden unit computes z = 0, ReLU'(0) = 0 and a = 0, so no gradient "
             "reaches W1 and W2's gradient aW is 0 too: only the output biases learn, which can "
             "match the class frequencies and nothing more.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(7.5, 4))
        x, z = curves(list(runs.values()))
        _, h = curves([blob_run(s) for s in seeds])
        seed_band(ax, x, z, COLORS["linear"], "all-zero weights", log=True)
        seed_band(ax, x, h, COLORS["relu"], "He init", log=True)
        ax.set(yscale="log", xlabel="step", ylabel="loss on all 1,024 points",
               title=f"The blob network from zero weights ({len(seeds)} seeds; band: range)")
        ax.legend(loc="lower left")
        return fig

    r.plots["flat"] = draw
    return r


# --- PyTorch and MLX ------------------------------------------------------------------------------

@experiment(
    "three-backends", "NumPy, PyTorch and MLX: the same outcome",
    claim="With the same hyperparameters and data, the NumPy, PyTorch and MLX versions of the blob "
          "network reach the same outcome; M-series Macs train such an MLP fast with MLX.",
    lesson=LESSON, section="The same network in PyTorch and MLX", seconds=(4, 6),
    needs="PyTorch and/or MLX", related=("autograd-three-ways",),
    fails_with={"same": dict(nudge=0.1)})
def three_backends(quick: bool = False, seed: int = 0, nudge: float = 0.0) -> Result:
    """The blob network trained by handgrad's loop in NumPy and, through each twin's adapter,
    in PyTorch and MLX: weights drawn once in NumPy and copied, the same batches in the same
    order, each framework's own forward, backward and SGD. ``nudge`` multiplies the twins'
    learning rate by (1 + nudge), to see the check catch a difference."""
    installed = [b for b in ("torch", "mlx") if importlib.util.find_spec(b) is not None]
    if not installed:
        raise Skip("needs PyTorch or MLX to compare with: pip install 'handgrad[torch]' or "
                   "'handgrad[mlx]'")
    X, y = lesson_blobs(seed)
    runs: dict[str, Watched] = {}
    states: dict[str, Any] = {}
    with framework_threads(1):
        for backend in ("numpy", *installed):
            train_backend(backend, X, y, seed, nudge, runs, states)
    ref = np.array(runs["numpy"].losses[:STEPS])
    rel = {b: float(np.max(np.abs(np.array(runs[b].losses[:STEPS]) - ref)) / ref[0]) for b in installed}
    wdiff = {b: max(float(np.max(np.abs(np.asarray(states[b][k]) - states["numpy"][k])))
                    for k in states["numpy"]) for b in installed}
    r = Result()
    r.setups = {"the lesson's": BLOB_SETUP + "; NumPy through handgrad's loop, PyTorch and MLX through "
                                             "their twins' adapters; the same initial weights and batches"}
    r.checks = [at_most("same", f"{b} reaches NumPy's outcome: every step's loss within 1e-4 of NumPy's (as "
                        "a share of the starting loss)",
                        rel[b], 1e-4, f"largest loss difference {fmt(rel[b])}; final weights {fmt(wdiff[b])} "
                        f"apart; accuracy {pct(runs[b].eval_acc[-1])} vs {pct(runs['numpy'].eval_acc[-1])}",
                        log=True)
                for b in installed]
    apple = platform.system() == "Darwin" and platform.machine() == "arm64"
    if not apple or "mlx" not in installed:
        r.checks.append(not_here("mlx-fast", "M-series Macs train the MLP fast with MLX",
                                 f"this machine is {platform.system()} {platform.machine()}: there is "
                                 "no Apple silicon here to time MLX on, so this part is left out"))
    r.measurements = {**{f"max_relative_loss_difference[{b}]": v for b, v in rel.items()},
                      **{f"max_weight_difference[{b}]": v for b, v in wdiff.items()},
                      **{f"final_accuracy[{b}]": w.eval_acc[-1] for b, w in runs.items()}}
    r.found = ("Over 2,000 steps " + "; ".join(f"{b}'s loss stays within {fmt(rel[b])} of NumPy's and its "
                                                f"weights end {fmt(wdiff[b])} apart" for b in installed)
               + ". The speed of MLX on Apple silicon cannot be measured on this machine.")
    r.why = ("The three compute the same float32 arithmetic in a different order (different matrix "
             "kernels, a fused softmax), so they differ in the last bits of each step, and SGD carries "
             "those differences along without letting them grow on this problem.")

    def draw(plt: Any) -> Any:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4))
        styles = {"numpy": ("-", COLORS["relu"]), "torch": ("--", COLORS["tanh"]),
                  "mlx": (":", COLORS["nesterov"])}
        for b, w in runs.items():
            ls, c = styles[b]
            a1.semilogy(w.eval_steps, w.eval_loss, ls, color=c, lw=2, label=b)
        a1.set(xlabel="step", ylabel="loss on all 1,024 points", title="The same curve in three backends")
        a1.legend()
        for b in installed:
            d = np.abs(np.array(runs[b].losses[:STEPS]) - ref) / ref[0]
            a2.semilogy(np.arange(1, STEPS + 1), np.maximum(d, 1e-10), styles[b][0], color=styles[b][1],
                        lw=1, label=b)
        threshold_line(a2, 1e-4, "1e-4")
        a2.set(xlabel="step", ylabel="|loss − NumPy's| / NumPy's first loss", ylim=(1e-10, 1e-2),
               title="How far each step's loss is from NumPy's")
        a2.legend(loc="upper left")
        return fig

    r.plots["backends"] = draw
    return r


def train_backend(backend: str, X: np.ndarray, y: np.ndarray, seed: int, nudge: float,
                  runs: dict[str, Watched], states: dict[str, Any]) -> None:
    """The blob network in one backend through its adapter, driven by handgrad's loop."""
    lr = 0.05 if backend == "numpy" else 0.05 * (1 + nudge)
    net, opt = trainable(backend, MLP([4, 16, 3], seed=seed), SGD(lr))
    runs[backend] = fit(net, X, y, batch_size=32, steps=STEPS, optimizer=opt, X_eval=X, y_eval=y, every=100)
    states[backend] = net.state_dict()


@contextlib.contextmanager
def framework_threads(n: int) -> Any:
    """PyTorch on ``n`` threads inside the block (NumPy's BLAS is on one in the lab), then as before."""
    if importlib.util.find_spec("torch") is None:
        yield
        return
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --- overfitting and MNIST --------------------------------------------------------------------------

@memo
def mnist_run(seed: int, weight_decay: float = 0.0, epochs: int = 5, hidden: tuple[int, ...] = (256,),
              dropout: float = 0.0, lr: float = 0.1, batch_size: int = 128, n_train: int | None = None,
              n_test: int | None = None) -> Watched:
    """MNIST trained with handgrad's loop from ``seed``; after each epoch the loss on the test set
    (val_loss, val_accuracy) and on the first 10,000 training images, both in evaluation mode
    (train_eval_loss)."""
    data = mnist(n_train, n_test)
    model = MLP([784, *hidden, 10], seed=seed, dropout=dropout)
    X_seen, y_seen = data.X_train[:10000], data.y_train[:10000]

    def train_loss(m: Any, history: Any) -> None:
        history.rows[-1]["train_eval_loss"] = m.evaluate(X_seen, y_seen)["loss"]

    return fit(model, data.X_train, data.y_train, batch_size=batch_size, epochs=epochs,
               optimizer=SGD(lr, weight_decay=weight_decay),
               validation_data=(data.X_test, data.y_test), callbacks=(train_loss,))


def gap_of(w: Watched, epoch: int = -1) -> float:
    """Validation loss minus training loss after an epoch, both measured in evaluation mode."""
    row = w.history[epoch] if w.history is not None else {}
    return float(row["val_loss"] - row["train_eval_loss"])


@experiment(
    "weight-decay-overfitting", "Weight decay 1e-4 against overfitting",
    claim="Overfitting shows as a training loss that keeps falling while the validation loss turns "
          "up; regularization counters it — the lesson asks whether its MNIST network overfits in 5 "
          "epochs and has weight decay 1e-4 added to it.",
    lesson=LESSON, section="Exercises: MNIST", seconds=(40, 70), needs=MNIST_NEEDS,
    related=("mnist-95", "mnist-deep-diagnostics", "dropout-ensemble"),
    fails_with={"overfits": dict(small_epochs=2, epochs=1, seeds=2),
                "narrows": dict(small_epochs=2, epochs=1, seeds=2)},
    quick_skips="5 epochs of MNIST twice on 5 seeds, plus the 1,000-image "
                "runs, take about a minute")
def weight_decay_overfitting(quick: bool = False, seed: int = 0, weight_decay: float = 1e-4,
                             small_epochs: int = 100, epochs: int = 5, seeds: int = 5) -> Result:
    """The lesson's exercise: 784 → 256 → 10, SGD lr 0.1, batch 128, 5 epochs on all of MNIST,
    with and without weight decay 1e-4, 5 seeds; the gap between validation and training loss.
    Then the same network on 1,000 images for ``small_epochs`` epochs (batch 50), where it
    overfits, with weight decay 1e-4 and 1e-2."""
    chosen = list(range(seed, seed + seeds))
    plain = {s: mnist_run(s, epochs=epochs) for s in chosen}
    decayed = {s: mnist_run(s, weight_decay, epochs) for s in chosen}
    narrowing = Sample([gap_of(plain[s]) - gap_of(decayed[s]) for s in chosen])
    small = {wd: {s: mnist_run(s, wd, small_epochs, batch_size=50, n_train=1000, n_test=2000) for s in chosen}
             for wd in (0.0, weight_decay, 1e-2)}

    def turn(w: Watched) -> float:
        v = [row["val_loss"] for row in w.history.rows] if w.history is not None else [math.nan]
        return float(v[-1] / min(v))

    turns = Sample([turn(w) for w in small[0.0].values()], log=True)
    small_narrow = {wd: Sample([(gap_of(small[0.0][s]) - gap_of(small[wd][s])) / gap_of(small[0.0][s])
                                for s in chosen]) for wd in (weight_decay, 1e-2)}
    plain_gap = Sample([gap_of(w) for w in plain.values()])
    r = Result()
    r.setups = {"the lesson's": "MNIST (60,000 training, 10,000 validation images), 784 → 256 → 10, He init, "
                                f"SGD lr 0.1, batch 128, {epochs} epochs, with and without weight decay "
                                f"{num(weight_decay)}, {seeds} seeds",
                "variant: 1,000 images": f"the same network on the first 1,000 training images, batch 50, "
                                          f"{small_epochs} epochs (2,000 validation images)",
                "variant: 1,000 images, decay 1e-2": "the same with weight decay 1e-2"}
    r.checks = [
        at_least("narrows", f"weight decay {num(weight_decay)} narrows the gap between validation and "
                 "training loss (by at least 0.01 in loss)", narrowing, 0.01,
                 f"by {narrowing.mean:+.4f} (the gap itself: {plain_gap.mean:.4f})"),
        at_least("overfits", "on 1,000 images the validation loss turns up: it ends at least 10 % above "
                 "its lowest point", turns, 1.1, f"ends at {turns.mean:.2f}× its lowest", log=True,
                 variant="1,000 images"),
        at_least("narrows", f"there, weight decay {num(weight_decay)} narrows the gap by at least 10 %",
                 small_narrow[weight_decay], 0.1, f"by {pct(small_narrow[weight_decay].mean)}",
                 variant="1,000 images"),
        at_least("narrows", "there, weight decay 1e-2 narrows it by at least 10 %", small_narrow[1e-2], 0.1,
                 f"by {pct(small_narrow[1e-2].mean)}", variant="1,000 images, decay 1e-2"),
    ]
    r.measurements = {"gap[plain]": plain_gap.values, "gap_narrowed_by_decay": narrowing.values,
                      "val_loss_end_over_lowest[1,000 images]": turns.values,
                      **{f"gap_narrowed_share[1,000 images, decay {num(wd)}]": v.values
                         for wd, v in small_narrow.items()}}
    r.found = (f"After {epochs} epochs on all of MNIST the validation loss lies {plain_gap.mean:.3f} above "
               "the training loss (both in evaluation mode), and weight decay 1e-4 changes that gap by "
               f"{narrowing.mean:+.4f}. On 1,000 images the network does overfit (its validation loss ends "
               f"{turns.mean:.2f}× its lowest); there 1e-4 narrows the gap by "
               f"{pct(small_narrow[weight_decay].mean)}, 1e-2 by {pct(small_narrow[1e-2].mean)}.")
    r.why = ("Weight decay shrinks every weight by lr·λ per step: at λ = 1e-4 and lr 0.1 that is 1e-5 a "
             "step, "
             "about 2 % over the 2,345 steps of 5 epochs — too little to matter, and a network that has seen "
             "60,000 images 5 times has little overfitting to counter. A network that memorises 1,000 images "
             "does overfit, and only a decay a hundred times larger pulls its weights back enough to narrow "
             "the gap.")

    def draw(plt: Any) -> Any:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.2))
        for wd, color in ((0.0, COLORS["linear"]), (weight_decay, COLORS["relu"])):
            runs = plain if wd == 0 else decayed
            rows = np.array([[gap_of(w, e) for e in range(len(w.history))] for w in runs.values()])
            seed_band(a1, np.arange(1, rows.shape[1] + 1), rows, color,
                      "no decay" if wd == 0 else f"decay {num(wd)}")
        a1.set(xlabel="epoch", ylabel="validation − training loss",
               title=f"All of MNIST, {epochs} epochs: the gap, with and without decay")
        a1.legend()
        for wd, color in ((0.0, COLORS["linear"]), (weight_decay, COLORS["relu"]), (1e-2, COLORS["tanh"])):
            rows = np.array([[row["val_loss"] for row in w.history.rows] for w in small[wd].values()])
            seed_band(a2, np.arange(1, rows.shape[1] + 1), rows, color,
                      "no decay" if wd == 0 else f"decay {num(wd)}")
        a2.set(xlabel="epoch", ylabel="validation loss",
               title=f"1,000 images, {small_epochs} epochs: the validation loss")
        a2.legend()
        return fig

    r.plots["overfitting"] = draw
    return r


# --- the exercises: perturb the blob network --------------------------------------------------------

@experiment(
    "lr-too-high", "lr = 5: the loss bounces",
    claim="At lr = 5.0 the blob network's loss curve bounces past the minimum (or turns NaN) "
          "instead of settling: the learning rate is far too high.",
    lesson=LESSON, section="Exercises: perturb the network", seconds=(1, 2),
    related=("diverging-by-step-2", "lr-range-sgd", "lr-too-low"),
    fails_with={"fails-to-train": dict(lr=0.05)})
def lr_too_high(quick: bool = False, seed: int = 0, lr: float = 5.0) -> Result:
    """The blob network at lr 5 against the lesson's 0.05, the same seeds."""
    seeds = seeds_for(quick, seed)
    runs = {s: blob_run(s, lr=lr) for s in seeds}
    gap = Sample([final_acc(runs[s]) - final_acc(blob_run(s)) for s in seeds])
    nan = Share([w.diverged_at is not None for w in runs.values()])
    r = Result()
    r.setups = {"the lesson's": BLOB_SETUP.replace("lr 0.05", f"lr {num(lr)}") + f"; {len(seeds)} seeds"}
    r.checks = [at_most("fails-to-train", f"at lr {num(lr)} it does not settle: after 2,000 steps its "
                        "accuracy is at least 10 points below lr 0.05's", gap, -0.10,
                        f"{100 * gap.mean:+.1f} points; NaN on {nan.count} of {nan.n} seeds")]
    r.measurements = {"accuracy_gap": gap.values, "diverged_at": [w.diverged_at for w in runs.values()]}
    r.found = (f"At lr {num(lr)} the network ends {-100 * gap.mean:.0f} points below lr 0.05's accuracy, and "
               f"its loss turned NaN on {nan.count} of {nan.n} seeds.")
    r.why = ("Each step overshoots the minimum by far: the loss jumps, many ReLUs are pushed into "
             "their zero side for every input and stop learning, and what is left bounces around a "
             "poor solution.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(7.5, 4))
        for s, w in runs.items():
            ax.plot(w.eval_steps, 100 * np.array(w.eval_acc), color=COLORS["sigmoid"], alpha=0.6, lw=1,
                    label=f"lr {num(lr)}" if s == seed else None)
        x, acc = curves([blob_run(s) for s in seeds], "acc")
        seed_band(ax, x, 100 * acc, COLORS["relu"], "lr 0.05 (band: seeds)")
        ax.set(xlabel="step", ylabel="accuracy on all 1,024 points (%)", ylim=(0, 102),
               title=f"The blob network at lr {num(lr)}: one line per seed")
        ax.legend(loc="lower right")
        return fig

    r.plots["curves"] = draw
    return r


@experiment(
    "lr-too-low", "lr = 1e-5: training crawls",
    claim="At lr = 1e-5 training crawls: the blob network takes many steps before any visible "
          "progress.",
    lesson=LESSON, section="Exercises: perturb the network", seconds=(1, 2),
    related=("lr-too-high", "lr-range-sgd", "zero-init-flat"),
    fails_with={"crawls": dict(lr=0.05), "flat-at-first": dict(lr=1e-2)})
def lr_too_low(quick: bool = False, seed: int = 0, lr: float = 1e-5) -> Result:
    """The blob network at lr 1e-5: steps until the loss on all points first falls 10 % below its
    start, and the accuracy after the lesson's 2,000 steps against lr 0.05's."""
    seeds = seeds_for(quick, seed)
    runs = {s: blob_run(s, lr=lr) for s in seeds}
    first = [w.first_step(lambda v, w=w: v <= 0.9 * w.loss_at(0)) for w in runs.values()]
    first_steps = Sample([STEPS * 2 if f is None else f for f in first], log=True)
    gap = Sample([final_acc(runs[s]) - final_acc(blob_run(s)) for s in seeds])
    drop = [1 - w.loss_at(STEPS) / w.loss_at(0) for w in runs.values()]
    r = Result()
    r.setups = {"the lesson's": BLOB_SETUP.replace("lr 0.05", f"lr {num(lr)}") + f"; {len(seeds)} seeds"}
    r.checks = [
        at_least("flat-at-first", "no visible progress for the first 500 steps, a quarter of the run (the "
                 "loss not yet 10 % below its start)", first_steps, 500, f"10 % below its start after "
                 f"{fmt(first_steps.mean)} steps (geometric mean; {2 * STEPS:,} stands for never)", log=True),
        at_most("crawls", "after 2,000 steps it is still far behind: accuracy at least 10 points below "
                "lr 0.05's", gap, -0.10, f"{100 * gap.mean:+.1f} points"),
    ]
    r.measurements = {"steps_to_10pct_progress": first, "accuracy_gap": gap.values, "relative_drop": drop}
    r.found = (f"The loss first falls 10 % below its start after {fmt(first_steps.mean)} steps (geometric "
               f"mean "
               f"over {len(seeds)} seeds), and after 2,000 steps it has fallen by "
               f"{pct(float(np.mean(drop)), 0)} "
               f"while the accuracy is {-100 * gap.mean:.0f} points below lr 0.05's.")
    r.why = ("Each step moves the weights by lr × gradient: at 1e-5 it takes 5,000 steps to travel as "
             "far as one step at 0.05, so 2,000 steps cover less than one step's worth of the "
             "lesson's run.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(7.5, 4))
        x, low = curves(list(runs.values()))
        _, ok = curves([blob_run(s) for s in seeds])
        seed_band(ax, x, low / low[:, :1], COLORS["sigmoid"], f"lr {num(lr)}")
        seed_band(ax, x, ok / ok[:, :1], COLORS["relu"], "lr 0.05")
        threshold_line(ax, 0.9, "10 % below the start")
        ax.set(xlabel="step", ylabel="loss / loss at the start", yscale="log",
               title=f"Loss relative to its start ({len(seeds)} seeds; band: range)")
        ax.legend(loc="lower left")
        return fig

    r.plots["curves"] = draw
    return r


@experiment(
    "width-one", "hidden_dim = 1: does accuracy plateau at 33 %?",
    claim="With hidden_dim = 1 the blob network's accuracy plateaus at about 33 %.",
    lesson=LESSON, section="Exercises: perturb the network", seconds=(1, 2),
    related=("lr-range-sgd", "normal-init-blobs"),
    fails_with={"plateau-33": dict(hidden=16)})
def width_one(quick: bool = False, seed: int = 0, hidden: int = 1) -> Result:
    """4 → 1 → 3 on the lesson's blobs, its own setup otherwise; accuracy after 2,000 steps."""
    seeds = seeds_for(quick, seed)
    runs = {s: blob_run(s, hidden=(hidden,)) for s in seeds}
    acc = Sample([final_acc(w) for w in runs.values()])
    wide = [final_acc(blob_run(s)) for s in seeds]
    dead = Share([final_acc(w) < 0.4 for w in runs.values()])
    r = Result()
    r.setups = {"the lesson's": BLOB_SETUP.replace("4 → 16 → 3",
                                                   f"4 → {hidden} → 3") + f"; {len(seeds)} seeds"}
    r.checks = [between("plateau-33", "accuracy plateaus at about 33 % (within 5 points)", acc, 0.283, 0.383,
                        f"{pct(acc.mean)} on average; per seed {', '.join(pct(v, 0) for v in acc.values)}",
                        says="≈ 33 %", threshold="in [28.3 %, 38.3 %]")]
    r.measurements = {"accuracy": acc.values, "accuracy[16 units]": wide}
    r.found = (f"With one hidden unit the accuracy ends at {pct(acc.mean, 0)} on average — "
               f"{', '.join(pct(v, 0) for v in acc.values)} — not 33 %; about a third only where the "
               f"unit dies ({dead.count} of {dead.n} seeds).")
    r.why = ("One ReLU unit gives the output layer a single number h ≥ 0, and three straight lines in h "
             "can still cut it into three intervals: where the blobs lie in order along some "
             "direction, one unit separates all three. Only a unit that is dead for every input "
             "leaves the output to guess one class, 33 %; one that merges two blobs on its zero side "
             "reaches about 67 %.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(7.5, 4))
        dot_strip(ax, {f"{hidden} unit (lesson)": [100 * v for v in acc.values],
                       "16 units": [100 * v for v in wide]},
                  [COLORS["lesson"], COLORS["linear"]], "accuracy after 2,000 steps (%)",
                  said=100 / 3, said_label="the lesson's 33 %")
        ax.set_ylim(0, 105)
        ax.set_title(f"4 → {hidden} → 3 on the blobs, one dot per seed")
        return fig

    r.plots["accuracy"] = draw
    return r


def steps_to_best(w: Watched, best: float, tol: float = 0.02) -> int:
    """The first evaluated step at which the accuracy is within ``tol`` of ``best`` (2 × the
    budget if never)."""
    step = w.first_step(lambda a: a >= best - tol, "acc")
    return 2 * STEPS if step is None else max(step, 1)


@experiment(
    "normal-init-blobs", "N(0, 1) weights on the blob network",
    claim="Weights at the wrong scale break training: the lesson asks what unit-variance N(0, 1) "
          "weights (randn, not scaled by √(2/fan_in)) do to its blob network — does it still "
          "converge, and in how many steps?",
    lesson=LESSON, section="Exercises: perturb the network", seconds=(1, 2),
    related=("unit-variance-init-shallow", "blob-first-loss", "init-variance-factor"),
    fails_with={"slower": dict(init="he"), "higher-start": dict(init="he")})
def normal_init_blobs(quick: bool = False, seed: int = 0, init: str = "normal") -> Result:
    """The blob network with N(0, 1) weights against He's, the same seeds: its first loss, and
    the steps until its accuracy comes within 2 points of the better of the two final
    accuracies."""
    seeds = seeds_for(quick, seed)
    bad = {s: blob_run(s, init=init) for s in seeds}
    he = {s: blob_run(s) for s in seeds}
    start = Sample([bad[s].loss_at(0) / he[s].loss_at(0) for s in seeds], log=True)
    best = {s: max(final_acc(bad[s]), final_acc(he[s])) for s in seeds}
    slower = Sample([steps_to_best(bad[s], best[s]) / steps_to_best(he[s], best[s]) for s in seeds], log=True)
    converged = Share([final_acc(bad[s]) >= best[s] - 0.02 for s in seeds])
    r = Result()
    r.setups = {"the lesson's": BLOB_SETUP.replace("He init", f"{init} init (N(0, 1))") + f", against He "
                                f"init; {len(seeds)} seeds"}
    r.checks = [
        at_least("higher-start", "N(0, 1) weights start from a higher loss (at least 2× He's)", start, 2.0,
                 f"{fmt(start.mean)}× He's", log=True),
        at_least("slower", "N(0, 1) weights need more steps to train (at least 10 % more than He)", slower,
                 1.1, f"{fmt(slower.mean)}× He's steps (geometric mean); converged on {converged.count} of "
                      f"{converged.n} seeds", log=True),
    ]
    r.measurements = {"first_loss_ratio": start.values, "steps_ratio": slower.values,
                      "final_accuracy[N(0,1)]": [final_acc(w) for w in bad.values()],
                      "final_accuracy[He]": [final_acc(w) for w in he.values()]}
    r.found = (f"N(0, 1) weights start {fmt(start.mean)}× higher, still converge on {converged.count} of "
               f"{converged.n} seeds, and need {fmt(slower.mean)}× He's steps to do it.")
    r.why = ("At fan-ins of 4 and 16, N(0, 1) weights are only √(4/2) = 1.4 and √(16/2) = 2.8 times He's "
             "scale: the logits start large (a high loss) but nothing saturates or overflows, and the "
             "larger weights also take larger effective steps. The damage grows with depth and fan-in "
             "(784 inputs on MNIST start near 170).")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(7.5, 4))
        x, b = curves(list(bad.values()))
        _, h = curves(list(he.values()))
        seed_band(ax, x, b, COLORS["sigmoid"], "N(0, 1) weights", log=True)
        seed_band(ax, x, h, COLORS["relu"], "He init", log=True)
        ax.set(yscale="log", xlabel="step", ylabel="loss on all 1,024 points",
               title=f"The blob network from two inits ({len(seeds)} seeds; band: range)")
        ax.legend()
        return fig

    r.plots["curves"] = draw
    return r


@experiment(
    "tanh-vs-relu", "tanh trains more slowly than ReLU",
    claim="Replacing ReLU with tanh in the d_in → 16 → 16 → 3 network, tanh converges more slowly "
          "(typically, in deep nets).",
    lesson=LESSON, section="Exercises: a second hidden layer, and tanh", seconds=(4, 12),
    related=("relu-rescues-depth", "tanh-saturation"),
    fails_with={"slower": dict(act="relu")})
def tanh_vs_relu(quick: bool = False, seed: int = 0, act: str = "tanh") -> Result:
    """The lesson's exercise: 4 → 16 → 16 → 3 on the blobs, He init (only the activation
    changes), SGD lr 0.05, batch 32, 2,000 steps; speed as the mean loss over the run (lower
    is faster), tanh over ReLU, seed by seed. Variants: Xavier init for tanh; six hidden
    layers."""
    seeds = seeds_for(quick, seed)

    def speed(s: int, a: str, init: str = "he", depth: int = 2) -> float:
        w = blob_run(s, hidden=(16,) * depth, act=a, init=init)
        return float(np.mean(w.eval_loss))

    lesson = Sample([speed(s, act) / speed(s, "relu") for s in seeds], log=True)
    xavier = Sample([speed(s, act, "xavier") / speed(s, "relu") for s in seeds], log=True)
    deep = None if quick else Sample([speed(s, act, depth=6) / speed(s, "relu", depth=6) for s in seeds[:5]],
                                     log=True)
    r = Result()
    r.setups = {"the lesson's": BLOB_SETUP.replace("4 → 16 → 3 with ReLU", f"4 → 16 → 16 → 3 with {act} or "
                                                   "ReLU") + f"; {len(seeds)} seeds",
                "variant: Xavier for tanh": "tanh with Xavier init, its own"}
    if deep is not None:
        r.setups["variant: 6 hidden layers"] = "4 → 16 × 6 → 3, He init, 5 seeds"
    r.checks = [at_least("slower", f"{act} converges more slowly: its mean loss over the run is at least "
                         "10 % above ReLU's", lesson, 1.1, f"{fmt(lesson.mean)}× ReLU's (geometric mean)",
                         log=True),
                at_least("slower", "the same with Xavier init for tanh", xavier, 1.1, f"{fmt(xavier.mean)}×",
                         log=True, variant="Xavier for tanh")]
    r.measurements = {"mean_loss_ratio": lesson.values, "mean_loss_ratio[xavier]": xavier.values}
    if deep is not None:
        r.checks.append(at_least("slower", "the same with 6 hidden layers", deep, 1.1, f"{fmt(deep.mean)}×",
                                 log=True, variant="6 hidden layers"))
        r.measurements["mean_loss_ratio[6 layers]"] = deep.values
    r.found = (f"Over the lesson's 2,000 steps tanh's loss averages {fmt(lesson.mean)}× ReLU's with He init "
               f"and {fmt(xavier.mean)}× with Xavier init"
               + (f", {fmt(deep.mean)}× with six hidden layers." if deep is not None else "."))
    r.why = ("With two hidden layers nothing vanishes: tanh's derivative is near 1 around 0, so the "
             "gradient reaches both layers either way. tanh's handicap is saturation, which grows "
             "with depth and with the size of the pre-activations — so 'slower in deep nets' is a "
             "claim about deep nets.")

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(7.5, 4))
        groups = {"2 layers, He (lesson)": xs(lesson), "2 layers, Xavier": xs(xavier)}
        if deep is not None:
            groups["6 layers, He"] = xs(deep)
        dot_strip(ax, groups, [COLORS["lesson"], COLORS["variant"], COLORS["variant2"]],
                  "tanh's mean loss / ReLU's", log=True)
        threshold_line(ax, 1.1, "10 % slower")
        threshold_line(ax, 1.0, "as fast", where="left")
        ax.set_title("Does tanh train more slowly than ReLU? (one dot per seed)")
        return fig

    r.plots["speed"] = draw
    return r


def xs(sample: Sample) -> list[float]:
    return list(sample.values)


@experiment(
    "mnist-95", "MNIST 784 → 256 → 10 reaches 95 % in 5 epochs",
    claim="A 784 → 256 → 10 MLP trained for 5 epochs (batch 128) reaches at least 95 % test accuracy.",
    lesson=LESSON, section="Exercises: MNIST", seconds=(20, 20), needs=MNIST_NEEDS,
    related=("weight-decay-overfitting", "mnist-deep-diagnostics", "mnist-first-loss"),
    fails_with={"reaches-95": dict(epochs=1, hidden=16, seeds=2)},
    quick_skips="5 epochs of MNIST on 5 seeds take about 20 seconds")
def mnist_95(quick: bool = False, seed: int = 0, epochs: int = 5, hidden: int = 256,
             seeds: int = 5) -> Result:
    """The exercise as written, SGD lr 0.1 (the lesson gives no rate here; 0.1 is its rate for the
    deeper MNIST run), 5 seeds; test accuracy after each epoch."""
    runs = {s: mnist_run(s, epochs=epochs, hidden=(hidden,)) for s in range(seed, seed + seeds)}
    final = Sample([w.history[-1]["val_accuracy"] for w in runs.values() if w.history is not None])
    r = Result()
    r.setups = {"the lesson's": f"MNIST, 784 → {hidden} → 10, He init, SGD lr 0.1, batch 128, {epochs} "
                                f"epochs, "
                                f"test accuracy on the 10,000 test images, {seeds} seeds"}
    r.checks = [at_least("reaches-95", f"it reaches at least 95 % after {epochs} epochs", final, 0.95,
                         f"{pct(final.mean, 2)} (sd {100 * final.sd:.2f} points)", says="≥ 95 %")]
    r.measurements = {"test_accuracy": final.values,
                      "seconds_per_epoch": float(np.mean([row["seconds"] for w in runs.values()
                                                          for row in w.history.rows]))}
    r.timings = ("seconds_per_epoch",)
    r.found = f"It reaches {pct(final.mean, 2)} on average (from {pct(min(final.values), 2)} to " \
              f"{pct(max(final.values), 2)}) after {epochs} epochs."
    r.why = ("Five passes of plain SGD over 60,000 images are about 2,300 steps, enough for a 256-unit "
             "layer to separate the digits well beyond 95 %; the remaining errors need more epochs or "
             "capacity (the deeper recipe of lesson 4).")

    def draw(plt: Any) -> Any:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4))
        for s, w in runs.items():
            h = w.history
            a1.plot(h.column("epoch"), 100 * np.array(h.column("val_accuracy")), "o-", ms=3,
                    color=COLORS["relu"], alpha=0.7,
                    label="test accuracy, one line per seed" if s == seed else None)
            k = 50
            sm = np.convolve(w.losses, np.ones(k) / k, mode="valid")
            a2.plot(np.arange(len(sm)) + k, sm, color=COLORS["relu"], alpha=0.5, lw=1,
                    label="training loss (running mean of 50 batches)" if s == seed else None)
            steps = np.array(h.column("epoch")) * len(w.losses) / len(h)
            a2.plot(steps, h.column("val_loss"), "o", color=COLORS["tanh"], ms=4,
                    label="validation loss after each epoch" if s == seed else None)
        threshold_line(a1, 95, "the lesson's 95 %", COLORS["said"])
        a1.set(xlabel="epoch", ylabel="test accuracy (%)", title="784 → 256 → 10, SGD 0.1, batch 128")
        a1.legend(loc="lower right")
        a2.set(xlabel="step", ylabel="loss", yscale="log", title="Training and validation loss against step")
        a2.legend()
        return fig

    r.plots["accuracy"] = draw
    return r


# --- the bug table --------------------------------------------------------------------------------

class ForgetsToZero:
    """An optimizer that reproduces a forgotten zero_grad: every step uses the sum of all
    gradients so far, as PyTorch's .grad holds them when nobody zeroes it."""

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer
        self.piled: dict[str, np.ndarray] | None = None

    @property
    def lr(self) -> float:
        lr: float = self.optimizer.lr
        return lr

    @lr.setter
    def lr(self, value: float) -> None:
        self.optimizer.lr = value

    @property
    def t(self) -> int:
        return self.optimizer.t

    def step(self, model: Any) -> None:
        if self.piled is None:
            self.piled = {k: np.zeros_like(g) for k, g in model.grads.items()}
        for k, g in model.grads.items():
            self.piled[k] += g                                          # .grad += new gradient
            g[...] = self.piled[k]
        self.optimizer.step(model)

    def state_dict(self) -> dict[str, Any]:
        return self.optimizer.state_dict()

    def load_state_dict(self, sd: Any) -> None:
        self.optimizer.load_state_dict(sd)


@experiment(
    "bug-table", "Five training-loop bugs, five symptoms",
    claim="Each symptom of the lesson's table points to one of its five bugs: loss NaN after step 1 "
          "(lr = 100), loss constant for 1,000 steps (lr = 1e-9), loss falling on train while "
          "validation accuracy sits at 10 % (no shuffling), loss starting near 50 instead of 2.30 "
          "(an init not scaled by √(2/n)); and a forgotten zero_grad.",
    lesson=LESSON, section="Exercises: the training-loop bugs", seconds=(25, 25), needs=MNIST_NEEDS,
    related=("mnist-first-loss", "lr-too-high", "lr-too-low"),
    quick_skips="six MNIST loops on 5 seeds take about 25 seconds",
    fails_with={**{k: dict(huge_lr=0.1, tiny_lr=1e-2, bad_init="he", sort=False, seeds=3, tiny_steps=100,
                           n_train=6400) for k in ("nan-after-1", "constant", "starts-50", "val-10")},
                "train-falls": dict(e_lr=1e-9, seeds=3, tiny_steps=100, n_train=6400)})
def bug_table(quick: bool = False, seed: int = 0, huge_lr: float = 100.0, tiny_lr: float = 1e-9,
              bad_init: str = "normal", sort: bool = True, e_lr: float = 0.1, seeds: int = 5,
              tiny_steps: int = 1000, n_train: int | None = None) -> Result:
    """The lesson's MNIST loop (784 → 256 → 10, SGD 0.1, batch 128) run correctly and with each
    bug, 5 seeds: one epoch (1,000 steps for lr = 1e-9). The validation set is 2,000 test images;
    ``n_train`` (all 60,000 by default) shortens the epoch."""
    data = mnist(n_train, 2000)
    X, y = data.X_train, data.y_train
    order = np.argsort(y, kind="stable")
    chosen = list(range(seed, seed + seeds))
    epoch = math.ceil(len(X) / 128)

    def run(s: int, *, lr: float = 0.1, init: str = "he", opt: Any = None, steps: int = epoch,
            sorted_data: bool = False) -> Watched:
        model = MLP([784, 256, 10], init_method=init, seed=s)
        Xs, ys = (X[order], y[order]) if sorted_data else (X, y)
        return fit(model, Xs, ys, batch_size=128, steps=steps, optimizer=opt or SGD(lr),
                   X_eval=data.X_test, y_eval=data.y_test, every=max(steps // 20, 1), at=(1, 2),
                   shuffle=not sorted_data)

    names = ["correct loop", "(a) forgot zero_grad", f"(b) lr = {num(huge_lr)}", f"(c) lr = {num(tiny_lr)}",
             f"(d) init {bad_init}, not scaled by √(2/n)",
             "(e) no shuffling" + (" (sorted by label)" if sort else "")]
    runs: dict[str, list[Watched]] = {n: [] for n in names}
    for s in chosen:
        runs[names[0]].append(run(s))
        runs[names[1]].append(run(s, opt=ForgetsToZero(SGD(0.1))))
        runs[names[2]].append(run(s, lr=huge_lr))
        runs[names[3]].append(run(s, lr=tiny_lr, steps=tiny_steps))
        runs[names[4]].append(run(s, init=bad_init))
        runs[names[5]].append(run(s, lr=e_lr, sorted_data=sort))
    ok, piled, big, tiny, init, unsorted = (runs[n] for n in names)
    nan_step = [w.diverged_at for w in big]
    worst_nan = max(math.inf if v is None else v for v in nan_step)
    jump = Sample([w.loss_at(2) / w.loss_at(0) if 2 in w.eval_steps else 1e300 for w in big], log=True)
    change = Sample([max(abs(w.loss_at(tiny_steps) / w.loss_at(0) - 1), 1e-12) for w in tiny], log=True)
    start = Sample([w.loss_at(0) for w in init], log=True)
    val = Sample([w.eval_acc[-1] for w in unsorted])
    falls = Sample([min(w.losses) / w.losses[0] for w in unsorted], log=True)
    piled_nan = Share([w.diverged_at is not None for w in piled])
    piled_rise = [max(w.eval_loss) / min(w.eval_loss) for w in piled]

    r = Result()
    r.setups = {"the lesson's": f"MNIST ({len(X):,} training images), 784 → 256 → 10, He init, SGD lr 0.1, "
                                f"batch "
                                "128, one epoch, run correctly and with each bug (lr 1e-9 for 1,000 steps); "
                                f"validation on 2,000 test images; {seeds} seeds"}
    r.checks = [
        at_most("nan-after-1",
                f"(b) lr = {num(huge_lr)}: the loss is NaN after step 1 (on every seed by step 2)",
                worst_nan, 2, ("NaN at steps " + ", ".join(fmt(v) for v in nan_step)) if any(nan_step) else
                f"never NaN in {epoch} steps: the loss jumps {fmt(jump.mean)}× by step 2 and stays finite",
                says="NaN after step 1"),
        at_most("constant",
                f"(c) lr = {num(tiny_lr)}: the loss is constant for {tiny_steps:,} steps (changes "
                "by under 0.1 %)", change, 1e-3, f"changed by {fmt(change.mean)} (relative)", log=True),
        between("val-10", "(e) no shuffling: validation accuracy sits at 10 % (within 5 points)", val, 0.05,
                0.15, f"{pct(val.mean)}", says="10 %"),
        at_most("train-falls", "(e) … while the training loss falls (its lowest batch loss under half the "
                "first)", falls, 0.5, f"lowest / first = {fmt(falls.mean)}", log=True),
        between("starts-50", "(d) init not scaled: the loss starts near 50 instead of 2.30 (within a factor "
                "of 2)", start, 25, 100, f"{fmt(start.mean)}", log=True, says="≈ 50"),
    ]
    r.measurements = {"nan_step[huge lr]": nan_step, "loss_jump_step2[huge lr]": jump.values,
                      "relative_change_1000_steps[tiny lr]": change.values,
                      "first_loss[bad init]": start.values,
                      "val_accuracy[no shuffling]": val.values, "train_loss_last_over_first[no shuffling]":
                      falls.values, "nan[forgot zero_grad]": [w.diverged_at for w in piled],
                      "val_loss_max_over_min[forgot zero_grad]": piled_rise,
                      "val_accuracy[correct]": [w.eval_acc[-1] for w in ok]}
    seen = [
        ["(a) forgot zero_grad", "— (the table gives it no row)",
         (f"NaN on {piled_nan.count} of {piled_nan.n} seeds" if piled_nan.count else "no NaN")
         + f"; validation loss rises to {fmt(float(np.mean(piled_rise)))}× its lowest"],
        [f"(b) lr = {num(huge_lr)}", "loss NaN after step 1", r.checks[0].measured],
        [f"(c) lr = {num(tiny_lr)}", "loss constant for 1,000 steps", r.checks[1].measured],
        ["(e) no shuffling", "train loss falls, validation accuracy 10 %",
         f"{r.checks[2].measured}; train loss lowest/first {fmt(falls.mean)}"],
        ["(d) init not scaled", "loss starts at ~50 instead of ~2.30", f"starts at {fmt(start.mean)}"],
        ["—", "train accuracy 99 %, validation 60 %", "overfitting: none of the five bugs causes it"],
    ]
    r.tables.append(table(["bug", "the lesson's symptom", "what we measured (mean of 5 seeds)"], seen))
    r.found = ("lr 1e-9 leaves the loss constant, no shuffling leaves validation at "
               f"{pct(val.mean, 0)}, but lr 100 " + ("turns the loss NaN" if any(nan_step) else
                                                     f"never gives a NaN (the loss jumps {fmt(jump.mean)}× "
                                                     f"and "
                                                     "stays finite)")
               + f", and an unscaled init starts at {fmt(start.mean)}, not 50.")
    r.why = ("A loss computed from logits with log-sum-exp stays finite however large the logits get, so "
             "a huge rate shows as a huge finite loss and dead units rather than NaN; and N(0, 1) "
             "weights on 784 inputs make logits of size √(784·E[x²])·√256 ≈ 150, so the first loss "
             "is near 150, three times the lesson's 50.")

    def draw(plt: Any) -> Any:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12.5, 4.3))
        colors = ["black", COLORS["sigmoid"], "#8c564b", COLORS["sgd"], COLORS["tanh"], COLORS["adamw"]]
        for (name, ws), color in zip(runs.items(), colors):
            w = ws[0]
            steps = np.array(w.eval_steps) + 1
            a1.plot(steps, w.eval_loss, color=color, lw=2 if name == names[0] else 1.2, label=name)
            a2.plot(steps, 100 * np.array(w.eval_acc), color=color, lw=2 if name == names[0] else 1.2)
        a1.set(xlabel="step + 1", ylabel="validation loss", xscale="log", yscale="log",
               title=f"Each bug: its loss (seed {seed})")
        fig.legend(*a1.get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3,
                   fontsize=8.5)
        threshold_line(a2, 10, "10 %")
        a2.set(xlabel="step + 1", ylabel="validation accuracy (%)", xscale="log", ylim=(0, 100),
               title="… and its accuracy")
        return fig

    r.plots["bugs"] = draw
    return r
