"""Helpers of the pipeline tests: a small workspace, waiting for executions."""

from __future__ import annotations

import time
from pathlib import Path

from lab.dataset import generate_housing
from lab.pipelines import PipelineStore, describe_execution
from lab.prep import use_dataset
from lab.settings import Settings
from lab.workspace import Workspace

FAST = {"NEstimators": 15, "MaxDepth": 3,  # small data, few rounds: a run takes seconds
        "MseThreshold": 1e11}  # so few rounds leave a large MSE: register it anyway


def small_settings(root: Path, rows: int = 400) -> Settings:
    ws = Workspace(root / "workspace")
    use_dataset(ws, generate_housing(rows=rows, seed=7), "small_housing", "PRICE", "generated")
    return Settings(workspace=ws.root)


def wait_for(settings: Settings, execution_id: str, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ex = describe_execution(settings, execution_id)
        if ex.finished:
            return ex
        time.sleep(0.1)
    raise AssertionError(f"{execution_id} did not finish in {timeout} s")


def statuses(execution) -> dict[str, str]:
    return {n: ("CacheHit" if s.cache_hit else s.status) for n, s in execution.steps.items()}


def store(settings: Settings) -> PipelineStore:
    return PipelineStore(Workspace(settings.workspace))
