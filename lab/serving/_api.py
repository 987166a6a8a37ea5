"""The endpoints' interface (`Endpoints`) and what they hand back.

Both twins implement it: `LocalEndpoints` (the lab's runtime server on 127.0.0.1, speaking
SageMaker's runtime protocol) and `SageMakerEndpoints` (the SDK's ModelPackage.deploy and
Predictor). Pages ask an implementation, never the backend's name, what differs: the URL a
client should use (`client_url`), what a deployment costs in time and money (`note`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

CREATING, IN_SERVICE, UPDATING, FAILED = "Creating", "InService", "Updating", "Failed"
SERVING = (IN_SERVICE, UPDATING)  # an endpoint being updated keeps serving its old version
LOCAL_ACCOUNT = "000000000000"  # the account id in the local twin's ARNs and errors

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Endpoint:
    name: str
    group: str
    version: int
    status: str
    created: float
    updated: float
    backend: str = "local"
    failure: str = ""
    pending_version: int | None = None
    url: str | None = None  # the runtime's base URL: boto3's endpoint_url (None: not served)
    arn: str = ""

    @property
    def invocation_url(self) -> str | None:
        return f"{self.url}/endpoints/{self.name}/invocations" if self.url else None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "invocation_url": self.invocation_url}


@dataclass(frozen=True)
class Invocation:
    endpoint: str
    predictions: list[float]
    latency_s: float  # the whole call, as the client sees it
    content_type: str
    payload: str  # what was sent (the CSV rows)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


ALL_TRAFFIC = "AllTraffic"  # the variant of an endpoint with one fleet
STRATEGIES = ("all", "canary", "linear")
MAX_CAPTURE_FILE_BYTES = 64 * 1024 * 1024
MAX_CAPTURE_TOTAL_BYTES = 1024 * 1024 * 1024


@dataclass(frozen=True)
class Variant:
    """A fleet serving an endpoint and its share of the requests (0 to 1)."""

    name: str
    group: str
    version: int
    weight: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CaptureConfig:
    """An endpoint's data capture (SageMaker's DataCaptureConfig): the share of requests
    kept, with their answers, and (locally) how large the capture may grow."""

    enabled: bool = False
    sampling_percentage: float = 100.0
    max_file_bytes: int = 1024 * 1024  # a capture file is closed at this size
    max_total_bytes: int = 50 * 1024 * 1024  # the oldest files go beyond this
    destination: str = ""  # where the records land (a folder, or an s3:// URI)

    def check(self) -> CaptureConfig:
        from lab.errors import ParameterError

        if not 0 < float(self.sampling_percentage) <= 100:
            raise ParameterError("The sampling percentage is above 0 and at most 100 "
                                 f"(got {self.sampling_percentage:g}).")
        if not 1024 <= int(self.max_file_bytes) <= MAX_CAPTURE_FILE_BYTES:
            raise ParameterError(f"A capture file holds 1 KB to {MAX_CAPTURE_FILE_BYTES:,} "
                                 f"bytes (got {self.max_file_bytes:,}).")
        if not int(self.max_file_bytes) <= int(self.max_total_bytes) <= \
                MAX_CAPTURE_TOTAL_BYTES:
            raise ParameterError(f"The capture's total size is at least one file and at most "
                                 f"{MAX_CAPTURE_TOTAL_BYTES:,} bytes (got "
                                 f"{self.max_total_bytes:,}).")
        return self

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RolloutPlan:
    """How a new version reaches the traffic (SageMaker's BlueGreenUpdatePolicy): all at
    once, a canary share first, or linear steps, each step baked for `bake_s` seconds while
    the guardrails watch the new fleet; any breach rolls back."""

    strategy: str = "canary"
    canary_percent: float = 10.0
    linear_step_percent: float = 25.0
    bake_s: float = 5.0
    max_error_rate: float = 0.05  # share of the new fleet's requests that failed
    max_p99_ms: float = 200.0  # the new fleet's 99th percentile latency
    min_requests: int = 5  # the new fleet's requests before a guardrail judges a step

    def shares(self) -> list[float]:
        """The new fleet's share of the traffic at each step, ending at 1."""
        if self.strategy == "all":
            return [1.0]
        if self.strategy == "canary":
            return [self.canary_percent / 100, 1.0]
        step, out, share = self.linear_step_percent / 100, [], 0.0
        while share < 1 - 1e-9:
            share = min(1.0, share + step)
            out.append(round(share, 6))
        return out

    def check(self) -> RolloutPlan:
        from lab.errors import ParameterError

        if self.strategy not in STRATEGIES:
            raise ParameterError(f"Unknown strategy {self.strategy!r}: use all, canary or "
                                 "linear.")
        for name, value, low, high in (
                ("The canary share", self.canary_percent, 1, 50),
                ("The linear step", self.linear_step_percent, 5, 50),
                ("The bake time", self.bake_s, 0.5, 3600),
                ("The error-rate guardrail", self.max_error_rate, 0, 1),
                ("The p99 latency guardrail", self.max_p99_ms, 1, 60_000),
                ("The requests a guardrail needs", self.min_requests, 1, 10_000)):
            if not (isinstance(value, (int, float)) and low <= value <= high):
                raise ParameterError(f"{name} must be from {low:g} to {high:g} (got "
                                     f"{value!r}).")
        return self

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "shares": self.shares()}


