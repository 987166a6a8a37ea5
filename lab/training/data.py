"""Training data comes from the Feature Store's offline store, as in the workshop.

The workshop queries each split's feature group with Athena and saves the result as the
training job's CSV channels. The lab does the same on either backend, with the query that
keeps each record's newest version (the offline store keeps every ingest, so a second
ingest would otherwise double the rows). The target is the group's first feature, the
lab's layout since the preparation step (the workshop's too).
"""

from __future__ import annotations

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

    def write_channels(self, folder: Path, splits: tuple[str, ...] = ("train", "validation")
                       ) -> dict[str, Path]:
        """SageMaker's channel layout: `<folder>/<split>/<split>.csv`, header row included."""
        channels = {}
        for split in splits:
            channel = Path(folder) / split
            channel.mkdir(parents=True, exist_ok=True)
            self.frames[split].to_csv(channel / f"{split}.csv", index=False)
            channels[split] = channel
        return channels

    def test_features(self):
        return self.frames["test"][self.features].to_numpy(float)

    def test_target(self):
        return self.frames["test"][self.target].to_numpy(float)


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
    from lab.featurestore import group_names, open_featurestore, workshop_query

    report = progress or (lambda fraction, message: None)
    own = store is None
    store = store or open_featurestore(settings)
    try:
        groups = group_names(settings)
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
            if frame.empty:
                delay = getattr(store, "offline_delay_s", 0)
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
