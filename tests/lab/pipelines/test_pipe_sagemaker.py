"""The SageMaker twin: the definition's shape offline, and executions on SageMaker: upload,
group, upsert and start under moto, the execution followed through a Stubber (moto has no
ListPipelineExecutionSteps), its steps mirrored into the store, stop and retry."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.cli import run_cli
from tests.fake_aws import ACCOUNT, BUCKET, REGION, ROLE, skip_without_aws_packages
from tests.lab.pipelines.pipe_helpers import FAST, small_settings

skip_without_aws_packages()

from lab import jobs  # noqa: E402
from lab.errors import InputError  # noqa: E402
from lab.pipelines import (  # noqa: E402
    DEPLOY_PIPELINE,
    FAILED,
    STOPPED,
    SUCCEEDED,
    definition_json,
    execution_of,
    pipeline_job,
    retry_job,
    sagemaker_definition,
)
from lab.pipelines import _sagemaker as sm_pipelines  # noqa: E402
from lab.registry import default_group  # noqa: E402
from lab.settings import Settings  # noqa: E402


@pytest.fixture(scope="module")
def definition(tmp_path_factory):
    """Generated once, with no AWS configuration at all (tests/conftest.py cuts the machine's
    off) and no network: the SageMaker backend's definition of the training pipeline."""
    tmp = tmp_path_factory.mktemp("sm")
    return definition_json(small_settings(tmp, rows=50).with_backend("sagemaker"))


def flatten(steps):
    for step in steps:
        yield step
        if step["Type"] == "Condition":
            yield from flatten(step["Arguments"]["IfSteps"])
            yield from flatten(step["Arguments"]["ElseSteps"])


def test_definition_has_the_workshop_shape_with_a_branch_per_algorithm(definition):
    top = {s["Name"]: s for s in definition["Steps"]}
    assert [(s["Name"], s["Type"]) for s in definition["Steps"]] == [
        ("PreprocessData", "Processing"), ("CheckAlgorithm", "Condition")]
    [choice] = top["CheckAlgorithm"]["Arguments"]["Conditions"]
    assert choice == {"Type": "Equals", "LeftValue": {"Get": "Parameters.Algorithm"},
                      "RightValue": "xgboost"}
    steps = {s["Name"]: s for s in flatten(definition["Steps"])}
    for suffix, image in (("XGBoost", "sagemaker-xgboost:1.7-1"),
                          ("RandomForest", "sagemaker-scikit-learn:1.2-1-cpu-py3")):
        train = steps[f"TrainModel-{suffix}"]["Arguments"]
        assert train["AlgorithmSpecification"]["TrainingImage"].endswith(image)
        assert train["AlgorithmSpecification"]["MetricDefinitions"] == [
            {"Name": "mse", "Regex": "MSE: ([0-9.e+-]+)"},
            {"Name": "r2", "Regex": "r-squared: ([0-9.e+-]+)"}]
        evaluate = steps[f"EvaluateModel-{suffix}"]
        assert evaluate["Arguments"]["AppSpecification"]["ImageUri"].endswith(image)
        assert evaluate["PropertyFiles"] == [{"PropertyFileName": "EvaluationReport",
                                              "OutputName": "evaluation",
                                              "FilePath": "evaluation.json"}]
        [condition] = steps[f"CheckMSE-{suffix}"]["Arguments"]["Conditions"]
        assert condition["Type"] == "LessThanOrEqualTo"
        assert condition["LeftValue"]["Std:JsonGet"] == {
            "PropertyFile": {"Get": f"Steps.EvaluateModel-{suffix}.PropertyFiles."
                                    "EvaluationReport"},
            "Path": "regression_metrics.mse.value"}
        assert condition["RightValue"] == {"Get": "Parameters.MseThreshold"}
        register = steps[f"RegisterModel-{suffix}-RegisterModel"]["Arguments"]
        assert register["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
        assert "ModelQuality" in register["ModelMetrics"]
        [container] = register["InferenceSpecification"]["Containers"]
        assert container["Image"].endswith(image)
        assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
        for name in (f"TrainModel-{suffix}", f"EvaluateModel-{suffix}"):
            assert steps[name]["CacheConfig"] == {"Enabled": True, "ExpireAfter": "PT12H"}
    assert steps["PreprocessData"]["CacheConfig"] == {"Enabled": True, "ExpireAfter": "PT12H"}
    params = {p["Name"]: p for p in definition["Parameters"]}
    assert params["ProcessingInstanceCount"] == {"Name": "ProcessingInstanceCount",
                                                 "Type": "Integer", "DefaultValue": 1}
    assert params["MseThreshold"]["DefaultValue"] == 320_000_000.0
    assert params["TargetColumn"]["DefaultValue"] == "PRICE"  # the dataset's, not a literal
    assert params["InputData"]["DefaultValue"].startswith("s3://")


def test_steps_pass_properties_and_parameters(definition):
    steps = {s["Name"]: s for s in flatten(definition["Steps"])}
    train = steps["TrainModel-XGBoost"]["Arguments"]
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"]
                for c in train["InputDataConfig"]}
    assert channels["train"] == {"Get": "Steps.PreprocessData.ProcessingOutputConfig."
                                        "Outputs['train'].S3Output.S3Uri"}
    assert set(channels) == {"train", "validation", "meta"}
    assert "Parameters.MaxDepth" in json.dumps(train["HyperParameters"])
    process = steps["PreprocessData"]["Arguments"]
    assert process["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == {
        "Get": "Parameters.ProcessingInstanceCount"}
    [data] = [i for i in process["ProcessingInputs"] if i["InputName"] != "code"]
    assert data["S3Input"]["S3Uri"] == {"Get": "Parameters.InputData"}  # effective at run time
    arguments = process["AppSpecification"]["ContainerArguments"]
    assert arguments[arguments.index("--target_col") + 1] == {"Get": "Parameters.TargetColumn"}


