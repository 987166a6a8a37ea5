"""What the attendee chose, read back from their workspace (defaults where they have not
done a step yet): the dataset, the split, the jobs' parameters, the pipeline's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lab.workspace import Workspace


@dataclass
class Choices:
    dataset: dict[str, Any]  # name, source, rows, target
    prep: dict[str, Any]  # train_size, val_size, test_size, random_state
    instance_count: int = 1
    algorithm: str = "xgboost"
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    tuning: dict[str, Any] = field(default_factory=dict)  # build_tuning_spec's arguments
    pipeline: dict[str, Any] = field(default_factory=dict)  # the pipeline's parameters
    done: dict[str, bool] = field(default_factory=dict)


def _latest_params(ws: Workspace, kind: str) -> dict[str, Any]:
    from lab.jobs import COMPLETED, JobStore

    for job in JobStore(ws).list(kind):
        if job.status == COMPLETED:
            return dict(job.params)
    return {}


def choices_of(settings: Any) -> Choices:
    from lab.dataset import active_dataset
    from lab.pipelines import TRAINING_PIPELINE, list_executions
    from lab.processing import read_meta
    from lab.steps import progress
    from lab.training import DEFAULT_ALGORITHM, build_request

    ws = Workspace(settings.workspace)
    info = active_dataset(ws)
    meta = read_meta(ws.processed_dir) or {}
    prep = dict(meta.get("parameters") or {"train_size": 0.6, "val_size": 0.2,
                                             "test_size": 0.2, "random_state": 42})
    training = _latest_params(ws, "training")
    algorithm = training.get("algorithm", DEFAULT_ALGORITHM)
    hyperparameters = training.get("hyperparameters") or build_request(
        algorithm, {}).hyperparameters
    tuning = _latest_params(ws, "tuning")
    tuning_args = {"algorithm_key": tuning.get("algorithm", algorithm),
                   "ranges": tuning.get("ranges"), "static": tuning.get("static") or {},
                   "objective": tuning.get("objective", "mse"),
                   "max_jobs": tuning.get("max_jobs", 4),
                   "max_parallel_jobs": tuning.get("max_parallel_jobs", 2),
                   "strategy": tuning.get("strategy", "Bayesian")}
    executions = list_executions(settings, TRAINING_PIPELINE.name, limit=1)
    pipeline = dict(executions[0].parameters) if executions else TRAINING_PIPELINE.defaults()
    return Choices(
        dataset={"name": info.name, "source": info.source, "rows": info.rows,
                 "target": info.target},
        prep={k: prep[k] for k in ("train_size", "val_size", "test_size", "random_state")
              if k in prep},
        instance_count=int(_latest_params(ws, "processing").get("instance_count", 1)),
        algorithm=algorithm, hyperparameters=dict(hyperparameters), tuning=tuning_args,
        pipeline=pipeline, done=progress(ws))
