"""The playground's JavaScript twin (static/js/twin.js) against handgrad's NumPy MLP, under Node.

Every case copies one NumPy network's weights into the twin, then both take 20 optimizer steps
on the same random batches (and the same dropout masks), in float64; after every step each
cached z, a and δ, each gradient (with the L1 term), each parameter and buffer and the loss
must agree, and at the end the evaluation-mode output, predictions and evaluation too.

Agreement is measured as in tests/test_parity.py: per array, max |a - b| / max |b|, the scale
floored at 1e-3 of the largest entry of that kind in the step (a gradient that is zero in exact
arithmetic, like a bias's in front of a batch norm, is rounding noise in both). Worst allowed:
1e-12. One Node process answers every request of the session, one JSON line in and out.
"""

import importlib.util
import json
import math
import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import handgrad as hg
from handgrad.nn import (
    ACTIVATION_ALIASES,
    LOSS_ALIASES,
    activation_names,
    add_penalties,
    init_names,
    loss_names,
    norm_names,
)
from handgrad.nn import activations as nn_activations
from handgrad.nn import losses as nn_losses
from handgrad.optim import make_optimizer, optimizer_names
from handgrad.playground import config
from handgrad.train import train

ROOT = Path(__file__).resolve().parents[1]
TWIN = ROOT / "src/handgrad/playground/static/js/twin.js"
RUNNER = ROOT / "tests/js/twin_runner.js"
TOL = 1e-12
STEPS = 20

HIDDEN = activation_names(hidden=True) + list(ACTIVATION_ALIASES)      # swish too, by its alias
OUTPUTS = [("softmax", "cross_entropy"), ("softmax", "mse"), ("identity", "mse"),
           ("identity", "mse_mean"), ("sigmoid", "binary_cross_entropy"), ("sigmoid", "mse"),
           ("tanh", "mse")]
OPTIMIZERS = optimizer_names()
# the smallest hidden width, input count and batch each norm is compared with. A norm over a
# few values is nearly degenerate (a layer norm over one feature outputs β whatever comes in;
# over three, x̂ lies on a circle), and a batch norm over one input or a handful of examples
# leaves gradients that are mostly cancellation: there any two correct float64 implementations
# differ by more than 1e-12.
NORM_LIMITS = {"none": (1, 1, 1), "layer": (4, 1, 1), "rms": (4, 1, 1), "batch": (3, 2, 8)}


@pytest.fixture(scope="module")
def node():
    """ask(request) -> answer, through one Node process running tests/js/twin_runner.js."""
    exe = shutil.which("node")
    if exe is None:
        pytest.skip("Node.js is not installed; the JavaScript twin's tests run it under node")
    proc = subprocess.Popen([exe, str(RUNNER), str(TWIN)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)

    def ask(request):
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        assert line, f"node stopped (exit status {proc.poll()})"
        return json.loads(line)

    yield ask
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=30)


# --- cases ------------------------------------------------------------------------------------

def hyperparameters(opt, r):
    """Random settings for optimizer ``opt``, drawn from generator r."""
    h = {"optimizer": opt, "momentum": 0.0, "nesterov": False, "betas": [0.9, 0.999], "eps": 1e-8}
    if opt in ("sgd", "momentum", "nesterov"):
        h["lr"] = float(r.uniform(0.005, 0.1))
        if opt != "sgd":
            h["momentum"] = float(r.uniform(0.5, 0.95))
    else:
        h["lr"] = float(r.uniform(1e-4, 0.02))
        h["betas"] = [float(r.uniform(0.8, 0.95)), float(r.uniform(0.95, 0.9999))]
        h["eps"] = float(10 ** r.uniform(-10, -6))
    h["l2"] = float(r.choice([0.0, r.uniform(1e-4, 0.1)]))
    h["l1"] = float(r.choice([0.0, r.uniform(1e-4, 1e-2)]))
    return h


