"""The SageMaker twin of tuning (the workshop's HyperparameterTuner), under moto (the fake
is tests/lab/training/train_sm_fake.py)."""
# ruff: noqa: F811 (the fixtures are imported from train_sm_fake and named as arguments)

from __future__ import annotations

from pathlib import Path

from tests.fake_aws import skip_without_aws_packages

skip_without_aws_packages()

from lab import jobs  # noqa: E402
from lab.aws import polling  # noqa: E402
from lab.aws.ledger import Ledger  # noqa: E402
from lab.aws.names import tuning_job_name  # noqa: E402
from lab.training import Experiments  # noqa: E402
from lab.tuning import build_tuning_spec, sdk_code, tuning_job  # noqa: E402
from lab.workspace import Workspace  # noqa: E402
from tests.lab.training.train_sm_fake import fake, sm  # noqa: E402,F401


def test_the_workshops_tuning_job_on_sagemaker(fake, sm):
    job = jobs.run(sm, tuning_job(sm, static={"n_estimators": 10}, max_jobs=2,
                                  max_parallel_jobs=2,
                                  ranges=[{"name": "max_depth", "min_value": 2,
                                           "max_value": 4}]))

    assert job.status == jobs.COMPLETED, job.error
    [request] = fake.requests["CreateHyperParameterTuningJob"]
    assert request["HyperParameterTuningJobName"] == tuning_job_name(job.job_id)
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
    # the workspace's record of the tuning job: its SDK code, with the real names
    [record] = Ledger(sm).list("training")
    name = request["HyperParameterTuningJobName"]
    assert (record.kind, record.name, record.status) == ("tuning-job", name, "Completed")
    assert (record.instance_type, record.instance_count) == ("ml.m5.large", 2)
    compile(record.code, "ran_code", "exec")
    assert f'job_name="{name}"' in record.code
    assert '"max_depth": IntegerParameter(2, 4, scaling_type="Auto")' in record.code
    channel = request["TrainingJobDefinition"]["InputDataConfig"][0]
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] in record.code


def test_sagemaker_trials_are_recorded_as_they_finish_and_failures_kept(fake, sm,
                                                                       monkeypatch):
    fake.tuning_status, fake.reveal, fake.failing_trials = "InProgress", 1, {2}
    ws = Workspace(sm.workspace)
    seen = []

    def sleep(seconds):
        [job] = jobs.JobStore(ws).list("tuning")
        seen.append(len(Experiments(ws).list(tuning_job=job.job_id)))
        fake.reveal, fake.tuning_status = None, "Completed"

    monkeypatch.setattr(polling, "sleep", sleep)
    job = jobs.run(sm, tuning_job(sm, strategy="Grid", static={"n_estimators": 5},
                                  ranges=[{"name": "max_depth", "min_value": 2,
                                           "max_value": 3}]))

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


def test_tuning_sdk_code_compiles_and_matches_the_spec():
    tuning = sdk_code(build_tuning_spec())
    compile(tuning, "tuning_sdk_code", "exec")
    assert '"max_depth": IntegerParameter(6, 10),' in tuning
    assert '"n_estimators": IntegerParameter(80, 130),' in tuning
    assert "max_jobs=4," in tuning and "max_parallel_jobs=2," in tuning
    assert 'objective_metric_name="mse"' in tuning and "XGBoost(" in tuning
