"""Chaos for training: SIGKILL at seeded random moments, then resume, and the weights are the
uninterrupted run's, bit for bit. The full run (20 single-process and 10 multi-worker kills) is
``python benchmarks/chaos.py``; this test runs a smaller draw of the same harness."""

import importlib.util
from importlib.util import find_spec
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "chaos", Path(__file__).resolve().parents[1] / "benchmarks" / "chaos.py")
chaos = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(chaos)


def _assert_all_whole(outcomes):
    for o in outcomes:
        what = f"{o.setup}, killed at {o.at:.2f} s ({o.target})"
        assert o.loads, f"{what}: {o.note}"
        assert not o.lingered, f"{what}: processes left behind: {o.lingered}"
        assert not o.note, f"{what}: {o.note}"
        assert o.identical, f"{what}: resumed ({o.resumed}) to other weights than the reference"


@pytest.mark.slow
def test_killed_single_process_runs_resume_to_the_same_weights_bit_for_bit():
    outcomes = chaos.chaos(single=4, multi=0, seed=11, log=lambda *a: None)
    # a run that ended before its kill is drawn again (once): 4 to 8 runs, 3 or more killed
    assert 4 <= len(outcomes) <= 8 and sum(not o.ended_first for o in outcomes) >= 3
    _assert_all_whole(outcomes)


@pytest.mark.slow
@pytest.mark.skipif(find_spec("torch") is None,
                    reason="data-parallel training runs on torch.distributed: "
                           "pip install 'handgrad[torch]'")
def test_a_killed_multi_worker_run_resumes_to_the_same_weights_bit_for_bit():
    """A run of the DDP twin, killed (the launcher or a worker) at a seeded moment. (The NumPy
    backend's workers resume exactly after Ctrl-C in tests/test_distributed_faults.py.)"""
    outcomes = chaos.chaos(single=0, multi=1, seed=5, log=lambda *a: None,
                           epochs={"torch x2": 40}, backends=("torch",))
    assert {o.setup for o in outcomes} == {"torch x2"}
    _assert_all_whole(outcomes)
