"""Training dynamics — the lesson's perturbations and its bug table: experiments 13 to 16."""

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
    num,
    steps_to,
    text_table,
    train_steps,
)
from .pictures import boundary

SECTION = "Training dynamics"
MNIST_NEEDS = "MNIST (or the 8x8 digits with --quick)"


def dead_fraction(model, X):
    """The share of hidden ReLU units that output 0 for every row of X."""
    model.forward(X, training=False)
    a = model.layers[0].a                                               # (n, hidden)
    return float(np.mean(np.all(a <= 0, axis=0)))


@experiment(13, "learning-rate", "Too large diverges, too small stalls",
            "lr = 5.0 diverges; lr = 1e-5 makes no visible progress for many steps; a "
            "learning-rate sweep shows the usable range.", SECTION, seconds=(8, 40),
            needs=MNIST_NEEDS)
def learning_rate(quick=False, seed=0, high=5.0, low=1e-5, rates=None, steps=None,
                  max_low_steps=None, visible=0.01, epoch=469):
    """The lesson's network (784 → 256 → 10, SGD, batch 128) trained at each rate from the
    same init on the same batches; the loss is measured on held-out images.

    'Diverges': the loss turns NaN or the net collapses to chance accuracy. 'Visible
    progress': the held-out loss 1% below where it started; 'many steps': more than an
    MNIST epoch (469 steps of 128).
    """
    rates = rates or ([1e-5, 1e-3, 1e-2, 0.1, 1.0, 5.0] if quick else
                      [1e-5, 1e-4, 1e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 2.0, 5.0, 10.0])
    rates = sorted(set(rates) | {high, low})
    steps = steps or (150 if quick else 400)
    max_low_steps = max_low_steps or (2000 if quick else 5000)
    data = mnist(quick, n_train=10000 if quick else 30000, n_test=1000)
    X, y, X_eval, y_eval = data.X_train, data.y_train, data.X_test, data.y_test
    sizes = [data.n_features, 256, 10]
    plan = batches(len(X), 128, steps, seed)
    runs = {}
    for lr in rates:
        model = MLP(sizes, seed=seed)
        runs[lr] = train_steps(model, X, y, SGD(lr), plan, every=max(steps // 30, 1),
                               X_eval=X_eval, y_eval=y_eval)
        runs[lr]["dead"] = dead_fraction(model, X_eval)
    start = runs[low]["eval_loss"][0]
    slow = train_steps(MLP(sizes, seed=seed), X, y, SGD(low),
                       batches(len(X), 128, max_low_steps, seed), every=25,
                       X_eval=X_eval, y_eval=y_eval,
                       until=lambda c: c["eval_loss"][-1] <= (1 - visible) * start)
    n_flat = steps_to(slow["eval_loss"], (1 - visible) * start, slow["step"])

    def last(lr, key):
        c = runs[lr]
        return c[key][-1] if c["diverged_at"] is None else math.nan

    final = {lr: last(lr, "eval_loss") for lr in rates}
    acc = {lr: last(lr, "eval_acc") for lr in rates}
    usable = [lr for lr in rates if final[lr] < 0.5 * start]
    best = min((lr for lr in rates if math.isfinite(final[lr])), key=final.get)
    hi = runs[high]
    diverged = hi["diverged_at"] is not None or acc[high] < 0.2     # twice chance (10 classes)
    if hi["diverged_at"]:
        seen = f"the loss turned NaN at step {hi['diverged_at']}"
    else:
        seen = (f"the mini-batch loss jumped to {fmt(max(hi['loss']))}; after {steps} steps the "
                f"held-out loss is {fmt(final[high])} and the accuracy {100 * acc[high]:.1f}% "
                f"(chance: 10%), {100 * hi['dead']:.0f}% of the ReLUs dead")

    r = Result()
    r.measurements = {"rates": rates, "final_loss": [final[lr] for lr in rates],
                      "final_accuracy": [acc[lr] for lr in rates], "start_loss": start,
                      f"steps_without_visible_progress[lr={num(low)}]": n_flat,
                      "usable_rates": usable, f"dead_relu_fraction[lr={num(high)}]": hi["dead"]}
    r.checks = [
        Check(f"lr = {num(high)} diverges", seen, diverged),
        Check(f"lr = {num(low)} makes no visible progress for many steps (the loss not 1% lower "
              f"within an MNIST epoch, {epoch} steps of 128)",
              f"the loss first fell 1% below its start ({start:.3f}) after {fmt(n_flat)} steps"
              + ("" if n_flat else f" — not within {max_low_steps:,}"),
              n_flat is None or n_flat > epoch),
        Check("the sweep shows a usable range (rates that halve the loss in the budget)",
              f"usable: {fmt(min(usable))} to {fmt(max(usable))}; best {fmt(best)}"
              if usable else "no rate halved the loss",
              bool(usable) and high not in usable and low not in usable),
    ]
    r.table = text_table(["lr", f"held-out loss after {steps} steps", "accuracy", "dead ReLUs"],
                         [[fmt(lr), fmt(final[lr]), fmt(100 * acc[lr]) + "%",
                           f"{100 * runs[lr]['dead']:.0f}%"] for lr in rates])
    r.notes.append(f"{data.name} [{sizes[0]}, 256, 10], SGD, batch 128, {len(X):,} training "
                   "images; every rate starts from the same weights and sees the same batches; "
                   f"loss and accuracy on {len(X_eval):,} held-out images.")
    if data.note:
        r.notes.append(data.note)

    def draw(plt):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4))
        cmap = plt.get_cmap("viridis")
        for j, lr in enumerate(rates):
            c = runs[lr]
            a1.plot(c["step"], c["eval_loss"], color=cmap(j / max(len(rates) - 1, 1)),
                    label=f"lr {num(lr)}")
        a1.set(xlabel="step", ylabel="held-out loss", yscale="log",
               title="Loss curves, one per learning rate")
        a1.legend(ncol=2, fontsize=7)
        ok = [lr for lr in rates if math.isfinite(final[lr])]
        a2.semilogx(ok, [final[lr] for lr in ok], "o-", color=COLORS["relu"])
        a2.axhline(start, color="0.5", ls=":", lw=0.8, label="starting loss")
        a2.axhline(0.5 * start, color="0.5", ls="--", lw=0.8, label="half the starting loss")
        if usable:
            a2.axvspan(min(usable), max(usable), color="#2ca02c", alpha=0.1, label="usable range")
        a2.set(xlabel="learning rate", ylabel=f"held-out loss after {steps} steps", yscale="log",
               title=f"The sweep; lr {num(low)} first shows 1% progress after {fmt(n_flat)} steps")
        a2.legend()
        return fig

    r.plots["sweep"] = draw
    return r


