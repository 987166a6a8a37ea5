"""Training data comes from the Feature Store's offline store, as in the workshop.

The workshop queries each split's feature group with Athena and saves the result as the
training job's CSV channels. The lab does the same on either backend, with the query that
keeps each record's newest version (the offline store keeps every ingest, so a second
ingest would otherwise double the rows). The target is the group's first feature, the
lab's layout since the preparation step (the workshop's too).

The offline store fills in the background on SageMaker (within 15 minutes of an ingest),
so a query can return part of the data. Training never accepts a partial read: each
split's row count is compared with what the last ingest wrote (`last_ingest`), and a
short (or long) read is refused with how long to wait.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lab.errors import InputError

SPLITS = ("train", "validation", "test")  # the processing step's splits

_NOT_INGESTED = ("The Feature Store holds no training data yet: ingest the prepared data "
                 "on the Feature Store page first (training reads its splits from there).")



@dataclass
class TrainingData:
    frames: dict[str, pd.DataFrame]  # train, validation, test: target first, then features
    target: str
    features: list[str]
    groups: dict[str, str]
    queries: dict[str, str]

    @property
    def rows(self) -> dict[str, int]:
        return {split: len(frame) for split, frame in self.frames.items()}

    def write_channels(self, folder: Path, splits: tuple[str, ...] = ("train", "validation"),
                       shards: int = 1) -> dict[str, Path]:
        """SageMaker's channel layout: `<folder>/<split>/<split>.csv`, header row included;
        with `shards` > 1, that many files of consecutive rows per split
        (`<split>-part-1-of-N.csv`...), for instances that each read their own share."""
        channels = {}
        for split in splits:
            channel = Path(folder) / split
            channel.mkdir(parents=True, exist_ok=True)
            frame = self.frames[split]
            if shards <= 1:
                write_csv(frame, channel / f"{split}.csv")
            else:
                size = -(-len(frame) // shards)
                for i in range(shards):
                    write_csv(frame.iloc[i * size:(i + 1) * size],
                              channel / f"{split}-part-{i + 1}-of-{shards}.csv")
            channels[split] = channel
        return channels

    def test_features(self):
        return self.frames["test"][self.features].to_numpy(float)

    def test_target(self):
        return self.frames["test"][self.target].to_numpy(float)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """`frame` as CSV with its header row, no index: what `frame.to_csv(path, index=False)`
    writes, by pyarrow's writer (a tenth of the time for the training split; numbers are
    written as the shortest text that reads back the same value, as pandas does, though
    not always the same text: 0.00001 for 1e-05)."""
    import csv

    import pyarrow as pa
    import pyarrow.csv as pacsv

    with open(path, "w", newline="") as fh:  # the header as pandas writes it (csv quoting)
        csv.writer(fh, lineterminator="\n").writerow([str(c) for c in frame.columns])
    with open(path, "ab") as fh:
        pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), fh,
                        pacsv.WriteOptions(include_header=False))


def _columns(store: Any, group: str) -> list[str]:
    from lab.featurestore import EVENT_TIME, RECORD_ID, GroupNotFoundError

    try:
        info = store.describe_group(group)
    except GroupNotFoundError:
        raise InputError(_NOT_INGESTED) from None
    return [c for c in info.definitions if c not in (RECORD_ID, EVENT_TIME)]


def data_problem(settings: Any) -> str | None:
    """None when the feature store has the three splits; else what to do first.

    Only where the store's catalog is a local file (cheap, on every page load); on
    SageMaker it would be AWS calls, so there the check happens when a job reads the data.
    """
    from lab.featurestore import IMPLEMENTATIONS, group_names, open_featurestore
    from lab.twins import twin_class
    from lab.workspace import Workspace

    if not twin_class(IMPLEMENTATIONS, settings.backend).runs_locally:
        return None
    if not Workspace(settings.workspace).path("featurestore", "online.db").exists():
        return _NOT_INGESTED  # checked first: opening a store would create an empty one
    store = open_featurestore(settings)
    try:
        for group in group_names(settings).values():
            info = _describe(store, group)
            if info is None or not info.offline_rows:
                return _NOT_INGESTED
    finally:
        store.close()
    return None


def _describe(store: Any, group: str):
    from lab.featurestore import GroupNotFoundError

    try:
        return store.describe_group(group)
    except GroupNotFoundError:
        return None


def read_training_data(settings: Any, progress=None, store: Any = None) -> TrainingData:
    """The three splits from the offline store; InputError when they are not there."""
    from lab.featurestore import (
        group_names,
        last_ingest,
        open_featurestore,
        store_lock,
        workshop_query,
    )

    report = progress or (lambda fraction, message: None)
    own = store is None
    store = store or open_featurestore(settings)
    # an ingest of this workspace (another session, the CLI) ends before the splits are
    # read: never half of one, never a group it is recreating
    with store_lock(settings, lambda: report(0.0, "Waiting for this workspace's ingest")):
        try:
            groups = group_names(settings)
            ingest = last_ingest(settings)
            expected = ingest["rows"] if ingest and ingest.get("groups") == groups else None
            columns = _columns(store, groups["train"])
            frames, queries = {}, {}
            for i, split in enumerate(SPLITS):
                report(i / len(SPLITS), f"Querying the offline store: {groups[split]}")
                if _columns(store, groups[split]) != columns:
                    raise InputError(f"The feature groups hold different columns ({groups[split]} "
                                     "differs from the train group): ingest the prepared data "
                                     "again.")
                queries[split] = workshop_query(groups[split], columns, latest=True)
                frame = store.query(queries[split]).frame
                delay = float(getattr(store, "offline_delay_s", 0) or 0)
                problem = incomplete(groups[split], len(frame), (expected or {}).get(split),
                                     delay, (ingest or {}).get("finished_at"))
                if problem:
                    raise InputError(problem)
                if frame.empty:
                    raise InputError(f"The feature group {groups[split]} returned no rows: ingest "
                                     "the prepared data on the Feature Store page."
                                     + (f" Records reach the offline store up to {delay / 60:.0f} "
                                        "minutes after ingestion: try again later." if delay
                                        else ""))
                frames[split] = frame[columns].reset_index(drop=True)
        finally:
            if own:
                store.close()
    return TrainingData(frames=frames, target=columns[0], features=columns[1:], groups=groups,
                        queries=queries)


def incomplete(group: str, rows: int, expected: int | None, delay_s: float,
               ingested_at: float | None, now: float | None = None) -> str | None:
    """Why `rows` read back from `group` cannot be trained on, or None when they can.

    `expected` is what the last ingest wrote into the group (None: unknown, then any
    non-empty read is taken). Fewer rows while the offline store may still be filling
    (`delay_s` after the ingest): say how long to wait. Fewer rows after that, or more
    rows (records of an earlier ingest left in the group): say what to do.
    """
    if expected is None or rows == expected:
        return None
    if rows > expected:
        return (f"The offline store of {group} holds {rows:,} records, but the last ingest "
                f"wrote {expected:,}: records of an earlier ingest are still there. Ingest "
                "again with 'Recreate the groups first' (it deletes their records).")
    ago = max(0.0, (now or time.time()) - (ingested_at or 0))
    left = max(0.0, delay_s - ago)
    if left > 0:
        return (f"The offline store of {group} shows {rows:,} of the {expected:,} records "
                f"ingested {_minutes(ago)} ago: SageMaker writes them to S3 within "
                f"{_minutes(delay_s)} of the ingest, so start the training again in about "
                f"{_minutes(left)} (Athena reads only what is there).")
    return (f"The offline store of {group} shows {rows:,} of the {expected:,} records "
            f"ingested {_minutes(ago)} ago, though they should all be there by now: look for "
            "failed rows in the ingest job's log, or ingest again.")


def _minutes(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute" + ("s" if minutes != 1 else "")
