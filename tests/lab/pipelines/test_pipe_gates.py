"""The training pipeline with its quality gates: locally end to end (a drifted input fails
at the data-quality check and registers nothing, a clean one registers, a worse model is
held back), the CI trigger, and the gates in the SageMaker definition and its execution."""

from __future__ import annotations

import datetime as dt

import pytest

from lab import jobs
from lab.errors import InputError
from lab.monitoring import BaselineMissingError, drifted_dataset, make_baseline, parse_changes
from lab.pipelines import (
    FAILED,
    SUCCEEDED,
    ci_commit,
    ci_status,
    ci_trigger_job,
    execution_of,
    pipeline_job,
    summary,
)
from lab.processing import run_prep
from lab.registry import APPROVED, default_group, open_registry, set_approval
from lab.workspace import Workspace
from tests.lab.pipelines.pipe_helpers import FAST, small_settings, statuses

GATES = ("CheckDataQuality", "CheckModelQuality", "ModelQualityGate")


def run_gated(settings, params=None):
    job = jobs.run(settings, pipeline_job(settings, {**FAST, **(params or {})}, gated=True))
    return execution_of(settings, job)


def versions(settings):
    return open_registry(settings).list_versions(default_group(settings))


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    """A small workspace, prepared, with its baseline; one clean gated execution, approved."""
    settings = small_settings(tmp_path_factory.mktemp("gates"), rows=500)
    run_prep(Workspace(settings.workspace))
    make_baseline(settings)
    clean = run_gated(settings)
    set_approval(settings, summary(clean)["registered_version"], APPROVED, "the first")
    return settings, clean


def test_clean_input_passes_both_gates_and_registers(gated):
    settings, clean = gated
    assert clean.status == SUCCEEDED, clean.failure
    assert statuses(clean) == dict.fromkeys(
        ["PreprocessData", "CheckDataQuality", "TrainModel", "EvaluateModel", "CheckMSE",
         "CheckModelQuality", "ModelQualityGate", "RegisterModel"], SUCCEEDED)
    gates = summary(clean)["gates"]
    assert gates["data_quality"]["violations"] == 0
    assert gates["model_quality"]["passed"]  # nothing approved yet: nothing to beat
    assert clean.steps["CheckModelQuality"].outputs["property_files"]["ModelQualityReport"]


def test_drifted_input_fails_at_the_data_quality_check_and_registers_nothing(gated):
    settings, _ = gated
    before = versions(settings)
    info = drifted_dataset(settings, parse_changes(shift=["LOT_ACRES=1"]))
    ex = run_gated(settings, {"InputData": info.name})
    assert ex.status == FAILED and "CheckDataQuality" in ex.failure
    assert set(ex.steps) == {"PreprocessData", "CheckDataQuality"}  # nothing trained
    check = ex.steps["CheckDataQuality"]
    assert check.status == FAILED and "LOT_ACRES baseline_drift_check" in check.failure
    assert check.metrics["LOT_ACRES PSI"] > 0.2 and check.metrics["YEAR_BUILT PSI"] == 0
    assert check.metrics["violations"] == 1  # the numbers stay on the failed step
    assert versions(settings) == before


def test_a_model_worse_than_the_approved_one_is_held_back(gated):
    settings, clean = gated
    before = versions(settings)
    ex = run_gated(settings, {"NEstimators": 2, "MaxDepth": 1, "MseThreshold": 1e13})
    assert ex.status == SUCCEEDED  # the gate did its job: not a failure
    assert ex.steps["CheckMSE"].outputs["outcome"] is True
    gate = ex.steps["ModelQualityGate"].outputs
    assert gate["outcome"] is False and gate["left"] > gate["right"]
    approved = clean.steps["EvaluateModel"].metrics["mse"]
    assert gate["right"] == pytest.approx(approved * 1.05)
    assert "RegisterModel" not in ex.steps and versions(settings) == before
    assert ex.steps["PreprocessData"].cache_hit and ex.steps["CheckDataQuality"].cache_hit


def test_the_gates_need_a_baseline_and_sound_parameters_before_any_execution(tmp_path):
    from lab.errors import ParameterError

    settings = small_settings(tmp_path, rows=60)
    with pytest.raises(BaselineMissingError, match="make one"):
        pipeline_job(settings, gated=True)
    with pytest.raises(ParameterError, match="ModelQualityMargin"):
        pipeline_job(settings, {"ModelQualityMargin": -1}, gated=True)
    assert not (settings.workspace / "pipelines.db").exists()


def test_the_ci_trigger_starts_a_build_only_when_something_changed(tmp_path, monkeypatch):
    from lab.pipelines import _ci

    settings = small_settings(tmp_path, rows=60)
    run_prep(Workspace(settings.workspace))
    make_baseline(settings)
    assert ci_status(settings).changes == ["no build has run yet"]
    first = ci_trigger_job(settings)
    assert first.kind == "gated-pipeline" and first.params["MaxDepth"] == 5
    with pytest.raises(InputError, match="Nothing changed since the last build"):
        ci_trigger_job(settings)
    ci_commit(settings, {"MaxDepth": 4}, "Shallower trees")
    assert ci_status(settings).changes == ["parameter MaxDepth: default -> 4"]
    assert ci_trigger_job(settings).params["MaxDepth"] == 4
    code = {**_ci.code_hashes(), "training": "edited"}
    monkeypatch.setattr(_ci, "code_hashes", lambda: code)
    assert ci_status(settings).changes[0].startswith("training code changed")
    with pytest.raises(InputError, match="MaxDepth"):
        ci_commit(settings, {"MaxDepth": "deep"})  # refused: the commit is unchanged
    assert ci_status(settings).committed == {"MaxDepth": 4}