@dataclass(frozen=True)
class RolloutStep:
    """One step of a rollout: the new fleet's share, and what the guardrails read on it."""

    share: float
    started: float
    ended: float
    requests: int  # the new fleet's, during the step
    errors: int
    error_rate: float | None
    p99_ms: float | None
    baseline_requests: int = 0  # the old fleet's, during the step
    breached: str = ""  # which guardrail (empty: none)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RolloutResult:
    endpoint: str
    from_version: int
    to_version: int
    strategy: str
    plan: dict[str, Any]
    steps: list[RolloutStep]
    rolled_back: bool
    reason: str  # why it rolled back, or "" when the new version serves
    serving_version: int
    backend: str = "local"
    alarms: list[dict[str, Any]] = field(default_factory=list)  # SageMaker: their states

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["steps"] = [s.to_json() for s in self.steps]
        out["guardrails"] = {"max_error_rate": self.plan.get("max_error_rate"),
                             "max_p99_ms": self.plan.get("max_p99_ms")}
        return out


class Endpoints(Protocol):
    """Real-time endpoints: create (wait until InService), update to another version with
    no downtime, describe, list the workspace's, delete, and invoke with CSV rows."""

    backend: str

    def create(self, name: str, version: Any, progress: Progress | None = None
               ) -> Endpoint: ...

    def update(self, name: str, version: Any, progress: Progress | None = None
               ) -> Endpoint: ...

    def describe(self, name: str) -> Endpoint: ...

    def list(self) -> list[Endpoint]: ...

    def delete(self, name: str) -> None: ...

    def invoke(self, name: str, body: bytes | str, content_type: str = "text/csv",
               accept: str = "application/json") -> Invocation: ...

    def set_capture(self, name: str, config: CaptureConfig) -> CaptureConfig:
        """Turn the endpoint's data capture on or off (SageMaker: a new endpoint config)."""

    def capture(self, name: str) -> CaptureConfig:
        """The endpoint's data capture, as it is now."""

    def rollout(self, name: str, version: Any, plan: RolloutPlan,
                progress: Progress | None = None, on_step: Any = None) -> RolloutResult:
        """Update the endpoint to `version` by shifting traffic as `plan` says, rolling back
        by itself when a guardrail is breached."""

    def client_url(self, endpoint: Endpoint) -> str | None:
        """The endpoint_url a learner's boto3 client needs (None: AWS's own)."""

    def resume(self) -> str | None:
        """Serve the workspace's endpoints again after a restart, where that is the lab's
        job (locally); the runtime URL, or None."""
