"""Training on SageMaker: the same entry point in an SDK v2 framework estimator.

It plays the part of `LocalTraining` (same `train` signature): upload the channels that the
worker wrote from the feature store query, start the estimator inside a SageMaker
Experiments `Run` (as the workshop does, so the job is linked to the run), poll it, read the
metric definitions' values from `FinalMetricDataList`, download model.tar.gz into the model
folder, then let the worker evaluate on the test split and log those metrics to the run.

Which container: the forest runs in the workshop's `SKLearn` estimator (framework 1.2-1).
XGBoost runs in the `XGBoost` framework estimator (1.7-1), which executes the same script in
script mode with xgboost, scikit-learn and pandas installed. The alternative, the SKLearn
container with xgboost from a requirements.txt, would pip-install at the start of every job
and every tuning trial, which needs internet access from the training container (often
off in VPC-only accounts) and adds minutes per trial. Model files are xgboost's JSON format,
which newer xgboost versions (the lab's) read.

With several instances (XGBoost only) the estimator gets `instance_count=N` and the train and
validation channels hold N objects each, in ShardedByS3Key mode: each instance downloads its
own share, and the entry point joins the instances with xgboost's tracker (its docstring).
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

from lab.archive import extract_tar
from lab.aws import names, polling, prices
from lab.aws.errors import translated
from lab.aws.ledger import Ledger
from lab.aws.session import sdk_logging_guard
from lab.aws.twin import SageMakerTwin
from lab.errors import JobError
from lab.training._api import TrainingRequest
from lab.training._local import ENTRY_POINT, METRIC_DEFINITIONS

PREFIX = names.PREFIX
INSTANCE_TYPE = "ml.m5.large"
SKLEARN_VERSION, XGBOOST_VERSION = "1.2-1", "1.7-1"
MAX_RUNTIME_S = 3600  # caps the bill of a stuck job
POLL_SECONDS = 10
CURVE_POINTS = 100  # curve points logged to SageMaker Experiments per run
TYPICAL_S = 4 * 60  # a lab training job: about 4 minutes, most of it starting the instance


def failure_message(desc: dict[str, Any], name: str) -> str:
    reason = (desc.get("FailureReason") or "no reason given").strip().rstrip(".")
    return (f"The SageMaker training job {name} failed: {reason}. Its log is in CloudWatch, "
            "/aws/sagemaker/TrainingJobs.")


class SageMakerTraining(SageMakerTwin):
    """Runs the entry point as a SageMaker training job, tracked in SageMaker Experiments."""

    note = ("Runs the same script in the workshop's framework estimator on SageMaker (minutes "
            "per job), tracked in SageMaker Experiments; the model is downloaded back.")
    metric_definitions = METRIC_DEFINITIONS
    instance_type, typical_s = INSTANCE_TYPE, TYPICAL_S

    def launch_estimate(self, jobs: int = 1) -> prices.Estimate:
        """What training costs before it is launched: `jobs` typical runs of ~4 minutes."""
        return prices.estimate("training", INSTANCE_TYPE, 1, TYPICAL_S * jobs)

    def train(self, ctx, request: TrainingRequest, channels, model_dir, finish):
        with translated():
            return self._train(ctx, request, channels, Path(model_dir), finish)

    def _train(self, ctx, request: TrainingRequest, channels, model_dir: Path, finish):
        from sagemaker.experiments.run import Run

        name = names.job_name(ctx.job.job_id)
        ctx.progress(0.15, "Uploading the training data to S3")
        inputs = self.upload_channels(channels, name, request.instance_count)
        ctx.check_cancelled()
        estimator = self.estimator(request.algorithm, request.hyperparameters,
                                   request.instance_count)
        with sdk_logging_guard(), Run(experiment_name=request.experiment, run_name=name,
                                      sagemaker_session=self.session,
                                      tags=self.tags) as sm_run:
            sm_run.log_parameters({"algorithm": request.algorithm, **request.hyperparameters})
            ctx.progress(0.2, f"Starting the SageMaker training job {name}")
            estimator.fit(inputs, job_name=name, wait=False, logs=False)
            console = self.console_url(f"#/jobs/{name}")
            ctx.log(f"Training job {name} created in the experiment {request.experiment}: "
                    + console)
            ledger = Ledger(self.settings)
            record = ledger.start(
                "training", "training-job", name, region=self.region, use="training",
                instance_type=INSTANCE_TYPE, instance_count=request.instance_count,
                console_url=console, job_id=ctx.job.job_id, code=training_code(
                    request.algorithm, request.hyperparameters, self.settings.sagemaker_role,
                    self.session.boto_region_name, estimator, inputs, name,
                    request.experiment, self.tags))
            try:
                desc = wait_for_job(ctx, self.client, name)
            except BaseException:
                ledger.finish(record, "Unknown")
                raise
            billed = billed_seconds(desc)
            ledger.finish(record, desc["TrainingJobStatus"], billed)
            if billed is not None:
                cost = prices.estimate("training", INSTANCE_TYPE, 1, billed, self.region)
                ctx.log(f"Billed: {billed:.0f} instance-seconds ({cost.text})")
            ctx.check_cancelled()
            if desc["TrainingJobStatus"] == "Failed":
                raise JobError(failure_message(desc, name))
            if desc["TrainingJobStatus"] == "Stopped":
                raise JobError(f"The SageMaker training job {name} was stopped before it "
                               f"finished (from the console, or it ran past {MAX_RUNTIME_S} s).")
            validation = self.validation_metrics(desc)
            if "mse" not in validation:
                raise JobError(f"The training job {name} reported no mse: its log had no "
                               "`MSE:` line for the metric definitions to read.")
            ctx.progress(0.85, "Downloading the model artifact")
            self.download_model(desc["ModelArtifacts"]["S3ModelArtifacts"], model_dir)
            run = finish(validation)
            log_to_experiment(sm_run, run)
        return run

    def code(self) -> list:
        return [SageMakerTraining._train]

    def estimator(self, algorithm: str, hyperparameters: dict[str, Any],
                  instance_count: int = 1) -> Any:
        """The workshop's estimator for `algorithm`, running lab/training/entry_point.py."""
        session, bucket, prefix = self.session, self.bucket, self.s3_prefix
        common = dict(entry_point=str(ENTRY_POINT), role=self.settings.sagemaker_role,
                      instance_type=INSTANCE_TYPE, instance_count=instance_count,
                      py_version="py3",
                      hyperparameters={"algorithm": algorithm, **hyperparameters},
                      metric_definitions=METRIC_DEFINITIONS, max_run=MAX_RUNTIME_S,
                      output_path=f"s3://{bucket}/{prefix}/models",
                      code_location=f"s3://{bucket}/{prefix}/code", sagemaker_session=session,
                      tags=self.tags)
        if algorithm == "xgboost":
            from sagemaker.xgboost.estimator import XGBoost

            return XGBoost(framework_version=XGBOOST_VERSION, **common)
        from sagemaker.sklearn.estimator import SKLearn

        return SKLearn(framework_version=SKLEARN_VERSION, **common)

    def upload_channels(self, channels: dict[str, Path], name: str,
                        instance_count: int = 1) -> dict[str, Any]:
        """The feature store's query results as S3 channels, as the workshop's
        save_fs_data_to_s3 does; one folder per job so runs never read each other's data.
        On several instances the train and validation channels are ShardedByS3Key: each
        instance downloads its own share of their objects."""
        from sagemaker.inputs import TrainingInput

        session, bucket, prefix = self.session, self.bucket, self.s3_prefix
        inputs = {}
        for channel, folder in channels.items():
            with sdk_logging_guard():
                uri = session.upload_data(str(folder), bucket, f"{prefix}/data/fs_data/{name}/"
                                                                f"{channel}")
            sharded = instance_count > 1 and channel in ("train", "validation")
            inputs[channel] = TrainingInput(uri, content_type="text/csv", distribution=(
                "ShardedByS3Key" if sharded else "FullyReplicated"))
        return inputs

    def download_model(self, s3_uri: str, model_dir: Path) -> None:
        """model.tar.gz from S3, unpacked into `model_dir` (the local engine's layout)."""
        bucket, key = s3_uri[len("s3://"):].split("/", 1)
        model_dir.mkdir(parents=True, exist_ok=True)
        tar_path = model_dir.parent / "downloaded-model.tar.gz"
        self.boto_session.client("s3").download_file(bucket, key, str(tar_path))
        try:
            extract_tar(tar_path, model_dir)
        except tarfile.TarError as exc:
            raise JobError(f"The job's model artifact {s3_uri} is not a readable tar.gz "
                           f"({exc}).") from None
        finally:
            tar_path.unlink(missing_ok=True)

    @staticmethod
    def validation_metrics(desc: dict[str, Any]) -> dict[str, float]:
        """The metric definitions' final values, as SageMaker read them from the log."""
        wanted = {d["Name"] for d in METRIC_DEFINITIONS}
        return {m["MetricName"]: float(m["Value"]) for m in desc.get("FinalMetricDataList", [])
                if m["MetricName"] in wanted}


