"""The SageMaker twin's reads and writes: the runtime client under botocore's Stubber.

Moto answers `sagemaker-featurestore-runtime` with 404 Not yet implemented, so the store is
given a stubbed client; groups themselves are created in moto.
"""

from __future__ import annotations

import threading

import pytest

from tests.fake_aws import skip_without_aws_packages
from tests.lab.featurestore.fs_helpers import small_frame

skip_without_aws_packages()

from botocore.stub import ANY  # noqa: E402

from lab.featurestore import (  # noqa: E402
    OFFLINE,
    ONLINE,
    GroupNotFoundError,
    IngestionError,
    RecordNotFoundError,
    SchemaError,
)


def test_batched_parallel_ingestion_through_the_runtime_client(sm_store, runtime):
    client, stubber = runtime
    sm_store.create_group("lab-train", small_frame())
    frame = small_frame(7)
    frame.loc[3, "price"] = None
    calls, threads = [], set()

    def record(params, **_):
        calls.append(params)
        threads.add(threading.current_thread().name)

    client.meta.events.register("provide-client-params.sagemaker-featurestore-runtime.PutRecord",
                                record)
    for _ in range(7):
        stubber.add_response("put_record", {}, {"FeatureGroupName": "lab-train", "Record": ANY})
    progress = []
    result = sm_store.ingest("lab-train", frame, lambda f, m: progress.append(f))
    stubber.assert_no_pending_responses()
    assert result.rows == 7 and progress[-1] == 1.0
    by_id = {c["Record"][0]["ValueAsString"]: c["Record"] for c in calls}
    assert sorted(by_id, key=int) == [str(i) for i in range(7)]
    assert by_id["1"] == [{"FeatureName": "record_id", "ValueAsString": "1"},
                          {"FeatureName": "event_time", "ValueAsString": "1000.0"},
                          {"FeatureName": "price", "ValueAsString": "101.5"},
                          {"FeatureName": "rooms", "ValueAsString": "2"},
                          {"FeatureName": "city", "ValueAsString": "city-1"}]
    assert "price" not in {f["FeatureName"] for f in by_id["3"]}  # missing: left out
    assert all(name.startswith("fs-ingest") for name in threads)


def test_failed_rows_are_reported(sm_store, runtime):
    client, stubber = runtime
    sm_store.create_group("lab-train", small_frame())
    sm_store.batch_size = 10
    stubber.add_response("put_record", {})
    stubber.add_client_error("put_record", "ValidationError", "bad value")
    stubber.add_response("put_record", {})
    with pytest.raises(IngestionError, match=r"1 of 3 rows .* row 1: ValidationError") as info:
        sm_store.ingest("lab-train", small_frame(3))
    assert info.value.failed_rows == [1]


def test_get_record_decodes_typed_values(sm_store, runtime):
    client, stubber = runtime
    sm_store.create_group("lab-train", small_frame())
    stubber.add_response("get_record", {"Record": [
        {"FeatureName": "city", "ValueAsString": "Paris"},
        {"FeatureName": "record_id", "ValueAsString": "5"},
        {"FeatureName": "price", "ValueAsString": "0.1"},
        {"FeatureName": "rooms", "ValueAsString": "3"}]},
        {"FeatureGroupName": "lab-train", "RecordIdentifierValueAsString": "5"})
    record = sm_store.get_record("lab-train", 5)
    assert record.values == {"record_id": 5, "price": 0.1, "rooms": 3, "city": "Paris"}
    assert list(record.values) == ["record_id", "price", "rooms", "city"]  # group order
    assert record.record_id == "5" and record.seconds >= 0


def test_unknown_record_and_group(sm_store, runtime):
    client, stubber = runtime
    sm_store.create_group("lab-train", small_frame())
    stubber.add_response("get_record", {})
    with pytest.raises(RecordNotFoundError, match="no record with id 42"):
        sm_store.get_record("lab-train", 42)
    stubber.add_client_error("get_record", "ResourceNotFound", "gone", 404)
    with pytest.raises(GroupNotFoundError, match="no feature group 'lab-train'"):
        sm_store.get_record("lab-train", 1)


def test_batch_get_decodes_retries_and_reports_missing(sm_store, runtime):
    client, stubber = runtime
    sm_store.create_group("lab-train", small_frame())

    def item(key, price):
        return {"FeatureGroupName": "lab-train", "RecordIdentifierValueAsString": key,
                "Record": [{"FeatureName": "record_id", "ValueAsString": key},
                           {"FeatureName": "price", "ValueAsString": price}]}

    ident = {"FeatureGroupName": "lab-train", "FeatureNames": ["record_id", "price"]}
    stubber.add_response(
        "batch_get_record",
        {"Records": [item("1", "1.5")], "Errors": [], "UnprocessedIdentifiers": [
            dict(ident, RecordIdentifiersValueAsString=["2"])]},
        {"Identifiers": [dict(ident, RecordIdentifiersValueAsString=["1", "2", "3"])]})
    stubber.add_response(
        "batch_get_record", {"Records": [item("2", "2.5")], "Errors": [],
                             "UnprocessedIdentifiers": []},
        {"Identifiers": [dict(ident, RecordIdentifiersValueAsString=["2"])]})
    batch = sm_store.batch_get_records("lab-train", [1, 2, 3], ["record_id", "price"])
    assert [(r.record_id, r.values) for r in batch.records] == [
        ("1", {"record_id": 1, "price": 1.5}), ("2", {"record_id": 2, "price": 2.5})]
    assert batch.missing == ["3"]
    stubber.assert_no_pending_responses()


def test_put_record_with_target_stores(sm_store, runtime):
    client, stubber = runtime
    sm_store.create_group("lab-train", small_frame())
    stubber.add_response("put_record", {}, {
        "FeatureGroupName": "lab-train", "TargetStores": [ONLINE],
        "Record": [{"FeatureName": "record_id", "ValueAsString": "9"},
                   {"FeatureName": "event_time", "ValueAsString": "2.0"}]})
    sm_store.put_record("lab-train", {"record_id": 9, "event_time": 2.0}, [ONLINE])
    stubber.assert_no_pending_responses()
    with pytest.raises(SchemaError, match="does not define"):
        sm_store.put_record("lab-train", {"record_id": 9, "event_time": 2.0, "x": 1}, [OFFLINE])


