"""Local twin: the Done-when bullets for ingestion, the online store and the offline store."""

from __future__ import annotations

import json
import threading

import pandas as pd
import pytest

from lab.errors import InputError
from lab.featurestore import (
    OFFLINE,
    ONLINE,
    RecordNotFoundError,
    SchemaError,
    ingest_prepared,
    prepared_frames,
    workshop_query,
)
from lab.processing import SPLITS, load_prepared
from lab.workspace import Workspace
from tests.lab.featurestore.fs_helpers import small_frame


def test_prepared_data_round_trips_through_both_stores(settings, store):
    result = ingest_prepared(settings, store=store)
    expected = load_prepared(Workspace(settings.workspace).processed_dir)
    for split in SPLITS:
        group, want = result.groups[split], expected[split]
        got = store.query(workshop_query(group, result.columns)).frame
        pd.testing.assert_frame_equal(got, want, check_dtype=False)  # same values, same order
        for position in (0, len(want) // 2, len(want) - 1):
            values = store.get_record(group, position).values
            row = want.iloc[position]
            assert {c: values[c] for c in want.columns} == {c: row[c] for c in want.columns}
            assert values["record_id"] == position
    assert result.online_rows == result.offline_rows == result.ingested_rows


def test_every_record_id_is_online(settings, store):
    result = ingest_prepared(settings, store=store)
    group, n = result.groups["test"], result.ingested_rows["test"]
    ids = list(range(n))
    found = {}
    for start in range(0, n, 100):
        batch = store.batch_get_records(group, ids[start:start + 100])
        assert batch.missing == []
        found.update({r.record_id: r.values for r in batch.records})
    assert sorted(map(int, found)) == ids


def test_ingesting_twice_keeps_one_record_per_id_online(settings, store):
    ingest_prepared(settings, store=store)
    again = ingest_prepared(settings, store=store)
    for split in SPLITS:
        assert again.online_rows[split] == again.ingested_rows[split]
        assert again.offline_rows[split] == 2 * again.ingested_rows[split]  # history kept
    group = again.groups["train"]
    counts = store.query(f'SELECT record_id, count(*) AS n FROM "{group}" GROUP BY 1').frame
    assert set(counts["n"]) == {2}
    latest = store.query(workshop_query(group, again.columns, latest=True)).frame
    assert len(latest) == again.ingested_rows["train"]


def test_an_older_event_time_does_not_overwrite_online(store):
    store.create_group("shop", small_frame(event_time=2_000.0))
    store.ingest("shop", small_frame(event_time=2_000.0))
    older = small_frame(event_time=1_000.0)
    older["price"] = -1.0
    store.ingest("shop", older)
    assert store.get_record("shop", 1).values["price"] == 101.5
    assert store.get_record("shop", 1).values["event_time"] == 2_000.0
    # ... but it still lands offline, as in SageMaker
    offline = store.query('SELECT price FROM "shop" WHERE record_id = 1 ORDER BY price').frame
    assert offline["price"].tolist() == [-1.0, 101.5]
    newer = small_frame(event_time=3_000.0)
    newer["price"] = 7.0
    store.ingest("shop", newer)
    assert store.get_record("shop", 1).values["price"] == 7.0


def test_equal_event_time_replaces_the_whole_record(store):
    store.create_group("shop", small_frame())
    store.ingest("shop", small_frame())
    store.put_record("shop", {"record_id": 2, "event_time": 1_000.0, "price": 9.5})
    assert store.get_record("shop", 2).values == {"record_id": 2, "event_time": 1_000.0,
                                                  "price": 9.5}


def test_offline_rows_carry_sagemakers_columns(store, frame):
    store.create_group("shop", frame)
    store.ingest("shop", frame)
    got = store.query('SELECT * FROM "shop" ORDER BY record_id').frame
    assert list(got.columns) == [*frame.columns, "write_time", "api_invocation_time",
                                 "is_deleted"]
    assert not got["is_deleted"].any()
    data = json.loads(json.dumps(store.query('SELECT * FROM "shop"').to_json()))
    assert data["rows"] == 5 and data["data"][0][:3] == [0, 1000.0, 100.5]
    assert data["data"][0][-3][:2] == "20" and data["data"][0][-1] is False
    pd.testing.assert_frame_equal(got[list(frame.columns)], frame, check_dtype=False)
    files = list(store.offline_root.rglob("year=*/month=*/day=*/hour=*/*.parquet"))
    assert len(files) == 1  # one Parquet file per ingest


def test_string_event_times_and_missing_values(store):
    frame = pd.DataFrame({"id": ["a", "b"], "at": ["2024-01-01T00:00:00Z",
                                                    "2024-01-02T00:00:00.500Z"],
                          "x": [1.0, None]})
    store.create_group("events", frame, "id", "at")
    store.ingest("events", frame)
    assert store.get_record("events", "b").values == {"id": "b",
                                                      "at": "2024-01-02T00:00:00.500Z"}
    store.ingest("events", frame.assign(at="2023-12-31T00:00:00Z", x=5.0))
    assert store.get_record("events", "a").values["x"] == 1.0  # older: online unchanged


def test_unknown_record_id_is_a_clear_not_found(store, frame):
    store.create_group("shop", frame)
    store.ingest("shop", frame)
    with pytest.raises(RecordNotFoundError, match="no record with id 999"):
        store.get_record("shop", 999)
    with pytest.raises(SchemaError, match="not a Integral value"):
        store.get_record("shop", "abc")
    batch = store.batch_get_records("shop", [1, "2", 999])
    assert [r.record_id for r in batch.records] == ["1", "2"] and batch.missing == ["999"]
    assert batch.records[0].values["city"] == "city-1"


def test_batch_get_limits_and_feature_subsets(store, frame):
    store.create_group("shop", frame)
    store.ingest("shop", frame)
    with pytest.raises(InputError, match="1 to 100"):
        store.batch_get_records("shop", list(range(101)))
    with pytest.raises(InputError, match="1 to 100"):
        store.batch_get_records("shop", [])
    assert store.get_record("shop", 3, ["price"]).values == {"price": 103.5}
    with pytest.raises(SchemaError, match="no feature nope"):
        store.get_record("shop", 3, ["nope"])


@pytest.mark.parametrize("change, message", [
    (lambda f: f.drop(columns=["record_id"]), "'record_id' is missing"),
    (lambda f: f.drop(columns=["event_time"]), "'event_time' is missing"),
    (lambda f: f.assign(extra=1), "does not define the column"),
    (lambda f: f.assign(rooms=1.5), "holds decimals"),
    (lambda f: f.assign(price="cheap"), "must hold Fractional numbers"),
    (lambda f: f.assign(record_id=[1, None, 3, 4, 5]), "have no record identifier"),
])
def test_a_refused_ingest_changes_nothing(store, frame, change, message):
    store.create_group("shop", frame)
    store.ingest("shop", frame)
    before = store.query('SELECT * FROM "shop"').frame
    with pytest.raises(SchemaError, match=message):
        store.ingest("shop", change(small_frame(event_time=5_000.0)))
    pd.testing.assert_frame_equal(store.query('SELECT * FROM "shop"').frame, before)
    assert store.get_record("shop", 1).values["event_time"] == 1_000.0


def test_put_record_targets(store, frame):
    store.create_group("shop", frame)
    store.put_record("shop", {"record_id": 7, "event_time": 1.0, "price": 1.0},
                     target_stores=[ONLINE])
    assert store.describe_group("shop").offline_rows == 0
    store.put_record("shop", {"record_id": 8, "event_time": 1.0}, target_stores=[OFFLINE])
    assert store.describe_group("shop").online_rows == 1
    with pytest.raises(InputError, match="Target stores"):
        store.put_record("shop", {"record_id": 9, "event_time": 1.0}, target_stores=["S3"])


def test_two_threads_ingesting_at_once(settings, store):
    frames = prepared_frames(settings)
    store.create_group("shared", frames["train"])
    errors = []

    def ingest(offset_time):
        try:
            for _ in range(3):
                store.ingest("shared", frames["train"].assign(event_time=offset_time))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ingest, args=(t,)) for t in (1.0, 2.0)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    info = store.describe_group("shared")
    assert info.online_rows == len(frames["train"])
    assert info.offline_rows == 6 * len(frames["train"])
    assert store.get_record("shared", 0).values["event_time"] == 2.0  # the newest won


def test_reads_from_another_thread_see_the_writes(store, frame):
    store.create_group("shop", frame)
    store.ingest("shop", frame)
    seen = []
    reader = threading.Thread(target=lambda: seen.append(store.get_record("shop", 4).values))
    reader.start()
    reader.join()
    assert seen[0]["city"] == "city-4"


def test_deleting_the_workspace_resets_the_store(settings, store, frame):
    import shutil

    store.create_group("shop", frame)
    store.ingest("shop", frame)
    shutil.rmtree(settings.workspace)
    assert store.list_groups() == []  # a new, empty store; not the unlinked file
