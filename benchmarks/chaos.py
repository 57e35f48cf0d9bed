"""Chaos for training: kill -9 at random moments, resume, and get the uninterrupted weights exactly.

    python benchmarks/chaos.py                          # 20 single-process, 10 multi-worker runs
    python benchmarks/chaos.py --single 5 --multi 2 --seed 1

For each setup an uninterrupted run is trained first (the reference, and the
measure of how long a run takes). Then each chaos run starts the same command
line and, at a moment drawn from a seeded generator, sends SIGKILL: to the
process itself for single-process runs, and to the launcher or to one of the
workers for multi-worker runs (the NumPy backend and the PyTorch twin under DDP
alternate). A fifth of the kills fall in the start-up (uniform over the
reference's time to its first epoch line), three fifths in the training
(uniform over the reference's time from its first epoch line to its last,
counted from the chaos run's own first epoch line: checkpoint writes included)
and a fifth in the end (after the last epoch line: the last checkpoint, the
history, leaving). A run that ended before its kill does not count: another
is drawn. Then:

1. every process of the run must be gone within 30 s (workers do not outlive a
   killed launcher);
2. the checkpoint, if one was written, must load (model, optimizer, history);
3. ``--resume`` (or a fresh start when no epoch was saved) must finish, and its
   weights, buffers and per-epoch training losses must equal the reference's
   bit for bit.

Every run uses one thread per process (OMP_NUM_THREADS=1), so that the
reference and the resumed runs compute in the same order.
"""

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

EPOCHS = {"single": 40, "numpy x2": 120, "torch x2": 120}   # a few seconds of training each
COMMON = ["--dataset", "blobs", "--layers", "4,256,256,3", "--batch-size", "30", "--lr", "0.05",
          "--momentum", "0.9", "--norm", "batch", "--no-plots"]
SHARES = (0.2, 0.6, 0.2)                       # of the kills: start-up, training, the end
SETUPS = {                                     # the PyTorch twin's dropout is torch's own draw
    "single": ["--dropout", "0.2"],
    "numpy x2": ["--dropout", "0.2", "--workers", "2"],
    "torch x2": ["--backend", "torch", "--workers", "2"],
}
LINGER = 30.0                                  # seconds a killed run's processes may take to go


def command(setup, out, epochs, *extra):
    return [sys.executable, "-m", "handgrad", "train", *COMMON, *SETUPS[setup],
            "--epochs", str(epochs), "--out", str(out), *extra]


def environment():
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop("HANDGRAD_PROG", None)
    return env


def run(cmd, timeout=600):
    """(exit status, output) of a command that must end."""
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=environment())
    return done.returncode, done.stdout + done.stderr


def final_state(out):
    """(state dict, training losses per epoch) of the run folder ``out``'s checkpoint."""
    from handgrad.io import load_checkpoint
    ckpt = load_checkpoint(Path(out) / "checkpoint.safetensors")
    return ckpt.state, [row["train_loss"] for row in ckpt.history().rows]


def identical(a, b):
    """True when two (state, losses) pairs agree bit for bit."""
    (sa, la), (sb, lb) = a, b
    return (sa.keys() == sb.keys() and la == lb and
            all(sa[k].dtype == sb[k].dtype and np.array_equal(sa[k], sb[k]) for k in sa))


def start(setup, out, epochs, *extra):
    """A run in its own session, its output read line by line."""
    return subprocess.Popen(command(setup, out, epochs, *extra), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=environment(),
                            start_new_session=True)


def epoch_line(p, n):
    """Read ``p``'s output up to its epoch ``n`` line; False when it ended without one."""
    for line in p.stdout:
        if line.startswith(f"epoch {n:>3}/"):
            return True
    return False


@dataclass
class Reference:
    """The uninterrupted run: its weights and losses, and how long its phases took."""
    epochs: int
    result: tuple
    startup: float                     # seconds to the first epoch line
    training: float                    # seconds from it to the last epoch line
    end: float                         # seconds from the last epoch line to the exit

    @property
    def seconds(self):
        return self.startup + self.training + self.end


def reference(setup, folder, epochs):
    out = Path(folder) / f"reference-{setup.replace(' ', '')}"
    t0 = time.monotonic()
    p = start(setup, out, epochs)
    if not epoch_line(p, 1):
        raise RuntimeError(f"the reference run of {setup} trained no epoch")
    t1 = time.monotonic()
    epoch_line(p, epochs)
    t2 = time.monotonic()
    text, _ = p.communicate()
    if p.returncode != 0:
        raise RuntimeError(f"the reference run of {setup} failed:\n{text[-2000:]}")
    return Reference(epochs, final_state(out), t1 - t0, t2 - t1, time.monotonic() - t2)


def session_processes(sid):
    """Process ids whose session is ``sid`` (the run and everything it started)."""
    listing = subprocess.run(["ps", "-e", "-o", "pid=,sid=,stat="], capture_output=True,
                             text=True).stdout
    return [int(p) for p, s, stat in (line.split() for line in listing.splitlines())
            if int(s) == sid and not stat.startswith("Z")]


def workers_of(pid):
    """The worker processes of a launcher: children of the process that forks them."""
    listing = subprocess.run(["ps", "-ww", "-e", "-o", "pid=,ppid=,args="], capture_output=True,
                             text=True).stdout
    rows = [line.split(None, 2) for line in listing.splitlines()]
    servers = [int(p) for p, pp, args in rows if int(pp) == pid and "forkserver" in args]
    return [int(p) for p, pp, _ in rows if int(pp) in servers]