def make_case(depth, widths, n_in, hidden, output, norm, dropout, opt, batch, seed):
    """Everything one parity case needs: the spec, the NumPy network and its batches."""
    r = np.random.default_rng(seed)
    out_act, loss = output
    n_out = {"softmax": int(r.integers(2, 6)), "sigmoid": 1}.get(out_act, int(r.integers(1, 3)))
    sizes = [n_in, *widths, n_out]
    h = hyperparameters(opt, r)
    # a bias in front of a batch norm is redundant (β does its work): its gradient is zero but
    # for rounding, which differs between any two implementations (and Adam would blow it up to
    # ±lr per step), so those layers go without one, as is usual
    bias_off = norm == "batch"
    if norm == "batch":    # likewise β's, when an identity passes its shift on to the next one
        hidden = ["tanh" if f == "identity" else f for f in hidden]
    spec = {
        "layer_sizes": sizes, "activations": [*hidden, out_act], "loss": loss,
        "norm": [None if norm == "none" else norm] * depth, "dropout": [dropout] * depth,
        "bias": [not bias_off] * depth + [True], **h,
    }
    return {"spec": spec, "batch": batch, "seed": seed, "scale": float(r.uniform(0.3, 2.0))}


def nudged(a, g):
    """``a`` with every entry moved one ulp up or down at random (drawn from g)."""
    return np.nextafter(a, np.where(g.random(np.shape(a)) < 0.5, -np.inf, np.inf))


class RoundingElsewhere:
    """NumPy with exp, log, log1p and tanh rounding their results one ulp up or down at
    random, as another maths library (JavaScript's) may; the rest is NumPy's own."""

    def __init__(self, g):
        for name in ("exp", "log", "log1p", "tanh"):
            exact = getattr(np, name)
            setattr(self, name, lambda *args, exact=exact, **kw: nudged(exact(*args, **kw), g))

    def __getattr__(self, name):
        return getattr(np, name)


@contextmanager
def rounding_elsewhere(g):
    """handgrad's primitives computing with RoundingElsewhere (and erf likewise) inside."""
    saved = {m: m.np for m in (nn_activations, nn_losses)}, nn_activations.erf
    for m in saved[0]:
        m.np = RoundingElsewhere(g)
    nn_activations.erf = lambda x: nudged(saved[1](x), g)
    try:
        yield
    finally:
        for m, module_np in saved[0].items():
            m.np = module_np
        nn_activations.erf = saved[1]


def numpy_run(case, nudge=None):
    """handgrad's MLP through the case's steps: the twin's request and what NumPy computed.

    With ``nudge`` (a generator), every input, regression target and starting parameter is
    moved by one ulp first and the elementary functions round elsewhere: the run then shows
    how far rounding alone moves NumPy's results.
    """
    with np.errstate(all="ignore"):                 # a run that diverges is left out (stable)
        if nudge is None:
            return numpy_run_(case, None)
        with rounding_elsewhere(nudge):
            return numpy_run_(case, nudge)


