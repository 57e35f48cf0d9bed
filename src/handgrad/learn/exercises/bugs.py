"""The five training-loop bugs: the broken script of bug-fix, the fixed one, and the
measurements behind bug-quiz and bug-fix.

The setup (ours): ten Gaussian blobs in 20-D, 3000 training points that come sorted by
label and 1000 validation points; a 20 → 64 → 10 ReLU network; one epoch of batches of 32
with SGD at lr 0.3. The checker runs the same loop with one bug at a time to see which
symptom each bug shows, and drives the learner's fixed functions one by one.
"""

from __future__ import annotations

import math
from functools import lru_cache
from itertools import pairwise
from typing import Any

import numpy as np

from ...mlp import MLP
from ..checking import Fail, Learner, as_array, unpack

SIZES = (20, 64, 10)
N_TRAIN, N_VAL, BATCH, LR, EPOCHS = 3000, 1000, 32, 0.3, 1
STEPS = EPOCHS * math.ceil(N_TRAIN / BATCH)

BUGS = {"a": "forgot to zero the gradients", "b": "lr = 100", "c": "lr = 1e-9",
        "d": "init not scaled by √(2/n)", "e": "data never shuffled"}
SYMPTOMS = {
    "nan": "the loss is NaN or inf within a few steps",
    "flat": "the loss does not move at all",
    "huge-start": "the first loss is about 50 instead of log 10 ≈ 2.30",
    "val-poor": "the training loss drops to almost 0, yet validation accuracy is far below a "
                "shuffled run's",
    "rises-again": "the loss falls at first, then climbs back up",
}

DATA_CODE = '''
def make_data(seed=0):
    """Ten Gaussian blobs in 20-D: 3000 training points, sorted by label (as data files
    often come), and 1000 validation points."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((10, 20))                          # (10, 20)
    y = np.sort(rng.integers(0, 10, 3000))                           # (3000,) sorted
    X = centers[y] + rng.standard_normal((3000, 20))                 # (3000, 20)
    y_val = rng.integers(0, 10, 1000)                                # (1000,)
    X_val = centers[y_val] + rng.standard_normal((1000, 20))         # (1000, 20)
    return X, y, X_val, y_val
'''

LOSS_CODE = '''
def loss_and_grads(params, X, y, grads):
    """Mean cross-entropy of the 20 -> 64 -> 10 ReLU network on (X, y). ADDS each gradient
    into grads[name] (like PyTorch's .grad) and returns the loss. (This one has no bug.)"""
    B = X.shape[0]
    z1 = X @ params["W0"].T + params["b0"]                 # (B, 64)
    a1 = np.maximum(z1, 0)                                  # (B, 64)
    z2 = a1 @ params["W1"].T + params["b1"]                # (B, 10)
    s = z2 - z2.max(axis=1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(B), y].mean()
    dz2 = np.exp(log_p)
    dz2[np.arange(B), y] -= 1
    dz2 /= B                                                # (B, 10)
    dz1 = (dz2 @ params["W1"]) * (z1 > 0)                   # (B, 64)
    grads["W1"] += dz2.T @ a1
    grads["b1"] += dz2.sum(axis=0)
    grads["W0"] += dz1.T @ X
    grads["b0"] += dz1.sum(axis=0)
    return loss
'''

# each fix: (the broken line, the fixed line)
FIX_INIT = ("params[f\"W{i}\"] = rng.standard_normal((d_out, d_in))  ",
            "params[f\"W{i}\"] = rng.standard_normal((d_out, d_in)) * np.sqrt(2 / d_in)  ")
FIX_LR = ("return 1e-9 if step < 30 else 100.0", "return 0.3")
FIX_SHUFFLE = ("order = np.arange(n)", "order = rng.permutation(n)")
FIX_ZERO = ("    loss = loss_and_grads(params, X, y, grads)\n",
            "    for g in grads.values():\n        g[...] = 0                       # zero_grad\n"
            "    loss = loss_and_grads(params, X, y, grads)\n")

