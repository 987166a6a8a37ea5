"""Feature Store: feature groups with an offline store (SQL) and an online store (by id).

    store = open_featurestore(settings)       # the backend the settings name
    store.create_group("lab-train", df)       # types inferred: Integral, Fractional, String
    store.ingest("lab-train", df)
    store.query('SELECT * FROM "lab-train"')  # the offline store, as Athena would run it
    store.get_record("lab-train", 42)         # the online store, newest event time wins

Two implementations of one interface (`FeatureStore`, in `_api.py`): `LocalFeatureStore`
(Parquet + DuckDB offline, SQLite online, under the workspace) and `SageMakerFeatureStore`
(SDK v2 FeatureGroup, Athena, and the sagemaker-featurestore-runtime client). The
workshop's use of them (one group per prepared split, the ingest job, the read-back query)
is `_workshop.py`. Nothing here imports boto3 or the SDK until SageMaker is called.
"""

from __future__ import annotations

from typing import Any

from lab.lazy import exports
from lab.twins import open_twin

IMPLEMENTATIONS = {"local": "lab.featurestore._local:LocalFeatureStore",
                   "sagemaker": "lab.featurestore._sagemaker:SageMakerFeatureStore"}


def open_featurestore(settings: Any, **options: Any) -> Any:
    """The feature store (a `FeatureStore`) of the settings' backend; `options` go to its
    constructor (tests hand the SageMaker twin a session or a runtime client)."""
    return open_twin(IMPLEMENTATIONS, settings, **options)


__getattr__, __dir__, _lazy = exports(__name__, {
    **dict.fromkeys(["OFFLINE", "ONLINE", "BatchRecords", "FeatureGroupInfo", "FeatureStore",
                     "IngestResult", "Progress", "QueryResult", "Record"], "_api"),
    **dict.fromkeys(["GroupExistsError", "GroupNotFoundError", "IngestionError",
                     "InvalidNameError", "QueryError", "RecordNotFoundError", "SchemaError"],
                    "_errors"),
    **dict.fromkeys(["check_name", "decode", "infer_definitions"], "_schema"),
    "decode_record": "_runtime",
    **dict.fromkeys(["EVENT_TIME", "INGEST_KIND", "RECORD_ID", "DistributionCheck", "code",
                     "run_all_step",
                     "PreparedIngest", "distribution_check", "group_names", "ingest_job",
                     "ingest_prepared", "last_ingest", "offline_wait_left", "prepare_and_ingest",
                     "prepared_frames", "store_lock", "workshop_query"], "_workshop"),
    "LocalFeatureStore": "_local", "SageMakerFeatureStore": "_sagemaker",
})
__all__ = ["IMPLEMENTATIONS", "open_featurestore", *_lazy]