def numpy_run_(case, nudge):
    spec, B = case["spec"], case["batch"]
    r = np.random.default_rng(case["seed"] + 1)
    model = hg.MLP(spec["layer_sizes"], spec["activations"], seed=case["seed"], dtype=np.float64,
                   norm=spec["norm"], dropout=spec["dropout"], bias=spec["bias"],
                   loss=spec["loss"])
    for p in model.params.values():               # no bias 0 or γ 1: nothing starts special
        if p.ndim == 1:
            p += r.normal(0, 0.3, p.shape)
    state = {k: v.tolist() for k, v in model.state_dict().items()}
    if nudge is not None:
        for p in model.params.values():
            p[...] = nudged(p, nudge)
    opt = make_optimizer(spec["optimizer"], spec["lr"], momentum=spec["momentum"],
                         nesterov=spec["nesterov"], weight_decay=spec["l2"],
                         betas=spec["betas"], eps=spec["eps"])
    deltas = {}
    for i, layer in enumerate(model.layers):      # record δ = dL/dz as the backward pass meets it
        def record(delta, i=i, inner=layer.backward_delta):
            deltas[i] = delta.copy()
            return inner(delta)
        layer.backward_delta = record
    n_in, n_out = spec["layer_sizes"][0], spec["layer_sizes"][-1]

    def targets(n, labels=False):
        """Labels, 0/1 for binary cross-entropy (and a sigmoid's ``labels``), else values inside
        the output's range (a target beyond it drives the unit into saturation, where 1 - a²
        is all rounding)."""
        if model.task == "classification":
            return r.integers(0, n_out, n)
        if spec["loss"] == "binary_cross_entropy" or (labels and model.task == "binary"):
            return r.integers(0, 2, (n, 1)).astype(np.float64)
        low, high = {"sigmoid": (0.1, 0.9), "tanh": (-0.8, 0.8)}.get(spec["activations"][-1],
                                                                      (-2.0, 2.0))
        return r.uniform(low, high, (n, n_out))

    def moved(a):
        return a if nudge is None or a.dtype != np.float64 else nudged(a, nudge)

    steps, expected = [], []
    for _ in range(STEPS):
        X = r.standard_normal((B, n_in)) * case["scale"]
        y = targets(B)
        masks = []
        for layer in model.layers:
            if layer.dropout is None:
                masks.append(None)
                continue
            keep = (r.random((B, layer.W.shape[0])) >= layer.dropout.p).astype(np.float64)
            layer.dropout.fixed_mask = keep * (1 / (1 - layer.dropout.p))
            masks.append(keep.tolist())
        loss = model.loss_and_grad(moved(X), moved(y) if spec["loss"].startswith("mse") else y)
        add_penalties(model.params, model.grads, l1=spec["l1"])
        record = {"loss": loss, "z": [l.z.copy() for l in model.layers],
                  "a": [l.a.copy() for l in model.layers],
                  "delta": [deltas[i] for i in range(len(model.layers))],
                  "grads": {k: g.copy() for k, g in model.grads.items()}}
        opt.step(model)
        record["params"] = model.state_dict()
        steps.append({"X": X.tolist(), "y": y.tolist(), "masks": masks})
        expected.append(record)
    grid = r.standard_normal((12, n_in)) * case["scale"]
    grid_y = targets(12, labels=True)
    final = {"output": model._predict_output(grid), "predict": model.predict(grid),
             "evaluate": model.evaluate(grid, grid_y)}
    if model.task != "regression":
        final["proba"] = model.predict_proba(grid)
    request = {"spec": spec, "state": state, "steps": steps, "grid": grid.tolist(),
               "grid_y": grid_y.tolist()}
    return request, expected, final


def stable(expected):
    """True when NumPy's run stayed finite and its loss never grew past 100 (1 + first loss):
    a run that diverges amplifies every rounding difference, and compares nothing."""
    losses = [e["loss"] for e in expected]
    return bool(np.all(np.isfinite(losses)) and max(losses) <= 100 * (1 + losses[0]))


