"""The SageMaker twin: SDK v2 `FeatureGroup` for the control plane and Athena, and the
backend's own `sagemaker-featurestore-runtime` client for reads and writes.

Nothing here imports boto3 or the SDK at module load, nor when the store is opened: the
first AWS call does. Feature group names are shared by the whole account and region, so
the workshop's groups carry a workspace suffix (`resource_name`), and every group is
tagged with the workspace.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from lab.aws import names, polling
from lab.aws.errors import translate
from lab.aws.ledger import Ledger
from lab.aws.session import import_sagemaker, sdk_logging_guard
from lab.aws.twin import SageMakerTwin
from lab.errors import BackendError, InputError
from lab.featurestore import _runtime
from lab.featurestore._api import (
    OFFLINE,
    ONLINE,
    BatchRecords,
    FeatureGroupInfo,
    IngestResult,
    Progress,
    QueryResult,
    Record,
)
from lab.featurestore._errors import (
    GroupExistsError,
    GroupNotFoundError,
    IngestionError,
    QueryError,
    RecordNotFoundError,
    SchemaError,
)
from lab.featurestore._schema import (
    check_features,
    check_keys,
    check_name,
    conform,
    infer_definitions,
    record_key,
)

MAX_BATCH_GET = 100
OFFLINE_DELAY_S = 15 * 60  # AWS: offline data appears "within 15 minutes"
_FROM = re.compile(r'(?i)\b(from|join)(\s+)("?)([A-Za-z0-9][A-Za-z0-9_-]*)\3(?![\w.-])')
_READ_ONLY = re.compile(r"(?is)^\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*(select|with)\b")


class SageMakerFeatureStore(SageMakerTwin):
    offline_delay_s = float(OFFLINE_DELAY_S)
    runs_locally = False  # catalog and queries: AWS calls (Athena is billed per query)
    note = ("On SageMaker, the offline store is written to S3 in the background: new data "
            "can take up to 15 minutes to show in Athena.")

    def __init__(self, settings: Any, *, session: Any = None, runtime_client: Any = None,
                 max_workers: int = 8, batch_size: int = 250, poll_seconds: float = 5.0,
                 create_timeout_s: float = 600.0) -> None:
        super().__init__(settings, session=session)
        self.max_workers, self.batch_size = max_workers, batch_size
        self.poll_seconds, self.create_timeout_s = poll_seconds, create_timeout_s
        self.prefix = f"{names.s3_prefix(settings)}/featurestore"
        self._runtime = runtime_client
        self._infos: dict[str, FeatureGroupInfo] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "SageMakerFeatureStore()"

    @property
    def runtime(self) -> Any:
        """The `sagemaker-featurestore-runtime` client (made on first use)."""
        if self._runtime is None:
            from botocore.config import Config

            self._runtime = self.boto_session.client(
                "sagemaker-featurestore-runtime", config=Config(
                    max_pool_connections=self.max_workers,
                    retries={"mode": "standard", "max_attempts": 5}))
        return self._runtime

    @property
    def _fg(self) -> Any:
        import_sagemaker()
        with sdk_logging_guard():
            from sagemaker.feature_store import feature_group
        return feature_group

    @property
    def _fd(self) -> Any:
        import_sagemaker()
        with sdk_logging_guard():
            from sagemaker.feature_store import feature_definition
        return feature_definition

    # Groups.
    def create_group(self, name: str, frame: pd.DataFrame, record_identifier: str = "record_id",
                     event_time: str = "event_time", *, online: bool = True,
                     description: str = "") -> FeatureGroupInfo:
        check_name(name)
        definitions = infer_definitions(frame)
        check_keys(definitions, record_identifier, event_time)
        if not self.settings.sagemaker_role:
            raise BackendError("Creating a feature group needs a SageMaker execution role: set "
                               "LAB_SAGEMAKER_ROLE to its ARN.")
        group = self._group(name, [self._fd.FeatureDefinition(n, self._fd.FeatureTypeEnum(t))
                                   for n, t in definitions.items()])
        s3_uri = f"s3://{self.bucket}/{self.prefix}"
        create = dict(name=name, s3_uri=s3_uri, record_identifier_name=record_identifier,
                      event_time_feature_name=event_time, role_arn=self.settings.sagemaker_role,
                      enable_online_store=online, description=description or None,
                      tags=self.tags)
        try:
            self._call(group.create, **create)
        except GroupExistsError:
            if not self._wait_if_deleting(name):
                raise
            self._call(group.create, **create)  # the old group of that name is gone now
        self._infos.pop(name, None)
        Ledger(self.settings).start(
            "features", "feature-group", name, region=self.region,
            console_url=self.console_url(f"#/feature-groups/{name}/details"),
            code=group_code(name, definitions, s3_uri, record_identifier, event_time,
                            self.settings.sagemaker_role, online, description, self.tags))
        latest: list[FeatureGroupInfo] = []

        def describe() -> dict[str, Any]:
            latest[:] = [self.describe_group(name)]
            return {"status": latest[0].status}

        polling.wait_for(describe, lambda d: d["status"], ("Created", "CreateFailed"),
                         poll_s=self.poll_seconds, timeout_s=self.create_timeout_s,
                         what=f"The feature group {name!r}")
        info = latest[0]
        if info.status != "Created":
            raise BackendError(f"The feature group {name!r} could not be created "
                               f"({info.status}): {info.description}")
        return info

    def describe_group(self, name: str) -> FeatureGroupInfo:
        group = self._group(check_name(name))
        response = self._call(group.describe, name=name)
        features = list(response.get("FeatureDefinitions", []))
        while response.get("NextToken"):
            response = self._call(group.describe, response["NextToken"], name=name)
            features += response.get("FeatureDefinitions", [])
        info = group_info(response, features)
        if info.status == "Created":
            with self._lock:
                self._infos[name] = info
        return info

    def list_groups(self) -> list[FeatureGroupInfo]:
        """Every group of the account and region, described one by one (at most 100)."""
        client = self.session.sagemaker_client
        summaries = self._call(client.list_feature_groups, MaxResults=100,
                               SortBy="Name")["FeatureGroupSummaries"]
        return [self.describe_group(s["FeatureGroupName"]) for s in summaries]

    def delete_group(self, name: str, *, wait: bool = True) -> None:
        """Delete the group and its online store, and (with `wait`) return once SageMaker
        has finished: deletion is asynchronous. SageMaker keeps the offline files in S3 and
        the Glue table (the cleanup deletes those)."""
        self._call(self._group(check_name(name)).delete, name=name)
        self._infos.pop(name, None)
        if wait:
            self.wait_deleted(name)

    def wait_deleted(self, name: str) -> None:
        """Poll DescribeFeatureGroup until the group is gone (DeleteFailed: an error)."""
        client = self.session.sagemaker_client

        def describe() -> dict[str, Any]:
            try:
                with sdk_logging_guard():
                    found = client.describe_feature_group(FeatureGroupName=name)
            except Exception as exc:
                from lab.aws.errors import is_not_found

                if is_not_found(exc):
                    return {"status": "Deleted"}
                error = translate(exc)
                if error is None:
                    raise
                raise error from None
            return {"status": found.get("FeatureGroupStatus", ""),
                    "reason": found.get("FailureReason", "")}

        final = polling.wait_for(describe, lambda d: d["status"], ("Deleted", "DeleteFailed"),
                                 poll_s=self.poll_seconds, timeout_s=self.create_timeout_s,
                                 what=f"The feature group {name!r}")
        if final["status"] == "DeleteFailed":
            raise BackendError(f"SageMaker could not delete the feature group {name!r}: "
                               f"{final.get('reason') or 'no reason given'}. Look at it in "
                               "the SageMaker console, then try again.")
        Ledger(self.settings).close("feature-group", name, "Deleted")

    def _wait_if_deleting(self, name: str) -> bool:
        """A group of that name still being deleted (an earlier Recreate): wait it out.
        True when there was one (and it is gone now)."""
        try:
            info = self.describe_group(name)
        except GroupNotFoundError:
            return True
        if info.status != "Deleting":
            return False
        self.wait_deleted(name)
        return True

    # Writing.
    def ingest(self, name: str, frame: pd.DataFrame,
               progress: Progress | None = None) -> IngestResult:
        return self._write(name, frame, None, progress)

    def put_record(self, name: str, values: Mapping[str, Any],
                   target_stores: Sequence[str] = (ONLINE, OFFLINE)) -> IngestResult:
        if not isinstance(values, Mapping) or not values:
            raise SchemaError("A record is a mapping of feature names to values.")
        if not target_stores or set(target_stores) - {ONLINE, OFFLINE}:
            raise InputError(f"Target stores are {ONLINE} and/or {OFFLINE}.")
        return self._write(name, pd.DataFrame([dict(values)]), list(target_stores), None)

    def _write(self, name: str, frame: pd.DataFrame, stores: list[str] | None,
               progress: Progress | None) -> IngestResult:
        report = progress or (lambda fraction, message: None)
        started = time.perf_counter()
        info = self._schema(name)
        table, _, _ = conform(frame, info.definitions, info.record_identifier, info.event_time)
        rows = _runtime.encode_rows(table, info.definitions)
        done = [0]

        def on_batch(count: int) -> None:
            done[0] += count
            report(done[0] / max(1, len(rows)), f"PutRecord {done[0]}/{len(rows)} rows")

        report(0.0, f"Ingesting {len(rows)} rows with {self.max_workers} threads")
        failed = _runtime.put_rows(self.runtime, name, rows, max_workers=self.max_workers,
                                   batch_size=self.batch_size, target_stores=stores,
                                   on_batch=on_batch)
        if failed:
            raise IngestionError(f"{len(failed)} of {len(rows)} rows were not ingested into "
                                 f"{name!r} (first, row {failed[0][0]}: {failed[0][1]}).",
                                 [i for i, _ in failed])
        return IngestResult(group=name, rows=len(rows), seconds=time.perf_counter() - started)

    # Reading.
    def query(self, sql: str) -> QueryResult:
        """Run `sql` with Athena; a group's name (quoted or not) stands for its Glue table."""
        if not isinstance(sql, str) or not _READ_ONLY.match(sql):
            raise QueryError("Only SELECT (or WITH ... SELECT) queries can run on the offline "
                             "store.")
        started = time.perf_counter()
        text, groups = self._rewrite(sql)
        if groups:
            athena = self._call(self._group(groups[0]).athena_query, name=groups[0])
        else:
            athena = self._fg.AthenaQuery(catalog="AwsDataCatalog",
                                          database="sagemaker_featurestore", table_name="",
                                          sagemaker_session=self.session)
        self._call(athena.run, query_string=text,
                   output_location=f"s3://{self.bucket}/{self.prefix}/athena-results")
        self._call(athena.wait)
        status = self._call(athena.get_query_execution)["QueryExecution"]["Status"]
        if status["State"] != "SUCCEEDED":
            reason = status.get("StateChangeReason", status["State"]).strip().splitlines()[0]
            raise QueryError(f"Athena could not run the query: {reason}")
        try:
            with sdk_logging_guard():
                frame = athena.as_dataframe()
        except Exception as exc:  # noqa: BLE001 - e.g. the result file is not readable
            error = translate(exc)
            if error is None:
                raise
            raise QueryError(f"Athena ran the query but its result could not be read from "
                             f"s3://{self.bucket}/{self.prefix}/athena-results: {error}") from None
        return QueryResult(sql=text, frame=frame, seconds=time.perf_counter() - started)

    def _rewrite(self, sql: str) -> tuple[str, list[str]]:
        groups: list[str] = []

        def swap(match: re.Match) -> str:
            try:
                info = self._schema(match.group(4))
            except (GroupNotFoundError, InputError):
                return match.group(0)  # not a group: maybe a Glue table name already
            groups.append(info.name)
            return f'{match.group(1)}{match.group(2)}"{info.table_name}"'

        return _FROM.sub(swap, sql), groups

    def get_record(self, name: str, record_id: Any,
                   features: Sequence[str] | None = None) -> Record:
        info = self._schema(name)
        key = record_key(record_id, info.definitions[info.record_identifier])
        extra = _feature_names(info, features)
        started = time.perf_counter()
        response = self._call(self.runtime.get_record, name=name, FeatureGroupName=name,
                              RecordIdentifierValueAsString=key, **extra)
        elapsed = time.perf_counter() - started
        if not response.get("Record"):
            raise RecordNotFoundError(f"The online store of {name!r} holds no record with "
                                      f"id {record_id!r}: check the id (ingest it first).")
        return Record(name, key, _runtime.decode_record(response["Record"], info.definitions),
                      elapsed)

    def batch_get_records(self, name: str, record_ids: Sequence[Any],
                          features: Sequence[str] | None = None) -> BatchRecords:
        info = self._schema(name)
        if isinstance(record_ids, (str, bytes)) or not 0 < len(record_ids) <= MAX_BATCH_GET:
            raise InputError(f"Ask for 1 to {MAX_BATCH_GET} record ids at a time, as a list.")
        kind = info.definitions[info.record_identifier]
        keys = list(dict.fromkeys(record_key(r, kind) for r in record_ids))
        extra = _feature_names(info, features)
        found: dict[str, dict] = {}
        started, pending = time.perf_counter(), keys
        for _ in range(3):  # BatchGetRecord may leave some ids unprocessed; ask again
            response = self._call(self.runtime.batch_get_record, name=name, Identifiers=[
                {"FeatureGroupName": name, "RecordIdentifiersValueAsString": pending, **extra}])
            if response.get("Errors"):
                error = response["Errors"][0]
                raise BackendError(f"BatchGetRecord failed for id "
                                   f"{error.get('RecordIdentifierValueAsString')!r}: "
                                   f"{error.get('ErrorCode')} {error.get('ErrorMessage', '')}")
            for item in response.get("Records", []):
                found[item["RecordIdentifierValueAsString"]] = _runtime.decode_record(
                    item["Record"], info.definitions)
            pending = [k for u in response.get("UnprocessedIdentifiers", [])
                       for k in u.get("RecordIdentifiersValueAsString", [])]
            if not pending:
                break
        elapsed = time.perf_counter() - started
        return BatchRecords(name, [Record(name, k, found[k], elapsed) for k in keys if k in found],
                            [k for k in keys if k not in found], elapsed)

    def close(self) -> None:
        close = getattr(self.runtime, "close", None)
        if close:
            close()

    # Helpers.
    def _group(self, name: str, definitions: list | None = None) -> Any:
        return self._fg.FeatureGroup(name=name, sagemaker_session=self.session,
                                     feature_definitions=definitions or [])

    def _schema(self, name: str) -> FeatureGroupInfo:
        with self._lock:
            cached = self._infos.get(name)
        return cached or self.describe_group(name)

    def _call(self, fn: Any, *args: Any, name: str | None = None, **kwargs: Any) -> Any:
        """Call the SDK or boto3, turning AWS errors into the lab's errors."""
        try:
            with sdk_logging_guard():
                return fn(*args, **kwargs)
        except Exception as exc:
            error = translate(
                exc, not_found=GroupNotFoundError(f"There is no feature group {name!r} in this "
                                                  "AWS account and region."),
                exists=GroupExistsError(f"A feature group named {name!r} already exists: pick "
                                        "another name, or delete that group first."))
            if error is None:
                raise
            if isinstance(error, GroupNotFoundError):
                self._infos.pop(name or "", None)
            raise error from None


