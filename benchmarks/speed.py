"""Speed of one training epoch: handgrad NumPy against its PyTorch and MLX twins and
scikit-learn's MLPClassifier, and against the machine's matrix-multiply limit.

    python benchmarks/speed.py            # Fashion-MNIST (or --dataset mnist); writes runs/bench/
    python benchmarks/speed.py --quick    # a smoke run on 12,000 examples
    python benchmarks/speed.py --publish  # also refresh benchmarks/results.md, .json, scaling.png

Every contender trains the same network (same sizes, batch size, plain SGD at the
same rate) on the same data, one epoch at a time. Rounds interleave the
contenders (A B C D, A B C D, …) so that a slow minute on a shared machine hurts
them all alike, and each contender's median epoch is quoted. The limit is the
epoch's matrix-multiply FLOPs divided by the float32 GEMM rate measured in the
same run; peak memory is measured with tracemalloc and set against
``handgrad.check.trace``.
"""

import gc
import itertools
import json
import math
import os
import platform
import subprocess
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import click
import numpy as np

from handgrad import compare
from handgrad.check import trace
from handgrad.data import load_dataset
from handgrad.mlp import MLP
from handgrad.nn.linear import Linear
from handgrad.optim import SGD
from handgrad.train import train
from handgrad.twins import BACKENDS, trainable

HERE = Path(__file__).resolve().parent


# --- what an epoch costs ------------------------------------------------------------------

def epoch_flops(sizes, n, batch_size):
    """Matrix-multiply FLOPs of one epoch: forward, dW, and dX for every layer but the first."""
    per_example = sum(2 * a * b * (3 if i else 2)
                      for i, (a, b) in enumerate(itertools.pairwise(sizes)))
    return per_example * n


def gemm_rate(size=2048, repeats=3):
    """float32 GEMM rate (FLOP/s) of a large square product: the machine's peak as NumPy sees it."""
    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    a @ b
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best


# --- the contenders -----------------------------------------------------------------------

class Backend:
    """One of handgrad's backends, through its adapter (``handgrad.twins.trainable``) and the
    epoch loop ``handgrad compare`` runs, timed an epoch at a time on shuffles of its own."""

    key = "numpy"

    def __init__(self, X, y, sizes, batch_size, lr, seed, device="cpu"):
        model = MLP(sizes, seed=seed)
        self.model, self.opt = trainable(self.key, model, SGD(lr), device)
        self.X, self.y = model.check_X(X), model.check_y(y, len(X))
        self.rng, self.n, self.batch_size = np.random.default_rng(seed), len(X), batch_size

    def epoch(self):
        order = self.rng.permutation(self.n)
        batches = [order[s:s + self.batch_size] for s in range(0, self.n, self.batch_size)]
        return compare.run_epoch(self.model, self.opt, self.X, self.y, batches)[1]


class NumpyRunner(Backend):
    name, key = BACKENDS["numpy"], "numpy"


class TorchRunner(Backend):
    name, key = BACKENDS["torch"], "torch"


class MLXRunner(Backend):
    name, key = BACKENDS["mlx"], "mlx"


class SklearnRunner:
    name = "scikit-learn MLPClassifier"

    def __init__(self, X, y, sizes, batch_size, lr, seed):
        from sklearn.neural_network import MLPClassifier
        self.X, self.y = X, y
        self.classes = np.unique(y)
        self.model = MLPClassifier(tuple(sizes[1:-1]), solver="sgd", learning_rate_init=lr,
                                   momentum=0.0, nesterovs_momentum=False, alpha=0.0,
                                   batch_size=batch_size, shuffle=True, random_state=seed)

    def epoch(self):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model.partial_fit(self.X, self.y, classes=self.classes)   # one epoch
        return time.perf_counter() - start


OPENBLAS_CANDIDATES = ("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3",
                       "/usr/lib/aarch64-linux-gnu/openblas-pthread/libblas.so.3",
                       "/usr/lib64/libopenblas.so.0", "/usr/lib/libopenblas.so.0")


def system_openblas():
    """A system OpenBLAS that exports the plain cblas_* names MLX's Linux wheel calls, if any."""
    return next((p for p in OPENBLAS_CANDIDATES if Path(p).is_file()), None)