def diff(a, b, scale):
    """max |a - b| / scale (0 when both are empty or the scale is 0 and they agree)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"shapes differ: {a.shape} and {b.shape}"
    d = float(np.max(np.abs(a - b), initial=0.0))
    return d / scale if scale else d


def scale_of(b, floor=0.0):
    return max(float(np.max(np.abs(np.asarray(b, dtype=np.float64)), initial=0.0)), floor)


class Verdict:
    """The worst difference of a case, and whether each one is within bounds.

    An array passes when it agrees with NumPy's to TOL relative (max |twin - NumPy| over its
    largest entry, floored at 1e-3 of the largest entry of that kind in the step), or, where
    the computation itself amplifies rounding, to within NOISE_FACTOR times the distance
    between NumPy's run and the same run with its rounding moved (NUDGED_RUNS of them; see
    numpy_run): a saturated tanh's 1 - a², a small gradient that is a sum of large terms,
    Adam's first step on such a gradient, a norm over nearly equal values.
    """

    def __init__(self, nudged):
        self.nudged = nudged          # () -> [(expected, final)], computed when first needed
        self.worst, self.where, self.excess, self.excess_where = 0.0, "", 0.0, ""
        self.arrays, self.beyond_tol = 0, 0

    def note(self, got, want, pick, where, floor=0.0):
        """``pick(expected_step_or_final)`` finds ``want`` in a nudged run."""
        scale = scale_of(want, floor)
        err = diff(got, want, scale)
        self.arrays += 1
        if not err <= self.worst:              # a NaN counts as the worst
            self.worst, self.where = err, where
        if err <= TOL:
            return
        self.beyond_tol += 1
        noise = max(diff(pick(run), want, scale) for run in self.nudged())
        excess = err / max(TOL, NOISE_FACTOR * noise)
        if not excess <= self.excess:
            self.excess = excess
            self.excess_where = f"{where}: {err:.3g} against NumPy's own {noise:.3g}"

    @property
    def ok(self):
        return self.excess <= 1


NOISE_FACTOR = 10
NUDGED_RUNS = 2


def compare(answer, expected, final, nudged):
    """The Verdict on one case: every step's arrays and loss, then the evaluation.
    ``nudged()``: [(expected, final)] of NumPy's runs with their rounding moved."""
    assert "error" not in answer, answer.get("error")
    v = Verdict(lambda: [run[0] for run in nudged()])
    for s, (got, want) in enumerate(zip(answer["steps"], expected, strict=True)):
        v.note(got["loss"], want["loss"], lambda run, s=s: run[s]["loss"], f"step {s} loss")
        for kind in ("z", "a", "delta"):
            floor = 1e-3 * max(scale_of(w) for w in want[kind])
            for i, (g, w) in enumerate(zip(got[kind], want[kind], strict=True)):
                v.note(g, w, lambda run, s=s, k=kind, i=i: run[s][k][i], f"step {s} {kind}[{i}]",
                       floor)
        for kind in ("grads", "params"):
            assert sorted(got[kind]) == sorted(want[kind]), (kind, sorted(got[kind]))
            floor = 1e-3 * max(scale_of(w) for w in want[kind].values())
            for name, w in want[kind].items():
                v.note(got[kind][name], w, lambda run, s=s, k=kind, n=name: run[s][k][n],
                       f"step {s} {kind} {name}", floor)
    v.nudged = lambda: [run[1] for run in nudged()]
    for key in ("output", "proba"):
        if key in final:
            v.note(answer[key], final[key], lambda run, k=key: run[k], f"evaluation {key}")
    if "proba" in final:
        agree = np.asarray(answer["predict"]) == final["predict"]
        if not agree.all():   # a tie between classes that NumPy itself breaks both ways
            moved = np.any([run[1]["predict"] != final["predict"] for run in nudged()], axis=0)
            assert np.all(agree | moved), "predicted classes differ"
    else:
        v.note(answer["predict"], final["predict"], lambda run: run["predict"], "predict")
    for key, value in final["evaluate"].items():
        v.note(answer["evaluate"][key], value, lambda run, k=key: run["evaluate"][k],
               f"evaluate {key}")
    return v


def run_case(node, case):
    """The Verdict on one case, or None when NumPy's run diverged (nothing to compare)."""
    request, expected, final = numpy_run(case)
    if not stable(expected):
        return None
    runs = []

    def nudged():
        if not runs:
            runs.extend(numpy_run(case, nudge=np.random.default_rng([case["seed"], k]))[1:]
                        for k in range(NUDGED_RUNS))
        return runs

    return compare(node({"op": "parity", "case": request}), expected, final, nudged)


