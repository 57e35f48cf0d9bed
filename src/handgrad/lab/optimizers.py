"""Optimizers: experiments 17 to 19."""

import math

import numpy as np

from ..data import make_blobs, make_quadrants
from ..mlp import MLP
from ..optim import SGD, Adam, AdamW
from .core import COLORS, Check, Result, batches, experiment, fmt, steps_to, text_table, train_steps
from .pictures import boundary

SECTION = "Optimizers"


@experiment(17, "sgd-momentum-adam", "SGD, momentum and Adam on the quadrants",
            "Adam reaches a lower loss faster than SGD, with momentum in between (same init, "
            "same batches).", SECTION, seconds=(2, 7))
def sgd_momentum_adam(quick=False, seed=0, steps=None, target=0.1, snapshots=(5, 20, 100),
                      sizes=(2, 16, 16, 4)):
    """Each optimizer from the same weights on the same batches of the quadrant task; the
    loss on all 400 points every 5 steps; the decision boundary at a few steps. Adam runs
    at lr 0.01 and at PyTorch's default 1e-3."""
    steps = steps or (300 if quick else 600)
    X, y = make_quadrants(seed=seed)
    optimizers = {"SGD lr 0.1": lambda: SGD(0.1), "momentum lr 0.1, μ 0.9": lambda: SGD(0.1, momentum=0.9),
                  "Adam lr 0.01": lambda: Adam(0.01), "Adam lr 0.001": lambda: Adam(1e-3)}
    colors = dict(zip(optimizers, (COLORS["sgd"], COLORS["momentum"], COLORS["adam"], "#f4a582")))
    plan = batches(len(X), 32, steps, seed)
    runs, states = {}, {}
    for name, make in optimizers.items():
        model = MLP(list(sizes), seed=seed)
        saved = {}
        runs[name] = train_steps(model, X, y, make(), plan, every=5, X_eval=X, y_eval=y,
                                 after_step=lambda t, m=model, s=saved: s.update({t: m.state_dict()})
                                 if t in snapshots else None)
        states[name] = saved
    reach = {n: steps_to(c["eval_loss"], target, c["step"]) for n, c in runs.items()}
    final = {n: float(np.mean(c["eval_loss"][-5:])) for n, c in runs.items()}

    def faster(a, b):
        return reach[a] is not None and (reach[b] is None or reach[a] < reach[b])

    sgd, mom, adam, slow = optimizers
    r = Result()
    r.measurements = {**{f"steps_to_loss_{target}[{n}]": v for n, v in reach.items()},
                      **{f"final_loss[{n}]": v for n, v in final.items()}}
    r.checks = [
        Check(f"{adam} reaches loss {target} sooner than SGD and ends lower",
              f"steps: Adam {fmt(reach[adam])}, SGD {fmt(reach[sgd])}; final loss {final[adam]:.3f} vs "
              f"{final[sgd]:.3f}", faster(adam, sgd) and final[adam] < final[sgd]),
        Check("momentum lies in between (sooner than SGD, later than Adam)",
              f"steps: momentum {fmt(reach[mom])}", faster(mom, sgd) and faster(adam, mom)),
        Check(f"at PyTorch's default rate too ({slow}), Adam beats SGD lr 0.1",
              f"steps: {fmt(reach[slow])} (SGD {fmt(reach[sgd])}); final loss {final[slow]:.3f}",
              faster(slow, sgd) and final[slow] < final[sgd]),
    ]
    r.table = text_table(["optimizer", f"steps to loss ≤ {target}", f"loss after {steps} steps"],
                         [[n, fmt(reach[n]), f"{final[n]:.4f}"] for n in optimizers])
    r.notes.append(f"quadrants (400 points), {list(sizes)} ReLU, batch 32, {steps} steps; all "
                   "optimizers start from the same weights and see the same batches. Which "
                   "optimizer wins depends on its rate: each comparison names both.")

    def draw(plt):
        shown = [sgd, mom, adam]
        fig = plt.figure(figsize=(13, 7.5))
        grid = fig.add_gridspec(len(shown), len(snapshots) + 2)
        ax = fig.add_subplot(grid[:, :2])
        for n, c in runs.items():
            ax.semilogy(c["step"], c["eval_loss"], color=colors[n], label=n)
        ax.axhline(target, color="0.5", ls=":", lw=0.8)
        ax.set(xlabel="step", ylabel="loss on all 400 points", title="Same init, same batches")
        ax.legend()
        model = MLP(list(sizes), seed=seed)
        for i, n in enumerate(shown):
            for j, t in enumerate(snapshots):
                a = fig.add_subplot(grid[i, j + 2])
                if t in states[n]:
                    model.load_state_dict(states[n][t])
                    boundary(a, model, X, y, f"{n.split(' lr')[0]}, step {t}")
                else:
                    a.set_axis_off()
        fig.tight_layout()
        return fig

    r.plots["optimizers"] = draw
    return r