def group_code(name: str, definitions: dict[str, str], s3_uri: str, record_identifier: str,
               event_time: str, role: str | None, online: bool, description: str,
               tags: list[dict[str, str]]) -> str:
    """The SDK v2 code that created the group, with its real names and URIs."""
    features = ",\n".join(f"    FeatureDefinition({json.dumps(n)}, FeatureTypeEnum.{t.upper()})"
                          for n, t in definitions.items())
    return f'''\
import sagemaker
from sagemaker.feature_store.feature_definition import FeatureDefinition, FeatureTypeEnum
from sagemaker.feature_store.feature_group import FeatureGroup

session = sagemaker.Session()
group = FeatureGroup(name={json.dumps(name)}, sagemaker_session=session, feature_definitions=[
{features},
])
group.create(
    s3_uri={json.dumps(s3_uri)},
    record_identifier_name={json.dumps(record_identifier)},
    event_time_feature_name={json.dumps(event_time)},
    role_arn={json.dumps(role)},
    enable_online_store={online},
    description={json.dumps(description or None)},
    tags={json.dumps(tags)},
)
# The lab then writes each row with the Feature Store runtime (in parallel batches):
runtime = session.boto_session.client("sagemaker-featurestore-runtime")
# for each row: runtime.put_record(FeatureGroupName={json.dumps(name)},
#                                   Record=[{{"FeatureName": ..., "ValueAsString": ...}}])
'''


def _feature_names(info: FeatureGroupInfo, features: Sequence[str] | None) -> dict[str, Any]:
    if features is None:
        return {}
    return {"FeatureNames": check_features(info.definitions, info.name, features)}


def group_info(response: dict[str, Any], features: list[dict[str, Any]]) -> FeatureGroupInfo:
    offline = response.get("OfflineStoreConfig") or {}
    created = response.get("CreationTime")
    return FeatureGroupInfo(
        name=response["FeatureGroupName"],
        record_identifier=response["RecordIdentifierFeatureName"],
        event_time=response["EventTimeFeatureName"],
        definitions={f["FeatureName"]: f["FeatureType"] for f in features},
        created=created.timestamp() if hasattr(created, "timestamp") else float(created or 0),
        table_name=(offline.get("DataCatalogConfig") or {}).get("TableName", ""),
        online_enabled=bool((response.get("OnlineStoreConfig") or {}).get("EnableOnlineStore")),
        offline_location=(offline.get("S3StorageConfig") or {}).get("ResolvedOutputS3Uri", ""),
        status=response.get("FeatureGroupStatus", ""),
        description=response.get("Description") or response.get("FailureReason") or "")