def sweep(count, seed=2024, norms=("none",)):
    """``count`` cases cycling through every hidden activation, output/loss, optimizer and
    ``norms``, the other choices drawn at random."""
    r = np.random.default_rng(seed)
    cases = []
    for k in range(count):
        norm = norms[k % len(norms)]
        depth = int(r.integers(1, 5))
        width, inputs, batch = NORM_LIMITS[norm]
        widths = [int(w) for w in r.integers(width, 9, depth)]
        hidden = [HIDDEN[(k + j) % len(HIDDEN)] for j in range(depth)]
        cases.append(make_case(depth, widths, int(r.integers(inputs, 4)), hidden,
                               OUTPUTS[k % len(OUTPUTS)], norm, float(r.choice([0.0, 0.2, 0.5])),
                               OPTIMIZERS[k % len(OPTIMIZERS)],
                               int(r.integers(batch, 13)),
                               int(r.integers(0, 2**31))))
    return cases


# --- parity -----------------------------------------------------------------------------------

def test_every_activation_loss_optimizer_and_norm_agrees_with_numpy_for_20_steps(node):
    # 35 cases: each output and loss (7) meets each optimizer (5); the activations and norms cycle
    cases = sweep(35, norms=("none", "batch", "layer", "rms"))
    verdicts = [v for v in (run_case(node, c) for c in cases) if v is not None]
    assert len(verdicts) >= 33                          # few diverge
    worst = max(verdicts, key=lambda v: v.excess)
    assert worst.ok, worst.excess_where


@st.composite
def cases(draw):
    norm = draw(st.sampled_from(["none", "batch", "layer", "rms"]))
    width, inputs, batch = NORM_LIMITS[norm]
    depth = draw(st.integers(1, 4))
    widths = draw(st.lists(st.integers(width, 8), min_size=depth, max_size=depth))
    hidden = draw(st.lists(st.sampled_from(HIDDEN), min_size=depth, max_size=depth))
    return make_case(depth, widths, draw(st.integers(inputs, 3)), hidden,
                     draw(st.sampled_from(OUTPUTS)), norm, draw(st.sampled_from([0.0, 0.1, 0.5])),
                     draw(st.sampled_from(OPTIMIZERS)),
                     draw(st.integers(batch, 12)),
                     draw(st.integers(0, 2**31 - 1)))


@pytest.mark.slow
@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_random_architectures_agree_with_numpy_for_20_steps(node, case):
    verdict = run_case(node, case)
    assume(verdict is not None)
    assert verdict.ok, verdict.excess_where


def test_epoch_without_shuffling_is_handgrads_training_loop(node):
    """epoch(X, y, batch, false): the same mini-batches in order, as train(shuffle=False)."""
    r = np.random.default_rng(5)
    X, y = r.standard_normal((23, 2)), r.integers(0, 3, 23)
    model = hg.MLP([2, 5, 4, 3], ["tanh", "relu", "softmax"], seed=1, dtype=np.float64)
    state = {k: v.tolist() for k, v in model.state_dict().items()}
    spec = {"layer_sizes": [2, 5, 4, 3], "activations": ["tanh", "relu", "softmax"],
            "optimizer": "momentum", "lr": 0.05, "l2": 0.01}
    answer = node({"op": "calls", "calls": [["build", spec], ["load", state],
                                            ["epoch", X.tolist(), y.tolist(), 5, False],
                                            ["epoch", X.tolist(), y.tolist(), 5, False]]})
    history = train(model, X, y, epochs=2, batch_size=5, shuffle=False,
                             optimizer=make_optimizer("momentum", 0.05, weight_decay=0.01))
    assert answer["result"]["steps"] == 5 and answer["result"]["finite"]
    assert abs(answer["result"]["loss"] - history.column("train_loss")[-1]) <= 1e-12
    for name, value in model.state_dict().items():
        assert diff(answer["state"][name], value, scale_of(value)) <= TOL, name


# --- the twin's own parts ---------------------------------------------------------------------

