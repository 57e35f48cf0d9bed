"""Regularization and normalization: experiments 20 to 23."""

import numpy as np

from ..mlp import MLP
from ..optim import SGD, Adam
from ..train import train
from .core import COLORS, Check, Result, batches, experiment, fmt, mnist, num, text_table, train_steps

SECTION = "Regularization and normalization"
MNIST_NEEDS = "MNIST (or the 8x8 digits with --quick)"


@experiment(20, "overfitting", "Overfitting on 1,000 images, and two fixes",
            "A wide net on 1,000 MNIST images overfits: its training loss falls to ≈ 0 while the "
            "validation loss turns up; weight decay 1e-4 and dropout narrow the gap.",
            SECTION, seconds=(9, 40), needs=MNIST_NEEDS)
def overfitting(quick=False, seed=0, n_train=1000, epochs=None, sizes=(256, 256), lr=0.1, momentum=0.0,
                weight_decay=1e-4, dropout=0.5, every=2):
    """Three runs from the same init on the same 1,000 images, the lesson's SGD (lr 0.1,
    batch 50): plain,
    with L2 weight decay, with dropout; the training loss (in evaluation mode, as the
    validation loss) and the validation loss every ``every`` epochs."""
    epochs = epochs or (60 if quick else 100)
    data = mnist(quick, n_train=n_train, n_test=1000 if quick else 2000)
    hidden = list(sizes)
    setups = {"plain": (0.0, 0.0), f"weight decay {weight_decay:g}": (weight_decay, 0.0),
              f"dropout {dropout:g}": (0.0, dropout)}
    runs = {}
    for name, (wd, p) in setups.items():
        model = MLP([data.n_features, *hidden, 10], seed=seed, dropout=p)
        curve = {"epoch": [], "train": [], "val": [], "val_acc": []}

        def measure(m, history, c=curve):
            e = len(history)
            if e % every == 0 or e == epochs:
                c["epoch"].append(e)
                c["train"].append(m.evaluate(data.X_train, data.y_train)["loss"])
                v = m.evaluate(data.X_test, data.y_test)
                c["val"].append(v["loss"])
                c["val_acc"].append(v["accuracy"])

        train(model, data.X_train, data.y_train, epochs=epochs, batch_size=50,
              optimizer=SGD(lr, momentum=momentum, weight_decay=wd), callbacks=[measure])
        runs[name] = curve
    plain = runs["plain"]
    low = int(np.argmin(plain["val"]))
    gap = {n: c["val"][-1] - c["train"][-1] for n, c in runs.items()}
    wd_name, drop_name = list(setups)[1:]

    r = Result()
    r.measurements = {**{f"final_train_loss[{n}]": c["train"][-1] for n, c in runs.items()},
                      **{f"final_val_loss[{n}]": c["val"][-1] for n, c in runs.items()},
                      **{f"final_val_accuracy[{n}]": c["val_acc"][-1] for n, c in runs.items()},
                      **{f"gap[{n}]": v for n, v in gap.items()},
                      "lowest_val_loss_epoch[plain]": plain["epoch"][low]}
    r.checks = [
        Check("the training loss falls to ≈ 0 (below 0.01)",
              f"{fmt(plain['train'][-1])} after {epochs} epochs",
              plain["train"][-1] < 0.01),
        Check("the validation loss turns up (ends more than 10% above its lowest)",
              f"lowest {plain['val'][low]:.3f} at epoch {plain['epoch'][low]}, then "
              f"{plain['val'][-1]:.3f} at epoch {epochs}", plain["val"][-1] > 1.1 * plain["val"][low]),
        Check(f"weight decay {weight_decay:g} narrows the gap (validation − training loss)",
              f"gap {gap[wd_name]:.3f} against {gap['plain']:.3f}", gap[wd_name] < gap["plain"]),
        Check(f"dropout {dropout:g} narrows the gap", f"gap {gap[drop_name]:.3f} against {gap['plain']:.3f}",
              gap[drop_name] < gap["plain"]),
    ]
    r.table = text_table(["run", "train loss", "validation loss", "gap", "validation accuracy"],
                         [[n, fmt(c["train"][-1]), f"{c['val'][-1]:.3f}", f"{gap[n]:.3f}",
                           f"{100 * c['val_acc'][-1]:.1f}%"] for n, c in runs.items()])
    r.notes.append(f"{data.name}: the first {len(data.X_train):,} training images, validation on "
                   f"{len(data.X_test):,} test images; {[data.n_features, *hidden, 10]} ReLU, SGD "
                   f"lr {lr}" + (f" momentum {momentum}" if momentum else "")
                   + f", batch 50, {epochs} epochs, the same init for all three. Weight decay is L2 "
                   "in the gradient (SGD(weight_decay=…)); the "
                   "training loss is measured in evaluation mode, as the validation loss is.")
    if data.note:
        r.notes.append(data.note)

    def draw(plt):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4))
        colors = dict(zip(runs, ("black", COLORS["relu"], COLORS["sigmoid"])))
        for n, c in runs.items():
            a1.plot(c["epoch"], c["val"], "-", color=colors[n], label=f"{n}: validation")
            a1.plot(c["epoch"], c["train"], ":", color=colors[n], label=f"{n}: training")
            a2.plot(c["epoch"], 100 * np.array(c["val_acc"]), color=colors[n], label=n)
        a1.set(xlabel="epoch", ylabel="loss", yscale="log", title=f"{len(data.X_train):,} images: "
               "training loss → 0, validation loss turns up")
        a1.legend(fontsize=7.5, ncol=2)
        a2.set(xlabel="epoch", ylabel="validation accuracy (%)", title="Validation accuracy")
        a2.legend()
        return fig

    r.plots["overfitting"] = draw
    return r


