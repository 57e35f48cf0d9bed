"""Data-parallel training (handgrad.distributed): N workers compute what one process computes.

Modeled on PyTorch's own DDP tests (test/distributed/test_data_parallel.py and
torch/testing/_internal/distributed/distributed_test.py): a single-process reference
runs the whole global batch, each worker runs its slice, and the weights are
compared after every step. The workers are real processes talking over loopback
(gloo, 127.0.0.1, a free port), started by torch.multiprocessing from a forkserver
that imports PyTorch once. The tests that start processes are marked slow.
"""

import multiprocessing
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from importlib.util import find_spec
from multiprocessing.connection import wait

import numpy as np
import pytest

from handgrad.distributed import (
    DataParallel,
    DistributedTwin,
    StopFlag,
    WorkerLostError,
    check_batch_size,
    data_parallel,
    parallel_layers,
    shard,
)
from handgrad.io import load_checkpoint
from handgrad.mlp import MLP
from handgrad.nn.keyed_dropout import KeyedDropout, keyed_uniform, stream_key
from handgrad.nn.norms import BatchNorm1d
from handgrad.nn.sync_batchnorm import SyncBatchNorm
from handgrad.optim import SGD, make_optimizer
from handgrad.recipes import resolve
from handgrad.train import train

needs_torch = pytest.mark.skipif(
    find_spec("torch") is None,
    reason="data-parallel training runs on torch.distributed: pip install 'handgrad[torch]'")

STEPS_PER_EPOCH = 10            # 150 examples in batches of 16: 9 full, then 6
EPOCHS = 5                      # 50 steps
STEPS = STEPS_PER_EPOCH * EPOCHS


def _data(n=150, dtype=np.float64):
    rng = np.random.default_rng(1)
    return rng.standard_normal((n, 6)).astype(dtype), rng.integers(0, 3, n)


# --- what every worker (and the one-process reference) runs -----------------------------------

CASES = {
    "sgd": dict(optimizer="sgd", lr=0.1),
    "momentum": dict(optimizer="momentum", lr=0.05),
    "adam": dict(optimizer="adam", lr=0.01),
    "adam-float32": dict(optimizer="adam", lr=0.01, dtype="float32"),
    "batchnorm": dict(optimizer="momentum", lr=0.05, norm="batch"),
    "dropout": dict(optimizer="adam", lr=0.01, dropout=0.3),
    "batchnorm-dropout-float32": dict(optimizer="momentum", lr=0.05, norm="batch", dropout=0.2,
                                      dtype="float32"),
    "empty-shards": dict(optimizer="sgd", lr=0.1, norm="batch", n=146),   # last batch: 2 rows
    "ddp-momentum": dict(optimizer="momentum", lr=0.05, backend="torch"),
    "ddp-adam": dict(optimizer="adam", lr=0.01, backend="torch"),
}
DEFAULTS = dict(dtype="float64", norm=None, dropout=0.0, n=150, backend="numpy")


class _EveryStep:
    """An optimizer that keeps the model's weights after each of its steps."""

    def __init__(self, optimizer, states):
        self.optimizer, self.states = optimizer, states

    def __getattr__(self, name):
        return getattr(self.optimizer, name)

    def step(self, model):
        self.optimizer.step(model)
        self.states.append(model.state_dict())


def _fit(case, parallel):
    """Weights after each step of one case: data-parallel over the process group, or alone."""
    case = {**DEFAULTS, **case}
    dtype = np.dtype(case["dtype"])
    X, y = _data(case["n"], dtype)
    keyed = case["backend"] == "numpy" and (parallel or case["dropout"])
    layers = parallel_layers(seed=0) if keyed else {}
    model = MLP([6, 16, 16, 3], seed=0, dtype=dtype, norm=case["norm"], dropout=case["dropout"],
                **layers)
    opt = make_optimizer(case["optimizer"], case["lr"])
    if case["backend"] == "torch":
        from handgrad.twins import trainable
        trainee, stepper = trainable("torch", model, opt)
        trainee = DistributedTwin(trainee) if parallel else trainee
    else:                       # dropout: one process with the same keyed masks is the reference
        stepper = opt
        trainee = DataParallel(model, opt) if keyed else model
    states = []
    train(trainee, X, y, epochs=EPOCHS, optimizer=_EveryStep(stepper, states), batch_size=16)
    return states