def test_names_match_handgrads_registries_and_the_pages_options(node):
    names = node({"op": "names"})
    assert names["activations"] == activation_names()
    assert names["activation_aliases"] == ACTIVATION_ALIASES
    assert names["losses"] == loss_names() and names["loss_aliases"] == LOSS_ALIASES
    assert names["norms"] == norm_names()
    assert names["initializers"] == init_names()
    assert names["optimizers"] == optimizer_names()
    assert {loss for _, loss in OUTPUTS} == set(loss_names())      # the parity cases cover all
    assert set(config.ACTIVATIONS) <= set(names["activations"])
    assert set(config.OPTIMIZERS) <= set(names["optimizers"])
    assert set(config.LOSSES) <= set(names["losses"])
    assert set(config.NORMS) - {"none"} <= set(names["norms"])


def test_erf_agrees_with_the_c_library_to_a_few_ulps(node):
    xs = np.concatenate([np.linspace(-7, 7, 14001), np.geomspace(1e-300, 30, 3000),
                         -np.geomspace(1e-300, 30, 3000), [0.0, 2.5, np.nextafter(2.5, 0), 6.0,
                                                            np.nextafter(6.0, 0), 5e-324]])
    got = np.array(node({"op": "erf", "x": xs.tolist()})["y"])
    want = np.array([math.erf(x) for x in xs])
    err = np.abs(got - want) / np.maximum(np.abs(want), 5e-324)
    assert err.max() <= 1e-15, f"worst {err.max():.3g} at x = {xs[err.argmax()]!r}"
    assert np.all(np.sign(got) == np.sign(want)) and np.all(np.abs(got) <= 1)
    ends = node({"op": "erf", "x": ["Infinity", "-Infinity", "NaN"]})["y"]
    assert ends == [1, -1, None]                     # JSON writes NaN as null


def test_generator_is_seeded_uniform_and_normal_and_init_has_the_right_scale(node):
    a = node({"op": "rng", "seed": 7, "n": 20000, "layer_sizes": [100, 200], "init": "he"})
    b = node({"op": "rng", "seed": 7, "n": 20000, "layer_sizes": [100, 200], "init": "he"})
    c = node({"op": "rng", "seed": 8, "n": 20000, "layer_sizes": [100, 200], "init": "xavier"})
    assert a == b and a["uniform"] != c["uniform"]
    u, z = np.array(a["uniform"]), np.array(a["normal"])
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.02
    assert sorted(a["permutation"]) == list(range(20000)) and a["permutation"][:5] != [0, 1, 2, 3, 4]
    W = np.array(a["state"]["layers.0.weight"])
    assert W.shape == (200, 100) and abs(W.std() / math.sqrt(2 / 100) - 1) < 0.03
    W = np.array(c["state"]["layers.0.weight"])     # xavier: U(±√(6/(n_in + n_out)))
    assert np.abs(W).max() <= math.sqrt(6 / 300) and abs(W.std() / math.sqrt(2 / 300) - 1) < 0.03
    assert a["state"]["layers.0.bias"] == [0.0] * 200


def test_twin_trains_the_playgrounds_default_network_on_its_default_data(node):
    from handgrad.playground.session import Session
    session = Session(config.check_setup({}))
    setup = session.setup
    spec = {"layer_sizes": session.model.layer_sizes,
            "activations": [setup["activation"]] * len(setup["hidden"]) + ["softmax"],
            "optimizer": setup["optimizer"], "lr": setup["lr"], "l2": setup["l2"], "seed": 3}
    answer = node({"op": "train", "spec": spec, "epochs": 300, "batch": setup["batch"],
                   "shuffle": True, "X": session.X_train.tolist(), "y": session.t_train.tolist(),
                   "X_test": session.X_test.tolist(), "y_test": session.t_test.tolist()})
    assert answer["losses"][-1] < 0.5 * answer["losses"][0]
    assert answer["evaluate"]["accuracy"] >= 0.95, answer["evaluate"]


