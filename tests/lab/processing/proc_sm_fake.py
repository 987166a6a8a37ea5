"""What moto leaves out of SageMaker processing, for the processing twin's tests and the
run-all world (tests/lab/aws/sm_world.py).

Moto accepts the SDK's CreateProcessingJob and describes it back, but it runs nothing (a job
is "Completed" at once), keeps no InstanceCount, and has no StopProcessingJob. `FakeSageMaker`
adds only that: it records the request as sent, plays the container (downloads the job's
inputs from moto's S3, runs the uploaded script, uploads its outputs), and sets the states
moto never reports (InProgress, Failed, Stopped) in moto's own job record.

With InstanceCount N it plays N instances, one after the other, as SageMaker runs them:
each one its own root (its /opt/ml), its resource config (algo-1...), the objects of a
ShardedByS3Key input dealt between them by key and a FullyReplicated input copied to each;
then every instance's outputs are uploaded under the same prefixes, where a key written by
two instances would keep the last upload (recorded in `overwritten`).
"""

from __future__ import annotations

import contextlib
import copy
import json
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
        self.overwritten: list[str] = []  # S3 keys that two instances uploaded

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
        """SageMaker's part, on each instance: inputs to local paths, the entry point run,
        outputs to S3."""
        s3 = boto3.client("s3", region_name=self.region)
        desc = boto3.client("sagemaker", region_name=self.region).describe_processing_job(
            ProcessingJobName=name)
        [sent] = [r for r in self.requests if r["ProcessingJobName"] == name]
        count = sent["ProcessingResources"]["ClusterConfig"]["InstanceCount"]
        hosts = [f"algo-{i + 1}" for i in range(count)]
        uploaded: dict[str, str] = {}
        for index, host in enumerate(hosts):
            root = self.workdir / name / host if count > 1 else self.workdir / name
            self._instance(s3, desc, root, host, hosts, index, uploaded)

    def _instance(self, s3, desc, root: Path, host: str, hosts: list[str], index: int,
                  uploaded: dict[str, str]) -> None:
        def local(path: str) -> Path:
            return root / path.lstrip("/")

        for item in desc["ProcessingInputs"]:
            bucket, prefix = item["S3Input"]["S3Uri"][len("s3://"):].split("/", 1)
            found = sorted(s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []),
                           key=lambda o: o["Key"])
            if item["S3Input"].get("S3DataDistributionType") == "ShardedByS3Key":
                found = found[index::len(hosts)]  # each object to one instance
            for obj in found:
                rel = obj["Key"][len(prefix):].lstrip("/") or obj["Key"].rsplit("/", 1)[-1]
                target = local(item["S3Input"]["LocalPath"]) / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(bucket, obj["Key"], str(target))
        config = local("/opt/ml/config/resourceconfig.json")
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(json.dumps({"current_host": host, "hosts": hosts}))
        app = desc["AppSpecification"]
        script = runpy.run_path(str(local(app["ContainerEntrypoint"][-1])))
        # The container's paths, under this instance's root (an argument naming one too)
        argv = [str(local(a)) if a.startswith("/opt/ml/") else a
                for a in app["ContainerArguments"]]
        argv += ["--output-dir", str(local("/opt/ml/processing/output")),
                 "--resource-config", str(config)]
        if "--phase" not in argv:  # the workshop's single pass reads the input's own folder
            argv += ["--input-dir", str(local("/opt/ml/processing/input"))]
        root.mkdir(parents=True, exist_ok=True)
        with open(root / "container.log", "w") as log, contextlib.redirect_stdout(log):
            assert script["main"](argv) == 0  # its prints go to the job's (CloudWatch) log
        for output in desc["ProcessingOutputConfig"]["Outputs"]:
            bucket, prefix = output["S3Output"]["S3Uri"][len("s3://"):].split("/", 1)
            source = local(output["S3Output"]["LocalPath"])
            for path in sorted(p for p in source.rglob("*") if p.is_file()):
                key = f"{prefix}/{path.relative_to(source)}"
                if key in uploaded:
                    self.overwritten.append(key)
                uploaded[key] = host
                s3.upload_file(str(path), bucket, key)
