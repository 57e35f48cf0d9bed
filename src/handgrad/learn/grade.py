"""``handgrad learn grade``: a folder of workspaces (one per student) into a table.

    submissions/
        alice/  01-linear-layer.py  02-relu.py  …
        bob/    …

Every submission is untrusted code. Each student's exercise files (regular files only, no
links, at most 1 MiB each) are copied into a scratch folder of their own, and every check
runs there in a process of its own: a time limit per exercise, a memory limit, no new
processes, a scrubbed environment, an audit hook that refuses files outside the workspace
and the network — and, where bubblewrap works, its own namespaces, in which other students'
files, handgrad's source (the reference solutions with it) and the teacher's home do not
exist. Two students are graded at a time.

The CSV has one row per student and one column per exercise (pass, fail, not-done,
missing, syntax-error, timeout, crashed, blocked); the JSON keeps every message.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checking import BLOCKED, PASSED, Verdict, run_check
from .exercises import all_exercises
from .registry import Exercise
from .runtime import Limits, bwrap_problem
from .workspace import atomic_write

MAX_FILE = 1 << 20                                  # a bigger exercise file is not copied
CELL = {PASSED: "pass", "failed": "fail"}           # the CSV's words; other statuses as they are


@dataclass
class StudentResult:
    name: str
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def passed(self) -> int:
        return sum(v.passed for v in self.verdicts.values())

    @property
    def blocked(self) -> list[str]:
        return [k for k, v in self.verdicts.items() if v.status == BLOCKED]


class GradeError(Exception):
    """Grading cannot start (no such folder, nothing to grade); one line for the teacher."""


def plural(n: int, word: str) -> str:
    """'1 workspace', '2 workspaces'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def students(root: Path) -> list[Path]:
    """The student folders under ``root``: every visible subfolder (not links), sorted."""
    if not root.is_dir():
        raise GradeError(f"{root} is not a folder of submissions (one workspace per student)")
    found = sorted(p for p in root.iterdir()
                   if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
    if not found:
        raise GradeError(f"{root} holds no student folders: expected one workspace per student, "
                         "e.g. submissions/alice/01-linear-layer.py")
    return found


def scratch_copy(student: Path, scratch: Path, exercises: list[Exercise]) -> tuple[Path, list[str]]:
    """Copy the student's exercise files (regular files only) into ``scratch``; returns the
    copy and the notes on files left out."""
    notes = []
    for ex in exercises:
        src = student / ex.file_name
        if src.is_symlink():
            notes.append(f"{ex.file_name} is a link, not a file: not graded")
            continue
        if not src.is_file():
            continue
        if src.stat().st_size > MAX_FILE:
            notes.append(f"{ex.file_name} is over 1 MiB: not graded")
            continue
        shutil.copyfile(src, scratch / ex.file_name, follow_symlinks=False)
    return scratch, notes


def grade_student(student: Path, scratch_root: Path, exercises: list[Exercise],
                  seconds: float | None, memory_mb: int, bwrap: bool,
                  tick: Callable[[], None]) -> StudentResult:
    start = time.monotonic()
    result = StudentResult(student.name)
    work = scratch_root / student.name
    work.mkdir()
    _, notes = scratch_copy(student, work, exercises)
    for ex in exercises:
        limits = Limits(seconds=seconds or ex.seconds, memory_mb=memory_mb)
        verdict = run_check(ex, work / ex.file_name, limits=limits, sandbox=True, bwrap=bwrap,
                            ignore_marker=True)
        if any(ex.file_name in n for n in notes):
            verdict.notes += [n for n in notes if ex.file_name in n]
        result.verdicts[ex.id] = verdict
        tick()
    result.seconds = time.monotonic() - start
    return result


def grade(root: Path, out_csv: Path, out_json: Path | None = None, *, jobs: int = 2,
          seconds: float | None = None, memory_mb: int = 2048, only: list[Exercise] | None = None,
          use_bwrap: bool = True, progress: bool = True,
          log: Callable[[str], None] = print) -> dict[str, Any]:
    """Grade every workspace under ``root``; write the CSV (and the JSON); return a summary.

    ``seconds`` is the time limit of each check (default: each exercise's own, 10 to 40 s)."""
    root = Path(root)
    folders = students(root)
    exercises = only or all_exercises()
    problem = bwrap_problem() if use_bwrap else "bubblewrap was turned off (--no-bwrap)"
    bwrap = problem is None
    if not bwrap:
        log(f"warning: {problem}: submissions run with resource limits and an audit hook only, "
            "not in a sandbox of their own; a determined submission could read files your user "
            "can read. Install bubblewrap (Debian: sudo apt-get install bubblewrap) to isolate "
            "them.")
    total = len(folders) * len(exercises)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=total, unit="check", desc=f"grading {plural(len(folders), 'workspace')}",
                   dynamic_ncols=True)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="handgrad-grade-") as scratch:
        scratch_root = Path(scratch)

        def tick() -> None:
            if bar is not None:
                bar.update(1)

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [pool.submit(grade_student, s, scratch_root, exercises, seconds, memory_mb,
                                   bwrap, tick) for s in folders]
            results = [f.result() for f in futures]
    if bar is not None:
        bar.close()
    elapsed = time.monotonic() - start
    write_csv(out_csv, results, exercises)
    summary = summarize(results, exercises, elapsed, bwrap, problem, seconds, memory_mb)
    if out_json is not None:
        write_json(out_json, results, exercises, summary)
    return summary