def test_images_follow_the_configured_region(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    found = definition_json(small_settings(tmp_path, rows=50).with_backend("sagemaker"))
    images = {s["Arguments"]["AlgorithmSpecification"]["TrainingImage"]
              for s in flatten(found["Steps"]) if s["Type"] == "Training"}
    assert images and all(".dkr.ecr.eu-west-1.amazonaws.com/" in i for i in images)


def test_sagemaker_definition_is_the_same_on_the_local_backend(definition, tmp_path):
    """The page shows the SDK definition as teaching material on either backend."""
    settings = small_settings(tmp_path, rows=50)
    local = sagemaker_definition(settings)
    assert [s["Name"] for s in local["Steps"]] == [s["Name"] for s in definition["Steps"]]


def test_local_definition_lists_the_same_steps_and_cache_config(tmp_path):
    local = definition_json(Settings(workspace=tmp_path))
    assert [s["Name"] for s in local["Steps"]] == [
        "PreprocessData", "TrainModel", "EvaluateModel", "CheckMSE", "RegisterModel"]
    assert local["CacheConfig"] == {"Enabled": True, "ExpireAfter": "PT12H"}
    cond = local["Steps"][3]["Condition"]
    assert cond["LeftValue"]["JsonGet"]["Path"] == "regression_metrics.mse.value"


def test_the_deploy_definition_on_sagemaker_is_two_lambda_steps(tmp_path):
    """`pipeline definition --deploy --backend sagemaker` used to crash with a KeyError."""
    done = run_cli("pipeline", "definition", "--deploy", "--backend", "sagemaker", "--json",
                   ws=str(tmp_path / "ws"))
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)["definition"]
    assert [(s["Name"], s["Type"]) for s in found["Steps"]] == [
        ("LatestApprovedModel", "Lambda"), ("DeployModel", "Lambda")]
    deploy = found["Steps"][1]["Arguments"]
    assert deploy["model_package_arn"] == {
        "Get": "Steps.LatestApprovedModel.OutputParameters['model_package_arn']"}


# Executions on SageMaker.

class Remote:
    """The execution calls answered by a Stubber, the rest by moto (upsert, S3, groups)."""

    def __init__(self, settings, monkeypatch):
        import boto3
        from botocore.stub import Stubber

        self.client = boto3.client("sagemaker", region_name=REGION)
        self.stubber = Stubber(self.client)
        self.name = sm_pipelines.remote_name(settings, sm_pipelines.TRAINING_PIPELINE)
        self.arn = (f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{self.name}/"
                    "execution/abc123")
        monkeypatch.setattr(sm_pipelines.SageMakerPipelines, "client",
                            property(lambda twin: self.client))

    def start(self, parameters: dict) -> None:
        from botocore.stub import ANY

        self.stubber.add_response(
            "start_pipeline_execution", {"PipelineExecutionArn": self.arn},
            {"PipelineName": self.name, "PipelineExecutionDisplayName": ANY,
             "PipelineParameters": [{"Name": k, "Value": str(v)} for k, v in parameters.items()],
             "ClientRequestToken": ANY})

    def look(self, status: str, steps: list[dict], failure: str | None = None) -> None:
        desc = {"PipelineExecutionArn": self.arn, "PipelineExecutionStatus": status}
        if failure:
            desc["FailureReason"] = failure
        self.stubber.add_response("describe_pipeline_execution", desc,
                                  {"PipelineExecutionArn": self.arn})
        self.stubber.add_response("list_pipeline_execution_steps",
                                  {"PipelineExecutionSteps": steps},
                                  {"PipelineExecutionArn": self.arn, "SortOrder": "Ascending"})


