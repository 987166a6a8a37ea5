"""Talking to `sagemaker-featurestore-runtime`: records as text, and parallel ingestion.

The runtime API carries every value as a string (ValueAsString) and has no batch write:
PutRecord takes one record. The SDK's `FeatureGroup.ingest` makes its clients inside
worker processes; ingesting with the backend's own client instead, split into batches over
a thread pool (boto3 clients are thread-safe), is as parallel and can be stubbed in tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

import pandas as pd

from lab.featurestore._schema import FRACTIONAL, INTEGRAL, STRING, decode

Row = list[dict[str, str]]


def encode_rows(table: pd.DataFrame, definitions: dict[str, str]) -> list[Row]:
    """One runtime record per row; missing values are left out, as the SDK does."""
    columns = []
    for name in table.columns:
        kind = definitions[name]
        series = table[name]
        present = series.notna().tolist()
        if kind == INTEGRAL:
            text = [str(int(v)) if p else None for v, p in zip(series.tolist(), present)]
        elif kind == FRACTIONAL:
            text = [repr(float(v)) if p else None for v, p in zip(series.tolist(), present)]
        else:
            text = [str(v) if p else None for v, p in zip(series.tolist(), present)]
        columns.append((name, text))
    return [[{"FeatureName": name, "ValueAsString": values[i]}
             for name, values in columns if values[i] is not None]
            for i in range(len(table))]


def decode_record(record: Sequence[dict[str, Any]], definitions: dict[str, str]) -> dict:
    """A runtime record (all text) back to typed values, in the group's feature order."""
    values = {}
    for item in record:
        name = item["FeatureName"]
        kind = definitions.get(name, STRING)
        if "ValueAsStringList" in item:
            values[name] = [decode(v, kind) for v in item["ValueAsStringList"]]
        else:
            values[name] = decode(item["ValueAsString"], kind)
    order = {name: i for i, name in enumerate(definitions)}
    return dict(sorted(values.items(), key=lambda kv: order.get(kv[0], len(order))))


def put_rows(client: Any, group: str, rows: list[Row], *, max_workers: int, batch_size: int,
             target_stores: Sequence[str] | None = None,
             on_batch: Callable[[int], None] | None = None) -> list[tuple[int, str]]:
    """PutRecord every row, batches in parallel; returns (row position, error) failures."""
    extra = {"TargetStores": list(target_stores)} if target_stores else {}
    batches = [range(start, min(start + batch_size, len(rows)))
               for start in range(0, len(rows), batch_size)]

    def put_batch(positions: range) -> list[tuple[int, str]]:
        failed = []
        for i in positions:
            try:
                client.put_record(FeatureGroupName=group, Record=rows[i], **extra)
            except Exception as exc:  # noqa: BLE001 - one bad row must not stop the batch
                failed.append((i, _reason(exc)))
        return failed

    failures: list[tuple[int, str]] = []
    workers = max(1, min(max_workers, len(batches)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fs-ingest") as pool:
        futures = {pool.submit(put_batch, b): len(b) for b in batches}
        for future in as_completed(futures):
            failures.extend(future.result())
            if on_batch:
                on_batch(futures[future])
    return sorted(failures)


def _reason(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"