def mc_dropout(model, X, samples, rng_seed):
    """Class probabilities of ``samples`` networks, each with freshly drawn dropout masks:
    (samples, n, K).

    The first layer's map and ReLU are the same in every sampled network, so they are
    computed once; each sample then draws new masks through the layers' own Dropout.
    """
    for layer in model.layers:
        if layer.dropout is not None:
            layer.dropout.rng = np.random.default_rng(rng_seed)
    first = model.layers[0]
    h = first.forward(X, training=False)                                 # (n, d1) before dropout
    out = []
    for _ in range(samples):
        a = first.dropout.forward(h, training=True)                      # (n, d1) a new mask
        for layer in model.layers[1:]:
            a = layer.forward(a, training=True)                          # (n, d_l) new masks
        out.append(a)                                                    # (n, K)
    return np.array(out)                                                 # (S, n, K)


@experiment(21, "dropout-ensemble", "Dropout as an ensemble",
            "A network trained with dropout, run in evaluation mode, behaves like the average of "
            "many sampled dropout networks.", SECTION, seconds=(3, 25), needs=MNIST_NEEDS)
def dropout_ensemble(quick=False, seed=0, p=0.5, epochs=None, samples=None, n_eval=1000):
    """Train [d, 256, 256, 10] with dropout p on both hidden layers; then compare the
    evaluation-mode network (masks off; inverted dropout needs no rescaling) with the
    average of 1 … ``samples`` networks with masks drawn afresh."""
    epochs = epochs or (3 if quick else 5)
    samples = samples or (64 if quick else 256)
    data = mnist(quick, n_train=5000 if quick else 30000, n_test=n_eval)
    model = MLP([data.n_features, 256, 256, 10], seed=seed, dropout=p)
    train(model, data.X_train, data.y_train, epochs=epochs, batch_size=64, learning_rate=0.1)
    X, y = data.X_test, data.y_test
    p_eval = model.predict_proba(X)                                      # (n, K) masks off
    sampled = mc_dropout(model, X, samples, seed)                        # (S, n, K)
    running = np.cumsum(sampled, axis=0) / np.arange(1, samples + 1)[:, None, None]   # mean of the first s
    acc_eval = float(np.mean(p_eval.argmax(1) == y))
    counts = [c for c in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024) if c <= samples]
    acc_mc = {c: float(np.mean(running[c - 1].argmax(1) == y)) for c in counts}
    diff = {c: float(np.mean(np.abs(running[c - 1] - p_eval))) for c in counts}
    agree = float(np.mean(running[-1].argmax(1) == p_eval.argmax(1)))
    one_vs_all = float(np.mean(np.abs(sampled[:8] - running[-1])))       # one sampled network, 8 tries
    eval_vs_all = float(np.mean(np.abs(p_eval - running[-1])))

    r = Result()
    r.measurements = {"accuracy[evaluation mode]": acc_eval, "samples": counts,
                      "accuracy[average of samples]": [acc_mc[c] for c in counts],
                      "mean_abs_probability_difference": [diff[c] for c in counts],
                      "label_agreement": agree,
                      "mean_abs_difference_from_average[evaluation mode]": eval_vs_all,
                      "mean_abs_difference_from_average[one sampled network]": one_vs_all}
    r.checks = [
        Check(f"the evaluation-mode network is as accurate as the average of {samples} sampled "
              "networks (within 1 point)", f"{100 * acc_eval:.1f}% against {100 * acc_mc[counts[-1]]:.1f}% "
              f"(one sampled network: {100 * acc_mc[1]:.1f}%)", abs(acc_eval - acc_mc[counts[-1]]) <= 0.01),
        Check("they predict the same label for nearly every image (≥ 98%)", f"{100 * agree:.1f}% agree",
              agree >= 0.98),
        Check(f"the evaluation-mode network is closer to the {samples}-network average than one "
              "sampled network is", f"mean |Δp| from the average: evaluation mode {eval_vs_all:.4f}, one "
              f"sampled network {one_vs_all:.4f}", eval_vs_all < one_vs_all),
    ]
    r.table = text_table(["sampled networks", "accuracy of their average", "mean |p_avg − p_eval|"],
                         [[c, f"{100 * acc_mc[c]:.1f}%", f"{diff[c]:.4f}"] for c in counts]
                         + [["evaluation mode", f"{100 * acc_eval:.1f}%", "0"]])
    r.notes.append(f"{data.name}: [{data.n_features}, 256, 256, 10], dropout {p} on both hidden layers, SGD "
                   f"lr 0.1, batch 64, {epochs} epochs on {len(data.X_train):,} images; "
                   f"{len(X):,} test images. "
                   "The evaluation-mode network is exactly the average over masks of what the first "
                   "dropout layer passes on; through the later ReLUs and the softmax it is an "
                   f"approximation: the average of many networks settles {diff[counts[-1]]:.3f} away "
                   "from it (mean |Δp|), not at 0.")
    if data.note:
        r.notes.append(data.note)

    def draw(plt):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4))
        a1.semilogx(counts, [100 * acc_mc[c] for c in counts], "o-", color=COLORS["relu"],
                    label="average of sampled networks")
        a1.axhline(100 * acc_eval, color=COLORS["sigmoid"], label="evaluation mode (one pass)")
        a1.set_xticks(counts, [str(c) for c in counts])
        a1.set(xlabel="sampled dropout networks averaged", ylabel="test accuracy (%)",
               title="An ensemble of masks vs the evaluation-mode network")
        a1.legend()
        a2.loglog(counts, [diff[c] for c in counts], "o-", color=COLORS["relu"])
        a2.set_xticks(counts, [str(c) for c in counts])
        a2.set(xlabel="sampled dropout networks averaged", ylabel="mean |p_avg − p_eval|",
               title="The average approaches the evaluation-mode output")
        return fig

    r.plots["ensemble"] = draw
    return r


