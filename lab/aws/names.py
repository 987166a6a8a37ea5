"""The names the lab gives what it creates on AWS, and the tag that finds them again.

Names of feature groups, model package groups, endpoints and jobs are shared by a whole
account and region, and so may be a bucket's folders: two learners (or two clones of the
lab) must never use each other's. So a workspace's resources carry a suffix from its path,
jobs carry the lab's job id, and everything is tagged with the workspace.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

PREFIX = "mlops-workshop"  # the workshop's S3 prefix
WORKSPACE_TAG = "mlops-lab-workspace"
_NOT_NAME = re.compile(r"[^A-Za-z0-9-]")


def resource_name(settings: Any, base: str) -> str:
    """`base-<8 hex of the workspace path>`: the workspace's own resource on the account."""
    return f"{base}-{hashlib.sha1(str(settings.workspace).encode()).hexdigest()[:8]}"


def workspace_tag(settings: Any) -> dict[str, str]:
    value = re.sub(r"[^\w.:/=+\-@ ]", "_", Path(settings.workspace).name)[:256]
    return {"Key": WORKSPACE_TAG, "Value": value or "workspace"}


def job_name(job_id: str, limit: int = 63) -> str:
    """A SageMaker job name for a lab job: letters, digits and hyphens, at most `limit`."""
    return _NOT_NAME.sub("-", f"mlops-lab-{job_id}")[:limit].strip("-")


def tuning_job_name(job_id: str) -> str:
    """`lab-<date>-<time>-<hex>` from the lab's job id: tuning job names take 32 characters."""
    return _NOT_NAME.sub("-", "lab-" + job_id.split("-", 1)[-1])[:32]


def console_url(region: str, fragment: str) -> str:
    """A link to the SageMaker console, e.g. fragment `#/processing-jobs/<name>`."""
    return f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}{fragment}"
