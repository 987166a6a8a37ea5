"""The feature store's interface (`FeatureStore`) and what it hands back.

Both twins implement it: `LocalFeatureStore` (Parquet + DuckDB offline, SQLite online) and
`SageMakerFeatureStore` (the SDK's FeatureGroup, Athena, the Feature Store runtime). They
also answer `offline_delay_s`: how long ingested rows may take to reach the offline store
(0 locally; up to 15 minutes on SageMaker), which the page shows instead of testing the
backend's name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import pandas as pd

Progress = Callable[[float, str], None]

ONLINE, OFFLINE = "OnlineStore", "OfflineStore"


@dataclass(frozen=True)
class FeatureGroupInfo:
    name: str
    record_identifier: str
    event_time: str
    definitions: dict[str, str]  # feature name -> Integral | Fractional | String, in order
    created: float  # unix seconds
    table_name: str  # the Athena (Glue) table the offline store is queried as
    online_enabled: bool = True
    offline_location: str = ""
    status: str = "Created"
    # Counting is cheap locally; SageMaker has no API for it, so there they stay None.
    online_rows: int | None = None
    offline_rows: int | None = None
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class IngestResult:
    group: str
    rows: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class QueryResult:
    sql: str
    frame: pd.DataFrame
    seconds: float

    @property
    def rows(self) -> int:
        return len(self.frame)

    def to_json(self, limit: int | None = 100) -> dict[str, Any]:
        shown = self.frame if limit is None else self.frame.head(limit)
        data = [[_plain(v) for v in row] for row in shown.itertuples(index=False, name=None)]
        return {"sql": self.sql, "rows": self.rows, "seconds": self.seconds,
                "columns": [str(c) for c in self.frame.columns], "data": data}


def _plain(value: Any) -> Any:
    """A JSON-ready cell: None for missing, ISO text for timestamps, Python numbers."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value


@dataclass(frozen=True)
class Record:
    group: str
    record_id: str
    values: dict[str, Any]
    seconds: float  # latency of the lookup itself

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BatchRecords:
    group: str
    records: list[Record]
    missing: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"group": self.group, "records": [r.to_json() for r in self.records],
                "missing": self.missing, "seconds": self.seconds}


class FeatureStore(Protocol):
    """One feature store: groups, ingestion, the offline store (SQL) and the online store."""

    backend: str
    offline_delay_s: float  # how long ingested rows may take to reach the offline store
    runs_locally: bool  # catalog and queries are files here: no network call, no bill

    def create_group(self, name: str, frame: pd.DataFrame, record_identifier: str = "record_id",
                     event_time: str = "event_time", *, online: bool = True,
                     description: str = "") -> FeatureGroupInfo: ...

    def describe_group(self, name: str) -> FeatureGroupInfo: ...

    def list_groups(self) -> list[FeatureGroupInfo]: ...

    def delete_group(self, name: str) -> None: ...

    def ingest(self, name: str, frame: pd.DataFrame,
               progress: Progress | None = None) -> IngestResult: ...

    def query(self, sql: str) -> QueryResult: ...

    def get_record(self, name: str, record_id: Any,
                   features: Sequence[str] | None = None) -> Record: ...

    def batch_get_records(self, name: str, record_ids: Sequence[Any],
                          features: Sequence[str] | None = None) -> BatchRecords: ...

    def put_record(self, name: str, values: Mapping[str, Any],
                   target_stores: Sequence[str] = (ONLINE, OFFLINE)) -> IngestResult: ...

    def close(self) -> None: ...