@experiment(14, "width-one", "A hidden layer of width 1 plateaus",
            "A hidden layer of width 1 on 3-class blobs plateaus (the lesson says at about 33 %).",
            SECTION, seconds=(2, 13))
def width_one(quick=False, seed=0, seeds=None, steps=None, widths=(1, 2, 16), lr=0.05,
              lesson_accuracy=1 / 3):
    """[4, w, 3] ReLU nets on the three 4-D blobs, SGD lr 0.05, batch 32; accuracy on all
    300 points along the way, for each seed."""
    n_seeds = seeds or (3 if quick else 5)
    steps = steps or (1000 if quick else 2000)
    X, y = make_blobs(seed=seed)
    curves = {}
    for w in widths:
        for s in range(seed, seed + n_seeds):
            model = MLP([4, w, 3], seed=s)
            curves[w, s] = train_steps(model, X, y, SGD(lr), batches(len(X), 32, steps, s),
                                       every=max(steps // 40, 1), X_eval=X, y_eval=y)
    final = {w: [curves[w, s]["eval_acc"][-1] for s in range(seed, seed + n_seeds)] for w in widths}
    med = {w: float(np.median(v)) for w, v in final.items()}
    one, wide = widths[0], widths[-1]

    r = Result()
    r.measurements = {f"final_accuracy[width {w}]": v for w, v in final.items()}
    r.checks = [
        Check(f"width {one} plateaus below a wide layer (width {wide})",
              f"median accuracy {100 * med[one]:.1f}% against {100 * med[wide]:.1f}%",
              med[one] < med[wide] - 0.02),
        Check(f"it plateaus at about {100 * lesson_accuracy:.0f}% (within 10 points)",
              f"final accuracy per seed: {', '.join(f'{100 * a:.0f}%' for a in final[one])}",
              abs(med[one] - lesson_accuracy) <= 0.10),
    ]
    r.table = text_table(["width", "final accuracy per seed", "median"],
                         [[w, ", ".join(f"{100 * a:.1f}%" for a in v), f"{100 * med[w]:.1f}%"]
                          for w, v in final.items()])
    r.notes.append(f"{n_seeds} seeds × {steps:,} steps. One ReLU unit gives the output layer a "
                   "single number h ≥ 0; three straight lines in h can still carve it into three "
                   "intervals, so where the three blobs fall in order along some direction, one "
                   "unit can separate them. It fails (33%) when the unit dies and plateaus near "
                   "67% when the unit merges two blobs into its zero side.")

    def draw(plt):
        fig, ax = plt.subplots(figsize=(7, 4))
        shades = dict(zip(widths, (COLORS["sigmoid"], COLORS["tanh"], COLORS["relu"])))
        for (w, s), c in curves.items():
            ax.plot(c["step"], 100 * np.array(c["eval_acc"]), color=shades.get(w, "0.5"), alpha=0.8,
                    label=f"width {w}" if s == seed else None)
        ax.axhline(100 * lesson_accuracy, color="0.4", ls=":", lw=0.8)
        ax.text(steps, 100 * lesson_accuracy + 1, "the lesson's 33%", ha="right", fontsize=7.5,
                color="0.4")
        ax.set(xlabel="step", ylabel="accuracy (%)", ylim=(0, 102),
               title=f"[4, w, 3] on 3 blobs: one line per seed ({n_seeds} seeds)")
        ax.legend(loc="lower right")
        return fig

    r.plots["curves"] = draw
    return r


@experiment(15, "depth-on-quadrants", "One hidden layer or three on the quadrants",
            "One hidden layer is enough for the quadrant task: three hidden layers reach 95 % in "
            "about the same number of steps (within a factor of 2).", SECTION, seconds=(1, 4))
def depth_on_quadrants(quick=False, seed=0, seeds=None, target=0.95, lr=0.1, width=16,
                       max_steps=3000):
    """[2, 16, 4] against [2, 16, 16, 16, 4], ReLU and He, SGD lr 0.1, batch 32, the same
    batches per seed; steps until the accuracy on all 400 points reaches ``target``."""
    n_seeds = seeds or (3 if quick else 5)
    X, y = make_quadrants(seed=seed)
    nets = {"1 hidden layer": [2, width, 4], "3 hidden layers": [2, width, width, width, 4]}
    runs, models = {}, {}
    for name, sizes in nets.items():
        for s in range(seed, seed + n_seeds):
            model = MLP(sizes, seed=s)
            runs[name, s] = train_steps(model, X, y, SGD(lr), batches(len(X), 32, max_steps, s),
                                        every=5, X_eval=X, y_eval=y,
                                        until=lambda c: c["eval_acc"][-1] >= target)
            models[name, s] = model
    reach = {n: [steps_to(runs[n, s]["eval_acc"], target, runs[n, s]["step"], below=False)
                 for s in range(seed, seed + n_seeds)] for n in nets}
    med = {n: float(np.median([2 * max_steps if v is None else v for v in reach[n]])) for n in nets}
    ratio = med["3 hidden layers"] / med["1 hidden layer"]
    faster = "three" if ratio < 1 else "one"

    r = Result()
    r.measurements = {f"median_steps_to_{int(100 * target)}%[{n}]": v for n, v in med.items()}
    r.measurements["ratio_three_over_one"] = ratio
    r.checks = [
        Check(f"one hidden layer reaches {100 * target:.0f}% (it is enough)",
              f"steps per seed: {', '.join(fmt(v) for v in reach['1 hidden layer'])}",
              all(v is not None for v in reach["1 hidden layer"])),
        Check("three hidden layers take about as many steps (ratio within ½–2)",
              f"median steps: three {fmt(med['3 hidden layers'])}, one "
              f"{fmt(med['1 hidden layer'])} "
              f"(ratio {ratio:.2f}: {faster} is faster)", 0.5 <= ratio <= 2),
    ]
    r.table = text_table(["network", f"steps to {100 * target:.0f}% per seed", "median"],
                         [[n, ", ".join(fmt(v) for v in reach[n]), fmt(med[n])] for n in nets])
    r.notes.append(f"quadrants: 400 points, 4 classes; {width} units per hidden layer; SGD lr "
                   f"{lr}, batch 32; {n_seeds} seeds, accuracy checked every 5 steps.")

    def draw(plt):
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), gridspec_kw={"width_ratios": [1.4, 1, 1]})
        for (n, s), c in runs.items():
            axes[0].plot(c["step"], 100 * np.array(c["eval_acc"]),
                         color=COLORS["relu" if n.startswith("1") else "sigmoid"], alpha=0.8,
                         label=n if s == seed else None)
        axes[0].axhline(100 * target, color="0.5", ls=":", lw=0.8)
        axes[0].set(xlabel="step", ylabel="accuracy (%)",
                    title="Accuracy until 95 % (one line per seed)")
        axes[0].legend()
        for ax, n in zip(axes[1:], nets):
            c = runs[n, seed]
            boundary(ax, models[n, seed], X, y, f"{n}, after {c['step'][-1]} steps")
        return fig

    r.plots["depth"] = draw
    return r


