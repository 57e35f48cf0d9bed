"""Speed of the autograd engines against the hand-derived step and their peers.

    python benchmarks/engine.py              # both parts; writes benchmarks/engine.md
    python benchmarks/engine.py --quick      # fewer rounds, nothing written

Part 1 (run second), one training step of 784-256-10 (ReLU, softmax cross-entropy, plain SGD) at
batch 128, float32:
    handgrad.MLP by hand (forward, backward, update)  vs  the Tensor engine
    vs PyTorch eager (nn.Sequential, loss.backward(), optim.SGD)  vs  JAX (jit of the whole step)
Part 2 (run first), training steps per second of a 2-16-16-1 network of scalars (ReLU, ReLU, linear;
micrograd's demo loss: mean hinge + 1e-4 L2, on 100 two-moons points, full batch):
    handgrad.engine.Value  vs  the original micrograd, same weights, same data.

Contenders run in interleaved rounds (A B C D, A B C D, …) so a slow minute on a shared
machine hurts all alike; each is quoted by its median. JAX and micrograd are benchmark-only
peers (pip install 'handgrad[bench]'); a missing one is skipped with a message.

Every contender computes on one thread (OpenBLAS, OpenMP, PyTorch's intra-op pool, XLA's
Eigen pool), unless the environment already sets OMP_NUM_THREADS: on a small shared machine
four libraries' thread pools spinning on the same cores make every number meaningless.
"""

import os

THREADS = os.environ.setdefault("OMP_NUM_THREADS", "1")       # before NumPy, PyTorch, JAX load
os.environ.setdefault("OPENBLAS_NUM_THREADS", THREADS)
os.environ.setdefault("MKL_NUM_THREADS", THREADS)
if THREADS == "1":
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                       "intra_op_parallelism_threads=1")

import gc  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

import click  # noqa: E402
import numpy as np  # noqa: E402

import handgrad as hg  # noqa: E402
from handgrad import autograd, engine  # noqa: E402
from handgrad.data import make_moons  # noqa: E402

HERE = Path(__file__).resolve().parent
SIZES, BATCH, LR = [784, 256, 10], 128, 0.01


# --- part 1: one step of 784-256-10 -------------------------------------------------------------

def batches(n_batches=8, seed=0):
    """Random float32 images in [0, 1) and labels: a step's time does not depend on the values."""
    rng = np.random.default_rng(seed)
    X = rng.random((n_batches, BATCH, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], (n_batches, BATCH))
    return list(zip(X, y))


def hand_step(seed):
    model = hg.MLP(SIZES, ["relu", "softmax"], seed=seed)

    def step(x, y):
        model.loss_and_grad(x, y)              # forward, fused softmax cross-entropy, backward
        model.update(LR)                       # W -= lr dW
    return step, model.state_dict()


def tensor_step(state):
    net = autograd.MLP(SIZES, ["relu", "identity"]).load_state_dict(state)

    def step(x, y):
        net.zero_grad()
        loss = autograd.cross_entropy(net(x), y)
        loss.backward()
        net.step(LR)
    return step


def torch_step(state):
    import torch
    torch.set_num_threads(int(THREADS))
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10))
    with torch.no_grad():
        keys = ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
        for p, key in zip(model.parameters(), keys):          # Linear, ReLU, Linear
            p.copy_(torch.from_numpy(state[key]))
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        opt.step()
    return step


def jax_step(state):
    import jax
    import jax.numpy as jnp

    def loss_fn(params, x, y):
        h = jax.nn.relu(x @ params["layers.0.weight"].T + params["layers.0.bias"])
        z = h @ params["layers.1.weight"].T + params["layers.1.bias"]
        return -jnp.mean(jax.nn.log_softmax(z)[jnp.arange(len(y)), y])

    @jax.jit
    def update(params, x, y):
        grads = jax.grad(loss_fn)(params, x, y)
        return {k: params[k] - LR * grads[k] for k in params}

    params = {k: jnp.asarray(v) for k, v in state.items()}
    box = [params]

    def step(x, y):
        box[0] = update(box[0], x, y)
        jax.block_until_ready(box[0])
    return step