class Bowl:
    """f(x, y) = x² + κ·y², as a model the optimizers can step: one parameter, the point."""

    def __init__(self, kappa, start):
        self.kappa = kappa
        self.params = {"xy": np.array(start, dtype=np.float64)}             # (2,)
        self.grads = {"xy": np.zeros(2)}                                     # (2,)

    def loss_and_grad(self):
        x, y = self.params["xy"]
        self.grads["xy"][:] = (2 * x, 2 * self.kappa * y)                    # ∇f = (2x, 2κy)
        return x * x + self.kappa * y * y


def descend(kappa, optimizer, max_steps, start, tol):
    """(steps to f ≤ tol or None, the path) of ``optimizer`` on the bowl from ``start``."""
    bowl = Bowl(kappa, start)
    f0 = bowl.loss_and_grad()
    path = [bowl.params["xy"].copy()]
    for t in range(1, max_steps + 1):
        optimizer.step(bowl)
        path.append(bowl.params["xy"].copy())
        f = bowl.loss_and_grad()
        if f <= tol:
            return t, np.array(path)
        if not math.isfinite(f) or f > 1e6 * f0:
            break
    return None, np.array(path)


@experiment(18, "elongated-bowl", "Momentum and Adam on an elongated bowl",
            "On the elongated quadratic x² + 10y² (and x² + 1000y²) plain gradient descent at its "
            "best stable rate needs far more steps than heavy ball, Nesterov and Adam.",
            SECTION, seconds=(3, 11))
