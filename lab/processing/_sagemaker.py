"""The processing job on SageMaker: the workshop's SKLearnProcessor running `preprocess.py`.

It plays the part of `LocalProcessing` (same `run`, same output layout) and stays small on
purpose, so that a learner can read it beside the notebook:

1. upload the dataset CSV and the script under the workspace's folder of the bucket,
   `s3://<bucket>/mlops-workshop/workspace-<id>/` (the script is self-contained, so the
   container needs nothing of the lab);
2. start the job with the SDK, exactly as the workshop writes it (`sdk_code` shows it);
3. poll it with boto3 every few seconds, stopping it if the learner cancels;
4. download each output into `output_dir/<name>/`, where the lab compares it with the
   in-process preparation;
5. record the run in the workspace's ledger (`lab.aws.ledger`): the SDK code that ran with
   its real names and URIs, the instance type and count, and the billed seconds.

Every S3 path carries the SageMaker job name, so runs (and learners sharing a bucket)
never read or overwrite each other's data.

With several instances the job is sharded (`_sharded`): the dataset is uploaded as one
object per instance, and each of the three phases is one SKLearnProcessor job with
`instance_count=N`, the shards in ShardedByS3Key mode and the combine step's plan
FullyReplicated; each instance uploads its own files (named by its host) and the lab reads
them back to combine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lab.aws import names, polling, prices
from lab.aws.errors import translated
from lab.aws.ledger import Ledger
from lab.aws.session import sdk_logging_guard
from lab.aws.twin import SageMakerTwin
from lab.errors import JobError
from lab.processing import _sharded
from lab.processing._api import ProcessingRequest
from lab.processing._local import SCRIPT

PREFIX = names.PREFIX
OUTPUTS = ("train", "validation", "test", "meta")
FRAMEWORK_VERSION, INSTANCE_TYPE = "1.2-1", "ml.m5.large"
INPUT_DIR, OUTPUT_DIR = "/opt/ml/processing/input", "/opt/ml/processing/output"
DATA_DIR, PLAN_DIR = f"{INPUT_DIR}/data", f"{INPUT_DIR}/plan"  # a sharded job's inputs
PHASE_OUTPUTS = {"profile": ("profile",), "statistics": ("statistics",),
                 "transform": ("train", "validation", "test")}
MAX_RUNTIME_S = 3600  # a lab job takes minutes; this caps the bill of a stuck one
POLL_SECONDS = 5
TYPICAL_S = 5 * 60  # a lab processing job: about 5 minutes, most of it starting the instance


class SageMakerProcessing(SageMakerTwin):
    """Runs the preparation script as a SageMaker processing job."""

    note = ("Runs the script in an SKLearnProcessor on SageMaker, then downloads its "
            "outputs into the workspace.")

    def launch_estimate(self, instance_count: int = 1) -> prices.Estimate:
        """What a job costs, before it is launched (a typical run of about 5 minutes; a
        sharded one is three such jobs on `instance_count` instances)."""
        jobs = 1 if instance_count == 1 else len(PHASE_OUTPUTS)
        return prices.estimate("processing", INSTANCE_TYPE, instance_count, TYPICAL_S * jobs)

    def run(self, ctx: Any, request: ProcessingRequest, input_csv: Path,
            output_dir: Path) -> dict | None:
        with translated():
            if request.instance_count > 1:
                return _sharded.run_sharded(ctx, request, Path(input_csv), Path(output_dir),
                                            self.run_phase)
            self._run(ctx, request, Path(input_csv), Path(output_dir))
            return None

    def run_phase(self, ctx: Any, request: ProcessingRequest, phase: str, shards: list[Path],
                  plan: Path | None, into: Path) -> None:
        """One phase of a sharded job: a processing job on N instances, the shards dealt
        by ShardedByS3Key, the plan on every instance; its outputs downloaded into `into`."""
        from sagemaker.processing import ProcessingInput, ProcessingOutput
        from sagemaker.sklearn.processing import SKLearnProcessor

        session, count = self.session, request.instance_count
        job_name = names.job_name(f"{ctx.job.job_id}-{phase}")
        bucket, prefix = self.bucket, self.s3_prefix
        root = f"{prefix}/data/sharded/{names.job_name(ctx.job.job_id)}"
        with sdk_logging_guard():
            if phase == "profile":  # the shards go up once, for the three phases
                for shard in shards:
                    session.upload_data(str(shard), bucket, f"{root}/shards")
            code_s3 = session.upload_data(str(SCRIPT), bucket, f"{prefix}/code/{job_name}")
            plan_s3 = (session.upload_data(str(plan), bucket, f"{root}/plan-{phase}")
                       if plan is not None else None)
        inputs = [ProcessingInput(source=f"s3://{bucket}/{root}/shards/", destination=DATA_DIR,
                                  s3_data_distribution_type="ShardedByS3Key")]
        if plan_s3:
            inputs.append(ProcessingInput(source=plan_s3 + "/", destination=PLAN_DIR,
                                          s3_data_distribution_type="FullyReplicated"))
        destinations = {name: f"s3://{bucket}/{root}/{phase}/{name}"
                        for name in PHASE_OUTPUTS[phase]}
        arguments = [*request.params.script_arguments(request.dataset.target),
                     "--phase", phase, "--input-dir", DATA_DIR, "--plan", PLAN_DIR]
        processor = SKLearnProcessor(
            framework_version=FRAMEWORK_VERSION, role=self.settings.sagemaker_role,
            instance_type=INSTANCE_TYPE, instance_count=count,
            max_runtime_in_seconds=MAX_RUNTIME_S, sagemaker_session=session, tags=self.tags)
        ctx.check_cancelled()
        with sdk_logging_guard():
            processor.run(code=code_s3, inputs=inputs, outputs=[
                ProcessingOutput(output_name=name, source=f"{OUTPUT_DIR}/{name}",
                                 destination=uri) for name, uri in destinations.items()],
                arguments=arguments, job_name=job_name, wait=False, logs=False)
        console = self.console_url(f"#/processing-jobs/{job_name}")
        ctx.log(f"Job {job_name} ({phase}) created on {count} x {INSTANCE_TYPE}: {console}")
        self._follow(ctx, job_name, count, console, ran_code(
            job_name, self.settings.sagemaker_role, count, inputs[0].source, code_s3,
            destinations, arguments, self.tags, plan_s3))
        for name, uri in destinations.items():
            with sdk_logging_guard():
                files = session.download_data(str(into / name), bucket,
                                              uri[len(f"s3://{bucket}/"):] + "/")
            ctx.log(f"{name}: {len(files)} file(s) from {uri}")

    def _run(self, ctx, request: ProcessingRequest, input_csv: Path, output_dir: Path) -> None:
        from sagemaker.processing import ProcessingInput, ProcessingOutput
        from sagemaker.sklearn.processing import SKLearnProcessor

        session, job_name = self.session, names.job_name(ctx.job.job_id)
        ctx.progress(0.1, "Uploading the dataset and the script to S3")
        bucket, prefix = self.bucket, self.s3_prefix
        raw_prefix = f"{prefix}/data/raw/{job_name}"
        with sdk_logging_guard():
            raw_s3 = session.upload_data(str(input_csv), bucket, raw_prefix)
            code_s3 = session.upload_data(str(SCRIPT), bucket, f"{prefix}/code/{job_name}")
        ctx.log(f"Uploaded {raw_s3} and {code_s3}")
        ctx.check_cancelled()
        destinations = {name: f"s3://{bucket}/{prefix}/data/sm_processed/{job_name}/{name}"
                        for name in OUTPUTS}
        arguments = request.params.script_arguments(request.dataset.target)
        processor = SKLearnProcessor(
            framework_version=FRAMEWORK_VERSION, role=self.settings.sagemaker_role,
            instance_type=INSTANCE_TYPE, instance_count=request.instance_count,
            max_runtime_in_seconds=MAX_RUNTIME_S, sagemaker_session=session, tags=self.tags)
        ctx.progress(0.2, f"Starting the SageMaker processing job {job_name}")
        with sdk_logging_guard():
            processor.run(
                code=code_s3,
                inputs=[ProcessingInput(source=f"s3://{bucket}/{raw_prefix}/",
                                        destination=INPUT_DIR,
                                        s3_data_distribution_type="ShardedByS3Key")],
                outputs=[ProcessingOutput(output_name=name, source=f"{OUTPUT_DIR}/{name}",
                                          destination=uri)
                         for name, uri in destinations.items()],
                arguments=arguments, job_name=job_name, wait=False, logs=False)
        console = self.console_url(f"#/processing-jobs/{job_name}")
        ctx.log(f"Job {job_name} created on {request.instance_count} x {INSTANCE_TYPE}: "
                + console)
        self._follow(ctx, job_name, request.instance_count, console, ran_code(
            job_name, self.settings.sagemaker_role, request.instance_count,
            f"s3://{bucket}/{raw_prefix}/", code_s3, destinations, arguments, self.tags))
        ctx.progress(0.9, "Downloading the outputs from S3")
        for name, uri in destinations.items():
            key_prefix = uri[len(f"s3://{bucket}/"):] + "/"
            with sdk_logging_guard():
                files = session.download_data(str(output_dir / name), bucket, key_prefix)
            ctx.log(f"{name}: {len(files)} file(s) from {uri}" if files
                    else f"{name}: nothing under {uri}")

    def _follow(self, ctx, job_name: str, instance_count: int, console: str, code: str) -> None:
        """Record the job in the ledger, wait for its end, and raise unless it Completed."""
        ledger = Ledger(self.settings)
        record = ledger.start(
            "processing", "processing-job", job_name, region=self.region, use="processing",
            instance_type=INSTANCE_TYPE, instance_count=instance_count,
            console_url=console, job_id=ctx.job.job_id, code=code)
        try:
            desc = self._wait(ctx, job_name)
        except BaseException:
            ledger.finish(record, "Unknown")
            raise
        status = desc["ProcessingJobStatus"]
        billed = billed_seconds(desc, instance_count)
        ledger.finish(record, status, billed)
        if billed is not None:
            cost = prices.estimate("processing", INSTANCE_TYPE, 1, billed, self.region)
            ctx.log(f"Billed: {billed:.0f} instance-seconds ({cost.text})")
        ctx.check_cancelled()
        if status == "Failed":
            reason = (desc.get("FailureReason") or "no reason given").strip().rstrip(".")
            exit_message = (desc.get("ExitMessage") or "").strip().rstrip(".")
            raise JobError(f"The SageMaker job {job_name} failed: {reason}"
                           + (f" ({exit_message})" if exit_message else "")
                           + ". Its logs are in CloudWatch, /aws/sagemaker/ProcessingJobs.")
        if status == "Stopped":
            raise JobError(f"The SageMaker job {job_name} was stopped before it finished "
                           f"(from the console, or it ran past {MAX_RUNTIME_S} s).")

    def _wait(self, ctx, job_name: str) -> dict:
        """Poll until the job ends; ask SageMaker to stop it once if the learner cancels."""
        client = self.client
        return polling.follow_job(
            ctx, job_name, lambda: client.describe_processing_job(ProcessingJobName=job_name),
            lambda d: d["ProcessingJobStatus"],
            lambda: client.stop_processing_job(ProcessingJobName=job_name),
            poll_s=POLL_SECONDS)

    def code(self) -> list:
        return [SageMakerProcessing._run]


def billed_seconds(desc: dict, instance_count: int) -> float | None:
    """Instance-seconds a processing job was billed for: from its start to its end on each
    instance (DescribeProcessingJob has no billable-time field, unlike training jobs)."""
    start, end = desc.get("ProcessingStartTime"), desc.get("ProcessingEndTime")
    if not (hasattr(start, "timestamp") and hasattr(end, "timestamp")):
        return None
    return max(0.0, end.timestamp() - start.timestamp()) * instance_count


def ran_code(job_name: str, role: str | None, instance_count: int, raw_s3: str, code_s3: str,
             destinations: dict[str, str], arguments: list[str], tags: list[dict],
             plan_s3: str | None = None) -> str:
    """The SDK v2 code of the job that ran, with its real names and S3 URIs (a sharded
    job's phase reads its shards into input/data and the combine step's plan)."""
    destination = DATA_DIR if "--phase" in arguments else INPUT_DIR
    plan = ("" if plan_s3 is None else
            f"\n            ProcessingInput(source={json.dumps(plan_s3 + '/')},\n"
            f'                            destination="{PLAN_DIR}",\n'
            '                            s3_data_distribution_type="FullyReplicated"),')
    outputs = "\n".join(
        f"        ProcessingOutput(output_name={json.dumps(name)}, "
        f"source={json.dumps(f'{OUTPUT_DIR}/{name}')},\n"
        f"                         destination={json.dumps(uri)}),"
        for name, uri in destinations.items())
    return f'''\
import sagemaker
from sagemaker.processing import ProcessingInput, ProcessingOutput
from sagemaker.sklearn.processing import SKLearnProcessor

processor = SKLearnProcessor(
    framework_version="{FRAMEWORK_VERSION}",
    role={json.dumps(role)},
    instance_type="{INSTANCE_TYPE}",
    instance_count={instance_count},
    max_runtime_in_seconds={MAX_RUNTIME_S},
    sagemaker_session=sagemaker.Session(),
    tags={json.dumps(tags)},
)
processor.run(
    code={json.dumps(code_s3)},
    inputs=[ProcessingInput(source={json.dumps(raw_s3)},
                            destination="{destination}",
                            s3_data_distribution_type="ShardedByS3Key"),{plan}],
    outputs=[
{outputs}
    ],
    arguments={json.dumps(arguments)},
    job_name={json.dumps(job_name)},
    wait=False,
)
'''


def sdk_code(request) -> str:
    """The SDK code of this job, as a learner writes it in the workshop's notebook."""
    args = [json.dumps(a) for a in request.params.script_arguments(request.dataset.target)]
    lines = [""]
    for item in (f"{flag}, {value}" for flag, value in zip(args[::2], args[1::2])):
        if lines[-1] and len(lines[-1]) + len(item) > 80:
            lines.append("")
        lines[-1] += f"{item}, "
    arguments = "\n".join("        " + line.rstrip() for line in lines)
    csv_name = json.dumps(f"{request.dataset.name}.csv")
    return f'''\
import sagemaker
from sagemaker.processing import ProcessingInput, ProcessingOutput
from sagemaker.sklearn.processing import SKLearnProcessor

session = sagemaker.Session()
role = sagemaker.get_execution_role()  # the lab uses LAB_SAGEMAKER_ROLE
bucket = session.default_bucket()      # or LAB_S3_BUCKET
prefix = "{PREFIX}"  # the lab adds the job name to the S3 folders: runs never mix

raw_s3 = session.upload_data({csv_name}, bucket, f"{{prefix}}/data/raw")

sklearn_processor = SKLearnProcessor(
    framework_version="{FRAMEWORK_VERSION}",
    role=role,
    instance_type="{INSTANCE_TYPE}",
    instance_count={request.instance_count},
    max_runtime_in_seconds={MAX_RUNTIME_S},
)
sklearn_processor.run(
    code="preprocess.py",
    inputs=[ProcessingInput(source=raw_s3, destination="{INPUT_DIR}",
                            s3_data_distribution_type="ShardedByS3Key")],
    outputs=[
        ProcessingOutput(output_name=name, source=f"{OUTPUT_DIR}/{{name}}",
                         destination=f"s3://{{bucket}}/{{prefix}}/data/sm_processed/{{name}}")
        for name in {json.dumps(list(OUTPUTS))}
    ],
    arguments=[
{arguments}
    ],
)
'''


