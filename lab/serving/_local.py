"""The local twin of SageMaker real-time endpoints.

create/update/describe/list/delete keep the endpoint's record in `endpoints.db` and have
this process's runtime server load the model; `invoke` goes over HTTP, with boto3's own
`sagemaker-runtime` client pointed at the server, exactly as a learner's code would.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lab.registry import ModelVersion, check_name
from lab.serving._api import (
    FAILED,
    IN_SERVICE,
    SERVING,
    UPDATING,
    CaptureConfig,
    Endpoint,
    Invocation,
    Progress,
    RolloutPlan,
    RolloutResult,
)
from lab.serving._client import runtime_client, send
from lab.serving._errors import InvocationError
from lab.serving._records import EndpointRecords, with_url
from lab.serving._runtime import ensure_server, running_server, server_url, stop_server
from lab.twins import Twin


def _quiet(fraction: float, message: str) -> None:
    pass


class LocalEndpoints(Twin):
    note = ("The endpoint is served by the lab's runtime server on 127.0.0.1 (deployed in "
            "about a second); boto3's sagemaker-runtime client works against it unchanged.")

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.records = EndpointRecords(settings)

    def create(self, name: str, version: ModelVersion, progress: Progress | None = None
               ) -> Endpoint:
        """Create the endpoint and wait until it is InService (Failed: raises)."""
        report = progress or _quiet
        check_name(name, "endpoint")
        self.records.create(name, version.group, version.version)
        report(0.2, f"Endpoint {name}: Creating (loading {version.label})")
        try:
            server = ensure_server(self.settings)
            server.models.load(version.group, version.version)
        except Exception as exc:
            self.records.update(name, status=FAILED, failure=str(exc))
            raise
        self.records.update(name, status=IN_SERVICE, failure="")
        server.models.refresh(name)
        report(1.0, f"Endpoint {name}: InService at {server.url}")
        return self.describe(name)

    def update(self, name: str, version: ModelVersion, progress: Progress | None = None
               ) -> Endpoint:
        """Switch the endpoint to another version with no downtime: the new model is loaded
        while the old one keeps answering, then requests move over at once."""
        report = progress or _quiet
        current = self.records.get(name)
        self.records.update(name, status=UPDATING, pending_version=version.version,
                            failure="")
        report(0.2, f"Endpoint {name}: Updating from version {current.version} to "
                    f"{version.version}")
        try:
            server = ensure_server(self.settings)
            server.models.load(version.group, version.version)
        except Exception as exc:  # SageMaker rolls back: the old version keeps serving
            self.records.update(name, status=IN_SERVICE, pending_version=None,
                                failure=f"Update to version {version.version} failed: {exc}")
            raise
        self.records.update(name, group=version.group, version=version.version,
                            status=IN_SERVICE, pending_version=None)
        server.models.refresh(name)
        report(1.0, f"Endpoint {name}: InService, serving version {version.version}")
        return self.describe(name)

    def describe(self, name: str) -> Endpoint:
        return with_url(self.records.get(name), self._url())

    def list(self) -> list[Endpoint]:
        url = self._url()
        return [with_url(e, url) for e in self.records.list()]

    def delete(self, name: str) -> None:
        """Delete the endpoint; when it was the last one, the background server stops and
        its port is free again."""
        self.records.delete(name)
        server = running_server(self.settings)
        if server is not None:
            server.models.forget(name)
        if not self.records.list():
            stop_server(self.settings)

    def invoke(self, name: str, body: bytes | str, content_type: str = "text/csv",
               accept: str = "application/json") -> Invocation:
        url = self.url(start=True)
        if url is None:  # nothing to serve: say why, and never fall back to AWS's runtime
            endpoint = self.records.get(name)  # EndpointNotFoundError if there is none
            raise InvocationError(f"Endpoint {endpoint.name} is {endpoint.status}"
                                  + (f" ({endpoint.failure})" if endpoint.failure else "")
                                  + ": it answers once it is InService.")
        return send(runtime_client(url), name, body, content_type, accept)

    def url(self, start: bool = False) -> str | None:
        """The runtime's URL (boto3's endpoint_url); with `start`, start a server if none
        runs and the workspace has an endpoint to serve."""
        found = self._url()
        if found is None and start and any(e.status in SERVING for e in self.records.list()):
            found = ensure_server(self.settings).url
        return found

    def _url(self) -> str | None:
        return server_url(self.settings)

    def set_capture(self, name: str, config: CaptureConfig) -> CaptureConfig:
        """Data capture on or off: at once by this process's runtime server, within a
        second by another process's."""
        from lab.serving._capture import capture_folder

        found = self.records.set_capture(name, config.check() if config.enabled else config)
        server = running_server(self.settings)
        if server is not None:
            server.capture.refresh(name)
        return replace(found, destination=str(capture_folder(self.settings, name)))

    def capture(self, name: str) -> CaptureConfig:
        from lab.serving._capture import capture_folder

        self.records.get(name)
        return replace(self.records.capture(name),
                       destination=str(capture_folder(self.settings, name)))

    def rollout(self, name: str, version: ModelVersion, plan: RolloutPlan,
                progress: Progress | None = None, on_step=None) -> RolloutResult:
        from lab.serving._rollout import local_rollout

        return local_rollout(self, name, version, plan, progress, on_step)

    def recover(self, name: str) -> None:
        """A rollout whose process died left two fleets: the old version takes it all."""
        self.records.set_variants(name, [])
        self.records.update(name, status=IN_SERVICE, pending_version=None,
                            failure="A rollout was interrupted: the endpoint kept its version.")
        server = running_server(self.settings)
        if server is not None:
            server.models.refresh(name)

    def client_url(self, endpoint: Endpoint) -> str | None:
        return endpoint.url

    def resume(self) -> str | None:
        """After an app restart, serve the workspace's InService endpoints again. Cheap
        when the server already runs or the workspace has no endpoint (a dict lookup, a
        file check)."""
        if not self.records.db.path.exists():
            return None
        return self.url(start=True)

    def code(self) -> list:
        from lab.serving import _server

        return [LocalEndpoints.create, LocalEndpoints.update, _server.RuntimeServer]

    def rollout_code(self) -> list:
        from lab.serving import _rollout

        return [_rollout.local_rollout, _rollout._bake]
