""""What to notice" beside a result: facts computed from it, for the pages' words."""

from __future__ import annotations

from typing import Any


def negative_targets(df: Any, target: str) -> dict[str, Any] | None:
    """How many rows have a negative target, and the lowest; None when there are none (or
    the target is not numeric)."""
    import pandas as pd

    if target not in df or not pd.api.types.is_numeric_dtype(df[target]):
        return None
    below = df[target] < 0
    if not below.any():
        return None
    return {"rows": int(below.sum()), "share": float(below.mean()),
            "min": float(df[target].min())}


def ranked_runs(runs: list[Any], metric: str = "mse") -> list[Any]:
    """Runs by their validation `metric`, lowest first (runs without it last)."""
    return sorted(runs, key=lambda r: (r.validation.get(metric) is None,
                                       r.validation.get(metric, 0.0), -r.created))