def test_dropout_draws_its_own_masks_and_evaluation_keeps_the_training_arrays(node):
    r = np.random.default_rng(9)
    X, y = r.standard_normal((200, 3)).tolist(), r.integers(0, 2, 200).tolist()
    spec = {"layer_sizes": [3, 50, 2], "activations": ["relu", "softmax"], "dropout": 0.3,
            "seed": 11}
    calls = [["build", spec], ["step", X, y], ["snapshot"]]
    first, again = (node({"op": "calls", "calls": calls})["result"] for _ in range(2))
    mask = np.array(first["layers"][0]["mask"])
    assert first == again                                      # the seed fixes the masks
    assert mask.shape == (200, 50) and set(np.unique(mask)) == {0.0, 1 / 0.7}
    assert abs(np.mean(mask == 0) - 0.3) < 0.02
    after = node({"op": "calls", "calls": [*calls[:2], ["predict", X], ["layerOutputs", X],
                                           ["evaluate", X, y], ["snapshot"]]})["result"]
    assert after == first                                      # evaluation kept nothing
    answer = node({"op": "calls", "calls": [*calls[:2], ["layerOutputs", X]]})
    W, b = (np.array(answer["state"][f"layers.0.{k}"]) for k in ("weight", "bias"))
    np.testing.assert_allclose(answer["result"][0], np.maximum(np.array(X) @ W.T + b, 0),
                               rtol=1e-14, atol=1e-14)            # evaluation: no mask


# --- what a user can get wrong ----------------------------------------------------------------

SPEC = {"layer_sizes": [2, 4, 3], "activations": ["tanh", "softmax"]}
STATE = hg.MLP([2, 4, 3], ["tanh", "softmax"], seed=0, dtype=np.float64).state_dict()


def error_of(node, *calls):
    answer = node({"op": "calls", "calls": list(calls)})
    assert "error" in answer, f"no error for {calls}"
    return answer["error"]


def test_a_wrong_shaped_weight_is_named_with_both_shapes(node):
    state = {k: v.tolist() for k, v in STATE.items()}
    state["layers.0.weight"] = STATE["layers.0.weight"].T.tolist()
    message = error_of(node, ["build", SPEC], ["load", state])
    assert "layers.0.weight: expected (4, 2), got (2, 4)" in message
    del state["layers.1.bias"]
    state["layers.1.gamma"] = [1.0]
    message = error_of(node, ["build", SPEC], ["load", state])
    assert "missing keys: layers.1.bias" in message and "unexpected keys: layers.1.gamma" in message
    state = {k: v.tolist() for k, v in STATE.items()}
    state["layers.1.bias"] = [0.0, "x", 1.0]
    assert "layers.1.bias: expected (3,)" in error_of(node, ["build", SPEC], ["load", state])


def test_a_rejected_state_dict_changes_nothing(node):
    state = {k: v.tolist() for k, v in STATE.items()}
    bad = dict(state, **{"layers.0.weight": (STATE["layers.0.weight"] + 1).tolist(),
                         "layers.1.bias": [0.0, "x", 1.0]})
    answer = node({"op": "calls", "calls": [["build", SPEC], ["load", state], ["load", bad]]})
    assert "layers.1.bias: expected (3,)" in answer["error"]
    assert answer["state"]["layers.0.weight"] == state["layers.0.weight"]


@pytest.mark.parametrize("spec, expected", [
    ({"activations": ["tanh", "softmx"]},
     "unknown activation \"softmx\"; valid names: relu, leaky_relu, sigmoid, tanh, gelu"),
    ({"norm": "group"}, "unknown norm \"group\"; valid names: none, batch, layer, rms"),
    ({"optimizer": "adagrad"},
     "unknown optimizer \"adagrad\"; valid names: sgd, momentum, nesterov, adam, adamw"),
    ({"loss": "hinge"}, "unknown loss \"hinge\"; valid names: bce, binary_cross_entropy, ce"),
    ({"loss": "binary_cross_entropy"}, "is fused with a sigmoid output; the output activation is"),
    ({"lr": 0}, "learning rate must be a positive number; got 0"),
    ({"dropout": 1}, "dropout must be a probability in [0, 1); got 1"),
    ({"layer_sizes": [2]}, "layer_sizes needs at least 2 positive whole numbers; got [2]"),
    ({"layer_sizes": [2, 0, 3]}, "layer_sizes needs at least 2 positive whole numbers"),
    ({"activations": ["tanh"]}, "activations needs 2 entries (one per layer); got 1"),
    ({"init": "zeros"}, "unknown init method \"zeros\"; valid names: he, he_normal"),
    ({"learning_rate": 0.1}, "unknown setting 'learning_rate'; known settings: activations"),
    ({"optimizer": "sgd", "nesterov": True}, "Nesterov momentum needs momentum > 0"),
    ({"l1": -1}, "l1 must be a number ≥ 0; got -1"),
    ({"optimizer": "momentum", "momentum": -0.5}, "momentum must be a number ≥ 0; got -0.5"),
    ({"optimizer": "adam", "betas": [0.9]}, "betas must be two numbers in [0, 1); got [0.9]"),
])
def test_a_bad_spec_says_what_was_expected(node, spec, expected):
    assert expected in error_of(node, ["build", {**SPEC, **spec}])