class ForgetsToZero:
    """An optimizer wrapper that reproduces a forgotten zero_grad: every step uses the sum of
    all gradients so far, as PyTorch's .grad does when nobody zeroes it."""

    def __init__(self, optimizer):
        self.optimizer, self.piled = optimizer, None

    def step(self, model):
        if self.piled is None:
            self.piled = {k: np.zeros_like(g) for k, g in model.grads.items()}
        for k, g in model.grads.items():
            self.piled[k] += g                                          # .grad += new gradient
            g[...] = self.piled[k]
        self.optimizer.step(model)


SYMPTOMS = [   # the lesson's symptom of each bug, in the order the experiment runs them
    "—",
    "gradients pile up: the loss falls, then climbs back",
    "the loss explodes (NaN or inf) within a few steps",
    "nothing happens: the loss stays where it started",
    "the loss starts huge (~50 instead of ~2.3) and training lags",
    "validation accuracy sits at ~10 %",
]


@experiment(16, "training-bugs", "The five training-loop bugs and their symptoms",
            "Each of the lesson's five training-loop bugs shows its symptom: forgetting to zero "
            "the gradients, lr = 100, lr = 1e-9, an init not scaled by √(2/n), and no shuffling "
            "(MNIST sorted by label).", SECTION, seconds=(5, 30), needs=MNIST_NEEDS)
