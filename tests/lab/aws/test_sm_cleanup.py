"""The SageMaker cleanup on its own: only this workspace's resources, failures reported and
the rest deleted, orphaned Glue tables found, and the sidebar's cached running endpoints."""
# ruff: noqa: F811 (fixtures imported by name)

from __future__ import annotations

import json

import pytest

from tests.fake_aws import skip_without_aws_packages

skip_without_aws_packages()

import boto3  # noqa: E402

from lab.aws import names  # noqa: E402
from lab.cleanup import open_cleanup, running_endpoints  # noqa: E402
from lab.cleanup._sagemaker import SageMakerCleanup  # noqa: E402
from lab.settings import Settings  # noqa: E402
from tests.lab.aws.sm_world import (  # noqa: E402,F401
    WORLD_BUCKET,
    WORLD_REGION,
    WORLD_ROLE,
    world,
)


def settings_of(tmp_path, name: str) -> Settings:
    return Settings(workspace=tmp_path / name, backend="sagemaker", sagemaker_role=WORLD_ROLE,
                    s3_bucket=WORLD_BUCKET)


def make_resources(settings: Settings) -> dict[str, str]:
    """An endpoint (config, model), a model package group with a version, a Glue table left
    by a deleted feature group, and S3 objects, named and tagged as the lab names them."""
    sm = boto3.client("sagemaker", region_name=WORLD_REGION)
    tags = names.tags(settings)
    endpoint = names.resource_name(settings, "lab-housing-endpoint")
    model = f"{endpoint}-20260101-000000-001"
    sm.create_model(ModelName=model, ExecutionRoleArn=WORLD_ROLE, Tags=tags,
                    PrimaryContainer={"Image": "image", "ModelDataUrl": "s3://b/k"})
    sm.create_endpoint_config(EndpointConfigName=model, Tags=tags, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=model, Tags=tags)
    group = names.resource_name(settings, "lab-housing-models")
    sm.create_model_package_group(ModelPackageGroupName=group, Tags=tags)
    sm.create_model_package(ModelPackageGroupName=group, ModelApprovalStatus="Approved",
                            InferenceSpecification={
                                "Containers": [{"Image": "image", "ModelDataUrl": "s3://b/k"}],
                                "SupportedContentTypes": ["text/csv"],
                                "SupportedResponseMIMETypes": ["application/json"]})
    glue = boto3.client("glue", region_name=WORLD_REGION)
    try:
        glue.create_database(DatabaseInput={"Name": "sagemaker_featurestore"})
    except glue.exceptions.AlreadyExistsException:
        pass
    table = f"lab_train_{names.workspace_id(settings)}_1700000000"
    glue.create_table(DatabaseName="sagemaker_featurestore", TableInput={"Name": table})
    s3 = boto3.client("s3", region_name=WORLD_REGION)
    s3.put_object(Bucket=WORLD_BUCKET, Key=f"{names.s3_prefix(settings)}/data/raw/x.csv",
                  Body=b"a,b\n1,2\n" * 1000)
    return {"endpoint": endpoint, "model": model, "group": group, "table": table}


def test_only_this_workspaces_resources_are_listed_and_deleted(world, tmp_path):
    mine, theirs = settings_of(tmp_path, "mine"), settings_of(tmp_path, "theirs")
    created = make_resources(mine)
    other = make_resources(theirs)

    found = open_cleanup(mine).inventory()
    listed = {(r.kind, r.name) for r in found.resources}
    assert ("endpoint", created["endpoint"]) in listed
    assert ("glue-table", created["table"]) in listed  # its group is gone: an orphan
    assert not any(theirs_name in name for _, name in listed
                   for theirs_name in other.values())
    [endpoint] = [r for r in found.resources if r.kind == "endpoint"]
    assert endpoint.hourly_usd == pytest.approx(0.115) and "1 x ml.m5.large" == endpoint.detail
    [s3] = [r for r in found.resources if r.kind == "s3-objects"]
    assert s3.name == f"s3://{WORLD_BUCKET}/{names.s3_prefix(mine)}/" and s3.monthly_usd > 0

    report = open_cleanup(mine).delete_all()

    assert report.clean, report.to_json()
    assert open_cleanup(mine).inventory().resources == []
    still = {(r.kind, r.name) for r in open_cleanup(theirs).inventory().resources}
    assert ("endpoint", other["endpoint"]) in still and ("glue-table", other["table"]) in still
    assert ("model-package-group", other["group"]) in still