def elongated_bowl(quick=False, seed=0, kappas=(10, 1000), start=(-1.0, 0.1), tol=1e-8):
    """Steps until f ≤ 1e-8, each method at the best setting of a grid (SGD: around its
    best stable rate 1/(1 + κ); heavy ball and Nesterov: rate × momentum, with the
    theoretical optimum added; Adam: rate)."""
    n_lr = 7 if quick else 13
    mus = (0.5, 0.8, 0.9, 0.95, 0.99) if quick else (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)
    methods = {"SGD": SGD, "heavy ball": SGD, "Nesterov": SGD, "Adam": Adam}

    def best_of(k, method, grid, cap):
        """(steps, setting) of the grid's fastest setting (steps inf if none converged)."""
        tried = [(descend(k, methods[method](**kw), cap, start, tol)[0] or math.inf, i)
                 for i, kw in enumerate(grid)]
        steps, i = min(tried)
        return steps, grid[i]

    best = {}
    for k in kappas:
        lr0 = 1 / (1 + k)                         # GD's best rate 2 / (λmin + λmax), λ = 2, 2κ
        best[k, "SGD"] = best_of(k, "SGD", [dict(lr=lr0 * c) for c in (0.5, 0.8, 1, 1.2, 1.5, 1.9)],
                                 50000)
        n_sgd = best[k, "SGD"][0]
        cap = int(max(2 * n_sgd, 2000)) if math.isfinite(n_sgd) else 50000
        a = 2 / (math.sqrt(k) + 1) ** 2           # heavy ball's optimum for λ in [2, 2κ]
        b = ((math.sqrt(k) - 1) / (math.sqrt(k) + 1)) ** 2
        rates = np.geomspace(1e-4, 1, n_lr)
        for name, nesterov in (("heavy ball", False), ("Nesterov", True)):
            grid = [dict(lr=float(lr), momentum=mu, nesterov=nesterov) for mu in mus for lr in rates]
            if b > 0:                                 # κ = 1 needs no momentum at all
                grid.append(dict(lr=a, momentum=b, nesterov=nesterov))
            best[k, name] = best_of(k, name, grid, cap)
        best[k, "Adam"] = best_of(k, "Adam", [dict(lr=float(lr)) for lr in np.geomspace(1e-3, 1, n_lr)],
                                  cap)
    paths = {(k, m): descend(k, methods[m](**best[k, m][1]), 50000, start, tol)
             for k in kappas for m in methods}

    def steps(k, m):
        return best[k, m][0] if math.isfinite(best[k, m][0]) else None

    r = Result()
    r.measurements = {f"steps[{m}, κ={k}]": steps(k, m) for k in kappas for m in methods}
    for k in kappas:
        s = steps(k, "SGD")
        for m in ("heavy ball", "Nesterov", "Adam"):
            v = steps(k, m)
            never = f" (did not converge within {max(2 * (s or 0), 2000):,})"
            r.checks.append(Check(f"x² + {k}y²: {m} needs far fewer steps than SGD (under half)",
                                  f"{m} {fmt(v)} vs SGD {fmt(s)}" + ("" if v else never),
                                  v is not None and s is not None and v < s / 2))

    def setting(kw):
        return ", ".join(f"{k} {fmt(v)}" for k, v in kw.items() if k != "nesterov")

    r.table = text_table(["bowl", "method", "steps to f ≤ 1e-8", "best setting found"],
                         [[f"x² + {k}y²", m, fmt(steps(k, m)), setting(best[k, m][1])]
                          for k in kappas for m in methods])
    r.notes.append(f"start {start}; heavy ball is SGD with momentum (PyTorch's form v ← μv + g, "
                   "θ ← θ − lr·v); each method's setting is the best of a grid, so every method "
                   "gets its best shot. SGD's best rate is 1/(1 + κ) in theory: faster diverges "
                   "along y, slower crawls along x, so its steps grow like κ; with momentum they "
                   "grow like √κ. Adam rescales each coordinate by its own gradient history, which "
                   "undoes an axis-aligned elongation.")

    def draw(plt):
        fig, axes = plt.subplots(2, len(kappas), figsize=(12, 8), gridspec_kw={"height_ratios": [1.1, 1]})
        colors = {"SGD": COLORS["sgd"], "heavy ball": COLORS["momentum"], "Nesterov": COLORS["nesterov"],
                  "Adam": COLORS["adam"]}
        for j, k in enumerate(kappas):
            ax = axes[0, j]
            shown = np.vstack([paths[k, m][1][:400] for m in methods])
            xs = 1.1 * np.abs(shown[:, 0]).max()
            ys = 1.1 * max(np.abs(shown[:, 1]).max(), abs(start[1]))
            gx, gy = np.meshgrid(np.linspace(-xs, 0.4 * xs, 300), np.linspace(-ys, ys, 300))
            ax.contour(gx, gy, gx ** 2 + k * gy ** 2, levels=np.geomspace(1e-3, xs ** 2 + k * ys ** 2, 16),
                       colors="0.75", linewidths=0.6)
            for m in methods:
                n, path = paths[k, m]
                shown = path[:400]
                ax.plot(shown[:, 0], shown[:, 1], "-", color=colors[m], lw=1.1, marker=".", ms=2.5,
                        label=f"{m}: {fmt(n)} steps")
            ax.plot(*start, "ko", ms=4)
            ax.plot(0, 0, "k*", ms=8)
            ax.set(xlabel="x", ylabel="y", title=f"x² + {k}y²: paths (first 400 steps)")
            ax.legend(fontsize=7.5, loc="upper right")
            ax.grid(False)
            ax2 = axes[1, j]
            for m in methods:
                path = paths[k, m][1]
                f = path[:, 0] ** 2 + k * path[:, 1] ** 2
                ax2.loglog(np.arange(1, len(f) + 1), f, color=colors[m], label=m)
            ax2.axhline(tol, color="0.5", ls=":", lw=0.8)
            ax2.set(xlabel="step + 1", ylabel="f(x, y)", title=f"x² + {k}y²: f along the way")
        fig.tight_layout()
        return fig

    r.plots["bowl"] = draw
    return r


