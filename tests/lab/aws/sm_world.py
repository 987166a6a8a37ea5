"""A whole fake AWS for the SageMaker backend, end to end: `python -m lab run-all --backend
sagemaker` and the cleanup run against it through the lab's real SDK and boto3 code.

It is moto (control plane, S3, IAM, Athena's bookkeeping, Glue) with, where moto stops:

    MotoExtras          moto_extras.py: feature group listing and (asynchronous) deletion,
                        model package deletion, UpdateEndpoint, Glue tables of groups
    processing fake     tests/lab/processing/proc_sm_fake.py: plays the processing container
    training fake       tests/lab/training/train_sm_fake.py: plays the training containers
                        and the tuner
    FeatureStorePlay    featurestore_fake.py: the Feature Store runtime, the offline store
                        and Athena's queries (run with DuckDB)
    InvokeEndpoint      answered with one number per CSV row (the serving container is
                        issue 10's parity tests' business; here what counts is the request)
    billing             an ended job's BillableTimeInSeconds (training) and start and end
                        times (processing), which moto does not report

Every SageMaker request is recorded as sent (`requests`), in a region that is not moto's
default (eu-west-1), so the tests can check that images are the region's. The
`no_local_twin` fixture makes any use of a local twin (subprocess, local store, local
endpoint server) fail the test.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from lab.aws import session as aws_session
from tests.fake_aws import ACCOUNT
from tests.lab.aws.featurestore_fake import FeatureStorePlay
from tests.lab.aws.moto_extras import MotoExtras
from tests.lab.aws.pipeline_play import PipelinePlay
from tests.lab.processing.proc_sm_fake import FakeSageMaker as ProcessingFake
from tests.lab.registry.reg_helpers import record_requests
from tests.lab.training.train_sm_fake import FakeSageMaker as TrainingFake

WORLD_REGION = "eu-west-1"
WORLD_BUCKET = "lab-world-bucket"
WORLD_ROLE = f"arn:aws:iam::{ACCOUNT}:role/LabWorldRole"


class SageMakerWorld:
    def __init__(self, tmp_path, monkeypatch) -> None:
        self.monkeypatch = monkeypatch
        self.extras = MotoExtras(monkeypatch)
        self.processing = ProcessingFake(tmp_path / "processing-container", WORLD_REGION)
        self.training = TrainingFake(tmp_path / "training-container", WORLD_REGION)
        self.featurestore = FeatureStorePlay(ACCOUNT, WORLD_REGION)
        self.pipelines = PipelinePlay()
        self.requests: list[tuple[str, dict]] = []
        self.invocations: list[dict[str, Any]] = []
        self.sessions = 0

    def make_session(self, settings) -> tuple[Any, Any]:
        boto_session, session = aws_session.make_session(settings)
        self.sessions += 1
        self.processing.attach(session, self.monkeypatch)
        self.training.attach(session)
        self.featurestore.attach(boto_session)
        record_requests(session.sagemaker_client, self.requests)
        self.pipelines.attach(session.sagemaker_client)
        session.sagemaker_runtime_client.meta.events.register(
            "before-call.sagemaker-runtime.InvokeEndpoint", self._invoke)
        events = session.sagemaker_client.meta.events
        events.register("after-call.sagemaker.DescribeTrainingJob", self._billed_training)
        events.register("after-call.sagemaker.DescribeProcessingJob", self._billed_processing)
        return boto_session, session

    # What SageMaker reports of an ended job's billing, which moto leaves out.
    BILLED_TRAINING_S, BILLED_PROCESSING_S = 185, 240

    def _billed_training(self, parsed: dict, **_: Any) -> None:
        if parsed.get("TrainingJobStatus") in ("Completed", "Stopped", "Failed"):
            parsed.setdefault("BillableTimeInSeconds", self.BILLED_TRAINING_S)

    def _billed_processing(self, parsed: dict, **_: Any) -> None:
        from datetime import UTC, datetime, timedelta

        if parsed.get("ProcessingJobStatus") in ("Completed", "Stopped", "Failed"):
            start = datetime(2026, 1, 1, tzinfo=UTC)
            parsed["ProcessingStartTime"] = start  # moto's own times are placeholders
            parsed["ProcessingEndTime"] = start + timedelta(seconds=self.BILLED_PROCESSING_S)

    def sent(self, operation: str) -> list[dict]:
        return [params for name, params in self.requests if name == operation]

    def _invoke(self, params: dict, model: Any, **_: Any):
        from botocore.awsrequest import AWSResponse
        from botocore.response import StreamingBody

        body = params["body"]
        text = body.decode() if isinstance(body, bytes) else str(body)
        endpoint = params["url_path"].split("/endpoints/", 1)[1].split("/", 1)[0]
        self.invocations.append({"endpoint": endpoint, "body": text,
                                 "content_type": params["headers"].get("Content-Type")})
        answer = json.dumps([100000.0 + i for i, _ in enumerate(text.strip().splitlines())])
        data = answer.encode()
        parsed = {"Body": StreamingBody(io.BytesIO(data), len(data)),
                  "ContentType": "application/json",
                  "ResponseMetadata": {"HTTPStatusCode": 200}}
        return AWSResponse("https://runtime.sagemaker.test", 200, {}, None), parsed


@pytest.fixture
def world(aws, monkeypatch, tmp_path):
    """The fake AWS of the module docstring, in eu-west-1, with its bucket and role."""
    import boto3

    from lab.aws.iam import trust_policy

    monkeypatch.setenv("AWS_DEFAULT_REGION", WORLD_REGION)
    boto3.client("s3", region_name=WORLD_REGION).create_bucket(
        Bucket=WORLD_BUCKET, CreateBucketConfiguration={"LocationConstraint": WORLD_REGION})
    boto3.client("iam").create_role(RoleName="LabWorldRole",
                                    AssumeRolePolicyDocument=json.dumps(trust_policy()))
    aws_session.import_sagemaker()  # quietly, in the fake environment
    world = SageMakerWorld(tmp_path, monkeypatch)
    with aws_session.use_factory(world.make_session):
        yield world


@pytest.fixture
def no_local_twin(monkeypatch):
    """Fail the test if any step runs on a local twin (the SageMaker backend must not)."""
    def refuse(what: str):
        def fail(*args, **kwargs):
            raise AssertionError(f"{what} ran locally on the SageMaker backend")
        return fail

    from lab.featurestore._local import LocalFeatureStore
    from lab.processing._local import LocalProcessing
    from lab.registry._local import LocalRegistry
    from lab.serving import _runtime
    from lab.serving._local import LocalEndpoints
    from lab.training._local import LocalTraining
    from lab.tuning._local import LocalTuning

    monkeypatch.setattr(LocalProcessing, "run", refuse("the processing job"))
    monkeypatch.setattr(LocalTraining, "train", refuse("training"))
    monkeypatch.setattr(LocalTuning, "run", refuse("tuning"))
    monkeypatch.setattr(LocalFeatureStore, "__init__", refuse("the feature store"))
    monkeypatch.setattr(LocalRegistry, "__init__", refuse("the registry"))
    monkeypatch.setattr(LocalEndpoints, "__init__", refuse("an endpoint"))
    monkeypatch.setattr(_runtime, "ensure_server", refuse("the local runtime server"))