def _join(rank, world, port, timeout=60):
    import torch
    import torch.distributed as dist
    torch.set_num_threads(1)        # one thread per worker: two cores, up to four workers
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world, timeout=timedelta(seconds=timeout))


def _cases_worker(rank, world, port, out, names):
    import torch.distributed as dist
    _join(rank, world, port)
    for name in names:
        states = _fit(CASES[name], parallel=True)
        np.savez(os.path.join(out, f"{name}.{rank}.npz"),
                 **{f"{t}/{k}": v for t, state in enumerate(states) for k, v in state.items()})
    dist.destroy_process_group()


class _Faulty(DataParallel):
    """Worker 1 dies (SIGKILL: no goodbye) or hangs when the optimizer reaches step ``at``."""

    def __init__(self, model, optimizer, fault, at):
        super().__init__(model, optimizer)
        self.fault, self.at = fault, at

    def loss_and_grad(self, X, y, training=True):
        if self.rank == 1 and self.optimizer.t == self.at:
            if self.fault == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(600)
        return super().loss_and_grad(X, y, training)


def _momentum_model():
    return MLP([6, 16, 16, 3], seed=0, dtype=np.float64), SGD(0.05, momentum=0.9)


def _fault_worker(rank, world, port, out, fault, timeout):
    _join(rank, world, port, timeout)
    X, y = _data()
    model, opt = _momentum_model()
    dp = _Faulty(model, opt, fault, at=STEPS_PER_EPOCH + 5)        # in the middle of epoch 2
    try:
        train(dp, X, y, epochs=3, optimizer=opt, batch_size=16,
              checkpoint=os.path.join(out, "ckpt.safetensors") if rank == 0 else None)
    except WorkerLostError as e:
        with open(os.path.join(out, f"error.{rank}"), "w") as f:
            f.write(str(e))
        raise


def _resume_worker(rank, world, port, out):
    import torch.distributed as dist
    _join(rank, world, port)
    X, y = _data()
    ckpt = load_checkpoint(os.path.join(out, "ckpt.safetensors"))
    model, opt = ckpt.model(), ckpt.optimizer()
    train(DataParallel(model, opt), X, y, epochs=3, optimizer=opt, batch_size=16,
          history=ckpt.history(),
          checkpoint=os.path.join(out, "ckpt.safetensors") if rank == 0 else None)
    dist.destroy_process_group()


# --- starting workers ------------------------------------------------------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PRELOAD = ["torch", "torch.distributed", "torch._dynamo", "handgrad.distributed",
           "handgrad.twins.torch_mlp"]        # imported once, by the forkserver


def _launch(fn, world, *args, timeout=120, grace=10):
    """Run fn(rank, world, port, *args) in ``world`` processes; (exit codes, seconds to each exit).

    Waits for every process itself (torch's own join would stop the others at the
    first failure, before they can report theirs). Once one has failed, the others
    have ``grace`` seconds to end; one still running then, or at ``timeout``, is
    killed and its code is None.
    """
    import torch.multiprocessing as tmp
    multiprocessing.set_forkserver_preload(PRELOAD)
    start = time.monotonic()
    ctx = tmp.start_processes(fn, args=(world, _free_port(), *args), nprocs=world, join=False,
                              start_method="forkserver")
    ended, deadline = {}, start + timeout
    while len(ended) < world and time.monotonic() < deadline:
        running = {p.sentinel: i for i, p in enumerate(ctx.processes) if i not in ended}
        for sentinel in wait(list(running), timeout=1):
            i = running[sentinel]
            ended[i] = time.monotonic() - start
            if ctx.processes[i].exitcode:
                deadline = min(deadline, time.monotonic() + grace)
    codes = []
    for i, p in enumerate(ctx.processes):
        if i not in ended:
            p.kill()
        p.join()
        codes.append(p.exitcode if i in ended else None)
    return codes, [ended.get(i) for i in range(world)]


def _load(out, name, rank):
    data = np.load(os.path.join(out, f"{name}.{rank}.npz"))
    states = [{} for _ in range(STEPS)]
    for key in data.files:
        step, param = key.split("/", 1)
        states[int(step)][param] = data[key]
    return states


