"""One number format for every screen, table, chart and log line a learner reads.

Prices, MSEs and counts are shown whole with thousands separators (335,578,021), never in
scientific notation (3.35578e+08) nor with a tail of decimals (204835790.9056); small
quantities such as R² or a learning rate keep four significant digits (0.9963, 0.001).
Tables keep their numbers as numbers (so they still sort) and get this format through a
pandas Styler, which `st.dataframe` renders as the displayed text.
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


def styled(rows: Any):
    """A table (a DataFrame or a list of dicts) as a pandas Styler whose numbers are shown in
    the lab's format; the values themselves stay numbers, so the table still sorts."""
    import pandas as pd

    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])]
    return frame.style.format(number, subset=numeric, na_rep="-")
