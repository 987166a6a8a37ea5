"""The lab's pipelines compiled into SageMaker Pipelines (SDK v2), and run on SageMaker.

`SageMakerPipelines.execute` runs an execution entirely on SageMaker: it uploads the code
and the raw data, makes sure the model package group exists, upserts the pipeline, starts
it, and follows it with DescribePipelineExecution and ListPipelineExecutionSteps,
mirroring each step's status, cache hit and failure reason into the workspace's
PipelineStore (so the page draws it live); a cancelled job stops it
(StopPipelineExecution), and `retry` resumes a failed one (RetryPipelineExecution).
Nothing of the pipeline runs on this machine.

`build_pipeline` reads the declaration the local executor runs (`definition.py`) and makes
the workshop's shape, with the images of the configured region:

    PreprocessData              SKLearnProcessor (scikit-learn 1.2-1) on the InputData
                                parameter (an S3 URI: an object or a prefix)
    CheckAlgorithm              the Algorithm parameter picks a branch at run time, each in
                                its own image: XGBoost 1.7-1 or scikit-learn 1.2-1
      TrainModel-<Algorithm>    the framework estimator running training/entry_point.py,
                                with the workshop's metric definitions
      EvaluateModel-<Algorithm> evaluate.py in the training image (the scikit-learn image
                                has no xgboost), PropertyFile "EvaluationReport"
      CheckMSE-<Algorithm>      MSE <= MseThreshold (JsonGet on the report)
        RegisterModel-<Algorithm>  a model package in the workspace's group, served by the
                                image that trained it with inference.py, the evaluation
                                report as its ModelMetrics

The deployment pipeline is two LambdaSteps (`deploy_lambda.py`): find the latest approved
version, then create or update the endpoint.

`bundle` lists every object the definition expects in S3 (scripts, code bundles, the raw
data); `offline_definition` makes the JSON with no AWS access (the SDK note's recipe), and
`export` writes both to a folder.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import logging
import tarfile
import time
import uuid
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lab import jobs
from lab.aws import names, polling
from lab.aws import session as sm_session
from lab.aws.errors import translated
from lab.aws.twin import SageMakerTwin
from lab.errors import InputError
from lab.pipelines._store import (
    EXECUTING,
    FAILED,
    STOPPED,
    SUCCEEDED,
    Execution,
    PipelineStore,
    StepRecord,
)
from lab.pipelines.definition import (
    DEPLOY_PIPELINE,
    TRAINING_PIPELINE,
    ConditionStep,
    PipelineDef,
    pipeline,
)
from lab.settings import Settings

PREFIX = names.PREFIX
INSTANCE_TYPE = "ml.m5.large"
OFFLINE_BUCKET, OFFLINE_REGION = "sagemaker-offline-bucket", "us-east-1"
OFFLINE_ROLE = "arn:aws:iam::111122223333:role/LabSageMakerRole"
ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = {"preprocess.py": ROOT / "processing" / "preprocess.py",
           "evaluate.py": ROOT / "pipelines" / "evaluate.py",
           "entry_point.py": ROOT / "training" / "entry_point.py",
           "inference.py": ROOT / "training" / "inference.py",
           "deploy_lambda.py": ROOT / "pipelines" / "deploy_lambda.py"}
PROC = "/opt/ml/processing"
# Which image trains, evaluates and serves each algorithm (framework, version): the
# workshop's SKLearn estimator for the forest, the XGBoost framework for XGBoost.
FRAMEWORKS = {"xgboost": ("xgboost", "1.7-1"), "random_forest": ("sklearn", "1.2-1")}
BRANCH = {"xgboost": "XGBoost", "random_forest": "RandomForest"}
LAMBDA_BASE = "lab-deploy-latest-approved"
POLL_SECONDS = 15
SM_STATUS = {"Starting": EXECUTING, "Executing": EXECUTING, "Stopping": EXECUTING,
             "Succeeded": SUCCEEDED, "Failed": FAILED, "Stopped": STOPPED}
DONE = ("Succeeded", "Failed", "Stopped")


# Where things are: region, bucket, the objects the definition reads.

def region_of(settings: Settings | None) -> str:
    """The configured region (environment or profile), else the offline default."""
    try:
        import boto3

        return boto3.Session().region_name or OFFLINE_REGION
    except Exception:  # noqa: BLE001 - no usable AWS configuration: the offline default
        return OFFLINE_REGION


def image_uri(algorithm: str, region: str) -> str:
    """The framework image of `algorithm` in `region` (the SDK's own table, no AWS call)."""
    sm_session.import_sagemaker()
    from sagemaker import image_uris

    framework, version = FRAMEWORKS[algorithm]
    with sm_session.sdk_logging_guard():
        return image_uris.retrieve(framework, region, version, py_version="py3",
                                   instance_type=INSTANCE_TYPE)


def _tar(files: dict[str, bytes]) -> bytes:
    """A gzipped tar whose bytes depend only on the files (no times): its hash names it."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(files[name]), 0o644
            tar.addfile(info, io.BytesIO(files[name]))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as fh:
        fh.write(raw.getvalue())
    return out.getvalue()


def code_objects(prefix: str = PREFIX) -> dict[str, bytes]:
    """The code the training pipeline runs, by S3 key under `prefix` (the workspace's
    folder: names.s3_prefix) and a hash of that code, so a changed script is a new URI: a
    step cache miss, and no execution reads mixed code."""
    text = {name: SCRIPTS[name].read_bytes() for name in
            ("preprocess.py", "evaluate.py", "entry_point.py", "inference.py")}
    digest = hashlib.sha256(b"".join(text[n] for n in sorted(text))).hexdigest()[:12]
    base = f"{prefix}/pipeline-code/{digest}"
    return {f"{base}/preprocess.py": text["preprocess.py"],
            f"{base}/evaluate.py": text["evaluate.py"],
            f"{base}/serving/inference.py": text["inference.py"],
            f"{base}/training/sourcedir.tar.gz": _tar(
                {"entry_point.py": text["entry_point.py"], "inference.py": text["inference.py"]}),
            f"{base}/serving/sourcedir.tar.gz": _tar({"inference.py": text["inference.py"]})}


def code_uris(bucket: str, prefix: str = PREFIX) -> dict[str, str]:
    keys = list(code_objects(prefix))
    base = keys[0].rsplit("/", 1)[0]
    return {"preprocess": f"s3://{bucket}/{base}/preprocess.py",
            "evaluate": f"s3://{bucket}/{base}/evaluate.py",
            "serving_code": f"s3://{bucket}/{base}/serving/inference.py",
            "training": f"s3://{bucket}/{base}/training/sourcedir.tar.gz",
            "serving": f"s3://{bucket}/{base}/serving/sourcedir.tar.gz"}


def raw_data_key(dataset_name: str, prefix: str = PREFIX) -> str:
    return f"{prefix}/data/raw/{dataset_name}.csv"


def remote_name(settings: Settings, defn: PipelineDef) -> str:
    """The pipeline's name on SageMaker: the lab's, with the workspace's suffix (pipeline
    names are shared by a whole account and region, as feature groups' are)."""
    return names.resource_name(settings, defn.name)


def input_data(settings: Settings, value: str | None) -> tuple[str | None, Path | None, str]:
    """(dataset name or None, its file or None, target) for an InputData value: a dataset
    of the workspace (empty: the active one), or an s3:// URI the learner chose."""
    from lab.dataset import DEFAULT_TARGET, active_dataset, list_datasets
    from lab.workspace import Workspace

    if value and value.startswith("s3://"):
        return None, None, DEFAULT_TARGET
    ws = Workspace(settings.workspace)
    if value:
        found = {d.name: d for d in list_datasets(ws)}
        if value not in found:
            raise InputError(f"There is no dataset {value!r} in this workspace: use one of "
                             f"{', '.join(found) or '(none yet)'}, or an s3:// URI.")
        info = found[value]
    else:
        info = active_dataset(ws)
    return info.name, info.path(ws), info.target


def resolved(settings: Settings, bucket: str, parameters: dict[str, Any] | None
             ) -> tuple[dict[str, Any], dict[str, Path]]:
    """The training pipeline's parameter values with InputData as an S3 URI and the target
    named, and the data files to upload ({key: file})."""
    values = TRAINING_PIPELINE.resolve_parameters(parameters)
    name, path, target = input_data(settings, values["InputData"])
    uploads, prefix = {}, names.s3_prefix(settings)
    if name is not None:
        values["InputData"] = f"s3://{bucket}/{raw_data_key(name, prefix)}"
        uploads[raw_data_key(name, prefix)] = path
    values["TargetColumn"] = values["TargetColumn"] or target
    return values, uploads


def bundle(settings: Settings, bucket: str, parameters: dict[str, Any] | None = None
           ) -> dict[str, bytes | Path]:
    """Every object the training pipeline's definition expects in `bucket`, by key."""
    _, uploads = resolved(settings, bucket, parameters)
    return {**code_objects(names.s3_prefix(settings)), **uploads}


def lambda_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("deploy_lambda.py", date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        archive.writestr(info, SCRIPTS["deploy_lambda.py"].read_bytes())
    return buffer.getvalue()


def lambda_arn(settings: Settings, region: str, role: str) -> str:
    account = role.split(":")[4] if role.startswith("arn:") else "111122223333"
    name = names.resource_name(settings, LAMBDA_BASE)
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


# The SDK pipelines.

def _parameters(defn: PipelineDef, values: dict[str, Any]) -> dict[str, Any]:
    from sagemaker.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString

    kinds = {"Integer": ParameterInteger, "Float": ParameterFloat, "String": ParameterString}
    return {p.name: kinds[p.type](name=p.name, default_value=values.get(p.name, p.default))
            for p in defn.parameters}


def _branch(session: Any, role: str, algorithm: str, p: dict[str, Any], step_process: Any,
            uris: dict[str, str], group: str, region: str, cache: Any, defn: PipelineDef,
            prefix: str) -> list:
    """Train, evaluate, check and register `algorithm`, all in its own image."""
    from sagemaker.inputs import TrainingInput
    from sagemaker.model import Model
    from sagemaker.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
    from sagemaker.sklearn.estimator import SKLearn
    from sagemaker.workflow.condition_step import ConditionStep as SMConditionStep
    from sagemaker.workflow.conditions import ConditionLessThanOrEqualTo
    from sagemaker.workflow.functions import Join, JsonGet
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.steps import ProcessingStep, TrainingStep
    from sagemaker.xgboost.estimator import XGBoost

    from lab.training.entry_point import METRIC_DEFINITIONS

    suffix, image = BRANCH[algorithm], image_uri(algorithm, region)
    framework, version = FRAMEWORKS[algorithm]
    bucket = session.default_bucket()
    estimator_class = XGBoost if algorithm == "xgboost" else SKLearn
    estimator = estimator_class(
        framework_version=version, entry_point="entry_point.py", source_dir=uris["training"],
        role=role, instance_type=INSTANCE_TYPE, instance_count=1, py_version="py3",
        hyperparameters={"algorithm": algorithm, "max_depth": p["MaxDepth"],
                         "n_estimators": p["NEstimators"]},
        metric_definitions=METRIC_DEFINITIONS,
        output_path=f"s3://{bucket}/{prefix}/pipeline-models",
        disable_profiler=True,  # its timestamped rule would defeat step caching
        sagemaker_session=session)
    outputs = step_process.properties.ProcessingOutputConfig.Outputs
    step_train = TrainingStep(
        name=f"TrainModel-{suffix}", estimator=estimator, cache_config=cache,
        inputs={"train": TrainingInput(outputs["train"].S3Output.S3Uri, content_type="text/csv"),
                "validation": TrainingInput(outputs["validation"].S3Output.S3Uri,
                                            content_type="text/csv"),
                "meta": TrainingInput(outputs["meta"].S3Output.S3Uri,
                                      content_type="application/json")})
    model_data = step_train.properties.ModelArtifacts.S3ModelArtifacts
    evaluator = ScriptProcessor(image_uri=image, command=["python3"], role=role,
                                instance_type=INSTANCE_TYPE, instance_count=1,
                                sagemaker_session=session)
    report = PropertyFile(name="EvaluationReport", output_name="evaluation",
                          path="evaluation.json")
    step_eval = ProcessingStep(
        name=f"EvaluateModel-{suffix}", processor=evaluator, code=uris["evaluate"],
        cache_config=cache, property_files=[report],
        inputs=[ProcessingInput(source=model_data, destination=f"{PROC}/model"),
                ProcessingInput(source=outputs["test"].S3Output.S3Uri,
                                destination=f"{PROC}/test"),
                ProcessingInput(source=uris["serving_code"],
                                destination=f"{PROC}/input/serving")],
        outputs=[ProcessingOutput(output_name="evaluation", source=f"{PROC}/evaluation")])
    evaluation_uri = step_eval.properties.ProcessingOutputConfig.Outputs[
        "evaluation"].S3Output.S3Uri
    model = Model(image_uri=image, model_data=model_data, role=role, sagemaker_session=session,
                  env={"SAGEMAKER_PROGRAM": "inference.py",
                       "SAGEMAKER_SUBMIT_DIRECTORY": uris["serving"],
                       "SAGEMAKER_CONTAINER_LOG_LEVEL": "20", "SAGEMAKER_REGION": region})
    with sm_session.sdk_logging_guard():
        register_args = model.register(
            content_types=["text/csv"], response_types=["application/json"],
            inference_instances=[INSTANCE_TYPE], transform_instances=[INSTANCE_TYPE],
            model_package_group_name=group, approval_status=p["ModelApprovalStatus"],
            description=f"{algorithm} from the pipeline {defn.name}",
            model_metrics=ModelMetrics(model_statistics=MetricsSource(
                content_type="application/json",
                s3_uri=Join(on="/", values=[evaluation_uri, "evaluation.json"]))),
            customer_metadata_properties={"algorithm": algorithm, "pipeline": defn.name,
                                          "image": f"{framework}:{version}"})
    step_register = ModelStep(name=f"RegisterModel-{suffix}", step_args=register_args)
    condition = next(s for s in defn.steps if isinstance(s, ConditionStep))
    step_check = SMConditionStep(
        name=f"CheckMSE-{suffix}",
        conditions=[ConditionLessThanOrEqualTo(
            left=JsonGet(step_name=step_eval.name, property_file=report,
                         json_path=condition.left.json_path),
            right=p[condition.right.name])],
        if_steps=[step_register], else_steps=[])
    return [step_train, step_eval, step_check]


def build_pipeline(session: Any, role: str, defn: PipelineDef = TRAINING_PIPELINE,
                   parameters: dict[str, Any] | None = None, *, group: str = "",
                   region: str = OFFLINE_REGION, prefix: str = PREFIX,
                   name: str | None = None) -> Any:
    """The SDK v2 Pipeline of the training pipeline (no AWS call here). `parameters` are
    resolved values (InputData an S3 URI, TargetColumn named): the definition's defaults."""
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.sklearn.processing import SKLearnProcessor
    from sagemaker.workflow.condition_step import ConditionStep as SMConditionStep
    from sagemaker.workflow.conditions import ConditionEquals
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.steps import CacheConfig, ProcessingStep

    values = defn.resolve_parameters(parameters)
    p = _parameters(defn, values)
    uris = code_uris(session.default_bucket(), prefix)
    cache = CacheConfig(enable_caching=True, expire_after=defn.cache_expiry)
    processor = SKLearnProcessor(framework_version=FRAMEWORKS["random_forest"][1], role=role,
                                 instance_type=INSTANCE_TYPE,
                                 instance_count=p["ProcessingInstanceCount"],
                                 sagemaker_session=session)
    step_process = ProcessingStep(
        name="PreprocessData", processor=processor, code=uris["preprocess"], cache_config=cache,
        inputs=[ProcessingInput(source=p["InputData"], destination=f"{PROC}/input",
                                s3_data_distribution_type="ShardedByS3Key")],
        outputs=[ProcessingOutput(output_name=n, source=f"{PROC}/output/{n}")
                 for n in ("train", "validation", "test", "meta")],
        job_arguments=["--train_size", p["TrainSize"].to_string(), "--val_size",
                       p["ValSize"].to_string(), "--test_size", p["TestSize"].to_string(),
                       "--target_col", p["TargetColumn"]])
    branches = {a: _branch(session, role, a, p, step_process, uris, group, region, cache, defn,
                           prefix) for a in BRANCH}
    step_algorithm = SMConditionStep(
        name="CheckAlgorithm", conditions=[ConditionEquals(left=p["Algorithm"], right="xgboost")],
        if_steps=branches["xgboost"], else_steps=branches["random_forest"])
    return Pipeline(name=name or defn.name, parameters=list(p.values()),
                    steps=[step_process, step_algorithm], sagemaker_session=session)


def build_deploy_pipeline(session: Any, role: str, settings: Settings, *, group: str,
                          region: str, endpoint: str) -> Any:
    """The deployment pipeline: two LambdaSteps of one function (deploy_lambda.py)."""
    from sagemaker.lambda_helper import Lambda
    from sagemaker.workflow.lambda_step import LambdaOutput, LambdaOutputTypeEnum, LambdaStep
    from sagemaker.workflow.parameters import ParameterString
    from sagemaker.workflow.pipeline import Pipeline

    function = Lambda(function_arn=lambda_arn(settings, region, role), session=session)
    text = LambdaOutputTypeEnum.String
    endpoint_name = ParameterString(name="EndpointName", default_value=endpoint)
    latest = LambdaStep(
        name="LatestApprovedModel", lambda_func=function,
        inputs={"action": "latest_approved", "model_package_group_name": group},
        outputs=[LambdaOutput("model_package_arn", text), LambdaOutput("version", text)])
    deploy = LambdaStep(
        name="DeployModel", lambda_func=function,
        inputs={"action": "deploy", "endpoint_name": endpoint_name, "role": role,
                "instance_type": INSTANCE_TYPE,
                "tags": json.dumps([names.workspace_tag(settings)]),
                "model_package_arn": latest.properties.Outputs["model_package_arn"]},
        outputs=[LambdaOutput("endpoint_name", text), LambdaOutput("status", text)])
    return Pipeline(name=remote_name(settings, DEPLOY_PIPELINE), parameters=[endpoint_name],
                    steps=[latest, deploy], sagemaker_session=session)


def compile_pipeline(settings: Settings, session: Any, role: str, region: str,
                     defn: PipelineDef, parameters: dict[str, Any] | None = None
                     ) -> tuple[Any, dict[str, Any], dict[str, Path]]:
    """(SDK Pipeline, the values it starts with, data files to upload) for `defn`."""
    from lab.registry import default_group

    group = default_group(settings)
    if defn is DEPLOY_PIPELINE:
        from lab.serving import default_endpoint

        values = defn.resolve_parameters(parameters)
        values["EndpointName"] = values["EndpointName"] or default_endpoint(settings)
        return (build_deploy_pipeline(session, role, settings, group=group, region=region,
                                      endpoint=values["EndpointName"]), values, {})
    values, uploads = resolved(settings, session.default_bucket(), parameters)
    return (build_pipeline(session, role, defn, values, group=group, region=region,
                           prefix=names.s3_prefix(settings), name=remote_name(settings, defn)),
            values, uploads)


def offline_session(settings: Settings | None = None, region: str | None = None) -> Any:
    """A PipelineSession that makes no AWS call: fake keys, a region, a fixed bucket."""
    sm_session.import_sagemaker()  # the telemetry opt-out and quiet logging first
    import boto3
    from sagemaker.workflow.pipeline_context import PipelineSession

    bucket = (settings.s3_bucket if settings else None) or OFFLINE_BUCKET
    boto_session = boto3.Session(aws_access_key_id="offline", aws_secret_access_key="offline",
                                 region_name=region or OFFLINE_REGION)
    with sm_session.sdk_logging_guard():
        session = PipelineSession(boto_session=boto_session, default_bucket=bucket)
    session._default_bucket = bucket  # else default_bucket() still asks S3
    return session


@contextlib.contextmanager
def quiet_sdk() -> Iterator[None]:
    """The SDK's notes while it compiles (image defaults, "Popping out ProcessingJobName",
    "No Wait, No Logs"): true, and noise for a learner."""
    loggers = [logging.getLogger(n) for n in ("sagemaker.image_uris", "sagemaker.workflow")]
    levels = [logger.level for logger in loggers]
    with sm_session.sdk_logging_guard(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)


def offline_definition(settings: Settings, defn: PipelineDef = TRAINING_PIPELINE,
                       parameters: dict[str, Any] | None = None) -> str:
    """The pipeline definition JSON for `settings` (its region, bucket, role, workspace
    names), generated with no AWS access."""
    region = region_of(settings)
    session = offline_session(settings, region)
    role = settings.sagemaker_role or OFFLINE_ROLE
    with quiet_sdk():
        pipe, _, _ = compile_pipeline(settings, session, role, region, defn, parameters)
        return pipe.definition()


def export(settings: Settings, folder: Path, name: str = TRAINING_PIPELINE.name,
           parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """DIR/definition.json and every object it expects in S3 as DIR/s3/<bucket>/<key>
    (the deployment pipeline's Lambda code as DIR/lambda/<function>.zip)."""
    defn = pipeline(name)
    folder = Path(folder)
    definition = offline_definition(settings, defn, parameters)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "definition.json").write_text(json.dumps(json.loads(definition), indent=2))
    bucket = settings.s3_bucket or OFFLINE_BUCKET
    written = []
    if defn is DEPLOY_PIPELINE:
        target = folder / "lambda" / f"{names.resource_name(settings, LAMBDA_BASE)}.zip"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(lambda_zip())
        written.append(str(target))
    else:
        for key, body in bundle(settings, bucket, parameters).items():
            target = folder / "s3" / bucket / key
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body.read_bytes() if isinstance(body, Path) else body)
            written.append(f"s3://{bucket}/{key}")
    return {"definition": str(folder / "definition.json"), "objects": written}


def sagemaker_definition(settings: Settings, name: str = TRAINING_PIPELINE.name,
                         parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The SageMaker definition (JSON) of the pipeline `name`, generated offline: teaching
    material on either backend, as the SDK code of the other steps is."""
    return json.loads(offline_definition(settings, pipeline(name), parameters))


# The twin: executions on SageMaker.

class SageMakerPipelines(SageMakerTwin):
    note = ("Executions run on SageMaker: the lab uploads the code and the data, upserts the "
            "pipeline, starts it and follows its steps here (processing, training and "
            "endpoint jobs are billed while they run). Each step's log is in CloudWatch; "
            "stop a run with its job's Stop button, retry a failed one with "
            "`python -m lab pipeline retry <execution>`.")

    def __init__(self, settings: Any, *, session: Any = None, client: Any = None) -> None:
        super().__init__(settings, session=session)
        self._client = client  # tests: a client whose execution calls a Stubber answers

    @property
    def client(self) -> Any:
        return self._client or super().client

    def definition(self, defn: PipelineDef, parameters: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
        return json.loads(offline_definition(self.settings, defn, parameters))

    def export(self, folder: Path, defn: PipelineDef,
               parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        return export(self.settings, folder, defn.name, parameters)

    def code(self) -> list:
        return [build_pipeline, SageMakerPipelines.execute, SageMakerPipelines.follow]

    def pipeline_session(self) -> Any:
        from sagemaker.workflow.pipeline_context import PipelineSession

        with sm_session.sdk_logging_guard():
            return PipelineSession(boto_session=self.boto_session,
                                   sagemaker_client=self.session.sagemaker_client,
                                   default_bucket=self.bucket)

    def execute(self, ctx: jobs.JobContext, defn: PipelineDef, execution: Execution,
                runners: dict[str, Callable] | None = None) -> Execution:
        """Upload, upsert, start and follow an execution of `defn` on SageMaker."""
        if not self.settings.sagemaker_role:
            raise InputError("Set LAB_SAGEMAKER_ROLE to the SageMaker execution role ARN.")
        with translated():
            arn = self.start(ctx, defn, execution)
        return self.follow(ctx, defn, execution.id, arn)

    def start(self, ctx: jobs.JobContext, defn: PipelineDef, execution: Execution) -> str:
        from lab.registry import default_group, open_registry

        role, session = self.settings.sagemaker_role, self.pipeline_session()
        with quiet_sdk():
            pipe, values, uploads = compile_pipeline(self.settings, session, role,
                                                     self.region, defn, execution.parameters)
        s3, bucket = self.boto_session.client("s3"), self.bucket
        if defn is DEPLOY_PIPELINE:
            self.ensure_lambda(ctx, role)
        else:
            for key, body in {**code_objects(self.s3_prefix), **uploads}.items():
                data = body.read_bytes() if isinstance(body, Path) else body
                s3.put_object(Bucket=bucket, Key=key, Body=data)
                ctx.log(f"Uploaded s3://{bucket}/{key} ({len(data):,} bytes)")
            registry = open_registry(self.settings)  # SageMaker creates no group on register
            registry.create_group(default_group(self.settings),
                                  "MLOps lab: housing price regressors", exist_ok=True)
        with quiet_sdk():
            pipe.upsert(role_arn=role, description=defn.description, tags=self.tags)
        ctx.log(f"Upserted the pipeline {remote_name(self.settings, defn)}: "
                + self.console_url(f"#/pipelines/{remote_name(self.settings, defn)}"))
        answer = self.client.start_pipeline_execution(
            PipelineName=remote_name(self.settings, defn),
            PipelineExecutionDisplayName=execution.id[-82:],
            PipelineParameters=[{"Name": k, "Value": str(v)} for k, v in values.items()],
            ClientRequestToken=f"{execution.id}-{uuid.uuid4().hex}"[:64])
        arn = answer["PipelineExecutionArn"]
        PipelineStore(self.ws).set_remote(execution.id, arn)
        ctx.log(f"Started {arn} with {values}")
        return arn

    def follow(self, ctx: jobs.JobContext, defn: PipelineDef, execution_id: str, arn: str
               ) -> Execution:
        """Mirror the execution's steps into the store until it ends; stop it on cancel."""
        store, seen = PipelineStore(self.ws), {}

        def look() -> dict[str, Any]:
            with translated():
                desc = self.client.describe_pipeline_execution(PipelineExecutionArn=arn)
                steps = [s for page in self._pages(arn) for s in page]
            for item in steps:
                rec = mirror(execution_id, defn, item)
                if rec is not None and seen.get(rec.name) != (rec.status, rec.cache_source):
                    seen[rec.name] = (rec.status, rec.cache_source)
                    store.save_step(rec)
                    ctx.log(f"[{rec.name}] {rec.status}"
                            + (f" (cache hit: {rec.cache_source})" if rec.cache_hit else "")
                            + (f": {rec.failure}" if rec.failure else ""))
            return {**desc, "_steps": steps}

        def stop() -> None:
            ctx.log(f"Stopping {arn} on request...")
            with translated():
                self.client.stop_pipeline_execution(
                    PipelineExecutionArn=arn, ClientRequestToken=f"stop-{uuid.uuid4().hex}")

        desc = polling.wait_for(look, lambda d: d["PipelineExecutionStatus"], DONE,
                                poll_s=POLL_SECONDS, cancelled=lambda: ctx.cancelled, stop=stop,
                                what=f"The pipeline execution {arn}")
        status = SM_STATUS[desc["PipelineExecutionStatus"]]
        failure = desc.get("FailureReason") or _first_failure(desc["_steps"])
        if status == STOPPED:
            failure = failure or "Stopped on request."
        store.finish_execution(execution_id, status, failure if status != SUCCEEDED else None)
        return store.get(execution_id)

    def retry(self, ctx: jobs.JobContext, defn: PipelineDef, execution_id: str) -> Execution:
        """RetryPipelineExecution on a failed execution, then follow it again."""
        store = PipelineStore(self.ws)
        arn = store.remote(execution_id)
        if arn is None:
            raise InputError(f"The execution {execution_id} did not run on SageMaker: start "
                             "a new one.")
        with translated():
            self.client.retry_pipeline_execution(
                PipelineExecutionArn=arn, ClientRequestToken=f"retry-{uuid.uuid4().hex}")
        store.reopen(execution_id, ctx.job.job_id)
        ctx.log(f"Retrying {arn}")
        return self.follow(ctx, defn, execution_id, arn)

    def ensure_lambda(self, ctx: jobs.JobContext, role: str) -> str:
        """Create (or update the code of) the deployment pipeline's Lambda function."""
        client = self.boto_session.client("lambda")
        name = names.resource_name(self.settings, LAMBDA_BASE)
        code = lambda_zip()
        with translated():
            try:
                client.update_function_code(FunctionName=name, ZipFile=code)
                ctx.log(f"Updated the Lambda function {name}")
            except client.exceptions.ResourceNotFoundException:
                client.create_function(
                    FunctionName=name, Runtime="python3.12", Role=role,
                    Handler="deploy_lambda.handler", Code={"ZipFile": code}, Timeout=60,
                    Description="MLOps lab: deploy the latest approved model version",
                    Tags={t["Key"]: t["Value"] for t in self.tags})
                ctx.log(f"Created the Lambda function {name}")
        return name

    @property
    def ws(self) -> Any:
        from lab.workspace import Workspace

        return Workspace(self.settings.workspace)

    def _pages(self, arn: str):
        token = None
        while True:
            kwargs = {"PipelineExecutionArn": arn, "SortOrder": "Ascending"}
            if token:
                kwargs["NextToken"] = token
            page = self.client.list_pipeline_execution_steps(**kwargs)
            yield page.get("PipelineExecutionSteps", [])
            token = page.get("NextToken")
            if not token:
                return


def lab_step(defn: PipelineDef, sm_name: str) -> str | None:
    """The lab's step a SageMaker step plays: `TrainModel-XGBoost` -> TrainModel,
    `RegisterModel-XGBoost-RegisterModel` -> RegisterModel; None for CheckAlgorithm."""
    base = sm_name.split("-", 1)[0]
    known = {s.name for s in defn.steps}
    return base if base in known else None


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


def mirror(execution_id: str, defn: PipelineDef, item: dict[str, Any]) -> StepRecord | None:
    """A ListPipelineExecutionSteps item as the lab's StepRecord (None: not a lab step)."""
    name = lab_step(defn, item["StepName"])
    if name is None:
        return None
    step = defn.step(name)
    status = SM_STATUS.get(item.get("StepStatus", ""), EXECUTING)
    meta = item.get("Metadata") or {}
    outputs: dict[str, Any] = {"sagemaker_step": item["StepName"]}
    for kind, found in meta.items():
        if isinstance(found, dict) and "Arn" in found:
            outputs[f"{kind}Arn"] = found["Arn"]
    if "Condition" in meta:
        outputs["outcome"] = meta["Condition"].get("Outcome") == "True"
    if "RegisterModel" in meta:
        arn = meta["RegisterModel"].get("Arn", "")
        outputs["arn"] = arn
        if arn.rsplit("/", 1)[-1].isdigit():
            outputs["version"] = int(arn.rsplit("/", 1)[-1])
    if "Lambda" in meta:
        outputs.update({o["Name"]: o.get("Value")
                        for o in meta["Lambda"].get("OutputParameters", [])})
    source = (item.get("CacheHitResult") or {}).get("SourcePipelineExecutionArn")
    started = _seconds(item.get("StartTime")) or time.time()
    return StepRecord(execution_id, name, step.kind, status, started,
                      _seconds(item.get("EndTime")) if status != EXECUTING else None,
                      cache_source=source.rsplit("/", 1)[-1] if source else None,
                      outputs=outputs, failure=item.get("FailureReason"))


def _first_failure(steps: list[dict[str, Any]]) -> str | None:
    for item in steps:
        if item.get("StepStatus") == "Failed":
            return f"Step {item['StepName']} failed: {item.get('FailureReason', 'no reason')}"
    return None


def describe(session: Any, execution_arn: str) -> dict[str, Any]:
    """Status of an execution and of its steps (cache hits name their source execution)."""
    client = session.sagemaker_client
    desc = client.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
    steps = client.list_pipeline_execution_steps(PipelineExecutionArn=execution_arn)
    return {"execution_arn": execution_arn, "status": desc["PipelineExecutionStatus"],
            "steps": {s["StepName"]: {
                "status": s["StepStatus"],
                "cache_source": (s.get("CacheHitResult") or {}).get(
                    "SourcePipelineExecutionArn")} for s in steps["PipelineExecutionSteps"]}}
