"""A data-parallel run never waits without bound and never leaves the user without a word.

Each wait for another worker or machine ends within a few seconds of --timeout with one line
naming what it waited for; Ctrl-C ends a run with exit status 130 and a checkpoint, with or
without workers; an unwritable run folder is refused before any worker starts; and many
runs in a row all end (the end of a run once deadlocked in DDP's teardown). The command line
runs as a user runs it, in its own process; these tests start PyTorch and are marked slow
unless they end before any worker starts.
"""

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path

import pytest

from handgrad.io import load_checkpoint

pytestmark = pytest.mark.skipif(
    find_spec("torch") is None,
    reason="data-parallel training runs on torch.distributed: pip install 'handgrad[torch]'")

_spec = importlib.util.spec_from_file_location(
    "chaos", Path(__file__).resolve().parents[1] / "benchmarks" / "chaos.py")
chaos = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(chaos)

RECIPE = ["--dataset", "blobs", "--layers", "4,64,3", "--batch-size", "30", "--lr", "0.05",
          "--momentum", "0.9", "--no-plots"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(*args):
    """``handgrad train`` in its own session (as at a terminal: Ctrl-C reaches its group)."""
    return subprocess.Popen([sys.executable, "-m", "handgrad", "train", *RECIPE, *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=chaos.environment(), start_new_session=True)


def _wait_for_epoch(p, n):
    """Read ``p``'s output until its epoch ``n`` line (returns the lines read)."""
    lines = []
    for line in p.stdout:
        lines.append(line)
        if line.startswith(f"epoch {n:>3}/"):
            return lines
    raise AssertionError(f"the run ended before epoch {n}:\n{''.join(lines)}{p.stderr.read()}")


def _finish(p, timeout=120):
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out, err


def _all_gone(p, within=10.0):
    """True once no process of ``p``'s session is left (the forkserver and the resource
    tracker end a moment after the launcher), waiting ``within`` seconds at most."""
    deadline = time.monotonic() + within
    while chaos.session_processes(p.pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _one_line_error(err):
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    assert "Traceback" not in err and "leaked" not in err
    return lines[0]


def _cli(*args):
    from click.testing import CliRunner

    from handgrad.cli import main
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


# --- refused before anything starts --------------------------------------------------------

def test_an_unwritable_run_folder_is_refused_before_any_worker_starts(tmp_path):
    (tmp_path / "file").write_text("mine")
    start = time.monotonic()
    code, text = _cli("train", *RECIPE, "--workers", "2", "--out", tmp_path / "file" / "run")
    assert code == 1 and "epoch" not in text
    assert text.strip().splitlines() == [
        f"Error: cannot write the run folder {tmp_path / 'file' / 'run'}: Not a directory"]
    assert time.monotonic() - start < 30
    assert (tmp_path / "file").read_text() == "mine"


def test_a_meeting_point_whose_host_has_no_address_is_refused_at_once():
    code, text = _cli("train", *RECIPE, "--workers", "1", "--nnodes", "2", "--rdzv-endpoint",
                      "nosuchhost.invalid:29400", "--timeout", "30")
    assert code == 1
    assert text.strip() == ("Error: --rdzv-endpoint nosuchhost.invalid:29400: the host "
                            "'nosuchhost.invalid' has no address (Name or service not known)")


# --- every wait ends within a few seconds of --timeout ---------------------------------------

@pytest.mark.slow
def test_a_machine_that_never_comes_ends_the_wait_at_the_timeout():
    from handgrad.distributed import Job, WorkerError, launch
    from handgrad.recipes import resolve
    endpoint = f"127.0.0.1:{_free_port()}"
    start = time.monotonic()
    with pytest.raises(WorkerError) as error:
        launch(Job(resolve(None, dataset="blobs", batch_size=30), timeout=4), workers=1,
               nnodes=2, rdzv_endpoint=endpoint)
    seconds = time.monotonic() - start
    assert 4 <= seconds < 4 + 5, f"waited {seconds:.1f} s for a timeout of 4 s"
    assert str(error.value) == (f"waited 4 s at {endpoint} for the other machine of --nnodes "
                                "2; they did not come (is the same command running on each?)")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_stopped_worker_ends_the_run_a_few_seconds_after_the_timeout(backend, tmp_path):
    p = _start("--workers", 2, "--backend", backend, "--epochs", 500, "--timeout", 5,
               "--out", tmp_path)
    _wait_for_epoch(p, 2)
    workers = chaos.workers_of(p.pid)
    assert len(workers) == 2
    os.kill(workers[1], signal.SIGSTOP)
    stopped = time.monotonic()
    first = p.stderr.readline()                             # the error, as soon as it comes
    said = time.monotonic() - stopped
    code, _, rest = _finish(p)
    ended = time.monotonic() - stopped
    assert code == 1
    assert said < 5 + 4, f"the error came {said:.1f} s after a worker stopped (timeout 5 s)"
    assert ended < 5 + 20, f"the run ended {ended:.1f} s after a worker stopped (timeout 5 s)"
    line = _one_line_error(first + rest)
    assert "all-reduce timed out (Timed out waiting 5000ms" in line, line
    assert "another worker stopped answering" in line, line
    assert f"The checkpoint {tmp_path / 'checkpoint.safetensors'} holds epoch" in line
    assert _all_gone(p)                                     # the stopped worker too
    load_checkpoint(tmp_path / "checkpoint.safetensors").model()


@pytest.mark.slow
def test_a_killed_launcher_takes_its_workers_with_it(tmp_path):
    p = _start("--workers", 2, "--epochs", 5000, "--out", tmp_path)
    _wait_for_epoch(p, 2)
    assert len(chaos.workers_of(p.pid)) == 2
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    killed = time.monotonic()
    while chaos.session_processes(p.pid) and time.monotonic() < killed + 30:
        time.sleep(0.1)
    assert not chaos.session_processes(p.pid), "workers outlived their launcher"
    assert time.monotonic() - killed < 5
    p.communicate()
    saved = load_checkpoint(tmp_path / "checkpoint.safetensors")        # whole, and it stays so
    time.sleep(1)
    assert load_checkpoint(tmp_path / "checkpoint.safetensors").history().rows == \
        saved.history().rows


# --- Ctrl-C: exit 130, a checkpoint, no warning, with or without workers -----------------------

@pytest.mark.slow
def test_ctrl_c_without_workers_saves_and_exits_130(tmp_path):
    p = _start("--epochs", 5000, "--out", tmp_path)
    _wait_for_epoch(p, 3)
    os.killpg(p.pid, signal.SIGINT)                         # what Ctrl-C at a terminal does
    code, out, err = _finish(p)
    assert code == 130, err
    assert "interrupted after epoch" in out and "Traceback" not in err and "leaked" not in err
    epochs = len(load_checkpoint(tmp_path / "checkpoint.safetensors").history())
    assert f"interrupted after epoch {epochs};" in out


def _uninterrupted(folder, *args):
    code, out, err = _finish(_start(*args, "--out", folder), timeout=300)
    assert code == 0, err
    return chaos.final_state(folder)


@pytest.mark.slow
@pytest.mark.parametrize("backend, whom", [("numpy", "group"), ("torch", "launcher")])
def test_ctrl_c_with_workers_saves_exits_130_and_resumes_exactly(backend, whom, tmp_path):
    """Ctrl-C at a terminal reaches every process of the run ("group"); ``kill -INT`` reaches
    the launcher alone, which tells the workers. Either way they stop at the same step, worker 0
    saves the last whole epoch, and resuming ends with the uninterrupted run's weights."""
    args = ["--workers", 2, "--backend", backend]
    p = _start(*args, "--epochs", 2000, "--out", tmp_path / "run")
    _wait_for_epoch(p, 3)
    if whom == "group":
        os.killpg(p.pid, signal.SIGINT)
    else:
        os.kill(p.pid, signal.SIGINT)
    code, out, err = _finish(p)
    assert code == 130, err
    assert "Traceback" not in err and "leaked" not in err, err
    assert _all_gone(p)
    epochs = len(load_checkpoint(tmp_path / "run" / "checkpoint.safetensors").history())
    assert epochs >= 3 and f"interrupted after epoch {epochs}; resume with: " in out
    if backend == "torch":          # resuming the twin exactly: tests/test_chaos.py
        return
    total = epochs + 2
    code, _, err = _finish(_start(*args, "--epochs", total, "--out", tmp_path / "run",
                                  "--resume"))
    assert code == 0, err
    reference = _uninterrupted(tmp_path / "whole", *args, "--epochs", total)
    assert chaos.identical(chaos.final_state(tmp_path / "run"), reference)


# --- the end of a run: many in a row, none hangs ------------------------------------------------

@pytest.mark.slow
def test_short_runs_in_a_row_all_end(tmp_path):
    """The NumPy backend and the DDP twin, one after the other from one launcher process.
    ``python benchmarks/soak.py`` runs 50 from the command line; the deadlock that once hung
    one run in a few dozen has its own test in tests/test_distributed.py. The alarm cuts a
    hung launch short instead of hanging the suite."""
    soak = importlib.util.spec_from_file_location(
        "soak", Path(__file__).resolve().parents[1] / "benchmarks" / "soak.py")
    module = importlib.util.module_from_spec(soak)
    soak.loader.exec_module(module)
    for i, backend in enumerate(["numpy", "torch"]):
        status, seconds, last = module.one_launch(str(tmp_path / f"run{i}"), backend, 1,
                                                  limit=120, dataset="blobs")
        assert status == "ok", f"run {i} ({backend}): {status} after {seconds:.0f} s: {last}"