def contenders_784(seed=0):
    hand, state = hand_step(seed)
    found = {"handgrad.MLP by hand": hand, "Tensor engine": tensor_step(state)}
    try:
        found["PyTorch eager"] = torch_step(state)
    except ImportError:
        print("skipping PyTorch: not installed (pip install 'handgrad[torch]')")
    try:
        found["JAX jit"] = jax_step(state)
    except ImportError:
        print("skipping JAX: not installed (pip install 'handgrad[bench]' or pip install jax)")
    return found


# --- part 2: a network of scalars ---------------------------------------------------------------

def moons(n=100, seed=0):
    X, y = make_moons(n_samples=n, noise=0.1, seed=seed)
    return X.astype(np.float64).tolist(), (2.0 * y - 1).tolist()   # labels ±1, as in micrograd


def svm_step(model, params, X, y, lr=0.05):
    """One step of micrograd's demo: hinge loss + L2, backward, SGD (the same code for both)."""
    for p in params:
        p.grad = 0.0
    scores = [model(x) for x in X]
    scores = [s[0] if isinstance(s, list) else s for s in scores]
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    data_loss = sum(losses[1:], losses[0]) * (1.0 / len(losses))
    reg = sum((p * p for p in params[1:]), params[0] * params[0]) * 1e-4
    total = data_loss + reg
    total.backward()
    for p in params:
        p.data -= lr * p.grad
    return total.data


def scalar_contenders(seed=0):
    X, y = moons(seed=seed)
    ours = engine.MLP([2, 16, 16, 1], ["relu", "relu", "identity"], seed=seed)
    state = ours.state_dict()
    found = {"handgrad.engine.Value": (ours, ours.parameters())}
    try:
        from micrograd.nn import MLP as MicroMLP
        random.seed(seed)                          # micrograd draws its init from `random`
        theirs = MicroMLP(2, [16, 16, 1])
        for i, layer in enumerate(theirs.layers):  # then takes our weights
            for j, n in enumerate(layer.neurons):
                for k, w in enumerate(n.w):
                    w.data = float(state[f"layers.{i}.weight"][j, k])
                n.b.data = float(state[f"layers.{i}.bias"][j])
        found["micrograd"] = (theirs, theirs.parameters())
    except ImportError:
        print("skipping micrograd: not installed "
              "(pip install 'handgrad[bench]' or pip install micrograd)")
    steps = {name: (lambda m=m, ps=ps: svm_step(m, ps, X, y)) for name, (m, ps) in found.items()}
    return steps, found


def same_first_loss(seed=0):
    """The first step's loss from both scalar engines (the same network: the same number)."""
    steps, _ = scalar_contenders(seed)
    return {name: step() for name, step in steps.items()}


# --- timing ---------------------------------------------------------------------------------

def interleaved(contenders, run, rounds, per_round):
    """{name: [seconds per step, one per round]}, contenders taking turns within every round."""
    times = {name: [] for name in contenders}
    for c in contenders.values():                  # warm-up (JAX compiles here)
        run(c, 2)
    for _ in range(rounds):
        for name, c in contenders.items():
            gc.collect()
            start = time.perf_counter()
            run(c, per_round)
            times[name].append((time.perf_counter() - start) / per_round)
    return times


def table(times, reference, unit, scale=1.0, rate=False):
    """Markdown rows: the median (and range) of each contender, and its ratio to ``reference``:
    time ÷ the reference's time, or for a rate, speed ÷ the reference's speed."""
    ref = statistics.median(times[reference])
    what = "speed" if rate else "time"
    lines = [f"| contender | {unit} (median) | min – max | rounds | {what} ÷ {reference}'s |",
             "|" + "---|" * 5]
    for name, t in times.items():
        med = statistics.median(t)
        value = (lambda s: 1 / s) if rate else (lambda s: s * scale)
        lo, hi = sorted([value(min(t)), value(max(t))])
        ratio = ref / med if rate else med / ref
        lines.append(f"| {name} | {value(med):,.2f} | {lo:,.2f} – {hi:,.2f} | {len(t)} "
                     f"| {ratio:.2f} |")
    return lines


