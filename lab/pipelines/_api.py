"""The pipelines' interface (`Pipelines`) and the job kind.

The declarations themselves are data (`definition.py`: parameters, steps, properties, the
condition, caching) and executions are records (`_store.py`: `Execution`, `StepRecord`).
A twin runs an execution of a declaration and compiles the declaration for its service:
`LocalPipelines` runs the DAG itself with SageMaker's step caching and shows the lab's
own definition; `SageMakerPipelines` compiles the SDK v2 pipeline definition and runs
executions on SageMaker, mirroring their steps into the same records.
"""

from __future__ import annotations

from typing import Any, Protocol

KIND = "pipeline"  # the job kind of the training pipeline's executions
GATED_KIND = "gated-pipeline"  # ... of the same pipeline with its quality gates
_KINDS = {"lab-housing-deploy": "deploy-pipeline"}


def job_kind(pipeline_name: str, gated: bool = False) -> str:
    """The job kind of an execution of `pipeline_name` (one kind per pipeline, and one for
    the gated training pipeline, so a page finds the latest execution of each)."""
    return GATED_KIND if gated else _KINDS.get(pipeline_name, KIND)


class Pipelines(Protocol):
    backend: str

    def execute(self, ctx: Any, defn: Any, execution: Any, runners: Any = None) -> Any:
        """Run `execution` of the pipeline `defn` to its end; the finished Execution."""

    def definition(self, defn: Any, parameters: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
        """The pipeline definition this backend runs, as JSON."""

    def export(self, folder: Any, defn: Any, parameters: dict[str, Any] | None = None
               ) -> dict[str, Any]:
        """The definition as folder/definition.json, with what it reads (SageMaker: every
        object it expects in S3, as folder/s3/<bucket>/<key>)."""

    def retry(self, ctx: Any, defn: Any, execution_id: str) -> Any:
        """Run a failed execution again from its failed steps (SageMaker's
        RetryPipelineExecution); the finished Execution."""