def _largest_difference(a, b):
    return max(float(np.max(np.abs(np.asarray(a[k], np.float64) - b[k]))) for k in a)


# --- in one process: the pieces --------------------------------------------------------------

def test_shards_hold_every_position_once_and_differ_by_at_most_one():
    for batch in (1, 2, 5, 16, 17):
        for world in (1, 2, 3, 4):
            shards = [shard(batch, world, r) for r in range(world)]
            assert sorted(np.concatenate(shards).tolist()) == list(range(batch))
            sizes = [len(s) for s in shards]
            assert max(sizes) - min(sizes) <= 1


@needs_torch
@pytest.mark.parametrize("n", [96, 100, 101])
@pytest.mark.parametrize("world", [2, 3, 4])
def test_an_epoch_of_shards_is_distributed_samplers_split_without_its_padding(n, world):
    from torch.utils.data import DistributedSampler
    order = np.random.default_rng(0).permutation(n)              # one epoch's shuffled order
    batch = 4 * world
    for rank in range(world):
        mine = [order[s:s + batch][shard(len(order[s:s + batch]), world, rank)]
                for s in range(0, n, batch)]
        mine = np.concatenate(mine)
        theirs = list(DistributedSampler(range(n), num_replicas=world, rank=rank, shuffle=False))
        assert mine.tolist() == order[theirs[:len(mine)]].tolist()
        padding = theirs[len(mine):]                 # DistributedSampler repeats examples here
        assert len(padding) <= 1 and all(i < (-n) % world for i in padding)


def test_keyed_masks_do_not_depend_on_which_rows_a_worker_holds():
    x = np.ones((12, 40))
    whole = KeyedDropout(0.3, seed=7, layer=1)
    whole.step = 5
    y_whole = whole.forward(x)
    for rows in (np.arange(0, 12, 2), np.arange(1, 12, 3), np.array([11])):
        part = KeyedDropout(0.3, seed=7, layer=1)
        part.step, part.rows = 5, rows
        np.testing.assert_array_equal(part.forward(x[rows]), y_whole[rows])
    for seed, layer, step in ((8, 1, 5), (7, 2, 5), (7, 1, 6)):
        other = KeyedDropout(0.3, seed=seed, layer=layer)
        other.step = step
        assert not np.array_equal(other.forward(x), y_whole)
    np.testing.assert_array_equal(whole.backward(x), y_whole)           # the same mask back


def test_keyed_numbers_are_uniform_and_masks_keep_the_expectation():
    u = keyed_uniform(stream_key(0, 0, 0), np.arange(1000), 200)          # 200,000 numbers
    assert u.min() >= 0 and u.max() < 1
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert np.all(np.abs(counts / u.size - 0.1) < 0.003)
    drop = KeyedDropout(0.25, seed=3, layer=0)
    mask = drop.forward(np.ones((1000, 200), dtype=np.float32))
    assert mask.dtype == np.float32
    assert abs(mask.mean() - 1) < 0.01 and abs((mask == 0).mean() - 0.25) < 0.005


def test_one_worker_alone_is_the_plain_model_bit_for_bit():
    X, y = _data()
    plain, opt = _momentum_model()
    train(plain, X, y, epochs=2, optimizer=opt, batch_size=16)
    model, opt = _momentum_model()
    dp = DataParallel(model, opt)
    assert (dp.rank, dp.world) == (0, 1)
    train(dp, X, y, epochs=2, optimizer=opt, batch_size=16)
    for k, v in plain.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[k], v)


def test_gradients_live_in_one_bucket_the_backward_pass_writes_into():
    model = MLP([6, 16, 16, 3], seed=0, norm="batch", **parallel_layers(seed=0))
    dp = DataParallel(model, SGD(0.1))
    assert dp.bucket.size == model.count_params() + 2             # and the loss, the stop flag
    for layer in model.layers:                       # every dict holds the bucket's views
        for name, g in layer.grads.items():
            assert np.shares_memory(g, dp.bucket)
            assert model.grads[f"layers.{model.layers.index(layer)}.{name}"] is g
    X, y = _data(16, np.float32)
    dp.loss_and_grad(X, y)
    reference = MLP([6, 16, 16, 3], seed=0, norm="batch")
    reference.loss_and_grad(X, y)
    flat = np.concatenate([g.ravel() for g in reference.grads.values()])
    np.testing.assert_allclose(dp.bucket[:-2], flat, rtol=1e-6, atol=1e-7)


