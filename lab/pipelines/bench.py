"""Speed figures of the local pipeline executor, measured, never asserted.

Budgets (issue 14; it was 10 s): a cold run of the whole training pipeline on the workshop
data in under 1.5 s on two cores; a second run with nothing changed in under 1 s, every step a
cache hit. Each sample runs in a scratch workspace under a temporary folder (a fresh one
per cold run, so nothing is cached), with the workspace's active dataset copied in; the
learner's executions and registry gain nothing.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from lab import jobs
from lab.settings import Settings
from lab.workspace import Workspace

COLD_BUDGET_S, CACHED_BUDGET_S = 1.5, 1.0
COLD = "pipeline: cold run of the training pipeline"
CACHED = "pipeline: second run, nothing changed (all cache hits)"


def _scratch(source: Workspace, root: Path) -> Settings:
    from lab.dataset import active_dataset, load_dataset, save_dataset

    info = active_dataset(source)
    save_dataset(Workspace(root), load_dataset(source, info), info.name, info.target,
                 info.source)
    return Settings(workspace=root)


def bench_figures(settings: Any, runs: int | None = None) -> list[dict[str, Any]]:
    """[{"name", "unit", "samples", "budget"}] for a cold and an all-cached execution."""
    from lab.pipelines import execution_of, pipeline_job

    def run_pipeline(scratch: Settings):
        return execution_of(scratch, jobs.run(scratch, pipeline_job(scratch)))

    runs = runs or 2
    source = Workspace(settings.workspace)
    cold, cached = [], []
    with tempfile.TemporaryDirectory(prefix="lab-pipe-bench-") as tmp:
        for i in range(runs):
            scratch = _scratch(source, Path(tmp) / f"ws{i}")
            started = time.perf_counter()
            first = run_pipeline(scratch)
            cold.append(time.perf_counter() - started)
            if first.status != "Succeeded":
                raise RuntimeError(f"The bench execution failed: {first.failure}")
            started = time.perf_counter()
            again = run_pipeline(scratch)
            cached.append(time.perf_counter() - started)
            if again.cache_hits < 3:
                raise RuntimeError("The second bench execution was not all cache hits.")
            shutil.rmtree(scratch.workspace, ignore_errors=True)
    return [{"name": COLD, "unit": "s", "samples": cold, "budget": COLD_BUDGET_S},
            {"name": CACHED, "unit": "s", "samples": cached, "budget": CACHED_BUDGET_S,
             # the naive reference: every step run again, nothing cached (a cold run)
             "reference_samples": cold,
             "reference_what": "re-running every step without a cache"}]
