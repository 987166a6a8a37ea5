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
from pathlib import Path
from typing import Any

from lab.aws import names, polling, prices
from lab.aws.errors import describe, translated
from lab.aws.ledger import Ledger
from lab.aws.session import sdk_logging_guard
from lab.aws.twin import SageMakerTwin
from lab.errors import JobError
from lab.training import (
    Experiments,
    TrainingData,
    algorithm,
    billed_seconds,
    estimator_code,
    evaluate,
    open_training,
    prep_scaler,
    training_code,
)
from lab.training.experiments import COMPLETED, FAILED, STOPPED
from lab.tuning._api import CATEGORICAL, INTEGER, TuningSpec

TERMINAL = ("Completed", "Failed", "Stopped")
POLL_SECONDS = 10


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


class SageMakerTuning(SageMakerTwin):
    note = ("Runs a HyperparameterTuner on SageMaker: each trial is a SageMaker training job "
            "(minutes each), recorded here as it ends.")

    def launch_estimate(self, max_jobs: int = 4) -> prices.Estimate:
        """What a tuning job costs before it is launched: `max_jobs` typical trials."""
        trainer = open_training(self.settings)
        return prices.estimate("training", trainer.instance_type, 1,
                               trainer.typical_s * max_jobs)

    def prefetch(self) -> None:
        pass  # the SDK is imported by the session, at the first AWS call

    def run(self, ctx: Any, spec: TuningSpec, data: TrainingData,
            channels: dict[str, Path]) -> None:
        with translated():
            self._run(ctx, spec, data, channels)

    def code(self) -> list:
        return [SageMakerTuning._run, SageMakerTuning._record]

    def _run(self, ctx, spec: TuningSpec, data: TrainingData, channels) -> None:
        from sagemaker.tuner import HyperparameterTuner

        trainer = open_training(self.settings, session=self.session)
        name = names.tuning_job_name(ctx.job.job_id)
        inputs = trainer.upload_channels(channels, name)
        tuned = {r.name for r in spec.ranges}
        static = {k: v for k, v in algorithm(spec.algorithm).validate(spec.static).items()
                  if k not in tuned}
        tuner = HyperparameterTuner(
            trainer.estimator(spec.algorithm, static), objective_metric_name=spec.objective,
            hyperparameter_ranges=parameter_ranges(spec),
            metric_definitions=trainer.metric_definitions, strategy=spec.strategy,
            objective_type=spec.direction,
            max_jobs=spec.total_jobs,  # Grid: the number of combinations
            max_parallel_jobs=spec.parallel, tags=self.tags)
        with sdk_logging_guard():
            tuner.fit(inputs, job_name=name, wait=False)
        console = self.console_url(f"#/hyper-tuning-jobs/{name}")
        ctx.log(f"Tuning job {name} created: " + console)
        ledger, billed = Ledger(self.settings), [0.0]
        record = ledger.start("training", "tuning-job", name, region=self.region,
                              use="training", instance_type=trainer.instance_type,
                              instance_count=spec.parallel, console_url=console,
                              job_id=ctx.job.job_id,
                              code=ran_code(spec, static, inputs, name, tuner, self.tags,
                                            self.region))
        try:
            self._follow(ctx, trainer, spec, data, name, billed)
        except BaseException:
            ledger.finish(record, "Failed", billed[0] or None)
            raise
        ledger.finish(record, "Completed", billed[0])
        ctx.log(f"Billed: {billed[0]:.0f} instance-seconds over the trials")

    def _follow(self, ctx, trainer: Any, spec: TuningSpec, data: TrainingData,
                name: str, billed: list[float]) -> None:
        """Poll the tuning job; record each of its training jobs once it has ended."""
        client, experiments = self.client, Experiments(ctx.store.ws)
        numbers: dict[str, int] = {}
        recorded: set[str] = set()
        preprocessing = prep_scaler(self.settings, data)

        def look() -> dict:
            desc = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
            summaries = client.list_training_jobs_for_hyper_parameter_tuning_job(
                HyperParameterTuningJobName=name, MaxResults=100,
                SortBy="CreationTime", SortOrder="Ascending")["TrainingJobSummaries"]
            for summary in summaries:
                job = summary["TrainingJobName"]
                numbers.setdefault(job, len(numbers) + 1)
                if job in recorded or summary["TrainingJobStatus"] not in TERMINAL:
                    continue
                recorded.add(job)
                billed[0] += self._record(ctx, trainer, spec, data, summary, numbers[job],
                                          experiments, preprocessing) or 0.0
                experiments.mark_best(ctx.job.job_id, spec.objective, spec.direction)
            status = desc["HyperParameterTuningJobStatus"]
            ended = status in TERMINAL and all(s["TrainingJobName"] in recorded
                                               for s in summaries)
            return {**desc, "_state": status if ended else "Running"}

        def on_status(state: str, elapsed: float) -> None:
            ctx.progress(0.1 + 0.85 * len(recorded) / max(1, spec.total_jobs),
                         f"Tuning job {state}: {len(recorded)} of {spec.total_jobs} "
                         "training jobs finished")

        def stop() -> None:
            ctx.log(f"Stopping {name} on request...")
            try:
                client.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
            except Exception as exc:  # it may have ended meanwhile
                ctx.log(describe(exc))

        desc = polling.wait_for(look, lambda d: d["_state"], TERMINAL, poll_s=POLL_SECONDS,
                                on_status=on_status, cancelled=lambda: ctx.cancelled, stop=stop)
        ctx.check_cancelled()
        if desc["_state"] == "Failed":
            raise JobError(f"The tuning job {name} failed: "
                           f"{desc.get('FailureReason') or 'no reason given'}")

    def _record(self, ctx, trainer, spec, data, summary, number, experiments,
                preprocessing) -> float | None:
        """Record one ended trial as a run; returns its billed seconds when known."""
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
            return None
        desc = self.client.describe_training_job(TrainingJobName=job)
        billed = billed_seconds(desc)
        folder = ctx.dir / "trials" / f"{number:03d}"
        try:
            trainer.download_model(desc["ModelArtifacts"]["S3ModelArtifacts"], folder / "model")
            results = evaluate(folder / "model", data, folder, trainer.validation_metrics(desc),
                               preprocessing)
        except Exception as exc:  # one unreadable trial does not end the tuning job
            experiments.finish(run_id, FAILED, failure=f"Could not evaluate {job}: {exc}")
            ctx.log(f"Trial {number} ({job}): could not evaluate its model: {exc}")
            return billed
        experiments.finish(run_id, COMPLETED, **results)
        ctx.log(f"Trial {number} ({job}) completed: {spec.objective} "
                f"{results['validation'].get(spec.objective)}")
        return billed


