"""The tuning job: the feature store's splits read once, then the backend's `Tuning` twin
runs the trials; the result names the best trial (and its model, for the registry)."""

from __future__ import annotations

from typing import Any

from lab import jobs
from lab.errors import JobError
from lab.training import Experiments, Run, ensure_data, read_training_data
from lab.tuning import open_tuning
from lab.tuning._api import KIND, TuningSpec, build_tuning_spec
from lab.workspace import Workspace

INTERRUPTED = "Interrupted"


def tuning_job(settings: Any, **spec_args: Any) -> jobs.JobSpec:
    """Check the spec (build_tuning_spec's arguments) and the data, then the job."""
    spec = build_tuning_spec(**spec_args)
    ensure_data(settings)
    engine = open_tuning(settings)

    def run(ctx: jobs.JobContext) -> dict[str, Any]:
        ctx.progress(0.02, "Reading the splits from the feature store (offline store)")
        data = read_training_data(settings, lambda f, m: ctx.progress(0.02 + 0.05 * f, m))
        channels = data.write_channels(ctx.dir / "input" / "data")  # shared by the trials
        ctx.log(f"Tuning {spec.algorithm}: {spec.total_jobs} jobs, {spec.parallel} at a time, "
                f"{spec.strategy} strategy, {spec.direction.lower()} {spec.objective}")
        ctx.progress(0.08, "Starting the trials")
        engine.run(ctx, spec, data, channels)
        return result_json(Workspace(settings.workspace), ctx.job.job_id, spec)

    return jobs.JobSpec(KIND, spec.to_json(), run)


def result_json(ws: Workspace, job_id: str, spec: TuningSpec) -> dict[str, Any]:
    """What a tuning job returns (and run-all prints as "tuning")."""
    trials = Experiments(ws).list(tuning_job=job_id)
    best = next((t for t in trials if t.best), None)
    if best is None:
        raise JobError("No trial completed, so there is no best model.")
    return {"tuning_job": job_id, "trials": len(trials),
            "completed": sum(t.status == "Completed" for t in trials),
            "objective": spec.objective, "direction": spec.direction,
            "strategy": spec.strategy,
            "best": {"run_id": best.run_id, "trial": best.trial,
                     "hyperparameters": best.params,
                     spec.objective: best.validation[spec.objective],
                     "test_metrics": best.metrics, "artifact": best.artifact}}


def trials_of(ws: Workspace, job: jobs.Job) -> list[Run]:
    """The trials of a tuning job as they stand. A job whose process died leaves its
    running trials InProgress in the database: they are shown as Interrupted."""
    trials = Experiments(ws).list(tuning_job=job.job_id)
    if job.finished:
        for trial in trials:
            if trial.status == "InProgress":
                trial.status, trial.failure = INTERRUPTED, job.error
    return trials


def prefetch(settings: Any) -> None:
    """What the backend's tuning will import, imported now (run-all calls it in a thread
    while the training job before it runs, mostly waiting for its script)."""
    open_tuning(settings).prefetch()


def run_all_step(settings: Any, options: dict[str, Any], echo) -> dict[str, Any]:
    """A tuning job (default: the workshop's, 4 trials 2 at a time)."""
    job = jobs.run(settings, tuning_job(settings, **options.get("tuning", {})), echo)
    return {"tuning": job.outcome("tuning job"),
            "timings_s": {"tune": round(job.duration_s, 4)}}


def code(settings: Any) -> list:
    return open_tuning(settings).code()