class LimitRunner:
    """The GEMM-bound limit, measured in its turn like a contender: the epoch's FLOPs at the
    rate a large square product runs at right now (a shared machine's rate drifts by
    a factor of 1.5 over minutes, so one measurement at the start would not do)."""

    name = "GEMM-bound limit"

    def __init__(self, X, y, sizes, batch_size, lr, seed):
        self.flops = epoch_flops(sizes, len(X), batch_size)
        self.rates = []

    def epoch(self):
        self.rates.append(gemm_rate())
        return self.flops / self.rates[-1]


class BareRunner:
    """The same step written inline, with nothing of handgrad around it: ReLU hidden
    layers, softmax cross-entropy, plain SGD, the same initial weights and shuffles.
    What a NumPy step costs without modules, caches or checks; its gap to handgrad
    NumPy is what handgrad's structure costs."""

    name = "bare NumPy step, written inline"

    def __init__(self, X, y, sizes, batch_size, lr, seed):
        model = MLP(sizes, seed=seed)
        self.W = [layer.W.copy() for layer in model.layers]
        self.b = [layer.b.copy() for layer in model.layers]
        self.rng = model.rng                                   # train shuffles with this
        self.X, self.y, self.batch_size, self.lr = model.check_X(X), y, batch_size, lr

    def epoch(self):
        X, y, W, b, lr = self.X, self.y, self.W, self.b, self.lr
        start = time.perf_counter()
        order = self.rng.permutation(len(X))
        for s in range(0, len(X), self.batch_size):
            idx = order[s:s + self.batch_size]
            a, yb = [X.take(idx, axis=0)], y.take(idx)
            for l in range(len(W)):
                z = a[-1] @ W[l].T
                z += b[l]
                if l < len(W) - 1:
                    np.maximum(z, 0, out=z)                    # ReLU in place
                a.append(z)
            p = a.pop()                                        # the logits become p, then δ
            p -= p.max(axis=1, keepdims=True)
            np.exp(p, out=p)
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(idx)), yb] -= 1
            delta = p / len(idx)                               # (p − Y) / B
            for l in reversed(range(len(W))):
                dW, db = delta.T @ a[l], delta.sum(axis=0)
                if l:
                    delta = delta @ W[l]                       # before W[l] changes
                    delta *= a[l] > 0
                dW *= lr
                W[l] -= dW
                b[l] -= lr * db
        return time.perf_counter() - start


class MatmulsRunner:
    """The epoch's matrix products alone, at their real shapes and nothing else: forward,
    dW and dX of every layer, batch after batch. The floor any NumPy step can reach; the
    gap to the limit is what BLAS makes of (B, d) products next to a large square one."""

    name = "its matrix products alone"

    def __init__(self, X, y, sizes, batch_size, lr, seed):
        rng = np.random.default_rng(seed)
        self.W = [rng.standard_normal((d_out, d_in), dtype=np.float32)
                  for d_in, d_out in itertools.pairwise(sizes)]
        self.X, self.batch_size = X, batch_size

    def epoch(self):
        start = time.perf_counter()
        for s in range(0, len(self.X), self.batch_size):
            acts = [self.X[s:s + self.batch_size]]            # a view: no gather
            for W in self.W:
                acts.append(acts[-1] @ W.T)                    # forward
            delta = acts[-1]
            for l in reversed(range(len(self.W))):
                delta.T @ acts[l]                              # dW
                if l:
                    delta = delta @ self.W[l]                  # dX
        return time.perf_counter() - start


class MLXOpenBLASRunner:
    """The MLX twin in a child process with a system OpenBLAS preloaded.

    MLX's Linux CPU wheel calls cblas_sgemm and resolves it to the reference BLAS
    it bundles (libblas 3.10). A library named in LD_PRELOAD is searched first, so
    preloading Debian's OpenBLAS (apt-get install libopenblas0-pthread) points
    MLX's matrix products at an optimized BLAS without rebuilding anything.
    """

    name = "handgrad MLX twin, OpenBLAS preloaded"

    def __init__(self, X, y, sizes, batch_size, lr, seed, dataset=None, n=None):
        from importlib.util import find_spec
        if find_spec("mlx") is None:
            raise ImportError("MLX is not installed")
        self.lib = system_openblas()
        if self.lib is None or dataset is None:
            raise ImportError("no system OpenBLAS (apt-get install libopenblas0-pthread)")
        self.args = [dataset, str(n), ",".join(map(str, sizes)), str(batch_size), str(lr),
                     str(seed)]

    def epoch(self):
        env = dict(os.environ, LD_PRELOAD=self.lib)
        out = subprocess.run([sys.executable, __file__, "mlx-epoch", *self.args],
                             env=env, capture_output=True, text=True, check=True)
        return float(out.stdout.split()[-1])