def billed_seconds(desc: dict[str, Any]) -> float | None:
    """What SageMaker bills a training job for (per instance), as it reports it."""
    value = desc.get("BillableTimeInSeconds")
    if value is None and hasattr(desc.get("TrainingStartTime"), "timestamp") and hasattr(
            desc.get("TrainingEndTime"), "timestamp"):
        value = desc["TrainingEndTime"].timestamp() - desc["TrainingStartTime"].timestamp()
    return None if value is None else float(value) * int(
        (desc.get("ResourceConfig") or {}).get("InstanceCount", 1))


def image_of(estimator: Any, region: str) -> str:
    """The training image the estimator runs (the SDK looks it up for the region)."""
    try:
        with sdk_logging_guard():
            return estimator.training_image_uri()
    except Exception:  # noqa: BLE001 - the code shown then names the framework version only
        return ""


def training_code(algorithm: str, hyperparameters: dict, role: str | None, region: str,
             estimator: Any, inputs: dict[str, Any], job_name: str, experiment: str,
             tags: list[dict]) -> str:
    """The SDK v2 code of the training job that ran, with its real names and URIs."""
    import_line, cls, version = _ESTIMATORS[algorithm]
    hps = json.dumps({"algorithm": algorithm, **hyperparameters})
    sources = {k: v.config["DataSource"]["S3DataSource"] for k, v in inputs.items()}
    channels = ",\n".join(
        f'    {json.dumps(k)}: TrainingInput({json.dumps(src["S3Uri"])}, content_type="text/csv"'
        + (f', distribution="{src["S3DataDistributionType"]}")'
           if src.get("S3DataDistributionType") == "ShardedByS3Key" else ")")
        for k, src in sources.items())
    image = image_of(estimator, region)
    return f'''\
import sagemaker
{import_line}
from sagemaker.experiments.run import Run
from sagemaker.inputs import TrainingInput

session = sagemaker.Session()  # region {region}
estimator = {cls}(
    entry_point="entry_point.py",  # lab/training/entry_point.py
    framework_version="{version}",  # image {image or "looked up by the SDK"}
    py_version="py3",
    instance_type="{INSTANCE_TYPE}",
    instance_count={estimator.instance_count},
    role={json.dumps(role)},
    hyperparameters={hps},
    metric_definitions={json.dumps(METRIC_DEFINITIONS)},
    max_run={MAX_RUNTIME_S},
    output_path={json.dumps(estimator.output_path)},
    code_location={json.dumps(estimator.code_location)},
    tags={json.dumps(tags)},
    sagemaker_session=session,
)
inputs = {{
{channels},
}}
with Run(experiment_name={json.dumps(experiment)}, run_name={json.dumps(job_name)},
         sagemaker_session=session, tags={json.dumps(tags)}) as run:
    run.log_parameters({hps})
    estimator.fit(inputs, job_name={json.dumps(job_name)}, wait=False)
'''


