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
"""

from __future__ import annotations

import tarfile
import time
from pathlib import Path
from typing import Any

from lab.archive import extract_tar
from lab.errors import JobError
from lab.sagemaker import session as sm_session
from lab.sagemaker.processing import job_name_for, workspace_tag
from lab.settings import Settings
from lab.training.local import ENTRY_POINT, METRIC_DEFINITIONS

PREFIX = "mlops-workshop"
INSTANCE_TYPE = "ml.m5.large"
SKLEARN_VERSION, XGBOOST_VERSION = "1.2-1", "1.7-1"
MAX_RUNTIME_S = 3600  # caps the bill of a stuck job
POLL_SECONDS = 10
TERMINAL = ("Completed", "Failed", "Stopped")
CURVE_POINTS = 100  # curve points logged to SageMaker Experiments per run


def _sleep(seconds: float) -> None:  # one place for tests to patch
    time.sleep(seconds)


def estimator_for(settings: Settings, session: Any, algorithm: str,
                  hyperparameters: dict[str, Any]) -> Any:
    """The workshop's estimator for `algorithm`, running lab/training/entry_point.py."""
    bucket = session.default_bucket()
    common = dict(entry_point=str(ENTRY_POINT), role=settings.sagemaker_role,
                  instance_type=INSTANCE_TYPE, instance_count=1, py_version="py3",
                  hyperparameters={"algorithm": algorithm, **hyperparameters},
                  metric_definitions=METRIC_DEFINITIONS, max_run=MAX_RUNTIME_S,
                  output_path=f"s3://{bucket}/{PREFIX}/models",
                  code_location=f"s3://{bucket}/{PREFIX}/code", sagemaker_session=session,
                  tags=[workspace_tag(settings)])
    if algorithm == "xgboost":
        from sagemaker.xgboost.estimator import XGBoost

        return XGBoost(framework_version=XGBOOST_VERSION, **common)
    from sagemaker.sklearn.estimator import SKLearn

    return SKLearn(framework_version=SKLEARN_VERSION, **common)


def upload_channels(session: Any, channels: dict[str, Path], name: str) -> dict[str, Any]:
    """The feature store's query results as S3 channels, as the workshop's
    save_fs_data_to_s3 does; one folder per job so runs never read each other's data."""
    from sagemaker.inputs import TrainingInput

    bucket = session.default_bucket()
    inputs = {}
    for channel, folder in channels.items():
        with sm_session.sdk_logging_guard():
            uri = session.upload_data(str(folder), bucket, f"{PREFIX}/data/fs_data/{name}/"
                                                            f"{channel}")
        inputs[channel] = TrainingInput(uri, content_type="text/csv")
    return inputs


def download_model(session: Any, s3_uri: str, model_dir: Path) -> None:
    """model.tar.gz from S3, unpacked into `model_dir` (the local engine's layout)."""
    bucket, key = s3_uri[len("s3://"):].split("/", 1)
    model_dir.mkdir(parents=True, exist_ok=True)
    tar_path = model_dir.parent / "downloaded-model.tar.gz"
    session.boto_session.client("s3").download_file(bucket, key, str(tar_path))
    try:
        extract_tar(tar_path, model_dir)
    except tarfile.TarError as exc:
        raise JobError(f"The job's model artifact {s3_uri} is not a readable tar.gz "
                       f"({exc}).") from None
    finally:
        tar_path.unlink(missing_ok=True)


def validation_metrics(desc: dict[str, Any]) -> dict[str, float]:
    names = {d["Name"] for d in METRIC_DEFINITIONS}
    return {m["MetricName"]: float(m["Value"]) for m in desc.get("FinalMetricDataList", [])
            if m["MetricName"] in names}


def failure_message(desc: dict[str, Any], name: str) -> str:
    reason = (desc.get("FailureReason") or "no reason given").strip().rstrip(".")
    return (f"The SageMaker training job {name} failed: {reason}. Its log is in CloudWatch, "
            "/aws/sagemaker/TrainingJobs.")


class SageMakerTraining:
    """Runs the entry point as a SageMaker training job, tracked in SageMaker Experiments."""

    backend = "sagemaker"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def train(self, ctx, request, channels, model_dir, finish):
        from botocore.exceptions import BotoCoreError, ClientError

        _, session = sm_session.make_session(self.settings)
        try:
            return self._train(ctx, session, request, channels, Path(model_dir), finish)
        except (ClientError, BotoCoreError) as exc:
            raise JobError(sm_session.describe_aws_error(exc)) from None

    def _train(self, ctx, session, request, channels, model_dir, finish):
        from sagemaker.experiments.run import Run

        name = job_name_for(ctx.job.job_id)
        ctx.progress(0.15, "Uploading the training data to S3")
        inputs = upload_channels(session, channels, name)
        ctx.check_cancelled()
        estimator = estimator_for(self.settings, session, request.algorithm,
                                  request.hyperparameters)
        with sm_session.sdk_logging_guard(), Run(
                experiment_name=request.experiment, run_name=name,
                sagemaker_session=session) as sm_run:
            sm_run.log_parameters({"algorithm": request.algorithm, **request.hyperparameters})
            ctx.progress(0.2, f"Starting the SageMaker training job {name}")
            estimator.fit(inputs, job_name=name, wait=False, logs=False)
            region = session.boto_region_name
            ctx.log(f"Training job {name} created in the experiment {request.experiment}: "
                    f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}"
                    f"#/jobs/{name}")
            desc = wait_for_job(ctx, session.sagemaker_client, name)
            ctx.check_cancelled()
            if desc["TrainingJobStatus"] == "Failed":
                raise JobError(failure_message(desc, name))
            if desc["TrainingJobStatus"] == "Stopped":
                raise JobError(f"The SageMaker training job {name} was stopped before it "
                               f"finished (from the console, or it ran past {MAX_RUNTIME_S} s).")
            validation = validation_metrics(desc)
            if "mse" not in validation:
                raise JobError(f"The training job {name} reported no mse: its log had no "
                               "`MSE:` line for the metric definitions to read.")
            ctx.progress(0.85, "Downloading the model artifact")
            download_model(session, desc["ModelArtifacts"]["S3ModelArtifacts"], model_dir)
            run = finish(validation)
            log_to_experiment(sm_run, run)
        return run


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
    from botocore.exceptions import ClientError

    started, last, stop_sent = time.monotonic(), None, False
    while True:
        desc = client.describe_training_job(TrainingJobName=name)
        status = f"{desc['TrainingJobStatus']} ({desc.get('SecondaryStatus', '')})"
        elapsed = int(time.monotonic() - started)
        if status != last:
            ctx.log(f"{name}: {status}")
            last = status
        ctx.progress(0.2 + 0.6 * elapsed / (elapsed + 300),
                     f"SageMaker job {status} ({elapsed // 60}m {elapsed % 60:02d}s)")
        if desc["TrainingJobStatus"] in TERMINAL:
            return desc
        if ctx.cancelled and not stop_sent:
            ctx.log(f"Stopping {name} on request...")
            stop_sent = True
            try:
                client.stop_training_job(TrainingJobName=name)
            except ClientError as exc:  # it may have ended meanwhile: the next poll tells
                ctx.log(sm_session.describe_aws_error(exc))
        _sleep(POLL_SECONDS)