FIXED_SCRIPT = '''
import numpy as np

SIZES = (20, 64, 10)
''' + DATA_CODE + '''

def init_params(rng):
    """W{i} (d_out, d_in) and b{i} for each layer of SIZES."""
    params = {}
    for i, (d_in, d_out) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        params[f"W{i}"] = rng.standard_normal((d_out, d_in)) * np.sqrt(2 / d_in)  # (d_out, d_in)
        params[f"b{i}"] = np.zeros(d_out)
    return params


def learning_rate(step):
    """The learning rate of step 0, 1, 2, ... (a gentle warm-up, then the real rate)."""
    return 0.3


def batches(n, batch_size, rng):
    """The index batches of one epoch."""
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]
''' + LOSS_CODE + '''

def train_step(params, grads, X, y, lr):
    """One step of SGD on the batch (X, y); grads holds one buffer per parameter."""
    for g in grads.values():
        g[...] = 0                       # zero_grad
    loss = loss_and_grads(params, X, y, grads)
    for name in params:
        params[name] -= lr * grads[name]
    return loss


def train(epochs=1, batch_size=32, seed=0):
    """Train on make_data(seed); returns (params, the loss of every step)."""
    X, y, X_val, y_val = make_data(seed)
    rng = np.random.default_rng(seed)
    params = init_params(rng)
    grads = {name: np.zeros_like(p) for name, p in params.items()}
    losses, step = [], 0
    for _ in range(epochs):
        for idx in batches(len(X), batch_size, rng):
            losses.append(train_step(params, grads, X[idx], y[idx], learning_rate(step)))
            step += 1
    return params, losses


if __name__ == "__main__":
    params, losses = train()
    for step in range(0, len(losses), 10):
        print(f"step {step:3d}  loss {losses[step]:.4g}")
    X, y, X_val, y_val = make_data()
    z1 = np.maximum(X_val @ params["W0"].T + params["b0"], 0)
    accuracy = np.mean((z1 @ params["W1"].T + params["b1"]).argmax(axis=1) == y_val)
    print(f"validation accuracy {100 * accuracy:.1f}%")
'''

BROKEN_SCRIPT = FIXED_SCRIPT
for _broken, _fixed in (FIX_INIT, FIX_LR, FIX_SHUFFLE, FIX_ZERO):
    assert FIXED_SCRIPT.count(_fixed) == 1, _fixed
    BROKEN_SCRIPT = BROKEN_SCRIPT.replace(_fixed, _broken)


# --- the checker's own loop ------------------------------------------------------------------

@lru_cache(maxsize=1)
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    namespace: dict[str, Any] = {"np": np}
    exec(DATA_CODE, namespace)                          # the same data the script makes
    X, y, X_val, y_val = namespace["make_data"](0)
    for a in (X, y, X_val, y_val):
        a.setflags(write=False)
    return X, y, X_val, y_val


def network(params: dict[str, np.ndarray]) -> MLP:
    model = MLP(list(SIZES), dtype=np.float64, seed=0)
    for i, layer in enumerate(model.layers):
        layer.params["weight"][...] = params[f"W{i}"]
        layer.params["bias"][...] = params[f"b{i}"]
    return model


def he_params(rng: np.random.Generator, scaled: bool = True) -> dict[str, np.ndarray]:
    params = {}
    for i, (d_in, d_out) in enumerate(pairwise(SIZES)):
        params[f"W{i}"] = rng.standard_normal((d_out, d_in)) * (math.sqrt(2 / d_in) if scaled else 1)
        params[f"b{i}"] = np.zeros(d_out)
    return params


def accuracy(params: dict[str, np.ndarray]) -> float:
    _, _, X_val, y_val = data()
    with np.errstate(all="ignore"):
        if not all(np.isfinite(p).all() for p in params.values()):
            return math.nan
        return float(np.mean(network(params).predict(X_val) == y_val))


def full_loss(params: dict[str, np.ndarray]) -> float:
    X, y, _, _ = data()
    with np.errstate(all="ignore"):
        return float(network(params).loss_of(X, y))


def loop(params: dict[str, np.ndarray], rates: list[float], orders: list[np.ndarray],
         pile_up: bool = False) -> dict[str, Any]:
    """SGD over the given batches with the given rates; the gradients pile up if asked."""
    X, y, _, _ = data()
    model = network(params)
    piled = {k: np.zeros_like(g) for k, g in model.grads.items()}
    start = full_loss(params)
    losses = []
    with np.errstate(all="ignore"):
        for lr, idx in zip(rates, orders):
            losses.append(float(model.loss_and_grad(X[idx], y[idx])))
            if pile_up:
                for k, g in model.grads.items():
                    piled[k] += g
                    g[...] = piled[k]
            for k, p in model.params.items():
                p -= lr * model.grads[k]
    final = {f"W{i}": l.params["weight"].copy() for i, l in enumerate(model.layers)}
    final.update({f"b{i}": l.params["bias"].copy() for i, l in enumerate(model.layers)})
    return {"first": start, "losses": losses, "last": full_loss(final),
            "accuracy": accuracy(final)}


