"""Data-parallel training speed: samples/s for 1, 2 and 4 processes, and what a cluster would do.

    python benchmarks/distributed.py                 # about two minutes on 2 cores
    python benchmarks/distributed.py --rounds 5 --steps 30

Each process group trains the same model on the same global batch of 512
(``handgrad.distributed.DataParallel``: NumPy compute, gloo all-reduce on the
gradients' own memory); every worker computes with one thread (as ``torchrun``
sets OMP_NUM_THREADS=1), and one extra group is a single process with as many
threads as there are cores: the fair baseline for "use the whole machine". The
PyTorch twin under ``DistributedDataParallel`` runs the same steps in the same
processes as the peer. Groups start once and stay up; their runs are interleaved
round by round and the medians are reported.

Each step's time is split into compute (forward and backward on the worker's
shard) and all-reduce (summing the gradients, waiting for the slowest worker
included). On one machine the all-reduce goes through loopback memory copies;
the last table models a cluster with the ring all-reduce, in which each worker
sends and receives 2(N-1)/N of the gradient bytes:

    t_step(N) = t_compute(B) / N + 2 (N-1) α + 2 (N-1)/N · bytes / bandwidth

with t_compute(B) the one-thread compute time measured here, α the per-message
latency and the bandwidth a network's. Data: MNIST when handgrad finds it
($HANDGRAD_DATA, the cache), else random numbers of the same shape.
"""

import argparse
import itertools
import os
import statistics
import time

import numpy as np

BATCH = 512
MODELS = {"784-256-10": [784, 256, 10], "784-2048-2048-10": [784, 2048, 2048, 10]}
GROUPS = [(1, "cores"), (1, 1), (2, 1), (4, 1)]          # (processes, threads per process)
NETWORKS = [("10 Gb/s Ethernet", 1.25e9, 20e-6), ("100 Gb/s InfiniBand", 12.5e9, 3e-6)]
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def data(n=8192):
    """(X, y): the first n MNIST training images, or random numbers of the same shape."""
    try:
        from handgrad.data import load_mnist
        X, y = load_mnist(allow_download=False)[:2]
        return X[:n], y[:n], "MNIST"
    except (FileNotFoundError, OSError, ValueError, TypeError):
        rng = np.random.default_rng(0)
        return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n), "random"


def worker(rank, world, port, commands, results):
    """One process of a group: join it, then run the steps each command asks for."""
    import torch
    import torch.distributed as dist

    from handgrad.distributed import DataParallel, DistributedTwin
    from handgrad.mlp import MLP
    from handgrad.optim import SGD
    from handgrad.twins import trainable

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)
    X, y, _ = data()
    rng = np.random.default_rng(0)                        # the same batches in every worker
    models = {}
    while True:
        command = commands.get()
        if command is None:
            break
        kind, name, steps = command
        if (kind, name) not in models:
            model, opt = MLP(MODELS[name], seed=0), SGD(0.01)
            if kind == "numpy":
                models[kind, name] = DataParallel(model, opt), opt
            else:
                twin, topt = trainable("torch", model, opt)
                models[kind, name] = DistributedTwin(twin), topt
        model, opt = models[kind, name]
        times, computes, reduces = [], [], []
        for step in range(steps + 2):                      # two warm-up steps
            idx = rng.integers(0, len(X), BATCH)
            xb, yb = X.take(idx, axis=0), y.take(idx)
            dist.barrier()                                 # every worker starts the step together
            c0 = getattr(model, "compute_seconds", 0.0)
            r0 = getattr(model, "allreduce_seconds", 0.0)
            start = time.perf_counter()
            model.loss_and_grad(xb, yb)
            opt.step(model)
            if step >= 2:
                times.append(time.perf_counter() - start)
                computes.append(getattr(model, "compute_seconds", 0.0) - c0)
                reduces.append(getattr(model, "allreduce_seconds", 0.0) - r0)
        if rank == 0:
            results.put((statistics.median(times), statistics.median(computes),
                         statistics.median(reduces)))
    dist.destroy_process_group()


