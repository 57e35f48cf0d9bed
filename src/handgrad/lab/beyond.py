"""Claims the lessons do not make, kept because they explain the ones they do. Each is ours, and
the report lists it apart from the lessons'."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..mlp import MLP
from ..nn.norms import NORMS
from ..optim import SGD, Adam
from .pictures import COLORS, boundary, dot_strip, threshold_line
from .primitives import Probe, drive, quadrant_run
from .registry import experiment
from .result import Result, at_least, at_most, fmt, num, pct, table
from .stats import Sample
from .training import MNIST_NEEDS, fit, lesson_quadrants, mnist, seeds_for


@experiment(
    "three-hidden-quadrants", "One hidden layer or three on the quadrants",
    claim="The lesson asks whether three hidden layers converge faster, slower or as fast as one on the "
          "quadrant task; our answer: no slower — they reach 95 % in at most as many steps.",
    lesson=None, section="the quadrant task, lesson 2's exercise 2", seconds=(1, 2),
    related=("quadrant-95", "unit-variance-init-shallow"),
    fails_with={"no-slower": dict(lr_deep=0.002)})
def three_hidden_quadrants(quick: bool = False, seed: int = 0, lr_deep: float = 0.1) -> Result:
    """2 → 16 → 4 against 2 → 16 → 16 → 16 → 4 on the lesson's quadrant task (He, SGD lr 0.1, batch
    64, 500 steps): the first evaluated step at which the accuracy on all 1,000 points reaches 95 %."""
    seeds = seeds_for(quick, seed)

    def first95(w: Any) -> float:
        step = w.first_step(lambda a: a >= 0.95, "acc")
        return 1000.0 if step is None else float(max(step, 1))

    one = {s: first95(quadrant_run(s)) for s in seeds}
    three = {s: first95(quadrant_run(s, lr=lr_deep, hidden=(16, 16, 16))) for s in seeds}
    ratio = Sample([three[s] / one[s] for s in seeds], log=True)
    r = Result()
    r.setups = {"ours": "the quadrant task (lesson 2): 2 → 16 → 4 against 2 → 16 → 16 → 16 → 4, He init, SGD "
                        f"lr 0.1, batch 64, 500 steps, accuracy on all 1,000 points every 10 steps; "
                        f"{len(seeds)} seeds"}
    r.checks = [at_most("no-slower", "three hidden layers reach 95 % in at most as many steps as one", ratio,
                        1.0,
                        f"{fmt(ratio.mean)}× one layer's steps", log=True)]
    r.measurements = {"steps_to_95[one]": list(one.values()), "steps_to_95[three]": list(three.values())}
    r.found = (f"Three hidden layers need {fmt(ratio.mean)}× the steps of one to reach 95 % (geometric "
               f"mean; one layer: "
               f"{fmt(float(np.exp(np.mean(np.log(list(one.values()))))))} steps).")
    r.why = ("The task needs only two straight lines. He init keeps a deeper net's gradients at full size, "
             "so "
             "nothing slows it down, and its extra layers give the first steps more units to move: it gets "
             "there "
             "somewhat sooner.")

    def draw(plt: Any) -> Any:
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), gridspec_kw={"width_ratios": [1.1, 1, 1]})
        dot_strip(axes[0], {"1 hidden layer": list(one.values()), "3 hidden layers": list(three.values())},
                  [COLORS["relu"], COLORS["tanh"]], "steps to 95 %", log=True)
        axes[0].set_title("One dot per seed")
        X, y = lesson_quadrants(seed)
        shown = (("1 hidden layer", quadrant_run(seed)),
                 ("3 hidden layers", quadrant_run(seed, lr=lr_deep, hidden=(16, 16, 16))))
        for ax, (name, w) in zip(axes[1:], shown):
            boundary(ax, w.model, X, y, f"{name}, after 500 steps")
        return fig

    r.plots["depth"] = draw
    return r


def bowl_steps(kappa: float, optimizer: Any, steps: int, start: tuple[float, float],
               tol: float) -> tuple[int | None, np.ndarray]:
    """(first step with f ≤ tol or None, the path) of ``optimizer`` on x² + κy² from ``start``."""
    probe = drive(Probe(np.array(start), lambda th: np.array([2 * th[0], 2 * kappa * th[1]]),
                        lambda th: float(th[0] ** 2 + kappa * th[1] ** 2)), optimizer, steps)
    path = np.array(probe.path)
    f = path[:, 0] ** 2 + kappa * path[:, 1] ** 2
    hit = np.flatnonzero(f <= tol)
    return (int(hit[0]) if len(hit) else None), path


@experiment(
    "elongated-bowl", "Momentum's advantage grows with the elongation",
    claim="On the bowl x² + κy², plain gradient descent at its best rate needs steps in proportion to κ, "
          "momentum (heavy ball, Nesterov) at its best settings in proportion to √κ: at κ = 10 they are "
          "close, at κ = 1,000 momentum needs far fewer.",
    lesson=None, section="optimizers, after lesson 2's elongated quadratic", seconds=(1, 2),
    related=("adam-normalizes-steps", "momentum-memory", "sgd-momentum-adam"),
    fails_with={"far-fewer": dict(kappas=(10.0, 10.0)), "close": dict(kappas=(1000.0, 1000.0))})
def elongated_bowl(quick: bool = False, seed: int = 0, kappas: tuple[float, float] = (10.0, 1000.0),
                   start: tuple[float, float] = (-1.0, 0.1), tol: float = 1e-8) -> Result:
    """Each method at its theoretical best setting for x² + κy² (eigenvalues 2 and 2κ): gradient
    descent at lr 1/(1 + κ); heavy ball at lr 4/(√2 + √(2κ))², μ = ((√κ − 1)/(√κ + 1))²; Nesterov at
    lr 1/(2κ), μ = (√κ − 1)/(√κ + 1); Adam at the best of a small grid of rates. Steps until
    f ≤ 1e-8, driven by handgrad's loop."""
    results: dict[tuple[float, str], tuple[int | None, np.ndarray]] = {}
    for k in kappas:
        q = math.sqrt(k)
        settings = {"gradient descent": SGD(1 / (1 + k)),
                    "heavy ball": SGD(4 / (math.sqrt(2) + math.sqrt(2 * k)) ** 2,
                                      momentum=((q - 1) / (q + 1)) ** 2),
                    "Nesterov": SGD(1 / (2 * k), momentum=(q - 1) / (q + 1), nesterov=True)}
        budget = int(8 * k + 2000)
        for name, opt in settings.items():
            results[k, name] = bowl_steps(k, opt, budget, start, tol)
        tried = [bowl_steps(k, Adam(lr), budget, start, tol) for lr in (1e-3, 1e-2, 1e-1)]
        results[k, "Adam"] = min(tried, key=lambda got: math.inf if got[0] is None else got[0])
    small, big = kappas

    def steps(k: float, m: str) -> float:
        v = results[k, m][0]
        return math.inf if v is None else float(v)

    adv = {k: steps(k, "gradient descent") / min(steps(k, "heavy ball"), steps(k, "Nesterov"))
           for k in kappas}
    r = Result()
    r.setups = {"ours": f"x² + κy² for κ = {num(small)} and {num(big)} from {start}; each method at its "
                        f"best setting "
                        "(theory for gradient descent and the momentum methods, a grid for Adam); steps to "
                        "f ≤ 1e-8"}
    r.checks = [at_least("far-fewer",
                         f"at κ = {num(big)} momentum needs far fewer steps (at least 5× fewer)", adv[big],
                         5.0, f"gradient descent {fmt(steps(big, 'gradient descent'))} steps, momentum "
                              f"{fmt(min(steps(big, 'heavy ball'), steps(big, 'Nesterov')))}", log=True),
                at_most("close", f"at κ = {num(small)} the advantage is small (under 5×)", adv[small], 5.0,
                        f"{fmt(adv[small])}×", log=True)]
    r.measurements = {f"steps[κ={num(k)}, {m}]": results[k, m][0] for k in kappas
                      for m in ("gradient descent", "heavy ball", "Nesterov", "Adam")}
    methods = ("gradient descent", "heavy ball", "Nesterov", "Adam")
    r.tables.append(table(["bowl", *methods],
                          [[f"x² + {num(k)}y²", *(fmt(results[k, m][0]) for m in methods)] for k in kappas],
                          "Steps to f ≤ 1e-8"))
    r.found = (f"Momentum is {fmt(adv[small])}× faster than gradient descent at κ = {num(small)} and "
               f"{fmt(adv[big])}× "
               f"at κ = {num(big)}.")
    r.why = ("Gradient descent's rate is capped by the steep direction (lr < 1/κ), so the flat direction "
             "shrinks "
             "by only about 1 − 1/κ per step; momentum builds speed along the flat direction and its error "
             "shrinks by about 1 − 1/√κ, so its steps grow like √κ.")

    def draw(plt: Any) -> Any:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12.5, 4.2))
        colors = {"gradient descent": COLORS["sgd"], "heavy ball": COLORS["momentum"],
                  "Nesterov": COLORS["nesterov"],
                  "Adam": COLORS["adam"]}
        k = small
        gx, gy = np.meshgrid(np.linspace(-1.1, 0.3, 300), np.linspace(-0.12, 0.12, 300))
        a1.contour(gx, gy, gx ** 2 + k * gy ** 2, levels=np.geomspace(1e-3, 1.2, 12), colors="0.8",
                   linewidths=0.6)
        for m, c in colors.items():
            path = results[k, m][1][:60]
            a1.plot(path[:, 0], path[:, 1], ".-", ms=3, lw=1, color=c, label=m)
        a1.plot(0, 0, "k*", ms=9)
        a1.set(xlabel="x", ylabel="y", title=f"x² + {num(k)}y²: the first 60 steps")
        a1.legend(loc="lower right", fontsize=8)
        for kk, ls in ((small, ":"), (big, "-")):
            for m, c in colors.items():
                path = results[kk, m][1]
                f = path[:, 0] ** 2 + kk * path[:, 1] ** 2
                below = np.flatnonzero(f <= tol * 1e-4)
                f = f[: below[0] + 1] if len(below) else f          # each curve until it is done
                a2.loglog(np.arange(1, len(f) + 1), np.maximum(f, 1e-16), ls, color=c, lw=1.3,
                          label=f"{m}" if kk == big else None)
        threshold_line(a2, tol, "1e-8")
        a2.set(xlabel="step", ylabel="f(x, y)", ylim=(1e-12, 10),
               title=f"f along the way: κ = {num(big)} (solid), κ = {num(small)} (dotted)")
        a2.legend(loc="lower left", fontsize=8)
        return fig

    r.plots["bowl"] = draw
    return r