def sharded_sdk_code(request) -> str:
    """The sharded job as a learner writes it with the SDK: the input as one object per
    instance, three jobs on N instances, a small combine step between them (text only)."""
    count = request.instance_count
    args = ", ".join(json.dumps(a) for a in
                     request.params.script_arguments(request.dataset.target))
    return f'''\
import sagemaker
from sagemaker.processing import ProcessingInput, ProcessingOutput
from sagemaker.sklearn.processing import SKLearnProcessor

from lab.processing import preprocess   # the same script: its combine functions

session = sagemaker.Session()
role = sagemaker.get_execution_role()  # the lab uses LAB_SAGEMAKER_ROLE
bucket, prefix = session.default_bucket(), "{PREFIX}/data/sharded"
# One object per instance: ShardedByS3Key deals objects, never rows of one file.
for shard in ["shard-00001-of-{count:05d}.csv", ...]:
    session.upload_data(shard, bucket, f"{{prefix}}/shards")

processor = SKLearnProcessor(framework_version="{FRAMEWORK_VERSION}", role=role,
                             instance_type="{INSTANCE_TYPE}", instance_count={count})
outputs = {json.dumps(PHASE_OUTPUTS)}

def phase(name, plan_s3=None):
    inputs = [ProcessingInput(source=f"s3://{{bucket}}/{{prefix}}/shards/",
                              destination="{DATA_DIR}",
                              s3_data_distribution_type="ShardedByS3Key")]
    if plan_s3:  # every instance gets the whole plan
        inputs.append(ProcessingInput(source=plan_s3, destination="{PLAN_DIR}",
                                      s3_data_distribution_type="FullyReplicated"))
    processor.run(code="preprocess.py", inputs=inputs, outputs=[
        ProcessingOutput(output_name=o, source=f"{OUTPUT_DIR}/{{o}}",
                         destination=f"s3://{{bucket}}/{{prefix}}/{{name}}/{{o}}")
        for o in outputs[name]],
        arguments=[{args}, "--phase", name,
                   "--input-dir", "{DATA_DIR}", "--plan", "{PLAN_DIR}"])

phase("profile")          # each instance: rows, types, text values of its shards
plan = preprocess.plan_from_profiles(profiles, ...)     # read back from S3: the schema
slots = preprocess.split_slots(plan)                     # each row's split, the workshop's
phase("statistics", plan_s3)   # each instance: moments of its train rows
plan = preprocess.scaler_from_statistics(plan, partials, values)   # ONE scaler, all rows
phase("transform", plan_s3)    # each instance: its rows split, filled, scaled: part-algo-N.csv
'''
