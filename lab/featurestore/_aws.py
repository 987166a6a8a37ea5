"""AWS answers in the lab's terms: errors as lab errors, DescribeFeatureGroup as info.

Imported by the SageMaker twin only; botocore is imported when an error is translated.
"""

from __future__ import annotations

from typing import Any

from lab.errors import BackendError, InputError, LabError
from lab.featurestore._errors import GroupExistsError, GroupNotFoundError
from lab.featurestore._models import FeatureGroupInfo

NOT_FOUND = ("ResourceNotFound", "ResourceNotFoundException")
IN_USE = ("ResourceInUse", "ResourceInUseException")
INVALID = ("ValidationException", "ValidationError", "InvalidRequestException")


def translate(exc: Exception, name: str | None) -> LabError | None:
    """The lab error for a botocore error (None when `exc` is not one)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from lab.sagemaker.session import describe_aws_error

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in NOT_FOUND:
            return GroupNotFoundError(f"There is no feature group {name!r} in this AWS account "
                                      "and region.")
        if code in IN_USE:
            return GroupExistsError(f"A feature group named {name!r} already exists: pick "
                                    "another name, or delete that group first.")
        if code in INVALID:
            return InputError(describe_aws_error(exc))
        return BackendError(describe_aws_error(exc))
    if isinstance(exc, BotoCoreError):
        return BackendError(describe_aws_error(exc))
    return None


def group_info(response: dict[str, Any], features: list[dict[str, Any]]) -> FeatureGroupInfo:
    offline = response.get("OfflineStoreConfig") or {}
    created = response.get("CreationTime")
    return FeatureGroupInfo(
        name=response["FeatureGroupName"],
        record_identifier=response["RecordIdentifierFeatureName"],
        event_time=response["EventTimeFeatureName"],
        definitions={f["FeatureName"]: f["FeatureType"] for f in features},
        created=created.timestamp() if hasattr(created, "timestamp") else float(created or 0),
        table_name=(offline.get("DataCatalogConfig") or {}).get("TableName", ""),
        online_enabled=bool((response.get("OnlineStoreConfig") or {}).get("EnableOnlineStore")),
        offline_location=(offline.get("S3StorageConfig") or {}).get("ResolvedOutputS3Uri", ""),
        status=response.get("FeatureGroupStatus", ""),
        description=response.get("Description") or response.get("FailureReason") or "")