def ran_code(spec: TuningSpec, static: dict, inputs: dict, name: str, tuner: Any,
             tags: list, region: str) -> str:
    """The SDK v2 code of the tuning job that ran, with its real names and URIs."""
    estimator = tuner.estimator
    code = training_code(spec.algorithm, static, estimator.role, region, estimator, inputs,
                         name, spec.experiment, tags)
    code = code[:code.index("with Run(")]  # the tuner replaces the single run
    ranges = "\n".join(f"    {json.dumps(k)}: {_range_code(v)}," for k, v in
                       parameter_ranges(spec).items())
    return code.replace("from sagemaker.experiments.run import Run\n",
                        "from sagemaker.tuner import (CategoricalParameter, ContinuousParameter,"
                        "\n                             HyperparameterTuner, IntegerParameter)\n"
                        ) + f'''\
tuner = HyperparameterTuner(
    estimator,
    objective_metric_name="{spec.objective}",
    objective_type="{spec.direction}",
    hyperparameter_ranges={{
{ranges}
    }},
    metric_definitions=estimator.metric_definitions,
    strategy="{spec.strategy}",
    max_jobs={spec.total_jobs},
    max_parallel_jobs={spec.parallel},
    tags={json.dumps(tags)},
)
tuner.fit(inputs, job_name="{name}", wait=False)
'''


def _range_code(parameter: Any) -> str:
    kind = type(parameter).__name__
    if kind == "CategoricalParameter":
        return f"CategoricalParameter({json.dumps(list(parameter.values))})"
    scaling = f", scaling_type={json.dumps(parameter.scaling_type)}"
    if kind == "IntegerParameter":
        return f"IntegerParameter({parameter.min_value}, {parameter.max_value}{scaling})"
    return f"ContinuousParameter({parameter.min_value}, {parameter.max_value}{scaling})"


def sdk_code(spec: TuningSpec) -> str:
    """The workshop's tuning job for `spec`, as a learner writes it (text only)."""
    lines = []
    for r in spec.ranges:
        if r.kind == CATEGORICAL or (spec.strategy == "Grid" and r.kind == INTEGER):
            values = [str(v) for v in r.grid_values()]
            lines.append(f'    "{r.name}": CategoricalParameter({json.dumps(values)}),')
        elif r.kind == INTEGER:
            lines.append(f'    "{r.name}": IntegerParameter({int(r.min_value)}, '
                         f'{int(r.max_value)}),')
        else:
            lines.append(f'    "{r.name}": ContinuousParameter({r.min_value:g}, '
                         f'{r.max_value:g}),')
    ranges = "\n".join(lines)
    tuned = {r.name for r in spec.ranges}
    static = {k: v for k, v in algorithm(spec.algorithm).validate(spec.static).items()
              if k not in tuned}
    max_jobs = f"{spec.total_jobs},  # Grid: one job per combination" \
        if spec.strategy == "Grid" else f"{spec.max_jobs},"
    return estimator_code(spec.algorithm, static) + f'''
hyperparameter_ranges = {{
{ranges}
}}
tuner = HyperparameterTuner(
    estimator,
    objective_metric_name="{spec.objective}",
    objective_type="{spec.direction}",
    hyperparameter_ranges=hyperparameter_ranges,
    metric_definitions=metric_definitions,
    max_jobs={max_jobs}
    max_parallel_jobs={spec.parallel},
    strategy="{spec.strategy}",
)
tuner.fit(inputs)
tuner.wait()
sagemaker.HyperparameterTuningJobAnalytics(tuner.latest_tuning_job.name).dataframe() \\
    .sort_values("FinalObjectiveValue", ascending={spec.direction == "Minimize"})
'''
