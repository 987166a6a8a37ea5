"""The SageMaker processing engine under moto: no AWS account, no network, no waiting.

Moto accepts the SDK's CreateProcessingJob and describes it back, but it runs nothing (a job
is "Completed" at once), keeps no InstanceCount, and has no StopProcessingJob. `FakeSageMaker`
adds only that: it records the request as sent, plays the container (downloads the job's
inputs from moto's S3, runs the uploaded script, uploads its outputs), and sets the states
moto never reports (InProgress, Failed, Stopped) in moto's own job record.
"""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_aws import BUCKET, KEY_ID, REGION, ROLE, SECRET, skip_without_aws_packages

skip_without_aws_packages()
# The SDK itself is not imported here: importing it before the fake AWS environment is set
# would print its banners and look for credentials. The tests import it through the lab.

import boto3  # noqa: E402

from lab import jobs  # noqa: E402
from lab import processing as lab_processing  # noqa: E402
from lab.aws import errors as aws_errors  # noqa: E402
from lab.aws import names, polling  # noqa: E402
from lab.aws import session as sm_session  # noqa: E402
from lab.aws.ledger import Ledger  # noqa: E402
from lab.dataset import ensure_generated, generate_housing, save_dataset  # noqa: E402
from lab.errors import BackendError, JobError  # noqa: E402
from lab.processing import PrepParams, ProcessingRequest, read_meta  # noqa: E402
from lab.processing import _sagemaker as sm_processing  # noqa: E402
from lab.settings import Settings  # noqa: E402
from tests.lab.processing.proc_sm_fake import FakeSageMaker  # noqa: E402
from tests.workspaces import REPO  # noqa: E402


@pytest.fixture
def fake(aws, monkeypatch, tmp_path):
    """moto's AWS (tests/fake_aws.py: bucket, polls that do not sleep) and the fake
    container on the sessions the lab makes."""
    sm_session.import_sagemaker()  # compiles the SDK's config schema once, as in use
    fake = FakeSageMaker(tmp_path / "container")
    with sm_session.use_factory(fake.session_factory(monkeypatch)):
        yield fake


@pytest.fixture
def settings(ws):
    return Settings(workspace=ws.root, backend="sagemaker", sagemaker_role=ROLE,
                    s3_bucket=BUCKET)


@pytest.fixture
def request_small(ws):
    info = save_dataset(ws, generate_housing(rows=300, seed=7), "houses", "PRICE", "generated")
    return ProcessingRequest(info, PrepParams(random_state=7), instance_count=1).validate()


def new_context(ws):
    store = jobs.JobStore(ws)
    return jobs.JobContext(store, store.create("processing", {}))


def run_engine(settings, ws, request):
    ctx = new_context(ws)
    output_dir = ctx.dir / "output"
    sm_processing.SageMakerProcessing(settings).run(ctx, request, request.dataset.path(ws),
                                                   output_dir)
    return ctx, output_dir


