"""The lab's pipeline compiled into a SageMaker Pipeline (SDK v2), and run on AWS.

Executions still run on the lab's own executor (`LocalPipelines`) on this backend: the
twin says so in its `note`. What it adds is the SageMaker definition, and the calls that
put it on AWS and start it (`upsert_and_start`, `describe`, `list_executions`).

`build_pipeline` reads the same declaration the local executor runs
(`lab.pipelines.definition`) and makes the workshop's shape: a ProcessingStep (SKLearnProcessor
running lab/processing/preprocess.py), a TrainingStep (the training page's estimator running
lab/training/entry_point.py), an evaluation ProcessingStep with the PropertyFile
"EvaluationReport", a ConditionStep (ConditionLessThanOrEqualTo on the JsonGet of
regression_metrics.mse.value) whose if-branch is RegisterModel (PendingManualApproval), and
CacheConfig(enable_caching=True, expire_after="PT12H") on every cacheable step.

`offline_definition` makes the definition JSON with no AWS access at all (the note's recipe:
fake credentials, a region, the telemetry opt-out, `session._default_bucket`, and code as
s3:// URIs so nothing is uploaded while the JSON is generated). On AWS, `upload_code`
puts those files at those URIs before `upsert`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab.aws import names
from lab.aws import session as sm_session
from lab.aws.twin import SageMakerTwin
from lab.pipelines._local import Executor
from lab.pipelines.definition import TRAINING_PIPELINE, ConditionStep, PipelineDef
from lab.settings import Settings

PREFIX = names.PREFIX
SKLEARN_VERSION, XGBOOST_VERSION = "1.2-1", "1.7-1"
INSTANCE_TYPE = "ml.m5.large"
OFFLINE_BUCKET, OFFLINE_REGION = "sagemaker-offline-bucket", "us-east-1"
OFFLINE_ROLE = "arn:aws:iam::111122223333:role/LabSageMakerRole"
ROOT = Path(__file__).resolve().parent.parent
CODE = {"preprocess.py": ROOT / "processing" / "preprocess.py",
        "evaluate.py": ROOT / "pipelines" / "evaluate.py",
        "entry_point.py": ROOT / "training" / "entry_point.py"}
PROC = "/opt/ml/processing"


class SageMakerPipelines(SageMakerTwin):
    note = ("Executions below run on the embedded local executor. On SageMaker, the same "
            "definition (bottom of the page) is what `Pipeline.upsert()` sends.")

    def execute(self, ctx: Any, defn: PipelineDef, execution: Any,
                runners: dict[str, Callable] | None = None) -> Any:
        return Executor(self.settings, defn, execution, ctx, runners).run()

    def definition(self, defn: PipelineDef, parameters: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
        import json

        return json.loads(offline_definition(self.settings, defn, parameters))

    def code(self) -> list:
        return [build_pipeline]


def code_uris(bucket: str) -> dict[str, str]:
    base = f"s3://{bucket}/{PREFIX}/pipeline-code"
    return {"preprocess": f"{base}/preprocess.py", "evaluate": f"{base}/evaluate.py",
            "training": f"{base}/training/sourcedir.tar.gz",
            "input": f"s3://{bucket}/{PREFIX}/data/raw/"}


def _parameters(defn: PipelineDef, values: dict[str, Any]) -> dict[str, Any]:
    from sagemaker.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString

    kinds = {"Integer": ParameterInteger, "Float": ParameterFloat, "String": ParameterString}
    return {p.name: kinds[p.type](name=p.name, default_value=values.get(p.name, p.default))
            for p in defn.parameters}


def build_pipeline(session: Any, role: str, defn: PipelineDef = TRAINING_PIPELINE,
                   parameters: dict[str, Any] | None = None, input_uri: str | None = None
                   ) -> Any:
    """The SDK v2 Pipeline of the training pipeline (no AWS call here)."""
    from sagemaker.inputs import TrainingInput
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.sklearn.estimator import SKLearn
    from sagemaker.sklearn.processing import SKLearnProcessor
    from sagemaker.workflow.condition_step import ConditionStep as SMConditionStep
    from sagemaker.workflow.conditions import ConditionLessThanOrEqualTo
    from sagemaker.workflow.functions import Join, JsonGet
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.step_collections import RegisterModel
    from sagemaker.workflow.steps import CacheConfig, ProcessingStep, TrainingStep
    from sagemaker.xgboost.estimator import XGBoost

    values = defn.resolve_parameters(parameters)
    p = _parameters(defn, values)
    uris = code_uris(session.default_bucket())
    cache = CacheConfig(enable_caching=True, expire_after=defn.cache_expiry)
    target = "PRICE"
    processor = SKLearnProcessor(framework_version=SKLEARN_VERSION, role=role,
                                 instance_type=INSTANCE_TYPE,
                                 instance_count=p["ProcessingInstanceCount"],
                                 sagemaker_session=session)
    step_process = ProcessingStep(
        name="PreprocessData", processor=processor, code=uris["preprocess"], cache_config=cache,
        inputs=[ProcessingInput(source=Join(on="", values=[input_uri or uris["input"],
                                                           p["InputData"]]),
                                destination=f"{PROC}/input",
                                s3_data_distribution_type="ShardedByS3Key")],
        outputs=[ProcessingOutput(output_name=n, source=f"{PROC}/output/{n}")
                 for n in ("train", "validation", "test", "meta")],
        job_arguments=["--train_size", p["TrainSize"].to_string(), "--val_size",
                       p["ValSize"].to_string(), "--test_size", p["TestSize"].to_string(),
                       "--target_col", target])
    outputs = step_process.properties.ProcessingOutputConfig.Outputs
    algorithm = values["Algorithm"]
    common = dict(entry_point="entry_point.py", source_dir=uris["training"], role=role,
                  instance_type=INSTANCE_TYPE, instance_count=1, py_version="py3",
                  hyperparameters={"algorithm": algorithm, "max_depth": p["MaxDepth"],
                                   "n_estimators": p["NEstimators"],
                                   "target_col": target},
                  disable_profiler=True,  # its timestamped rule would defeat step caching
                  sagemaker_session=session)
    estimator = (XGBoost(framework_version=XGBOOST_VERSION, **common) if algorithm == "xgboost"
                 else SKLearn(framework_version=SKLEARN_VERSION, **common))
    step_train = TrainingStep(name="TrainModel", estimator=estimator, cache_config=cache, inputs={
        s: TrainingInput(s3_data=outputs[s].S3Output.S3Uri, content_type="text/csv")
        for s in ("train", "validation")})
    report = PropertyFile(name="EvaluationReport", output_name="evaluation",
                          path="evaluation.json")
    step_eval = ProcessingStep(
        name="EvaluateModel", processor=processor, code=uris["evaluate"], cache_config=cache,
        property_files=[report],
        inputs=[ProcessingInput(source=step_train.properties.ModelArtifacts.S3ModelArtifacts,
                                destination=f"{PROC}/model"),
                ProcessingInput(source=outputs["test"].S3Output.S3Uri,
                                destination=f"{PROC}/test")],
        outputs=[ProcessingOutput(output_name="evaluation", source=f"{PROC}/evaluation")])
    condition = next(s for s in defn.steps if isinstance(s, ConditionStep))
    step_register = RegisterModel(
        name="RegisterModel", estimator=estimator,
        model_data=step_train.properties.ModelArtifacts.S3ModelArtifacts,
        content_types=["text/csv"], response_types=["application/json"],
        inference_instances=[INSTANCE_TYPE], transform_instances=[INSTANCE_TYPE],
        model_package_group_name="lab-housing-models",
        approval_status=p["ModelApprovalStatus"])
    step_cond = SMConditionStep(
        name=condition.name,
        conditions=[ConditionLessThanOrEqualTo(
            left=JsonGet(step_name=step_eval.name, property_file=report,
                         json_path=condition.left.json_path),
            right=p[condition.right.name])],
        if_steps=[step_register], else_steps=[])
    return Pipeline(name=defn.name, parameters=list(p.values()),
                    steps=[step_process, step_train, step_eval, step_cond],
                    sagemaker_session=session)


def offline_session(settings: Settings | None = None) -> Any:
    """A PipelineSession that makes no AWS call: fake keys, a region, a fixed bucket."""
    sm_session.import_sagemaker()  # the telemetry opt-out and quiet logging first
    import boto3
    from sagemaker.workflow.pipeline_context import PipelineSession

    bucket = (settings.s3_bucket if settings else None) or OFFLINE_BUCKET
    boto_session = boto3.Session(aws_access_key_id="offline", aws_secret_access_key="offline",
                                 region_name=OFFLINE_REGION)
    with sm_session.sdk_logging_guard():
        session = PipelineSession(boto_session=boto_session, default_bucket=bucket)
    session._default_bucket = bucket  # else default_bucket() still asks S3
    return session


def offline_definition(settings: Settings | None = None, defn: PipelineDef = TRAINING_PIPELINE,
                       parameters: dict[str, Any] | None = None) -> str:
    """The pipeline definition JSON, generated with no AWS access."""
    session = offline_session(settings)
    role = (settings.sagemaker_role if settings else None) or OFFLINE_ROLE
    with sm_session.sdk_logging_guard():
        return build_pipeline(session, role, defn, parameters).definition()


def aws_session(settings: Settings) -> Any:
    from sagemaker.workflow.pipeline_context import PipelineSession

    boto_session, session = sm_session.make_session(settings)
    with sm_session.sdk_logging_guard():
        return PipelineSession(boto_session=boto_session,
                               default_bucket=session.default_bucket())


def upload_code(session: Any) -> dict[str, str]:
    """Put the scripts where the definition says they are (before `upsert`)."""
    import io
    import tarfile

    uris = code_uris(session.default_bucket())
    s3 = session.boto_session.client("s3")
    for key, name in (("preprocess", "preprocess.py"), ("evaluate", "evaluate.py")):
        bucket, _, path = uris[key][len("s3://"):].partition("/")
        s3.put_object(Bucket=bucket, Key=path, Body=CODE[name].read_bytes())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(CODE["entry_point.py"], arcname="entry_point.py")
    bucket, _, path = uris["training"][len("s3://"):].partition("/")
    s3.put_object(Bucket=bucket, Key=path, Body=buffer.getvalue())
    return uris


def upsert_and_start(settings: Settings, parameters: dict[str, Any] | None = None,
                     session: Any = None) -> dict[str, Any]:
    """Create or update the pipeline on SageMaker and start an execution."""
    session = session or aws_session(settings)
    role = settings.sagemaker_role or OFFLINE_ROLE
    upload_code(session)
    pipe = build_pipeline(session, role, TRAINING_PIPELINE, parameters)
    overrides = TRAINING_PIPELINE.resolve_parameters(parameters)
    with sm_session.sdk_logging_guard():
        pipe.upsert(role_arn=role)
        execution = pipe.start(parameters={k: v for k, v in overrides.items()
                                           if k in (parameters or {})})
    return {"pipeline_arn": session.sagemaker_client.describe_pipeline(
        PipelineName=TRAINING_PIPELINE.name)["PipelineArn"], "execution_arn": execution.arn}


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


def list_executions(session: Any) -> list[dict[str, Any]]:
    found = session.sagemaker_client.list_pipeline_executions(
        PipelineName=TRAINING_PIPELINE.name)
    return found.get("PipelineExecutionSummaries", [])


def sagemaker_definition(settings: Settings | None = None, name: str = TRAINING_PIPELINE.name,
                         parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The SageMaker definition (JSON) of the pipeline `name`, generated offline: teaching
    material on either backend, as the SDK code of the other steps is."""
    import json

    from lab.pipelines.definition import pipeline

    return json.loads(offline_definition(settings, pipeline(name), parameters))
