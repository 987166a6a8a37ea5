"""`python -m lab run-all --backend sagemaker`: every step through the lab's real SDK and
boto3 code, against the fake AWS of sm_world.py (moto, plus what moto lacks), in eu-west-1;
then `python -m lab cleanup`, which must leave nothing behind.

The pipeline step is upserted and started on SageMaker and followed with
DescribePipelineExecution and ListPipelineExecutionSteps (pipeline_play.py answers the
latter, which moto lacks, from the definition moto holds); what its steps' containers do
is proven by the container-parity interpretation test (tests/lab/pipelines).
"""
# ruff: noqa: F811 (fixtures imported by name)

from __future__ import annotations

import json

import pytest

from tests.fake_aws import ACCOUNT, skip_without_aws_packages

skip_without_aws_packages()

import boto3  # noqa: E402

from lab.aws.ledger import Ledger  # noqa: E402
from lab.aws.names import workspace_id  # noqa: E402
from lab.dataset import generate_housing  # noqa: E402
from lab.settings import Settings  # noqa: E402
from tests.cli import run_cli  # noqa: E402
from tests.lab.aws.sm_world import (  # noqa: E402,F401
    WORLD_BUCKET,
    WORLD_REGION,
    WORLD_ROLE,
    no_local_twin,
    world,
)
from tests.parity.fixtures import parity  # noqa: E402,F401 (a fixture)

# The framework images of eu-west-1 live in this ECR account (the SDK's image table); us-east-1's
# would be 683313688378.
EU_WEST_1_IMAGES = f"141502667606.dkr.ecr.{WORLD_REGION}.amazonaws.com"
WORKSPACE_TAGS = ("mlops-lab", "mlops-lab-workspace", "mlops-lab-workspace-id")


@pytest.fixture
def sm_env(world, monkeypatch):
    monkeypatch.setenv("LAB_SAGEMAKER_ROLE", WORLD_ROLE)
    monkeypatch.setenv("LAB_S3_BUCKET", WORLD_BUCKET)


@pytest.fixture
def houses(tmp_path):
    path = tmp_path / "houses.csv"
    generate_housing(rows=400, seed=3).to_csv(path, index=False)
    return path


def _tags(params: dict) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in params.get("Tags", [])}


