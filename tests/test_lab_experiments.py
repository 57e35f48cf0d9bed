"""Every check of every experiment can fail: the registry names, for each part of each claim, a
setting in which it must fail, and each is run here (parametrized over the registry, so an
experiment added without such a setting fails the test). Then the whole lab in --quick."""

import json
import math

import pytest

from handgrad import lab
from handgrad.lab.verdicts import ERROR, FAIL, SKIPPED, VERDICTS

CHEAP = 0.3          # experiments this fast (seconds, --quick, 2 cores) stay in the quick loop

SETTINGS = {}
for e in lab.EXPERIMENTS.values():
    for key, params in e.fails_with.items():
        SETTINGS.setdefault((e.slug, tuple(sorted(params.items()))), []).append(key)


def case(slug, params):
    e = lab.get(slug)
    marks = () if e.seconds[0] <= CHEAP and not e.quick_skips and not e.needs else pytest.mark.slow
    label = f"{slug}-" + ",".join(f"{k}={v}" for k, v in params) if params else slug
    return pytest.param(slug, params, id=label, marks=marks)


@pytest.mark.parametrize(("slug", "params"), [case(s, p) for s, p in SETTINGS])
def test_each_check_fails_in_its_failing_setting(slug, params):
    e = lab.get(slug)
    r = lab.run_one(slug, quick=not e.quick_skips, draw=False, **dict(params))
    if r.verdict == SKIPPED:
        pytest.skip(r.skipped)
    assert r.error is None, r.error
    for key in SETTINGS[slug, params]:
        mine = [c for c in r.checks if c.key == key]
        assert mine, f"{slug}: no check {key!r} (checks: {sorted({c.key for c in r.checks})})"
        lesson_setup = [c for c in mine if c.variant is None]
        outcomes = [c.outcome for c in lesson_setup or mine]          # the lesson's own setup decides
        assert FAIL in outcomes, f"{slug} with {dict(params)}: {key} is {outcomes}, never {FAIL}"
    lesson_keys = {c.key for c in r.checks if c.variant is None and c.outcome != "not here"}
    missing = lesson_keys - set(e.fails_with)
    assert not missing, f"{slug}: no setting shows these checks failing: {sorted(missing)}"


def numbers(value):
    if isinstance(value, dict):
        return [n for v in value.values() for n in numbers(v)]
    if isinstance(value, (list, tuple)):
        return [n for v in value for n in numbers(v)]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    return [float(value)]


@pytest.mark.slow
def test_the_whole_lab_runs_quick_into_a_report(tmp_path):
    pytest.importorskip("matplotlib")
    results = lab.run(quick=True, out=tmp_path)
    assert len(results) == len(lab.EXPERIMENTS)
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["claims"] == len(results) >= 45
    for r in results:
        assert r.verdict in VERDICTS and r.verdict != ERROR, (r.slug, r.error)
        if r.verdict == SKIPPED:
            assert r.skipped.endswith(".") and len(r.skipped) > 40        # the whole reason, not cut short
            continue
        assert r.found and r.why and r.setups and r.checks and r.images, r.slug
        assert next(iter(r.setups)) in ("the lesson's", "ours"), r.slug
        for c in r.checks:
            assert c.key and c.text and c.measured and c.distance_text, (r.slug, c.key)
        assert all(math.isfinite(n) or math.isnan(n) or math.isinf(n) for n in numbers(r.measurements))
        json.dumps(r.to_dict())
    page = (tmp_path / "report.html").read_text()
    assert page.count('<section class="claim"') == len(results)
