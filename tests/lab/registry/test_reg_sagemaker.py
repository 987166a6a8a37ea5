"""The SageMaker registry under moto: the boto3 calls, what they carry, and the history.

The artifacts registered here were trained in the containers' libraries (the parity
environments, tests/parity): SageMaker serves a model only with the image that trained it,
and the registry refuses a model trained with the lab's own (newer) libraries."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from tests.fake_aws import BUCKET, REGION, ROLE, skip_without_aws_packages
from tests.lab.registry.reg_helpers import record_requests
from tests.parity.fixtures import container_artifacts, parity  # noqa: F401 (fixtures)
from tests.workspaces import run_artifacts, trained_settings

skip_without_aws_packages()
pytestmark = pytest.mark.xdist_group("parity")  # one worker builds the environments

from lab.errors import BackendError  # noqa: E402
from lab.registry import (  # noqa: E402
    APPROVED,
    PENDING,
    REJECTED,
    ModelGroupNotFoundError,
    VersionNotFoundError,
    default_group,
    open_registry,
    register_model,
    set_approval,
)

GROUP = "lab-housing-models-test"


@pytest.fixture
def settings(tmp_path):
    return trained_settings(tmp_path, backend="sagemaker", sagemaker_role=ROLE,
                            s3_bucket=BUCKET)


@pytest.fixture
def registry(aws, settings):
    registry = open_registry(settings)
    registry.requests = record_requests(registry.client, [])
    return registry


@pytest.fixture
def models(container_artifacts):  # noqa: F811
    """algorithm -> model.tar.gz trained in its image's libraries, with test metrics."""
    return container_artifacts.models


def read(uri):
    import boto3

    bucket, key = uri[len("s3://"):].split("/", 1)
    return boto3.client("s3", region_name=REGION).get_object(
        Bucket=bucket, Key=key)["Body"].read()


@pytest.mark.parametrize("algorithm, image, library", [
    ("xgboost", "sagemaker-xgboost:1.7-1", "xgboost"),
    ("random_forest", "sagemaker-scikit-learn:1.2-1-cpu-py3", "sklearn")])
