"""Feature Store: feature groups with an offline store (SQL) and an online store (by id).

    store = open_store(settings)              # the backend the settings name
    store.create_group("lab-train", df)       # types inferred: Integral, Fractional, String
    store.ingest("lab-train", df)
    store.query('SELECT * FROM "lab-train"')  # the offline store, as Athena would run it
    store.get_record("lab-train", 42)         # the online store, newest event time wins

Two implementations of one interface: `LocalFeatureStore` (Parquet + DuckDB offline,
SQLite online, under the workspace) and `SageMakerFeatureStore` (SDK v2 FeatureGroup,
Athena, and the sagemaker-featurestore-runtime client). Neither imports boto3 or the
SageMaker SDK until a SageMaker store is opened.
"""

from __future__ import annotations

from typing import Any

from lab.featurestore._errors import (
    GroupExistsError,
    GroupNotFoundError,
    IngestionError,
    InvalidNameError,
    QueryError,
    RecordNotFoundError,
    SchemaError,
)
from lab.featurestore._local import LocalFeatureStore
from lab.featurestore._models import (
    OFFLINE,
    ONLINE,
    BatchRecords,
    FeatureGroupInfo,
    FeatureStore,
    IngestResult,
    Progress,
    QueryResult,
    Record,
)
from lab.featurestore._sagemaker import SageMakerFeatureStore
from lab.featurestore._schema import check_name, infer_definitions
from lab.featurestore._workshop import (
    INGEST_KIND,
    PreparedIngest,
    group_names,
    ingest_prepared,
    offline_wait_left,
    prepared_frames,
    run_ingest_job,
    start_ingest_job,
    workshop_query,
)

STORES: dict[str, type] = {"local": LocalFeatureStore, "sagemaker": SageMakerFeatureStore}


def open_store(settings: Any, **options: Any) -> FeatureStore:
    """The feature store of the settings' backend; `options` go to its constructor."""
    return STORES[settings.backend](settings, **options)


__all__ = [
    "INGEST_KIND", "offline_wait_left", "run_ingest_job", "start_ingest_job",
    "OFFLINE", "ONLINE", "STORES", "BatchRecords", "FeatureGroupInfo", "FeatureStore",
    "GroupExistsError", "GroupNotFoundError", "IngestResult", "IngestionError",
    "InvalidNameError", "LocalFeatureStore", "PreparedIngest", "Progress", "QueryError",
    "QueryResult", "Record", "RecordNotFoundError", "SageMakerFeatureStore", "SchemaError",
    "check_name", "group_names", "infer_definitions", "ingest_prepared", "open_store",
    "prepared_frames", "workshop_query",
]