@experiment(22, "normalization-grid", "BatchNorm widens what trains",
            "BatchNorm lets a deep net train at learning rates and init scales where the same net "
            "without it fails (8 layers of 50 units, 1,000 training images, weight scales 1e-4 to "
            "1); LayerNorm and RMSNorm on the same grid.", SECTION, seconds=(7, 60), needs=MNIST_NEEDS)
def normalization_grid(quick=False, seed=0, rates=None, scales=None, epochs=None, width=50, depth=8,
                       success=0.8):
    """Accuracy on 1,000 held-out images after training [d] + [50]*7 + [10] (ReLU) with
    weights drawn N(0, scale²) at each learning rate (SGD, batch 50), with each norm after
    every hidden linear layer. A cell 'trains' when it reaches ``success`` × the best
    accuracy of the whole grid."""
    rates = rates or ([1e-2, 1e-1, 1.0] if quick else [1e-3, 1e-2, 1e-1, 1.0])
    scales = scales or list(np.geomspace(1e-4, 1, 5 if quick else 9))
    epochs = epochs or (4 if quick else 10)
    data = mnist(quick, n_train=1000, n_test=1000)
    sizes = [data.n_features] + [width] * (depth - 1) + [10]
    steps = epochs * len(data.X_train) // 50
    norms = {"none": None, "BatchNorm": "batch", "LayerNorm": "layer", "RMSNorm": "rms"}
    acc = {n: np.zeros((len(rates), len(scales))) for n in norms}
    for n, norm in norms.items():
        for i, lr in enumerate(rates):
            for j, s in enumerate(scales):
                model = MLP(sizes, seed=seed, norm=norm,
                            init_method=lambda rng, o, i_, s=s: s * rng.standard_normal((o, i_)))
                with np.errstate(all="ignore"):
                    curves = train_steps(model, data.X_train, data.y_train, SGD(lr),
                                         batches(len(data.X_train), 50, steps, seed),
                                         every=10 ** 9)
                    ok = curves["diverged_at"] is None
                    acc[n][i, j] = model.score(data.X_test, data.y_test) if ok else 0.0
    he = MLP(sizes, seed=seed)                            # He init: a scale per layer, off the grid
    train_steps(he, data.X_train, data.y_train, SGD(0.1), batches(len(data.X_train), 50, steps, seed),
                every=10 ** 9)
    he_acc = he.score(data.X_test, data.y_test)
    best = max(float(a.max()) for a in acc.values())
    trains = {n: a >= success * best for n, a in acc.items()}
    rescued = int(np.sum(trains["BatchNorm"] & ~trains["none"]))
    lost = int(np.sum(trains["none"] & ~trains["BatchNorm"]))
    cells = len(rates) * len(scales)

    r = Result()
    r.measurements = {"rates": rates, "scales": [float(s) for s in scales],
                      **{f"accuracy[{n}]": a.tolist() for n, a in acc.items()},
                      **{f"cells_that_train[{n}]": int(t.sum()) for n, t in trains.items()},
                      "cells_rescued_by_batchnorm": rescued, "accuracy[none, He init, lr 0.1]": he_acc}
    r.checks = [
        Check("there are settings where the plain net fails and the BatchNorm net trains",
              f"{rescued} of {cells} cells (and {lost} the other way round)", rescued > 0),
        Check("BatchNorm trains in more of the grid than the plain net",
              f"{int(trains['BatchNorm'].sum())} of {cells} cells against {int(trains['none'].sum())}",
              trains["BatchNorm"].sum() > trains["none"].sum()),
    ]
    r.table = text_table(["norm", f"cells that train (≥ {success:g} × best {100 * best:.1f}%)",
                          "best accuracy"],
                         [[n, f"{int(t.sum())} of {cells}", f"{100 * acc[n].max():.1f}%"]
                          for n, t in trains.items()])
    r.notes.append(f"{data.name}: {len(data.X_train):,} training and {len(data.X_test):,} held-out images; "
                   f"{depth} weight layers ({depth - 1} hidden of {width}), ReLU, the norm after each hidden "
                   f"linear layer; SGD, batch 50, {epochs} epochs; weights N(0, scale²) in every layer, "
                   "biases 0; a run whose loss turns NaN counts as 0% (BatchNorm is evaluated with its "
                   "running statistics).")
    r.notes.append("One weight scale for every layer is what the grid asks; no single scale suits both "
                   f"the first layer (fan-in {data.n_features}) and the others (fan-in {width}). With He "
                   f"init, a scale per layer, the plain net reaches {100 * he_acc:.1f}% at lr 0.1.")
    if data.note:
        r.notes.append(data.note)

    def draw(plt):
        fig, axes = plt.subplots(1, len(norms), figsize=(4 * len(norms), 3.6), sharey=True)
        for ax, (n, a) in zip(axes, acc.items()):
            im = ax.imshow(100 * a, cmap="viridis", vmin=0, vmax=100, aspect="auto", origin="lower")
            for i in range(len(rates)):
                for j in range(len(scales)):
                    ax.text(j, i, f"{100 * a[i, j]:.0f}", ha="center", va="center", fontsize=7,
                            color="white" if a[i, j] < 0.6 else "black",
                            fontweight="bold" if trains[n][i, j] else "normal")
            ax.set_xticks(range(len(scales)), [num(float(f"{s:.0e}")) for s in scales],
                          rotation=60, fontsize=7)
            ax.set_yticks(range(len(rates)), [f"{lr:g}" for lr in rates])
            ax.set(xlabel="weight scale", title=f"{n}: {int(trains[n].sum())} of {cells} train")
            ax.grid(False)
        axes[0].set_ylabel("learning rate")
        fig.colorbar(im, ax=axes, shrink=0.85, label="held-out accuracy (%)")
        return fig

    r.plots["grid"] = draw
    return r