def shuffled_orders(rng: np.random.Generator, sort: bool = False) -> list[np.ndarray]:
    orders = []
    for _ in range(EPOCHS):
        order = np.arange(N_TRAIN) if sort else rng.permutation(N_TRAIN)
        orders += [order[i:i + BATCH] for i in range(0, N_TRAIN, BATCH)]
    return orders


def run_with_bug(bug: str | None) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    params = he_params(rng, scaled=bug != "d")
    rate = {"b": 100.0, "c": 1e-9}.get(bug or "", LR)
    return loop(params, [rate] * STEPS, shuffled_orders(rng, sort=bug == "e"), pile_up=bug == "a")


def symptoms(run: dict[str, Any], ok: dict[str, Any]) -> list[str]:
    """Which of the five symptoms a run shows, in the order they would catch the eye."""
    losses = np.array(run["losses"])
    found = []
    early = losses[:10]
    if not np.isfinite(losses).all() or (np.isfinite(early).all() and early.max() > 100 * losses[0]):
        found.append("nan")
    if run["first"] > 5 * math.log(10):
        found.append("huge-start")
    if math.isfinite(run["last"]) and abs(run["last"] - run["first"]) < 0.01 * run["first"]:
        found.append("flat")
    finite = losses[np.isfinite(losses)]
    if "nan" not in found and finite.size and (run["last"] > run["first"]
                                               or finite[-10:].mean() > 20 * finite.min() + 1):
        found.append("rises-again")
    if math.isfinite(run["accuracy"]) and run["accuracy"] < ok["accuracy"] - 0.25 and \
            finite.size and finite.min() < 0.1 * run["first"] and run["last"] < 0.9 * run["first"]:
        found.append("val-poor")
    return found


def describe_run(run: dict[str, Any]) -> str:
    losses = np.array(run["losses"])
    bad = np.flatnonzero(~np.isfinite(losses))
    parts = [f"first loss {run['first']:.3g}"]
    if bad.size:
        parts.append(f"NaN/inf at step {int(bad[0])}")
    else:
        parts.append(f"lowest batch loss {losses.min():.3g} (step {int(losses.argmin())}), last "
                     f"batch losses around {losses[-10:].mean():.3g}")
        parts.append(f"training loss at the end {run['last']:.4g}")
    parts.append("validation accuracy " + ("NaN" if not math.isfinite(run["accuracy"]) else
                                           f"{100 * run['accuracy']:.1f}%"))
    return ", ".join(parts)


@lru_cache(maxsize=1)
def symptoms_of_each_bug() -> dict[str, Any]:
    """Run every bug alone: what it showed, and the bug behind each symptom."""
    ok = run_with_bug(None)
    seen: dict[str, str] = {}
    culprit: dict[str, str] = {}
    for bug in BUGS:
        run = run_with_bug(bug)
        found = symptoms(run, ok)
        seen[bug] = describe_run(run)
        for symptom in found:
            culprit.setdefault(symptom, bug)
    missing = [s for s in SYMPTOMS if s not in culprit]
    if missing:
        raise RuntimeError(f"no bug showed {missing}: the quiz's measurement is broken")
    return {"seen": seen, "culprit": culprit, "ok": describe_run(ok)}


# --- checking the learner's fixed script ----------------------------------------------------

