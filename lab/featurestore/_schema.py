"""SageMaker's rules for names, feature types, record identifiers and event times.

Both twins check input here before they change anything, so a refused call leaves the store
as it was, and the same DataFrame is refused the same way locally and on SageMaker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from lab.featurestore._errors import InvalidNameError, SchemaError
from lab.names import MAX_FEATURES, RESERVED, is_feature_name

INTEGRAL, FRACTIONAL, STRING = "Integral", "Fractional", "String"
FEATURE_TYPES = (INTEGRAL, FRACTIONAL, STRING)


def check_name(name: Any, what: str = "feature group") -> str:
    if not is_feature_name(name):
        raise InvalidNameError(
            f"{name!r} is not a valid {what} name. Use 1 to 64 letters, digits, hyphens and "
            "underscores, starting and ending with a letter or digit (for example lab-train)."
        )
    return name


def glue_table_name(name: str, created: float) -> str:
    """The table name SageMaker gives the group in the Glue catalog (and so in Athena)."""
    return f"{name.lower().replace('-', '_')}_{int(created)}"


def feature_type(series: pd.Series) -> str | None:
    """The type SageMaker's `load_feature_definitions` infers, or None if it refuses."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return None
    if pd.api.types.is_integer_dtype(dtype):
        return INTEGRAL
    if pd.api.types.is_float_dtype(dtype):
        return FRACTIONAL
    # pandas 3 reads text as the "str" dtype where SageMaker's map only knows object/string.
    if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype):
        return STRING
    return None


def infer_definitions(frame: pd.DataFrame) -> dict[str, str]:
    if not isinstance(frame, pd.DataFrame) or frame.columns.empty:
        raise SchemaError("A feature group needs a DataFrame with at least one column.")
    if len(frame.columns) > MAX_FEATURES:
        raise SchemaError(f"A feature group holds at most {MAX_FEATURES} features; this "
                          f"DataFrame has {len(frame.columns)} columns.")
    _check_unique(frame)
    definitions, bad = {}, []
    for column in frame.columns:
        name = check_name(column, "feature")
        if name.lower() in RESERVED:
            raise InvalidNameError(f"The feature name {name!r} is reserved by the offline "
                                   "store; rename that column.")
        kind = feature_type(frame[column])
        if kind is None:
            bad.append(f"{name} ({frame[column].dtype})")
        definitions[name] = kind
    if bad:
        raise SchemaError(
            f"Unsupported column type: {', '.join(bad)}. Feature Store takes whole numbers "
            "(Integral), decimals (Fractional) and text (String): convert these columns first, "
            "e.g. df[col].astype('int64') for booleans or .astype('string') for dates."
        )
    lowered = [n.lower() for n in definitions]
    clashes = sorted({n for n in definitions if lowered.count(n.lower()) > 1})
    if clashes:
        raise SchemaError(f"Feature names must differ in more than letter case: {clashes}.")
    return definitions


def _check_unique(frame: pd.DataFrame) -> None:
    repeated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
    if repeated:
        raise SchemaError(f"Column names must be unique; repeated: {', '.join(repeated)}.")


def check_keys(definitions: dict[str, str], record_identifier: str, event_time: str) -> None:
    for role, column in (("record identifier", record_identifier), ("event time", event_time)):
        if column not in definitions:
            raise SchemaError(f"The {role} column {column!r} is missing. Add it to the "
                              f"DataFrame or name another {role} among: "
                              f"{', '.join(definitions)}.")
    if definitions[event_time] not in (FRACTIONAL, STRING):
        raise SchemaError(f"The event time {event_time!r} must be Fractional (unix seconds as "
                          "a float) or String (ISO-8601); convert it, e.g. "
                          f"df[{event_time!r}].astype('float64').")


def check_features(definitions: dict[str, str], group: str,
                   features: Sequence[str] | None) -> list[str]:
    """The features to read: all of them, or the named ones if the group has them."""
    if features is None:
        return list(definitions)
    unknown = [str(f) for f in features if f not in definitions]
    if unknown or isinstance(features, str):
        raise SchemaError(f"The group {group!r} has no feature {', '.join(unknown) or features}; "
                          f"its features are {', '.join(definitions)}.")
    return list(features)