@experiment(23, "practical-checks", "The practitioner's checks",
            "A tiny batch (2–20 examples) can be overfitted to ≈ zero loss; at a good learning rate "
            "the update-to-weight ratio sits near 1e-3.", SECTION, seconds=(2, 4), needs=MNIST_NEEDS)
def practical_checks(quick=False, seed=0, tiny=10, tiny_steps=300, rates=(0.01, 0.1, 1.0), good=0.1,
                     steps=None):
    """(a) [d, 256, 10] trained on ``tiny`` examples, full batch, Adam 1e-3. (b) The lesson's
    network on MNIST, SGD batch 128, at three rates: per layer and per step, the size of
    the update against the size of the weights, ‖ΔW‖ / ‖W‖."""
    steps = steps or (150 if quick else 400)
    data = mnist(quick, n_train=10000 if quick else 30000, n_test=1000)
    Xt, yt = data.X_train[:tiny], data.y_train[:tiny]
    model = MLP([data.n_features, 256, 10], seed=seed)
    tiny_curve = train_steps(model, Xt, yt, Adam(1e-3), [np.arange(tiny)] * tiny_steps)["loss"]
    tiny_acc = model.score(Xt, yt)

    ratios = {}
    for lr in rates:
        model = MLP([data.n_features, 256, 10], seed=seed)
        per = {i: [] for i in range(len(model.layers))}
        before = [l.W.copy() for l in model.layers]

        def after(t, m=model, per=per, before=before):
            for i, layer in enumerate(m.layers):
                per[i].append(float(np.linalg.norm(layer.W - before[i]) / np.linalg.norm(before[i])))
                before[i][...] = layer.W

        train_steps(model, data.X_train, data.y_train, SGD(lr), batches(len(data.X_train), 128, steps, seed),
                    after_step=after)
        ratios[lr] = {i: np.array(v) for i, v in per.items()}
    med = {i: float(np.median(v)) for i, v in ratios[good].items()}

    r = Result()
    r.measurements = {"tiny_batch_final_loss": tiny_curve[-1], "tiny_batch_accuracy": tiny_acc,
                      **{f"median_update_ratio[lr={lr:g}, layer {i + 1}]": float(np.median(v))
                         for lr, per in ratios.items() for i, v in per.items()}}
    r.checks = [
        Check(f"{tiny} examples are overfitted to ≈ zero loss (below 0.01, every one right)",
              f"loss {fmt(tiny_curve[-1])} after {tiny_steps} steps, {100 * tiny_acc:.0f}% right",
              tiny_curve[-1] < 0.01 and tiny_acc == 1.0),
        Check(f"at a good rate (SGD {good:g}) ‖ΔW‖/‖W‖ sits near 1e-3 (between 1e-4 and 1e-2) in every layer",
              "median per layer: " + ", ".join(f"{fmt(v)}" for v in med.values()),
              all(1e-4 <= v <= 1e-2 for v in med.values())),
    ]
    r.table = text_table(["lr", *(f"median ‖ΔW‖/‖W‖, layer {i + 1}" for i in ratios[good])],
                         [[f"{lr:g}", *(fmt(float(np.median(v))) for v in per.values())]
                          for lr, per in ratios.items()])
    r.notes.append(f"{data.name}: tiny batch = the first {tiny} training images, Adam lr 1e-3, full batch; "
                   f"the ratios come from [{data.n_features}, 256, 10], SGD, batch 128, {steps} steps. "
                   "The 1e-3 rule of thumb is a guide: well below it a layer learns slowly, well "
                   "above it the updates overwrite what the weights held.")
    if data.note:
        r.notes.append(data.note)

    def draw(plt):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4))
        a1.semilogy(np.arange(1, len(tiny_curve) + 1), tiny_curve, color=COLORS["relu"])
        a1.set(xlabel="step", ylabel="loss on the tiny batch", title=f"Overfitting {tiny} examples")
        shades = dict(zip(rates, ("#9ecae1", COLORS["relu"], "#08306b")))
        for lr, per in ratios.items():
            for i, v in per.items():
                k = max(len(v) // 50, 1)
                smooth = np.convolve(v, np.ones(k) / k, mode="valid")
                a2.semilogy(np.arange(len(smooth)) + k, smooth, color=shades[lr], ls="-" if i == 0 else "--",
                            label=f"lr {lr:g}, layer {i + 1}")
        a2.axhspan(1e-4, 1e-2, color="#2ca02c", alpha=0.08)
        a2.axhline(1e-3, color="#2ca02c", lw=0.8)
        a2.set(xlabel="step", ylabel="‖ΔW‖ / ‖W‖ per step", title="Update-to-weight ratio per layer")
        a2.legend(fontsize=7.5, ncol=3)
        return fig

    r.plots["checks"] = draw
    return r