def test_register_creates_a_package_served_by_the_image_that_trained_it(
        registry, models, algorithm, image, library):
    registry.create_group(GROUP, "housing")
    artifact = models[algorithm]
    metrics = {"test": {"mse": 123.5, "r2": 0.5}}

    version = registry.register(GROUP, artifact, source={"run_id": "r1"}, description="best",
                                metadata={"metrics": metrics})

    assert (version.group, version.version, version.status) == (GROUP, 1, PENDING)
    assert version.arn == f"arn:aws:sagemaker:{REGION}:123456789012:model-package/{GROUP}/1"
    [sent] = [p for name, p in registry.requests if name == "CreateModelPackage"]
    assert sent["ModelApprovalStatus"] == PENDING
    assert {"Key": "mlops-lab-workspace", "Value": "ws"} in sent["Tags"]
    spec = sent["InferenceSpecification"]
    assert spec["SupportedContentTypes"] == ["text/csv"]
    assert spec["SupportedResponseMIMETypes"] == ["application/json"]
    [container] = spec["Containers"]
    assert container["Image"] == f"683313688378.dkr.ecr.{REGION}.amazonaws.com/{image}"
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert read(container["ModelDataUrl"]) == open(artifact, "rb").read()
    with tarfile.open(fileobj=io.BytesIO(read(
            container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"]))) as tar:
        assert tar.getnames() == ["inference.py"]
    report = json.loads(read(sent["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]))
    assert report["regression_metrics"]["mse"]["value"] == 123.5
    properties = sent["CustomerMetadataProperties"]
    assert properties["library"].startswith(library + " ")
    assert all(len(v) <= 256 for v in properties.values())
    # What a describe call gives back is what the local twin records.
    assert version.algorithm == algorithm and version.target == "PRICE"
    assert len(version.features) == 8 and version.hyperparameters["max_depth"] >= 3
    assert version.metrics["test"] == {"mse": 123.5, "r2": 0.5}
    assert "mse" in version.metrics["validation"]
    assert version.source == {"run_id": "r1"}
    assert version.artifact == container["ModelDataUrl"] and version.description == "best"
    assert [(h.status, h.comment) for h in version.history] == [(PENDING, "Registered")]


def test_a_model_trained_with_other_library_versions_is_refused(registry, settings):
    from lab.registry import ArtifactError

    registry.create_group(GROUP)
    local = run_artifacts(settings)["xgboost"]  # the lab's own xgboost, not the image's 1.7
    with pytest.raises(ArtifactError, match=r"trained with xgboost .*SageMaker backend"):
        registry.register(GROUP, local)
    assert not [p for name, p in registry.requests if name == "CreateModelPackage"]


def test_long_metadata_never_breaks_a_version(registry, models):
    """Many features, a long source and comment: every value fits, and reads back whole
    (the facts come from the artifact, not from cut properties)."""
    registry.create_group(GROUP)
    registry.register(GROUP, models["xgboost"], source={"run_id": "r" * 600,
                                                         "note": "é\"" * 300})
    version = registry.update_status(GROUP, 1, APPROVED, "ü\"" * 500, by="b" * 100)
    [sent] = [p for name, p in registry.requests if name == "CreateModelPackage"]
    updates = [p for name, p in registry.requests if name == "UpdateModelPackage"]
    for values in (sent["CustomerMetadataProperties"],
                   updates[-1]["CustomerMetadataProperties"]):
        assert all(len(v) <= 256 for v in values.values()), values
    assert len(version.features) == 8
    assert version.source["run_id"] == "r" * 256
    assert version.history[-1].comment.startswith("ü\"") and version.history[-1].by == "b" * 60


def test_approval_goes_through_update_model_package_and_is_kept_as_history(registry, settings,
                                                                          models):
    registry.create_group(GROUP)
    registry.register(GROUP, models["xgboost"], metadata={"metrics": {"test": {"mse": 1.0}}})

    registry.update_status(GROUP, 1, APPROVED, "beats the baseline")
    version = registry.update_status(GROUP, 1, REJECTED, "x" * 400, by="bob")

    updates = [p for name, p in registry.requests if name == "UpdateModelPackage"]
    assert [u["ModelApprovalStatus"] for u in updates] == [APPROVED, REJECTED]
    assert updates[0]["ApprovalDescription"] == "beats the baseline"
    assert updates[1]["ApprovalDescription"] == "x" * 400  # the full text, on SageMaker
    assert version.status == REJECTED
    assert [h.status for h in version.history] == [PENDING, APPROVED, REJECTED]
    assert version.history[1].comment == "beats the baseline"
    assert version.history[2].by == "bob" and version.history[2].comment.startswith("xxx")
    assert version.metrics["test"]  # the properties survive the update
    # Another registry object (a restart) reads the same history from SageMaker.
    again = open_registry(settings).describe_version(GROUP, 1)
    assert [h.comment for h in again.history] == [h.comment for h in version.history]


def test_versions_are_listed_in_order(registry, models):
    artifacts = models
    registry.create_group(GROUP)
    for algorithm in ("xgboost", "random_forest"):
        registry.register(GROUP, artifacts[algorithm])
    assert [(v.version, v.algorithm) for v in registry.list_versions(GROUP)] == [
        (1, "xgboost"), (2, "random_forest")]
    assert registry.describe_group(GROUP).versions == 2
    assert [g.name for g in registry.list_groups()] == [GROUP]


def test_unknown_group_and_version(registry):
    with pytest.raises(ModelGroupNotFoundError, match="AWS account and region"):
        registry.describe_group(GROUP)
    registry.create_group(GROUP)
    with pytest.raises(VersionNotFoundError):
        registry.describe_version(GROUP, 3)


def test_the_workshop_steps_on_the_sagemaker_backend(registry, settings, models):
    import boto3

    from lab.registry import ArtifactError
    from lab.training import Experiments

    with pytest.raises(ArtifactError, match="SageMaker backend"):
        register_model(settings)  # the best run was trained here, with the lab's libraries
    import sqlite3

    db = Experiments(settings.workspace).path
    with sqlite3.connect(db) as conn:  # as if SageMaker had trained them (its images' libs)
        for algorithm, artifact in models.items():
            conn.execute("UPDATE runs SET artifact = ? WHERE algorithm = ?",
                         (str(artifact), algorithm))
    version = register_model(settings)
    assert version.group == default_group(settings) and version.status == PENDING
    assert set_approval(settings, version.version, APPROVED, "ok").status == APPROVED
    client = boto3.client("sagemaker", region_name=REGION)
    arn = client.describe_model_package_group(
        ModelPackageGroupName=version.group)["ModelPackageGroupArn"]
    tags = client.list_tags(ResourceArn=arn)["Tags"]
    assert {"Key": "mlops-lab-workspace", "Value": "ws"} in tags


def test_aws_errors_become_backend_errors(registry, monkeypatch):
    from botocore.exceptions import ClientError

    def refuse(**kwargs):
        raise ClientError({"Error": {"Code": "AccessDeniedException",
                                     "Message": "not allowed"}}, "CreateModelPackageGroup")

    monkeypatch.setattr(registry.client, "describe_model_package_group", refuse)
    with pytest.raises(BackendError, match="AccessDeniedException.*LAB_SAGEMAKER_ROLE"):
        registry.create_group(GROUP)
