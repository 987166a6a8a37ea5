"""The workshop's deployment: an approved model version on a real-time endpoint.

Only an Approved version is deployed (the workshop's practice: approval is the gate between
the registry and production). Deploying to an endpoint that exists updates it to the new
version. Deployment is a job: on SageMaker it takes minutes; locally about a second.
"""

from __future__ import annotations

from typing import Any

from lab import jobs
from lab.registry import (
    APPROVED,
    ModelVersion,
    NotApprovedError,
    check_name,
    default_group,
    open_registry,
)
from lab.serving._errors import EndpointNotFoundError
from lab.serving._records import Endpoint
from lab.settings import resource_name
from lab.workspace import Workspace

DEPLOY_KIND = "deploy"
ENDPOINT = "lab-housing-endpoint"


def default_endpoint(settings: Any) -> str:
    """Per workspace on SageMaker, where endpoint names are shared by the account."""
    return resource_name(settings, ENDPOINT)


def open_endpoints(settings: Any) -> Any:
    """The endpoints of the settings' backend (LocalEndpoints or SageMakerEndpoints)."""
    if getattr(settings, "backend", "local") == "sagemaker":
        from lab.sagemaker.endpoints import SageMakerEndpoints

        return SageMakerEndpoints(settings)
    from lab.serving._local import LocalEndpoints

    return LocalEndpoints(settings)


def approved_version(settings: Any, version: int, group: str | None = None) -> ModelVersion:
    """The version, if it is Approved; NotApprovedError saying what to do otherwise."""
    found = open_registry(settings).describe_version(group or default_group(settings), version)
    if found.status != APPROVED:
        raise NotApprovedError(
            f"Version {found.version} of {found.group} is {found.status}: only an Approved "
            "version may be deployed. Review its metrics and approve it first.")
    return found


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


def _deploy_fn(settings: Any, version: int, endpoint: str, group: str | None):
    def run(ctx: jobs.JobContext) -> dict[str, Any]:
        ctx.log(f"Deploying version {version} to the endpoint {endpoint} "
                f"({settings.backend} backend)")

        def progress(fraction: float, message: str) -> None:
            ctx.check_cancelled()
            ctx.progress(fraction, message)
            ctx.log(message)

        deployed = deploy_model(settings, version, endpoint, group, progress)
        ctx.log(f"{deployed.name}: {deployed.status}, serving {deployed.group}/"
                f"{deployed.version}" + (f" at {deployed.url}" if deployed.url else ""))
        return deployed.to_json()

    return run


def _job_params(settings: Any, version: int, endpoint: str | None, group: str | None
                ) -> tuple[dict[str, Any], str]:
    approved_version(settings, version, group)  # refused before any job exists
    name = endpoint or default_endpoint(settings)
    check_name(name, "endpoint")
    return {"version": version, "endpoint": name,
            "group": group or default_group(settings)}, name


def start_deploy_job(settings: Any, version: int, endpoint: str | None = None,
                     group: str | None = None) -> str:
    """Deploy in the background (the page's way); returns the job id."""
    params, name = _job_params(settings, version, endpoint, group)
    return jobs.submit(Workspace(settings.workspace), DEPLOY_KIND, params,
                       _deploy_fn(settings, version, name, group))


def run_deploy_job(settings: Any, version: int, endpoint: str | None = None,
                   group: str | None = None, echo=None) -> jobs.Job:
    """The same, to the end, in this thread (the CLI's way)."""
    params, name = _job_params(settings, version, endpoint, group)
    return jobs.run_now(Workspace(settings.workspace), DEPLOY_KIND, params,
                        _deploy_fn(settings, version, name, group), echo)


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
    """Local backend: make sure the workspace's InService endpoints are served (after an
    app restart); returns the runtime URL, None when there is nothing to serve. Cheap when
    the server already runs or the workspace has no endpoint (a dict lookup, a file check)."""
    if getattr(settings, "backend", "local") != "local":
        return None
    return open_endpoints(settings).url(start=True)