class LessonAdam(Adam):
    """Adam with each bias correction switchable, to see what the corrections do.

        m ← β1 m + (1 − β1) g,   v ← β2 v + (1 − β2) g²
        m̂ = m / (1 − β1ᵗ) if correct_m else m,   v̂ = v / (1 − β2ᵗ) if correct_v else v
        θ ← θ − lr · m̂ / (√v̂ + ε)

    With both corrections on this is handgrad's Adam, step for step (the experiment
    checks it). MLX's optimizers default to neither.
    """

    def __init__(self, lr=1e-3, correct_m=True, correct_v=True, **kw):
        super().__init__(lr, **kw)
        self.correct_m, self.correct_v = correct_m, correct_v

    def adam_step(self, name, p, g):
        b1, b2 = self.betas
        m = self.slot(name, "m", p)
        v = self.slot(name, "v", p)
        m *= b1
        m += (1 - b1) * g                                                   # first moment
        v *= b2
        v += (1 - b2) * g * g                                               # second moment
        m_hat = m / (1 - b1 ** self.t) if self.correct_m else m
        v_hat = v / (1 - b2 ** self.t) if self.correct_v else v
        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def weight_norm(model):
    """√(Σ w²) over the weight matrices (not the biases)."""
    return math.sqrt(sum(float(np.sum(p.astype(np.float64) ** 2)) for k, p in model.params.items()
                         if k.endswith("weight")))


@experiment(19, "adam-details", "Adam's bias correction; AdamW is not Adam + L2",
            "Adam's bias correction makes its first updates about lr per coordinate; without "
            "correction they are far smaller. AdamW's decoupled decay is not Adam + L2: at the same "
            "λ the weight norm follows a different path.", SECTION, seconds=(1, 3))