def step(name, status, **extra):
    now = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
    item = {"StepName": name, "StepStatus": status, "StartTime": now}
    if status in ("Succeeded", "Failed", "Stopped"):
        item["EndTime"] = now + dt.timedelta(seconds=90)
    item.update(extra)
    return item


@pytest.fixture
def sm(sm_settings, tmp_path, monkeypatch):
    """A small workspace on the SageMaker backend (moto), its execution calls stubbed."""
    local = small_settings(tmp_path, rows=60)
    settings = Settings(workspace=local.workspace, backend="sagemaker",
                        sagemaker_role=ROLE, s3_bucket=BUCKET)
    return settings, Remote(settings, monkeypatch)


def raw_key(settings) -> str:
    """The dataset's S3 key: in the workspace's own folder of the bucket."""
    return f"{sm_pipelines.names.s3_prefix(settings)}/data/raw/small_housing.csv"


def expected_parameters(settings, **changes):
    values = {**sm_pipelines.TRAINING_PIPELINE.defaults(), **FAST, **changes}
    values["InputData"] = f"s3://{BUCKET}/{raw_key(settings)}"
    values["TargetColumn"] = "PRICE"
    return values


def test_an_execution_runs_on_sagemaker_and_its_steps_are_mirrored(sm):
    import boto3

    settings, remote = sm
    cached_from = remote.arn.rsplit("/", 1)[0] + "/earlier1"
    remote.start(expected_parameters(settings))
    remote.look("Executing", [step("PreprocessData", "Executing")])
    remote.look("Succeeded", [
        step("PreprocessData", "Succeeded", CacheHitResult={
            "SourcePipelineExecutionArn": cached_from},
             Metadata={"ProcessingJob": {"Arn": "arn:aws:sagemaker:::processing-job/p"}}),
        step("CheckAlgorithm", "Succeeded", Metadata={"Condition": {"Outcome": "True"}}),
        step("TrainModel-XGBoost", "Succeeded",
             Metadata={"TrainingJob": {"Arn": "arn:aws:sagemaker:::training-job/t"}}),
        step("EvaluateModel-XGBoost", "Succeeded"),
        step("CheckMSE-XGBoost", "Succeeded", Metadata={"Condition": {"Outcome": "True"}}),
        step("RegisterModel-XGBoost-RegisterModel", "Succeeded", Metadata={"RegisterModel": {
            "Arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/"
                   f"{default_group(settings)}/1"}})])
    with remote.stubber:
        job = jobs.run(settings, pipeline_job(settings, FAST))
        remote.stubber.assert_no_pending_responses()
    execution = execution_of(settings, job)
    assert execution.status == SUCCEEDED, execution.failure
    assert {n: s.status for n, s in execution.steps.items()} == {
        n: SUCCEEDED for n in ("PreprocessData", "TrainModel", "EvaluateModel", "CheckMSE",
                               "RegisterModel")}
    assert execution.steps["PreprocessData"].cache_source == "earlier1"
    assert execution.steps["TrainModel"].outputs["TrainingJobArn"].endswith("training-job/t")
    assert execution.steps["CheckMSE"].outputs["outcome"] is True
    assert execution.steps["RegisterModel"].outputs["version"] == 1
    assert execution.steps["TrainModel"].duration_s == pytest.approx(90)
    # Uploaded first: the code the definition names and the raw data.
    s3 = boto3.client("s3", region_name=REGION)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    stored = boto3.client("sagemaker", region_name=REGION).describe_pipeline(
        PipelineName=remote.name)
    assert remote.name.startswith("lab-housing-pipeline-")  # the workspace's pipeline
    definition = json.loads(stored["PipelineDefinition"])
    assert stored["RoleArn"] == ROLE
    images = {s["Arguments"]["AlgorithmSpecification"]["TrainingImage"]
              for s in flatten(definition["Steps"]) if s["Type"] == "Training"}
    assert images and all(f".dkr.ecr.{REGION}.amazonaws.com/" in i for i in images)
    prefix = sm_pipelines.names.s3_prefix(settings)
    for uri in sm_pipelines.code_uris(BUCKET, prefix).values():
        assert uri.split(f"s3://{BUCKET}/", 1)[1] in keys and uri in json.dumps(definition)
    assert raw_key(settings) in keys
    assert all(key.startswith(prefix + "/") for key in keys)  # cleanup finds them all
    # The group exists before the register step runs, tagged with the workspace.
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    group = sagemaker.describe_model_package_group(ModelPackageGroupName=default_group(settings))
    tags = sagemaker.list_tags(ResourceArn=group["ModelPackageGroupArn"])["Tags"]
    assert {"Key": "mlops-lab-workspace", "Value": "workspace"} in tags
    pipeline_tags = sagemaker.list_tags(ResourceArn=stored["PipelineArn"])["Tags"]
    assert {"Key": "mlops-lab-workspace", "Value": "workspace"} in pipeline_tags
    # Nothing ran here: no step folder, no script.
    assert not (settings.workspace / "pipelines" / execution.id).exists()
    from lab.workspace import Workspace

    log = jobs.JobStore(Workspace(settings.workspace)).log(job.job_id)
    assert "$ python" not in log and f"Started {remote.arn}" in log


