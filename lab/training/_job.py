"""The training job: feature store data in, a recorded run and a model artifact out.

The backend's `Training` twin runs the entry point (`LocalTraining`: a process of its own
with SageMaker's channel and model folders under the job folder; `SageMakerTraining`: an
SDK v2 estimator inside a SageMaker Experiments run, the artifact downloaded back).
Either way the job then does what the workshop's evaluation step does: it loads the model
from its artifact, predicts the test split and records mse, rmse, r2 and mae with the run,
next to the validation metrics the metric definitions read from the log.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab import jobs, offload
from lab.errors import InputError, JobError, LabError
from lab.settings import Settings
from lab.training import artifact, open_training
from lab.training._api import (
    DEFAULT_ALGORITHM,
    DEFAULT_EXPERIMENT,
    DISTRIBUTED_KIND,
    KIND,
    TrainingRequest,
    build_request,
)
from lab.training.data import TrainingData, data_problem, read_training_data
from lab.training.experiments import COMPLETED, FAILED, STOPPED, Experiments, Run
from lab.workspace import Workspace


def evaluate(model_dir: Path, data: TrainingData, folder: Path,
             validation: dict[str, float], preprocessing: dict | None = None) -> dict[str, Any]:
    """Test metrics of the model in `model_dir`; writes predictions and model.tar.gz."""
    from lab.training.entry_point import regression_metrics

    model = artifact.load_model(model_dir).one_thread()  # trials may train meanwhile
    if model.features != data.features:
        raise JobError(f"The model was trained on {model.features}, but the test split has "
                       f"{data.features}.")
    actual, predicted = data.test_target(), model.predict(data.test_features())
    metrics = regression_metrics(actual, predicted)
    extra = {"preprocessing": preprocessing} if preprocessing else {}
    artifact.update_metadata(model_dir, metrics={"validation": validation, "test": metrics},
                             **extra)
    predictions = folder / "predictions.json"
    predictions.write_text(json.dumps({"actual": actual.tolist(),
                                       "predicted": [float(p) for p in predicted]}))
    tar = artifact.pack(model_dir, folder / artifact.ARTIFACT_NAME)
    return {"metrics": metrics, "validation": validation, "curve": model.training.get("curve", {}),
            "importance": model.training.get("feature_importance", {}),
            "artifact": str(tar), "predictions": str(predictions)}


def prep_scaler(settings: Settings, data: TrainingData) -> dict | None:
    """The preparation step's scaler, kept in model.json so an endpoint can scale raw rows;
    only when the prepared data has the feature store's columns (else it is not theirs)."""
    from lab.processing import read_meta

    meta = read_meta(Workspace(settings.workspace).processed_dir) or {}
    if "scaler" not in meta or meta.get("columns") != [data.target, *data.features]:
        return None
    return {"scaler": meta["scaler"]}


def log_text(ctx: jobs.JobContext) -> str:
    path = getattr(ctx, "log_path", None) or ctx.dir / "log.txt"
    try:
        return Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return ""


def execute_run(ctx: jobs.JobContext, engine: Any, request: TrainingRequest,
                data: TrainingData, folder: Path, run_id: str, name: str,
                channels: dict[str, Path] | None = None,
                on_finished: Callable[[Run], None] | None = None, **run_fields: Any) -> Run:
    """Train once and record the run: Completed with its results, or Failed/Stopped with
    the reason and the log. Shared by a training job and each trial of a tuning job."""
    experiments = Experiments(ctx.store.ws)
    experiments.start(run_id, request.experiment, name, request.algorithm,
                      request.hyperparameters, job_id=ctx.job.job_id,
                      backend=getattr(engine, "backend", "local"), **run_fields)
    preprocessing = prep_scaler(Settings(workspace=ctx.store.ws.root), data)

    def finish(validation: dict[str, float]) -> Run:
        ctx.progress(0.9, "Evaluating the model on the test split")
        results = offload.call(evaluate, folder / "model", data, folder, validation,
                               preprocessing)  # on a workshop server, in a worker process
        return experiments.finish(run_id, COMPLETED, **results)

    try:
        channels = channels or offload.call(data.write_channels, folder / "input" / "data",
                                            shards=request.instance_count)
        run = engine.train(ctx, request, channels, folder / "model", finish)
    except jobs.JobCancelled:
        experiments.finish(run_id, STOPPED, failure="Stopped on request.", log=log_text(ctx))
        raise
    except Exception as exc:
        reason = str(exc) if isinstance(exc, LabError) else (
            f"Unexpected error ({type(exc).__name__}: {exc}); the log has the details.")
        experiments.finish(run_id, FAILED, failure=reason, log=log_text(ctx))
        raise
    if on_finished:
        on_finished(run)
    return run