def mc_dropout(model: MLP, X: np.ndarray, samples: int) -> np.ndarray:
    """(samples, n, K): the network's probabilities with fresh dropout masks each time."""
    out = []
    for _ in range(samples):
        a = X
        for layer in model.layers:
            a = layer.forward(a, training=True)                          # masks drawn from model.rng
        out.append(a)
    return np.array(out)


@experiment(
    "dropout-ensemble", "Dropout as an ensemble",
    claim="A network trained with dropout and run in evaluation mode predicts like the average of many "
          "sampled dropout networks.",
    lesson=None, section="dropout, after lesson 4", seconds=(3, 12), needs=MNIST_NEEDS,
    related=("inverted-dropout", "weight-decay-overfitting"),
    fails_with={"agree": dict(p=0.9, epochs=1, samples=1), "same-accuracy": dict(p=0.9, epochs=1, samples=1)})
def dropout_ensemble(quick: bool = False, seed: int = 0, p: float = 0.5, epochs: int | None = None,
                     samples: int | None = None) -> Result:
    """784 → 256 → 256 → 10 with dropout ``p`` trained on MNIST (5,000 images for 3 epochs with --quick,
    30,000 for 5 in full; SGD lr 0.1, batch 64), 5 seeds; on 1,000 test images, the
    evaluation-mode network against the average of ``samples`` networks with fresh masks (32
    with --quick, 64 in full)."""
    epochs = epochs or (3 if quick else 5)
    samples = samples or (32 if quick else 64)
    n_train = 5000 if quick else 30000
    data = mnist(n_train, 1000)
    agree, gap, accs = [], [], []
    for s in range(seed, seed + 5):
        model = MLP([784, 256, 256, 10], seed=s, dropout=p)
        fit(model, data.X_train, data.y_train, batch_size=64, epochs=epochs, lr=0.1)
        p_eval = model.predict_proba(data.X_test)                         # (n, K)
        p_avg = mc_dropout(model, data.X_test, samples).mean(axis=0)       # (n, K)
        agree.append(float(np.mean(p_eval.argmax(1) == p_avg.argmax(1))))
        acc_eval = float(np.mean(p_eval.argmax(1) == data.y_test))
        acc_avg = float(np.mean(p_avg.argmax(1) == data.y_test))
        gap.append(abs(acc_eval - acc_avg))
        accs.append((acc_eval, acc_avg))
    agree_s, gap_s = Sample(agree), Sample([max(g, 1e-4) for g in gap], log=True)
    r = Result()
    r.setups = {"ours": f"MNIST ({n_train:,} training images, {epochs} epochs), 784 → 256 → 256 → 10, "
                        f"dropout {p:g} on both "
                        f"hidden layers, SGD lr 0.1, batch 64; 1,000 test images; {samples} sampled "
                        f"networks; 5 seeds"}
    r.checks = [at_least("agree", "they predict the same label for nearly every image (≥ 95 %)", agree_s,
                         0.95,
                         pct(agree_s.mean)),
                at_most("same-accuracy", "their accuracies are within 1 point", gap_s, 0.01,
                        f"{100 * gap_s.mean:.2f} "
                        "points apart")]
    r.measurements = {"label_agreement": agree, "accuracy_gap": gap}
    r.found = (f"The evaluation-mode network and the average of {samples} sampled networks give the same "
               f"label for {pct(agree_s.mean)} of the images; their accuracies are {100 * gap_s.mean:.2f} "
               "points apart.")
    r.why = ("Inverted dropout keeps each unit's expected value, so the evaluation-mode network passes on "
             "the "
             "average of what the first dropout layer would; through the later ReLUs and the softmax that is "
             "an approximation, close while the network is not too non-linear.")

    def draw(plt: Any) -> Any:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.6))
        dot_strip(a1, {"same label": [100 * a for a in agree]}, [COLORS["relu"]],
                  "images given the same label (%)", said=95, said_label="95 %")
        a1.set_title("Evaluation mode and the average: the same labels?")
        for i, (e, a) in enumerate(accs):
            a2.plot([0, 1], [100 * e, 100 * a], "o-", color=COLORS["relu"], alpha=0.7,
                    label="one seed" if i == 0 else None)
        a2.set_xticks([0, 1], ["evaluation mode", f"average of {samples}"])
        a2.set(xlim=(-0.4, 1.4), ylabel="test accuracy (%)", title="Their accuracies, seed by seed")
        a2.legend()
        return fig

    r.plots["ensemble"] = draw
    return r


