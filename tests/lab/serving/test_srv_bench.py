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
        ("endpoint: one-row invoke over HTTP", "ms", 1.0),
        ("endpoint: one-row requests/s, one client (higher is better)", "req/s", 500.0),
        ("endpoint: one-row requests/s, four plain HTTP clients (higher is better)", "req/s",
         3000.0),
        ("endpoint: one-row requests/s, one boto3 client (higher is better)", "req/s", None),
        ("endpoint: 1,000-row CSV invoke", "ms", 50.0),
    ]
    assert [len(f["samples"]) for f in figures] == [1, 2000, 1, 1, 1, 20]
    invoke = figures[1]  # beside it, its naive reference: a model loaded per request
    assert invoke["budget_on"] == "p99" and len(invoke["reference_samples"]) == 5
    assert all(v > 0 for v in invoke["reference_samples"])
    assert all(v > 0 for f in figures for v in f["samples"])
    assert snapshot(settings.workspace) == before and list_endpoints(settings) == []
