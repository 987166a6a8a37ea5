"""Real-time endpoints on SageMaker: the SDK v2 ModelPackage.deploy and Predictor.

It plays the part of `lab.serving.LocalEndpoints`:

    create    ModelPackage(model_package_arn=...).deploy(...), as the workshop writes it,
              then DescribeEndpoint polled until InService (minutes), so the job can report
              progress and a learner can stop waiting
    update    a new model and endpoint config for the new version, then UpdateEndpoint:
              SageMaker moves traffic once the new instances are healthy (no downtime)
    invoke    Predictor with CSVSerializer and JSONDeserializer
    delete    the endpoint, its endpoint config and its model (they cost nothing, but pile up)

The lab checks approval itself before deploying: the SDK's ModelPackage approves an
unapproved version silently when it creates the model, which would skip the gate.
Endpoints, configs and models carry the workspace tag (to list this learner's endpoints)
and the model package ARN; which version an endpoint serves is read from its config.
"""

from __future__ import annotations

import re
import time
from typing import Any

from lab.errors import BackendError, JobError
from lab.registry import ModelVersion, check_name
from lab.sagemaker import session as sm_session
from lab.sagemaker.processing import WORKSPACE_TAG, workspace_tag
from lab.serving._client import Invocation, as_invocation_error
from lab.serving._errors import EndpointExistsError, EndpointNotFoundError
from lab.serving._payload import media_type
from lab.serving._records import Endpoint
from lab.settings import Settings

INSTANCE_TYPE, VARIANT = "ml.m5.large", "AllTraffic"
PACKAGE_TAG = "mlops-lab-model-package"
POLL_SECONDS = 15
_VERSION = re.compile(r":model-package/([^/]+)/(\d+)$")


def _sleep(seconds: float) -> None:  # one place for tests to patch
    time.sleep(seconds)