def scaled(scale: float) -> Any:
    """Weights N(0, scale²) in every layer, whatever its fan-in."""
    return lambda rng, d_out, d_in: scale * rng.standard_normal((d_out, d_in))


@experiment(
    "normalization-grid", "BatchNorm widens the settings that train",
    claim="BatchNorm lets a deep network train at learning rates and weight scales where the same network "
          "without it does not.",
    lesson=None, section="normalization, after lesson 4", seconds=(12, 12), needs=MNIST_NEEDS,
    related=("batchnorm-modes", "layernorm-rmsnorm", "init-variance-factor"),
    fails_with={"wider": dict(norms=("none", "none"), seeds=2)},
    quick_skips="120 short trainings take about 15 seconds")
def normalization_grid(quick: bool = False, seed: int = 0, norms: tuple[str, str] = ("none", "batch"),
                       rates: tuple[float, ...] = (0.01, 0.1, 1.0), width: int = 50, depth: int = 8,
                       seeds: int = 5) -> Result:
    """[784] + [50] × 7 + [10], ReLU, on 1,000 MNIST images (SGD, batch 50, 4 epochs), weights N(0, s²) with
    s from 1e-3 to 1 in every layer, at each rate; a cell 'trains' when it reaches 80 % of the best
    accuracy of the whole grid on 1,000 held-out images. With and without BatchNorm after each hidden
    layer, 5 seeds."""
    data = mnist(1000, 1000)
    scales = list(np.geomspace(1e-3, 1, 4))
    sizes = [784] + [width] * (depth - 1) + [10]
    chosen = range(seed, seed + seeds)
    acc = {n: np.zeros((len(chosen), len(rates), len(scales))) for n in dict.fromkeys(norms)}
    for n in acc:
        for a, s in enumerate(chosen):
            for i, lr in enumerate(rates):
                for j, sc in enumerate(scales):
                    model = MLP(sizes, seed=s, norm=None if n == "none" else n, init_method=scaled(sc))
                    w = fit(model, data.X_train, data.y_train, batch_size=50, epochs=4, lr=lr)
                    acc[n][a, i, j] = 0.0 if w.diverged_at else model.score(data.X_test, data.y_test)
    best = max(float(v.max()) for v in acc.values())
    trains = {n: (v >= 0.8 * best).reshape(len(chosen), -1).sum(axis=1) for n, v in acc.items()}
    plain, withbn = norms
    more = Sample((trains[withbn] - trains[plain]).astype(float).tolist())
    cells = len(rates) * len(scales)
    r = Result()
    r.setups = {"ours": f"MNIST, 1,000 training and 1,000 held-out images; {depth} weight layers of "
                        f"{width}, ReLU; SGD batch "
                        f"50, 4 epochs; rates {', '.join(num(x) for x in rates)} × weight scales 1e-3 to 1; "
                        f"{seeds} seeds"}
    r.checks = [at_least("wider",
                         f"{withbn} trains in more cells of the grid than {plain} (at least 1 more)", more,
                         1.0,
                         f"{more.mean:+.1f} cells of {cells}")]
    r.measurements = {f"cells_that_train[{n}]": t.tolist() for n, t in trains.items()}
    r.found = (f"Of {cells} settings, the plain network trains in {np.mean(trains[plain]):.1f} and the "
               f"BatchNorm one in "
               f"{np.mean(trains[withbn]):.1f} (means over {seeds} seeds).")
    r.why = ("With one weight scale for every layer the plain network's signal shrinks or grows layer by "
             "layer "
             "until nothing trains; BatchNorm rescales each layer's output to unit size whatever the "
             "weights, "
             "so the scale stops mattering and larger rates become safe.")

    def draw(plt: Any) -> Any:
        fig, axes = plt.subplots(1, len(acc), figsize=(5 * len(acc), 3.4), sharey=True, squeeze=False)
        for ax, (n, v) in zip(axes[0], acc.items()):
            m = 100 * v.mean(axis=0)
            ax.imshow(m, cmap="viridis", vmin=0, vmax=100, aspect="auto", origin="lower")
            for i in range(len(rates)):
                for j in range(len(scales)):
                    ax.text(j, i, f"{m[i, j]:.0f}", ha="center", va="center", fontsize=8,
                            color="white" if m[i, j] < 60 else "black")
            ax.set_xticks(range(len(scales)), [fmt(float(s)) for s in scales], fontsize=8)
            ax.set_yticks(range(len(rates)), [num(x) for x in rates])
            name = "no norm" if n == "none" else NORMS[n].label
            ax.set(xlabel="weight scale", title=f"{name}: held-out accuracy (%, mean of {seeds} seeds)")
            ax.grid(False)
        axes[0][0].set_ylabel("learning rate")
        return fig

    r.plots["grid"] = draw
    return r


