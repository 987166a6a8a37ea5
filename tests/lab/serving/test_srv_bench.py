"""The bench's endpoint figures run (their values are reported by `python -m lab bench`,
never asserted) and leave the learner's workspace as it was."""

from __future__ import annotations

from lab.serving import list_endpoints
from lab.serving.bench import bench_figures
from tests.workspaces import snapshot


def test_bench_figures_measure_in_a_scratch_workspace(settings):
    before = snapshot(settings.workspace)

    figures = bench_figures(settings, runs=1)

    assert [(f["name"], f["unit"], f["budget"]) for f in figures] == [
        ("endpoint: deploy to InService (local)", "s", 3.0),
        ("endpoint: one-row invoke over HTTP", "ms", 5.0),
        ("endpoint: one-row requests/s, one client (higher is better)", "req/s", 500.0),
        ("endpoint: 1,000-row CSV invoke", "ms", 50.0),
    ]
    assert [len(f["samples"]) for f in figures] == [1, 2000, 1, 20]
    assert all(v > 0 for f in figures for v in f["samples"])
    assert snapshot(settings.workspace) == before and list_endpoints(settings) == []