def test_a_failure_is_reported_with_its_reason_and_the_rest_goes_on(world, tmp_path,
                                                                    monkeypatch):
    from botocore.exceptions import ClientError

    mine = settings_of(tmp_path, "mine")
    created = make_resources(mine)

    def refuse(self, resource):
        raise ClientError({"Error": {"Code": "AccessDeniedException",
                                     "Message": "not authorized to DeleteModel"}},
                          "DeleteModel")

    monkeypatch.setattr(SageMakerCleanup, "_delete_model", refuse)
    report = open_cleanup(mine).delete_all()

    assert not report.clean
    [(resource, reason)] = report.failed
    assert resource.kind == "model" and resource.name == created["model"]
    assert "AccessDeniedException" in reason and "Check the permissions" in reason
    assert [r.name for r in report.left] == [created["model"]]
    assert {r.kind for r in report.deleted} >= {"endpoint", "endpoint-config",
                                                 "model-package-group", "s3-objects"}
    assert "could not be deleted" in report.summary()


def test_running_endpoints_are_asked_once_a_minute(world, tmp_path):
    mine = settings_of(tmp_path, "mine")
    created = make_resources(mine)
    SageMakerCleanup.forget_running()
    before = len(world.sent("ListEndpoints"))

    first = running_endpoints(mine)
    second = running_endpoints(mine)

    assert [e.name for e in first] == [created["endpoint"]] and first == second
    assert first[0].instance_type == "ml.m5.large" and first[0].hourly_usd == pytest.approx(0.115)
    assert "about $0.115/h" in first[0].text
    assert len(world.sent("ListEndpoints")) == before + 1  # the second came from the cache


def test_the_cli_dry_run_lists_with_costs(world, tmp_path, monkeypatch):
    from tests.cli import run_cli

    mine = settings_of(tmp_path, "mine")
    make_resources(mine)
    monkeypatch.setenv("LAB_SAGEMAKER_ROLE", WORLD_ROLE)
    monkeypatch.setenv("LAB_S3_BUCKET", WORLD_BUCKET)
    result = run_cli("cleanup", "--dry-run", "--backend", "sagemaker", ws=mine)
    assert result.returncode == 0, result.stderr
    assert "endpoint             lab-housing-endpoint-" in result.stdout
    assert "$0.115 per hour while it runs" in result.stdout
    assert "Dry run:" in result.stderr and "nothing was changed" in result.stderr
    listed = run_cli("cleanup", "--dry-run", "--json", "--backend", "sagemaker", ws=mine)
    assert json.loads(listed.stdout)["deleted"][0]["kind"] == "endpoint"


def test_an_endpoint_the_learner_named_is_found_by_its_tags_with_its_config_and_model(
        world, tmp_path):
    mine, theirs = settings_of(tmp_path, "mine"), settings_of(tmp_path, "theirs")
    sm = boto3.client("sagemaker", region_name=WORLD_REGION)
    for settings, name in ((mine, "my-endpoint"), (theirs, "their-endpoint")):
        sm.create_model(ModelName=f"{name}-m", ExecutionRoleArn=WORLD_ROLE,
                        PrimaryContainer={"Image": "image"}, Tags=names.tags(settings))
        sm.create_endpoint_config(EndpointConfigName=f"{name}-c", Tags=names.tags(settings),
                                  ProductionVariants=[{
                                      "VariantName": "AllTraffic", "ModelName": f"{name}-m",
                                      "InitialInstanceCount": 1,
                                      "InstanceType": "ml.m5.large"}])
        sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-c",
                           Tags=names.tags(settings))

    found = {(r.kind, r.name) for r in open_cleanup(mine).inventory().resources}

    assert found == {("endpoint", "my-endpoint"), ("endpoint-config", "my-endpoint-c"),
                     ("model", "my-endpoint-m")}
    SageMakerCleanup.forget_running()
    assert [e.name for e in running_endpoints(mine)] == ["my-endpoint"]
    assert open_cleanup(mine).delete_all().clean
    assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == ["their-endpoint"]