@needs_torch
def test_the_all_reduce_works_on_the_numpy_memory_itself():
    import torch
    dp = DataParallel(MLP([4, 8, 2], seed=0), SGD(0.1))
    assert torch.from_numpy(dp.bucket).data_ptr() == dp.bucket.ctypes.data


def test_sync_batchnorm_alone_is_batchnorm():
    rng = np.random.default_rng(0)
    x, grad = rng.standard_normal((2, 10, 5))
    plain = BatchNorm1d(5, dtype=np.float64)
    plain.params["weight"][:] = rng.standard_normal(5)        # random γ, β
    plain.params["bias"][:] = rng.standard_normal(5)
    sync = SyncBatchNorm(5, dtype=np.float64)
    sync.load_state_dict(plain.state_dict())
    sync.batch, sync.share = 10, 1.0
    np.testing.assert_allclose(sync.forward(x), plain.forward(x), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(sync.backward(grad), plain.backward(grad), rtol=1e-12, atol=1e-13)
    for k in plain.grads:
        np.testing.assert_allclose(sync.grads[k], plain.grads[k], rtol=1e-13)
    for k in plain.buffers:
        np.testing.assert_allclose(sync.buffers[k], plain.buffers[k], rtol=1e-13)


def _all_reduce_between_threads(n):
    """n in-place sums, one per thread, that meet at a barrier: the collective as a plain function."""
    barrier, parts = threading.Barrier(n), {}

    def make(rank):
        def all_reduce(a):
            parts[rank] = a.copy()
            barrier.wait()
            total = sum(parts[r] for r in range(n))
            barrier.wait()
            a[...] = total
        return all_reduce
    return [make(r) for r in range(n)]


def test_sync_batchnorm_split_over_threads_is_batchnorm_of_the_whole_batch():
    """Two 'processes' (threads) hold rows 0, 2, 4, 6 and 1, 3, 5 of a batch of 7; each loss is a
    mean over its own rows, as in data-parallel training, and the collective is a plain function."""
    rng = np.random.default_rng(0)
    B, d = 7, 4
    x, G = rng.standard_normal((2, B, d))                     # G = dL/dy of the global loss
    gamma, beta = rng.standard_normal((2, d))
    plain = BatchNorm1d(d, dtype=np.float64)
    plain.params["weight"][:], plain.params["bias"][:] = gamma, beta
    y = plain.forward(x)
    dx = plain.backward(G)
    sums = _all_reduce_between_threads(2)
    got = {}

    def worker(rank):
        rows = shard(B, 2, rank)
        share = len(rows) / B
        norm = SyncBatchNorm(d, dtype=np.float64, all_reduce=sums[rank])
        norm.params["weight"][:], norm.params["bias"][:] = gamma, beta
        norm.batch, norm.share = B, share
        out = norm.forward(x[rows])
        back = norm.backward(G[rows] / share)                 # dL_r/dy: the worker's own scale
        got[rank] = (rows, out, back * share, {k: g * share for k, g in norm.grads.items()},
                     norm.buffers)

    threads = [threading.Thread(target=worker, args=(r,)) for r in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    for rows, out, back, _, buffers in got.values():
        np.testing.assert_allclose(out, y[rows], rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(back, dx[rows], rtol=1e-12, atol=1e-13)
        for k in ("running_mean", "running_var"):
            np.testing.assert_allclose(buffers[k], plain.buffers[k], rtol=1e-13)
    for k in plain.grads:                                     # the shard gradients add up
        np.testing.assert_allclose(got[0][3][k] + got[1][3][k], plain.grads[k], rtol=1e-12)


def test_sync_batchnorm_after_a_linear_passes_gradcheck():
    from handgrad.check import gradcheck
    from handgrad.nn.linear import Linear

    class Stack(Linear):
        def __init__(self, rng):
            super().__init__(4, 5, rng=rng, dtype=np.float64)
            self.norm = SyncBatchNorm(5, dtype=np.float64)
            self.norm.params["weight"][:] = rng.standard_normal(5)
            self.norm.params["bias"][:] = rng.standard_normal(5)
            self.add_child("norm", self.norm)

        def forward(self, x, training=True):
            return self.norm.forward(super().forward(x), training)

        def backward(self, g):
            return self.backward_delta(self.norm.backward(g))

    rng = np.random.default_rng(1)
    assert gradcheck(Stack(rng), rng.standard_normal((6, 4))).passed


def test_the_parallel_layers_build_the_same_model_as_the_plain_ones():
    plain = MLP([6, 16, 16, 3], seed=4, norm="batch", dropout=0.3)
    parallel = MLP([6, 16, 16, 3], seed=4, norm="batch", dropout=0.3, **parallel_layers(seed=4))
    assert parallel.spec == plain.spec
    for k, v in plain.state_dict().items():
        np.testing.assert_array_equal(parallel.state_dict()[k], v)
    assert plain.rng.bit_generator.state == parallel.rng.bit_generator.state
    assert [type(l.norm) for l in parallel.layers[:-1]] == [SyncBatchNorm] * 2
    assert [type(l.dropout) for l in parallel.layers[:-1]] == [KeyedDropout] * 2
    assert parallel.layers[-1].norm is None and parallel.layers[-1].dropout is None


@pytest.mark.parametrize("part", [dict(norm="batch"), dict(dropout=0.2)])
def test_data_parallel_refuses_a_model_with_plain_batchnorm_or_dropout(part):
    with pytest.raises(ValueError, match=r"parallel_layers\(seed\)"):
        DataParallel(MLP([6, 16, 16, 3], seed=0, **part), SGD(0.1))
    DataParallel(MLP([6, 16, 16, 3], seed=0, norm="layer"), SGD(0.1))    # per example: fine


def test_ctrl_c_stops_at_a_step_keeps_the_last_epoch_and_resumes_exactly(tmp_path):
    """Ctrl-C only sets the flag; the model raises KeyboardInterrupt at its next step, where
    every worker sees the flag (it is summed with the gradients), and the loop saves."""
    X, y = _data()
    stop = StopFlag()

    def model_and_optimizer():
        model = MLP([6, 16, 16, 3], seed=0, dtype=np.float64, norm="batch", dropout=0.2,
                    **parallel_layers(seed=0))
        opt = SGD(0.05, momentum=0.9)
        return DataParallel(model, opt, stop=stop), opt

    def ctrl_c_in_epoch_3(model, history):
        if len(history) == 2:
            stop()                                   # what the SIGINT handler calls

    dp, opt = model_and_optimizer()
    history = train(dp, X, y, epochs=4, optimizer=opt, batch_size=16,
                    checkpoint=tmp_path / "ckpt.safetensors", callbacks=[ctrl_c_in_epoch_3])
    assert history.interrupted and len(history) == 2 and opt.t == 2 * STEPS_PER_EPOCH
    ckpt = load_checkpoint(tmp_path / "ckpt.safetensors")
    assert len(ckpt.history()) == 2
    stop.signalled = False
    resumed, opt = model_and_optimizer()
    resumed.load_state_dict(ckpt.state)
    opt.load_state_dict(ckpt.optimizer().state_dict())
    resumed.rng.bit_generator.state = ckpt.meta("rng")
    train(resumed, X, y, epochs=4, optimizer=opt, batch_size=16, history=ckpt.history())
    whole, opt = model_and_optimizer()
    train(whole, X, y, epochs=4, optimizer=opt, batch_size=16)
    for k, v in whole.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[k], v)


def test_a_run_folder_that_cannot_be_written_is_refused_and_nothing_is_left(tmp_path):
    from handgrad.distributed import check_writable
    check_writable(str(tmp_path / "new" / "deeper"))
    assert not (tmp_path / "new").exists()                   # made to check, then removed
    (tmp_path / "file").write_text("mine")
    with pytest.raises(ValueError, match=r"cannot write the run folder .*file/run: Not a directory"):
        check_writable(str(tmp_path / "file" / "run"))
    assert (tmp_path / "file").read_text() == "mine"
    check_writable(None)


def test_a_batch_that_does_not_split_evenly_is_refused():
    check_batch_size(512, 4)
    with pytest.raises(ValueError, match=r"global batch of 100 does not split into 3 equal "
                                         r"shards.*divisible by 3 \(e.g. 99 or 102\)"):
        check_batch_size(100, 3)


def test_mlx_does_not_run_data_parallel():
    recipe = resolve(None, dataset="blobs", backend="mlx", batch_size=16)
    with pytest.raises(ValueError, match="numpy and torch backends, not 'mlx'"):
        data_parallel(MLP([4, 8, 3]), SGD(0.1), recipe)


# --- real workers ----------------------------------------------------------------------------

@needs_torch
@pytest.mark.slow
@pytest.mark.parametrize("world", [2, 4])
def test_workers_end_with_the_weights_of_one_process(world, tmp_path):
    names = (["sgd", "momentum", "adam", "adam-float32", "batchnorm", "dropout", "ddp-momentum",
              "ddp-adam"] if world == 2 else
             ["sgd", "momentum", "adam", "empty-shards", "batchnorm-dropout-float32"])
    codes, _ = _launch(_cases_worker, world, str(tmp_path), names)
    assert codes == [0] * world
    for name in names:
        reference = _fit(CASES[name], parallel=False)
        tol = 1e-5 if "float32" in name else 1e-12
        first = _load(tmp_path, name, 0)
        assert len(reference) == STEPS
        for rank in range(world):
            got = _load(tmp_path, name, rank)
            for step in range(STEPS):                 # compared after every step
                diff = _largest_difference(got[step], reference[step])
                assert diff <= tol, f"{name}, worker {rank}, step {step + 1}: {diff:.3g}"
                for k, v in got[step].items():        # every worker took the very same steps
                    np.testing.assert_array_equal(v, first[step][k])
    if world == 2:                            # DDP of the twin = handgrad's own data parallel
        for ddp, numpy in (("ddp-momentum", "momentum"), ("ddp-adam", "adam")):
            diff = _largest_difference(_load(tmp_path, ddp, 0)[-1], _load(tmp_path, numpy, 0)[-1])
            assert diff <= 1e-12, f"{ddp} against {numpy}: {diff:.3g}"


@needs_torch
@pytest.mark.slow
def test_a_killed_worker_stops_the_others_and_the_run_resumes_from_its_checkpoint(tmp_path):
    codes, seconds = _launch(_fault_worker, 2, str(tmp_path), "kill", 60, timeout=60)
    assert codes[1] == -signal.SIGKILL
    assert codes[0] not in (0, None), "worker 0 went on without worker 1"
    assert seconds[0] < 30
    message = (tmp_path / "error.0").read_text()
    assert "all-reduce failed" in message and "another worker died" in message
    X, y = _data()
    one_epoch, opt = _momentum_model()
    train(one_epoch, X, y, epochs=1, optimizer=opt, batch_size=16)
    ckpt = load_checkpoint(tmp_path / "ckpt.safetensors")      # written before the failure: whole
    assert len(ckpt.history()) == 1 and ckpt.optimizer().t == STEPS_PER_EPOCH
    assert _largest_difference(ckpt.state, one_epoch.state_dict()) <= 1e-12

    codes, _ = _launch(_resume_worker, 2, str(tmp_path))
    assert codes == [0, 0]
    uninterrupted, opt = _momentum_model()
    train(uninterrupted, X, y, epochs=3, optimizer=opt, batch_size=16)
    resumed = load_checkpoint(tmp_path / "ckpt.safetensors")
    assert len(resumed.history()) == 3
    assert _largest_difference(resumed.state, uninterrupted.state_dict()) <= 1e-12


@needs_torch
@pytest.mark.slow
def test_a_hung_worker_makes_the_others_stop_within_the_timeout(tmp_path):
    codes, seconds = _launch(_fault_worker, 2, str(tmp_path), "hang", 3, timeout=60, grace=2)
    assert codes[0] not in (0, None) and codes[1] is None        # worker 1 still asleep: killed
    assert seconds[0] < 30
    message = (tmp_path / "error.0").read_text()
    assert "Timed out" in message and "stopped answering" in message
    assert len(load_checkpoint(tmp_path / "ckpt.safetensors").history()) == 1


def _readme_block():
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    return next(b for b in re.findall(r"```python\n(.*?)```", text, re.S)
                if "init_process_group" in b)


def _readme_worker(rank, world, port, out):
    """The README's data-parallel example, as each worker runs it (torchrun sets these)."""
    import torch
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world))
    os.chdir(out)
    rng = np.random.default_rng(0)
    namespace = {"X": rng.random((1024, 784), dtype=np.float32), "y": rng.integers(0, 10, 1024)}
    exec(compile(_readme_block(), "README.md, data-parallel example", "exec"), namespace)
    np.savez(os.path.join(out, f"readme.{rank}.npz"), **namespace["model"].state_dict())
    import torch.distributed as dist
    dist.destroy_process_group()