def adam_details(quick=False, seed=0, lr=1e-3, weight_decay=0.01, steps=None):
    """Three Adams (both corrections, none, v only) from the same weights on the same blob
    batches: the size of each update relative to lr. Then Adam + L2 against AdamW at the
    same λ, with one extra input that is always 0 — its weights get no gradient from the
    data, so only the decay moves them."""
    steps = steps or (1000 if quick else 3000)
    X, y = make_blobs(seed=seed)
    plan = batches(len(X), 32, steps, seed)
    variants = {"handgrad's Adam": dict(),
                "both corrected (LessonAdam)": dict(correct_m=True, correct_v=True),
                "no correction (MLX's default)": dict(correct_m=False, correct_v=False),
                "m uncorrected, v corrected": dict(correct_m=False, correct_v=True)}
    sizes = [4, 16, 3]
    ratio, states = {}, {}
    for name, kw in variants.items():
        model = MLP(sizes, seed=seed, dtype=np.float64)
        opt = Adam(lr) if not kw else LessonAdam(lr, **kw)
        per_step = []
        before = {"w": None}

        def after(t, m=model, per=per_step, prev=before):
            now = np.concatenate([p.ravel() for p in m.params.values()])
            per.append(float(np.median(np.abs(now - prev["w"]))) / lr)
            prev["w"] = now

        before["w"] = np.concatenate([p.ravel() for p in model.params.values()])
        train_steps(model, X, y, opt, plan[:200], after_step=after)
        ratio[name], states[name] = np.array(per_step), model.state_dict()
    same = max(float(np.max(np.abs(states["handgrad's Adam"][k] - states["both corrected (LessonAdam)"][k])))
               for k in states["handgrad's Adam"])

    Xz = np.hstack([X, np.zeros((len(X), 1), dtype=X.dtype)])            # (300, 5): a dead input
    decay = {}
    for name, opt in (("Adam + L2", Adam(lr, weight_decay=weight_decay)),
                      ("AdamW", AdamW(lr, weight_decay=weight_decay))):
        model = MLP([5, 64, 3], seed=seed)
        w0 = model.layers[0].W[:, -1].copy()                                 # weights of the dead input
        norms = [weight_norm(model)]
        curves = train_steps(model, Xz, y, opt, batches(len(X), 32, steps, seed),
                             after_step=lambda t, m=model, n=norms: n.append(weight_norm(m)))
        dead = float(np.linalg.norm(model.layers[0].W[:, -1]) / np.linalg.norm(w0))
        decay[name] = (np.array(norms), dead, float(np.mean(curves["loss"][-50:])))
    predicted = (1 - lr * weight_decay) ** steps
    first = {n: float(v[0]) for n, v in ratio.items()}
    gap = abs(decay["Adam + L2"][0][-1] / decay["AdamW"][0][-1] - 1)

    r = Result()
    r.measurements = {**{f"first_update_over_lr[{n}]": v for n, v in first.items()},
                      "lessonadam_vs_handgrad_adam_max_difference": same,
                      **{f"weight_norm_end[{n}]": float(v[0][-1]) for n, v in decay.items()},
                      **{f"dead_input_weights_kept[{n}]": v[1] for n, v in decay.items()},
                      "dead_input_weights_predicted[AdamW]": predicted}
    h, _, none, m_only = first.values()
    r.checks = [
        Check("with bias correction the first update is ≈ lr per coordinate",
              f"median |Δθ| / lr at step 1: {h:.3f}", 0.9 <= h <= 1.1),
        Check("without correcting m (v corrected) the first updates are far smaller",
              f"{m_only:.3f} × lr (1 − β1 = 0.1)", m_only < 0.3),
        Check("without any correction (MLX's default) the first updates are far smaller",
              f"{none:.2f} × lr: larger, not smaller — (1 − β1)/√(1 − β2) = 0.1/0.032 = 3.16 at "
              f"step 1, as v's bias outweighs m's", none < 0.3),
        Check(f"AdamW and Adam + L2 at λ = {weight_decay:g} end with different weight norms (> 10% apart)",
              f"after {steps:,} steps: Adam + L2 {decay['Adam + L2'][0][-1]:.2f}, AdamW "
              f"{decay['AdamW'][0][-1]:.2f} (start {decay['AdamW'][0][0]:.2f})", gap > 0.1),
        Check("AdamW shrinks a weight that gets no gradient by exactly (1 − lr·λ) per step",
              f"kept {decay['AdamW'][1]:.6f} of it, predicted {predicted:.6f}; Adam + L2 kept "
              f"{decay['Adam + L2'][1]:.4f} (its decay is divided by √v̂: ≈ lr per step whatever λ)",
              abs(decay["AdamW"][1] - predicted) < 1e-4),
    ]
    r.notes.append(f"blobs, [4, 16, 3], lr {lr:g}, float64; the switchable Adam (LessonAdam) with both "
                   f"corrections matches handgrad's Adam to {fmt(same)} after 200 steps. The weight-norm "
                   f"runs: [5, 64, 3] with the fifth input always 0, {steps:,} steps; final losses "
                   f"Adam + L2 {decay['Adam + L2'][2]:.3f}, AdamW {decay['AdamW'][2]:.3f}.")

    def draw(plt):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4))
        colors = {"handgrad's Adam": COLORS["adam"], "no correction (MLX's default)": COLORS["momentum"],
                  "m uncorrected, v corrected": COLORS["sgd"]}
        for n, c in colors.items():
            a1.loglog(np.arange(1, len(ratio[n]) + 1), ratio[n], color=c, label=n)
        a1.axhline(1, color="0.5", ls=":", lw=0.8)
        a1.set(xlabel="step", ylabel="median |Δθ| / lr", title="Update size, relative to lr")
        a1.legend()
        for n, c in (("Adam + L2", COLORS["adam"]), ("AdamW", COLORS["adamw"])):
            a2.plot(decay[n][0], color=c, label=f"{n}, λ = {weight_decay:g}")
        a2.set(xlabel="step", ylabel="‖W‖ (all weight matrices)", title="Weight norm over training")
        a2.legend()
        return fig

    r.plots["adam"] = draw
    return r
