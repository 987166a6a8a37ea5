"""The endpoint's CSV input and JSON output, refusals saying which row and column."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lab.serving import InvocationError, parse_csv, to_csv
from lab.serving._payload import format_predictions, media_type, parse_predictions

FEATURES = ["a", "b", "c"]


def test_rows_of_numbers_in_any_usual_spelling():
    body = b"1,2,3\r\n 4.5 , -6e2,7\n\n0.25,nan0,1\n".replace(b"nan0", b"0")
    assert parse_csv(body, FEATURES).tolist() == [[1, 2, 3], [4.5, -600, 7], [0.25, 0, 1]]


def test_to_csv_round_trips_exactly():
    rows = np.random.default_rng(1).normal(size=(20, 3))
    assert np.array_equal(parse_csv(to_csv(rows).encode(), FEATURES), rows)


@pytest.mark.parametrize("body, message", [
    (b"", "The body is empty: send one or more CSV rows of 3 numbers (a, b, c)."),
    (b"\n \n", "The body is empty"),
    (b"1,2", "Row 1 has 2 values; the model takes 3 (a, b, c)."),
    (b"1,2,3\n1,2,3,4", "Row 2 has 4 values; the model takes 3 (a, b, c). Leave out the "
                        "target column (PRICE)"),
    (b"1,2,3\n1,x,3", "Row 2, column 2 (b): 'x' is not a number."),
    (b"1,,3", "Row 1, column 2 (b): '(empty)' is not a number."),
    (b"a,b,c\n1,2,3", "Row 1 looks like a header"),
    (b"1,inf,3", "Row 1, column 2 (b): 'inf' is not a finite number."),
    (b"1,2,\xff", "not UTF-8"),
])
def test_bad_bodies_are_model_errors_with_the_place_of_the_problem(body, message):
    with pytest.raises(InvocationError) as caught:
        parse_csv(body, FEATURES, target="PRICE")
    error = caught.value
    assert (error.code, error.status, error.original_status) == ("ModelError", 424, 400)
    assert message in str(error) and message in error.original_message
    assert str(error).startswith("Received client error (400) from primary with message")


def test_answers_as_json_or_csv_and_read_back():
    predictions = np.array([1.5, 2.0], dtype=np.float32)
    body, kind = format_predictions(predictions, "")
    assert (json.loads(body), kind) == ([1.5, 2.0], "application/json")
    body, kind = format_predictions(predictions, "text/csv")
    assert (body, kind) == (b"1.5\n2.0", "text/csv")
    assert parse_predictions(body, "text/csv") == [1.5, 2.0]
    assert parse_predictions(b'{"predictions": [{"score": 3}]}', "application/json") == [3.0]
    with pytest.raises(InvocationError, match="Accept 'text/html' is not supported"):
        format_predictions(predictions, "text/html")


def test_media_types_ignore_parameters_and_case():
    assert media_type("Text/CSV; charset=utf-8") == "text/csv"
    assert media_type(None) == ""