def log_to_experiment(sm_run: Any, run: Any) -> None:
    """Test metrics and the learning curve, as SageMaker Experiments metrics."""
    for key, value in run.metrics.items():
        sm_run.log_metric(f"test:{key}", value, step=0)
    steps = run.curve.get("step", [])
    stride = max(1, len(steps) // CURVE_POINTS)
    for i in range(0, len(steps), stride):
        sm_run.log_metric("validation:rmse", run.curve["validation-rmse"][i], step=steps[i])
        sm_run.log_metric("train:rmse", run.curve["train-rmse"][i], step=steps[i])


def wait_for_job(ctx, client, name: str) -> dict:
    """Poll until the job ends; ask SageMaker to stop it once if the learner cancels."""
    return polling.follow_job(
        ctx, name, lambda: client.describe_training_job(TrainingJobName=name),
        lambda d: d["TrainingJobStatus"],
        lambda: client.stop_training_job(TrainingJobName=name), poll_s=POLL_SECONDS,
        detail=lambda d: f"{d['TrainingJobStatus']} ({d.get('SecondaryStatus', '')})",
        start=0.2, half_time_s=300)


# The SDK code of a training run, as a learner writes it (text only: no SDK import). The
# page shows it for the parameters in its form, on either backend.

_ESTIMATORS = {
    "xgboost": ("from sagemaker.xgboost.estimator import XGBoost", "XGBoost", XGBOOST_VERSION),
    "random_forest": ("from sagemaker.sklearn.estimator import SKLearn", "SKLearn",
                      SKLEARN_VERSION),
}

SDK_HEADER = '''\
import sagemaker
{import_line}
from sagemaker.experiments.run import Run
from sagemaker.tuner import (CategoricalParameter, ContinuousParameter, HyperparameterTuner,
                             IntegerParameter)

session = sagemaker.Session()
role = sagemaker.get_execution_role()  # the lab uses LAB_SAGEMAKER_ROLE
bucket = session.default_bucket()      # or LAB_S3_BUCKET
# The feature store's query results, saved as CSV and uploaded (save_fs_data_to_s3)
inputs = {{"train": f"s3://{{bucket}}/mlops-workshop/data/fs_data/train",
          "validation": f"s3://{{bucket}}/mlops-workshop/data/fs_data/validation"}}

'''


def estimator_code(algorithm: str, hyperparameters: dict) -> str:
    """The header and the estimator of the workshop's code, for `algorithm`."""
    import_line, cls, version = _ESTIMATORS[algorithm]
    hps = "\n".join(f"    {json.dumps(k)}: {json.dumps(v)},"
                    for k, v in {"algorithm": algorithm, **hyperparameters}.items())
    definitions = ",\n    ".join(json.dumps(d) for d in METRIC_DEFINITIONS)
    return SDK_HEADER.format(import_line=import_line) + f'''\
hyperparameters = {{
{hps}
}}
# Metrics to be captured from the training log (the workshop's metric definitions)
metric_definitions = [
    {definitions},
]
estimator = {cls}(
    entry_point="entry_point.py",   # lab/training/entry_point.py
    framework_version="{version}",
    py_version="py3",
    instance_type="{INSTANCE_TYPE}",
    instance_count=1,
    hyperparameters=hyperparameters,
    metric_definitions=metric_definitions,
    role=role,
    output_path=f"s3://{{bucket}}/mlops-workshop/models",
)
'''


def sdk_code(request: TrainingRequest) -> str:
    """A training job tracked as a SageMaker Experiments run, as in the workshop."""
    return estimator_code(request.algorithm, request.hyperparameters) + f'''
with Run(experiment_name="{request.experiment}", run_name="my-run") as run:
    run.log_parameters(hyperparameters)
    estimator.fit(inputs)
'''


def distributed_sdk_code(hyperparameters: dict, instance_count: int) -> str:
    """XGBoost on N instances with the SDK: the framework estimator running the same entry
    point, the channels sharded by object (text only)."""
    return estimator_code("xgboost", hyperparameters).replace(
        "    instance_count=1,", f"    instance_count={instance_count},") + \
        f'''
# One object per instance in each channel (the lab writes the split as {instance_count} files):
# ShardedByS3Key gives each instance its own; the entry point starts xgboost's tracker on
# algo-1 (port 9099) and every instance joins it.
from sagemaker.inputs import TrainingInput

estimator.fit({{name: TrainingInput(uri, content_type="text/csv", distribution="ShardedByS3Key")
               for name, uri in inputs.items()}})
'''
