"""Speed figure of tuning, measured, never asserted.

Budget (from the issue): the workshop's tuning job (4 trials, 2 at a time) in under 15 s on
two cores. It runs in a scratch workspace, on the workspace's prepared data, so the
learner's experiments gain nothing.
"""

from __future__ import annotations

import tempfile
from typing import Any

from lab import jobs
from lab.training.bench import scratch_workspace

TUNING_BUDGET_S = 15.0
NAME = "tuning: the workshop's job (4 trials, 2 at a time)"


def bench_figures(settings: Any, runs: int = 2) -> list[dict[str, Any]]:
    from lab.tuning import tuning_job

    samples = []
    with tempfile.TemporaryDirectory(prefix="lab-tune-bench-") as tmp:
        scratch = scratch_workspace(settings, tmp)
        for _ in range(runs):
            job = jobs.run(scratch, tuning_job(scratch))
            if job.status != "Completed":
                raise RuntimeError(f"tuning failed: {job.error}")
            samples.append(job.duration_s)
    return [{"name": NAME, "unit": "s", "samples": samples, "budget": TUNING_BUDGET_S}]