def write_csv(path: Path, results: list[StudentResult], exercises: list[Exercise]) -> None:
    buffer = io.StringIO()
    w = csv.writer(buffer)
    w.writerow(["student", "passed", "total", *[ex.id for ex in exercises], "flags"])
    for r in results:
        cells = [CELL.get(r.verdicts[ex.id].status, r.verdicts[ex.id].status) for ex in exercises]
        flags = (f"blocked: tried what a submission may not ({', '.join(r.blocked)})"
                 if r.blocked else "")
        w.writerow([r.name, r.passed, len(exercises), *cells, flags])
    atomic_write(Path(path), buffer.getvalue())


def write_json(path: Path, results: list[StudentResult], exercises: list[Exercise],
               summary: dict[str, Any]) -> None:
    data = {"summary": summary, "exercises": [ex.id for ex in exercises], "students": {
        r.name: {"passed": r.passed, "total": len(exercises), "seconds": round(r.seconds, 2),
                 "blocked": r.blocked,
                 "results": {ex_id: {"status": CELL.get(v.status, v.status), "mistake": v.mistake,
                                     "message": v.message, "notes": v.notes,
                                     "output": v.output, "seconds": round(v.seconds, 3)}
                             for ex_id, v in r.verdicts.items()}}
        for r in results}}
    atomic_write(Path(path), json.dumps(data, indent=1, ensure_ascii=False))


def summarize(results: list[StudentResult], exercises: list[Exercise], elapsed: float,
              bwrap: bool, problem: str | None, seconds: float | None,
              memory_mb: int) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for r in results:
        for v in r.verdicts.values():
            key = CELL.get(v.status, v.status)
            counts[key] = counts.get(key, 0) + 1
    scores = [r.passed for r in results]
    return {
        "workspaces": len(results), "exercises": len(exercises),
        "seconds": round(elapsed, 1),
        "seconds_per_workspace": round(elapsed / max(len(results), 1), 2),
        "median_passed": statistics.median(scores) if scores else 0,
        "statuses": counts,
        "blocked_students": [r.name for r in results if r.blocked],
        "sandbox": "bubblewrap" if bwrap else f"limits and audit hook only ({problem})",
        "time_limit_per_exercise": seconds or "each exercise's own", "memory_limit_mb": memory_mb,
    }


def summary_lines(summary: dict[str, Any], out_csv: Path, out_json: Path | None) -> list[str]:
    s = summary
    statuses = ", ".join(f"{n} {k}" for k, n in sorted(s["statuses"].items(), key=lambda kv: -kv[1]))
    lines = [f"graded {plural(s['workspaces'], 'workspace')} × {s['exercises']} exercises in "
             f"{s['seconds']:.0f} s ({s['seconds_per_workspace']:.1f} s per workspace, "
             f"{s['sandbox']})",
             f"median {s['median_passed']:g} of {s['exercises']} passed; checks: {statuses}"]
    if s["blocked_students"]:
        lines.append("blocked (a submission tried to reach outside its workspace): "
                     + ", ".join(s["blocked_students"]))
    lines.append(f"wrote {out_csv}" + (f" and {out_json}" if out_json else ""))
    return lines