def check_fixed_script(L: Learner) -> None:
    ok = run_with_bug(None)
    X, y, _, _ = data()
    # (d) the init
    params = L.fn("init_params")(L.code("np.random.default_rng(0)"))
    if not isinstance(params, dict) or set(params) != {"W0", "b0", "W1", "b1"}:
        raise Fail("init_params(rng) should return a dict with W0, b0, W1, b1", "wrong-type")
    params = {k: as_array(v, f"init_params(rng)['{k}']") for k, v in params.items()}
    first = full_loss(params)
    if not first < 5 * math.log(10):
        raise Fail(f"the first loss is {first:.3g} — about 50 instead of log 10 ≈ 2.30: the "
                   "initial weights are too large. Scale N(0, 1) draws by √(2 / fan_in)",
                   "huge-start")
    # (b), (c) the learning rate, run in the checker's loop
    rate = L.fn("learning_rate")
    rates = [float(as_array(rate(s), f"learning_rate({s})")) for s in range(STEPS)]
    run = loop(he_params(np.random.default_rng(0)), rates, shuffled_orders(np.random.default_rng(1)))
    found = symptoms(run, ok)
    if "nan" in found:
        raise Fail(f"with your learning_rate the loss explodes ({describe_run(run)}; the largest "
                   f"rate is {max(rates):g}): lr = 100 is far too large", "nan")
    if "flat" in found or run["last"] > 0.7 * run["first"]:
        raise Fail(f"with your learning_rate the loss hardly moves ({describe_run(run)}; the "
                   f"rates run from {min(rates):g} to {max(rates):g}): lr = 1e-9 is far too small",
                   "flat")
    # (e) the order of the batches
    order_fn, shuffler = L.fn("batches"), L.code("np.random.default_rng(0)")
    orders: list[np.ndarray] = []
    for epoch in range(2):
        epoch_batches = order_fn(N_TRAIN, BATCH, shuffler)
        if not isinstance(epoch_batches, (list, tuple)):
            raise Fail("batches(n, batch_size, rng) should return a list of index arrays",
                       "wrong-type")
        idx = [np.asarray(as_array(b, "a batch"), dtype=np.int64) for b in epoch_batches]
        flat = np.sort(np.concatenate(idx)) if idx else np.array([])
        if not np.array_equal(flat, np.arange(N_TRAIN)):
            raise Fail("batches(n, …) should use every index 0 … n−1 exactly once per epoch",
                       "wrong-batches")
        if epoch == 0:
            orders = idx
        elif all(np.array_equal(a, b) for a, b in zip(orders, idx)):
            raise Fail("batches(…) gave the same order in two epochs: draw a new permutation "
                       "from rng every epoch", "val-poor")
    run = loop(he_params(np.random.default_rng(0)), [LR] * len(orders), orders)
    if run["accuracy"] < ok["accuracy"] - 0.15:
        raise Fail(f"with your batches the training loss falls but validation accuracy is only "
                   f"{100 * run['accuracy']:.1f}% (shuffled: {100 * ok['accuracy']:.1f}%): the "
                   "data comes sorted by label, so unshuffled batches show one class at a time "
                   "and the network forgets the earlier ones. Shuffle: rng.permutation(n)",
                   "val-poor")
    # (a) the gradients of two steps on one batch
    step = L.fn("train_step")
    start = he_params(np.random.default_rng(0))
    p = L.put(start)
    g = L.put({k: np.zeros_like(v) for k, v in start.items()})
    Xb, yb = X[:: N_TRAIN // BATCH][:BATCH], y[:: N_TRAIN // BATCH][:BATCH]
    for _ in range(2):
        step(p, g, Xb, yb, 0.0)
    got = L.fetch(g)
    model = network(start)
    model.loss_and_grad(Xb, yb)
    want = model.grads["layers.1.weight"]
    mine = as_array(got.get("W1") if isinstance(got, dict) else None, "the grads after train_step")
    if mine.shape == want.shape and np.allclose(mine, 2 * want, rtol=1e-6, atol=1e-9):
        raise Fail("after two steps of train_step (lr 0) on the same batch, grads holds twice "
                   "the batch's gradient: the gradients pile up from step to step, so the loss "
                   "falls, then climbs back. Zero every buffer before loss_and_grads",
                   "rises-again")
    if not (mine.shape == want.shape and np.allclose(mine, want, rtol=1e-6, atol=1e-9)):
        raise Fail("after train_step, grads does not hold the batch's gradient", "wrong-grads")
    # the whole script, as the learner runs it
    params_out, _ = unpack(L.fn("train")(), 2, "train()", ["params", "losses"])
    if not isinstance(params_out, dict):
        raise Fail("train() should return (params, losses) with params a dict", "wrong-type")
    final = {k: as_array(v, f"params['{k}']") for k, v in params_out.items()}
    acc = accuracy(final)
    if not acc >= 0.9:
        raise Fail(f"train() still misbehaves: validation accuracy {100 * acc:.1f}% (the fixed "
                   f"script reaches {100 * ok['accuracy']:.1f}%)")
    L.note(f"fixed: first loss {first:.2f}, validation accuracy {100 * acc:.1f}%")