@experiment(
    "practical-checks", "A tiny batch overfits; the update-to-weight ratio",
    claim="Two practitioner's checks: a network can overfit a tiny batch (10 images) to near-zero loss, and "
          "at a good learning rate each step changes the weights by about 1e-3 of their size.",
    lesson=None, section="diagnostics, after lesson 4", seconds=(3, 6), needs=MNIST_NEEDS,
    related=("mnist-deep-diagnostics", "lr-range-sgd"),
    fails_with={"overfit": dict(tiny_steps=5), "ratio": dict(lr=10.0)})
def practical_checks(quick: bool = False, seed: int = 0, tiny_steps: int = 300, lr: float = 0.1) -> Result:
    """784 → 256 → 10 on the first 10 MNIST images, full batch, Adam 1e-3; then on MNIST (SGD ``lr``,
    batch 128, 150 steps), per layer the median of ‖ΔW‖/‖W‖ over the steps; 5 seeds."""
    data = mnist(12800, 1000)
    seeds = range(seed, seed + 5)
    final, ratios, medians = [], [], []
    for s in seeds:
        model = MLP([784, 256, 10], seed=s)
        w = fit(model, data.X_train[:10], data.y_train[:10], batch_size=None, steps=tiny_steps,
                optimizer=Adam(1e-3))
        final.append(w.losses[-1])
        model = MLP([784, 256, 10], seed=s)
        before = [layer.W.copy() for layer in model.layers]
        per: list[list[float]] = [[] for _ in model.layers]

        def after(t: int, m: Any, before: list[np.ndarray] = before,
                  per: list[list[float]] = per) -> None:
            for i, layer in enumerate(m.layers):
                per[i].append(float(np.linalg.norm(layer.W - before[i]) / np.linalg.norm(before[i])))
                before[i][...] = layer.W

        fit(model, data.X_train, data.y_train, batch_size=128, steps=150, lr=lr, on_step=after)
        meds = [float(np.median(v)) for v in per]
        medians.append(meds)
        ratios.append(max(abs(math.log10(m / 1e-3)) if m > 0 else math.inf for m in meds))
    loss = Sample(final, log=True)
    worst = Sample(ratios)
    r = Result()
    r.setups = {"ours": "MNIST; the tiny batch: the first 10 training images, 784 → 256 → 10, Adam 1e-3, "
                        "full batch, "
                        f"{tiny_steps} steps; the ratio: 784 → 256 → 10, SGD lr {num(lr)}, batch 128, 150 "
                        f"steps; 5 seeds"}
    r.checks = [at_most("overfit", "10 images are overfitted to near-zero loss (below 0.01)", loss, 0.01,
                        fmt(loss.mean), log=True),
                at_most("ratio",
                        f"at lr {num(lr)} every layer's median ‖ΔW‖/‖W‖ is within one decade of 1e-3", worst,
                        1.0,
                        f"the farthest layer is {worst.mean:.2f} decades from 1e-3")]
    r.measurements = {"tiny_batch_loss": final, "decades_from_1e-3": ratios}
    r.found = (f"The 10 images are fitted to a loss of {fmt(loss.mean)}; at lr {num(lr)} every layer's "
               f"update is within "
               f"{worst.mean:.2f} decades of 1e-3 of its weights.")
    r.why = ("Ten examples and 200,000 weights: the network can memorise them, and failing to is a sign of "
             "a bug. "
             "The update-to-weight ratio is lr·‖g‖/‖W‖; near 1e-3 a layer learns without overwriting what it "
             "holds, far above it the updates swamp the weights.")

    def draw(plt: Any) -> Any:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.6))
        dot_strip(a1, {"10 images": final}, [COLORS["relu"]], "loss after the tiny-batch run", log=True)
        threshold_line(a1, 0.01, "0.01")
        a1.set_title("Overfitting 10 images, one dot per seed")
        dot_strip(a2, {f"layer {i + 1}": [m[i] for m in medians] for i in range(len(medians[0]))},
                  [COLORS["relu"], COLORS["tanh"]], "median ‖ΔW‖ / ‖W‖ per step", log=True)
        a2.axhspan(1e-4, 1e-2, color=COLORS["nesterov"], alpha=0.1)
        threshold_line(a2, 1e-3, "1e-3")
        a2.set_title(f"The update-to-weight ratio at lr {num(lr)}")
        return fig

    r.plots["checks"] = draw
    return r

