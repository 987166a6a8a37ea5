"""A steady stream of requests to an endpoint, so that there is something to watch.

    stream = TrafficStream(settings, endpoint, payloads, rate=50).start()
    ...                                   # a rollout, a monitoring view
    counts = stream.stop()                # sent, answered, failed, per variant

Each request is one CSV row sent through boto3's `sagemaker-runtime` client (against the
local runtime: its URL), one at a time, paced to `rate` requests a second; the rows cycle
when there are fewer than the requests. Every request gets an outcome: answered (200, and
which variant answered), refused by the endpoint (an error reply: its code), or lost (no
reply at all: a connection refused or cut). A rollout that loses nothing keeps `lost` at 0.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from lab.serving._client import runtime_client

MAX_RATE = 500.0  # requests a second (one client, one connection)


@dataclass
class TrafficCounts:
    sent: int = 0
    answered: int = 0
    refused: int = 0  # the endpoint answered with an error (ModelError, ...)
    lost: int = 0  # no answer at all
    by_variant: dict[str, int] = field(default_factory=dict)  # answered, per variant
    errors: dict[str, int] = field(default_factory=dict)  # refused, per error code
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class TrafficStream:
    def __init__(self, settings: Any, endpoint: str, payloads: Sequence[str],
                 rate: float = 50.0, total: int | None = None,
                 url: str | None = None, on_result: Callable[[str, str], None] | None = None
                 ) -> None:
        if not payloads:
            raise ValueError("no payload to send")
        self.settings, self.endpoint, self.payloads = settings, endpoint, list(payloads)
        self.rate, self.total = min(float(rate), MAX_RATE), total
        self.url = url
        self.on_result = on_result  # (outcome, variant or code) after each request
        self.counts = TrafficCounts()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._by_variant: Counter = Counter()
        self._errors: Counter = Counter()

    def start(self) -> TrafficStream:
        self._thread = threading.Thread(target=self._run, name="lab-traffic", daemon=True)
        self._thread.start()
        return self

    def run(self) -> TrafficCounts:
        """Send in this thread until `total` requests are sent (or `stop` is called)."""
        self._run()
        return self._finish()

    def stop(self) -> TrafficCounts:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        return self._finish()

    def stop_soon(self) -> None:
        """Stop after the request in flight (from the sending thread itself)."""
        self._stop.set()

    @property
    def done(self) -> bool:
        return self._thread is not None and not self._thread.is_alive()

    def _finish(self) -> TrafficCounts:
        self.counts.by_variant = dict(self._by_variant)
        self.counts.errors = dict(self._errors)
        return self.counts

    def _client(self) -> Any:
        if self.url is not None:
            return runtime_client(self.url)
        from lab.serving import open_endpoints

        endpoints = open_endpoints(self.settings)
        endpoints.resume()  # locally: a server runs (started if none does)
        url = endpoints.client_url(endpoints.describe(self.endpoint))
        if url is None:  # AWS's own runtime, with the twin's session
            return runtime_client(None, endpoints.boto_session)
        return runtime_client(url)

    def _run(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        client = self._client()
        started = time.monotonic()
        interval = 1.0 / self.rate if self.rate > 0 else 0.0
        i = 0
        while not self._stop.is_set() and (self.total is None or i < self.total):
            due = started + i * interval
            wait = due - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                break
            body = self.payloads[i % len(self.payloads)]
            i += 1
            self.counts.sent += 1
            try:
                answer = client.invoke_endpoint(EndpointName=self.endpoint, Body=body.encode(),
                                                ContentType="text/csv",
                                                Accept="application/json")
                answer["Body"].read()
                variant = answer.get("InvokedProductionVariant") or "AllTraffic"
                self.counts.answered += 1
                self._by_variant[variant] += 1
                outcome, detail = "answered", variant
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "Error")
                self.counts.refused += 1
                self._errors[code] += 1
                outcome, detail = "refused", code
            except BotoCoreError as exc:
                self.counts.lost += 1
                self._errors[type(exc).__name__] += 1
                outcome, detail = "lost", type(exc).__name__
            if self.on_result is not None:
                self.on_result(outcome, detail)
        self.counts.seconds = round(time.monotonic() - started, 3)
