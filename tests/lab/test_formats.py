"""One number format everywhere: separators, no scientific notation for prices and MSEs."""

from __future__ import annotations

import pytest

from lab.formats import number, seconds, styled


@pytest.mark.parametrize("value, shown", [
    (335578021.4, "335,578,021"), (3.35578e8, "335,578,000"), (204835790.9056, "204,835,791"),
    (6000, "6,000"), (-14647.3, "-14,647"), (0.99631, "0.9963"), (0.001, "0.001"),
    (12.345, "12.35"), (0, "0"), (None, "-"), ("text", "text"), (True, "True"),
])
def test_numbers_read_the_same_everywhere(value, shown):
    assert number(value) == shown
    assert "e+" not in number(value)


def test_numpy_numbers_and_units():
    import numpy as np

    assert number(np.float64(58309857.42)) == "58,309,857"
    assert number(np.int64(2000), "rows") == "2,000 rows"


def test_durations():
    assert seconds(0.421) == "0.42 s" and seconds(31.04) == "31.0 s"
    assert seconds(125) == "2 min 05 s"


def test_a_styled_table_shows_the_format_and_keeps_numbers():
    styler = styled([{"mse": 335578021.4, "name": "a", "ok": True}])
    assert styler.data["mse"].dtype.kind == "f"  # still a number: the table sorts
    html = styler.to_html()
    assert "335,578,021" in html and "e+08" not in html


def test_a_column_in_one_range_gets_that_ranges_printf_format():
    import pandas as pd

    from lab.formats import column_formats

    frame = pd.DataFrame({
        "count": [1, 20, 3000],                      # integers
        "YEAR_BUILT": [1998, 2004, 1975],             # years: no separator
        "price": [204835790.9056, 1234.5, -98765.4],  # all from 1,000: whole
        "rows as floats": [12.0, 340.0, 7.0],         # whole numbers stored as floats
        "seconds": [1.5, 12.25, 999.0],               # under 1,000: four significant digits
        "r2": [0.99634, 0.001, -0.5],
        "acres": [0.67, 1.39, 2.0],
        "name": ["a", "b", "c"],                      # not a number: left alone
        "flag": [True, False, True],                  # a bool is not a number here
        "missing": [float("nan")] * 3,                # nothing to show but "-"
    })
    assert column_formats(frame) == {
        "count": "%,d", "YEAR_BUILT": "%d", "price": "%,.0f", "rows as floats": "%,.0f",
        "seconds": "%.4g", "r2": "%.4g", "acres": "%.4g", "missing": "%,.0f"}


def test_a_column_mixing_ranges_needs_the_per_value_styler():
    import pandas as pd

    from lab.formats import column_formats

    metrics = pd.DataFrame({"metric": ["mse", "r2"], "value": [335578021.5, 0.9963]})
    assert column_formats(metrics) is None
    assert column_formats(pd.DataFrame({"x": [12.5, 3000.25]})) is None
