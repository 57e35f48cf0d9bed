"""Soak test of the end of a data-parallel run: many short runs, and not one may hang.

    python benchmarks/soak.py                       # 50 runs of the command line, ~10 minutes
    python benchmarks/soak.py --runs 100 --limit 90
    python benchmarks/soak.py --in-process --runs 50   # launch() from one process: faster

Each run is ``handgrad train --workers 2 --epochs 3`` on the digits (the blobs
without scikit-learn), alternating the NumPy backend and the PyTorch twin under
DDP, with a run folder, so each one writes its checkpoints, history and pictures
and ends as a user's run ends. A run that has not ended ``--limit`` seconds after
it started counts as a hang: its processes are listed, then killed. With
``--in-process`` the runs are ``handgrad.distributed.launch`` calls from this
process (the workers' forkserver is started once), which ends runs faster and
more often. Prints one line per run and a summary: runs, hangs, failures, and
the median and slowest time.
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time


def command(out, backend, epochs):
    return [sys.executable, "-m", "handgrad", "train", "--workers", "2", "--backend", backend,
            "--epochs", str(epochs), "--out", out, "--overwrite"]


def one_cli_run(out, backend, epochs, limit):
    """(status, seconds, last line): status is "ok", "failed" or "hang"."""
    start = time.monotonic()
    p = subprocess.Popen(command(out, backend, epochs), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        text, _ = p.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        listing = subprocess.run(["ps", "-o", "pid,stat,etime,args", "-g", str(p.pid)],
                                 capture_output=True, text=True).stdout
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return "hang", time.monotonic() - start, listing
    lines = text.strip().splitlines() or [""]
    status = "ok" if p.returncode == 0 and "test accuracy" in text else "failed"
    return status, time.monotonic() - start, lines[-1]


def one_launch(out, backend, epochs, limit, dataset=None):
    """The same run through handgrad.distributed.launch, in this process (a hang is caught by
    an alarm, which only a Python-level wait lets through; the command line mode sees all)."""
    from handgrad.distributed import Job, launch
    from handgrad.recipes import resolve
    recipe = resolve(None, dataset=dataset or _dataset(), backend=backend, epochs=epochs,
                     batch_size=None if dataset is None else 30)
    start = time.monotonic()

    def alarm(signum, frame):
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(int(limit))
    try:
        report = launch(Job(recipe, out=out, verbose=False), workers=2)
    except TimeoutError:
        return "hang", time.monotonic() - start, "the launcher did not return"
    except Exception as e:                                       # reported, not raised
        return "failed", time.monotonic() - start, f"{type(e).__name__}: {e}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return "ok", time.monotonic() - start, f"test accuracy {report.test_accuracy:.4f}"


def _dataset():
    from importlib.util import find_spec
    return "digits" if find_spec("sklearn") else "blobs"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--limit", type=float, default=120, help="seconds before a run is a hang")
    parser.add_argument("--in-process", action="store_true", help="launch() from this process")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="handgrad-soak-")
    results, begin = [], time.monotonic()
    try:
        for i in range(args.runs):
            backend = ("numpy", "torch")[i % 2]
            out = os.path.join(folder, f"run{i}")
            run = one_launch if args.in_process else one_cli_run
            status, seconds, last = run(out, backend, args.epochs, args.limit)
            results.append((status, seconds))
            print(f"run {i + 1:3d}/{args.runs}  {backend:5s}  {status:6s}  {seconds:6.1f} s  "
                  f"{last.strip().splitlines()[-1] if last.strip() else ''}", flush=True)
            if status == "hang":
                print(last, flush=True)
            shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    times = [s for _, s in results]
    count = {k: sum(1 for s, _ in results if s == k) for k in ("ok", "failed", "hang")}
    print(f"\n{len(results)} runs ({'launch() in-process' if args.in_process else 'command line'},"
          f" --workers 2, --epochs {args.epochs}, numpy and torch alternating): "
          f"{count['ok']} ended well, {count['failed']} failed, {count['hang']} hung; "
          f"median {statistics.median(times):.1f} s, slowest {max(times):.1f} s, "
          f"all {time.monotonic() - begin:.0f} s")
    return 1 if count["hang"] or count["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
