"""One number format for every screen, table, chart and log line a learner reads.

Prices, MSEs and counts are shown whole with thousands separators (335,578,021), never in
scientific notation (3.35578e+08) nor with a tail of decimals (204835790.9056); small
quantities such as R² or a learning rate keep four significant digits (0.9963, 0.001).
Tables keep their numbers as numbers (so they still sort). Most columns get a printf-style
format close to this rule (`column_formats`), which the browser applies; a column that
mixes large numbers with fractions (a metrics table's MSE beside its R²) needs the rule
value by value, through a pandas Styler (`styled`), which `st.dataframe` renders as the
displayed text at about 15 ms of the server's time per table, whatever its size.
"""

from __future__ import annotations

import math
from typing import Any

# Plotly's d3-format for axes and hovers that show prices and MSEs: whole, with separators
AXIS_FORMAT = ",.0f"


def number(value: Any, unit: str = "") -> str:
    """`value` as the lab shows numbers; anything that is not a number is shown as text."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            import numpy as np

            if isinstance(value, np.generic):
                return number(value.item(), unit)
        except ImportError:  # pragma: no cover - numpy is a requirement
            pass
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    suffix = f" {unit}" if unit else ""
    if isinstance(value, int) or abs(value) >= 1000:
        return f"{round(value):,}{suffix}"
    if value == 0:
        return f"0{suffix}"
    if abs(value) >= 1:  # 1 <= |x| < 1000: at most two decimals, no trailing zeros
        text = f"{value:,.2f}".rstrip("0").rstrip(".")
        return f"{text}{suffix}"
    # |x| < 1: four significant digits, in plain decimals
    digits = max(4, 4 - int(math.floor(math.log10(abs(value)))) - 1)
    text = f"{value:.{min(digits, 12)}f}".rstrip("0").rstrip(".")
    return f"{text}{suffix}"


def seconds(value: float) -> str:
    """A duration: 0.42 s, 3.1 s, 2 min 05 s."""
    if value < 10:
        return f"{value:.2f} s"
    if value < 120:
        return f"{value:.1f} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} min {rest:02d} s"


# printf-style formats (sprintf-js, as Streamlit's number columns take them)
WHOLE, SIGNIFICANT = "%,.0f", "%.4g"


def column_formats(frame) -> dict[str, str] | None:
    """A printf-style format for each numeric column of a DataFrame, close to what `number`
    shows: whole with separators when the column's numbers are whole or all from 1,000;
    four significant digits when they are all under 1,000 (0.9963, 1.5, 12.25; `number`
    would say 123.46 where this says 123.5); None when a column mixes numbers from 1,000
    with fractions under it (use `styled`, which formats value by value)."""
    import numpy as np
    import pandas as pd

    formats = {}
    for name in frame.columns:
        column = frame[name]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            continue
        if pd.api.types.is_integer_dtype(column):
            formats[name] = "%d" if _is_year(name) else "%,d"
            continue
        values = np.abs(column.to_numpy(dtype=float))
        values = values[np.isfinite(values) & (values != 0)]
        if values.size == 0 or values.min() >= 1000 or np.all(values == np.round(values)):
            formats[name] = WHOLE  # whole numbers stored as floats (counts) included
        elif values.max() < 1000:
            formats[name] = SIGNIFICANT
        else:
            return None
    return formats


def _is_year(name: Any) -> bool:
    """A column of years (YEAR_BUILT): its whole numbers shown 1998, not 1,998."""
    return "year" in str(name).lower()


def styled(rows: Any):
    """A table (a DataFrame or a list of dicts) as a pandas Styler whose numbers are shown in
    the lab's format; the values themselves stay numbers, so the table still sorts."""
    import pandas as pd

    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])
               and not (_is_year(c) and pd.api.types.is_integer_dtype(frame[c]))]
    return frame.style.format(number, subset=numeric, na_rep="-")