CONTENDERS = {"numpy": NumpyRunner, "torch": TorchRunner, "mlx": MLXRunner,
           "mlx-openblas": MLXOpenBLASRunner, "sklearn": SklearnRunner, "bare": BareRunner,
           "matmuls": MatmulsRunner, "limit": LimitRunner}


def time_epochs(X, y, sizes, batch_size=128, lr=0.1, rounds=5,
                contenders=("numpy", "torch", "sklearn"), seed=0, rounds_for=None, log=None,
                dataset=None):
    """Median seconds per epoch of each contender, measured in interleaved rounds."""
    runners, skipped = {}, {}
    for key in contenders:
        try:
            extra = {"dataset": dataset, "n": len(X)} if key == "mlx-openblas" else {}
            runners[key] = CONTENDERS[key](X, y, sizes, batch_size, lr, seed, **extra)
        except ImportError as e:
            skipped[key] = f"not installed ({e})"
    times = {key: [] for key in runners}
    for r in range(rounds):
        for key, runner in runners.items():
            if r < (rounds_for or {}).get(key, rounds):
                gc.collect()
                times[key].append(runner.epoch())
        if log:
            log(f"  round {r + 1}/{rounds}: " + ", ".join(
                f"{key} {t[-1]:.3f}s" for key, t in times.items() if len(t) > r))
    return {key: float(np.median(t)) for key, t in times.items()}, times, skipped


class _Stopwatch:
    """Seconds summed by name: lap(name) charges the time since the last lap to name."""

    def __init__(self):
        self.totals, self.last = {}, time.perf_counter()

    def lap(self, name):
        now = time.perf_counter()
        self.totals[name] = self.totals.get(name, 0.0) + now - self.last
        self.last = now


def step_phases(model, X, y, batch_size=128, optimizer=None, epochs=5):
    """Where an epoch of handgrad's step goes: seconds per epoch of each phase (median of epochs).

    Trains ``model`` — a softmax classifier with no norm or dropout, on integer
    labels — by the calls ``train`` makes, in its order: gather, each layer's
    linear map and activation, the fused loss, each layer's backward, the
    optimizer's step; a lap of the clock between them.
    """
    opt = SGD(0.1) if optimizer is None else optimizer
    X, y = model.check_X(X), model.check_y(y, len(X))
    L, n = len(model.layers), len(X)
    runs = []
    for _ in range(epochs):
        order, watch = model.rng.permutation(n), _Stopwatch()
        for s in range(0, n, batch_size):
            idx = order[s:s + batch_size]
            a, yb = X.take(idx, axis=0), y.take(idx)
            watch.lap("gather the batch")
            for l, layer in enumerate(model.layers, 1):
                layer.z = Linear.forward(layer, a)
                watch.lap(f"z{l} = a{l - 1} W{l}ᵀ + b{l}")
                a = layer.a = layer.activation.forward(layer.z)
                watch.lap(f"a{l} = {layer.activation.name}(z{l})")
            _loss, delta = model._fused_cross_entropy(yb)
            watch.lap(f"loss and δ{L} = (p − Y)/B")
            for l in range(L, 0, -1):
                grad = model.layers[l - 1].backward_delta(delta)
                watch.lap(f"dW{l}, db{l}" + (f", δ{l} W{l}" if grad is not None else ""))
                if l > 1:
                    delta = model.layers[l - 2].activation.backward(grad)
                    watch.lap(f"δ{l - 1} = (δ{l} W{l}) ⊙ f'(z{l - 1})")
            opt.step(model)
            watch.lap(f"{type(opt).__name__} update")
        runs.append(watch.totals)
    return {name: float(np.median([r[name] for r in runs])) for name in runs[0]}


def peak_training_memory(X, y, sizes, batch_size=128, lr=0.1, seed=0):
    """Peak bytes NumPy allocates during an epoch beyond the data, and trace's prediction."""
    model = MLP(sizes, seed=seed)
    opt = SGD(lr)
    train(model, X[:batch_size * 4], y[:batch_size * 4], epochs=1, optimizer=opt,
          batch_size=batch_size)                      # warm: optimizer buffers exist
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    train(model, X, y, epochs=2, optimizer=opt, batch_size=batch_size)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    t = trace(model, batch_size)
    params = t.bytes("weights") + t.bytes("biases")
    return {"measured_peak_bytes": peak, "trace_training_bytes": t.bytes("training total"),
            "params_bytes": params}


