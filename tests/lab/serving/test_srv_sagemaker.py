"""SageMaker endpoints under moto: the SDK's ModelPackage.deploy, the Predictor with a seeded
result, polling, update (which moto lacks: played on moto's own record), delete."""

from __future__ import annotations

import pytest

from tests.fake_aws import ACCOUNT, BUCKET, REGION, ROLE, skip_without_aws_packages
from tests.lab.registry.reg_helpers import record_requests
from tests.parity.fixtures import container_artifacts, parity  # noqa: F401 (fixtures)
from tests.workspaces import trained_settings

skip_without_aws_packages()
pytestmark = pytest.mark.xdist_group("parity")  # one worker builds the environments

from lab import jobs  # noqa: E402
from lab.aws import session as aws_session  # noqa: E402
from lab.aws.ledger import Ledger  # noqa: E402
from lab.errors import JobError  # noqa: E402
from lab.registry import APPROVED, NotApprovedError, default_group, open_registry  # noqa: E402
from lab.serving import (  # noqa: E402
    EndpointNotFoundError,
    default_endpoint,
    delete_endpoint,
    deploy_job,
    describe_endpoint,
    invoke_endpoint,
    list_endpoints,
    open_endpoints,
)
from lab.settings import Settings  # noqa: E402
from lab.workspace import Workspace  # noqa: E402


class FakeSageMaker:
    """Records the requests as sent; plays UpdateEndpoint and endpoint states on moto."""

    def __init__(self, monkeypatch) -> None:
        self.monkeypatch = monkeypatch
        self.requests: list[tuple[str, dict]] = []
        self.statuses: list[str] = []  # statuses DescribeEndpoint reports before moto's own
        self.after_update: list[str] = []  # the same, from the UpdateEndpoint call on

    def make_session(self, settings):
        """The lab's own session maker, its sagemaker client watched (`use_factory`)."""
        boto_session, session = aws_session.make_session(settings)
        client = session.sagemaker_client
        record_requests(client, self.requests)
        client.meta.events.register("after-call.sagemaker.DescribeEndpoint", self._status)
        self.monkeypatch.setattr(client, "update_endpoint", self._update)
        return boto_session, session

    def backend(self):
        from moto.sagemaker.models import sagemaker_backends

        return sagemaker_backends[ACCOUNT][REGION]

    def sent(self, operation: str) -> list[dict]:
        return [p for name, p in self.requests if name == operation]

    def _status(self, parsed, **_) -> None:
        if self.statuses and "EndpointStatus" in parsed:
            parsed["EndpointStatus"] = self.statuses.pop(0)
            if parsed["EndpointStatus"] == "Failed":
                parsed["FailureReason"] = "The primary container did not pass the ping check."

    def _update(self, EndpointName, EndpointConfigName):  # noqa: N803 (boto3's names)
        self.requests.append(("UpdateEndpoint", {"EndpointName": EndpointName,
                                                 "EndpointConfigName": EndpointConfigName}))
        self.backend().endpoints[EndpointName].endpoint_config_name = EndpointConfigName
        self.statuses = list(self.after_update)
        return {"EndpointArn": self.backend().endpoints[EndpointName].arn}


def _container(create_model: dict) -> dict:
    """The SDK sends `Containers`, boto3 code usually `PrimaryContainer`."""
    return create_model.get("PrimaryContainer") or create_model["Containers"][0]


@pytest.fixture
def fake(aws, monkeypatch):
    """moto (the suite's `aws`: no sleeping polls), sessions made by FakeSageMaker."""
    fake = FakeSageMaker(monkeypatch)
    with aws_session.use_factory(fake.make_session):
        yield fake


@pytest.fixture
def settings(fake, tmp_path):
    return trained_settings(tmp_path, backend="sagemaker", sagemaker_role=ROLE,
                            s3_bucket=BUCKET)


@pytest.fixture
def versions(settings, container_artifacts):  # noqa: F811
    registry, group = open_registry(settings), default_group(settings)
    registry.create_group(group)
    artifacts = container_artifacts.models  # trained in the images' libraries, as on SageMaker
    first = registry.register(group, artifacts["xgboost"])
    second = registry.register(group, artifacts["random_forest"])
    return registry.update_status(group, first.version, APPROVED, "ok"), second


def test_deploy_is_the_sdks_model_package_deploy(fake, settings, versions):
    job = jobs.run(settings, deploy_job(settings, versions[0].version))

    assert job.status == jobs.COMPLETED, job.error
    [model] = fake.sent("CreateModel")
    print(model)
    assert _container(model)["ModelPackageName"] == versions[0].arn
    assert model["ExecutionRoleArn"] == ROLE
    [config] = fake.sent("CreateEndpointConfig")
    [variant] = config["ProductionVariants"]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.m5.large", 1)
    [create] = fake.sent("CreateEndpoint")
    assert create["EndpointName"] == default_endpoint(settings)
    endpoint = describe_endpoint(settings)
    assert (endpoint.status, endpoint.group, endpoint.version) == (
        "InService", versions[0].group, 1)
    assert endpoint.invocation_url == (f"https://runtime.sagemaker.{REGION}.amazonaws.com/"
                                       f"endpoints/{endpoint.name}/invocations")
    assert [e.name for e in list_endpoints(settings)] == [endpoint.name]