def test_the_job_is_the_workshops_processing_job(fake, settings, ws, request_small):
    root = logging.getLogger()
    root_before = (root.level, list(root.handlers))

    ctx, output_dir = run_engine(settings, ws, request_small)

    name = names.job_name(ctx.job.job_id)
    client = boto3.client("sagemaker", region_name=REGION)
    desc = client.describe_processing_job(ProcessingJobName=name)
    inputs = {i["InputName"]: i["S3Input"] for i in desc["ProcessingInputs"]}
    code = inputs.pop("code")
    assert code["S3Uri"].endswith("/preprocess.py")
    bucket, key = code["S3Uri"][len("s3://"):].split("/", 1)
    uploaded = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    assert uploaded == sm_processing.SCRIPT.read_bytes()
    [data] = inputs.values()
    assert data["S3DataDistributionType"] == "ShardedByS3Key"
    assert data["LocalPath"] == "/opt/ml/processing/input"
    prefix = f"mlops-workshop/workspace-{names.workspace_id(settings)}"  # the workspace's own
    assert data["S3Uri"].startswith(f"s3://{BUCKET}/{prefix}/data/raw/")
    outputs = {o["OutputName"]: o["S3Output"] for o in desc["ProcessingOutputConfig"]["Outputs"]}
    assert sorted(outputs) == sorted(["train", "validation", "test", "meta"])
    for out_name, out in outputs.items():
        assert out["LocalPath"] == f"/opt/ml/processing/output/{out_name}"
        assert out["S3Uri"] == (f"s3://{BUCKET}/{prefix}/data/sm_processed/{name}/"
                                f"{out_name}")
    app = desc["AppSpecification"]
    assert app["ContainerArguments"] == request_small.params.script_arguments("PRICE")
    assert app["ContainerEntrypoint"][-1].endswith("/preprocess.py")
    assert "sagemaker-scikit-learn:1.2-1" in app["ImageUri"]
    assert desc["RoleArn"] == ROLE
    tags = client.list_tags(ResourceArn=desc["ProcessingJobArn"])["Tags"]
    assert {"Key": "mlops-lab-workspace", "Value": ws.root.name} in tags
    assert {"Key": "mlops-lab-workspace-id", "Value": names.workspace_id(settings)} in tags
    # Moto does not keep ProcessingResources: read them from the request as it was sent.
    [sent] = fake.requests
    cluster = sent["ProcessingResources"]["ClusterConfig"]
    assert cluster == {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30}
    assert sent["StoppingCondition"] == {"MaxRuntimeInSeconds": sm_processing.MAX_RUNTIME_S}

    for split in ("train", "validation", "test"):
        assert (output_dir / split / f"{split}.csv").is_file()
    assert read_meta(output_dir)["rows"] == {"train": 180, "validation": 60, "test": 60}
    assert (root.level, list(root.handlers)) == root_before  # the SDK left logging alone
    assert "Completed" in jobs.JobStore(ws).log(ctx.job.job_id)
    # the workspace's record: the SDK code with the job's real names and URIs
    [record] = Ledger(settings).list("processing")
    assert (record.kind, record.name, record.status) == ("processing-job", name, "Completed")
    assert (record.instance_type, record.instance_count, record.job_id) == (
        "ml.m5.large", 1, ctx.job.job_id)
    compile(record.code, "ran_code", "exec")
    for uri in (data["S3Uri"], code["S3Uri"], *(o["S3Uri"] for o in outputs.values()), ROLE):
        assert uri in record.code
    assert f'job_name="{name}"' in record.code


def test_processing_job_on_the_sagemaker_backend_matches_in_process(fake, settings, ws):
    ensure_generated(ws)

    job = jobs.run(settings, lab_processing.processing_job(settings, instance_count=1))

    assert job.status == jobs.COMPLETED, job.error
    assert job.result["backend"] == "sagemaker"
    assert job.result["match"] is True
    assert job.result["rows"] == {"train": 6000, "validation": 2000, "test": 2000}
    assert set(job.result["comparison"].values()) == {"identical"}
    assert (Path(job.result["output_dir"]) / "meta" / "prep.json").is_file()


