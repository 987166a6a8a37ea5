"""Pipelines (the workshop's notebook 4): one definition, a local DAG executor, a compiler.

    job = jobs.run(settings, pipeline_job(settings, {"MaxDepth": 6}))
    execution = execution_of(settings, job)   # its steps, statuses, cache hits, metrics
    summary(execution)        # {"execution_id", "status", "steps", "cache_hits", ...}
    pipeline_job(settings, name=DEPLOY_PIPELINE.name)    # deploy the latest approved
    pipeline_job(settings, gated=True)        # the same pipeline with its quality gates
    ci_commit(settings, {"MaxDepth": 6}); ci_trigger_job(settings)   # CI/CD, in small
    definition_json(settings)                 # the lab's definition, or SageMaker's (SDK v2)

The definition is data (`definition.py`). Two twins run it: `LocalPipelines` (a DAG
executor with SageMaker's step caching; state in `<workspace>/pipelines.db`) and
`SageMakerPipelines` (which compiles it into an SDK v2 Pipeline, upserts and starts it on
SageMaker and mirrors its steps into the same records). Nothing here imports boto3 or
sagemaker at load.
"""

from __future__ import annotations

from typing import Any

from lab.lazy import exports
from lab.twins import open_twin

IMPLEMENTATIONS = {"local": "lab.pipelines._local:LocalPipelines",
                   "sagemaker": "lab.pipelines._sagemaker:SageMakerPipelines"}


def open_pipelines(settings: Any, **options: Any) -> Any:
    """The pipelines engine (a `Pipelines`) of the settings' backend."""
    return open_twin(IMPLEMENTATIONS, settings, **options)


__getattr__, __dir__, _lazy = exports(__name__, {
    "GATED_KIND": "_api", "KIND": "_api", "Pipelines": "_api", "job_kind": "_api",
    **dict.fromkeys(["approved_mse", "changed_parameters", "code", "definition_json",
                     "describe_execution", "export_definition", "gate_outcomes",
                     "gated_pipeline_ran", "gates_code", "retry_job", "run_all_gates",
                     "run_all_step", "execution_json", "execution_of", "list_executions",
                     "parse_params", "pipeline_job", "step_log", "summary",
                     "training_pipeline_succeeded"], "_job"),
    **dict.fromkeys(["CACHE_EXPIRY", "DEPLOY_PIPELINE", "GATED_PIPELINE", "GATE_PARAMETERS",
                     "MSE_THRESHOLD", "PIPELINES", "TRAINING_PIPELINE", "ConditionStep",
                     "JsonGet", "Param", "Parameter", "PipelineDef", "Prop", "Step",
                     "definition_of", "pipeline", "topological"], "definition"),
    **dict.fromkeys(["CiStatus", "ci_commit", "ci_status", "ci_trigger_job"], "_ci"),
    **dict.fromkeys(["EXECUTING", "FAILED", "STOPPED", "SUCCEEDED", "Execution",
                     "PipelineStore", "StepRecord"], "_store"),
    **dict.fromkeys(["dag_dot", "gantt"], "charts"),
    "sagemaker_definition": "_sagemaker",
})
__all__ = ["IMPLEMENTATIONS", "open_pipelines", *_lazy]