@needs_torch
@pytest.mark.slow
def test_the_readme_example_trains_on_two_workers(tmp_path):
    codes, _ = _launch(_readme_worker, 2, str(tmp_path))
    assert codes == [0, 0]
    assert len(load_checkpoint(tmp_path / "ckpt.safetensors").history()) == 5
    first, second = (np.load(tmp_path / f"readme.{r}.npz") for r in range(2))
    for k in first.files:                                   # the very same weights everywhere
        np.testing.assert_array_equal(first[k], second[k])


def _teardown_worker(rank, world, port, out, iterations):
    """Join, one DDP step and one all-reduce on NumPy memory, leave; again and again."""
    import torch
    import torch.distributed as dist

    from handgrad.distributed.worker import leave
    from handgrad.twins import trainable
    torch.set_num_threads(1)
    X, y = _data(16)
    for i in range(iterations):
        dist.init_process_group("gloo", init_method=f"file://{out}/store.{i}", rank=rank,
                                world_size=world, timeout=timedelta(seconds=30))
        model, opt = _momentum_model()
        twin = DistributedTwin(trainable("torch", model, opt)[0])
        twin.loss_and_grad(X, y)                      # DDP's all-reduces, then Workers.sum_
        leave(dist, [twin])


@needs_torch
@pytest.mark.slow
def test_leaving_after_ddp_never_deadlocks(tmp_path):
    """The end of a DDP run once hung, one run in a few dozen: DDP's reducer, freed after the
    process group was destroyed, let the group go while holding Python's lock, and the group's
    destructor waited for a gloo thread that needed that lock. Left in that order, this loop
    hangs within its first five rounds; ``leave`` frees DDP first."""
    codes, _ = _launch(_teardown_worker, 2, str(tmp_path), 10, timeout=240)
    assert codes == [0, 0], "a worker hung leaving the process group"


