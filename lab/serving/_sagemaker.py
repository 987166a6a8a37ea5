"""Real-time endpoints on SageMaker: the SDK v2 ModelPackage.deploy and Predictor.

It plays the part of `LocalEndpoints`:

    create    ModelPackage(model_package_arn=...).deploy(...), as the workshop writes it,
              then DescribeEndpoint polled until InService (minutes), so the job can report
              progress and a learner can stop waiting
    update    a new model and endpoint config for the new version, then UpdateEndpoint:
              SageMaker moves traffic once the new instances are healthy (no downtime);
              once it is InService on the new config, the old config and its model are
              deleted (they would otherwise pile up, one pair per update)
    rollout   the same with deployment guardrails: a BlueGreenUpdatePolicy and alarms that
              roll back by themselves (`_sm_rollout.py`)
    capture   data capture on or off: a new endpoint config with a DataCaptureConfig
    invoke    Predictor with CSVSerializer and JSONDeserializer
    delete    the endpoint, its endpoint config and its model (they cost nothing, but pile up)

The lab checks approval itself before deploying: the SDK's ModelPackage approves an
unapproved version silently when it creates the model, which would skip the gate.
Endpoints, configs and models carry the lab's tags (to list this learner's endpoints)
and the model package ARN; which version an endpoint serves is read from its config.
Each deployment is recorded in the workspace's ledger with the SDK code that ran and the
instance it is billed for, per hour, until it is deleted.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from lab.aws import names, polling, prices
from lab.aws.errors import translated
from lab.aws.ledger import Ledger
from lab.aws.session import sdk_logging_guard
from lab.aws.twin import SageMakerTwin
from lab.errors import JobError
from lab.registry import ModelVersion, check_name
from lab.serving._api import (
    CaptureConfig,
    Endpoint,
    Invocation,
    Progress,
    RolloutPlan,
    RolloutResult,
)
from lab.serving._client import as_invocation_error
from lab.serving._errors import EndpointExistsError, EndpointNotFoundError
from lab.serving._payload import media_type

INSTANCE_TYPE, VARIANT = "ml.m5.large", "AllTraffic"
PACKAGE_TAG = "mlops-lab-model-package"
POLL_SECONDS = 15
_VERSION = re.compile(r":model-package/([^/]+)/(\d+)$")


class SageMakerEndpoints(SageMakerTwin):
    note = ("On SageMaker a deployment takes 5-10 minutes and the endpoint is billed per "
            "hour while it runs: delete it when you are done.")
    instance_type = INSTANCE_TYPE

    def launch_estimate(self) -> prices.Estimate:
        """What an endpoint costs: per hour, from its creation until it is deleted."""
        return prices.estimate("hosting", INSTANCE_TYPE, 1)

    def create(self, name: str, version: ModelVersion, progress: Progress | None = None
               ) -> Endpoint:
        from sagemaker import ModelPackage
        from sagemaker.predictor import Predictor

        check_name(name, "endpoint")
        if self._find(name) is not None:
            raise EndpointExistsError(f"An endpoint named {name!r} already exists: update it "
                                      "to another version, or delete it first.")
        model_name = _model_name(name)
        model = ModelPackage(role=self.settings.sagemaker_role, model_package_arn=version.arn,
                             sagemaker_session=self.session, predictor_cls=Predictor,
                             name=model_name)
        with sdk_logging_guard():
            self._aws(lambda: model.deploy(
                initial_instance_count=1, instance_type=INSTANCE_TYPE, endpoint_name=name,
                tags=self._tags(version), wait=False))
        self._record(name, deploy_code(name, model_name, version.arn,
                                       self.settings.sagemaker_role, self._tags(version)))
        return self._wait(name, progress)

    def update(self, name: str, version: ModelVersion, progress: Progress | None = None
               ) -> Endpoint:
        self.describe(name)  # EndpointNotFoundError before anything is created
        old_config = self._describe(name)["EndpointConfigName"]
        model_name = _model_name(name)
        self._aws(lambda: self.client.create_model(
            ModelName=model_name, ExecutionRoleArn=self.settings.sagemaker_role,
            PrimaryContainer={"ModelPackageName": version.arn}, Tags=self._tags(version)))
        kept = self.client.describe_endpoint_config(EndpointConfigName=old_config).get(
            "DataCaptureConfig")  # an update keeps the endpoint's data capture
        self._aws(lambda: self.client.create_endpoint_config(
            EndpointConfigName=model_name, Tags=self._tags(version), ProductionVariants=[{
                "VariantName": VARIANT, "ModelName": model_name, "InitialInstanceCount": 1,
                "InstanceType": INSTANCE_TYPE}], **({"DataCaptureConfig": kept} if kept
                                                    else {})))
        self._aws(lambda: self.client.update_endpoint(EndpointName=name,
                                                      EndpointConfigName=model_name))
        Ledger(self.settings).close("endpoint", name, "Updated")
        self._record(name, update_code(name, model_name, version.arn,
                                       self.settings.sagemaker_role, self._tags(version)))
        endpoint = self._wait(name, progress)
        current = self._describe(name) or {}
        if current.get("EndpointConfigName") == model_name and old_config != model_name:
            self._delete_config(old_config)  # the new config serves: the old one is unused
        return endpoint

    def _delete_config(self, config_name: str) -> None:
        """Delete an endpoint config and the models it names (what an endpoint leaves
        behind when it moves to another config, or is deleted)."""
        try:
            config = self._aws(lambda: self.client.describe_endpoint_config(
                EndpointConfigName=config_name), missing=True)
        except _Missing:
            return
        self._aws(lambda: self.client.delete_endpoint_config(EndpointConfigName=config_name))
        for variant in config.get("ProductionVariants", []):
            try:
                self._aws(lambda v=variant: self.client.delete_model(ModelName=v["ModelName"]),
                          missing=True)
            except _Missing:
                pass  # already gone

    def describe(self, name: str) -> Endpoint:
        found = self._find(name)
        if found is None:
            raise EndpointNotFoundError(f"There is no endpoint {name!r} in this AWS account "
                                        "and region: deploy an approved model version first.")
        return found

    def list(self) -> list[Endpoint]:
        """The workspace's endpoints, by their tags (a learner may name an endpoint)."""
        pages = self.client.get_paginator("list_endpoints").paginate()
        found = [self._find(e["EndpointName"]) for page in pages for e in page["Endpoints"]]
        return [e for e in found if e is not None and names.is_workspace_tagged(
            self._aws(lambda e=e: self.client.list_tags(ResourceArn=e.arn)).get("Tags"),
            self.settings)]

    def delete(self, name: str) -> None:
        desc = self._describe(name)
        if desc is None:
            self.describe(name)  # raises EndpointNotFoundError
            return
        self._aws(lambda: self.client.delete_endpoint(EndpointName=name))
        self._delete_config(desc["EndpointConfigName"])
        created = _seconds(desc.get("CreationTime"))
        Ledger(self.settings).close("endpoint", name, "Deleted",
                                    time.time() - created if created else None)

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

    def set_capture(self, name: str, config: CaptureConfig,
                    progress: Progress | None = None) -> CaptureConfig:
        from lab.serving import _sm_rollout

        return _sm_rollout.set_capture(self, name, config, progress)

    def capture(self, name: str) -> CaptureConfig:
        from lab.serving import _sm_rollout

        return _sm_rollout.capture(self, name)

    def rollout(self, name: str, version: ModelVersion, plan: RolloutPlan,
                progress: Progress | None = None, on_step=None) -> RolloutResult:
        from lab.serving import _sm_rollout

        return _sm_rollout.rollout(self, name, version, plan, progress, on_step)

    def recover(self, name: str) -> None:
        """SageMaker finishes or rolls back an interrupted deployment itself."""

    def rollout_code(self) -> list:
        from lab.serving import _sm_rollout

        return [_sm_rollout.rollout, _sm_rollout.deployment_config,
                _sm_rollout.alarm_requests]

    def client_url(self, endpoint: Endpoint) -> str | None:
        return None  # AWS's own runtime: boto3 finds it from the region

    def resume(self) -> str | None:
        return None  # SageMaker serves its endpoints itself

    def code(self) -> list:
        return [SageMakerEndpoints.create, SageMakerEndpoints.update]

    # Helpers.
    def _wait(self, name: str, progress: Progress | None = None) -> Endpoint:
        found: list[Endpoint] = []

        def look() -> dict[str, Any]:
            found[:] = [self.describe(name)]
            return {"status": found[0].status}

        def on_status(status: str, elapsed: float) -> None:
            if progress:  # also where a cancelled job stops waiting (the job's callback)
                progress(min(0.95, 0.1 + 0.85 * elapsed / (elapsed + 300)),
                         f"Endpoint {name}: {status} ({polling.elapsed_text(elapsed)})")

        polling.wait_for(look, lambda d: d["status"],
                         ("InService", "Failed", "OutOfService", "UpdateRollbackFailed"),
                         poll_s=POLL_SECONDS, on_status=on_status, what=f"The endpoint {name}")
        endpoint = found[0]
        if endpoint.status != "InService":
            raise JobError(f"The endpoint {name} is {endpoint.status}: "
                           f"{endpoint.failure or 'no reason given'}. Its logs are in "
                           f"CloudWatch, /aws/sagemaker/Endpoints/{name}.")
        return endpoint

    def _describe(self, name: str) -> dict[str, Any] | None:
        try:
            return self._aws(lambda: self.client.describe_endpoint(EndpointName=name),
                             missing=True)
        except _Missing:
            return None

    def _find(self, name: str) -> Endpoint | None:
        desc = self._describe(name)
        if desc is None:
            return None
        match = _VERSION.search(self._package(desc["EndpointConfigName"]) or "")
        region = self.region
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

    def _record(self, name: str, code: str) -> None:
        """The workspace's record of a deployment: billed per hour until it is deleted."""
        Ledger(self.settings).start(
            "registry", "endpoint", name, region=self.region, use="hosting",
            instance_type=INSTANCE_TYPE, instance_count=1, code=code,
            console_url=self.console_url(f"#/endpoints/{name}"))

    def _tags(self, version: ModelVersion) -> list[dict[str, str]]:
        return [*self.tags, {"Key": PACKAGE_TAG, "Value": version.arn}]

    def _aws(self, call, missing: bool = False) -> Any:
        with translated(not_found=_Missing() if missing else None):
            return call()