def test_a_failed_step_fails_the_execution_with_sagemakers_reason_and_retry_resumes(sm):
    settings, remote = sm
    reason = "AlgorithmError: ERROR: No CSV file in the train channel"
    remote.start(expected_parameters(settings, MaxDepth=4))
    remote.look("Failed", [step("PreprocessData", "Succeeded"),
                           step("CheckAlgorithm", "Succeeded"),
                           step("TrainModel-XGBoost", "Failed", FailureReason=reason)])
    with remote.stubber:
        job = jobs.run(settings, pipeline_job(settings, {**FAST, "MaxDepth": 4}))
    failed = execution_of(settings, job)
    assert failed.status == FAILED
    assert failed.steps["TrainModel"].failure == reason
    assert "TrainModel-XGBoost failed" in failed.failure and reason in failed.failure
    remote.stubber.add_response("retry_pipeline_execution",
                                {"PipelineExecutionArn": remote.arn},
                                {"PipelineExecutionArn": remote.arn,
                                 "ClientRequestToken": __import__("botocore.stub").stub.ANY})
    remote.look("Succeeded", [step("PreprocessData", "Succeeded"),
                              step("TrainModel-XGBoost", "Succeeded"),
                              step("EvaluateModel-XGBoost", "Succeeded"),
                              step("CheckMSE-XGBoost", "Succeeded",
                                   Metadata={"Condition": {"Outcome": "False"}})])
    with remote.stubber:
        retried = jobs.run(settings, retry_job(settings, failed.id))
        remote.stubber.assert_no_pending_responses()
    again = execution_of(settings, retried)
    assert again.id == failed.id and again.status == SUCCEEDED and again.failure is None
    assert again.steps["TrainModel"].status == SUCCEEDED
    assert again.steps["CheckMSE"].outputs["outcome"] is False
    with pytest.raises(InputError, match="only a Failed execution"):
        retry_job(settings, failed.id)


def test_cancelling_the_job_stops_the_execution_on_sagemaker(sm):
    from botocore.stub import ANY

    from lab.pipelines import PipelineStore
    from lab.workspace import Workspace

    settings, remote = sm
    ws = Workspace(settings.workspace)
    remote.start(expected_parameters(settings, MaxDepth=6))
    remote.look("Executing", [step("PreprocessData", "Executing")])
    remote.stubber.add_response("stop_pipeline_execution",
                                {"PipelineExecutionArn": remote.arn},
                                {"PipelineExecutionArn": remote.arn, "ClientRequestToken": ANY})
    remote.look("Stopping", [step("PreprocessData", "Stopping")])
    remote.look("Stopped", [step("PreprocessData", "Stopped")])

    def learner_presses_stop(**_):
        for execution in PipelineStore(ws).list():
            jobs.JobStore(ws).request_cancel(execution.job_id)

    remote.client.meta.events.register(
        "before-parameter-build.sagemaker.DescribePipelineExecution", learner_presses_stop)
    with remote.stubber:
        job = jobs.run(settings, pipeline_job(settings, {**FAST, "MaxDepth": 6}))
        remote.stubber.assert_no_pending_responses()  # one StopPipelineExecution, then looks
    stopped = execution_of(settings, job)
    assert stopped.status == STOPPED and stopped.failure == "Stopped on request."
    assert stopped.steps["PreprocessData"].status == STOPPED


