"""Safe rollouts and data capture of a SageMaker endpoint (the SageMaker twin's parts).

    rollout   a new model and endpoint config for the new version (the config's
              DataCaptureConfig kept), two CloudWatch alarms on the endpoint (error rate,
              p99 ModelLatency), then UpdateEndpoint with a DeploymentConfig: a
              BlueGreenUpdatePolicy whose TrafficRoutingConfiguration is the plan
              (ALL_AT_ONCE, CANARY with a CAPACITY_PERCENT size, LINEAR with a step), its
              WaitIntervalInSeconds the bake time, and an AutoRollbackConfiguration naming
              the alarms. SageMaker shifts the traffic, bakes each step and rolls back by
              itself when an alarm fires; the lab follows DescribeEndpoint and reads the
              outcome (which config serves once it is InService again) and the alarms'
              states (the guardrail readings), then deletes the alarms and the config that
              no longer serves. SageMaker shifts by capacity, whole instances: with the
              lab's one instance a canary fleet is that one instance.
    capture   a new endpoint config with the same variants and a DataCaptureConfig (the
              sampled share, Input and Output, CSV and JSON content types, the destination
              in the workspace's S3 folder), by UpdateEndpoint.
"""

from __future__ import annotations

import json
from typing import Any

from lab.serving._api import (
    ALL_TRAFFIC,
    CaptureConfig,
    RolloutPlan,
    RolloutResult,
    RolloutStep,
)

ALARM_PERIOD_S = 60
ROUTING = {"all": "ALL_AT_ONCE", "canary": "CANARY", "linear": "LINEAR"}


def deployment_config(plan: RolloutPlan, alarms: list[str]) -> dict[str, Any]:
    """UpdateEndpoint's DeploymentConfig for the plan (deployment guardrails)."""
    routing: dict[str, Any] = {"Type": ROUTING[plan.strategy],
                               "WaitIntervalInSeconds": int(round(plan.bake_s))}
    if plan.strategy == "canary":
        routing["CanarySize"] = {"Type": "CAPACITY_PERCENT", "Value": int(plan.canary_percent)}
    elif plan.strategy == "linear":
        routing["LinearStepSize"] = {"Type": "CAPACITY_PERCENT",
                                     "Value": int(plan.linear_step_percent)}
    steps = len(plan.shares())
    return {"BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": routing,
        "TerminationWaitInSeconds": int(round(plan.bake_s)),
        "MaximumExecutionTimeoutInSeconds": max(600, min(28800, int(
            (steps + 1) * plan.bake_s + 1800)))},
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": a} for a in alarms]}}


def alarm_requests(endpoint: str, plan: RolloutPlan, tags: list[dict[str, str]]
                   ) -> list[dict[str, Any]]:
    """PutMetricAlarm requests of the two guardrails on the endpoint's variant."""
    dims = [{"Name": "EndpointName", "Value": endpoint},
            {"Name": "VariantName", "Value": ALL_TRAFFIC}]

    def stat(name: str, metric: str) -> dict[str, Any]:
        return {"Id": name, "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": "AWS/SageMaker", "MetricName": metric, "Dimensions": dims},
            "Period": ALARM_PERIOD_S, "Stat": "Sum"}}

    common = {"EvaluationPeriods": 1, "DatapointsToAlarm": 1,
              "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
              "Tags": tags}
    return [
        {"AlarmName": f"{endpoint}-error-rate"[:255], **common,
         "AlarmDescription": "MLOps lab rollout guardrail: the share of failed invocations",
         "Threshold": plan.max_error_rate * 100, "Metrics": [
             {"Id": "rate", "Expression": "100 * (e4 + e5) / MAX([inv, 1])",
              "Label": "error rate (%)", "ReturnData": True},
             stat("e4", "Invocation4XXErrors"), stat("e5", "Invocation5XXErrors"),
             stat("inv", "Invocations")]},
        {"AlarmName": f"{endpoint}-p99-latency"[:255], **common,
         "AlarmDescription": "MLOps lab rollout guardrail: p99 model latency",
         "Namespace": "AWS/SageMaker", "MetricName": "ModelLatency", "Dimensions": dims,
         "ExtendedStatistic": "p99", "Period": ALARM_PERIOD_S,
         "Threshold": plan.max_p99_ms * 1000}]  # ModelLatency is in microseconds


