"""Monitoring on SageMaker: the baseline in S3, captured requests from the endpoint's
DataCaptureConfig destination, metrics from CloudWatch.

    publish_baseline   statistics.json and constraints.json uploaded to
                       s3://<bucket>/<workspace folder>/monitoring/baseline/<digest>/, the
                       URI the gated pipeline's data-quality check reads (DataBaseline)
    captured           the endpoint's capture files, <destination>/<endpoint>/<variant>/
                       yyyy/mm/dd/hh/*.jsonl, newest first until `limit` records
    metrics            GetMetricData of AWS/SageMaker per minute: Invocations, the 4XX and
                       5XX errors, ModelLatency p50 and p99 (microseconds, shown in ms)

Drift is computed by the lab from the captured rows with the same statistics as the
baseline (`drift.py`): SageMaker Model Monitor, which runs such checks on a schedule in
its own container, is no longer open to new customers.
"""

from __future__ import annotations

import json
import time
from typing import Any

from lab.aws.errors import translated
from lab.aws.twin import SageMakerTwin
from lab.monitoring._api import Baseline, Capture, MetricPoint
from lab.monitoring._captured import to_capture

PERIOD_S = 60
MAX_OBJECTS = 200


class SageMakerMonitoring(SageMakerTwin):
    note = ("On SageMaker the endpoint writes its captured requests to S3 and its metrics to "
            "CloudWatch, per minute (they appear a few minutes after the traffic); the lab "
            "reads both and computes the drift itself, with the statistics of the baseline. "
            "SageMaker Model Monitor, which runs such checks on a schedule, is no longer "
            "open to new customers.")

    def publish_baseline(self, baseline: Baseline) -> str:
        from lab.monitoring._baseline import baseline_files

        prefix, files = baseline_files(self.settings, baseline)
        s3 = self.boto_session.client("s3")
        with translated():
            for key, path in files.items():
                s3.put_object(Bucket=self.bucket, Key=key, Body=path.read_bytes(),
                              ContentType="application/json")
        return f"s3://{self.bucket}/{prefix}"

    def captured(self, endpoint: str, limit: int = 5000) -> list[Capture]:
        from lab.serving import open_endpoints

        destination = open_endpoints(self.settings).capture(endpoint).destination
        if not destination.startswith("s3://"):
            return []
        bucket, _, key = destination[len("s3://"):].partition("/")
        prefix = f"{key.rstrip('/')}/{endpoint}/"
        s3 = self.boto_session.client("s3")
        objects = []
        with translated():
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                     Prefix=prefix):
                objects += [o for o in page.get("Contents", []) if o["Key"].endswith(".jsonl")]
        objects.sort(key=lambda o: (o["LastModified"], o["Key"]))
        found: list[Capture] = []
        for item in reversed(objects[-MAX_OBJECTS:]):
            variant = item["Key"][len(prefix):].split("/", 1)[0]
            with translated():
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            batch = []
            for line in body.decode("utf-8", errors="replace").splitlines():
                try:
                    capture = to_capture(json.loads(line), endpoint, variant)
                except ValueError:
                    continue
                if capture is not None:
                    batch.append(capture)
            found = batch + found
            if len(found) >= limit:
                break
        return found[-limit:]

    def metrics(self, endpoint: str, since: float) -> list[MetricPoint]:
        cloudwatch = self.boto_session.client("cloudwatch")
        dims = [{"Name": "EndpointName", "Value": endpoint},
                {"Name": "VariantName", "Value": "AllTraffic"}]

        def query(qid: str, metric: str, stat: str) -> dict[str, Any]:
            return {"Id": qid, "ReturnData": True, "MetricStat": {
                "Metric": {"Namespace": "AWS/SageMaker", "MetricName": metric,
                           "Dimensions": dims}, "Period": PERIOD_S, "Stat": stat}}

        queries = [query("inv", "Invocations", "Sum"),
                   query("e4", "Invocation4XXErrors", "Sum"),
                   query("e5", "Invocation5XXErrors", "Sum"),
                   query("p50", "ModelLatency", "p50"), query("p99", "ModelLatency", "p99")]
        with translated():
            answer = cloudwatch.get_metric_data(
                MetricDataQueries=queries, StartTime=since, EndTime=time.time())
        series: dict[str, dict[float, float]] = {}
        for result in answer.get("MetricDataResults", []):
            series[result["Id"]] = {t.timestamp(): v for t, v in
                                    zip(result.get("Timestamps", []), result.get("Values", []))}
        points = []
        for at in sorted(set().union(*series.values()) if series else []):
            errors = series.get("e4", {}).get(at, 0) + series.get("e5", {}).get(at, 0)
            p50, p99 = series.get("p50", {}).get(at), series.get("p99", {}).get(at)
            points.append(MetricPoint("AllTraffic", at, PERIOD_S,
                                      int(series.get("inv", {}).get(at, 0)), int(errors),
                                      p50 / 1000 if p50 is not None else None,
                                      p99 / 1000 if p99 is not None else None))
        return points

    def code(self) -> list[Any]:
        return [SageMakerMonitoring.publish_baseline, SageMakerMonitoring.captured,
                SageMakerMonitoring.metrics]
