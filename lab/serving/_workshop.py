"""The workshop's deployment: an approved model version on a real-time endpoint.

Only an Approved version is deployed (the workshop's practice: approval is the gate between
the registry and production). Deploying to an endpoint that exists updates it to the new
version. Deployment is a job: on SageMaker it takes minutes; locally about a second.
"""

from __future__ import annotations

from typing import Any

from lab import jobs
from lab.errors import InputError
from lab.registry import (
    APPROVED,
    ModelGroupNotFoundError,
    ModelVersion,
    NotApprovedError,
    check_name,
    default_group,
    open_registry,
)
from lab.serving import IMPLEMENTATIONS, open_endpoints
from lab.serving._api import Endpoint
from lab.serving._errors import EndpointNotFoundError
from lab.twins import twin_class

DEPLOY_KIND = "deploy"
ENDPOINT = "lab-housing-endpoint"


def default_endpoint(settings: Any) -> str:
    """The workspace's endpoint, named by the backend's rule (SageMaker: per workspace)."""
    return twin_class(IMPLEMENTATIONS, settings.backend).resource_name(settings, ENDPOINT)


def approved_version(settings: Any, version: int, group: str | None = None) -> ModelVersion:
    """The version, if it is Approved; NotApprovedError saying what to do otherwise."""
    found = open_registry(settings).describe_version(group or default_group(settings), version)
    if found.status != APPROVED:
        raise NotApprovedError(
            f"Version {found.version} of {found.group} is {found.status}: only an Approved "
            "version may be deployed. Review its metrics and approve it first.")
    return found


def latest_approved(settings: Any, group: str | None = None) -> ModelVersion:
    """The newest Approved version of the group (what the deployment pipeline deploys)."""
    group = group or default_group(settings)
    try:
        versions = open_registry(settings).list_versions(group)
    except ModelGroupNotFoundError:
        versions = []
    approved = [v for v in versions if v.status == APPROVED]
    if not approved:
        raise InputError(f"No version of {group} is Approved: approve one in the registry "
                         "first (`python -m lab approve --version N`).")
    return max(approved, key=lambda v: v.version)


def deploy_model(settings: Any, version: int, endpoint: str | None = None,
                 group: str | None = None, progress=None) -> Endpoint:
    """Deploy an approved version: create the endpoint, or update it if it exists."""
    model = approved_version(settings, version, group)
    endpoints = open_endpoints(settings)
    name = endpoint or default_endpoint(settings)
    try:
        current = endpoints.describe(name)
    except EndpointNotFoundError:
        current = None
    if current is None:
        return endpoints.create(name, model, progress)
    return endpoints.update(name, model, progress)


def deploy_job(settings: Any, version: int, endpoint: str | None = None,
               group: str | None = None) -> jobs.JobSpec:
    """Deploy as a job; an unapproved version or a bad name is refused before it exists."""
    approved_version(settings, version, group)
    name = endpoint or default_endpoint(settings)
    check_name(name, "endpoint")

    def run(ctx: jobs.JobContext) -> dict[str, Any]:
        ctx.log(f"Deploying version {version} to the endpoint {name} "
                f"({settings.backend} backend)")

        def progress(fraction: float, message: str) -> None:
            ctx.check_cancelled()
            ctx.progress(fraction, message)
            ctx.log(message)

        deployed = deploy_model(settings, version, name, group, progress)
        ctx.log(f"{deployed.name}: {deployed.status}, serving {deployed.group}/"
                f"{deployed.version}" + (f" at {deployed.url}" if deployed.url else ""))
        return deployed.to_json()

    return jobs.JobSpec(DEPLOY_KIND, {"version": version, "endpoint": name,
                                      "group": group or default_group(settings)}, run)


def list_endpoints(settings: Any) -> list[Endpoint]:
    return open_endpoints(settings).list()


def describe_endpoint(settings: Any, name: str | None = None) -> Endpoint:
    return open_endpoints(settings).describe(name or default_endpoint(settings))


def delete_endpoint(settings: Any, name: str | None = None) -> None:
    open_endpoints(settings).delete(name or default_endpoint(settings))


def invoke_endpoint(settings: Any, name: str | None, body: bytes | str,
                    content_type: str = "text/csv", accept: str = "application/json"):
    """InvokeEndpoint through boto3 (local: pointed at the lab's runtime server)."""
    return open_endpoints(settings).invoke(name or default_endpoint(settings), body,
                                           content_type, accept)


def resume_endpoints(settings: Any) -> str | None:
    """Make sure the workspace's endpoints are served after an app restart, where that is
    the lab's job (locally); the runtime URL, or None when there is nothing to serve."""
    return open_endpoints(settings).resume()


def endpoint_done(ws: Any) -> bool:
    """The step's done-check (cheap, no server, no AWS): an endpoint is InService."""
    from lab.serving._api import SERVING
    from lab.serving._records import EndpointRecords

    path = ws.path("endpoints.db")
    if not path.exists():
        return False
    return any(e.status in SERVING for e in EndpointRecords(ws).list())