def test_an_unapproved_version_is_never_sent_to_the_sdk(fake, settings, versions):
    with pytest.raises(NotApprovedError):
        jobs.run(settings, deploy_job(settings, versions[1].version))
    assert fake.sent("CreateModel") == []
    assert [u["ModelPackageArn"] for u in fake.sent("UpdateModelPackage")] == [versions[0].arn]
    # The SDK would have approved it on its own while creating the model: it stays pending.
    assert open_registry(settings).describe_version(versions[1].group, 2).status != APPROVED


def test_the_predictor_returns_the_endpoints_answer(fake, settings, versions):
    import requests

    jobs.run(settings, deploy_job(settings, versions[0].version))
    requests.post("http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results",
                  json={"account_id": ACCOUNT, "region": REGION, "results": [
                      {"Body": "[412000.5, 398000.25]", "ContentType": "application/json"}]})

    answer = invoke_endpoint(settings, None, "1,2,3,4,5,6,7,8\n1,2,3,4,5,6,7,9")

    assert answer.predictions == [412000.5, 398000.25]
    assert answer.payload == "1,2,3,4,5,6,7,8\n1,2,3,4,5,6,7,9" and answer.latency_s > 0


def test_deploy_polls_until_in_service_and_reports_failures(fake, settings, versions):
    fake.statuses = ["Creating", "Creating"]  # then moto's own: InService
    job = jobs.run(settings, deploy_job(settings, versions[0].version))
    assert job.status == jobs.COMPLETED, job.error
    assert fake.statuses == []
    log = jobs.JobStore(Workspace(settings.workspace)).log(job.job_id)
    assert log.count(": Creating (") == 2 and ": InService (" in log

    fake.statuses = ["Creating", "Failed"]
    with pytest.raises(JobError, match="Failed: The primary container did not pass"):
        open_endpoints(settings).create("lab-other", versions[0])


def test_update_moves_the_endpoint_to_the_new_version(fake, settings, versions):
    registry = open_registry(settings)
    jobs.run(settings, deploy_job(settings, versions[0].version))
    second = registry.update_status(versions[1].group, 2, APPROVED, "better")

    # The endpoint exists: an update.
    job = jobs.run(settings, deploy_job(settings, second.version))

    assert job.status == jobs.COMPLETED, job.error
    [update] = fake.sent("UpdateEndpoint")
    [_, model] = fake.sent("CreateModel")
    assert _container(model)["ModelPackageName"] == second.arn
    assert update["EndpointConfigName"] == model["ModelName"]
    assert describe_endpoint(settings).version == 2
    # finding 13: once the update is done, the old config and its model are deleted
    [first_config] = [c["EndpointConfigName"] for c in fake.sent("CreateEndpointConfig")][:1]
    assert [d["EndpointConfigName"] for d in fake.sent("DeleteEndpointConfig")] == [first_config]
    backend = fake.backend()
    assert list(backend.endpoint_configs) == [model["ModelName"]]
    assert list(backend._models) == [model["ModelName"]]
    # the workspace's records: the first deployment ended by the update, the second open
    second_record, first_record = Ledger(settings).list("registry")
    assert (first_record.status, second_record.status) == ("Updated", "InProgress")
    assert second_record.ended is None and f'"{second.arn}"' in second_record.code
    compile(second_record.code, "update_code", "exec")


def test_an_update_that_fails_keeps_the_old_config(fake, settings, versions):
    registry = open_registry(settings)
    jobs.run(settings, deploy_job(settings, versions[0].version))
    second = registry.update_status(versions[1].group, 2, APPROVED, "better")
    fake.after_update = ["Updating", "Failed"]

    job = jobs.run(settings, deploy_job(settings, second.version))

    assert job.status == jobs.FAILED
    assert fake.sent("DeleteEndpointConfig") == []  # the old config may still serve


def test_delete_removes_endpoint_config_and_model(fake, settings, versions):
    jobs.run(settings, deploy_job(settings, versions[0].version))
    [record] = Ledger(settings).list("registry")
    assert (record.kind, record.instance_type, record.use) == ("endpoint", "ml.m5.large",
                                                               "hosting")
    compile(record.code, "deploy_code", "exec")
    assert f'endpoint_name="{default_endpoint(settings)}"' in record.code
    delete_endpoint(settings)
    [record] = Ledger(settings).list("registry")
    assert record.status == "Deleted" and record.billed_seconds is not None
    backend = fake.backend()
    assert not backend.endpoints and not backend.endpoint_configs and not backend._models
    with pytest.raises(EndpointNotFoundError):
        describe_endpoint(settings)
    with pytest.raises(EndpointNotFoundError):
        delete_endpoint(settings)


def test_only_this_workspaces_endpoints_are_listed(fake, settings, versions, tmp_path):
    jobs.run(settings, deploy_job(settings, versions[0].version))
    other = Settings(workspace=tmp_path / "elsewhere", backend="sagemaker", sagemaker_role=ROLE,
                     s3_bucket=BUCKET)
    assert list_endpoints(other) == []
    assert len(list_endpoints(settings)) == 1
