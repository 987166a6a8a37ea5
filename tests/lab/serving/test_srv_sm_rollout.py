"""Guarded rollouts and data capture on SageMaker, under moto: UpdateEndpoint with a
BlueGreenUpdatePolicy and an AutoRollbackConfiguration naming CloudWatch alarms (moto has
no UpdateEndpoint: the fake plays SageMaker's part, switching the config or rolling it
back after an alarm fires, on moto's own records)."""

from __future__ import annotations

import pytest

from tests.fake_aws import ACCOUNT, REGION, skip_without_aws_packages

skip_without_aws_packages()

from lab.serving import CaptureConfig, RolloutPlan, open_endpoints  # noqa: E402

NAME = "lab-housing-endpoint-test"


class Deployments:
    """Plays UpdateEndpoint: `outcome` "switch" (the new config serves) or "roll back" (an
    alarm fires while the canary bakes; the old config serves again)."""

    def __init__(self, monkeypatch, twin) -> None:
        import boto3

        self.requests: list[dict] = []
        self.outcome = "switch"
        self.statuses: list[str] = []
        self.cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        client = twin.client
        monkeypatch.setattr(client, "update_endpoint", self.update)
        client.meta.events.register("after-call.sagemaker.DescribeEndpoint", self.status)

    def backend(self):
        from moto.sagemaker.models import sagemaker_backends

        return sagemaker_backends[ACCOUNT][REGION]

    def update(self, **request):
        self.requests.append(request)
        endpoint = self.backend().endpoints[request["EndpointName"]]
        if self.outcome == "switch":
            endpoint.endpoint_config_name = request["EndpointConfigName"]
            self.statuses = ["Updating", "InService"]
        else:
            alarm = request["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"][0]
            self.cloudwatch.set_alarm_state(
                AlarmName=alarm["AlarmName"], StateValue="ALARM",
                StateReason="Threshold Crossed: 1 datapoint [100.0] > 5.0")
            self.statuses = ["Updating", "RollingBack", "InService"]
        return {"EndpointArn": endpoint.arn}

    def status(self, parsed, **_) -> None:
        if self.statuses and "EndpointStatus" in parsed:
            parsed["EndpointStatus"] = self.statuses.pop(0)


@pytest.fixture
def endpoint(sm_settings):
    """An InService endpoint on version 1 of a group, and an approved version 2 (moto)."""
    import boto3

    from lab.registry import open_registry

    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_model_package_group(ModelPackageGroupName="housing")
    spec = {"Containers": [{"Image": "img", "ModelDataUrl": "s3://b/m.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"]}
    arns = [sm.create_model_package(ModelPackageGroupName="housing", InferenceSpecification=spec,
                                    ModelApprovalStatus="Approved")["ModelPackageArn"]
            for _ in range(2)]
    sm.create_model(ModelName="m1", ExecutionRoleArn=sm_settings.sagemaker_role,
                    PrimaryContainer={"ModelPackageName": arns[0]})
    sm.create_endpoint_config(EndpointConfigName="c1", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "m1", "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName=NAME, EndpointConfigName="c1")
    return open_registry(sm_settings).describe_version("housing", 2)


def test_a_canary_is_an_update_endpoint_with_guardrails_and_a_breach_rolls_back(
        sm_settings, endpoint, monkeypatch):
    import boto3

    twin = open_endpoints(sm_settings)
    fake = Deployments(monkeypatch, twin)
    plan = RolloutPlan("canary", canary_percent=10, bake_s=300, max_error_rate=0.05,
                       max_p99_ms=200)
    fake.outcome = "roll back"
    result = twin.rollout(NAME, endpoint, plan)

    [request] = fake.requests
    deployment = request["DeploymentConfig"]
    routing = deployment["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {"Type": "CANARY", "WaitIntervalInSeconds": 300,
                       "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10}}
    alarms = [a["AlarmName"] for a in deployment["AutoRollbackConfiguration"]["Alarms"]]
    assert alarms == [f"{NAME}-error-rate", f"{NAME}-p99-latency"]
    assert result.rolled_back and result.serving_version == 1 and result.to_version == 2
    assert "Threshold Crossed" in result.reason
    states = {a["name"]: a["state"] for a in result.alarms}
    assert states[f"{NAME}-error-rate"] == "ALARM" and states[f"{NAME}-p99-latency"] != "ALARM"
    sm = boto3.client("sagemaker", region_name=REGION)
    assert sm.describe_endpoint(EndpointName=NAME)["EndpointConfigName"] == "c1"
    configs = {c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]}
    assert configs == {"c1"}  # the rolled-back config (and its model) deleted
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []  # the guardrails cleaned up

    fake.outcome = "switch"
    result = twin.rollout(NAME, endpoint, RolloutPlan("linear", linear_step_percent=50,
                                                      bake_s=60))
    routing = fake.requests[-1]["DeploymentConfig"]["BlueGreenUpdatePolicy"][
        "TrafficRoutingConfiguration"]
    assert routing["LinearStepSize"] == {"Type": "CAPACITY_PERCENT", "Value": 50}
    assert not result.rolled_back and result.serving_version == 2
    serving = sm.describe_endpoint(EndpointName=NAME)["EndpointConfigName"]
    assert serving != "c1" and "c1" not in {
        c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]}


def test_data_capture_is_a_new_endpoint_config_that_keeps_the_model(sm_settings, endpoint,
                                                                    monkeypatch):
    import boto3

    twin = open_endpoints(sm_settings)
    fake = Deployments(monkeypatch, twin)
    found = twin.set_capture(NAME, CaptureConfig(enabled=True, sampling_percentage=20))
    sm = boto3.client("sagemaker", region_name=REGION)
    config = sm.describe_endpoint_config(EndpointConfigName=fake.requests[0][
        "EndpointConfigName"])
    capture = config["DataCaptureConfig"]
    assert capture["EnableCapture"] and capture["InitialSamplingPercentage"] == 20
    assert capture["DestinationS3Uri"].endswith("/monitoring/capture")
    assert "/workspace-" in capture["DestinationS3Uri"]  # the workspace's own S3 folder
    assert [v["ModelName"] for v in config["ProductionVariants"]] == ["m1"]
    assert sm.describe_model(ModelName="m1")  # the model still serves: not deleted
    assert found.enabled and found.sampling_percentage == 20