def training_job(settings: Settings, algorithm: str = DEFAULT_ALGORITHM,
                 hyperparameters: dict[str, Any] | None = None,
                 experiment: str | None = None, instance_count: int = 1) -> jobs.JobSpec:
    """Read the feature store, train, evaluate, record; the request is checked (and the
    data looked for) before the job exists. `instance_count` > 1: XGBoost trained by that
    many workers (instances), each on its own shard of the rows."""
    request = build_request(algorithm, hyperparameters,
                            DEFAULT_EXPERIMENT if experiment is None else experiment,
                            instance_count)
    ensure_data(settings)
    engine = open_training(settings)

    def run(ctx: jobs.JobContext) -> dict[str, Any]:
        ctx.progress(0.02, "Reading the splits from the feature store (offline store)")
        data = read_training_data(settings, lambda f, m: ctx.progress(0.02 + 0.1 * f, m))
        for split, frame in data.frames.items():
            ctx.log(f"{split}: {len(frame)} rows from the feature group {data.groups[split]}")
            if split != "test" and len(frame) < request.instance_count:
                raise InputError(f"The {split} split has {len(frame)} rows, fewer than the "
                                 f"{request.instance_count} instances: each needs a share.")
        ctx.log("Query (train): " + " ".join(data.queries["train"].split()))
        ctx.check_cancelled()
        ctx.progress(0.14, f"Training {request.algorithm} ({engine.label} backend"
                     + (f", {request.instance_count} instances)" if request.instance_count > 1
                        else ")"))
        record = execute_run(ctx, engine, request, data, ctx.dir, run_id=ctx.job.job_id,
                             name=ctx.job.job_id)
        ctx.log("Test metrics: " + ", ".join(f"{k} {v:,.4g}" for k, v in record.metrics.items()))
        out = result_json(record, data)
        if request.instance_count > 1:
            out.update(instance_count=request.instance_count,
                       workers=workers_of(ctx.dir / "model"))
            ctx.log("Workers: " + ", ".join(f"{w['host']} {w['train_rows']:,} train rows"
                                            for w in out["workers"]))
        return out

    return jobs.JobSpec(KIND if request.instance_count == 1 else DISTRIBUTED_KIND,
                        request.to_json(), run)


def result_json(run: Run, data: TrainingData | None = None) -> dict[str, Any]:
    """What a training job returns (and `python -m lab run-all` prints as "training")."""
    out = {"algorithm": run.algorithm, "hyperparameters": run.params,
           "metrics": {k: run.metrics[k] for k in ("mse", "rmse", "r2", "mae")},
           "validation": run.validation, "run_id": run.run_id, "artifact": run.artifact,
           "experiment": run.experiment, "backend": run.backend}
    if data is not None:
        out["rows"] = data.rows
    return out


def workers_of(model_dir: Path) -> list[dict[str, Any]]:
    """Each worker's share of a distributed run, as its training.json records it."""
    from lab.workspace import read_json

    return list((read_json(Path(model_dir) / "training.json") or {}).get("workers") or [])


def ensure_data(settings: Settings) -> None:
    problem = data_problem(settings)
    if problem:
        raise InputError(problem)


def run_all_step(settings: Settings, options: dict[str, Any], echo) -> dict[str, Any]:
    """A training job (default: XGBoost with the lab's defaults; `instance_count` workers)."""
    job = jobs.run(settings, training_job(settings, options.get("algorithm", DEFAULT_ALGORITHM),
                                          options.get("hyperparameters"),
                                          options.get("experiment"),
                                          options.get("instance_count", 1)), echo)
    return {"training": job.outcome("training job"),
            "timings_s": {"train": round(job.duration_s, 4)}}


def run_all_distributed(settings: Settings, options: dict[str, Any], echo) -> dict[str, Any]:
    """XGBoost on `options["workers"]` (default 2) local workers, with the lab's defaults."""
    job = jobs.run(settings, training_job(settings, instance_count=options.get("workers", 2)),
                   echo)
    result = job.outcome("distributed training job")
    echo(f"distributed training: run {result['run_id']} on {result['instance_count']} "
         f"workers, test mse {result['metrics']['mse']:,.0f}")
    return {"distributed_training": result,
            "timings_s": {"distributed_training": round(job.duration_s, 4)}}


def distributed_trained(ws: Workspace) -> bool:
    """The distributed step's done-check: a training job on several workers completed."""
    return any(j.status == jobs.COMPLETED for j in jobs.JobStore(ws).list(DISTRIBUTED_KIND))


def compare_with_one_worker(settings: Settings) -> dict[str, Any] | None:
    """The latest distributed run beside the latest one-worker XGBoost run of the same
    hyperparameters (same data: the feature store's): their test metrics and the ratio."""
    store = jobs.JobStore(Workspace(settings.workspace))
    done = [j for j in store.list(DISTRIBUTED_KIND) if j.status == jobs.COMPLETED]
    if not done:
        return None
    wide = done[0].result or {}
    same = [j for j in store.list(KIND) if j.status == jobs.COMPLETED
            and (j.result or {}).get("algorithm") == "xgboost"
            and (j.result or {}).get("hyperparameters") == wide.get("hyperparameters")]
    one = (same[0].result or {}) if same else None
    ratio = (wide["metrics"]["mse"] / one["metrics"]["mse"]) if one else None
    return {"distributed": wide, "one_worker": one, "mse_ratio": ratio}


def code(settings: Settings) -> list:
    """The functions that train on the settings' backend."""
    return open_training(settings).code()
