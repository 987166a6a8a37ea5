"""The local twin: groups and the online store in SQLite, the offline store in Parquet.

Everything lives under `<workspace>/featurestore/`: `online.db` (catalog and online tables,
WAL mode) and `offline/` (Parquet per group). Input is checked before anything is written,
so a refused call changes nothing.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lab.errors import InputError
from lab.featurestore import _offline, _online
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
    RecordNotFoundError,
    SchemaError,
)
from lab.featurestore._schema import (
    check_features,
    check_keys,
    check_name,
    conform,
    glue_table_name,
    infer_definitions,
    record_key,
)
from lab.twins import Twin
from lab.workspace import Workspace

MAX_BATCH_GET = 100


class LocalFeatureStore(Twin):
    offline_delay_s = 0.0
    runs_locally = True  # catalog and queries: files on this machine
    note = ("The offline store is Parquet files queried with DuckDB and the online store is "
            "SQLite, both in the workspace: ingested rows can be queried at once.")

    def __init__(self, settings: Any) -> None:
        """`settings` (lab.settings.Settings), or a Workspace, or a workspace folder."""
        super().__init__(settings)
        if isinstance(settings, Workspace):
            workspace = settings
        else:
            workspace = Workspace(getattr(settings, "workspace", settings))
        self.root = workspace.path("featurestore")
        self.offline_root = self.root / "offline"
        self.db = _online.OnlineDB(self.root / "online.db")

    def __repr__(self) -> str:
        return f"LocalFeatureStore({str(self.root)!r})"

    # Groups.
    def create_group(self, name: str, frame: pd.DataFrame, record_identifier: str = "record_id",
                     event_time: str = "event_time", *, online: bool = True,
                     description: str = "") -> FeatureGroupInfo:
        check_name(name)
        definitions = infer_definitions(frame)
        check_keys(definitions, record_identifier, event_time)
        created = time.time()
        # SageMaker names the folder <group>-<created>; the suffix keeps a re-created group
        # clear of files a concurrent delete of its predecessor is still removing.
        group_dir = self.offline_root / f"{name}-{int(created)}-{uuid.uuid4().hex[:6]}"
        meta = {"name": name, "record_identifier": record_identifier, "event_time": event_time,
                "definitions": definitions, "created": created, "online_enabled": online,
                "offline_dir": str(group_dir), "description": description or ""}
        try:
            with self.db.write() as conn:
                if self.db.group(name) is not None:
                    raise GroupExistsError(f"A feature group named {name!r} already exists: "
                                           "pick another name, or delete that group first.")
                meta = _online.add_group(conn, meta)
                _offline.write_schema_file(group_dir, definitions)
        except BaseException:
            shutil.rmtree(group_dir, ignore_errors=True)
            raise
        return self._info(meta)

    def describe_group(self, name: str) -> FeatureGroupInfo:
        return self._info(self._meta(name))

    def list_groups(self) -> list[FeatureGroupInfo]:
        return [self._info(m) for m in self.db.groups()]

    def delete_group(self, name: str) -> None:
        """Delete the group with its online records and its offline files."""
        with self.db.write() as conn:
            meta = self._meta(name)
            _online.drop_group(conn, meta)
        shutil.rmtree(meta["offline_dir"], ignore_errors=True)

    # Writing.
    def ingest(self, name: str, frame: pd.DataFrame,
               progress: Progress | None = None) -> IngestResult:
        return self._write(name, frame, None, progress)

    def put_record(self, name: str, values: Mapping[str, Any],
                   target_stores: Sequence[str] = (ONLINE, OFFLINE)) -> IngestResult:
        if not isinstance(values, Mapping) or not values:
            raise SchemaError("A record is a mapping of feature names to values.")
        unknown = set(target_stores) - {ONLINE, OFFLINE}
        if unknown or not target_stores:
            raise InputError(f"Target stores are {ONLINE} and/or {OFFLINE}, "
                             f"not {sorted(unknown) or 'none'}.")
        frame = pd.DataFrame([dict(values)])
        return self._write(name, frame, tuple(target_stores), None)

    def _write(self, name: str, frame: pd.DataFrame, stores: Sequence[str] | None,
               progress: Progress | None) -> IngestResult:
        """Write to `stores`, or (None) to every store the group has, as SageMaker does."""
        report = progress or (lambda fraction, message: None)
        started = time.perf_counter()
        meta = self._meta(name)
        if stores is None:
            stores = (ONLINE, OFFLINE) if meta["online_enabled"] else (OFFLINE,)
        table, seconds, keys = conform(frame, meta["definitions"], meta["record_identifier"],
                                       meta["event_time"])
        if ONLINE in stores and not meta["online_enabled"]:
            raise InputError(f"The group {name!r} has no online store; write to the "
                             f"{OFFLINE} only, or create the group with the online store on.")
        if OFFLINE in stores:
            report(0.1, f"Writing {len(table)} rows to the offline store")
            _offline.append(Path(meta["offline_dir"]), table, meta["definitions"], time.time())
        if ONLINE in stores:
            report(0.5, f"Writing {len(table)} rows to the online store")
            with self.db.write() as conn:
                _online.upsert(conn, meta, zip(keys, seconds.tolist(), *_columns(table)))
        report(1.0, f"Ingested {len(table)} rows into {name}")
        return IngestResult(group=meta["name"], rows=len(table),
                            seconds=time.perf_counter() - started)

    # Reading.
    def query(self, sql: str) -> QueryResult:
        started = time.perf_counter()
        frame = _offline.query(sql, self.db.groups(), self.offline_root)
        return QueryResult(sql=sql, frame=frame, seconds=time.perf_counter() - started)

    def get_record(self, name: str, record_id: Any,
                   features: Sequence[str] | None = None) -> Record:
        batch = self.batch_get_records(name, [record_id], features)
        if not batch.records:
            raise RecordNotFoundError(f"The online store of {name!r} holds no record with "
                                      f"id {record_id!r}: check the id (ingest it first).")
        record = batch.records[0]
        return Record(record.group, record.record_id, record.values, batch.seconds)

    def batch_get_records(self, name: str, record_ids: Sequence[Any],
                          features: Sequence[str] | None = None) -> BatchRecords:
        started = time.perf_counter()
        meta = self._meta(name)
        if not meta["online_enabled"]:
            raise InputError(f"The group {name!r} has no online store; query its offline "
                             "store with SQL instead.")
        if isinstance(record_ids, (str, bytes)) or not 0 < len(record_ids) <= MAX_BATCH_GET:
            raise InputError(f"Ask for 1 to {MAX_BATCH_GET} record ids at a time, as a list.")
        names = check_features(meta["definitions"], meta["name"], features)
        kind = meta["definitions"][meta["record_identifier"]]
        keys = list(dict.fromkeys(record_key(r, kind) for r in record_ids))
        try:
            found = _online.fetch(self.db.connect(), meta, keys, names)
        except sqlite3.OperationalError as exc:  # the group was deleted meanwhile
            raise GroupNotFoundError(f"The feature group {name!r} was just deleted.") from exc
        elapsed = time.perf_counter() - started
        records = [Record(meta["name"], k, found[k], elapsed) for k in keys if k in found]
        return BatchRecords(meta["name"], records, [k for k in keys if k not in found],
                            elapsed)

    def close(self) -> None:
        self.db.close()

    # Helpers.
    def _meta(self, name: str) -> dict[str, Any]:
        meta = self.db.group(check_name(name))
        if meta is None:
            names = [m["name"] for m in self.db.groups()]
            raise GroupNotFoundError(
                f"There is no feature group {name!r} in this workspace. "
                + (f"Existing groups: {', '.join(names)}." if names
                   else "Create one first (ingest the prepared data)."))
        return meta

    def _info(self, meta: dict[str, Any]) -> FeatureGroupInfo:
        online_rows = None
        if meta["online_enabled"]:
            try:
                online_rows = _online.count(self.db.connect(), meta)
            except sqlite3.OperationalError:
                online_rows = 0
        return FeatureGroupInfo(
            name=meta["name"], record_identifier=meta["record_identifier"],
            event_time=meta["event_time"], definitions=meta["definitions"],
            created=meta["created"], table_name=glue_table_name(meta["name"], meta["created"]),
            online_enabled=meta["online_enabled"], offline_location=meta["offline_dir"],
            online_rows=online_rows, offline_rows=_offline.count_rows(meta["offline_dir"]),
            description=meta["description"])


def _columns(table: pd.DataFrame) -> list[list]:
    """Columns as Python values, missing ones as None (SQLite cannot bind numpy scalars)."""
    out = []
    for name in table.columns:
        column = table[name]
        if column.dtype in (np.int64, np.float64):  # NaN is stored as NULL
            out.append(column.tolist())
        else:
            out.append(column.astype(object).where(column.notna(), None).tolist())
    return out
