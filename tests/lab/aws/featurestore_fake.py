"""The Feature Store's data plane and Athena, played for tests (`FeatureStorePlay`).

Moto has no `sagemaker-featurestore-runtime` and runs no Athena query (it answers with no
rows). So, on the boto3 session the lab makes:

- PutRecord / GetRecord / BatchGetRecord are answered from an in-memory store before any
  HTTP request (botocore's `before-call` event, the hook botocore's own Stubber uses):
  the online store keeps each record's newest event time; the offline store keeps every
  write with SageMaker's `write_time`, `api_invocation_time` and `is_deleted` columns;
- the offline store is written to the group's S3 location as Parquet (as SageMaker does,
  later), when a query runs: `visible_rows` limits how many of a group's records have
  "arrived" (the store fills over minutes on AWS);
- each Athena query that moto accepts is run for real, with DuckDB, on the offline records
  of the groups whose Glue table names it reads, and its CSV result is written where Athena
  writes it (`<OutputLocation>/<QueryExecutionId>.csv`), where the SDK downloads it.
"""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pandas as pd

_TYPES = {"Integral": "int64", "Fractional": "float64", "String": "string"}


class FeatureStorePlay:
    def __init__(self, account: str, region: str) -> None:
        self.account, self.region = account, region
        self.online: dict[str, dict[str, list]] = {}  # group -> record id -> record
        self.offline: dict[str, list[dict[str, Any]]] = {}  # group -> rows written
        self.visible_rows: dict[str, int] = {}  # group -> rows that have "arrived"
        self.puts = 0
        self.queries: list[str] = []
        self._lock = threading.Lock()

    def attach(self, boto_session: Any) -> None:
        """Answer the runtime, and run Athena's queries, for clients made from now on."""
        events = boto_session.events
        for op in ("PutRecord", "GetRecord", "BatchGetRecord"):
            events.register(f"before-call.sagemaker-featurestore-runtime.{op}",
                            getattr(self, f"_{op}"))
        events.register("after-call.athena.StartQueryExecution", self._query_started)

    # The runtime.
    def _PutRecord(self, params: dict, **_: Any):  # noqa: N802 (the operation's name)
        group, record = _group_of(params), _body(params)["Record"]
        values = {f["FeatureName"]: f["ValueAsString"] for f in record}
        info = self._group(group)
        event_key = values.get(info["EventTimeFeatureName"], "0")
        now = time.time()
        with self._lock:
            self.puts += 1
            online = self.online.setdefault(group, {})
            rid = values[info["RecordIdentifierFeatureName"]]
            old = online.get(rid)
            if old is None or float(_event(old, info)) <= float(event_key):
                online[rid] = record
            self.offline.setdefault(group, []).append(
                {**values, "write_time": now, "api_invocation_time": now, "is_deleted": False})
        return _answer({})

    def _GetRecord(self, params: dict, **_: Any):  # noqa: N802
        query = params.get("query_string") or {}
        record = self.online.get(_group_of(params), {}).get(
            query["RecordIdentifierValueAsString"])
        names = query.get("FeatureName")
        names = [names] if isinstance(names, str) else names
        return _answer({"Record": _only(record, names)} if record else {})

    def _BatchGetRecord(self, params: dict, **_: Any):  # noqa: N802
        found, missing = [], []
        for ask in _body(params)["Identifiers"]:
            for rid in ask["RecordIdentifiersValueAsString"]:
                record = self.online.get(ask["FeatureGroupName"], {}).get(rid)
                if record is None:
                    missing.append(rid)
                else:
                    found.append({"FeatureGroupName": ask["FeatureGroupName"],
                                  "RecordIdentifierValueAsString": rid,
                                  "Record": _only(record, ask.get("FeatureNames"))})
        return _answer({"Records": found, "Errors": [], "UnprocessedIdentifiers": []})

    # The offline store and Athena.
    def _group(self, name: str) -> dict[str, Any]:
        from moto.sagemaker.models import sagemaker_backends

        backend = sagemaker_backends[self.account][self.region]
        for group in backend.feature_groups.values():
            if group.feature_group_name == name:
                return group.describe()
        raise KeyError(name)

    def frame(self, name: str) -> pd.DataFrame:
        """The offline store of a group as Athena would read it (what has arrived)."""
        info = self._group(name)
        rows = self.offline.get(name, [])
        rows = rows[: self.visible_rows.get(name, len(rows))]
        columns = [d["FeatureName"] for d in info["FeatureDefinitions"]]
        frame = pd.DataFrame(rows, columns=[*columns, "write_time", "api_invocation_time",
                                            "is_deleted"])
        for definition in info["FeatureDefinitions"]:
            name_, kind = definition["FeatureName"], _TYPES[definition["FeatureType"]]
            frame[name_] = frame[name_].astype(kind if kind != "int64" else "Int64")
        return frame

    def _query_started(self, parsed: dict, **_: Any) -> None:
        import boto3
        import duckdb
        from moto.athena.models import athena_backends

        execution = athena_backends[self.account][self.region].executions[
            parsed["QueryExecutionId"]]
        self.queries.append(execution.query)
        connection = duckdb.connect()
        s3 = boto3.client("s3", region_name=self.region)
        for name in list(self.offline) or []:
            info = self._group(name)
            table = info["OfflineStoreConfig"]["DataCatalogConfig"]["TableName"]
            frame = self.frame(name)
            self._write_offline_files(s3, info, frame)
            connection.register(table, frame)
        result = connection.execute(execution.query).fetchdf()
        location = execution.config["OutputLocation"].rstrip("/")
        if not location.endswith(".csv"):  # moto already names the file, as Athena does
            location += f"/{parsed['QueryExecutionId']}.csv"
        bucket, key = location[len("s3://"):].split("/", 1)
        buffer = io.StringIO()
        result.to_csv(buffer, index=False)
        s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue().encode())

    def _write_offline_files(self, s3: Any, info: dict, frame: pd.DataFrame) -> None:
        """SageMaker's part: the offline store's files under the group's S3 location."""
        uri = info["OfflineStoreConfig"]["S3StorageConfig"]["ResolvedOutputS3Uri"]
        bucket, prefix = uri[len("s3://"):].split("/", 1)
        day = datetime.now(UTC).strftime("year=%Y/month=%m/day=%d")
        buffer = io.BytesIO()
        frame.astype(str).to_parquet(buffer, index=False)
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{day}/records.parquet",
                      Body=buffer.getvalue())


def _group_of(params: dict) -> str:
    """The group named in a REST path, /FeatureGroup/<name>."""
    from urllib.parse import unquote

    return unquote(params["url_path"].split("/FeatureGroup/", 1)[1].split("?", 1)[0])


def _body(params: dict) -> dict:
    """The request's JSON body (botocore has serialized it by `before-call`)."""
    body = params["body"]
    return json.loads(body.decode() if isinstance(body, bytes) else body)


def _event(record: list[dict], info: dict) -> str:
    return next((f["ValueAsString"] for f in record
                 if f["FeatureName"] == info["EventTimeFeatureName"]), "0")


def _only(record: list[dict], names: list[str] | None) -> list[dict]:
    return record if not names else [f for f in record if f["FeatureName"] in names]


def _answer(body: dict) -> tuple[Any, dict]:
    """What a `before-call` handler returns instead of a request: (http, parsed)."""
    from botocore.awsrequest import AWSResponse

    http = AWSResponse("https://featurestore-runtime.test", 200, {},
                       _Raw(json.dumps(body).encode()))
    return http, {**body, "ResponseMetadata": {"HTTPStatusCode": 200}}


class _Raw:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, *_: Any, **__: Any):
        yield self.data
