"""The SageMaker twins of training and tuning, under moto (see train_sm_fake.py)."""
# ruff: noqa: F811 (fixtures are imported from train_helpers and named as arguments)

from __future__ import annotations

import importlib.metadata
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

for _module in ("moto", "boto3", "sagemaker"):
    if importlib.util.find_spec(_module) is None:
        pytest.skip(f"{_module} is not installed: pip install -r requirements-test.txt",
                    allow_module_level=True)
if not importlib.metadata.version("sagemaker").startswith("2."):
    pytest.skip("the SageMaker backend targets the SDK 2.x", allow_module_level=True)

import boto3  # noqa: E402
import moto  # noqa: E402
import train_sm_fake as fk  # noqa: E402
from train_helpers import FAST_FOREST, FAST_XGB, small, small_template  # noqa: E402,F401

from lab import jobs  # noqa: E402
from lab.settings import Settings  # noqa: E402
from lab.training import Experiments, run_training_job, run_tuning_job  # noqa: E402
from lab.training import sagemaker_train as smt  # noqa: E402
from lab.training.sagemaker_code import sdk_code, tuning_sdk_code  # noqa: E402
from lab.training.sagemaker_tune import tuning_name_for  # noqa: E402
from lab.workspace import Workspace  # noqa: E402


@pytest.fixture
def fake(monkeypatch, tmp_path):
    fk.aws_environment(monkeypatch, tmp_path)
    from lab.sagemaker.session import import_sagemaker

    import_sagemaker()
    monkeypatch.setattr(smt, "_sleep", lambda seconds: None)
    with moto.mock_aws():
        boto3.client("s3", region_name=fk.REGION).create_bucket(Bucket=fk.BUCKET)
        fake = fk.FakeSageMaker(tmp_path / "container")
        fake.install(monkeypatch)
        yield fake


@pytest.fixture
def sm(small):
    """The small workspace, with the SageMaker backend. Its feature store stays the local
    one (the SageMaker store is tested on its own): training reads it through
    read_training_data, patched here to the local store."""
    return Settings(workspace=small.workspace, backend="sagemaker", sagemaker_role=fk.ROLE,
                    s3_bucket=fk.BUCKET)


@pytest.fixture(autouse=True)
def local_feature_store(monkeypatch, small):
    from lab.training import data as training_data
    from lab.training import train, tuning

    real = training_data.read_training_data

    def read(settings, progress=None, store=None):
        return real(small, progress)

    monkeypatch.setattr(train, "read_training_data", read)
    monkeypatch.setattr(tuning, "read_training_data", read)


@pytest.mark.parametrize("algorithm, params, image", [
    ("xgboost", FAST_XGB, "sagemaker-xgboost:1.7-1"),
    ("random_forest", FAST_FOREST, "sagemaker-scikit-learn:1.2-1")])
def test_a_training_job_on_sagemaker_is_the_workshops(fake, sm, algorithm, params, image):
    job = run_training_job(sm, algorithm, params)

    assert job.status == jobs.COMPLETED, job.error
    [request] = fake.requests["CreateTrainingJob"]
    name = request["TrainingJobName"]
    assert name == f"mlops-lab-{job.job_id}"
    assert image in request["AlgorithmSpecification"]["TrainingImage"]
    assert request["AlgorithmSpecification"]["MetricDefinitions"] == [
        {"Name": "mse", "Regex": "MSE: ([0-9.e+-]+)"},
        {"Name": "r2", "Regex": "r-squared: ([0-9.e+-]+)"}]
    hps = request["HyperParameters"]
    assert hps["sagemaker_program"] == '"entry_point.py"'
    assert hps["algorithm"] == f'"{algorithm}"' and hps["max_depth"] == str(params["max_depth"])
    channels = {c["ChannelName"]: c for c in request["InputDataConfig"]}
    assert sorted(channels) == ["train", "validation"]
    assert channels["train"]["DataSource"]["S3DataSource"]["S3Uri"].startswith(
        f"s3://{fk.BUCKET}/mlops-workshop/data/fs_data/{name}/train")
    assert request["RoleArn"] == fk.ROLE
    assert request["ResourceConfig"]["InstanceType"] == "ml.m5.large"
    assert request["ExperimentConfig"]["RunName"] == f"synthetic-housing-regression-{name}"
    assert request["ExperimentConfig"]["ExperimentName"] == "synthetic-housing-regression"
    assert {"Key": "mlops-lab-workspace", "Value": "ws"} in request["Tags"]
    # the run: validation metrics from FinalMetricDataList, test metrics from the artifact
    run = Experiments(Workspace(sm.workspace)).get(job.job_id)
    assert run.backend == "sagemaker" and run.status == "Completed"
    assert set(run.validation) == {"mse", "r2"} and set(run.metrics) >= {"mse", "rmse"}
    assert len(run.curve["step"]) == params["n_estimators"]
    assert Path(run.artifact).is_file()
    # ... and in SageMaker Experiments, as the workshop's Run does
    client = boto3.client("sagemaker", region_name=fk.REGION)
    component = client.describe_trial_component(
        TrialComponentName=f"synthetic-housing-regression-{name}")
    assert component["Parameters"]["max_depth"] == {"NumberValue": params["max_depth"]}
    logged = {m["MetricName"]: m["Last"] for m in component["Metrics"]}
    assert logged["test:mse"] == pytest.approx(run.metrics["mse"])
    assert "validation:rmse" in logged


