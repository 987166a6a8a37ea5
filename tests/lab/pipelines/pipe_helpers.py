"""Helpers of the pipeline tests: a small workspace, running and waiting for executions."""

from __future__ import annotations

import time
from pathlib import Path

from lab import jobs
from lab.dataset import generate_housing
from lab.pipelines import TRAINING_PIPELINE, PipelineStore, execution_of, pipeline_job
from lab.processing import use_dataset
from lab.settings import Settings
from lab.workspace import Workspace

FAST = {"NEstimators": 15, "MaxDepth": 3,  # small data, few rounds: a run takes seconds
        "MseThreshold": 1e11}  # so few rounds leave a large MSE: register it anyway


def small_settings(root: Path, rows: int = 400) -> Settings:
    ws = Workspace(root / "workspace")
    use_dataset(ws, generate_housing(rows=rows, seed=7), "small_housing", "PRICE", "generated")
    return Settings(workspace=ws.root)


def run_pipeline(settings: Settings, params: dict | None = None,
                 name: str = TRAINING_PIPELINE.name, runners=None):
    """An execution of `name` run to its end in this thread (the CLI's way): the Execution.

    Bad parameters raise before any job exists (pipeline_job checks them)."""
    job = jobs.run(settings, pipeline_job(settings, params, name, runners))
    execution = execution_of(settings, job)
    assert execution is not None, f"the job left no execution: {job.status} {job.error}"
    return execution


def wait_for(settings: Settings, job_id: str, timeout: float = 90):
    """The execution of the pipeline job `job_id`, once it has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ex = execution_of(settings, job_id)
        if ex is not None and ex.finished:
            return ex
        time.sleep(0.1)
    from lab.jobs import JobStore
    from lab.workspace import Workspace

    job = JobStore(Workspace(settings.workspace)).get(job_id)
    state = "no such job" if job is None else f"{job.status}, {job.message!r}, {job.error}"
    raise AssertionError(f"the execution of {job_id} did not finish in {timeout} s (job: "
                         f"{state}; execution: {execution_of(settings, job_id)})")


def statuses(execution) -> dict[str, str]:
    return {n: ("CacheHit" if s.cache_hit else s.status) for n, s in execution.steps.items()}


def store(settings: Settings) -> PipelineStore:
    return PipelineStore(Workspace(settings.workspace))