def training_bugs(quick=False, seed=0, steps=None, lr=0.1, huge_lr=100.0, tiny_lr=1e-9):
    """The lesson's loop (784 → 256 → 10, SGD 0.1, batch 128) run correctly and with each
    bug, from the same init (except the init bug) and the same batches (except the
    unshuffled run, which sees the training set sorted by label, one epoch)."""
    steps = steps or (200 if quick else 469)
    data = mnist(quick, n_train=10000 if quick else 60000, n_test=1000 if quick else 2000)
    X, y = data.X_train, data.y_train
    sizes = [data.n_features, 256, 10]
    plan = batches(len(X), 128, steps, seed)
    order = np.argsort(y, kind="stable")                                # sorted by label
    in_order = [order[i:i + 128] for i in range(0, len(X), 128)]
    names = ["correct loop", "forgot to zero the gradients", f"lr = {num(huge_lr)}",
             f"lr = {num(tiny_lr)}", "init N(0, 1), not scaled by √(2/n)",
             "no shuffling (sorted by label)"]
    setups = dict(zip(names, [
        (dict(), SGD(lr), plan),
        (dict(), ForgetsToZero(SGD(lr)), plan),
        (dict(), SGD(huge_lr), plan),
        (dict(), SGD(tiny_lr), plan),
        (dict(init_method="normal"), SGD(lr), plan),
        (dict(), SGD(lr), in_order),
    ]))
    runs = {}
    for name, (kw, opt, p) in setups.items():
        model = MLP(sizes, seed=seed, **kw)
        runs[name] = train_steps(model, X, y, opt, p, every=max(len(p) // 40, 1),
                                 X_eval=data.X_test, y_eval=data.y_test)
    ok, piled, big, tiny, init, unsorted = runs.values()

    def acc(c):
        return c["eval_acc"][-1] if c["diverged_at"] is None else math.nan

    low = int(np.argmin(piled["eval_loss"]))
    rise = piled["eval_loss"][-1] / piled["eval_loss"][low]
    moved = abs(tiny["eval_loss"][-1] - tiny["eval_loss"][0]) / tiny["eval_loss"][0]
    early = max(big["loss"][:10])
    seen = [
        None,
        (f"held-out loss fell to {piled['eval_loss'][low]:.2f} (step {piled['step'][low]}), then "
         f"rose to {piled['eval_loss'][-1]:.2f} ({rise:.1f}×); accuracy {100 * acc(piled):.0f}% "
         f"vs {100 * acc(ok):.0f}%", rise > 1.5 or piled["diverged_at"] is not None),
        (f"NaN at step {big['diverged_at']}" if big["diverged_at"] else
         f"mini-batch loss {fmt(early)} within 10 steps; accuracy {100 * acc(big):.0f}% (chance)",
         big["diverged_at"] is not None or early > 100 * ok["loss"][0]),
        (f"held-out loss {tiny['eval_loss'][0]:.4f} → {tiny['eval_loss'][-1]:.4f} after "
         f"{len(plan)} steps ({100 * moved:.3f}% change)", moved < 1e-3),
        (f"first loss {init['eval_loss'][0]:.0f} (scaled init: {ok['eval_loss'][0]:.2f}); "
         f"accuracy {100 * acc(init):.0f}% vs {100 * acc(ok):.0f}%",
         init["eval_loss"][0] > 10 * math.log(10) and acc(init) < acc(ok)),
        (f"accuracy after the epoch {100 * acc(unsorted):.1f}% (shuffled: {100 * acc(ok):.1f}%); "
         "the net predicts the last classes it saw", acc(unsorted) <= 0.2),
    ]

    r = Result()
    r.measurements = {**{f"final_accuracy[{k}]": acc(c) for k, c in runs.items()},
                      **{f"first_loss[{k}]": c["eval_loss"][0] for k, c in runs.items()}}
    rows = list(zip(names, SYMPTOMS, seen))[1:]
    r.checks = [Check(f"{bug}: {symptom}", text, passed) for bug, symptom, (text, passed) in rows]
    r.table = text_table(["bug", "the lesson's symptom", "what handgrad observed", "seen"],
                         [[bug, symptom, text, "yes" if passed else "no"]
                          for bug, symptom, (text, passed) in rows])
    r.notes.append(f"{data.name} [{sizes[0]}, 256, 10], SGD lr {lr}, batch 128, {steps} steps "
                   f"({len(X):,} training images), accuracy on {len(data.X_test):,} test "
                   "images. handgrad's backward overwrites the gradients (no zero_grad needed), "
                   "so the forgotten zero_grad is reproduced by summing every gradient so far, "
                   "as PyTorch's .grad does.")
    if data.note:
        r.notes.append(data.note)

    def draw(plt):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.2))
        colors = ["black", COLORS["sigmoid"], "#8c564b", COLORS["sgd"], COLORS["tanh"],
                  COLORS["adamw"]]
        for (name, c), color in zip(runs.items(), colors):
            width = 2 if name == "correct loop" else 1.2
            a1.plot(c["step"], c["eval_loss"], color=color, lw=width, label=name)
            a2.plot(c["step"], 100 * np.array(c["eval_acc"]), color=color, lw=width)
        a1.set(xlabel="step", ylabel="held-out loss", yscale="log", title="Each bug, its loss")
        a1.legend(fontsize=7.5)
        a2.set(xlabel="step", ylabel="held-out accuracy (%)", ylim=(0, 100),
               title="… and its accuracy")
        return fig

    r.plots["bugs"] = draw
    return r
