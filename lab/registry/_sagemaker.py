"""The model registry on SageMaker: model package groups and versions, through boto3.

It plays the part of `LocalRegistry`. What goes where:

    artifact       s3://<bucket>/mlops-workshop/registry/<group>/<uuid>/model.tar.gz
    serving        the image that trained the model (its model.json names the library and
                   version: xgboost 1.7 -> the XGBoost 1.7-1 image, scikit-learn 1.2 -> the
                   scikit-learn 1.2-1 image; any other version is refused, since a model
                   pickled by one scikit-learn may not load in another), with the serving
                   script training/inference.py as SAGEMAKER_PROGRAM in a sourcedir.tar.gz
                   (SAGEMAKER_SUBMIT_DIRECTORY)
    metrics        the evaluation report as ModelMetrics.ModelQuality.Statistics
    facts          read back from the artifact's model.json and the evaluation report (a
                   package is immutable, so once per package and process); the customer
                   metadata holds only short values (algorithm, target, library, the
                   training run's ids as `source-<key>`), each cut at SageMaker's 256
                   characters and never parsed, so a long value cannot break a version
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
from lab.registry._errors import (
    ArtifactError,
    ModelGroupExistsError,
    ModelGroupNotFoundError,
    VersionNotFoundError,
)
from lab.training import inference

PREFIX = "mlops-workshop/registry"
INSTANCE_TYPE = "ml.m5.large"
# (library, major.minor it trained with) -> (image framework, version): the serving images
# whose libraries load the model (the images' sources pin xgboost 1.7.4, scikit-learn 1.2.1).
SERVING_IMAGES = {("xgboost", "1.7"): ("xgboost", "1.7-1"),
                  ("sklearn", "1.2"): ("sklearn", "1.2-1")}
SERVING_SCRIPT = Path(inference.__file__).resolve()
MAX_HISTORY = 30
MAX_VALUE = 256  # SageMaker's limit on a customer metadata value
_facts_cache: dict[str, dict[str, Any]] = {}
MAX_FACTS = 512  # versions' facts kept (a workshop's attendees each register a few)
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
        meta = {**read_model_json(artifact), **(metadata or {})}
        framework, version = serving_image(meta)
        name = self.describe_group(group).name
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
        properties = _properties(meta, source or {}, f"{framework}:{version}")
        properties.update(_history_entry(1, status, "Registered", self._by(), time.time()))
        answer = self._call(
            self.client.create_model_package, ModelPackageGroupName=name,
            ModelPackageDescription=description[:1024], ModelApprovalStatus=status,
            InferenceSpecification={
                "Containers": [{
                    "Image": image, "ModelDataUrl": f"s3://{bucket}/{base}/model.tar.gz",
                    "Environment": {"SAGEMAKER_PROGRAM": SERVING_SCRIPT.name,
                                    "SAGEMAKER_SUBMIT_DIRECTORY":
                                        f"s3://{bucket}/{base}/sourcedir.tar.gz",
                                    "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
                                    "SAGEMAKER_REGION": session.boto_region_name}}],
                "SupportedContentTypes": list(CONTENT_TYPES),
                "SupportedResponseMIMETypes": list(RESPONSE_TYPES),
                "SupportedRealtimeInferenceInstanceTypes": [INSTANCE_TYPE],
                "SupportedTransformInstanceTypes": [INSTANCE_TYPE]},
            ModelMetrics={"ModelQuality": {"Statistics": {
                "ContentType": "application/json",
                "S3Uri": f"s3://{bucket}/{base}/evaluation.json"}}},
            CustomerMetadataProperties=properties, Tags=self.tags)
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
        history = sorted(_history(props), key=lambda h: h["t"])
        model_url = (spec.get("Containers") or [{}])[0].get("ModelDataUrl", "")
        statistics = (((d.get("ModelMetrics") or {}).get("ModelQuality") or {})
                      .get("Statistics") or {}).get("S3Uri", "")
        facts = self._facts(d["ModelPackageArn"], model_url, statistics)
        return ModelVersion(
            group=d.get("ModelPackageGroupName") or group, version=int(number),
            arn=d["ModelPackageArn"], status=d.get("ModelApprovalStatus", PENDING),
            artifact=model_url, algorithm=facts.get("algorithm") or props.get("algorithm", ""),
            features=list(facts.get("features", [])),
            target=facts.get("target") or props.get("target", ""),
            hyperparameters=dict(facts.get("hyperparameters", {})),
            metrics=facts.get("metrics", {}), source=_source(props),
            created=_seconds(d.get("CreationTime")),
            description=d.get("ModelPackageDescription", ""),
            content_types=spec.get("SupportedContentTypes", list(CONTENT_TYPES)),
            response_types=spec.get("SupportedResponseMIMETypes", list(RESPONSE_TYPES)),
            history=[StatusChange(h["s"], h["c"], h["b"], h["t"]) for h in history])

    def _facts(self, arn: str, model_url: str, statistics: str) -> dict[str, Any]:
        """What model.json and the evaluation report say (read once per package: it is
        immutable). Empty when they cannot be read: the version still lists."""
        cache_key = f"{arn} {model_url}"  # a version's artifact URI is its own (a uuid)
        if cache_key in _facts_cache:
            return _facts_cache[cache_key]
        facts: dict[str, Any] = {}
        s3 = self.boto_session.client("s3")
        try:
            bucket, key = _split(model_url)
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            facts = read_model_json(io.BytesIO(body))
            metrics = dict(facts.get("metrics") or {})
            if statistics:
                bucket, key = _split(statistics)
                report = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
                metrics["test"] = {k: float(v["value"]) for k, v in
                                   (report.get("regression_metrics") or {}).items()
                                   if isinstance(v, dict) and "value" in v}
            facts["metrics"] = metrics
        except Exception:  # noqa: BLE001 - e.g. the artifact was deleted: list it anyway
            return facts
        if len(_facts_cache) >= MAX_FACTS:  # bounded: the oldest entry goes first
            del _facts_cache[next(iter(_facts_cache))]
        _facts_cache[cache_key] = facts
        return facts

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


def read_model_json(artifact: Any) -> dict[str, Any]:
    """model.json of a model.tar.gz (a path or a file object), read without loading the
    model: the serving image loads it, with the libraries that trained it."""
    try:
        opened = tarfile.open(fileobj=artifact, mode="r:gz") if hasattr(artifact, "read") \
            else tarfile.open(artifact, "r:gz")
        with opened as tar:
            member = next((m for m in tar.getmembers()
                           if m.isfile() and m.name.lstrip("./") == "model.json"), None)
            meta = json.load(tar.extractfile(member)) if member else None
    except (OSError, tarfile.TarError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"The model artifact cannot be read ({exc}).") from None
    missing = [k for k in ("algorithm", "model_file", "features") if not (meta or {}).get(k)]
    if missing:
        raise ArtifactError(f"The artifact's model.json lacks {', '.join(missing)}: not a lab "
                            "model artifact.")
    return meta


def serving_image(meta: dict[str, Any]) -> tuple[str, str]:
    """The (framework, version) of the image whose libraries trained the model."""
    library = meta.get("library") or {}
    name, version = str(library.get("name", "")), str(library.get("version", ""))
    found = SERVING_IMAGES.get((name, ".".join(version.split(".")[:2])))
    if found is None:
        images = ", ".join(f"{lib} {v}.x ({f} {tag} image)"
                           for (lib, v), (f, tag) in SERVING_IMAGES.items())
        raise ArtifactError(
            f"This model was trained with {name or 'an unknown library'} {version}, which no "
            f"SageMaker serving image the lab uses has ({images}): it might not load there. "
            "Train it on the SageMaker backend (its jobs use those images) and register that "
            "run.")
    return found


def _properties(meta: dict[str, Any], source: dict[str, Any], image: str) -> dict[str, str]:
    """Short values only, each cut at SageMaker's limit and never parsed back as JSON."""
    library = meta.get("library") or {}
    out = {"algorithm": str(meta["algorithm"]), "target": str(meta.get("target", "")),
           "library": f"{library.get('name', '')} {library.get('version', '')}".strip(),
           "image": image}
    out.update({f"source-{k}"[:128]: str(v) for k, v in source.items() if v is not None})
    return {k: v[:MAX_VALUE] for k, v in out.items() if v}


