"""Launching, listing and describing pipeline executions (the page's and the CLI's calls).

An execution runs as a job: the job creates the execution record (linked to it), and the
backend's `Pipelines` twin runs it to its end. Parameters are checked before the job
exists, with the reasons a learner can act on.
"""

from __future__ import annotations

import math
from typing import Any

from lab import jobs
from lab.errors import InputError, JobError, ParameterError
from lab.pipelines import open_pipelines
from lab.pipelines._api import job_kind
from lab.pipelines._store import FAILED, SUCCEEDED, Execution, PipelineStore
from lab.pipelines.definition import (
    TRAINING_PIPELINE,
    PipelineDef,
    definition_of,
    pipeline,
)
from lab.workspace import Workspace


def _checked(name: str, parameters: dict[str, Any] | None, gated: bool = False
             ) -> tuple[PipelineDef, dict]:
    defn = pipeline(name, gated)
    values = defn.resolve_parameters(parameters)
    if defn is TRAINING_PIPELINE:  # refused before any execution exists, with the reason
        from lab.processing import MAX_INSTANCES, PrepParams
        from lab.training import build_request

        PrepParams(values["TrainSize"], values["ValSize"], values["TestSize"]).validate()
        build_request(values["Algorithm"], {"max_depth": values["MaxDepth"],
                                            "n_estimators": values["NEstimators"]})
        if not 1 <= values["ProcessingInstanceCount"] <= MAX_INSTANCES:
            raise ParameterError(f"ProcessingInstanceCount must be between 1 and "
                                 f"{MAX_INSTANCES}.")
        threshold = values["MseThreshold"]
        if not (isinstance(threshold, (int, float)) and math.isfinite(threshold)
                and threshold > 0):
            raise ParameterError(f"MseThreshold must be a positive number (got {threshold!r}): "
                                 "the condition registers a model whose test MSE is at most "
                                 "this.")
    if gated:
        margin, approved = values["ModelQualityMargin"], values["ApprovedModelMse"]
        if not (math.isfinite(margin) and 0 <= margin <= 10):
            raise ParameterError(f"ModelQualityMargin must be from 0 to 10 (got {margin!r}): "
                                 "0.05 lets the new model's test MSE be 5% above the "
                                 "approved one's.")
        if not (math.isfinite(approved) and approved >= 0):
            raise ParameterError(f"ApprovedModelMse must be 0 (look it up) or a positive "
                                 f"test MSE (got {approved!r}).")
    return defn, values


def approved_mse(settings: Any) -> float:
    """The test MSE of the latest Approved version (0 when none is approved)."""
    from lab.serving import latest_approved

    try:
        version = latest_approved(settings)
    except InputError:
        return 0.0
    return float(version.test_metrics.get("mse") or 0.0)


