"""The SageMaker compiler: the definition's shape offline, and upsert/start/describe (moto)."""

from __future__ import annotations

import json

import pytest

from tests.fake_aws import BUCKET, skip_without_aws_packages

skip_without_aws_packages()

from lab.pipelines import definition_json, sagemaker_definition  # noqa: E402
from lab.settings import Settings  # noqa: E402


@pytest.fixture(scope="module")
def definition(tmp_path_factory):
    """Generated once, with no AWS configuration at all (tests/conftest.py cuts the machine's
    off) and no network: the SageMaker backend's definition of the training pipeline."""
    tmp = tmp_path_factory.mktemp("sm")
    return definition_json(Settings(workspace=tmp / "ws", backend="sagemaker"))


def flatten(steps):
    for step in steps:
        yield step
        if step["Type"] == "Condition":
            yield from flatten(step["Arguments"]["IfSteps"])
            yield from flatten(step["Arguments"]["ElseSteps"])


def test_definition_has_the_workshop_shape(definition):
    steps = {s["Name"]: s for s in definition["Steps"]}
    assert [s["Type"] for s in definition["Steps"]] == [
        "Processing", "Training", "Processing", "Condition"]
    evaluate = steps["EvaluateModel"]
    assert evaluate["PropertyFiles"] == [{"PropertyFileName": "EvaluationReport",
                                          "OutputName": "evaluation",
                                          "FilePath": "evaluation.json"}]
    [condition] = steps["CheckMSE"]["Arguments"]["Conditions"]
    assert condition["Type"] == "LessThanOrEqualTo"
    assert condition["LeftValue"]["Std:JsonGet"]["Path"] == "regression_metrics.mse.value"
    assert condition["LeftValue"]["Std:JsonGet"]["PropertyFile"] == {
        "Get": "Steps.EvaluateModel.PropertyFiles.EvaluationReport"}
    assert condition["RightValue"] == {"Get": "Parameters.MseThreshold"}
    [register] = steps["CheckMSE"]["Arguments"]["IfSteps"]
    assert register["Type"] == "RegisterModel"
    assert steps["CheckMSE"]["Arguments"]["ElseSteps"] == []
    assert register["Arguments"]["ModelApprovalStatus"] == {
        "Get": "Parameters.ModelApprovalStatus"}
    for name in ("PreprocessData", "TrainModel", "EvaluateModel"):
        assert steps[name]["CacheConfig"] == {"Enabled": True, "ExpireAfter": "PT12H"}
    params = {p["Name"]: p for p in definition["Parameters"]}
    assert params["ProcessingInstanceCount"] == {"Name": "ProcessingInstanceCount",
                                                 "Type": "Integer", "DefaultValue": 1}
    assert params["MseThreshold"]["DefaultValue"] == 320_000_000.0
    assert params["ModelApprovalStatus"]["DefaultValue"] == "PendingManualApproval"


def test_steps_pass_properties_and_parameters(definition):
    steps = {s["Name"]: s for s in flatten(definition["Steps"])}
    train = steps["TrainModel"]["Arguments"]
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"]
                for c in train["InputDataConfig"]}
    assert channels["train"] == {"Get": "Steps.PreprocessData.ProcessingOutputConfig."
                                        "Outputs['train'].S3Output.S3Uri"}
    assert "Parameters.MaxDepth" in json.dumps(train["HyperParameters"])
    process = steps["PreprocessData"]["Arguments"]
    assert process["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == {
        "Get": "Parameters.ProcessingInstanceCount"}
    assert "preprocess.py" in json.dumps(process["AppSpecification"])
    assert all(u.startswith("s3://") for u in [
        i["S3Input"]["S3Uri"] for i in process["ProcessingInputs"] if i["InputName"] == "code"])


def test_sagemaker_definition_is_the_same_on_the_local_backend(definition, tmp_path):
    """The page shows the SDK definition as teaching material on either backend."""
    assert sagemaker_definition(Settings(workspace=tmp_path)) == definition


def test_local_definition_lists_the_same_steps_and_cache_config(tmp_path):
    local = definition_json(Settings(workspace=tmp_path))
    assert [s["Name"] for s in local["Steps"]] == [
        "PreprocessData", "TrainModel", "EvaluateModel", "CheckMSE", "RegisterModel"]
    assert local["CacheConfig"] == {"Enabled": True, "ExpireAfter": "PT12H"}
    cond = local["Steps"][3]["Condition"]
    assert cond["LeftValue"]["JsonGet"]["Path"] == "regression_metrics.mse.value"


def test_upsert_start_and_describe_under_moto(sm_settings):
    import boto3
    from botocore.stub import Stubber

    from lab.pipelines import _sagemaker as sm_pipeline

    settings = sm_settings  # moto's account, held open by the `aws` fixture
    session = sm_pipeline.aws_session(settings)
    started = sm_pipeline.upsert_and_start(settings, {"MaxDepth": 4}, session=session)
    assert started["execution_arn"].startswith("arn:aws:sagemaker:")
    s3 = boto3.client("s3")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert "mlops-workshop/pipeline-code/preprocess.py" in keys
    stored = json.loads(session.sagemaker_client.describe_pipeline(
        PipelineName="lab-housing-pipeline")["PipelineDefinition"])
    assert [s["Name"] for s in stored["Steps"]][-1] == "CheckMSE"
    client = session.sagemaker_client
    described = client.describe_pipeline_execution(
        PipelineExecutionArn=started["execution_arn"])  # moto's own answer
    described.pop("ResponseMetadata", None)
    source = started["execution_arn"].rsplit("/", 1)[0] + "/earlier"
    stubber = Stubber(client)  # moto has no ListPipelineExecutionSteps
    stubber.add_response("describe_pipeline_execution", described,
                         {"PipelineExecutionArn": started["execution_arn"]})
    stubber.add_response("list_pipeline_execution_steps", {"PipelineExecutionSteps": [
        {"StepName": "PreprocessData", "StepStatus": "Succeeded",
         "CacheHitResult": {"SourcePipelineExecutionArn": source}},
        {"StepName": "TrainModel", "StepStatus": "Executing"}]},
        {"PipelineExecutionArn": started["execution_arn"]})
    with stubber:
        result = sm_pipeline.describe(session, started["execution_arn"])
    assert result["status"] == described["PipelineExecutionStatus"]
    assert result["steps"]["PreprocessData"]["cache_source"] == source
    assert result["steps"]["TrainModel"]["status"] == "Executing"
    [listed] = sm_pipeline.list_executions(session)
    assert listed["PipelineExecutionArn"] == started["execution_arn"]