def test_a_failed_sagemaker_job_is_a_failed_run_with_the_reason(fake, sm):
    fake.status_after_create = "Failed"
    fake.failure_reason = "AlgorithmError: ERROR: No CSV file in the train channel"

    job = run_training_job(sm, "xgboost", FAST_XGB)

    assert job.status == jobs.FAILED and "No CSV file in the train channel" in job.error
    run = Experiments(Workspace(sm.workspace)).get(job.job_id)
    assert run.status == "Failed" and "CloudWatch" in run.failure


def test_cancelling_stops_the_sagemaker_job(fake, sm, monkeypatch):
    fake.status_after_create = "InProgress"
    ws = Workspace(sm.workspace)

    def sleep(seconds):
        [job] = jobs.JobStore(ws).list("training")
        jobs.JobStore(ws).request_cancel(job.job_id)

    monkeypatch.setattr(smt, "_sleep", sleep)
    job = run_training_job(sm, "xgboost", FAST_XGB)

    assert job.status == jobs.STOPPED
    assert fake.stop_calls == [f"mlops-lab-{job.job_id}"]
    assert Experiments(ws).get(job.job_id).status == "Stopped"


def test_the_workshops_tuning_job_on_sagemaker(fake, sm):
    job = run_tuning_job(sm, static={"n_estimators": 10}, max_jobs=2, max_parallel_jobs=2,
                         ranges=[{"name": "max_depth", "min_value": 2, "max_value": 4}])

    assert job.status == jobs.COMPLETED, job.error
    [request] = fake.requests["CreateHyperParameterTuningJob"]
    assert request["HyperParameterTuningJobName"] == tuning_name_for(job.job_id)
    assert len(request["HyperParameterTuningJobName"]) <= 32
    config = request["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Bayesian"
    assert config["HyperParameterTuningJobObjective"] == {"Type": "Minimize",
                                                          "MetricName": "mse"}
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 2,
                                        "MaxParallelTrainingJobs": 2}
    assert config["ParameterRanges"]["IntegerParameterRanges"] == [
        {"Name": "max_depth", "MinValue": "2", "MaxValue": "4", "ScalingType": "Auto"}]
    static = request["TrainingJobDefinition"]["StaticHyperParameters"]
    assert static["n_estimators"] == "10" and "max_depth" not in static
    trials = Experiments(Workspace(sm.workspace)).list(tuning_job=job.job_id)
    assert [t.params["max_depth"] for t in trials] == [2, 4]  # the fake's picks: min, max
    assert all(t.status == "Completed" and t.backend == "sagemaker" for t in trials)
    best = min(trials, key=lambda t: t.validation["mse"])
    assert [t.run_id for t in trials if t.best] == [best.run_id]
    assert job.result["best"]["mse"] == best.validation["mse"]
    assert Path(job.result["best"]["artifact"]).is_file()


def test_sagemaker_trials_are_recorded_as_they_finish_and_failures_kept(fake, sm,
                                                                       monkeypatch):
    fake.tuning_status, fake.reveal, fake.failing_trials = "InProgress", 1, {2}
    ws = Workspace(sm.workspace)
    seen = []

    def sleep(seconds):
        [job] = jobs.JobStore(ws).list("tuning")
        seen.append(len(Experiments(ws).list(tuning_job=job.job_id)))
        fake.reveal, fake.tuning_status = None, "Completed"

    monkeypatch.setattr(smt, "_sleep", sleep)
    job = run_tuning_job(sm, strategy="Grid", static={"n_estimators": 5},
                         ranges=[{"name": "max_depth", "min_value": 2, "max_value": 3}])

    assert job.status == jobs.COMPLETED, job.error
    assert seen == [1]  # the first trial was recorded while the tuning job still ran
    config = fake.requests["CreateHyperParameterTuningJob"][0]["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Grid"
    assert config["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 2  # the combinations
    assert config["ParameterRanges"]["CategoricalParameterRanges"] == [
        {"Name": "max_depth", "Values": ['"2"', '"3"']}]  # JSON, as framework containers read
    trials = Experiments(ws).list(tuning_job=job.job_id)
    assert [t.status for t in trials] == ["Completed", "Failed"]
    assert "max_depth -1" in trials[1].failure and trials[0].best


def test_sdk_code_compiles_and_matches_the_request():
    from lab.training import build_request, build_tuning_spec

    code = sdk_code(build_request("random_forest", {"max_depth": 8, "n_estimators": 80}))
    compile(code, "sdk_code", "exec")
    assert "SKLearn(" in code and 'framework_version="1.2-1"' in code
    assert '"max_depth": 8,' in code and "with Run(experiment_name=" in code
    tuning = tuning_sdk_code(build_tuning_spec())
    compile(tuning, "tuning_sdk_code", "exec")
    assert '"max_depth": IntegerParameter(6, 10),' in tuning
    assert '"n_estimators": IntegerParameter(80, 130),' in tuning
    assert "max_jobs=4," in tuning and "max_parallel_jobs=2," in tuning
    assert 'objective_metric_name="mse"' in tuning and "XGBoost(" in tuning


def test_the_local_path_loads_no_cloud_sdk():
    code = ("import sys, lab.training, lab.training.charts, lab.training.sagemaker_code;"
            "print(sorted({'sagemaker', 'boto3', 'botocore', 'xgboost', 'optuna'}"
            " & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[3], check=True).stdout
    assert out.strip() == "[]"