class SageMakerEndpoints:
    backend = "sagemaker"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def session(self) -> Any:
        from lab.sagemaker.registry import sessions

        return sessions(self.settings)[1]

    @property
    def client(self) -> Any:
        return self.session.sagemaker_client

    def create(self, name: str, version: ModelVersion, progress=None) -> Endpoint:
        from sagemaker import ModelPackage
        from sagemaker.predictor import Predictor

        check_name(name, "endpoint")
        if self._find(name) is not None:
            raise EndpointExistsError(f"An endpoint named {name!r} already exists: update it "
                                      "to another version, or delete it first.")
        model = ModelPackage(role=self.settings.sagemaker_role, model_package_arn=version.arn,
                             sagemaker_session=self.session, predictor_cls=Predictor,
                             name=_model_name(name))
        with sm_session.sdk_logging_guard():
            self._aws(lambda: model.deploy(
                initial_instance_count=1, instance_type=INSTANCE_TYPE, endpoint_name=name,
                tags=self._tags(version), wait=False))
        return self._wait(name, progress)

    def update(self, name: str, version: ModelVersion, progress=None) -> Endpoint:
        self.describe(name)  # EndpointNotFoundError before anything is created
        model_name = _model_name(name)
        self._aws(lambda: self.client.create_model(
            ModelName=model_name, ExecutionRoleArn=self.settings.sagemaker_role,
            PrimaryContainer={"ModelPackageName": version.arn}, Tags=self._tags(version)))
        self._aws(lambda: self.client.create_endpoint_config(
            EndpointConfigName=model_name, Tags=self._tags(version), ProductionVariants=[{
                "VariantName": VARIANT, "ModelName": model_name, "InitialInstanceCount": 1,
                "InstanceType": INSTANCE_TYPE}]))
        self._aws(lambda: self.client.update_endpoint(EndpointName=name,
                                                      EndpointConfigName=model_name))
        return self._wait(name, progress)

    def describe(self, name: str) -> Endpoint:
        found = self._find(name)
        if found is None:
            raise EndpointNotFoundError(f"There is no endpoint {name!r} in this AWS account "
                                        "and region: deploy an approved model version first.")
        return found

    def list(self) -> list[Endpoint]:
        tag = workspace_tag(self.settings)
        names = [e["EndpointName"] for page in self.client.get_paginator("list_endpoints")
                 .paginate() for e in page["Endpoints"]]
        found = [self._find(n) for n in names]
        return [e for e in found if e is not None and self._tag(e.arn, WORKSPACE_TAG)
                == tag["Value"]]

    def delete(self, name: str) -> None:
        desc = self._describe(name)
        if desc is None:
            self.describe(name)  # raises EndpointNotFoundError
            return
        config = self._aws(lambda: self.client.describe_endpoint_config(
            EndpointConfigName=desc["EndpointConfigName"]))
        self._aws(lambda: self.client.delete_endpoint(EndpointName=name))
        self._aws(lambda: self.client.delete_endpoint_config(
            EndpointConfigName=desc["EndpointConfigName"]))
        for variant in config.get("ProductionVariants", []):
            self._aws(lambda v=variant: self.client.delete_model(ModelName=v["ModelName"]))

    def invoke(self, name: str, body: bytes | str, content_type: str = "text/csv",
               accept: str = "application/json") -> Invocation:
        """The workshop's Predictor: CSV rows in, the JSON answer deserialized."""
        from botocore.exceptions import ClientError
        from sagemaker.deserializers import JSONDeserializer
        from sagemaker.predictor import Predictor
        from sagemaker.serializers import CSVSerializer

        predictor = Predictor(endpoint_name=name, sagemaker_session=self.session,
                              serializer=CSVSerializer(content_type=media_type(content_type)),
                              deserializer=JSONDeserializer(accept=accept))
        text = body.decode() if isinstance(body, bytes) else body
        started = time.perf_counter()
        try:
            answer = predictor.predict(text)
        except ClientError as exc:
            raise as_invocation_error(exc) from None
        latency = time.perf_counter() - started
        values = answer.get("predictions", answer) if isinstance(answer, dict) else answer
        values = values if isinstance(values, list) else [values]
        return Invocation(name, [float(v.get("score", 0) if isinstance(v, dict) else v)
                                 for v in values], latency, accept, text)

    # Helpers.
    def _wait(self, name: str, progress=None) -> Endpoint:
        started = time.monotonic()
        while True:
            endpoint = self.describe(name)
            elapsed = int(time.monotonic() - started)
            if progress:  # also where a cancelled job stops waiting (the job's callback)
                progress(min(0.95, 0.1 + 0.85 * elapsed / (elapsed + 300)),
                         f"Endpoint {name}: {endpoint.status} ({elapsed // 60}m "
                         f"{elapsed % 60:02d}s)")
            if endpoint.status == "InService":
                return endpoint
            if endpoint.status in ("Failed", "OutOfService", "UpdateRollbackFailed"):
                raise JobError(f"The endpoint {name} is {endpoint.status}: "
                               f"{endpoint.failure or 'no reason given'}. Its logs are in "
                               f"CloudWatch, /aws/sagemaker/Endpoints/{name}.")
            _sleep(POLL_SECONDS)

    def _describe(self, name: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.describe_endpoint(EndpointName=name)
        except ClientError as exc:
            if "Could not find" in exc.response.get("Error", {}).get("Message", ""):
                return None
            raise BackendError(sm_session.describe_aws_error(exc)) from None

    def _find(self, name: str) -> Endpoint | None:
        desc = self._describe(name)
        if desc is None:
            return None
        match = _VERSION.search(self._package(desc["EndpointConfigName"]) or "")
        region = self.session.boto_region_name
        return Endpoint(
            name=desc["EndpointName"], group=match.group(1) if match else "",
            version=int(match.group(2)) if match else 0, status=desc["EndpointStatus"],
            created=_seconds(desc.get("CreationTime")),
            updated=_seconds(desc.get("LastModifiedTime")), backend="sagemaker",
            failure=desc.get("FailureReason", ""), arn=desc["EndpointArn"],
            url=f"https://runtime.sagemaker.{region}.amazonaws.com")

    def _package(self, config_name: str) -> str | None:
        """The model package ARN an endpoint config serves (config -> model -> container):
        what SageMaker runs, rather than what a tag says."""
        try:
            config = self.client.describe_endpoint_config(EndpointConfigName=config_name)
            model = self.client.describe_model(
                ModelName=config["ProductionVariants"][0]["ModelName"])
        except Exception:  # noqa: BLE001 - e.g. deleted meanwhile: the version is unknown
            return None
        container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
        return container.get("ModelPackageName")

    def _tag(self, arn: str, key: str) -> str | None:
        tags = self._aws(lambda: self.client.list_tags(ResourceArn=arn)).get("Tags", [])
        return next((t["Value"] for t in tags if t["Key"] == key), None)

    def _tags(self, version: ModelVersion) -> list[dict[str, str]]:
        return [workspace_tag(self.settings), {"Key": PACKAGE_TAG, "Value": version.arn}]

    def _aws(self, call) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call()
        except (ClientError, BotoCoreError) as exc:
            raise BackendError(sm_session.describe_aws_error(exc)) from None


def _model_name(endpoint: str) -> str:
    """A fresh model (and endpoint config) name per deployment: names must be unique."""
    return f"{endpoint[:40]}-{time.strftime('%Y%m%d-%H%M%S')}-{int(time.time() * 1000) % 1000:03d}"


def _seconds(value: Any) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else float(value or 0)