def test_a_sharded_job_sends_n_instances_and_shards_and_combines_their_parts(fake, settings,
                                                                             ws):
    """Instance count 3 on SageMaker: three jobs (profile, statistics, transform), each on 3
    instances with the shards ShardedByS3Key and the plan FullyReplicated; the fake plays
    the 3 instances; every instance writes files of its own and the result is the
    in-process preparation's."""
    info = save_dataset(ws, generate_housing(rows=300, seed=7), "houses", "PRICE", "generated")

    job = jobs.run(settings, lab_processing.processing_job(settings, PrepParams(random_state=7),
                                                          instance_count=3))

    assert job.status == jobs.COMPLETED, job.error
    assert [r["ProcessingJobName"].rsplit("-", 1)[-1] for r in fake.requests] == [
        "profile", "statistics", "transform"]
    for sent in fake.requests:
        assert sent["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 3
        inputs = {i["S3Input"]["LocalPath"]: i["S3Input"] for i in sent["ProcessingInputs"]}
        shards = inputs["/opt/ml/processing/input/data"]
        assert shards["S3DataDistributionType"] == "ShardedByS3Key"
        listed = boto3.client("s3").list_objects_v2(
            Bucket=BUCKET, Prefix=shards["S3Uri"].split(f"{BUCKET}/", 1)[1])["Contents"]
        assert len(listed) == 3  # one object per instance: a single file would go to one
        plan = inputs.get("/opt/ml/processing/input/plan")
        phase = sent["AppSpecification"]["ContainerArguments"]
        assert phase[phase.index("--phase") + 1] == sent["ProcessingJobName"].rsplit("-")[-1]
        assert (plan is None) is (sent is fake.requests[0])
        if plan is not None:
            assert plan["S3DataDistributionType"] == "FullyReplicated"
    assert fake.overwritten == []  # no S3 key written by two instances
    result = job.result
    assert [i["host"] for i in result["instances"]] == ["algo-1", "algo-2", "algo-3"]
    assert sum(i["rows"] for i in result["instances"]) == info.rows
    assert result["parts"]["train"] == ["part-algo-1.csv", "part-algo-2.csv", "part-algo-3.csv"]
    assert result["rows"] == {"train": 180, "validation": 60, "test": 60}
    assert result["match"] is True, result["comparison"]
    assert result["check"]["max_abs_mean"] < 1e-6 and result["check"]["max_abs_std_error"] < 1e-3
    assert len(Ledger(settings).list("processing")) == 3


def test_polls_until_the_job_completes(fake, settings, ws, request_small, monkeypatch):
    fake.status_after_create = "InProgress"
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 2:
            fake.set_status(names.job_name(ctx.job.job_id), "Completed")

    monkeypatch.setattr(polling, "sleep", sleep)
    ctx = new_context(ws)
    sm_processing.SageMakerProcessing(settings).run(
        ctx, request_small, request_small.dataset.path(ws), ctx.dir / "output")

    assert sleeps == [sm_processing.POLL_SECONDS] * 2
    log = jobs.JobStore(ws).log(ctx.job.job_id)
    assert log.index(": InProgress") < log.index(": Completed")
    assert read_meta(ctx.dir / "output") is not None


def test_cancelling_stops_the_sagemaker_job(fake, settings, ws, request_small, monkeypatch):
    fake.status_after_create = "InProgress"
    ctx = new_context(ws)
    monkeypatch.setattr(polling, "sleep", lambda s: (ctx.dir / "cancel").touch())

    with pytest.raises(jobs.JobCancelled):
        sm_processing.SageMakerProcessing(settings).run(
            ctx, request_small, request_small.dataset.path(ws), ctx.dir / "output")

    assert fake.stop_calls == [names.job_name(ctx.job.job_id)]
    assert not (ctx.dir / "output").exists()


def test_a_stop_refused_because_the_job_ended_still_cancels(fake, settings, ws, request_small,
                                                            monkeypatch):
    from botocore.exceptions import ClientError

    fake.status_after_create = "InProgress"
    ctx = new_context(ws)
    monkeypatch.setattr(polling, "sleep", lambda s: (ctx.dir / "cancel").touch())

    def stop(ProcessingJobName):  # noqa: N803
        fake.set_status(ProcessingJobName, "Completed")
        raise ClientError({"Error": {"Code": "ValidationException",
                                     "Message": "The job is not in progress."}},
                          "StopProcessingJob")

    fake._stop = stop
    with pytest.raises(jobs.JobCancelled):
        sm_processing.SageMakerProcessing(settings).run(
            ctx, request_small, request_small.dataset.path(ws), ctx.dir / "output")
    assert "ValidationException" in jobs.JobStore(ws).log(ctx.job.job_id)


def test_a_failed_job_raises_its_failure_reason(fake, settings, ws, request_small):
    fake.run_container = False
    fake.status_after_create = "Failed"
    fake.failure_reason = "AlgorithmError: ERROR: There is no column 'PRICE'."

    with pytest.raises(JobError, match="There is no column 'PRICE'") as caught:
        run_engine(settings, ws, request_small)
    assert "failed" in str(caught.value)


def test_a_failed_job_fails_the_lab_job(fake, settings, ws, request_small):
    fake.run_container = False
    fake.status_after_create = "Failed"
    fake.failure_reason = "ClientError: instance limit exceeded"

    job = jobs.run(settings, lab_processing.processing_job(
        settings, request_small.params, request_small.instance_count))

    assert job.status == jobs.FAILED
    assert "instance limit exceeded" in job.error


def test_aws_errors_become_lab_errors_without_key_ids(fake, ws, request_small):
    settings = Settings(workspace=ws.root, backend="sagemaker", sagemaker_role=ROLE,
                        s3_bucket="ab")  # too short: S3 refuses to create it
    # lab.aws.errors maps AWS's refusals to BackendError (a LabError: the job fails with it)
    with pytest.raises(BackendError, match="InvalidBucketName") as caught:
        run_engine(settings, ws, request_small)
    assert KEY_ID not in str(caught.value) and SECRET not in str(caught.value)


def test_importing_the_backend_loads_no_sdk():
    code = ("import sys, lab.processing._sagemaker, lab.aws.session; "
            "print(sorted({'sagemaker', 'boto3', 'botocore'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, check=True).stdout
    assert out.strip() == "[]"


def test_sdk_code_is_the_workshops_code(request_small):
    code = lab_processing.sdk_code(dataclasses.replace(request_small, instance_count=2))

    compile(code, "sdk_code", "exec")
    assert 'framework_version="1.2-1"' in code
    assert "instance_count=2" in code
    assert 's3_data_distribution_type="ShardedByS3Key"' in code
    assert '"--random_state", "7",' in code and '"--target_col", "PRICE",' in code
    for name in ("train", "validation", "test", "meta"):
        assert f'"{name}"' in code


# check_sagemaker: the reason the backend cannot run, offline, without a credential in it.

def settings_with(ws, role=ROLE):
    return Settings(workspace=ws.root, backend="sagemaker", sagemaker_role=role)


def test_check_passes_when_everything_is_there(aws_env, ws):
    assert sm_session.check_sagemaker(settings_with(ws)) is None


def test_check_reports_missing_credentials(aws_env, ws, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    reason = sm_session.check_sagemaker(settings_with(ws))

    assert reason and "No AWS credentials" in reason


def test_check_reports_missing_role_without_credentials_in_it(aws_env, ws):
    reason = sm_session.check_sagemaker(settings_with(ws, role=None))

    assert reason and "LAB_SAGEMAKER_ROLE" in reason
    assert KEY_ID not in reason and SECRET not in reason
    with pytest.raises(BackendError, match="LAB_SAGEMAKER_ROLE") as caught:
        sm_session.make_session(settings_with(ws, role=None))
    assert KEY_ID not in str(caught.value) and SECRET not in str(caught.value)


def test_check_reports_missing_region(aws_env, ws, monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    assert "region" in sm_session.check_sagemaker(settings_with(ws))


def test_missing_sdk_is_a_backend_error(aws_env, ws, monkeypatch):
    monkeypatch.setitem(sys.modules, "sagemaker", None)

    assert "requirements.txt" in sm_session.check_sagemaker(settings_with(ws))
    with pytest.raises(BackendError, match="requirements.txt"):
        sm_session.import_sagemaker()


def test_the_key_id_is_masked_in_aws_error_messages():
    from botocore.exceptions import ClientError

    error = ClientError({"Error": {"Code": "InvalidClientTokenId",
                                   "Message": f"The key {KEY_ID} is not valid."}}, "GetObject")

    text = aws_errors.describe(error)

    assert KEY_ID not in text and "InvalidClientTokenId" in text and "GetObject" in text