@click.command()
@click.option("--rounds", default=9, show_default=True, help="Interleaved rounds per part.")
@click.option("--quick", is_flag=True, help="3 rounds, fewer steps, nothing written.")
@click.option("--out", default=str(HERE / "engine.md"), show_default=True, help="Markdown report.")
def main(rounds, quick, out):
    if quick:
        rounds = 3
    lines, load_before = [], os.getloadavg()[0]
    # the scalars first, before PyTorch and JAX fill the process with objects for the
    # garbage collector to walk
    print("part 2: training steps per second, 2-16-16-1 of scalars, 100 two-moons points")
    first = same_first_loss()
    steps, found = scalar_contenders()
    nodes = len(engine.topological_order(_graph(found["handgrad.engine.Value"])))
    t2 = interleaved(steps, lambda step, n: [step() for _ in range(n)], rounds, 1 if quick else 3)
    part2 = table(t2, "handgrad.engine.Value", "steps / s", rate=True)
    print("\n".join(part2))
    lines += [f"**Training steps per second, a 2 → 16 → 16 → 1 network of scalars** (ReLU, ReLU, "
              f"linear; micrograd's demo loss, mean hinge + 1e-4·L2, on 100 two-moons points, full "
              f"batch: {nodes:,} nodes per step):", ""] + part2
    if "micrograd" in t2:
        speed = statistics.median(t2["micrograd"]) / statistics.median(t2["handgrad.engine.Value"])
        diff = abs(first["micrograd"] - first["handgrad.engine.Value"])
        lines += ["", f"- Value engine: {speed:.1f}× micrograd's steps per second (goal: ≥ 1); "
                      f"the first step's loss agrees to {diff:.1e}"]
    lines.append("")
    print("\npart 1: one training step of 784-256-10, batch 128, float32")
    data = batches()
    contenders = contenders_784()

    def run784(step, n):
        for i in range(n):
            step(*data[i % len(data)])
    t1 = interleaved(contenders, run784, rounds, 10 if quick else 40)
    part1 = table(t1, "handgrad.MLP by hand", "ms / step", 1e3)
    print("\n".join(part1))
    hand_median = statistics.median(t1["handgrad.MLP by hand"])
    tensor_ratio = statistics.median(t1["Tensor engine"]) / hand_median
    lines += ["**One training step, 784 → 256 → 10, batch 128, float32, plain SGD** "
              "(random data; forward, loss, backward, update):", ""] + part1
    lines += ["", f"- Tensor engine / hand-derived step = {tensor_ratio:.2f} (goal: ≤ 1.5)"]

    lines = [f"Latest run (`python benchmarks/engine.py`, {date.today().isoformat()}):", "",
             f"Machine: {_cpu()}, {_cores()} cores (load average {load_before:.1f} at the start, "
             f"{os.getloadavg()[0]:.1f} at the end), Python {platform.python_version()}, "
             f"NumPy {np.__version__}{_versions()}; {THREADS} thread(s) per contender", ""] + lines
    lines += ["", "Each figure is the median over the interleaved rounds; min – max shows how "
              "much a shared machine moves between rounds."]
    text = "\n".join(lines) + "\n"
    if not quick:
        Path(out).write_text("# Autograd engines: speed\n\n" + text)
        print(f"\nwrote {out}")


def _graph(found):
    model, params = found
    X, y = moons()
    scores = [model(x)[0] for x in X]
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    data_loss = sum(losses[1:], losses[0]) * (1.0 / len(losses))
    reg = sum((p * p for p in params[1:]), params[0] * params[0]) * 1e-4
    return data_loss + reg


def _cpu():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _versions():
    found = []
    for name in ("torch", "jax"):
        module = sys.modules.get(name)
        if module is not None:
            found.append(f"{name} {module.__version__}")
    return (", " + ", ".join(found)) if found else ""


if __name__ == "__main__":
    main()
