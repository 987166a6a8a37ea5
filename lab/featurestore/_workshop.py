"""The workshop's use of Feature Store: one group per prepared split, read back with SQL.

Group names are fixed per workspace: `lab-train`, `lab-validation`, `lab-test` on the local
backend (each workspace has its own store), and the same with `-<8 hex of the workspace
path>` on SageMaker, where names are shared by the whole account and region.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from lab.errors import InputError
from lab.featurestore._errors import GroupNotFoundError, SchemaError
from lab.featurestore._models import FeatureStore, Progress
from lab.featurestore._schema import infer_definitions
from lab.prep import SPLITS, load_prepared, read_meta
from lab.settings import resource_name
from lab.workspace import Workspace

RECORD_ID, EVENT_TIME = "record_id", "event_time"
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class PreparedIngest:
    groups: dict[str, str]
    ingested_rows: dict[str, int]
    offline_rows: dict[str, int | None]  # the store's counts: offline keeps every ingest
    online_rows: dict[str, int | None]
    columns: list[str]  # the model's columns (target first), as in the processed CSVs
    event_time: float
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def group_names(settings: Any) -> dict[str, str]:
    return {split: resource_name(settings, f"lab-{split}") for split in SPLITS}


def prepared_frames(settings: Any, event_time: float | None = None) -> dict[str, pd.DataFrame]:
    """The processed splits with the workshop's `record_id` (row number) and `event_time`
    (one float unix time, whole seconds) columns added."""
    ws = Workspace(settings.workspace)
    frames = load_prepared(ws.processed_dir)
    if frames is None:
        raise InputError("There is no prepared data yet: run the data preparation first.")
    stamp = float(round(time.time())) if event_time is None else float(event_time)
    out = {}
    for split, frame in frames.items():
        frame = frame.copy()
        frame[RECORD_ID] = pd.RangeIndex(len(frame), dtype="int64")
        frame[EVENT_TIME] = pd.Series([stamp] * len(frame), dtype="float64")
        out[split] = frame
    return out


def ingest_prepared(settings: Any, progress: Progress | None = None, *,
                    store: FeatureStore | None = None, recreate: bool = False,
                    event_time: float | None = None) -> PreparedIngest:
    """Create (or re-use) one group per split and ingest the prepared data into it.

    A group that exists with other columns (the data was prepared from another dataset)
    is refused, unless `recreate` is set: then it is deleted and created again.
    """
    from lab.featurestore import open_store

    report = progress or (lambda fraction, message: None)
    started = time.perf_counter()
    frames = prepared_frames(settings, event_time)
    store = store or open_store(settings)
    names = group_names(settings)
    ingested, offline, online = {}, {}, {}
    share = 1 / len(SPLITS)
    for i, split in enumerate(SPLITS):
        name, frame = names[split], frames[split]
        report(i * share, f"Feature group {name}")
        _ensure_group(store, name, frame, recreate)
        store.ingest(name, frame, lambda f, m, i=i: report((i + f) * share, m))
        info = store.describe_group(name)
        ingested[split] = len(frame)
        offline[split], online[split] = info.offline_rows, info.online_rows
    report(1.0, "Ingested the prepared data")
    meta = read_meta(Workspace(settings.workspace).processed_dir) or {}
    return PreparedIngest(groups=names, ingested_rows=ingested, offline_rows=offline,
                          online_rows=online, columns=list(meta.get("columns", [])),
                          event_time=float(frames[SPLITS[0]][EVENT_TIME].iloc[0]),
                          seconds=time.perf_counter() - started)


def _ensure_group(store: FeatureStore, name: str, frame: pd.DataFrame, recreate: bool) -> None:
    try:
        info = store.describe_group(name)
    except GroupNotFoundError:
        info = None
    wanted = infer_definitions(frame)
    if info is not None and (info.definitions != wanted or info.record_identifier != RECORD_ID
                             or info.event_time != EVENT_TIME):
        if not recreate:
            raise SchemaError(
                f"The feature group {name!r} holds other columns than the prepared data "
                "(it was made from another dataset). Recreate it (this deletes its records) "
                "or delete it first.")
        store.delete_group(name)
        info = None
    if info is None:
        store.create_group(name, frame, RECORD_ID, EVENT_TIME, online=True,
                           description="MLOps lab: processed data split")


def workshop_query(group_name: str, columns: Sequence[str], latest: bool = False) -> str:
    """The workshop's read-back: the model's columns ordered by record id.

    With `latest`, only each record's newest version that is not deleted (the offline store
    keeps every ingest), the way AWS documents a point-in-time snapshot query.
    """
    cols = ", ".join(_ident(c) for c in columns)
    if not latest:
        return f'SELECT {cols}\nFROM "{group_name}"\nORDER BY {RECORD_ID}'
    return (f"SELECT {cols}\nFROM (\n  SELECT *, row_number() OVER (PARTITION BY {RECORD_ID} "
            f"ORDER BY {EVENT_TIME} DESC, api_invocation_time DESC, write_time DESC) AS rn\n"
            f'  FROM "{group_name}"\n)\nWHERE rn = 1 AND NOT is_deleted\nORDER BY {RECORD_ID}')


def _ident(name: str) -> str:
    return name if _PLAIN.match(name) else '"' + name.replace('"', '""') + '"'


# --- the step as a job (the page's button and `python -m lab features ingest`) ------------

INGEST_KIND = "feature-ingest"
OFFLINE_DELAY_S = 15 * 60  # SageMaker: offline data appears "within 15 minutes"


def _ingest_fn(settings: Any, recreate: bool):
    def run(ctx) -> dict[str, Any]:
        ctx.log(f"Ingesting the prepared splits into the {settings.backend} feature store")

        def progress(fraction: float, message: str) -> None:
            ctx.check_cancelled()
            ctx.progress(fraction, message)
            ctx.log(message)

        result = ingest_prepared(settings, progress, recreate=recreate)
        for split, name in result.groups.items():
            ctx.log(f"{name}: {result.ingested_rows[split]} rows ingested; online "
                    f"{result.online_rows[split]}, offline {result.offline_rows[split]}")
        return result.to_json()

    return run


def _check_prepared(settings: Any) -> None:
    if read_meta(Workspace(settings.workspace).processed_dir) is None:
        raise InputError("There is no prepared data yet: run the data preparation first.")


def start_ingest_job(settings: Any, recreate: bool = False) -> str:
    """Create the groups and ingest in the background; returns the job id."""
    from lab import jobs

    _check_prepared(settings)
    return jobs.submit(Workspace(settings.workspace), INGEST_KIND, {"recreate": recreate},
                       _ingest_fn(settings, recreate))


def run_ingest_job(settings: Any, recreate: bool = False, echo=None):
    """The same, to the end, in this thread (the CLI's way)."""
    from lab import jobs

    _check_prepared(settings)
    return jobs.run_now(Workspace(settings.workspace), INGEST_KIND, {"recreate": recreate},
                        _ingest_fn(settings, recreate), echo)


def offline_wait_left(ingested_at: float, now: float | None = None) -> float:
    """Seconds until SageMaker's offline store is sure to show an ingest (0 when due)."""
    return max(0.0, OFFLINE_DELAY_S - ((now or time.time()) - ingested_at))