class Group:
    """``processes`` workers with ``threads`` threads each, started once, waiting for commands."""

    def __init__(self, processes, threads):
        import socket

        import torch.multiprocessing as mp
        self.processes, self.threads = processes, threads
        ctx = mp.get_context("spawn")
        self.commands = [ctx.Queue() for _ in range(processes)]
        self.results = ctx.Queue()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        saved = {k: os.environ.get(k) for k in THREAD_VARS}
        os.environ.update({k: str(threads) for k in THREAD_VARS})   # read as the child loads numpy
        self.workers = [ctx.Process(target=worker, args=(r, processes, port, self.commands[r],
                                                         self.results)) for r in range(processes)]
        for p in self.workers:
            p.start()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def run(self, kind, name, steps):
        for q in self.commands:
            q.put((kind, name, steps))
        return self.results.get(timeout=600)

    def close(self):
        for q in self.commands:
            q.put(None)
        for p in self.workers:
            p.join(60)

    @property
    def label(self):
        return f"{self.processes} × {self.threads} thread{'s' if self.threads > 1 else ''}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=12, help="timed steps per run (784-256-10; "
                        "a quarter of them for the wide model)")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    groups = [Group(p, cores if t == "cores" else t) for p, t in GROUPS]
    n_params = {name: sum(a * b + b for a, b in itertools.pairwise(s))
                for name, s in MODELS.items()}
    print(f"data: {data(16)[2]}, global batch {BATCH}, float32, SGD; {cores} cores; "
          f"{args.rounds} rounds, medians")
    runs = {}
    started = time.perf_counter()
    for _ in range(args.rounds):
        for name in MODELS:
            steps = args.steps if name == "784-256-10" else max(2, args.steps // 4)
            for g in groups:
                for kind in ("numpy", "torch"):
                    runs.setdefault((name, g.label, kind), []).append(g.run(kind, name, steps))
    for g in groups:
        g.close()
    med = {k: [statistics.median(x[i] for x in v) for i in range(3)] for k, v in runs.items()}

    print(f"\nmeasured here ({time.perf_counter() - started:.0f} s of runs)\n")
    print("| model | params | gradient MB | processes × threads | samples/s | vs 1 × 1 thread "
          "| compute ms | all-reduce ms | loopback GB/s | DDP twin samples/s | handgrad / DDP |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in MODELS:
        mb = n_params[name] * 4 / 1e6
        base = BATCH / med[name, groups[1].label, "numpy"][0]
        for g in groups:
            step, compute, reduce = med[name, g.label, "numpy"]
            ddp = BATCH / med[name, g.label, "torch"][0]
            moved = 2 * (g.processes - 1) / g.processes * mb / 1e3          # GB per worker
            bw = f"{moved / reduce:.2f}" if g.processes > 1 and reduce > 0 else "–"
            red = f"{1e3 * reduce:.1f}" if g.processes > 1 else "–"
            print(f"| {name} | {n_params[name]:,} | {mb:.1f} | {g.label} | {BATCH / step:,.0f} | "
                  f"{BATCH / step / base:.2f}x | {1e3 * compute:.1f} | {red} | {bw} | "
                  f"{ddp:,.0f} | {BATCH / step / ddp:.2f}x |")

    print("\nmodelled on a cluster (ring all-reduce; compute per worker = the one-thread "
          "compute measured here / N)\n")
    print("| model | network | N = 2 | N = 4 | N = 8 | N = 16 | N = 64 |")
    print("|---|---|---|---|---|---|---|")
    for name in MODELS:
        compute = med[name, groups[1].label, "numpy"][1]
        grad_bytes = n_params[name] * 4
        for net, bandwidth, latency in NETWORKS:
            cells = []
            for n in (2, 4, 8, 16, 64):
                reduce = 2 * (n - 1) * latency + 2 * (n - 1) / n * grad_bytes / bandwidth
                step = compute / n + reduce
                cells.append(f"{compute / step:.1f}x ({1e3 * reduce:.1f} ms all-reduce)")
            print(f"| {name} | {net} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