def conform(frame: pd.DataFrame, definitions: dict[str, str], record_identifier: str,
            event_time: str) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """The frame in the group's column order and types, its event times in unix seconds
    and its record keys; raises SchemaError for anything SageMaker would refuse."""
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError("Ingest takes a pandas DataFrame.")
    _check_unique(frame)
    extra = [str(c) for c in frame.columns if c not in definitions]
    if extra:
        raise SchemaError(f"The group does not define the column(s) {', '.join(extra)}: drop "
                          "them, or create a new feature group for this DataFrame.")
    for role, column in (("record identifier", record_identifier), ("event time", event_time)):
        if column not in frame.columns:
            raise SchemaError(f"The {role} column {column!r} is missing: every record needs "
                              "one.")
        missing = int(frame[column].isna().sum())
        if missing:
            raise SchemaError(f"{missing} row(s) have no {role} ({column!r}): fill them in.")
    columns = {name: _convert(frame[name], name, kind) if name in frame.columns
               else pd.Series(index=frame.index, dtype=_EMPTY[kind])
               for name, kind in definitions.items()}
    out = pd.DataFrame(columns, index=frame.index).reset_index(drop=True)
    seconds = event_seconds(out[event_time], definitions[event_time], event_time)
    return out, seconds, record_keys(out[record_identifier], definitions[record_identifier])


def record_keys(series: pd.Series, kind: str) -> list[str]:
    # The common cases without a Python call per value: ingest is timed per 10,000 rows.
    if kind == INTEGRAL and series.dtype == np.int64:
        return list(map(str, series.tolist()))
    if kind == FRACTIONAL:
        return list(map(repr, series.tolist()))
    return [record_key(v, kind) for v in series.tolist()]


_EMPTY = {INTEGRAL: "Int64", FRACTIONAL: "float64", STRING: "string"}


def _convert(series: pd.Series, name: str, kind: str) -> pd.Series:
    if kind == STRING:
        return series.astype("string")
    if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series):
        raise SchemaError(f"Column {name!r} must hold {kind} numbers, not {series.dtype}: "
                          "convert it or create a new feature group.")
    if kind == FRACTIONAL:
        return series.astype("float64")
    if pd.api.types.is_integer_dtype(series.dtype):
        return series if series.dtype == np.int64 else series.astype("Int64")
    whole = series.dropna()
    if not (whole == np.floor(whole)).all():
        raise SchemaError(f"Column {name!r} is Integral in this group but holds decimals: "
                          "round them or create a new feature group.")
    return series.astype("Int64")


def event_seconds(series: pd.Series, kind: str, name: str) -> np.ndarray:
    if kind == FRACTIONAL:
        return series.to_numpy(dtype="float64")
    try:
        stamps = pd.to_datetime(series, utc=True, format="ISO8601")
    except (ValueError, TypeError):
        raise SchemaError(f"The event time {name!r} must be ISO-8601 text such as "
                          "2024-01-31T12:00:00Z.") from None
    return (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()


def record_key(value: Any, kind: str) -> str:
    """The identifier as the runtime API spells it (RecordIdentifierValueAsString)."""
    try:
        if kind == INTEGRAL:
            if isinstance(value, str):
                return str(int(value.strip()))
            if isinstance(value, (int, np.integer)):
                return str(int(value))
            if float(value).is_integer():
                return str(int(value))
            raise ValueError
        if kind == FRACTIONAL:
            return repr(float(value))
    except (TypeError, ValueError, OverflowError):
        raise SchemaError(f"Record identifier {value!r} is not a {kind} value.") from None
    return str(value)


def decode(value: str, kind: str) -> Any:
    """A runtime API value (always text) back to its feature type."""
    if kind == INTEGRAL:
        return int(value)
    if kind == FRACTIONAL:
        return float(value)
    return value