@pytest.mark.xdist_group("parity")  # the worker that builds the container environments
def test_run_all_on_sagemaker_then_cleanup_leaves_nothing(world, sm_env, no_local_twin,
                                                          houses, tmp_path, parity):  # noqa: F811
    # The training containers run in the images' libraries (the parity environments): the
    # registry's SageMaker twin serves a model only with the libraries that trained it.
    world.training.python_for_image = lambda image: parity[
        "xgboost-1.7-1" if "xgboost" in image else "sklearn-1.2-1"].python
    ws = tmp_path / "ws"
    wid = workspace_id(Settings(workspace=ws.resolve()))
    prefix = f"s3://{WORLD_BUCKET}/mlops-workshop/workspace-{wid}"

    result = run_cli("run-all", "--backend", "sagemaker", "--data", houses, "--json", ws=ws)

    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout)
    # every step ran on SageMaker (no_local_twin fails the test on any local twin)
    assert out["processing"]["backend"] == out["training"]["backend"] == "sagemaker"
    assert out["processing"]["match"] is True
    assert out["tuning"]["completed"] == out["tuning"]["trials"] == 4

    # processing: the region's scikit-learn image, the role, the workspace's S3 folder
    [processing] = world.sent("CreateProcessingJob")
    assert processing["AppSpecification"]["ImageUri"] == (
        f"{EU_WEST_1_IMAGES}/sagemaker-scikit-learn:1.2-1-cpu-py3")
    assert processing["RoleArn"] == WORLD_ROLE
    assert processing["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.m5.large"
    inputs = [i["S3Input"]["S3Uri"] for i in processing["ProcessingInputs"]]
    assert all(uri.startswith(prefix + "/") for uri in inputs), (prefix, inputs)
    assert all(o["S3Output"]["S3Uri"].startswith(prefix + "/")
               for o in processing["ProcessingOutputConfig"]["Outputs"])
    assert set(_tags(processing)) >= set(WORKSPACE_TAGS)
    assert _tags(processing)["mlops-lab-workspace-id"] == wid

    # feature store: three groups, offline store in the workspace's folder, the role, tags;
    # every row written through the runtime, read back through Athena (no local store)
    groups = world.sent("CreateFeatureGroup")
    assert sorted(g["FeatureGroupName"] for g in groups) == sorted(
        f"lab-{split}-{wid}" for split in ("train", "validation", "test"))
    for group in groups:
        assert group["RoleArn"] == WORLD_ROLE
        assert group["OfflineStoreConfig"]["S3StorageConfig"]["S3Uri"] == (
            f"{prefix}/featurestore")
        assert _tags(group)["mlops-lab-workspace-id"] == wid
    assert world.featurestore.puts == 400  # 240 + 80 + 80 rows, once each
    assert len(world.featurestore.queries) >= 3

    # training and tuning: the region's XGBoost image, the role, channels in the folder
    [job] = world.training.requests["CreateTrainingJob"]  # the tuner makes its trials itself
    assert len(world.training.trials) == 4
    assert job["AlgorithmSpecification"]["TrainingImage"] == (
        f"{EU_WEST_1_IMAGES}/sagemaker-xgboost:1.7-1")
    assert job["RoleArn"] == WORLD_ROLE
    assert job["ResourceConfig"]["InstanceType"] == "ml.m5.large"
    assert job["OutputDataConfig"]["S3OutputPath"] == f"{prefix}/models"
    assert all(c["DataSource"]["S3DataSource"]["S3Uri"].startswith(f"{prefix}/data/fs_data/")
               for c in job["InputDataConfig"])
    assert _tags(job)["mlops-lab-workspace-id"] == wid
    [tuner] = world.training.requests["CreateHyperParameterTuningJob"]
    definition = tuner["TrainingJobDefinition"]
    assert definition["AlgorithmSpecification"]["TrainingImage"] == (
        f"{EU_WEST_1_IMAGES}/sagemaker-xgboost:1.7-1")
    assert definition["RoleArn"] == WORLD_ROLE
    assert _tags(tuner)["mlops-lab-workspace-id"] == wid

    # the pipeline: upserted with the region's images, the role and the lab's tags, started
    # with the workspace's raw data as InputData, followed until it ended, and its register
    # step's version mirrored (the play registers it, as SageMaker's step would)
    [created] = world.sent("CreatePipeline")
    assert created["RoleArn"] == WORLD_ROLE and _tags(created)["mlops-lab-workspace-id"] == wid
    assert f"{EU_WEST_1_IMAGES}/sagemaker-xgboost:1.7-1" in created["PipelineDefinition"]
    [started] = world.sent("StartPipelineExecution")
    sent = {p["Name"]: p["Value"] for p in started["PipelineParameters"]}
    assert sent["InputData"].startswith(f"s3://{WORLD_BUCKET}/") and sent["TargetColumn"] == "PRICE"
    assert world.pipelines.listed  # the steps were polled
    assert out["pipeline"]["status"] == "Succeeded"
    assert out["pipeline"]["registered_version"] == 2  # run-all's own registration was 1
    assert out["pipeline"]["steps"]["RegisterModel"] == "Succeeded"

    # registry and endpoint: the approved version deployed on ml.m5.large, tagged
    package = world.sent("CreateModelPackage")[0]
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert [u["ModelApprovalStatus"] for u in world.sent("UpdateModelPackage")] == ["Approved"]
    [model] = world.sent("CreateModel")
    assert model["ExecutionRoleArn"] == WORLD_ROLE
    [config] = world.sent("CreateEndpointConfig")
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.large"
    [endpoint] = world.sent("CreateEndpoint")
    assert endpoint["EndpointName"] == f"lab-housing-endpoint-{wid}"
    assert _tags(endpoint)["mlops-lab-workspace-id"] == wid
    [invocation] = world.invocations
    assert invocation["endpoint"] == endpoint["EndpointName"]
    assert invocation["content_type"] == "text/csv"
    assert len(invocation["body"].strip().splitlines()) == 5

    # the workspace's ledger: every launch with its code, instance and (jobs) billed time
    records = Ledger(Settings(workspace=ws)).list()
    assert {r.kind for r in records} == {"processing-job", "feature-group", "training-job",
                                         "tuning-job", "endpoint"}
    for record in records:
        compile(record.code, record.kind, "exec")
        assert record.name in record.code
    billed = {r.kind: r.billed_seconds for r in records}
    assert billed["processing-job"] == world.BILLED_PROCESSING_S  # one instance
    assert billed["training-job"] == world.BILLED_TRAINING_S
    assert billed["tuning-job"] == 4 * world.BILLED_TRAINING_S  # the four trials'
    assert billed["endpoint"] is None  # still running: billed per hour until deleted

    # the inventory, then the cleanup: it deletes everything and reports nothing left
    listed = run_cli("cleanup", "--dry-run", "--backend", "sagemaker", "--json", ws=ws)
    assert listed.returncode == 0, listed.stderr[-2000:]
    inventory = json.loads(listed.stdout)
    kinds = {r["kind"] for r in inventory["deleted"]}
    assert kinds >= {"endpoint", "endpoint-config", "model", "model-package", "pipeline",
                     "model-package-group", "feature-group", "glue-table",
                     "trial-component", "trial", "experiment", "s3-objects"}
    [running] = [r for r in inventory["deleted"] if r["kind"] == "endpoint"]
    assert running["hourly_usd"] == pytest.approx(0.115)  # ml.m5.large, the price table

    cleaned = run_cli("cleanup", "--backend", "sagemaker", "--json", ws=ws)

    report = json.loads(cleaned.stdout)
    assert cleaned.returncode == 0, json.dumps([report["failed"], report["problems"]])[:1500]
    assert report["clean"] and report["left"] == [] and report["failed"] == []
    order = [r["kind"] for r in report["deleted"]]
    assert order.index("endpoint") < order.index("endpoint-config") < order.index("model")
    assert order.index("model-package") < order.index("model-package-group")
    assert order.index("feature-group") < order.index("glue-table") < order.index(
        "s3-objects")
    # and AWS agrees: nothing of the workspace is left
    sm = boto3.client("sagemaker", region_name=WORLD_REGION)
    assert sm.list_endpoints()["Endpoints"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []
    assert sm.list_models()["Models"] == []
    assert sm.list_model_package_groups()["ModelPackageGroupSummaryList"] == []
    assert sm.list_experiments()["ExperimentSummaries"] == []
    assert sm.list_pipelines()["PipelineSummaries"] == []
    from moto.sagemaker.models import sagemaker_backends

    assert not sagemaker_backends[ACCOUNT][WORLD_REGION].feature_groups
    assert boto3.client("glue", region_name=WORLD_REGION).get_tables(
        DatabaseName="sagemaker_featurestore")["TableList"] == []
    assert "Contents" not in boto3.client("s3").list_objects_v2(
        Bucket=WORLD_BUCKET, Prefix=f"mlops-workshop/workspace-{wid}/")