def rollout(twin: Any, name: str, version: Any, plan: RolloutPlan, progress: Any = None,
            on_step: Any = None) -> RolloutResult:
    from lab.aws.ledger import Ledger
    from lab.serving._sagemaker import _model_name

    plan.check()
    current = twin.describe(name)
    old_config = twin._describe(name)["EndpointConfigName"]
    config = twin.client.describe_endpoint_config(EndpointConfigName=old_config)
    model_name = _model_name(name)
    twin._aws(lambda: twin.client.create_model(
        ModelName=model_name, ExecutionRoleArn=twin.settings.sagemaker_role,
        PrimaryContainer={"ModelPackageName": version.arn}, Tags=twin._tags(version)))
    extra = {"DataCaptureConfig": config["DataCaptureConfig"]} \
        if config.get("DataCaptureConfig") else {}
    twin._aws(lambda: twin.client.create_endpoint_config(
        EndpointConfigName=model_name, Tags=twin._tags(version), ProductionVariants=[{
            "VariantName": ALL_TRAFFIC, "ModelName": model_name,
            "InitialInstanceCount": 1, "InstanceType": twin.instance_type}], **extra))
    cloudwatch = twin.boto_session.client("cloudwatch")
    requests = alarm_requests(name, plan, twin.tags)
    for request in requests:
        twin._aws(lambda r=request: cloudwatch.put_metric_alarm(**r))
    alarms = [r["AlarmName"] for r in requests]
    deployment = deployment_config(plan, alarms)
    twin._aws(lambda: twin.client.update_endpoint(
        EndpointName=name, EndpointConfigName=model_name, DeploymentConfig=deployment))
    Ledger(twin.settings).close("endpoint", name, "Updated")
    twin._record(name, rollout_code(name, model_name, version.arn, deployment, requests))
    try:
        twin._wait(name, progress)
    finally:
        readings = alarm_readings(cloudwatch, alarms)
        twin._aws(lambda: cloudwatch.delete_alarms(AlarmNames=alarms))
    serving = twin._describe(name)["EndpointConfigName"]
    rolled_back = serving != model_name
    twin._delete_config(model_name if rolled_back else old_config)
    fired = [r for r in readings if r["state"] == "ALARM"]
    reason = "" if not rolled_back else (
        "; ".join(f"{r['name']}: {r['reason']}" for r in fired)
        or "SageMaker rolled the deployment back")
    steps = [RolloutStep(share=s, started=0.0, ended=0.0, requests=0, errors=0,
                         error_rate=None, p99_ms=None) for s in plan.shares()]
    if on_step is not None:
        for step in steps:
            on_step(step)
    return RolloutResult(
        endpoint=name, from_version=current.version, to_version=version.version,
        strategy=plan.strategy, plan=plan.to_json(), steps=steps, rolled_back=rolled_back,
        reason=reason, serving_version=current.version if rolled_back else version.version,
        backend="sagemaker", alarms=readings)


def alarm_readings(cloudwatch: Any, alarms: list[str]) -> list[dict[str, Any]]:
    """Each guardrail alarm's state (OK, ALARM, INSUFFICIENT_DATA) and why."""
    try:
        found = cloudwatch.describe_alarms(AlarmNames=alarms)
    except Exception:  # noqa: BLE001 - readings are a report: a failed read says so
        return [{"name": a, "state": "unknown", "reason": "not readable"} for a in alarms]
    every = found.get("MetricAlarms", []) + found.get("CompositeAlarms", [])
    return [{"name": a["AlarmName"], "state": a.get("StateValue", "unknown"),
             "reason": a.get("StateReason", "")} for a in every]


def capture_request(twin: Any, config: CaptureConfig) -> dict[str, Any]:
    return {"EnableCapture": bool(config.enabled),
            "InitialSamplingPercentage": max(1, int(round(config.sampling_percentage))),
            "DestinationS3Uri": capture_uri(twin),
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"],
                                         "JsonContentTypes": ["application/json"]}}


def capture_uri(twin: Any) -> str:
    return f"s3://{twin.bucket}/{twin.s3_prefix}/monitoring/capture"


def set_capture(twin: Any, name: str, config: CaptureConfig, progress: Any = None
                ) -> CaptureConfig:
    """A new endpoint config, the same variants with data capture on (or off)."""
    from lab.serving._sagemaker import _model_name

    if config.enabled:
        config.check()
    old_config = twin._describe(name)
    if old_config is None:
        twin.describe(name)  # raises EndpointNotFoundError
    old = twin.client.describe_endpoint_config(
        EndpointConfigName=old_config["EndpointConfigName"])
    new = _model_name(name)
    variants = [{k: v for k, v in variant.items() if k in (
        "VariantName", "ModelName", "InitialInstanceCount", "InstanceType",
        "InitialVariantWeight")} for variant in old["ProductionVariants"]]
    twin._aws(lambda: twin.client.create_endpoint_config(
        EndpointConfigName=new, ProductionVariants=variants, Tags=twin.tags,
        DataCaptureConfig=capture_request(twin, config)))
    twin._aws(lambda: twin.client.update_endpoint(EndpointName=name, EndpointConfigName=new))
    twin._wait(name, progress)
    if twin._describe(name)["EndpointConfigName"] == new:  # only the config: its model serves
        twin._aws(lambda: twin.client.delete_endpoint_config(
            EndpointConfigName=old_config["EndpointConfigName"]))
    return capture(twin, name)


def capture(twin: Any, name: str) -> CaptureConfig:
    desc = twin._describe(name)
    if desc is None:
        twin.describe(name)
    found = desc.get("DataCaptureConfig") or twin.client.describe_endpoint_config(
        EndpointConfigName=desc["EndpointConfigName"]).get("DataCaptureConfig") or {}
    percent = found.get("CurrentSamplingPercentage", found.get("InitialSamplingPercentage",
                                                               100))
    return CaptureConfig(enabled=bool(found.get("EnableCapture")),
                         sampling_percentage=float(percent),
                         destination=found.get("DestinationS3Uri", ""))


def rollout_code(endpoint: str, model_name: str, package_arn: str,
                 deployment: dict[str, Any], alarms: list[dict[str, Any]]) -> str:
    """The boto3 code of a guarded rollout, with its real names."""
    return f'''\
import boto3

sm, cloudwatch = boto3.client("sagemaker"), boto3.client("cloudwatch")
sm.create_model(ModelName={json.dumps(model_name)},
                PrimaryContainer={{"ModelPackageName": {json.dumps(package_arn)}}}, ...)
sm.create_endpoint_config(EndpointConfigName={json.dumps(model_name)}, ...)
for alarm in {json.dumps(alarms, indent=4)}:
    cloudwatch.put_metric_alarm(**alarm)
sm.update_endpoint(
    EndpointName={json.dumps(endpoint)},
    EndpointConfigName={json.dumps(model_name)},
    DeploymentConfig={json.dumps(deployment, indent=4)},
)
# SageMaker shifts the traffic step by step; an alarm in ALARM rolls it back by itself.
'''
