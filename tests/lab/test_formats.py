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
