"""The SageMaker twin of training, under moto (see train_sm_fake.py; tuning on SageMaker:
tests/lab/tuning/test_tuning_sagemaker.py)."""
# ruff: noqa: F811 (the fixtures are imported from train_sm_fake and named as arguments)

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_aws import skip_without_aws_packages

skip_without_aws_packages()

import boto3  # noqa: E402

from lab import jobs  # noqa: E402
from lab.aws import polling  # noqa: E402
from lab.aws.ledger import Ledger  # noqa: E402
from lab.aws.names import workspace_id  # noqa: E402
from lab.training import Experiments, sdk_code, training_job  # noqa: E402
from lab.workspace import Workspace  # noqa: E402
from tests.fake_aws import BUCKET, REGION, ROLE  # noqa: E402
from tests.lab.training.train_sm_fake import fake, sm  # noqa: E402,F401
from tests.workspaces import FAST_FOREST, FAST_XGB, REPO  # noqa: E402


@pytest.mark.parametrize("algorithm, params, image", [
    ("xgboost", FAST_XGB, "sagemaker-xgboost:1.7-1"),
    ("random_forest", FAST_FOREST, "sagemaker-scikit-learn:1.2-1")])
def test_a_training_job_on_sagemaker_is_the_workshops(fake, sm, algorithm, params, image):
    job = jobs.run(sm, training_job(sm, algorithm, params))

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
    prefix = f"mlops-workshop/workspace-{workspace_id(sm)}"  # the workspace's own folder
    assert channels["train"]["DataSource"]["S3DataSource"]["S3Uri"].startswith(
        f"s3://{BUCKET}/{prefix}/data/fs_data/{name}/train")
    assert request["OutputDataConfig"]["S3OutputPath"] == f"s3://{BUCKET}/{prefix}/models"
    assert request["RoleArn"] == ROLE
    assert request["ResourceConfig"]["InstanceType"] == "ml.m5.large"
    assert request["ExperimentConfig"]["RunName"] == f"synthetic-housing-regression-{name}"
    assert request["ExperimentConfig"]["ExperimentName"] == "synthetic-housing-regression"
    assert {"Key": "mlops-lab-workspace", "Value": "ws"} in request["Tags"]
    assert {"Key": "mlops-lab-workspace-id", "Value": workspace_id(sm)} in request["Tags"]
    assert {"Key": "mlops-lab", "Value": "true"} in request["Tags"]
    # the run: validation metrics from FinalMetricDataList, test metrics from the artifact
    run = Experiments(Workspace(sm.workspace)).get(job.job_id)
    assert run.backend == "sagemaker" and run.status == "Completed"
    assert set(run.validation) == {"mse", "r2"} and set(run.metrics) >= {"mse", "rmse"}
    assert len(run.curve["step"]) == params["n_estimators"]
    assert Path(run.artifact).is_file()
    # ... and in SageMaker Experiments, as the workshop's Run does
    client = boto3.client("sagemaker", region_name=REGION)
    component = client.describe_trial_component(
        TrialComponentName=f"synthetic-housing-regression-{name}")
    assert component["Parameters"]["max_depth"] == {"NumberValue": params["max_depth"]}
    logged = {m["MetricName"]: m["Last"] for m in component["Metrics"]}
    assert logged["test:mse"] == pytest.approx(run.metrics["mse"])
    assert "validation:rmse" in logged
    [run_component] = fake.requests["CreateTrialComponent"]  # moto keeps no tags on these
    assert {"Key": "mlops-lab-workspace-id", "Value": workspace_id(sm)} in run_component["Tags"]
    # the workspace's record of the run: the SDK code with the real names, the billed time
    [record] = Ledger(sm).list("training")
    assert (record.kind, record.name, record.status) == ("training-job", name, "Completed")
    assert (record.instance_type, record.instance_count) == ("ml.m5.large", 1)
    compile(record.code, "ran_code", "exec")
    assert f'job_name="{name}"' in record.code and ROLE in record.code
    assert channels["train"]["DataSource"]["S3DataSource"]["S3Uri"] in record.code
    assert request["AlgorithmSpecification"]["TrainingImage"] in record.code

def test_a_distributed_training_job_sends_n_instances_and_sharded_channels(fake, sm):
    """XGBoost on 2 instances: the request carries InstanceCount 2 and the train and
    validation channels ShardedByS3Key with one object per instance; the fake plays both
    hosts (the entry point's tracker on the first) and the artifact reports each one's rows."""
    job = jobs.run(sm, training_job(sm, "xgboost", FAST_XGB, instance_count=2))

    assert job.status == jobs.COMPLETED, job.error
    [request] = fake.requests["CreateTrainingJob"]
    assert request["ResourceConfig"]["InstanceCount"] == 2
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]
                for c in request["InputDataConfig"]}
    for name in ("train", "validation"):
        assert channels[name]["S3DataDistributionType"] == "ShardedByS3Key"
        bucket, prefix = channels[name]["S3Uri"][len("s3://"):].split("/", 1)
        objects = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
        assert len(objects) == 2  # one object per instance
    workers = job.result["workers"]
    assert [w["host"] for w in workers] == ["algo-1", "algo-2"]
    assert sum(w["train_rows"] for w in workers) == job.result["rows"]["train"]
    assert all(w["train_rows"] > 0 for w in workers)
    [record] = Ledger(sm).list("training")
    assert record.instance_count == 2
    assert 'distribution="ShardedByS3Key"' in record.code and "instance_count=2" in record.code


def test_a_failed_sagemaker_job_is_a_failed_run_with_the_reason(fake, sm):
    fake.status_after_create = "Failed"
    fake.failure_reason = "AlgorithmError: ERROR: No CSV file in the train channel"

    job = jobs.run(sm, training_job(sm, "xgboost", FAST_XGB))

    assert job.status == jobs.FAILED and "No CSV file in the train channel" in job.error
    run = Experiments(Workspace(sm.workspace)).get(job.job_id)
    assert run.status == "Failed" and "CloudWatch" in run.failure


def test_cancelling_stops_the_sagemaker_job(fake, sm, monkeypatch):
    fake.status_after_create = "InProgress"
    ws = Workspace(sm.workspace)

    def sleep(seconds):
        [job] = jobs.JobStore(ws).list("training")
        jobs.JobStore(ws).request_cancel(job.job_id)

    monkeypatch.setattr(polling, "sleep", sleep)
    job = jobs.run(sm, training_job(sm, "xgboost", FAST_XGB))

    assert job.status == jobs.STOPPED
    assert fake.stop_calls == [f"mlops-lab-{job.job_id}"]
    assert Experiments(ws).get(job.job_id).status == "Stopped"


def test_sdk_code_compiles_and_matches_the_request():
    from lab.training import build_request

    code = sdk_code(build_request("random_forest", {"max_depth": 8, "n_estimators": 80}))
    compile(code, "sdk_code", "exec")
    assert "SKLearn(" in code and 'framework_version="1.2-1"' in code
    assert '"max_depth": 8,' in code and "with Run(experiment_name=" in code


def test_the_local_path_loads_no_cloud_sdk():
    code = ("import sys, lab.training, lab.training.charts, lab.tuning;"
            "lab.training.sdk_code, lab.tuning.sdk_code;"
            "print(sorted({'sagemaker', 'boto3', 'botocore', 'xgboost', 'optuna'}"
            " & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, check=True).stdout
    assert out.strip() == "[]"
