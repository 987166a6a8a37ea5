"""The names the lab gives what it creates on AWS, and the tags that find them again.

Names of feature groups, model package groups, endpoints and jobs are shared by a whole
account and region, and so may be a bucket's folders: two learners (or two clones of the
lab) must never use each other's. So a workspace's resources carry a suffix from its path,
jobs carry the lab's job id, its S3 objects live under a folder of its own, and everything
is tagged with the lab and the workspace (the rule, once: `tags`). The cleanup finds a
workspace's resources by these names and tags.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

PREFIX = "mlops-workshop"  # the workshop's S3 prefix
LAB_TAG = "mlops-lab"  # on everything the lab creates: "<value of LAB_TAG_VALUE>"
LAB_TAG_VALUE = "true"
WORKSPACE_TAG = "mlops-lab-workspace"  # the workspace folder's name (readable)
WORKSPACE_ID_TAG = "mlops-lab-workspace-id"  # its 8 hex (unique: what cleanup matches)
_NOT_NAME = re.compile(r"[^A-Za-z0-9-]")


def workspace_id(settings: Any) -> str:
    """8 hex of the workspace's path: the same workspace always gets the same id."""
    return hashlib.sha1(str(settings.workspace).encode()).hexdigest()[:8]


def resource_name(settings: Any, base: str) -> str:
    """`base-<8 hex of the workspace path>`: the workspace's own resource on the account."""
    return f"{base}-{workspace_id(settings)}"


def s3_prefix(settings: Any) -> str:
    """The workspace's folder in the bucket, under the workshop's prefix: what the lab
    uploads or has SageMaker write goes there, so cleanup can delete it without touching
    another learner's data in a shared bucket."""
    return f"{PREFIX}/workspace-{workspace_id(settings)}"


def workspace_tag(settings: Any) -> dict[str, str]:
    value = re.sub(r"[^\w.:/=+\-@ ]", "_", Path(settings.workspace).name)[:256]
    return {"Key": WORKSPACE_TAG, "Value": value or "workspace"}


def tags(settings: Any) -> list[dict[str, str]]:
    """The tags of everything the lab creates: the lab, the workspace's name and its id."""
    return [{"Key": LAB_TAG, "Value": LAB_TAG_VALUE}, workspace_tag(settings),
            {"Key": WORKSPACE_ID_TAG, "Value": workspace_id(settings)}]


def is_workspace_tagged(found: list[dict[str, str]] | None, settings: Any) -> bool:
    """Whether tags read back from AWS mark a resource as this workspace's."""
    values = {t.get("Key"): t.get("Value") for t in found or []}
    if WORKSPACE_ID_TAG in values:
        return values[WORKSPACE_ID_TAG] == workspace_id(settings)
    return values.get(WORKSPACE_TAG) == workspace_tag(settings)["Value"]  # older resources


def job_name(job_id: str, limit: int = 63) -> str:
    """A SageMaker job name for a lab job: letters, digits and hyphens, at most `limit`."""
    return _NOT_NAME.sub("-", f"mlops-lab-{job_id}")[:limit].strip("-")


def tuning_job_name(job_id: str) -> str:
    """`lab-<date>-<time>-<hex>` from the lab's job id: tuning job names take 32 characters."""
    return _NOT_NAME.sub("-", "lab-" + job_id.split("-", 1)[-1])[:32]


def console_url(region: str, fragment: str) -> str:
    """A link to the SageMaker console, e.g. fragment `#/processing-jobs/<name>`."""
    return f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}{fragment}"
