"""The Feature Store runtime API (`sagemaker-featurestore-runtime`) over the local store.

botocore's service model (rest-json, 2020-07-01) fixes the wire format:

    GET  /FeatureGroup/{name}?RecordIdentifierValueAsString=..&FeatureName=..   GetRecord
    PUT  /FeatureGroup/{name}   {"Record": [{"FeatureName", "ValueAsString"}], "TargetStores"}
    POST /BatchGetRecord        {"Identifiers": [{"FeatureGroupName",
                                 "RecordIdentifiersValueAsString", "FeatureNames"}]}

Every value travels as text (ValueAsString). A GetRecord of an id the store does not hold
answers 200 with no Record, as SageMaker does; an unknown group is ResourceNotFound (404).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from lab.errors import InputError
from lab.featurestore import (
    OFFLINE,
    ONLINE,
    GroupNotFoundError,
    LocalFeatureStore,
    RecordNotFoundError,
    decode,
)
from lab.serving._errors import InvocationError

MAX_IDENTIFIERS = 100


class FeatureStoreAPI:
    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self._store: LocalFeatureStore | None = None
        self._lock = threading.Lock()

    @property
    def store(self) -> LocalFeatureStore:
        with self._lock:  # made on first use: a server with no feature store opens nothing
            if self._store is None:
                self._store = LocalFeatureStore(self.settings)
            return self._store

    def get_record(self, group: str, query: dict[str, list[str]]) -> dict[str, Any]:
        ids = query.get("RecordIdentifierValueAsString") or []
        if len(ids) != 1:
            raise InvocationError("GetRecord needs one RecordIdentifierValueAsString.")
        features = query.get("FeatureName") or None
        try:
            record = self.store.get_record(_group_name(group), ids[0], features)
        except RecordNotFoundError:
            return {}  # SageMaker: 200 and no Record
        except GroupNotFoundError as exc:
            raise _not_found(exc) from None
        except InputError as exc:
            raise InvocationError(str(exc)) from None
        return {"Record": encode(record.values)}

    def put_record(self, group: str, body: bytes) -> dict[str, Any]:
        request = _json(body)
        record, stores = request.get("Record"), request.get("TargetStores") or [ONLINE, OFFLINE]
        if not isinstance(record, list) or not record:
            raise InvocationError("PutRecord needs a Record: a list of FeatureName and "
                                  "ValueAsString pairs.")
        name = _group_name(group)
        try:
            definitions = self.store.describe_group(name).definitions
            values = {}
            for item in record:
                feature = item.get("FeatureName") if isinstance(item, dict) else None
                if feature not in definitions or "ValueAsString" not in item:
                    raise InvocationError(f"Unknown feature or missing ValueAsString: {item!r}. "
                                          f"The group's features are {', '.join(definitions)}.")
                values[feature] = _decode(item["ValueAsString"], definitions[feature], feature)
            self.store.put_record(name, values, stores)
        except GroupNotFoundError as exc:
            raise _not_found(exc) from None
        except InputError as exc:
            if isinstance(exc, InvocationError):
                raise
            raise InvocationError(str(exc)) from None
        return {}

    def batch_get_record(self, body: bytes) -> dict[str, Any]:
        identifiers = _json(body).get("Identifiers")
        if not isinstance(identifiers, list) or not 0 < len(identifiers) <= MAX_IDENTIFIERS:
            raise InvocationError(f"BatchGetRecord needs 1 to {MAX_IDENTIFIERS} Identifiers.")
        records, errors = [], []
        for ident in identifiers:
            group = ident.get("FeatureGroupName", "") if isinstance(ident, dict) else ""
            ids = ident.get("RecordIdentifiersValueAsString") if isinstance(ident, dict) else None
            if not group or not isinstance(ids, list) or not 0 < len(ids) <= MAX_IDENTIFIERS:
                raise InvocationError("Each identifier needs a FeatureGroupName and 1 to "
                                      f"{MAX_IDENTIFIERS} RecordIdentifiersValueAsString.")
            try:
                batch = self.store.batch_get_records(_group_name(group), ids,
                                                     ident.get("FeatureNames") or None)
            except InputError as exc:  # SageMaker reports a bad group per identifier
                code = "ResourceNotFound" if isinstance(exc, GroupNotFoundError) else (
                    "ValidationError")
                errors += [{"FeatureGroupName": group, "RecordIdentifierValueAsString": str(i),
                            "ErrorCode": code, "ErrorMessage": str(exc)} for i in ids]
                continue
            records += [{"FeatureGroupName": group, "RecordIdentifierValueAsString": r.record_id,
                         "Record": encode(r.values)} for r in batch.records]
        return {"Records": records, "Errors": errors, "UnprocessedIdentifiers": []}

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def encode(values: dict[str, Any]) -> list[dict[str, str]]:
    """Typed values as the runtime API carries them: text, floats in their shortest form."""
    return [{"FeatureName": name, "ValueAsString": repr(v) if isinstance(v, float) else str(v)}
            for name, v in values.items() if v is not None]


def _decode(text: Any, kind: str, feature: str) -> Any:
    if not isinstance(text, str):
        raise InvocationError(f"The ValueAsString of {feature} must be text.")
    try:
        return decode(text, kind)
    except ValueError:
        raise InvocationError(f"{feature} is {kind}: {text!r} is not.") from None


def _group_name(name: str) -> str:
    """A group by name or by ARN (`arn:aws:sagemaker:...:feature-group/<name>`)."""
    return name.rsplit("/", 1)[-1] if name.startswith("arn:") else name


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise InvocationError("The body is not JSON.") from None
    except RecursionError:  # e.g. 100,000 '[': nesting no request of this API needs
        raise InvocationError("The body is nested too deeply to be a request of this "
                              "API.") from None
    if not isinstance(data, dict):
        raise InvocationError("The body must be a JSON object.")
    return data


def _not_found(exc: Exception) -> InvocationError:
    return InvocationError(str(exc), code="ResourceNotFound", status=404)
