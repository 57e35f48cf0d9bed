"""Lesson 5, "Stacking layers": its parameter count and its noisy-XOR trainer."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..mlp import MLP
from ..nn.init import Initializer
from .pictures import COLORS, boundary, count_bars
from .registry import experiment
from .result import Result, at_least, between, pct
from .stats import Sample, Share
from .training import fit, noisy_xor, seeds_for

LESSON = "stacking"


@experiment(
    "param-count-33", "The 2 → 8 → 1 network has 33 parameters",
    claim="Hidden size 8 with 2 inputs is 8×2 + 8 + 8 + 1 = 33 parameters.",
    lesson=LESSON, section="What this fixes (and what it costs)", seconds=(0.2, 0.2),
    related=("param-count-131",), fails_with={"count": dict(hidden=16)})
def param_count_33(quick: bool = False, seed: int = 0, hidden: int = 8) -> Result:
    """The parameters handgrad allocates for 2 → 8 → 1, counted array by array."""
    model = MLP([2, hidden, 1], ["relu", "sigmoid"], seed=seed)
    per = {k: int(v.size) for k, v in model.params.items()}
    total = sum(per.values())
    r = Result()
    r.setups = {"the lesson's": f"handgrad.MLP([2, {hidden}, 1]): its weight and bias arrays, counted"}
    r.checks = [between("count", "the network has 33 parameters", total, 33, 33, f"{total}", says="33",
                        threshold="= 33")]
    r.measurements = {"parameters": total, **{f"size[{k}]": v for k, v in per.items()}}
    r.found = f"handgrad allocates {total} numbers: " + " + ".join(str(v) for v in per.values()) + "."
    r.why = "8 units × 2 inputs + 8 biases, then 1 output × 8 inputs + 1 bias: 16 + 8 + 8 + 1."

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(6, 2.4))
        count_bars(ax, per, f"[2, {hidden}, 1]: {total} parameters in all")
        return fig

    r.plots["count"] = draw
    return r


def small_init(scale: float) -> Initializer:
    return lambda rng, d_out, d_in: scale * rng.standard_normal((d_out, d_in))


def plateau(losses: list[float], window: int, flat: float = 0.05) -> bool:
    """The loss stays within ``flat`` (5 %) of its start for the first ``window`` steps, then falls
    to under half its start."""
    if len(losses) <= window:
        return False
    start = losses[0]
    early = all(abs(v / start - 1) <= flat for v in losses[:window])
    return early and min(losses[window:]) < 0.5 * start


@experiment(
    "noisy-xor-plateau", "Noisy XOR: a slow start, then a fast drop?",
    claim="A 2 → 8 → 1 network trained on noisy XOR carves the plane into the four regions; its loss "
          "is not always smooth — the first few iterations often go nowhere while the random init "
          "untangles itself, then it drops fast.",
    lesson=LESSON, section="Train on XOR", seconds=(2, 4),
    related=("xor-2-4-1", "param-count-33", "perceptron-and-xor"),
    fails_with={"solves": dict(steps=3, lr=0.01), "plateau": dict(window=900, seeds=10)})
def noisy_xor_plateau(quick: bool = False, seed: int = 0, steps: int = 1000, lr: float = 0.5,
                      init_scale: float = 0.0, window: int = 10, seeds: int | None = None) -> Result:
    """2 → 8 → 1 (ReLU, sigmoid output, He init unless ``init_scale`` > 0), full-batch gradient
    descent at lr 0.5 for 1,000 steps on 200 noisy XOR points (clouds of σ = 0.35 around (±1, ±1)),
    10 seeds (5 with --quick); a plateau is a loss within 5 % of its start for the first ``window``
    (10) steps, then below half of it. The lesson gives neither the init nor the rate; a variant starts
    from small weights N(0, 0.1²)."""
    chosen = list(range(seed, seed + seeds)) if seeds else seeds_for(quick, seed)

    def runs(scale: float) -> list[tuple[MLP, Any, float, np.ndarray, np.ndarray]]:
        out = []
        for s in chosen:
            X, y = noisy_xor(s)
            model = MLP([2, 8, 1], ["relu", "sigmoid"], small_init(scale) if scale else "he", seed=s)
            w = fit(model, X, y, batch_size=None, steps=steps, lr=lr)
            out.append((model, w, model.score(X, y), X, y))
        return out

    lesson = runs(init_scale)
    small = runs(0.1) if not init_scale else lesson
    acc = Sample([a for _, _, a, _, _ in lesson])
    flat = Share([plateau(w.losses, window) for _, w, _, _, _ in lesson])
    flat_small = Share([plateau(w.losses, window) for _, w, _, _, _ in small])
    r = Result()
    r.setups = {"the lesson's": f"2 → 8 → 1, ReLU and sigmoid, "
                                f"{'He' if not init_scale else f'N(0, {init_scale:g}²)'} "
                                f"init, full-batch lr {lr:g}, {steps:,} steps on 200 noisy XOR points; "
                                f"{len(chosen)} seeds "
                                "(the lesson gives neither init nor rate)",
                "variant: small init": "weights N(0, 0.1²): the network starts almost flat"}
    r.checks = [at_least("solves", "it carves the plane into XOR's four regions: accuracy ≥ 95 %", acc, 0.95,
                         pct(acc.mean)),
                at_least("plateau",
                         f"the first few steps often go nowhere (the loss within 5 % of its start for "
                         f"{window} steps, then down by half): in at least 30 % of runs", flat, 0.3,
                         f"{flat.count} of {flat.n} runs"),
                at_least("plateau", "the same from small weights", flat_small, 0.3, f"{flat_small.count} of "
                         f"{flat_small.n} runs", variant="small init")]
    r.measurements = {"accuracy": acc.values, "plateau": flat.hits, "plateau[small init]": flat_small.hits}
    r.found = (f"The network reaches {pct(acc.mean)} on noisy XOR; its loss starts with a plateau in "
               f"{flat.count} of "
               f"{flat.n} runs from He init and in {flat_small.count} of {flat_small.n} from small weights.")
    r.why = ("From He-scaled weights the hidden units already point in useful directions and the loss falls "
             "from the first step. Small weights start the network near a saddle — every unit almost "
             "the same and the output near ½ everywhere — and the gradient needs many steps to break "
             "the symmetry before the loss drops: the plateau the lesson describes is a property of "
             "the start, not of XOR.")

    def draw(plt: Any) -> Any:
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), gridspec_kw={"width_ratios": [1.4, 1, 1]})
        curves = ((lesson, COLORS["relu"], "He init"), (small, COLORS["tanh"], "N(0, 0.1²) init"))
        for runs_, c, name in curves:
            for i, (_, w, _, _, _) in enumerate(runs_):
                axes[0].plot(np.arange(1, len(w.losses) + 1), w.losses, color=c, alpha=0.6, lw=1,
                             label=name if i == 0 else None)
        axes[0].axvline(window, color="0.5", ls=":", lw=1)
        axes[0].set(xscale="log", yscale="log", xlabel="step", ylabel="training loss",
                    title="Loss curves, one per seed")
        axes[0].legend(loc="lower left")
        for ax, runs_, name in ((axes[1], lesson, "He"), (axes[2], small, "N(0, 0.1²)")):
            model, _, a, X, y = runs_[0]
            boundary(ax, model, X, y, f"{name} init: {pct(a, 0)}", margin=0.3, size=9)
            ax.set_aspect("equal")
        return fig

    r.plots["xor"] = draw
    return r
