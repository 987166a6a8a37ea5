"""What moto leaves out of SageMaker training and tuning, for the SageMaker twin's tests.

Moto accepts CreateTrainingJob and CreateHyperParameterTuningJob and describes them back,
but runs nothing, reports every job Completed at once, keeps its own MetricDefinitions,
and has no ListTrainingJobsForHyperParameterTuningJob or Stop* calls. `FakeSageMaker`:

- records each request as sent;
- plays the container for a training job: downloads its channels and the uploaded source
  (sourcedir.tar.gz) from moto's S3, runs the entry point with the hyperparameters decoded
  as the framework containers decode them, uploads model.tar.gz where SageMaker would, and
  stores the metric definitions' values in moto's job record (FinalMetricDataList);
- plays the tuner: creates one training job per trial in moto (values picked from the
  ranges, deterministically), runs each, and lists them as SageMaker would;
- with InstanceCount N, plays N hosts at once (algo-1...): a ShardedByS3Key channel's
  objects dealt between them by key, SM_HOSTS/SM_CURRENT_HOST set, and, since the hosts
  share this machine instead of a cluster network, DMLC_TRACKER_URI/PORT saying where the
  first host's tracker listens; the model uploaded is algo-1's.

The environment, moto's account and the test bucket are the suite's (tests/fake_aws.py);
the fixtures here add the fake to the sessions the lab makes (`lab.aws.session.use_factory`):

    fake   the FakeSageMaker of the test, inside the `aws` fixture's moto
    sm     the small workspace (tests/workspaces.py) on the SageMaker backend; its feature
           store stays the local one (the SageMaker store is tested on its own), so the
           training and tuning jobs read their data from the local store

Test modules call `skip_without_aws_packages()` before importing this one.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from lab.archive import extract_tar
from lab.aws import session as aws_session
from lab.settings import Settings
from tests.fake_aws import BUCKET, REGION, ROLE


@pytest.fixture
def fake(aws, tmp_path):
    aws_session.import_sagemaker()  # quietly, in the fake environment
    fake = FakeSageMaker(tmp_path / "container")
    with aws_session.use_factory(fake.make_session):
        yield fake


@pytest.fixture
def sm(fake, small, monkeypatch):
    """The small workspace, with the SageMaker backend; its jobs read the local store."""
    from lab.training import _job as training_job_module
    from lab.training import data as training_data
    from lab.tuning import _job as tuning_job_module

    real = training_data.read_training_data

    def read(settings, progress=None, store=None):
        return real(small, progress)

    monkeypatch.setattr(training_job_module, "read_training_data", read)
    monkeypatch.setattr(tuning_job_module, "read_training_data", read)
    return Settings(workspace=small.workspace, backend="sagemaker", sagemaker_role=ROLE,
                    s3_bucket=BUCKET)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _split(uri: str) -> tuple[str, str]:
    bucket, key = uri[len("s3://"):].split("/", 1)
    return bucket, key


class FakeSageMaker:
    def __init__(self, workdir: Path, region: str = REGION) -> None:
        self.workdir, self.region = workdir, region
        self.requests: dict[str, list[dict]] = {}
        self.stop_calls: list[str] = []
        self.status_after_create: str | None = None  # for a training job
        self.failure_reason: str | None = None
        self.failing_trials: set[int] = set()  # trial numbers whose container fails
        self.trials: list[dict] = []  # the tuner's training job summaries
        self.tuning_status: str = "Completed"
        self.reveal: int | None = None  # list only this many trials (progressive tuning)
        # The Python that plays a training image (image URI -> interpreter): the lab's own
        # by default; the parity environments' where the model must be registered later
        # (SageMaker's registry twin serves a model only with the libraries that trained it).
        self.python_for_image = None
        self.s3 = boto3.client("s3", region_name=region)
        self.sm = boto3.client("sagemaker", region_name=region)

    def make_session(self, settings) -> tuple:
        """The lab's own (boto3 session, sagemaker.Session), with this fake in its client."""
        boto_session, session = aws_session.make_session(settings)
        self.attach(session)
        return boto_session, session

    def attach(self, session) -> None:
        """Listen on the session's SageMaker client (requests, containers, the tuner)."""
        client = session.sagemaker_client
        events = client.meta.events
        for op in ("CreateTrainingJob", "CreateHyperParameterTuningJob",
                   "CreateTrialComponent"):
            events.register(f"provide-client-params.sagemaker.{op}",
                            lambda params, op=op, **kw: self.requests.setdefault(
                                op, []).append(copy.deepcopy(params)))
        events.register("after-call.sagemaker.CreateTrainingJob", self._training_created)
        events.register("after-call.sagemaker.CreateHyperParameterTuningJob",
                        self._tuning_created)
        # This client is the test's own (use_factory drops it at the end): no undo needed.
        client.stop_training_job = self._stop_training
        client.stop_hyper_parameter_tuning_job = self._stop_tuning
        client.list_training_jobs_for_hyper_parameter_tuning_job = self._list_trials
        real_describe = client.describe_hyper_parameter_tuning_job
        client.describe_hyper_parameter_tuning_job = lambda **kw: {
            **real_describe(**kw), "HyperParameterTuningJobStatus": self.tuning_status}

    # Training jobs.
    def training_job(self, name: str):
        return sagemaker_backends[DEFAULT_ACCOUNT_ID][self.region].training_jobs[name]

    def set_status(self, name: str, status: str, reason: str | None = None) -> None:
        job = self.training_job(name)
        job.training_job_status = status
        if reason:
            job.failure_reason = reason

    def _training_created(self, parsed, **kwargs) -> None:
        name = parsed["TrainingJobArn"].rsplit("/", 1)[-1]
        request = self.requests["CreateTrainingJob"][-1]
        if self.status_after_create:
            self.set_status(name, self.status_after_create, self.failure_reason)
            if self.status_after_create != "Completed":
                return
        self.container(name, request["HyperParameters"],
                       request["AlgorithmSpecification"]["MetricDefinitions"])

    def _stop_training(self, TrainingJobName: str) -> dict:  # noqa: N803 (boto3's name)
        self.stop_calls.append(TrainingJobName)
        self.set_status(TrainingJobName, "Stopped")
        return {}

    def container(self, name: str, hyperparameters: dict, definitions: list,
                  fail: bool = False) -> bool:
        """SageMaker's part of a training job; True when the script succeeded."""
        desc = self.sm.describe_training_job(TrainingJobName=name)
        sent = [r for r in self.requests.get("CreateTrainingJob", [])
                if r["TrainingJobName"] == name]
        count = sent[-1]["ResourceConfig"]["InstanceCount"] if sent else 1
        hosts = [f"algo-{i + 1}" for i in range(count)]
        root = self.workdir / name
        decoded = {k: json.loads(v) for k, v in hyperparameters.items()}
        code = root / "code"
        code.mkdir(parents=True)
        bucket, key = _split(decoded["sagemaker_submit_directory"])
        self.s3.download_file(bucket, key, str(root / "sourcedir.tar.gz"))
        extract_tar(root / "sourcedir.tar.gz", code)
        args = [item for k, v in decoded.items() if not k.startswith("sagemaker_")
                for item in (f"--{k}", str(v))]
        if fail:
            args += ["--max_depth", "-1"]  # the script refuses it: a failed trial
        python = (self.python_for_image(desc["AlgorithmSpecification"]["TrainingImage"])
                  if self.python_for_image else sys.executable)
        port = _free_port()
        procs = {}
        for index, host in enumerate(hosts):
            home = root / host if count > 1 else root
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            for channel in desc["InputDataConfig"]:
                source = channel["DataSource"]["S3DataSource"]
                bucket, prefix = _split(source["S3Uri"])
                found = sorted(self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"],
                               key=lambda o: o["Key"])
                if source.get("S3DataDistributionType") == "ShardedByS3Key":
                    found = found[index::count]  # each object to one host
                target = home / "input" / "data" / channel["ChannelName"]
                target.mkdir(parents=True, exist_ok=True)
                for obj in found:
                    self.s3.download_file(bucket, obj["Key"],
                                          str(target / obj["Key"].rsplit("/", 1)[-1]))
                env[f"SM_CHANNEL_{channel['ChannelName'].upper()}"] = str(target)
            (home / "model").mkdir(parents=True, exist_ok=True)
            env["SM_MODEL_DIR"] = str(home / "model")
            if count > 1:
                env.update(SM_HOSTS=json.dumps(hosts), SM_CURRENT_HOST=host,
                           DMLC_TRACKER_URI="127.0.0.1", DMLC_TRACKER_PORT=str(port))
            procs[host] = subprocess.Popen(
                [python, str(code / decoded["sagemaker_program"]), *args], env=env, cwd=code,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        outputs = {host: proc.communicate(timeout=120)[0] for host, proc in procs.items()}
        (root / "log.txt").write_text("\n".join(outputs.values()))
        first = outputs[hosts[0]]
        if any(proc.returncode != 0 for proc in procs.values()):
            last = [ln for out in outputs.values() for ln in out.splitlines()
                    if ln.startswith("ERROR: ")]
            self.set_status(name, "Failed",
                            "AlgorithmError: " + (last[-1] if last else "script failed"))
            return False
        metrics = []
        for definition in definitions:
            found = re.findall(definition["Regex"], first)
            if found:
                metrics.append({"MetricName": definition["Name"], "Value": float(found[-1]),
                                "Timestamp": datetime.now(UTC)})
        self.training_job(name).final_metric_data_list = metrics
        model_dir = (root / hosts[0] if count > 1 else root) / "model"
        tar_path = root / "model.tar.gz"
        with tarfile.open(tar_path, "w:gz") as tar:
            for item in sorted(model_dir.iterdir()):
                tar.add(item, arcname=item.name)
        bucket, key = _split(desc["ModelArtifacts"]["S3ModelArtifacts"])
        self.s3.upload_file(str(tar_path), bucket, key)
        return True

    # Tuning jobs.
    def _tuning_created(self, parsed, **kwargs) -> None:
        request = self.requests["CreateHyperParameterTuningJob"][-1]
        config = request["HyperParameterTuningJobConfig"]
        definition = request["TrainingJobDefinition"]
        ranges = config["ParameterRanges"]
        count = config["ResourceLimits"].get("MaxNumberOfTrainingJobs") or 2
        for number in range(1, count + 1):
            tuned = {}
            for r in ranges["IntegerParameterRanges"]:
                low, high = int(r["MinValue"]), int(r["MaxValue"])
                tuned[r["Name"]] = str(low + (high - low) * (number - 1) // max(1, count - 1))
            for r in ranges["CategoricalParameterRanges"]:
                tuned[r["Name"]] = r["Values"][(number - 1) % len(r["Values"])]
            for r in ranges["ContinuousParameterRanges"]:
                tuned[r["Name"]] = r["MinValue"]
            name = f"{request['HyperParameterTuningJobName']}-{number:03d}-abc"
            # Tuned values go to the container as SageMaker sends them: integers plain ("7"),
            # categorical values as the SDK encoded them ('"7"' for framework estimators).
            hyperparameters = {**definition["StaticHyperParameters"], **tuned}
            self.sm.create_training_job(
                TrainingJobName=name, HyperParameters=hyperparameters,
                AlgorithmSpecification=definition["AlgorithmSpecification"],
                RoleArn=definition["RoleArn"], InputDataConfig=definition["InputDataConfig"],
                OutputDataConfig=definition["OutputDataConfig"],
                ResourceConfig=definition["HyperParameterTuningResourceConfig"],
                StoppingCondition=definition["StoppingCondition"])
            ok = self.container(name, hyperparameters,
                                definition["AlgorithmSpecification"]["MetricDefinitions"],
                                fail=number in self.failing_trials)
            self.trials.append({"number": number, "name": name, "summary": {
                "TrainingJobName": name, "TrainingJobStatus": "Completed" if ok else "Failed",
                "TunedHyperParameters": tuned,
                "CreationTime": datetime(2024, 1, 1, 0, 0, number, tzinfo=UTC),
                **({} if ok else {"FailureReason": "AlgorithmError: max_depth -1"})}})

    def _list_trials(self, **kwargs) -> dict:
        shown = self.trials if self.reveal is None else self.trials[: self.reveal]
        return {"TrainingJobSummaries": [t["summary"] for t in shown]}

    def _stop_tuning(self, HyperParameterTuningJobName: str) -> dict:  # noqa: N803
        self.stop_calls.append(HyperParameterTuningJobName)
        self.tuning_status = "Stopped"
        return {}