@dataclass
class Outcome:
    """What one chaos run did and found."""
    setup: str
    at: float                          # seconds after the start
    target: str                        # what was killed
    ended_first: bool = False          # the run was over before the kill
    epochs_saved: int | None = None    # in the checkpoint after the kill (None: no checkpoint)
    loads: bool = True
    lingered: list = field(default_factory=list)
    resumed: str = ""                  # "resume", "fresh", "none needed"
    identical: bool = False
    note: str = ""


def chaos_run(setup, folder, u, pick, ref):
    """Start a run, SIGKILL it (or one of its workers) at the moment ``u`` (in [0, 1)) picks,
    then check what is left and resume."""
    from handgrad.io import load_checkpoint
    out = Path(folder) / f"chaos-{time.monotonic_ns()}"
    t0 = time.monotonic()
    p = start(setup, out, ref.epochs)
    startup, training, _ = SHARES
    if u < startup:                                        # in the start-up
        time.sleep(u / startup * ref.startup)
    elif u < startup + training:                           # in the training
        if epoch_line(p, 1):
            time.sleep((u - startup) / training * ref.training)
    elif epoch_line(p, ref.epochs):                        # at the end
        time.sleep((u - startup - training) / (1 - startup - training) * ref.end)
    outcome = Outcome(setup, time.monotonic() - t0,
                      "process" if "x2" not in setup else "launcher")
    if p.poll() is not None:
        outcome.ended_first, outcome.target = True, "nothing (it had ended)"
    else:
        victim = p.pid
        if "x2" in setup and pick < 2 / 3:
            workers = workers_of(p.pid)
            if workers:
                victim = workers[int(pick * 3) % len(workers)]
                outcome.target = f"worker pid {victim}"
        os.kill(victim, signal.SIGKILL)
    try:
        p.wait(timeout=LINGER)
    except subprocess.TimeoutExpired:
        outcome.note = f"the launcher did not end within {LINGER:g} s after its worker was killed"
    deadline = time.monotonic() + LINGER
    while session_processes(p.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    outcome.lingered = session_processes(p.pid)
    for pid in outcome.lingered:
        os.kill(pid, signal.SIGKILL)
    p.communicate()
    checkpoint = out / "checkpoint.safetensors"
    if checkpoint.is_file():
        try:
            ckpt = load_checkpoint(checkpoint)
            ckpt.model(), ckpt.optimizer()
            outcome.epochs_saved = len(ckpt.history())
        except (ValueError, OSError) as e:
            outcome.loads, outcome.note = False, f"the checkpoint does not load: {e}"
            return outcome
    if outcome.epochs_saved == ref.epochs:
        outcome.resumed = "none needed"
    elif outcome.epochs_saved:
        outcome.resumed = "resume"
        code, text = run(command(setup, out, ref.epochs, "--resume"))
        if code != 0:
            outcome.note = f"--resume failed: {text.strip().splitlines()[-1]}"
            return outcome
    else:
        outcome.resumed = "fresh"
        code, text = run(command(setup, out, ref.epochs, "--overwrite"))
        if code != 0:
            outcome.note = f"a fresh start failed: {text.strip().splitlines()[-1]}"
            return outcome
    outcome.identical = identical(final_state(out), ref.result)
    shutil.rmtree(out, ignore_errors=True)
    return outcome


def chaos(single, multi, seed, log=print, epochs=None, backends=("numpy", "torch")):
    """Kill ``single`` single-process and ``multi`` multi-worker runs (runs that end before
    their kill are drawn again, once); returns every Outcome. ``epochs`` overrides EPOCHS;
    the multi-worker runs take turns among ``backends``."""
    epochs = {**EPOCHS, **(epochs or {})}
    rng = random.Random(seed)
    folder = tempfile.mkdtemp(prefix="handgrad-chaos-")
    plan = ["single"] * single + [f"{backends[i % len(backends)]} x2" for i in range(multi)]
    refs, outcomes = {}, []
    try:
        for setup in dict.fromkeys(plan):
            refs[setup] = reference(setup, folder, epochs[setup])
            log(f"reference {setup}: {refs[setup].startup:.1f} s to the first epoch line, "
                f"{refs[setup].training:.1f} s to the last, {refs[setup].end:.1f} s to the end")
        for setup in plan:
            for _ in range(2):
                o = chaos_run(setup, folder, rng.random(), rng.random(), refs[setup])
                outcomes.append(o)
                _log(o, refs[setup], log)
                if not o.ended_first:
                    break
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return outcomes


def _log(o, ref, log):
    saved = "no checkpoint" if o.epochs_saved is None else f"epoch {o.epochs_saved} saved"
    log(f"{o.setup:9s} kill at {o.at:5.2f} s of {ref.seconds:5.2f}: "
                f"{o.target:18s} {saved:16s} {o.resumed:11s} "
                f"{'identical' if o.identical else 'DIFFERENT'}"
                + (f"  lingered: {o.lingered}" if o.lingered else "")
        + (f"  ({o.note})" if o.note else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--single", type=int, default=20)
    parser.add_argument("--multi", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.monotonic()
    outcomes = chaos(args.single, args.multi, args.seed)
    good = [o for o in outcomes if o.identical and o.loads and not o.lingered and not o.note]
    killed = [o for o in outcomes if not o.ended_first]
    print(f"\n{len(killed)} runs killed ({sum(o.setup == 'single' for o in killed)} "
          f"single-process, {sum(o.setup != 'single' for o in killed)} multi-worker; "
          f"{len(outcomes) - len(killed)} more ended before their kill): "
          f"{sum(o in good for o in killed)} resumed to the uninterrupted weights bit for bit; "
          f"checkpoints that did not load: {sum(not o.loads for o in outcomes)}; "
          f"runs with processes left behind: {sum(bool(o.lingered) for o in outcomes)}; "
          f"{time.monotonic() - start:.0f} s")
    return 0 if len(good) == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
