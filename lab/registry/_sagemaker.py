"""The model registry on SageMaker: model package groups and versions, through boto3.

It plays the part of `LocalRegistry`. What goes where:

    artifact       s3://<bucket>/mlops-workshop/registry/<group>/<uuid>/model.tar.gz
    serving code   the training entry point (its model_fn/predict_fn) as sourcedir.tar.gz,
                   run by the framework container of the algorithm (XGBoost or scikit-learn)
    metrics        the evaluation report (ModelMetrics.ModelQuality), and a copy of the
                   numbers in CustomerMetadataProperties so that a describe call has them
    history        SageMaker keeps only the latest ApprovalDescription; each change is also
                   kept as a `history-<n>` customer metadata property (who, when, status, why)

CustomerMetadataProperties holds at most 50 values of 256 characters, so long comments are
shortened there (ApprovalDescription keeps the full text) and the oldest changes drop out
once 30 are kept.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import time
import uuid
from pathlib import Path
from typing import Any

from lab.aws.errors import translated
from lab.aws.session import sdk_logging_guard
from lab.aws.twin import SageMakerTwin
from lab.registry._api import (
    CONTENT_TYPES,
    PENDING,
    RESPONSE_TYPES,
    ModelGroup,
    ModelVersion,
    StatusChange,
    check_name,
    check_status,
    current_user,
)
from lab.registry._artifact import describe_artifact
from lab.registry._errors import (
    ModelGroupExistsError,
    ModelGroupNotFoundError,
    VersionNotFoundError,
)
from lab.training import entry_point

PREFIX = "mlops-workshop/registry"
INSTANCE_TYPE = "ml.m5.large"
FRAMEWORKS = {"xgboost": ("xgboost", "1.7-1"), "random_forest": ("sklearn", "1.2-1")}
ENTRY_POINT = Path(entry_point.__file__).resolve()
MAX_HISTORY = 30
_VERSION_ARN = re.compile(r":model-package/([^/]+)/(\d+)$")


class SageMakerRegistry(SageMakerTwin):
    note = ("Model package groups and versions live in SageMaker's model registry; each "
            "version's model.tar.gz is uploaded to S3 with its serving code.")

    def __init__(self, settings: Any, *, session: Any = None, client: Any = None) -> None:
        super().__init__(settings, session=session)
        self._client = client
        self._who: str | None = None

    @property
    def client(self) -> Any:
        return self._client or super().client

    # Groups.
    def create_group(self, name: str, description: str = "", *,
                     exist_ok: bool = True) -> ModelGroup:
        try:
            found = self.describe_group(name)
        except ModelGroupNotFoundError:
            return self._create_group(name, description)
        if not exist_ok:
            raise ModelGroupExistsError(f"A model package group named {name!r} already exists: "
                                        "pick another name.")
        return found

    def _create_group(self, name: str, description: str) -> ModelGroup:
        self._call(self.client.create_model_package_group, ModelPackageGroupName=name,
                   ModelPackageGroupDescription=description or "", Tags=self.tags)
        return self.describe_group(name)

    def describe_group(self, name: str) -> ModelGroup:
        check_name(name)
        found = self._call(self.client.describe_model_package_group, ModelPackageGroupName=name,
                           missing=f"There is no model package group {name!r} in this AWS "
                                   "account and region: register a trained model first.")
        return ModelGroup(name=found["ModelPackageGroupName"], arn=found["ModelPackageGroupArn"],
                          description=found.get("ModelPackageGroupDescription", ""),
                          created=_seconds(found.get("CreationTime")),
                          versions=len(self._summaries(name)))

    def list_groups(self) -> list[ModelGroup]:
        names = [g["ModelPackageGroupName"] for page in self.client.get_paginator(
            "list_model_package_groups").paginate() for g in page["ModelPackageGroupSummaryList"]]
        return [self.describe_group(n) for n in names]

    # Versions.
    def register(self, group: str, artifact: str | Path, *, source: dict[str, Any] | None = None,
                 description: str = "", status: str = PENDING,
                 metadata: dict[str, Any] | None = None) -> ModelVersion:
        check_status(status)
        meta = metadata or describe_artifact(artifact)
        name = self.describe_group(group).name
        framework, version = FRAMEWORKS.get(meta["algorithm"], FRAMEWORKS["random_forest"])
        session, bucket = self.session, self.bucket
        base = f"{PREFIX}/{name}/{uuid.uuid4().hex[:12]}"
        s3 = self.boto_session.client("s3")
        s3.upload_file(str(artifact), bucket, f"{base}/model.tar.gz")
        s3.put_object(Bucket=bucket, Key=f"{base}/sourcedir.tar.gz", Body=_sourcedir())
        s3.put_object(Bucket=bucket, Key=f"{base}/evaluation.json",
                      Body=json.dumps(_evaluation_report(meta.get("metrics", {}))).encode(),
                      ContentType="application/json")
        from sagemaker import image_uris

        with sdk_logging_guard():
            image = image_uris.retrieve(framework, session.boto_region_name, version,
                                        instance_type=INSTANCE_TYPE)
        properties = _properties(meta, source or {})
        properties.update(_history_entry(1, status, "Registered", self._by(), time.time()))
        answer = self._call(
            self.client.create_model_package, ModelPackageGroupName=name,
            ModelPackageDescription=description[:1024], ModelApprovalStatus=status,
            InferenceSpecification={
                "Containers": [{
                    "Image": image, "ModelDataUrl": f"s3://{bucket}/{base}/model.tar.gz",
                    "Environment": {"SAGEMAKER_PROGRAM": ENTRY_POINT.name,
                                    "SAGEMAKER_SUBMIT_DIRECTORY":
                                        f"s3://{bucket}/{base}/sourcedir.tar.gz"}}],
                "SupportedContentTypes": list(CONTENT_TYPES),
                "SupportedResponseMIMETypes": list(RESPONSE_TYPES),
                "SupportedRealtimeInferenceInstanceTypes": [INSTANCE_TYPE],
                "SupportedTransformInstanceTypes": [INSTANCE_TYPE]},
            ModelMetrics={"ModelQuality": {"Statistics": {
                "ContentType": "application/json",
                "S3Uri": f"s3://{bucket}/{base}/evaluation.json"}}},
            CustomerMetadataProperties=properties)
        return self._version(self._describe(answer["ModelPackageArn"]))

    def describe_version(self, group: str, version: int) -> ModelVersion:
        return self._version(self._describe(self._arn(group, version)))

    def list_versions(self, group: str) -> list[ModelVersion]:
        self.describe_group(group)
        return [self._version(self._describe(s["ModelPackageArn"]))
                for s in sorted(self._summaries(group), key=lambda s: s["ModelPackageVersion"])]

    def update_status(self, group: str, version: int, status: str, comment: str = "",
                      by: str | None = None) -> ModelVersion:
        check_status(status)
        arn = self._arn(group, version)
        properties = dict(self._describe(arn).get("CustomerMetadataProperties") or {})
        numbers = sorted(int(k.split("-", 1)[1]) for k in properties if k.startswith("history-"))
        for old in numbers[:max(0, len(numbers) + 1 - MAX_HISTORY)]:
            properties.pop(f"history-{old}")
        properties.update(_history_entry((numbers or [0])[-1] + 1, status, comment,
                                         by or self._by(), time.time()))
        # All properties are sent again: SageMaker keeps them anyway, and moto would drop them.
        self._call(self.client.update_model_package, ModelPackageArn=arn,
                   ModelApprovalStatus=status, ApprovalDescription=(comment or status)[:1024],
                   CustomerMetadataProperties=properties)
        return self.describe_version(group, version)

    def close(self) -> None:
        """Nothing to release."""

    # Helpers.
    def _summaries(self, group: str) -> list[dict[str, Any]]:
        pages = self.client.get_paginator("list_model_packages").paginate(
            ModelPackageGroupName=group)
        return [s for page in pages for s in page["ModelPackageSummaryList"]]

    def _arn(self, group: str, version: Any) -> str:
        name = self.describe_group(group).name
        for summary in self._summaries(name):
            if str(summary.get("ModelPackageVersion")) == str(version):
                return summary["ModelPackageArn"]
        raise VersionNotFoundError(f"The group {name!r} has no version {version}.")

    def _describe(self, arn: str) -> dict[str, Any]:
        return self._call(self.client.describe_model_package, ModelPackageName=arn,
                          missing=f"There is no model package {arn}.")

    def _version(self, d: dict[str, Any]) -> ModelVersion:
        props = d.get("CustomerMetadataProperties") or {}
        spec = d.get("InferenceSpecification") or {}
        group, number = _VERSION_ARN.search(d["ModelPackageArn"]).groups()
        history = sorted((json.loads(v) for k, v in props.items() if k.startswith("history-")),
                         key=lambda h: h["t"])
        return ModelVersion(
            group=d.get("ModelPackageGroupName") or group, version=int(number),
            arn=d["ModelPackageArn"], status=d.get("ModelApprovalStatus", PENDING),
            artifact=(spec.get("Containers") or [{}])[0].get("ModelDataUrl", ""),
            algorithm=props.get("algorithm", ""), features=json.loads(props.get("features", "[]")),
            target=props.get("target", ""),
            hyperparameters=json.loads(props.get("hyperparameters", "{}")),
            metrics=_metrics(props), source=json.loads(props.get("source", "{}")),
            created=_seconds(d.get("CreationTime")),
            description=d.get("ModelPackageDescription", ""),
            content_types=spec.get("SupportedContentTypes", list(CONTENT_TYPES)),
            response_types=spec.get("SupportedResponseMIMETypes", list(RESPONSE_TYPES)),
            history=[StatusChange(h["s"], h["c"], h["b"], h["t"]) for h in history])

    def _by(self) -> str:
        if self._who is None:
            try:
                arn = self.boto_session.client("sts").get_caller_identity()["Arn"]
                self._who = arn.rsplit("/", 1)[-1] or arn
            except Exception:  # noqa: BLE001 - who it was is a nicety, not worth failing for
                self._who = current_user()
        return self._who

    def _call(self, fn, missing: str | None = None, **kwargs: Any) -> Any:
        not_found = None
        if missing:
            error = ModelGroupNotFoundError if "group" in missing else VersionNotFoundError
            not_found = error(missing)
        with translated(not_found=not_found):
            return fn(**kwargs)


def _properties(meta: dict[str, Any], source: dict[str, Any]) -> dict[str, str]:
    out = {"algorithm": str(meta["algorithm"]), "target": str(meta.get("target", "")),
           "features": json.dumps(meta["features"]),
           "hyperparameters": json.dumps(meta.get("hyperparameters", {})),
           "source": json.dumps({k: v for k, v in source.items() if v is not None})}
    for split, values in (meta.get("metrics") or {}).items():
        for metric, value in (values or {}).items():
            out[f"metric-{split}-{metric}"] = repr(float(value))
    return {k: v[:256] for k, v in out.items()}


def _metrics(props: dict[str, str]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for key, value in props.items():
        if key.startswith("metric-"):
            _, split, metric = key.split("-", 2)
            out.setdefault(split, {})[metric] = float(value)
    return out


def _history_entry(number: int, status: str, comment: str, by: str, at: float) -> dict:
    entry = {"s": status, "b": by[:60], "t": round(at, 3), "c": ""}
    entry["c"] = comment[:256 - len(json.dumps(entry)) - 4]
    return {f"history-{number}": json.dumps(entry)}


def _evaluation_report(metrics: dict[str, Any]) -> dict[str, Any]:
    """SageMaker's evaluation report layout (as a pipeline's evaluation step writes it)."""
    test = metrics.get("test") or metrics.get("validation") or {}
    return {"regression_metrics": {k: {"value": v} for k, v in test.items()}, "all": metrics}


def _sourcedir() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(ENTRY_POINT, arcname=ENTRY_POINT.name)
    return buffer.getvalue()


def _seconds(value: Any) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else float(value or 0)