def _source(props: dict[str, str]) -> dict[str, Any]:
    found = {k[len("source-"):]: v for k, v in props.items() if k.startswith("source-")}
    if not found and props.get("source"):  # packages registered before: one JSON value
        try:
            found = json.loads(props["source"])
        except json.JSONDecodeError:
            found = {}
    return found


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


def _history_entry(number: int, status: str, comment: str, by: str, at: float) -> dict:
    """One status change as JSON that fits SageMaker's 256 characters once escaped (the
    comment is shortened until it does; ApprovalDescription keeps it whole)."""
    entry = {"s": status, "b": by[:60], "t": round(at, 3), "c": comment}
    text = json.dumps(entry)
    while len(text) > MAX_VALUE:
        entry["c"] = entry["c"][:-max(1, (len(text) - MAX_VALUE) // 6)]
        text = json.dumps(entry)
    return {f"history-{number}": text}


def _history(props: dict[str, str]) -> list[dict[str, Any]]:
    found = []
    for key, value in props.items():
        if key.startswith("history-"):
            try:
                entry = json.loads(value)
            except json.JSONDecodeError:  # cut elsewhere: that change is not shown
                continue
            if isinstance(entry, dict) and {"s", "b", "t", "c"} <= set(entry):
                found.append(entry)
    return found


def _evaluation_report(metrics: dict[str, Any]) -> dict[str, Any]:
    """SageMaker's evaluation report layout (as a pipeline's evaluation step writes it)."""
    test = metrics.get("test") or metrics.get("validation") or {}
    return {"regression_metrics": {k: {"value": v} for k, v in test.items()}, "all": metrics}


def _sourcedir() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(SERVING_SCRIPT, arcname=SERVING_SCRIPT.name)
    return buffer.getvalue()


def _seconds(value: Any) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else float(value or 0)
