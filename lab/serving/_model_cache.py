"""The server's view of the endpoints: which model answers each name, loaded once.

Each request looks its endpoint up here. The record is re-read from `endpoints.db` at most
once a second (`RECHECK_S`), so an endpoint deployed, updated or deleted by another lab
process is picked up within a second without a database read per request. Models are
loaded once per (group, version) and shared by the endpoints that serve them; an update
loads the new version before the record switches to it, so no request waits for a load.

Refreshes race: the warming thread of a server that just started may read an endpoint's
record, then spend a second loading its model while an update switches the record and
refreshes. Each refresh takes a ticket before it reads the record, and a result is kept
only if no later-read record was stored meanwhile, so an older version never comes back.
Models load only from the workspace's own registry copies.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

from lab.registry import LocalRegistry
from lab.serving._api import ALL_TRAFFIC, LOCAL_ACCOUNT, SERVING, Endpoint
from lab.serving._errors import InvocationError
from lab.serving._predict import ServingModel
from lab.serving._records import EndpointRecords

RECHECK_S = 1.0
KEEP_UNUSED_S = 60.0  # a version loaded ahead of an update stays until the switch


@dataclass(frozen=True)
class Served:
    endpoint: Endpoint
    model: ServingModel
    checked: float
    ticket: int = 0  # the order in which its record was read
    # During a rollout, each fleet: (variant, model, weight, (group, version)); else
    # nothing, and the endpoint's model answers as AllTraffic.
    variants: tuple[tuple[str, Any, float, tuple[str, int]], ...] = ()

    def pick(self) -> tuple[str, Any]:
        """The fleet that answers this request: drawn by the variants' weights."""
        if not self.variants:
            return ALL_TRAFFIC, self.model
        draw, seen = random.random() * sum(v[2] for v in self.variants), 0.0
        for name, model, weight, _ in self.variants:
            seen += weight
            if draw < seen:
                return name, model
        last = next((v for v in reversed(self.variants) if v[2] > 0), self.variants[-1])
        return last[0], last[1]


class ModelCache:
    def __init__(self, settings: Any) -> None:
        self.records = EndpointRecords(settings)
        self.registry = LocalRegistry(settings)
        self._served: dict[str, Served] = {}
        self._models: dict[tuple[str, int], tuple[ServingModel, float]] = {}
        self._load_lock = threading.Lock()
        self._tickets = itertools.count(1)
        self._served_lock = threading.Lock()

    def get(self, name: str) -> Served:
        """The model serving `name`; InvocationError (ValidationError) when there is none."""
        served = self._served.get(name.lower())
        if served is None or time.monotonic() - served.checked > RECHECK_S:
            served = self.refresh(name)
        return served

    def refresh(self, name: str) -> Served:
        with self._served_lock:
            ticket = next(self._tickets)
        endpoint = self.records.find(name)
        if endpoint is None:
            self.forget(name)
            raise InvocationError(f"Endpoint {name} of account {LOCAL_ACCOUNT} not found.")
        if endpoint.status not in SERVING:
            self.forget(name)
            why = f" ({endpoint.failure})" if endpoint.failure else ""
            raise InvocationError(f"Endpoint {endpoint.name} is {endpoint.status}{why}: it "
                                  "answers once it is InService.")
        fleets = self.records.variants(name)
        try:
            model = self.load(endpoint.group, endpoint.version)
            variants = tuple((v.name, self.load(v.group, v.version), v.weight,
                              (v.group.lower(), v.version)) for v in fleets)
        except Exception as exc:  # noqa: BLE001 - a model that fails to load, as a container
            raise InvocationError.from_model(500, f"The model of {endpoint.group}/"
                                             f"{endpoint.version} does not load: {exc}") from None
        with self._served_lock:
            current = self._served.get(name.lower())
            if current is not None and current.ticket > ticket:
                return current  # a record read after ours is already served
            served = self._served[name.lower()] = Served(endpoint, model, time.monotonic(),
                                                         ticket, variants)
        self._evict()
        return served

    def load(self, group: str, version: int) -> ServingModel:
        """The model of a registered version, loaded from the registry's copy (once)."""
        from lab.training import load_model

        key = (group.lower(), int(version))
        found = self._models.get(key)
        if found is not None:
            return found[0]
        with self._load_lock:  # one load per version, even when many requests arrive at once
            found = self._models.get(key)
            if found is None:
                artifact = self.registry.describe_version(group, version).artifact
                model = load_model(artifact, within=self.registry.ws.root)
                found = self._models[key] = (ServingModel(_one_thread(model)),
                                             time.monotonic())
        return found[0]

    def warm(self) -> list[str]:
        """Load the model of every serving endpoint (a restarted server's first job)."""
        loaded = []
        for endpoint in self.records.list():
            if endpoint.status in SERVING:
                try:
                    self.refresh(endpoint.name)
                    loaded.append(endpoint.name)
                except Exception:  # noqa: BLE001 - one broken endpoint must not stop the rest
                    continue
        return loaded

    def forget(self, name: str) -> None:
        with self._served_lock:
            self._served.pop(name.lower(), None)
        self._evict()

    def names(self) -> list[str]:
        return [s.endpoint.name for s in list(self._served.values())]

    def _evict(self) -> None:
        """Drop models no served endpoint uses (an updated endpoint's old version)."""
        used = {(s.endpoint.group.lower(), s.endpoint.version) for s in list(self._served.values())}
        used |= {v[3] for s in list(self._served.values()) for v in s.variants}
        now = time.monotonic()
        with self._load_lock:
            for key, (_, loaded) in list(self._models.items()):
                if key not in used and now - loaded > KEEP_UNUSED_S:
                    del self._models[key]


def _one_thread(model: Any) -> Any:
    """Predict on one thread: the server's parallelism is one thread per connection, and
    OpenMP threads for a one-row request cost more than they give (XGBoost defaults to all
    cores; measured on 2 cores: p99 4.7 ms with them, 1.7 ms without)."""
    estimator = getattr(model, "_model", None)
    try:
        if hasattr(estimator, "set_param"):  # an XGBoost Booster
            estimator.set_param({"nthread": 1})
        elif hasattr(estimator, "n_jobs"):  # a scikit-learn estimator
            estimator.n_jobs = 1
    except Exception:  # noqa: BLE001 - a speed-up only; the model works without it
        pass
    return model
