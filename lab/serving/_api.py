"""The endpoints' interface (`Endpoints`) and what they hand back.

Both twins implement it: `LocalEndpoints` (the lab's runtime server on 127.0.0.1, speaking
SageMaker's runtime protocol) and `SageMakerEndpoints` (the SDK's ModelPackage.deploy and
Predictor). Pages ask an implementation, never the backend's name, what differs: the URL a
client should use (`client_url`), what a deployment costs in time and money (`note`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
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

    def client_url(self, endpoint: Endpoint) -> str | None:
        """The endpoint_url a learner's boto3 client needs (None: AWS's own)."""

    def resume(self) -> str | None:
        """Serve the workspace's endpoints again after a restart, where that is the lab's
        job (locally); the runtime URL, or None."""