def _resolve_gates(settings: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The gates' inputs named before the execution exists: the baseline must be there
    (BaselineMissingError otherwise), and ApprovedModelMse 0 becomes the registry's."""
    from lab.monitoring import read_baseline

    if not values["DataBaseline"]:
        read_baseline(settings)
    if not values["ApprovedModelMse"]:
        values = {**values, "ApprovedModelMse": approved_mse(settings)}
    return values


def pipeline_job(settings: Any, parameters: dict[str, Any] | None = None,
                 name: str = TRAINING_PIPELINE.name, runners=None,
                 gated: bool = False) -> jobs.JobSpec:
    """An execution of the pipeline `name` with `parameters` (defaults for the others);
    `gated`: the training pipeline with its quality gates.

    `runners` replaces what step kinds do (tests make a step fail with it)."""
    defn, values = _checked(name, parameters, gated)
    if gated:
        values = _resolve_gates(settings, values)
    engine = open_pipelines(settings)

    def run(ctx: jobs.JobContext) -> dict[str, Any]:
        store = PipelineStore(Workspace(settings.workspace))
        execution = store.create_execution(defn.name, values, ctx.job.job_id)
        ctx.log(f"Pipeline {defn.name}, execution {execution.id}, parameters "
                f"{execution.parameters}")
        try:
            done = engine.execute(ctx, defn, execution, runners)
        except BaseException as exc:
            store.finish_execution(execution.id, FAILED,
                                   f"Unexpected error ({type(exc).__name__}).")
            raise
        ctx.log(f"Execution {done.id}: {done.status} in {done.duration_s:.2f} s "
                f"({done.cache_hits} cache hit(s))")
        return summary(done)

    return jobs.JobSpec(job_kind(defn.name, gated), {"pipeline": defn.name, **values}, run)


def retry_job(settings: Any, execution_id: str) -> jobs.JobSpec:
    """Run a failed execution again from where it failed (SageMaker's retry)."""
    execution = describe_execution(settings, execution_id)
    if execution.status != FAILED:
        raise InputError(f"The execution {execution_id} is {execution.status}: only a Failed "
                         "execution can be retried.")
    defn = definition_of(execution.pipeline, execution.parameters)
    engine = open_pipelines(settings)

    def run(ctx: jobs.JobContext) -> dict[str, Any]:
        done = engine.retry(ctx, defn, execution_id)
        ctx.log(f"Execution {done.id}: {done.status}")
        return summary(done)

    return jobs.JobSpec(job_kind(defn.name, bool(defn.variant)),
                        {"pipeline": defn.name, "retry": execution_id}, run)


def export_definition(settings: Any, folder: Any, name: str = TRAINING_PIPELINE.name,
                      parameters: dict[str, Any] | None = None, gated: bool = False
                      ) -> dict[str, Any]:
    """`pipeline definition --out DIR`: the definition and what it reads, in a folder."""
    from pathlib import Path

    return open_pipelines(settings).export(Path(folder), pipeline(name, gated), parameters)


def execution_of(settings: Any, job: jobs.Job | str) -> Execution | None:
    """The execution a pipeline job ran (None while it waits to start)."""
    ws = Workspace(settings.workspace)
    job_id = job if isinstance(job, str) else job.job_id
    found = PipelineStore(ws).for_job(job_id)
    return _reconcile(ws, found) if found is not None else None


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


def list_executions(settings: Any, name: str | None = None, limit: int = 50
                    ) -> list[Execution]:
    ws = Workspace(settings.workspace)
    return [_reconcile(ws, e) for e in PipelineStore(ws).list(name, limit)]


def describe_execution(settings: Any, execution_id: str) -> Execution:
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
    """What `run-all` prints as "pipeline" (and `pipeline run --json` adds to the execution);
    a gated execution also says how its gates came out."""
    register = execution.steps.get("RegisterModel")
    version = register.outputs.get("version") if register and register.status == "Succeeded" \
        else None
    out = {"execution_id": execution.id, "status": execution.status,
           "steps": {n: s.status for n, s in execution.steps.items()},
           "cache_hits": execution.cache_hits, "registered_version": version}
    gates = gate_outcomes(execution)
    if gates:
        out["gates"] = gates
    return out


def gate_outcomes(execution: Execution) -> dict[str, Any]:
    """How the quality gates of a gated execution came out, with their numbers."""
    out: dict[str, Any] = {}
    data = execution.steps.get("CheckDataQuality")
    if data is not None:
        out["data_quality"] = {"status": data.status, "failure": data.failure,
                               "violations": data.metrics.get("violations")}
    gate = execution.steps.get("ModelQualityGate")
    if gate is not None and "outcome" in (gate.outputs or {}):
        out["model_quality"] = {"passed": bool(gate.outputs["outcome"]),
                                "test_mse": gate.outputs.get("left"),
                                "ceiling": gate.outputs.get("right")}
    return out


def execution_json(execution: Execution) -> dict[str, Any]:
    """`pipeline run --json` / `describe --json`: the execution, its steps, the summary."""
    return {**execution.to_json(), "summary": summary(execution)}


def changed_parameters(execution: Execution) -> dict[str, Any]:
    """The parameters an execution set to other values than the pipeline's defaults."""
    defaults = definition_of(execution.pipeline, execution.parameters).defaults()
    return {k: v for k, v in execution.parameters.items() if v != defaults.get(k)}


def definition_json(settings: Any, name: str = TRAINING_PIPELINE.name,
                    parameters: dict[str, Any] | None = None, gated: bool = False
                    ) -> dict[str, Any]:
    """The definition the settings' backend runs: the lab's own, or SageMaker's (SDK v2,
    generated offline)."""
    return open_pipelines(settings).definition(pipeline(name, gated), parameters)


def training_pipeline_succeeded(ws: Workspace) -> bool:
    """The step's done-check: some training pipeline execution succeeded (one SQL read)."""
    from lab.pipelines._store import SUCCEEDED

    return any(e.status == SUCCEEDED for e in PipelineStore(ws).list(TRAINING_PIPELINE.name))


def run_all_step(settings: Any, options: dict[str, Any], echo) -> dict[str, Any]:
    """An execution of the training pipeline (the workshop's notebook 4)."""
    execution = _run_execution(settings, options.get("pipeline_parameters"), echo)
    if execution.status != SUCCEEDED:  # as `pipeline run`: a failed execution fails run-all
        raise JobError(f"The pipeline execution {execution.id} {execution.status.lower()}: "
                       f"{execution.failure or 'no reason given'}")
    return {"pipeline": summary(execution),
            "timings_s": {"pipeline": round(execution.duration_s, 4)}}


def _run_execution(settings: Any, parameters: dict[str, Any] | None, echo,
                   gated: bool = False) -> Execution:
    """An execution of the training pipeline (with its gates), run as a job to its end."""
    label = "gated pipeline job" if gated else "pipeline job"
    job = jobs.run(settings, pipeline_job(settings, parameters, gated=gated), echo)
    execution = execution_of(settings, job)
    if execution is None:
        job.outcome(label)  # raises: the job ended before its execution existed
        raise InputError(f"The {label} left no execution.")
    return execution


def code(settings: Any) -> list:
    return open_pipelines(settings).code()


def run_all_gates(settings: Any, options: dict[str, Any], echo) -> dict[str, Any]:
    """The gated training pipeline on the active dataset (after the pipelines step its
    processing, training and evaluation are cache hits: the gates run), then on a drifted
    copy of it, which CheckDataQuality stops before any training: both outcomes the
    Reliable stage's workspace checks look for, as the page's learner sees them."""
    parameters = dict(options.get("pipeline_parameters") or {})
    clean = _run_execution(settings, parameters, echo, gated=True)
    out = {"gates": summary(clean), "timings_s": {"gates": round(clean.duration_s, 4)}}
    drifted = _drifted_input(settings)
    if drifted is None:
        echo("gates: the baseline's features are not columns of the active dataset: the "
             "data-quality gate was not tried on drifted data")
        return out
    stopped = _run_execution(settings, {**parameters, "InputData": drifted}, echo, gated=True)
    data = gate_outcomes(stopped).get("data_quality") or {}
    echo(f"gates: on {drifted}, CheckDataQuality {str(data.get('status', 'did not run')).lower()}"
         f" and the execution {stopped.status.lower()}")
    out["gates_drifted"] = summary(stopped)
    out["timings_s"]["gates_drifted"] = round(stopped.duration_s, 4)
    return out




def _drifted_input(settings: Any) -> str | None:
    """The active dataset with its first baseline feature shifted by one standard
    deviation (the drift page's default change), stored as a dataset (the same data keeps
    its name when run-all runs again); None when no baseline feature is a column of it."""
    from lab.dataset import active_dataset
    from lab.monitoring import Changes, drifted_dataset, read_baseline

    columns = set(active_dataset(Workspace(settings.workspace)).columns)
    feature = next((f for f in read_baseline(settings).features if f in columns), None)
    if feature is None:
        return None
    return drifted_dataset(settings, Changes(shift={feature: 1.0})).name


def gates_code(settings: Any) -> list:
    """The gates' code: what checks the data and the model (the same on every backend)."""
    from lab.monitoring import drift
    from lab.pipelines import model_quality

    return [drift.check, drift.compare, model_quality.verdict]


def gated_pipeline_ran(ws: Workspace) -> bool:
    """The gates step's done-check: a gated execution Succeeded (one SQL read)."""
    return any(e.status == "Succeeded" and "ModelQualityMargin" in e.parameters
               for e in PipelineStore(ws).list(TRAINING_PIPELINE.name))
