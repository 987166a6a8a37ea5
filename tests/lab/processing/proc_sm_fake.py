"""What moto leaves out of SageMaker processing, for the processing twin's tests and the
run-all world (tests/lab/aws/sm_world.py).

Moto accepts the SDK's CreateProcessingJob and describes it back, but it runs nothing (a job
is "Completed" at once), keeps no InstanceCount, and has no StopProcessingJob. `FakeSageMaker`
adds only that: it records the request as sent, plays the container (downloads the job's
inputs from moto's S3, runs the uploaded script, uploads its outputs), and sets the states
moto never reports (InProgress, Failed, Stopped) in moto's own job record.
"""

from __future__ import annotations

import contextlib
import copy
import runpy
from pathlib import Path

import boto3
from moto.sagemaker.models import sagemaker_backends

from lab.aws import session as sm_session
from tests.fake_aws import ACCOUNT, REGION


class FakeSageMaker:
    """What moto leaves out, done on moto's own records (see the module docstring)."""

    def __init__(self, workdir: Path, region: str = REGION) -> None:
        self.workdir, self.region = workdir, region
        self.requests: list[dict] = []
        self.stop_calls: list[str] = []
        self.run_container = True
        self.status_after_create: str | None = None
        self.failure_reason: str | None = None

    def session_factory(self, monkeypatch):
        """A session maker for `lab.aws.session.use_factory`: the lab's own sessions, with
        this fake listening on their SageMaker client."""

        def make_session(settings):
            boto_session, session = sm_session.make_session(settings)
            self.attach(session, monkeypatch)
            return boto_session, session

        return make_session

    def attach(self, session, monkeypatch) -> None:
        """Listen on the session's SageMaker client (its requests, its jobs' lives)."""
        events = session.sagemaker_client.meta.events
        events.register("provide-client-params.sagemaker.CreateProcessingJob", self._record)
        events.register("after-call.sagemaker.CreateProcessingJob", self._created)
        monkeypatch.setattr(session.sagemaker_client, "stop_processing_job",
                            lambda **kwargs: self._stop(**kwargs))

    def job(self, name: str):
        return sagemaker_backends[ACCOUNT][self.region].processing_jobs[name]

    def set_status(self, name: str, status: str, reason: str | None = None) -> None:
        job = self.job(name)
        job.processing_job_status = status
        if reason:
            job.failure_reason = reason  # moto describes every attribute it holds

    def _record(self, params, **kwargs) -> None:
        self.requests.append(copy.deepcopy(params))

    def _created(self, parsed, **kwargs) -> None:
        name = parsed["ProcessingJobArn"].rsplit("/", 1)[-1]
        if self.run_container:
            self.container(name)
        if self.status_after_create:
            self.set_status(name, self.status_after_create, self.failure_reason)

    def _stop(self, ProcessingJobName: str) -> dict:  # noqa: N803 (boto3's parameter name)
        self.stop_calls.append(ProcessingJobName)
        self.set_status(ProcessingJobName, "Stopped")
        return {}

    def container(self, name: str) -> None:
        """SageMaker's part: inputs to local paths, run the entry point, outputs to S3."""
        s3 = boto3.client("s3", region_name=self.region)
        desc = boto3.client("sagemaker", region_name=self.region).describe_processing_job(
            ProcessingJobName=name)
        root = self.workdir / name

        def local(path: str) -> Path:
            return root / path.lstrip("/")

        for item in desc["ProcessingInputs"]:
            bucket, prefix = item["S3Input"]["S3Uri"][len("s3://"):].split("/", 1)
            for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
                rel = obj["Key"][len(prefix):].lstrip("/") or obj["Key"].rsplit("/", 1)[-1]
                target = local(item["S3Input"]["LocalPath"]) / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(bucket, obj["Key"], str(target))
        app = desc["AppSpecification"]
        script = runpy.run_path(str(local(app["ContainerEntrypoint"][-1])))
        argv = [*app["ContainerArguments"], "--input-dir", str(local("/opt/ml/processing/input")),
                "--output-dir", str(local("/opt/ml/processing/output"))]
        root.mkdir(parents=True, exist_ok=True)
        with open(root / "container.log", "w") as log, contextlib.redirect_stdout(log):
            assert script["main"](argv) == 0  # its prints go to the job's (CloudWatch) log
        for output in desc["ProcessingOutputConfig"]["Outputs"]:
            bucket, prefix = output["S3Output"]["S3Uri"][len("s3://"):].split("/", 1)
            source = local(output["S3Output"]["LocalPath"])
            for path in sorted(p for p in source.rglob("*") if p.is_file()):
                s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(source)}")