class _Missing(EndpointNotFoundError):
    """DescribeEndpoint's "Could not find endpoint" (internal: becomes None)."""


def deploy_code(endpoint: str, model_name: str, package_arn: str, role: str | None,
                tags: list[dict[str, str]]) -> str:
    """The SDK v2 code of a first deployment, with its real names."""
    return f'''\
import sagemaker
from sagemaker import ModelPackage
from sagemaker.predictor import Predictor

model = ModelPackage(
    role={json.dumps(role)},
    model_package_arn={json.dumps(package_arn)},
    name={json.dumps(model_name)},
    predictor_cls=Predictor,
    sagemaker_session=sagemaker.Session(),
)
model.deploy(
    initial_instance_count=1,
    instance_type="{INSTANCE_TYPE}",
    endpoint_name={json.dumps(endpoint)},
    tags={json.dumps(tags)},
    wait=False,
)
'''


def update_code(endpoint: str, model_name: str, package_arn: str, role: str | None,
                tags: list[dict[str, str]]) -> str:
    """The boto3 code of an update to another version, with its real names."""
    return f'''\
import boto3

sm = boto3.client("sagemaker")
sm.create_model(ModelName={json.dumps(model_name)}, ExecutionRoleArn={json.dumps(role)},
                PrimaryContainer={{"ModelPackageName": {json.dumps(package_arn)}}},
                Tags={json.dumps(tags)})
sm.create_endpoint_config(
    EndpointConfigName={json.dumps(model_name)}, Tags={json.dumps(tags)},
    ProductionVariants=[{{"VariantName": "{VARIANT}", "ModelName": {json.dumps(model_name)},
                          "InitialInstanceCount": 1, "InstanceType": "{INSTANCE_TYPE}"}}])
sm.update_endpoint(EndpointName={json.dumps(endpoint)},
                   EndpointConfigName={json.dumps(model_name)})
# once the endpoint is InService on the new config, the old config and its model are
# deleted: sm.delete_endpoint_config(...), sm.delete_model(...)
'''


def _model_name(endpoint: str) -> str:
    """A fresh model (and endpoint config) name per deployment: names must be unique."""
    return f"{endpoint[:40]}-{time.strftime('%Y%m%d-%H%M%S')}-{int(time.time() * 1000) % 1000:03d}"


def _seconds(value: Any) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else float(value or 0)