def _cli(*args):
    from click.testing import CliRunner

    from handgrad.cli import main
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


@needs_torch
@pytest.mark.slow
def test_the_command_line_trains_with_workers_and_resumes_under_torchrun(tmp_path):
    args = ["--dataset", "blobs", "--batch-size", "16", "--lr", "0.05", "--momentum", "0.9",
            "--quiet", "--no-plots"]
    code, text = _cli("train", *args, "--epochs", "3", "--out", tmp_path / "one")
    assert code == 0, text
    code, text = _cli("train", *args, "--epochs", "2", "--workers", "2", "--out", tmp_path / "two")
    assert code == 0, text
    assert "test accuracy" in text and "checkpoint.safetensors" in text
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc-per-node", "2", "-m", "handgrad", "train", "--resume", "--epochs", "3",
                "--out", str(tmp_path / "two"), "--quiet", "--no-plots"]
    done = subprocess.run(torchrun, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("test accuracy") == 1              # worker 0 reports, alone
    one = load_checkpoint(tmp_path / "one" / "checkpoint.safetensors")
    two = load_checkpoint(tmp_path / "two" / "checkpoint.safetensors")
    assert len(two.history()) == 3
    assert _largest_difference(two.state, one.state) <= 1e-5       # float32


@needs_torch
def test_the_command_line_refuses_a_batch_the_workers_cannot_share():
    code, text = _cli("train", "--dataset", "blobs", "--batch-size", "16", "--workers", "3",
                      "--quiet")
    assert code == 1 and "divisible by 3" in text