# The gates on SageMaker.

def _flatten(steps):
    for step in steps:
        yield step
        if step["Type"] == "Condition":
            yield from _flatten(step["Arguments"]["IfSteps"])
            yield from _flatten(step["Arguments"]["ElseSteps"])


@pytest.fixture(scope="module")
def sm_definition(tmp_path_factory):
    from tests.fake_aws import skip_without_aws_packages

    skip_without_aws_packages()
    from lab.pipelines import definition_json

    settings = small_settings(tmp_path_factory.mktemp("sm-gates"), rows=300)
    run_prep(Workspace(settings.workspace))
    make_baseline(settings)
    return settings, definition_json(settings.with_backend("sagemaker"), gated=True)


def test_the_sagemaker_definition_holds_both_gates(sm_definition):
    settings, definition = sm_definition
    top = {s["Name"]: s for s in definition["Steps"]}
    assert list(top) == ["PreprocessData", "CheckDataQuality", "CheckAlgorithm"]
    assert top["CheckAlgorithm"]["DependsOn"] == ["CheckDataQuality"]
    check = top["CheckDataQuality"]["Arguments"]
    assert check["AppSpecification"]["ContainerEntrypoint"][-1].endswith("/drift.py")
    assert "sagemaker-scikit-learn:1.2-1" in check["AppSpecification"]["ImageUri"]
    baseline = next(i for i in check["ProcessingInputs"]
                    if i["S3Input"]["LocalPath"] == "/opt/ml/processing/baseline")
    assert baseline["S3Input"]["S3Uri"] == {"Get": "Parameters.DataBaseline"}
    default = next(p for p in definition["Parameters"] if p["Name"] == "DataBaseline")
    assert "/monitoring/baseline/" in default["DefaultValue"]
    steps = {s["Name"]: s for s in _flatten(definition["Steps"])}
    for branch in ("XGBoost", "RandomForest"):
        mse = steps[f"CheckMSE-{branch}"]["Arguments"]["IfSteps"]
        assert [s["Name"] for s in mse] == [f"CheckModelQuality-{branch}",
                                            f"ModelQualityGate-{branch}"]
        [condition] = steps[f"ModelQualityGate-{branch}"]["Arguments"]["Conditions"]
        assert condition["LeftValue"]["Std:JsonGet"]["Path"] == "model_quality.mse.value"
        assert condition["RightValue"]["Std:JsonGet"]["Path"] == "model_quality.mse.ceiling"
        register = steps[f"ModelQualityGate-{branch}"]["Arguments"]["IfSteps"]
        assert register[0]["Name"].startswith(f"RegisterModel-{branch}")


def test_a_failed_data_check_on_sagemaker_shows_its_exit_message(sm_definition, sm_settings,
                                                                 monkeypatch):
    from botocore.stub import ANY

    from lab.aws import names
    from lab.pipelines import _sagemaker as sm_pipelines
    from tests.lab.pipelines.test_pipe_sagemaker import Remote, step

    local, _ = sm_definition
    settings = sm_settings.__class__(**{**sm_settings.__dict__, "workspace": local.workspace})
    remote = Remote(settings, monkeypatch)
    remote.stubber.add_response(
        "start_pipeline_execution", {"PipelineExecutionArn": remote.arn},
        {"PipelineName": remote.name, "PipelineExecutionDisplayName": ANY,
         "PipelineParameters": ANY, "ClientRequestToken": ANY})
    job_arn = "arn:aws:sagemaker:us-east-1:123456789012:processing-job/pipelines-dq"
    message = "1 violation(s) of the baseline: LOT_ACRES baseline_drift_check: PSI 0.971"
    remote.look("Failed", [
        step("PreprocessData", "Succeeded"),
        step("CheckDataQuality", "Failed", FailureReason="AlgorithmError: exit code 3",
             Metadata={"ProcessingJob": {"Arn": job_arn}})])
    now = dt.datetime(2026, 1, 31, tzinfo=dt.UTC)
    remote.stubber.add_response("describe_processing_job", {
        "ProcessingJobName": "pipelines-dq", "ProcessingJobArn": job_arn,
        "ProcessingJobStatus": "Failed", "ExitMessage": message, "CreationTime": now,
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1,
                                                  "InstanceType": "ml.m5.large",
                                                  "VolumeSizeInGB": 30}},
        "AppSpecification": {"ImageUri": "img"}}, {"ProcessingJobName": "pipelines-dq"})
    with remote.stubber:
        job = jobs.run(settings, pipeline_job(settings, FAST, gated=True))
        remote.stubber.assert_no_pending_responses()
    ex = execution_of(settings, job)
    assert ex.status == FAILED and message in ex.steps["CheckDataQuality"].failure
    import boto3

    uploaded = {o["Key"] for o in boto3.client("s3").list_objects_v2(
        Bucket=settings.s3_bucket)["Contents"]}
    code = sm_pipelines.code_objects(names.s3_prefix(settings), gated=True)
    assert set(code) <= uploaded  # drift.py included
    assert any("/monitoring/baseline/" in k and k.endswith("/statistics.json")
               for k in uploaded)  # the baseline, where DataBaseline points