def fit_exponent(flops, seconds):
    """k in seconds ∝ flops^k, by least squares on the logs."""
    return float(np.polyfit(np.log(flops), np.log(seconds), 1)[0])


def machine():
    """CPU model, cores, NumPy and its BLAS: the line the README's table is quoted with."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    cpu = names[0] if names else (platform.processor() or platform.machine())
    deps = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    blas = f"{deps.get('name', '?')} {deps.get('version', '')}".strip()
    return (f"{cpu}, {os.cpu_count()} cores, NumPy {np.__version__} ({blas}), "
            f"Python {platform.python_version()}")


# --- the whole benchmark --------------------------------------------------------------------

def run(dataset="fashion-mnist", rounds=7, quick=False, out_dir="runs/bench", log=print,
        contenders=("numpy", "torch", "mlx", "mlx-openblas", "sklearn")):
    """Run every measurement; write results.md and scaling.png into out_dir; return the report."""
    data = load_dataset(dataset)
    X, y = data.X_train, data.y_train
    if quick:
        X, y = X[:12000], y[:12000]
    n, B, lr = len(X), 128, 0.1
    sizes = [X.shape[1], 256, data.n_classes]
    lines = [f"Machine: {machine()}",
             f"Data: {data.name}, {n:,} x {X.shape[1]} float32, batch {B}, SGD lr {lr}"]
    log("\n".join(lines))
    flops = epoch_flops(sizes, n, B)
    contenders = tuple(contenders) + ("bare", "matmuls", "limit")   # measured in the same rounds
    med, all_times, skipped = time_epochs(X, y, sizes, B, lr, rounds, contenders,
                                          rounds_for={"mlx": 1, "mlx-openblas": 2}, log=log,
                                          dataset=data.name)
    limit, base = med.pop("limit"), med.get("numpy")
    rate = flops / limit                                    # the median GEMM rate of the rounds
    table = ["| contender | s / epoch (median) | rounds | × handgrad NumPy | × GEMM limit |",
             "|---|---|---|---|---|"]
    for key, seconds in med.items():
        table.append(f"| {CONTENDERS[key].name} | {seconds:.3f} | {len(all_times[key])} | "
                     f"{seconds / base:.2f} | {seconds / limit:.2f} |")
    table.append(f"| GEMM-bound limit ({flops / 1e9:.1f} GFLOP at {rate / 1e9:.0f} GFLOP/s) | "
                 f"{limit:.3f} | {len(all_times['limit'])} | {limit / base:.2f} | 1.00 |")
    for key, why in skipped.items():
        table.append(f"| {CONTENDERS[key].name} | {why} | | | |")
    findings = []
    for key in ("torch", "sklearn"):
        if key in med:
            findings.append(f"handgrad NumPy takes {base / med[key]:.2f}× the time of the "
                            f"{CONTENDERS[key].name} per epoch ({_faster(base, med[key])})")
    peers = ", ".join(f"{med['bare'] / med[k]:.2f}× the {CONTENDERS[k].name}'s time"
                      for k in ("torch", "sklearn") if k in med)
    findings.append(f"the bare NumPy step, written inline, takes {peers}: what a NumPy step "
                    f"reaches with none of handgrad's modules, caches and checks; handgrad's "
                    f"step is {_faster(base, med['bare'])} than it")
    findings.append(f"handgrad NumPy takes {base / limit:.2f}× the GEMM-bound limit; its matrix "
                    f"products alone take {med['matmuls'] / limit:.2f}×, so everything else in "
                    f"the step is {100 * (1 - med['matmuls'] / base):.0f}% of its time")
    log("\n".join(table + findings))

    # scaling: width, batch size, depth (NumPy, PyTorch, scikit-learn)
    sweep_rounds = 2 if quick else 3
    sweeps = {"width": [[X.shape[1], w, data.n_classes] for w in (64, 256, 1024)],
              "batch": [(b, sizes) for b in (32, 128, 512)],
              "depth": [[X.shape[1]] + [256] * d + [data.n_classes] for d in (1, 2, 3, 4)]}
    sweep_rows = []
    light = tuple(c for c in contenders if not c.startswith("mlx"))
    for kind, points in sweeps.items():
        for point in points:
            b, s = point if kind == "batch" else (B, point)
            m, _, _ = time_epochs(X, y, s, b, lr, sweep_rounds, light, log=None)
            row = {"kind": kind, "sizes": s, "batch": b, "gflop": epoch_flops(s, n, b) / 1e9, **m}
            sweep_rows.append(row)
            log(f"  {kind} {s} batch {b}: " + ", ".join(f"{k} {v:.3f}s" for k, v in m.items()))
    width = [r for r in sweep_rows if r["kind"] == "width"]
    flops_w = [r["gflop"] for r in width]
    exponent = fit_exponent(flops_w, [r["numpy"] for r in width])
    upper = fit_exponent(flops_w[1:], [r["numpy"] for r in width[1:]])   # 256 -> 1024
    floor_exponent = fit_exponent(flops_w, [r["matmuls"] for r in width])
    shown = [c for c in light if c != "limit" and c in sweep_rows[0]]
    names = " | ".join(CONTENDERS[c].name for c in shown)
    sweep_table = [f"| sweep | layers | batch | GFLOP | {names} | NumPy / PyTorch "
                   "| NumPy / scikit-learn | NumPy / limit | products alone / limit |",
                   "|---|---|---|---|" + "---|" * (len(shown) + 4)]
    for r in sweep_rows:
        cells = " | ".join(f"{r[c]:.3f}" for c in shown)
        ratio_t = f"{r['numpy'] / r['torch']:.2f}" if "torch" in r else "-"
        ratio_s = f"{r['numpy'] / r['sklearn']:.2f}" if "sklearn" in r else "-"
        sweep_table.append(f"| {r['kind']} | {r['sizes']} | {r['batch']} | {r['gflop']:.1f} "
                           f"| {cells} | {ratio_t} | {ratio_s} | {r['numpy'] / r['limit']:.2f} | "
                           f"{r['matmuls'] / r['limit']:.2f} |")
    log("\n".join(sweep_table))
    log(f"time ∝ FLOPs^{exponent:.2f} over the width sweep, ^{upper:.2f} from width 256 to 1024 "
        f"(1 would be time proportional to work); the matrix products alone "
        f"∝ FLOPs^{floor_exponent:.2f}")

    phases = step_phases(MLP(sizes, seed=0), X, y, B, SGD(lr))
    total = sum(phases.values())
    phase_table = ["| phase of the step | ms / epoch | share |", "|---|---|---|"]
    phase_table += [f"| {name} | {1e3 * t:.1f} | {100 * t / total:.0f}% |"
                    for name, t in phases.items()]
    phase_table.append(f"| the whole step | {1e3 * total:.1f} | 100% |")
    log("\n".join(phase_table))

    mem = peak_training_memory(X, y, sizes, B, lr)
    mem_line = (f"peak memory of training beyond the data: "
                f"{mem['measured_peak_bytes'] / 2**20:.2f} MiB measured (tracemalloc), "
                f"{mem['trace_training_bytes'] / 2**20:.2f} MiB predicted by "
                f"`handgrad trace` (parameters, gradients and caches)")
    log(mem_line)

    report = {"machine": machine(), "lines": lines, "table": table, "findings": findings,
              "sweep_table": sweep_table, "exponent": exponent, "exponent_upper": upper,
              "floor_exponent": floor_exponent, "phases": phases, "phase_table": phase_table,
              "memory": mem, "memory_line": mem_line, "medians": med,
              "limit": limit, "rate": rate, "flops": flops, "sweeps": sweep_rows}
    if out_dir:
        _write(report, Path(out_dir), mem_line)
    return report


def _faster(ours, theirs):
    """'21% faster' or '13% slower': ours against theirs, in seconds per epoch."""
    change = ours / theirs - 1
    return f"{100 * -change:.0f}% faster" if change < 0 else f"{100 * change:.0f}% slower"


def _write(report, out, mem_line):
    out.mkdir(parents=True, exist_ok=True)
    text = ["# Speed of one training epoch", "",
            *[x for line in report["lines"] for x in (line, "")],
            f"float32 GEMM rate measured in this run (median of the rounds): "
            f"{report['rate'] / 1e9:.0f} GFLOP/s; "
            f"the epoch's matrix multiplies: {report['flops'] / 1e9:.1f} GFLOP.", "",
            *report["table"], "", *[f"- {m}" for m in report["findings"]], "",
            "## Scaling (median of interleaved rounds)", "", *report["sweep_table"], "",
            f"Time per epoch ∝ FLOPs^{report['exponent']:.2f} over the width sweep (64 to 1024); "
            f"^{report['exponent_upper']:.2f} from 256 to 1024, where the matrix products "
            f"dominate; the matrix products alone grow as "
            f"FLOPs^{report['floor_exponent']:.2f}.", "",
            "## Where the step's time goes (handgrad NumPy, median of 5 epochs)", "",
            *report["phase_table"], "",
            f"Memory: {mem_line}.", ""]
    (out / "results.md").write_text("\n".join(text))
    (out / "results.json").write_text(json.dumps(
        {k: v for k, v in report.items() if k != "table"}, indent=1, default=float))
    try:
        from handgrad.plot import pyplot
        plt = pyplot()
        from matplotlib.ticker import FuncFormatter, NullFormatter

        def seconds(v, _):          # 0.1, 0.2, 0.3, 0.5, 1, 2, 3 …: a few labels, never crowded
            return f"{v:g}" if f"{v:.0e}"[0] in "1235" else ""
        fig, axes = plt.subplots(1, 3, figsize=(13, 4))
        for ax, kind, xkey in zip(axes, ("width", "batch", "depth"), ("gflop", "batch", "gflop")):
            rows = [r for r in report["sweeps"] if r["kind"] == kind]
            xs = [r[xkey] for r in rows]
            for c in ("numpy", "bare", "torch", "sklearn", "matmuls", "limit"):
                if c in rows[0]:
                    ax.plot(xs, [r[c] for r in rows], "--" if c == "limit" else "-o",
                            label=CONTENDERS[c].name)
            ax.set(xscale="log", yscale="log",
                   xlabel="GFLOP per epoch" if xkey == "gflop" else "batch size",
                   ylabel="seconds per epoch", title=f"{kind} sweep")
            ax.set_xticks(xs, [f"{x:.0f}" for x in xs])           # label the measured points only
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.yaxis.set_minor_formatter(FuncFormatter(seconds))
            ax.yaxis.set_major_formatter(FuncFormatter(seconds))
            ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "scaling.png", dpi=110)
        plt.close(fig)
    except ImportError as e:            # matplotlib is an extra: the table is written regardless
        (out / "results.md").write_text((out / "results.md").read_text() + f"\n(no plot: {e})\n")


def _mlx_epoch(dataset, n, sizes, batch_size, lr, seed):
    """One timed MLX epoch (run in a child process, perhaps with another BLAS preloaded)."""
    data = load_dataset(dataset)
    n = int(n)
    runner = MLXRunner(data.X_train[:n], data.y_train[:n], [int(v) for v in sizes.split(",")],
                       int(batch_size), float(lr), int(seed))
    return runner.epoch()


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dataset", default="fashion-mnist", show_default=True,
              help="fashion-mnist, mnist or digits.")
@click.option("--rounds", default=7, show_default=True, type=click.IntRange(1),
              help="Interleaved rounds (one epoch of each contender per round).")
@click.option("--quick", is_flag=True, help="12,000 examples and fewer rounds: a smoke run.")
@click.option("--out", "out_dir", default="runs/bench", show_default=True,
              help="Where results.md, results.json and scaling.png go.")
@click.option("--publish", is_flag=True,
              help="Also write them into benchmarks/, the results the README quotes.")
@click.option("--contenders", default="numpy,torch,mlx,mlx-openblas,sklearn", show_default=True)
def main(dataset, rounds, quick, out_dir, publish, contenders):
    """Seconds per epoch: NumPy vs PyTorch vs MLX vs scikit-learn vs the GEMM limit."""
    try:
        report = run(dataset, rounds=rounds, quick=quick, out_dir=out_dir, log=click.echo,
                     contenders=tuple(c.strip() for c in contenders.split(",")))
    except (ValueError, FileNotFoundError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"wrote {out_dir}/results.md, results.json, scaling.png")
    if publish:
        _write(report, HERE, report["memory_line"])
        click.echo(f"wrote {HERE}/results.md, results.json, scaling.png")


if __name__ == "__main__":
    if sys.argv[1:2] == ["mlx-epoch"]:
        print(f"{_mlx_epoch(*sys.argv[2:]):.6f}")
    else:
        main()
