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

from lab import jobs
from lab.errors import InputError
from lab.featurestore import IMPLEMENTATIONS, open_featurestore
from lab.featurestore._api import FeatureStore, Progress
from lab.featurestore._errors import GroupExistsError, GroupNotFoundError, SchemaError
from lab.featurestore._schema import infer_definitions
from lab.processing import SPLITS, last_result, load_prepared, read_meta, run_prep
from lab.twins import twin_class
from lab.workspace import Workspace, locked, read_json, write_json_atomic

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
    """The workshop's group of each split, named by the backend's rule."""
    twin = twin_class(IMPLEMENTATIONS, settings.backend)
    return {split: twin.resource_name(settings, f"lab-{split}") for split in SPLITS}


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
    is refused. With `recreate`, every existing group is deleted (on SageMaker: waiting
    until it is gone, as deletion is asynchronous) and created again, so no record of an
    earlier ingest stays behind. What was ingested is written down (`last_ingest`): the
    training step compares the offline store's rows with it.
    """
    report = progress or (lambda fraction, message: None)
    started = time.perf_counter()
    frames = prepared_frames(settings, event_time)
    store = store or open_featurestore(settings)
    names = group_names(settings)
    ingested, offline, online = {}, {}, {}
    share = 1 / len(SPLITS)
    with store_lock(settings, lambda: report(0.0, "Waiting for another ingest or training "
                                                  "read of this workspace to finish")):
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
        result = PreparedIngest(groups=names, ingested_rows=ingested, offline_rows=offline,
                                online_rows=online, columns=list(meta.get("columns", [])),
                                event_time=float(frames[SPLITS[0]][EVENT_TIME].iloc[0]),
                                seconds=time.perf_counter() - started)
        write_json_atomic(_last_ingest_path(settings), {
            "backend": settings.backend, "groups": names, "rows": ingested,
            "event_time": result.event_time, "finished_at": time.time()})
    return result


def store_lock(settings: Any, on_wait=None):
    """The workspace's feature-store lock, between threads and processes: an ingest holds
    it from its first group to `last_ingest`, and training holds it while it reads the
    splits, so two sessions (or a session and the CLI) never ingest into the same groups at
    once, and training never reads a half-done ingest or a group being recreated."""
    return locked(Workspace(settings.workspace).path(".locks", "featurestore"), on_wait)


def _last_ingest_path(settings: Any):
    return Workspace(settings.workspace).path("featurestore", "last_ingest.json")


def last_ingest(settings: Any) -> dict[str, Any] | None:
    """What the latest ingest of this workspace wrote, on the settings' backend: groups,
    rows per split, its event time and when it finished (None: nothing ingested there)."""
    found = read_json(_last_ingest_path(settings))
    if not found or found.get("backend") != settings.backend:
        return None
    return found


def _ensure_group(store: FeatureStore, name: str, frame: pd.DataFrame, recreate: bool) -> None:
    try:
        info = store.describe_group(name)
    except GroupNotFoundError:
        info = None
    wanted = infer_definitions(frame)
    if info is not None and recreate:
        store.delete_group(name)  # returns once the group is gone (SageMaker: minutes)
        info = None
    if info is None:
        try:
            store.create_group(name, frame, RECORD_ID, EVENT_TIME, online=True,
                               description="MLOps lab: processed data split")
            return
        except GroupExistsError:  # created meanwhile (another process): reuse it, as below
            info = store.describe_group(name)
    if (info.definitions != wanted or info.record_identifier != RECORD_ID
            or info.event_time != EVENT_TIME):
        raise SchemaError(
            f"The feature group {name!r} holds other columns than the prepared data "
            "(it was made from another dataset). Recreate it (this deletes its records) "
            "or delete it first.")


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


def ingest_job(settings: Any, recreate: bool = False) -> jobs.JobSpec:
    """Create the groups and ingest the prepared splits; refused at once without them."""
    if read_meta(Workspace(settings.workspace).processed_dir) is None:
        raise InputError("There is no prepared data yet: run the data preparation first.")

    def run(ctx: jobs.JobContext) -> dict[str, Any]:
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

    return jobs.JobSpec(INGEST_KIND, {"recreate": recreate}, run)


def prepare_and_ingest(settings: Any) -> PreparedIngest:
    """The shortcut of later pages: prepare the active dataset if nothing is prepared yet,
    then create the groups and ingest (in the caller's thread: a second or two locally)."""
    ws = Workspace(settings.workspace)
    if last_result(ws) is None:
        run_prep(ws)
    return ingest_prepared(settings)


def offline_wait_left(ingested_at: float, delay_s: float, now: float | None = None) -> float:
    """Seconds until the offline store is sure to show an ingest made at `ingested_at`
    (0 when due; `delay_s` is the store's `offline_delay_s`)."""
    return max(0.0, delay_s - ((now or time.time()) - ingested_at))


@dataclass(frozen=True)
class DistributionCheck:
    """The workshop's last check: the values read back from the offline store against the
    values written, for one column of the train split."""

    column: str
    written: Any  # pandas Series
    read_back: Any  # pandas Series
    same: bool

    @property
    def message(self) -> str:
        if self.same:
            return f"{len(self.read_back):,} values read back; identical to the written ones."
        return (f"{len(self.read_back):,} values read back; they differ from what was written "
                "(was the data prepared again after the ingest?).")


def distribution_check(settings: Any, column: str, store: FeatureStore | None = None
                       ) -> DistributionCheck:
    """Read `column` of the train group back (each record's newest version) and compare
    it with the prepared train split."""
    frames = load_prepared(Workspace(settings.workspace).processed_dir)
    if frames is None:
        raise InputError("There is no prepared data yet: run the data preparation first.")
    if column not in frames["train"].columns:
        raise InputError(f"The prepared data has no column {column!r}.")
    store = store or open_featurestore(settings)
    back = store.query(workshop_query(group_names(settings)["train"], [column],
                                      latest=True)).frame
    read_back = back[column] if column in back else back[column.lower()]
    written = frames["train"][column]
    same = len(written) == len(read_back) and sorted(written) == sorted(read_back)
    return DistributionCheck(column, written, read_back, same)


def run_all_step(settings: Any, options: dict[str, Any], echo) -> dict[str, Any]:
    """Create the groups and ingest (run-all recreates them: a fresh start)."""
    job = jobs.run(settings, ingest_job(settings, options.get("recreate", True)), echo)
    result = job.outcome("feature store ingest")
    return {"feature_store": {k: result[k] for k in ("groups", "offline_rows", "online_rows",
                                                     "ingested_rows", "columns")},
            "timings_s": {"ingest": round(result["seconds"], 4)}}


def code(settings: Any) -> list:
    """The functions of the feature store step (the workshop's use of a store)."""
    return [ingest_prepared, workshop_query]
