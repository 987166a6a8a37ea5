"""The generated housing data, reading CSVs, and the workspace's dataset registry."""

from __future__ import annotations

import numpy as np
import pytest

from lab.dataset import (
    active_dataset,
    generate_housing,
    list_datasets,
    read_csv_bytes,
    safe_name,
    save_dataset,
    set_active,
)
from lab.errors import DataError

COLUMNS = ["YEAR_BUILT", "SQUARE_FEET", "NUM_BEDROOMS", "NUM_BATHROOMS", "LOT_ACRES",
           "GARAGE_SPACES", "FRONT_PORCH", "DECK", "PRICE"]


def test_generated_data_has_the_workshop_schema_and_is_deterministic():
    df = generate_housing()
    assert list(df.columns) == COLUMNS
    assert len(df) == 10_000
    assert df.equals(generate_housing())
    assert not df.equals(generate_housing(seed=7))
    assert set(df["NUM_BEDROOMS"]) == {2, 3, 4, 5, 6}
    assert set(df["NUM_BATHROOMS"]) == {1.0, 1.5, 2.0, 2.5, 3.0}
    assert set(df["FRONT_PORCH"]) == {0, 1}


def test_generated_price_is_linear_in_the_features_like_the_workshop_data():
    df = generate_housing(2000)
    X = np.c_[df[COLUMNS[:-1]].to_numpy(float), np.ones(len(df))]
    coef, *_ = np.linalg.lstsq(X, df["PRICE"].to_numpy(float), rcond=None)
    residual = df["PRICE"] - X @ coef
    assert residual.abs().max() < 1.5  # only the rounding down to whole dollars
    assert 300_000 < df["PRICE"].mean() < 600_000


@pytest.mark.parametrize("data, message", [
    (b"", "is empty"),
    (b"a,b\n1,2\n3,4,5,6\n", "not a well-formed CSV"),
    (b"\xff\xfe\x00\x01garbage", "not UTF-8"),
    (b"a;b;c\n1;2;3\n", "single column"),
    (b"a,b,c\n", "no data rows"),
])
def test_unreadable_csvs_get_a_message_saying_what_to_change(data, message):
    with pytest.raises(DataError, match=message):
        read_csv_bytes(data, "upload.csv")


def test_too_big_a_file_is_refused(monkeypatch):
    monkeypatch.setattr("lab.dataset.MAX_UPLOAD_BYTES", 10)
    with pytest.raises(DataError, match="the limit is"):
        read_csv_bytes(b"a,b\n1,2\n3,4\n")


def test_upload_names_cannot_escape_the_workspace(ws):
    assert safe_name("../../etc/passwd.csv") == "passwd"
    assert safe_name("my data (v2).CSV") == "my_data_v2"
    assert safe_name("....") == "dataset"
    df = generate_housing(50)
    info = save_dataset(ws, df, "../../evil.csv", "PRICE", "upload")
    assert info.path(ws).parent == ws.raw_dir


def test_uploads_are_kept_side_by_side_and_one_is_active(ws):
    assert active_dataset(ws).name == "generated_housing"
    save_dataset(ws, generate_housing(100, seed=1), "small.csv", "PRICE", "upload")
    assert active_dataset(ws).name == "small"
    assert {d.name for d in list_datasets(ws)} == {"generated_housing", "small"}
    set_active(ws, "generated_housing", "PRICE")
    assert active_dataset(ws).rows == 10_000
    with pytest.raises(DataError, match="no dataset named"):
        set_active(ws, "nope", "PRICE")
    with pytest.raises(DataError, match="no column 'COST'"):
        set_active(ws, "small", "COST")
