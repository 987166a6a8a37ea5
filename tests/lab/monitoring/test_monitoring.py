"""Endpoint monitoring: "send traffic" (optionally drifted), the view of what the endpoint
saw (metrics, captured requests, their drift); and the SageMaker twin reading S3 captures
and CloudWatch metrics under moto."""

from __future__ import annotations

import json
import time

import pytest

from lab import jobs
from lab.monitoring import (
    Changes,
    make_baseline,
    settled_view,
    traffic_job,
)
from lab.serving import CaptureConfig, deploy_model, open_endpoints, stop_server
from tests.lab.serving.srv_helpers import approved_versions
from tests.workspaces import trained_settings


@pytest.fixture
def served(tmp_path):
    settings = trained_settings(tmp_path)
    endpoint = deploy_model(settings, approved_versions(settings)["xgboost"].version)
    make_baseline(settings)
    yield settings, endpoint.name
    stop_server(settings)


def test_traffic_is_captured_and_its_drift_measured_against_the_baseline(served):
    settings, name = served
    open_endpoints(settings).set_capture(name, CaptureConfig(enabled=True))
    sent = jobs.run(settings, traffic_job(settings, rows=300, rate=500)).outcome()
    assert sent["sent"] == sent["answered"] == 300 and sent["lost"] == 0
    view = settled_view(settings, name, 300)
    assert view.requests == 300 and view.errors == 0
    assert len(view.captures) == 300 and view.captured_rows == 300
    assert view.drift.judged and view.drift.drifted == []  # the test split, unchanged
    assert view.points and {p.variant for p in view.points} == {"AllTraffic"}

    shifted = Changes(shift={"SQUARE_FEET": 2.0})
    jobs.run(settings, traffic_job(settings, rows=300, rate=500, changes=shifted)).outcome()
    view = settled_view(settings, name, 600)
    assert view.drift.drifted == ["SQUARE_FEET"], view.drift.table()
    assert view.to_json()["captured_records"] == 600


def test_capture_turned_on_applies_to_the_very_next_request(served):
    """The server had read the setting (off) a moment before: turned on in this process,
    the next request is captured (run-all turns it on and sends traffic at once)."""
    settings, name = served
    jobs.run(settings, traffic_job(settings, rows=5, rate=500)).outcome()  # capture off
    open_endpoints(settings).set_capture(name, CaptureConfig(enabled=True))
    sent = jobs.run(settings, traffic_job(settings, rows=20, rate=500)).outcome()
    view = settled_view(settings, name, 25)
    assert sent["answered"] == 20 and len(view.captures) == 20


def test_json_requests_are_captured_and_read_back_as_rows(served):
    """A client may send JSON, as the serving script's input_fn reads it on SageMaker: the
    captured JSON requests count as rows for drift, as CSV ones do."""
    import pandas as pd

    from lab.serving import ensure_server, runtime_client
    from lab.workspace import Workspace

    settings, name = served
    open_endpoints(settings).set_capture(name, CaptureConfig(enabled=True))
    test = pd.read_csv(Workspace(settings.workspace).processed_dir / "test" / "test.csv",
                       header=None).iloc[:, 1:]
    client = runtime_client(ensure_server(settings).url)
    rows = test.to_numpy(float).tolist()
    for i in range(0, 200, 20):  # 10 requests of 20 rows, half of them as {"instances"}
        chunk = rows[i:i + 20]
        client.invoke_endpoint(EndpointName=name, ContentType="application/json",
                               Body=json.dumps({"instances": chunk} if i % 40 else chunk))
    client.invoke_endpoint(EndpointName=name, ContentType="application/json",
                           Body=json.dumps(rows[200]))  # one row, not nested
    view = settled_view(settings, name, 11)
    assert len(view.captures) == 11 and view.captured_rows == 201
    assert view.drift.judged and view.drift.drifted == []  # the test split, unchanged


def test_traffic_with_missing_values_is_refused_by_the_endpoint_and_counted(served):
    settings, name = served
    holes = Changes(missing={"DECK": 0.5}, seed=1)
    sent = jobs.run(settings, traffic_job(settings, rows=40, rate=500, changes=holes)
                    ).outcome()
    assert sent["refused"] > 5 and sent["answered"] + sent["refused"] == 40
    assert set(sent["errors"]) == {"ModelError"} and sent["lost"] == 0
    view = settled_view(settings, name, 40)
    assert view.errors == sent["refused"] and "Nothing captured" in view.note


def test_bad_traffic_requests_are_refused_before_any_job(served):
    from lab.errors import InputError
    from lab.workspace import Workspace

    settings, _ = served
    for kwargs, message in [({"rows": 0}, "Send 1 to"), ({"rate": 10_000}, "requests a second"),
                            ({"changes": Changes(shift={"NOPE": 1})}, "No feature named NOPE")]:
        with pytest.raises(InputError, match=message):
            traffic_job(settings, **kwargs)
    assert jobs.JobStore(Workspace(settings.workspace)).list("traffic") == []


def test_the_sagemaker_twin_reads_s3_captures_and_cloudwatch_metrics(sm_settings, prepared):
    """Where SageMaker writes (S3, CloudWatch), the twin reads; written here as SageMaker
    writes them, under moto."""
    import datetime as dt

    import boto3

    from lab.monitoring import open_monitoring
    from lab.serving._capture import record
    from tests.fake_aws import BUCKET, REGION

    settings = sm_settings.__class__(**{**sm_settings.__dict__,
                                        "workspace": prepared.workspace})
    monitor = open_monitoring(settings)
    uri = monitor.publish_baseline(make_baseline(settings))
    s3 = boto3.client("s3", region_name=REGION)
    prefix = uri.split(f"s3://{BUCKET}/", 1)[1]
    assert {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]} \
        == {f"{prefix}/statistics.json", f"{prefix}/constraints.json"}

    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_model(ModelName="m", ExecutionRoleArn=settings.sagemaker_role,
                    PrimaryContainer={"Image": "img"})
    destination = f"s3://{BUCKET}/captures"
    sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large"}], DataCaptureConfig={
        "EnableCapture": True, "InitialSamplingPercentage": 100,
        "DestinationS3Uri": destination, "CaptureOptions": [{"CaptureMode": "Input"}]})
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="c")
    lines = [json.dumps(record(f"{i},1,2,3,4,5,6,7".encode(), "text/csv", b"[1.0]",
                               "application/json")) for i in range(3)]
    s3.put_object(Bucket=BUCKET, Key="captures/ep/AllTraffic/2026/01/31/12/a.jsonl",
                  Body="\n".join(lines).encode())
    found = monitor.captured("ep")
    assert [c.input.split(",")[0] for c in found] == ["0", "1", "2"]
    assert found[0].variant == "AllTraffic" and found[0].output == "[1.0]"

    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    dims = [{"Name": "EndpointName", "Value": "ep"}, {"Name": "VariantName",
                                                      "Value": "AllTraffic"}]
    cloudwatch.put_metric_data(Namespace="AWS/SageMaker", MetricData=[
        {"MetricName": "Invocations", "Dimensions": dims, "Timestamp": now, "Value": 42},
        {"MetricName": "Invocation5XXErrors", "Dimensions": dims, "Timestamp": now,
         "Value": 2}])
    points = monitor.metrics("ep", time.time() - 600)
    assert [(p.requests, p.errors, p.period_s) for p in points] == [(42, 2, 60)]
