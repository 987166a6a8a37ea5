"""Launching, listing and describing pipeline executions (the page's and the CLI's calls)."""

from __future__ import annotations

from typing import Any

from lab import jobs
from lab.errors import InputError, ParameterError
from lab.pipelines.definition import TRAINING_PIPELINE, PipelineDef, pipeline
from lab.pipelines.executor import Executor
from lab.pipelines.store import FAILED, Execution, PipelineStore
from lab.settings import Settings
from lab.workspace import Workspace

KIND = "pipeline"


def _prepare(settings: Settings, name: str, parameters: dict[str, Any] | None
             ) -> tuple[PipelineDef, dict[str, Any]]:
    defn = pipeline(name)
    values = defn.resolve_parameters(parameters)
    if defn is TRAINING_PIPELINE:  # refused before any execution exists, with the reason
        from lab.prep import PrepParams
        from lab.training import build_request

        PrepParams(values["TrainSize"], values["ValSize"], values["TestSize"]).validate()
        build_request(values["Algorithm"], {"max_depth": values["MaxDepth"],
                                            "n_estimators": values["NEstimators"]})
        if values["ProcessingInstanceCount"] < 1:
            raise ParameterError("ProcessingInstanceCount must be at least 1.")
    return defn, values


def _job(settings: Settings, defn: PipelineDef, execution: Execution, runners=None):
    def run(ctx: jobs.JobContext) -> dict[str, Any]:
        PipelineStore(Workspace(settings.workspace)).set_job(execution.id, ctx.job.job_id)
        ctx.log(f"Pipeline {defn.name}, execution {execution.id}, parameters "
                f"{execution.parameters}")
        try:
            done = Executor(settings, defn, execution, ctx, runners).run()
        except BaseException as exc:
            PipelineStore(Workspace(settings.workspace)).finish_execution(
                execution.id, FAILED, f"Unexpected error ({type(exc).__name__}).")
            raise
        ctx.log(f"Execution {done.id}: {done.status} in {done.duration_s:.2f} s "
                f"({done.cache_hits} cache hit(s))")
        return summary(done)

    return run


def start_pipeline(settings: Settings, parameters: dict[str, Any] | None = None,
                   name: str = TRAINING_PIPELINE.name, runners=None) -> str:
    """Start an execution in the background (the page's way); returns the execution id."""
    defn, values = _prepare(settings, name, parameters)
    ws = Workspace(settings.workspace)
    execution = PipelineStore(ws).create_execution(defn.name, values)
    jobs.submit(ws, KIND, {"pipeline": defn.name, "execution": execution.id, **values},
                _job(settings, defn, execution, runners))
    return execution.id


def run_pipeline(settings: Settings, parameters: dict[str, Any] | None = None,
                 name: str = TRAINING_PIPELINE.name, echo=None, runners=None) -> Execution:
    """Run an execution to its end in this thread (the CLI's way)."""
    defn, values = _prepare(settings, name, parameters)
    ws = Workspace(settings.workspace)
    execution = PipelineStore(ws).create_execution(defn.name, values)
    jobs.run_now(ws, KIND, {"pipeline": defn.name, "execution": execution.id, **values},
                 _job(settings, defn, execution, runners), echo)
    return PipelineStore(ws).get(execution.id)


def parse_params(pairs: list[str] | None) -> dict[str, str]:
    """`--param K=V` options as a dict (values are typed by the pipeline's parameters)."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"--param takes NAME=VALUE (got {pair!r}), for example "
                                 "--param MaxDepth=6.")
        out[key.strip()] = value.strip()
    return out


def _reconcile(ws: Workspace, execution: Execution) -> Execution:
    """An execution whose job ended without finishing it (the process died) is Failed."""
    if execution.finished or not execution.job_id:
        return execution
    job = jobs.JobStore(ws).get(execution.job_id)
    if job is None or not job.finished:
        return execution
    store = PipelineStore(ws)
    latest = store.get(execution.id)
    if latest is not None and not latest.finished:
        store.finish_execution(execution.id, FAILED, job.error or "Interrupted.")
        latest = store.get(execution.id)
    return latest or execution


def list_executions(settings: Settings, name: str | None = None, limit: int = 50
                    ) -> list[Execution]:
    ws = Workspace(settings.workspace)
    return [_reconcile(ws, e) for e in PipelineStore(ws).list(name, limit)]


def describe_execution(settings: Settings, execution_id: str) -> Execution:
    ws = Workspace(settings.workspace)
    found = PipelineStore(ws).get(execution_id)
    if found is not None:
        found = _reconcile(ws, found)
    if found is None:
        raise InputError(f"There is no pipeline execution {execution_id!r} in this workspace: "
                         "`python -m lab pipeline list` shows them.")
    return found


def step_log(record: Any) -> str:
    try:
        return open(record.log_path, errors="replace").read() if record.log_path else ""
    except FileNotFoundError:
        return ""


def summary(execution: Execution) -> dict[str, Any]:
    """What `run-all` prints as "pipeline" (and `pipeline run --json` adds to the execution)."""
    register = execution.steps.get("RegisterModel")
    version = register.outputs.get("version") if register and register.status == "Succeeded" \
        else None
    return {"execution_id": execution.id, "status": execution.status,
            "steps": {n: s.status for n, s in execution.steps.items()},
            "cache_hits": execution.cache_hits, "registered_version": version}


def execution_json(execution: Execution) -> dict[str, Any]:
    """`pipeline run --json` / `describe --json`: the execution, its steps, the summary."""
    return {**execution.to_json(), "summary": summary(execution)}