@pytest.mark.parametrize("call, expected", [
    (["step", [[1, 2, 3]], [0]], "X has 3 columns in row 0; expected 2"),
    (["step", [[1, "a"]], [0]], "X must hold finite numbers; got \"a\" at row 0, column 1"),
    (["step", [], []], "X must be a non-empty 2-D array, one row of 2 numbers per example"),
    (["step", [[1, 2]], [3]], "labels must be integers in [0, 3) for a 3-class output; got 3 at index 0"),
    (["step", [[1, 2]], [0.5]], "labels must be integers in [0, 3)"),
    (["step", [[1, 2], [3, 4]], [0]], "X has 2 samples but y has 1"),
    (["step", [[1, 2]], [0], [None, None]], None),
    (["backward", [0]], "backward needs the arrays of a forward pass: call forward(X) first"),
    (["epoch", [[1, 2]], [0], 0], "batchSize must be a positive whole number; got 0"),
])
def test_bad_data_says_what_was_expected(node, call, expected):
    answer = node({"op": "calls", "calls": [["build", SPEC], call]})
    if expected is None:
        assert "error" not in answer
    else:
        assert expected in answer.get("error", ""), answer


def test_batch_norm_and_regression_errors(node):
    spec = {"layer_sizes": [2, 4, 1], "activations": ["relu", "identity"], "norm": "batch"}
    assert "batch norm needs more than 1 example per batch in training (got 1)" in error_of(
        node, ["build", spec], ["step", [[1, 2]], [0.5]])
    assert "predictProba needs a softmax or sigmoid output; this network regresses" in error_of(
        node, ["build", spec], ["predictProba", [[1, 2]]])
    spec = {"layer_sizes": [2, 3, 1], "activations": ["relu", "sigmoid"]}
    assert "binary cross-entropy targets must be 0 or 1" in error_of(
        node, ["build", spec], ["step", [[1, 2]], [0.5]])
    answer = node({"op": "calls", "calls": [["build", {**spec, "norm": "batch"}],
                                            ["predict", [[1, 2]]]]})
    assert answer["result"] in ([0], [1])          # one example in evaluation mode is fine


def test_the_benchmark_times_the_twin_and_numpy_on_the_default_network(node, monkeypatch):
    """benchmarks/js_twin.py's contenders run and count steps (no timing is asserted)."""
    monkeypatch.setattr(os, "environ", dict(os.environ))    # its thread settings stay its own
    path = ROOT / "benchmarks" / "js_twin.py"
    spec = importlib.util.spec_from_file_location("js_twin_bench", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    session, twin_spec, X, y, batch = bench.default_run()
    assert twin_spec["layer_sizes"] == [2, 4, 2, 2] and batch == 10 and len(X) == 200
    assert bench.twin_node(shutil.which("node"), bench.twin_request(twin_spec, X, y, batch, 0.05)) > 0
    assert bench.numpy_step(session, X, y, batch, 0.05) > 0
    assert bench.server_mode(session, 0.05) > 0
