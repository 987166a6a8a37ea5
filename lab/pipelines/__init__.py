"""Pipelines (the workshop's notebook 4): one definition, a local DAG executor, a compiler.

    execution_id = start_pipeline(settings, {"MaxDepth": 6})    # the page's way (a job)
    execution = run_pipeline(settings)                          # the CLI's way
    summary(execution)        # {"execution_id", "status", "steps", "cache_hits", ...}
    run_pipeline(settings, name=DEPLOY_PIPELINE.name)           # deploy the latest approved
    definition_json(settings, "sagemaker")                      # SDK v2 definition, offline

The definition is data (`definition.py`); the local executor runs it with SageMaker's step
caching (`executor.py`, state in `<workspace>/pipelines.db`); `lab.sagemaker.pipeline`
compiles it into an SDK v2 Pipeline. Nothing here imports boto3 or sagemaker at load.
"""

from __future__ import annotations

from typing import Any

from lab.pipelines.api import (
    KIND,
    describe_execution,
    execution_json,
    list_executions,
    parse_params,
    run_pipeline,
    start_pipeline,
    step_log,
    summary,
)
from lab.pipelines.definition import (
    CACHE_EXPIRY,
    DEPLOY_PIPELINE,
    MSE_THRESHOLD,
    PIPELINES,
    TRAINING_PIPELINE,
    ConditionStep,
    JsonGet,
    Param,
    Parameter,
    PipelineDef,
    Prop,
    Step,
    pipeline,
    topological,
)
from lab.pipelines.store import (
    EXECUTING,
    FAILED,
    STOPPED,
    SUCCEEDED,
    Execution,
    PipelineStore,
    StepRecord,
)


def definition_json(settings: Any, backend: str | None = None,
                    parameters: dict[str, Any] | None = None,
                    name: str = TRAINING_PIPELINE.name) -> dict[str, Any]:
    """The pipeline definition: the lab's own (local) or SageMaker's, generated offline."""
    import json

    defn = pipeline(name)
    if (backend or settings.backend) == "sagemaker":
        from lab.sagemaker.pipeline import offline_definition

        return json.loads(offline_definition(settings, defn, parameters))
    return defn.to_json()


def done(ws: Any) -> bool:
    """The step's done-check: some training pipeline execution succeeded."""
    if not ws.path("pipelines.db").exists():
        return False
    return any(e.status == SUCCEEDED for e in PipelineStore(ws).list(TRAINING_PIPELINE.name))


__all__ = [
    "CACHE_EXPIRY", "DEPLOY_PIPELINE", "EXECUTING", "FAILED", "KIND", "MSE_THRESHOLD",
    "PIPELINES", "STOPPED", "SUCCEEDED", "TRAINING_PIPELINE", "ConditionStep", "Execution",
    "JsonGet", "Param", "Parameter", "PipelineDef", "PipelineStore", "Prop", "Step",
    "StepRecord", "definition_json", "describe_execution", "done", "execution_json",
    "list_executions", "parse_params", "pipeline", "run_pipeline", "start_pipeline",
    "step_log", "summary", "topological",
]
