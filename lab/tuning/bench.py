"""Speed figure of tuning, measured, never asserted.

Budget (issue 14; it was 15 s): the workshop's tuning job (4 trials, 2 at a time) in under
0.8 s on two cores. Its naive reference runs the same job with a cold interpreter per trial
(`LAB_TRAINING_WORKER=subprocess`: each trial's script imports pandas and xgboost again),
which is what the lab's warm worker saves. It runs in a scratch workspace, on the
workspace's prepared data, so the learner's experiments gain nothing.
"""

from __future__ import annotations

import tempfile
from typing import Any

from lab import jobs
from lab.training.bench import scratch_workspace
from lab.warm import cold_workers

TUNING_BUDGET_S = 0.8
NAME = "tuning: the workshop's job (4 trials, 2 at a time)"


def bench_figures(settings: Any, runs: int = 2,
                  reference_runs: int = 1) -> list[dict[str, Any]]:
    from lab.tuning import tuning_job

    def once() -> float:
        job = jobs.run(scratch, tuning_job(scratch))
        if job.status != "Completed":
            raise RuntimeError(f"tuning failed: {job.error}")
        return job.duration_s

    with tempfile.TemporaryDirectory(prefix="lab-tune-bench-") as tmp:
        scratch = scratch_workspace(settings, tmp)
        # One warm-up job, not counted, as for every figure of the bench: the first tuning
        # job of a process also imports Optuna's SQLite storage (SQLAlchemy, alembic) and,
        # in a fresh workspace, makes tuning.db's schema (about 0.5 s of CPU in all).
        once()
        samples = [once() for _ in range(runs)]
        with cold_workers():
            reference = [once() for _ in range(reference_runs)]
    return [{"name": NAME, "unit": "s", "samples": samples, "budget": TUNING_BUDGET_S,
             "reference_samples": reference,
             "reference_what": "a cold interpreter per trial (no warm worker)"}]
