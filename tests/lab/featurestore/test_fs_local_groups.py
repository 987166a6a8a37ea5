"""Local twin: feature groups (names, inferred types, describe/list/delete) and refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lab.errors import InputError
from lab.featurestore import (
    GroupExistsError,
    GroupNotFoundError,
    InvalidNameError,
    SchemaError,
    check_name,
    infer_definitions,
)
from tests.lab.featurestore.fs_helpers import small_frame


@pytest.mark.parametrize("name", ["a", "lab-train", "Lab_Train-2", "x" * 64, "a-_-b", "9z"])
def test_valid_names_pass(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "-lab", "lab-", "lab train", "lab.train", "x" * 65,
                                  "lab/train", "_x", "naïve", None, 5])
def test_invalid_names_are_refused_with_the_rule(name):
    with pytest.raises(InvalidNameError) as info:
        check_name(name)
    assert isinstance(info.value, InputError)
    assert "letters, digits, hyphens and underscores" in str(info.value)


def test_types_are_inferred_as_sagemaker_does():
    frame = pd.DataFrame({
        "i8": np.array([1], dtype="int8"), "u64": np.array([1], dtype="uint64"),
        "nullable": pd.array([1], dtype="Int64"), "f32": np.array([1.5], dtype="float32"),
        "f64": [1.5], "text": pd.Series(["a"], dtype="object"),
        "string": pd.Series(["a"], dtype="string")})
    assert infer_definitions(frame) == {
        "i8": "Integral", "u64": "Integral", "nullable": "Integral", "f32": "Fractional",
        "f64": "Fractional", "text": "String", "string": "String"}


def test_create_describe_list(store, frame):
    info = store.create_group("shop", frame, description="test group")
    assert info.definitions == {"record_id": "Integral", "event_time": "Fractional",
                                "price": "Fractional", "rooms": "Integral", "city": "String"}
    assert (info.record_identifier, info.event_time) == ("record_id", "event_time")
    assert info.online_enabled and info.online_rows == 0 and info.offline_rows == 0
    assert info.table_name == f"shop_{int(info.created)}"
    assert store.describe_group("shop") == info
    assert [g.name for g in store.list_groups()] == ["shop"]
    assert info.to_json()["definitions"]["city"] == "String"


@pytest.mark.parametrize("column, values, dtype", [
    ("flag", [True], "bool"), ("when", [pd.Timestamp("2024-01-01")], None),
    ("cat", ["a"], "category"), ("z", [1 + 2j], "complex128")])
def test_unsupported_column_type_is_refused(store, column, values, dtype):
    frame = small_frame(1)
    frame[column] = pd.Series(values, dtype=dtype)
    with pytest.raises(SchemaError, match=f"Unsupported column type: {column}"):
        store.create_group("shop", frame)
    assert store.list_groups() == []


@pytest.mark.parametrize("missing", ["record_id", "event_time"])
def test_missing_key_column_is_refused(store, missing):
    with pytest.raises(SchemaError, match=f"{missing!r} is missing"):
        store.create_group("shop", small_frame().drop(columns=[missing]))
    assert store.list_groups() == []


def test_event_time_must_be_fractional_or_string(store):
    frame = small_frame()
    frame["event_time"] = frame["event_time"].astype("int64")
    with pytest.raises(SchemaError, match="Fractional"):
        store.create_group("shop", frame)


def test_bad_feature_names_are_refused(store):
    with pytest.raises(InvalidNameError, match="feature name"):
        store.create_group("shop", small_frame().rename(columns={"price": "the price"}))
    with pytest.raises(InvalidNameError, match="reserved"):
        store.create_group("shop", small_frame().rename(columns={"price": "is_deleted"}))
    with pytest.raises(SchemaError, match="letter case"):
        store.create_group("shop", small_frame().rename(columns={"price": "CITY"}))


def test_invalid_group_name_changes_nothing(store, frame):
    with pytest.raises(InvalidNameError):
        store.create_group("not valid!", frame)
    assert store.list_groups() == []
    assert not (store.offline_root.exists() and any(store.offline_root.iterdir()))


def test_names_are_unique_whatever_the_case(store, frame):
    store.create_group("shop", frame)
    with pytest.raises(GroupExistsError, match="already exists"):
        store.create_group("SHOP", frame)
    assert len(list(store.offline_root.iterdir())) == 1


def test_delete_removes_online_and_offline(store, frame):
    info = store.create_group("shop", frame)
    store.ingest("shop", frame)
    store.delete_group("shop")
    assert store.list_groups() == []
    assert not store.offline_root.joinpath(info.offline_location).exists()
    with pytest.raises(GroupNotFoundError, match="no feature group 'shop'"):
        store.describe_group("shop")
    store.create_group("shop", frame)  # the name is free again, and the group is empty
    assert store.describe_group("shop").offline_rows == 0


def test_unknown_group_is_not_found(store, frame):
    store.create_group("shop", frame)
    for call in (lambda: store.describe_group("nope"), lambda: store.delete_group("nope"),
                 lambda: store.ingest("nope", frame), lambda: store.get_record("nope", 1)):
        with pytest.raises(GroupNotFoundError, match="Existing groups: shop"):
            call()


def test_offline_only_group(store, frame):
    store.create_group("cold", frame, online=False)
    store.ingest("cold", frame)
    assert store.describe_group("cold").online_rows is None
    assert store.query('SELECT count(*) AS n FROM "cold"').frame["n"][0] == 5
    with pytest.raises(InputError, match="no online store"):
        store.get_record("cold", 1)
