"""One workspace, several writers at once (two sessions of a learner, a session and the
CLI): the workshop's groups are created once and reused, never refused as existing."""

from __future__ import annotations

import threading

import pytest

from lab.featurestore import group_names, ingest_prepared, open_featurestore
from lab.training import read_training_data
from tests.workspaces import copy_workspace, make_small_workspace


@pytest.fixture
def small_unprepared_store(tmp_path):
    """The small prepared workspace with nothing ingested yet."""
    return copy_workspace("small", lambda r: make_small_workspace(r, ingest=False),
                          tmp_path / "ws", False)


def test_two_ingests_at_once_both_complete_and_create_each_group_once(small_unprepared_store):
    settings = small_unprepared_store
    barrier, errors = threading.Barrier(3), []

    def ingest():
        barrier.wait(5)
        try:
            ingest_prepared(settings)
        except Exception as exc:  # noqa: BLE001 - the test lists what failed
            errors.append(repr(exc))

    def train_read():
        barrier.wait(5)
        try:  # waits for an ingest that started first, never reads half of one
            read_training_data(settings)
        except Exception as exc:  # noqa: BLE001
            if "no training data yet" not in str(exc):  # read before any ingest: fine
                errors.append(repr(exc))

    threads = [threading.Thread(target=f) for f in (ingest, ingest, train_read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    store = open_featurestore(settings)
    groups = {g.name: g for g in store.list_groups()}
    assert sorted(groups) == sorted(group_names(settings).values())
    assert read_training_data(settings).rows == {"train": 360, "validation": 120, "test": 120}
    assert groups["lab-train"].offline_rows == 2 * 360 and groups["lab-train"].online_rows == 360


def test_a_group_created_meanwhile_is_reused(small_unprepared_store, monkeypatch):
    """The check-then-create window itself: the group appears between the two."""
    from lab.featurestore import _workshop, prepared_frames
    from lab.featurestore._local import LocalFeatureStore

    settings = small_unprepared_store
    frame = prepared_frames(settings)["train"]
    other = open_featurestore(settings)
    real_describe = LocalFeatureStore.describe_group
    calls = []

    def describe_then_someone_creates(self, name):
        calls.append(name)
        if len(calls) == 1:  # "not there yet"; another session creates it right after
            try:
                return real_describe(self, name)
            finally:
                other.create_group(name, frame, "record_id", "event_time")
        return real_describe(self, name)

    monkeypatch.setattr(LocalFeatureStore, "describe_group", describe_then_someone_creates)
    _workshop._ensure_group(open_featurestore(settings), "lab-train", frame, recreate=False)
    assert [g.name for g in other.list_groups()] == ["lab-train"]