def test_input_data_names_a_dataset_to_upload_or_an_s3_uri_to_read(tmp_path):
    settings = small_settings(tmp_path, rows=50)
    values, uploads = sm_pipelines.resolved(settings, "b", {"InputData": "small_housing"})
    assert values["InputData"] == f"s3://b/{raw_key(settings)}"
    assert list(uploads) == [raw_key(settings)]
    values, uploads = sm_pipelines.resolved(
        settings, "b", {"InputData": "s3://theirs/houses/", "TargetColumn": "VALUE"})
    assert values["InputData"] == "s3://theirs/houses/" and uploads == {}
    assert values["TargetColumn"] == "VALUE"
    with pytest.raises(InputError, match="no dataset 'nope'.*s3:// URI"):
        sm_pipelines.resolved(settings, "b", {"InputData": "nope"})


def test_the_local_backend_has_no_retry(tmp_path):
    from lab.pipelines import PipelineStore
    from lab.workspace import Workspace

    settings = small_settings(tmp_path, rows=50)
    store = PipelineStore(Workspace(settings.workspace))
    execution = store.create_execution("lab-housing-pipeline", {})
    store.finish_execution(execution.id, FAILED, "boom")
    job = jobs.run(settings, retry_job(settings, execution.id))
    assert job.status == "Failed" and "start the pipeline again" in (job.error or "")


def test_the_deploy_pipeline_creates_its_lambda_function_then_runs(sm):
    import io
    import zipfile

    from botocore.stub import ANY, Stubber

    settings, remote = sm
    deploy_name = sm_pipelines.remote_name(settings, DEPLOY_PIPELINE)
    remote.arn = remote.arn.replace(remote.name, deploy_name)
    import boto3

    lam = boto3.client("lambda", region_name=REGION)
    lam_stub = Stubber(lam)
    name = sm_pipelines.names.resource_name(settings, sm_pipelines.LAMBDA_BASE)
    lam_stub.add_client_error("update_function_code", "ResourceNotFoundException")
    lam_stub.add_response("create_function", {"FunctionName": name}, {
        "FunctionName": name, "Runtime": "python3.12", "Role": ROLE,
        "Handler": "deploy_lambda.handler", "Code": {"ZipFile": ANY}, "Timeout": 60,
        "Description": ANY,
        "Tags": {t["Key"]: t["Value"] for t in sm_pipelines.names.tags(settings)}})
    real_client = sm_pipelines.SageMakerPipelines.boto_session.fget

    class Session:
        def __init__(self, inner):
            self.inner = inner

        def client(self, service, *args, **kwargs):
            return lam if service == "lambda" else self.inner.client(service, *args, **kwargs)

        def __getattr__(self, item):
            return getattr(self.inner, item)

    import unittest.mock as mock

    endpoint = f"lab-housing-endpoint-{name.rsplit('-', 1)[1]}"
    remote.stubber.add_response(
        "start_pipeline_execution", {"PipelineExecutionArn": remote.arn},
        {"PipelineName": deploy_name, "PipelineExecutionDisplayName": ANY,
         "PipelineParameters": [{"Name": "EndpointName", "Value": endpoint}],
         "ClientRequestToken": ANY})
    remote.look("Succeeded", [
        step("LatestApprovedModel", "Succeeded", Metadata={"Lambda": {
            "Arn": "arn:aws:lambda:::function:f", "OutputParameters": [
                {"Name": "model_package_arn", "Value": "arn:...:model-package/g/3"},
                {"Name": "version", "Value": "3"}]}}),
        step("DeployModel", "Succeeded", Metadata={"Lambda": {
            "Arn": "arn:aws:lambda:::function:f", "OutputParameters": [
                {"Name": "endpoint_name", "Value": endpoint},
                {"Name": "status", "Value": "Creating"}]}})])
    with mock.patch.object(sm_pipelines.SageMakerPipelines, "boto_session",
                           property(lambda twin: Session(real_client(twin)))), \
            remote.stubber, lam_stub:
        job = jobs.run(settings, pipeline_job(settings, None, DEPLOY_PIPELINE.name))
        lam_stub.assert_no_pending_responses()
    execution = execution_of(settings, job)
    assert execution.status == SUCCEEDED, execution.failure
    assert execution.steps["LatestApprovedModel"].outputs["version"] == "3"
    assert execution.steps["DeployModel"].outputs["status"] == "Creating"
    zipped = zipfile.ZipFile(io.BytesIO(sm_pipelines.lambda_zip()))
    assert zipped.namelist() == ["deploy_lambda.py"]
