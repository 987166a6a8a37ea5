"""The workshop's inference: rows from the offline store, then one record from the online
store, sent to the endpoint as CSV; each prediction next to the true value.

Production inference gets its features the second way: the caller knows a record id, the
online store answers in milliseconds with the newest values, and the payload is built from
that record in the model's feature order (target, record id and event time left out).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from lab import jobs
from lab.errors import InputError
from lab.featurestore import RECORD_ID, group_names, open_featurestore, workshop_query
from lab.registry import open_registry
from lab.serving import open_endpoints
from lab.serving._payload import to_csv
from lab.serving._workshop import default_endpoint, deploy_job

MAX_ROWS = 1000


@dataclass(frozen=True)
class Prediction:
    endpoint: str
    source: str  # "offline" (SQL on the offline store) or "online" (one record by id)
    group: str  # the feature group the rows came from
    features: list[str]
    target: str
    payload: str  # the CSV body sent
    record_ids: list[Any]
    predictions: list[float]
    actual: list[float | None]
    latency_s: float
    sql: str | None = None
    record: dict[str, Any] | None = None  # online: the record as the store returned it
    lookup_s: float | None = None  # online: the feature store lookup itself
    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def endpoint_model(settings: Any, endpoint: str | None = None) -> tuple[Any, Any]:
    """(endpoint, registered version it serves): the features and target come from it."""
    found = open_endpoints(settings).describe(endpoint or default_endpoint(settings))
    return found, open_registry(settings).describe_version(found.group, found.version)


def offline_query(group: str, features: list[str], target: str, rows: int) -> str:
    """The workshop's read-back (newest version of each record), first `rows` records."""
    return workshop_query(group, [RECORD_ID, target, *features], latest=True) + f"\nLIMIT {rows}"


def predict_offline(settings: Any, rows: int = 5, endpoint: str | None = None,
                    split: str = "test") -> Prediction:
    """The first `rows` records of a split's feature group, predicted by the endpoint."""
    if not 1 <= int(rows) <= MAX_ROWS:
        raise InputError(f"Send 1 to {MAX_ROWS} rows at a time.")
    found, model = endpoint_model(settings, endpoint)
    group = _group(settings, split)
    sql = offline_query(group, model.features, model.target, int(rows))
    frame = _named(open_featurestore(settings).query(sql).frame,
                   [RECORD_ID, model.target, *model.features])
    if frame.empty:
        raise InputError(f"The offline store of {group} returned no rows: ingest the prepared "
                         "data on the Feature Store page first.")
    payload = to_csv(frame[model.features].to_numpy(float))
    answer = open_endpoints(settings).invoke(found.name, payload)
    actual = [float(v) for v in frame[model.target]] if model.target in frame else []
    return _prediction(found.name, "offline", group, model, payload,
                       frame[RECORD_ID].tolist(), answer, actual, sql=sql)


def predict_online(settings: Any, record_id: Any, endpoint: str | None = None,
                   split: str = "test") -> Prediction:
    """One record from the online store by id, its features sent to the endpoint."""
    found, model = endpoint_model(settings, endpoint)
    group = _group(settings, split)
    record = open_featurestore(settings).get_record(group, record_id)
    payload = payload_from_record(record.values, model.features)
    answer = open_endpoints(settings).invoke(found.name, payload)
    actual = record.values.get(model.target)
    return _prediction(found.name, "online", group, model, payload, [record.record_id], answer,
                       [float(actual) if actual is not None else None], record=record.values,
                       lookup_s=record.seconds)


def payload_from_record(values: dict[str, Any], features: list[str]) -> str:
    """The CSV row of an online record: its features in the model's order, as text."""
    missing = [f for f in features if values.get(f) is None]
    if missing:
        raise InputError(f"The record has no value for {', '.join(missing)}: the model needs "
                         "every feature.")
    return ",".join(repr(float(values[f])) for f in features)


def _named(frame: Any, columns: list[str]) -> Any:
    """The frame with the model's column names (Athena answers in lower case)."""
    by_lower = {c.lower(): c for c in columns}
    return frame.rename(columns={c: by_lower.get(str(c).lower(), c) for c in frame.columns})


def _group(settings: Any, split: str) -> str:
    names = group_names(settings)
    if split not in names:
        raise InputError(f"Unknown split {split!r}: use one of {', '.join(names)}.")
    return names[split]


def _prediction(endpoint: str, source: str, group: str, model: Any, payload: str,
                ids: list[Any], answer: Any, actual: list[float | None], **extra: Any
                ) -> Prediction:
    rows = [{"record_id": i, "prediction": p, model.target or "actual": a,
             "error": (p - a) if a is not None else None}
            for i, p, a in zip(ids, answer.predictions, actual or [None] * len(ids))]
    return Prediction(endpoint=endpoint, source=source, group=group,
                      features=list(model.features), target=model.target, payload=payload,
                      record_ids=list(ids), predictions=list(answer.predictions),
                      actual=list(actual), latency_s=answer.latency_s, rows=rows, **extra)


def register_deploy_and_predict(settings: Any, echo=None, rows: int = 5) -> dict[str, Any]:
    """`python -m lab run-all`'s registry step: register the best run, approve it, deploy
    it (creating or updating the endpoint) and send the first test rows of the offline
    store."""
    from lab.registry import APPROVED, register_model, registry_summary, set_approval

    version = register_model(settings)
    version = set_approval(settings, version.version, APPROVED, "Approved by run-all")
    jobs.run(settings, deploy_job(settings, version.version), echo).outcome("deploy job")
    prediction = predict_offline(settings, rows)
    endpoint = open_endpoints(settings).describe(prediction.endpoint)
    return {"registry": registry_summary(version),
            "endpoint": {"name": endpoint.name, "url": endpoint.url, "status": endpoint.status,
                         "version": endpoint.version,
                         "invocation_url": endpoint.invocation_url,
                         "sample_predictions": prediction.predictions,
                         "sample_actual": prediction.actual,
                         "latency_ms": round(prediction.latency_s * 1000, 3)}}


def rows_of_payload(payload: str, limit: int = 3) -> list[list[float]]:
    """The first rows of a CSV payload as numbers (for the SDK snippet's example)."""
    return [[float(v) for v in line.split(",")] for line in payload.splitlines()[:limit]
            if line.strip()]


def run_all_step(settings: Any, options: dict[str, Any], echo) -> dict[str, Any]:
    """Register the best run, approve it, deploy it and send it the first test rows."""
    started = time.perf_counter()
    out = register_deploy_and_predict(settings, echo)
    out["timings_s"] = {"deploy": round(time.perf_counter() - started, 4)}
    return out


def code(settings: Any) -> list:
    """What the registry step runs: the workshop's inference, on either backend."""
    return [predict_online, payload_from_record, predict_offline]
