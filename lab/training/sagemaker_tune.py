"""Automatic model tuning on SageMaker: the workshop's HyperparameterTuner.

The estimator is the training twin's (same entry point, metric definitions and
containers); the tuner gets the spec's ranges, objective, budget and strategy. While it
runs, each training job that ends is recorded as a trial run here (its model downloaded
and evaluated on the test split, as a local trial is), so trials appear as they finish.
SageMaker's Grid strategy takes categorical ranges only: integer ranges are handed to it as
the list of their values, and max_jobs is the number of combinations (SDK 2.257 sends a
None max_jobs as null, which the API refuses).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from lab.errors import JobError
from lab.sagemaker import session as sm_session
from lab.sagemaker.processing import workspace_tag
from lab.settings import Settings
from lab.training import sagemaker_train as smt
from lab.training.experiments import COMPLETED, FAILED, STOPPED, Experiments
from lab.training.params import algorithm as algorithm_of
from lab.training.train import evaluate, prep_scaler
from lab.training.tuning_spec import CATEGORICAL, INTEGER, TuningSpec

TERMINAL = ("Completed", "Failed", "Stopped")
MAX_TUNING_NAME = 32  # SageMaker's limit for tuning job names


def tuning_name_for(job_id: str) -> str:
    """`lab-<date>-<time>-<hex>` from the lab's job id, within 32 characters."""
    return re.sub(r"[^A-Za-z0-9-]", "-", "lab-" + job_id.split("-", 1)[-1])[:MAX_TUNING_NAME]


def parameter_ranges(spec: TuningSpec) -> dict[str, Any]:
    from sagemaker.tuner import CategoricalParameter, ContinuousParameter, IntegerParameter

    out = {}
    for r in spec.ranges:
        if r.kind == CATEGORICAL or (spec.strategy == "Grid" and r.kind == INTEGER):
            out[r.name] = CategoricalParameter([str(v) for v in r.grid_values()])
        elif r.kind == INTEGER:
            out[r.name] = IntegerParameter(int(r.min_value), int(r.max_value),
                                           scaling_type=r.scaling)
        else:
            out[r.name] = ContinuousParameter(float(r.min_value), float(r.max_value),
                                              scaling_type=r.scaling)
    return out


def _plain(value: str) -> Any:
    """A tuned value as SageMaker reports it ("7", or '"7"' from framework estimators)."""
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value


class SageMakerTuning:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def run(self, ctx, spec: TuningSpec, data, channels: dict[str, Path]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        _, session = sm_session.make_session(self.settings)
        try:
            self._run(ctx, session, spec, data, channels)
        except (ClientError, BotoCoreError) as exc:
            raise JobError(sm_session.describe_aws_error(exc)) from None

    def _run(self, ctx, session, spec, data, channels) -> None:
        from sagemaker.tuner import HyperparameterTuner

        name = tuning_name_for(ctx.job.job_id)
        inputs = smt.upload_channels(session, channels, name)
        tuned = {r.name for r in spec.ranges}
        static = {k: v for k, v in algorithm_of(spec.algorithm).validate(spec.static).items()
                  if k not in tuned}
        estimator = smt.estimator_for(self.settings, session, spec.algorithm, static)
        tuner = HyperparameterTuner(
            estimator, objective_metric_name=spec.objective,
            hyperparameter_ranges=parameter_ranges(spec),
            metric_definitions=smt.METRIC_DEFINITIONS, strategy=spec.strategy,
            objective_type=spec.direction,
            max_jobs=spec.total_jobs,  # Grid: the number of combinations
            max_parallel_jobs=spec.parallel, tags=[workspace_tag(self.settings)])
        with sm_session.sdk_logging_guard():
            tuner.fit(inputs, job_name=name, wait=False)
        region = session.boto_region_name
        ctx.log(f"Tuning job {name} created: https://{region}.console.aws.amazon.com/sagemaker/"
                f"home?region={region}#/hyper-tuning-jobs/{name}")
        self._follow(ctx, session, spec, data, name)

    def _follow(self, ctx, session, spec, data, name: str) -> None:
        """Poll the tuning job; record each of its training jobs once it has ended."""
        from botocore.exceptions import ClientError

        client, experiments = session.sagemaker_client, Experiments(ctx.store.ws)
        numbers: dict[str, int] = {}
        recorded: set[str] = set()
        stop_sent = False
        preprocessing = prep_scaler(Settings(workspace=ctx.store.ws.root), data)
        while True:
            desc = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
            status = desc["HyperParameterTuningJobStatus"]
            summaries = client.list_training_jobs_for_hyper_parameter_tuning_job(
                HyperParameterTuningJobName=name, MaxResults=100,
                SortBy="CreationTime", SortOrder="Ascending")["TrainingJobSummaries"]
            for summary in summaries:
                job = summary["TrainingJobName"]
                numbers.setdefault(job, len(numbers) + 1)
                if job in recorded or summary["TrainingJobStatus"] not in TERMINAL:
                    continue
                recorded.add(job)
                self._record(ctx, session, spec, data, summary, numbers[job], experiments,
                             preprocessing)
                experiments.mark_best(ctx.job.job_id, spec.objective, spec.direction)
            ctx.progress(0.1 + 0.85 * len(recorded) / max(1, spec.total_jobs),
                         f"Tuning job {status}: {len(recorded)} of {spec.total_jobs} "
                         "training jobs finished")
            if status in TERMINAL and all(s["TrainingJobName"] in recorded for s in summaries):
                break
            if ctx.cancelled and not stop_sent:
                stop_sent = True
                ctx.log(f"Stopping {name} on request...")
                try:
                    client.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
                except ClientError as exc:
                    ctx.log(sm_session.describe_aws_error(exc))
            smt._sleep(smt.POLL_SECONDS)
        ctx.check_cancelled()
        if status == "Failed":
            raise JobError(f"The tuning job {name} failed: "
                           f"{desc.get('FailureReason') or 'no reason given'}")

    def _record(self, ctx, session, spec, data, summary, number, experiments,
                preprocessing) -> None:
        job = summary["TrainingJobName"]
        values = {k: _plain(v) for k, v in summary.get("TunedHyperParameters", {}).items()}
        request = spec.request_for(values)
        run_id = f"{ctx.job.job_id}-{number:03d}"
        experiments.start(run_id, spec.experiment, job, spec.algorithm,
                          request.hyperparameters, job_id=ctx.job.job_id, backend="sagemaker",
                          tuning_job=ctx.job.job_id, trial=number)
        status = summary["TrainingJobStatus"]
        if status != "Completed":
            reason = summary.get("FailureReason") or f"The training job {job} {status.lower()}."
            experiments.finish(run_id, FAILED if status == "Failed" else STOPPED,
                               failure=reason)
            ctx.log(f"Trial {number} ({job}) {status.lower()}: {reason}")
            return
        desc = session.sagemaker_client.describe_training_job(TrainingJobName=job)
        folder = ctx.dir / "trials" / f"{number:03d}"
        try:
            smt.download_model(session, desc["ModelArtifacts"]["S3ModelArtifacts"],
                               folder / "model")
            results = evaluate(folder / "model", data, folder, smt.validation_metrics(desc),
                               preprocessing)
        except Exception as exc:  # one unreadable trial does not end the tuning job
            experiments.finish(run_id, FAILED, failure=f"Could not evaluate {job}: {exc}")
            ctx.log(f"Trial {number} ({job}): could not evaluate its model: {exc}")
            return
        experiments.finish(run_id, COMPLETED, **results)
        ctx.log(f"Trial {number} ({job}) completed: {spec.objective} "
                f"{results['validation'].get(spec.objective)}")

