"""The IAM policies the lab needs, written once: the README prints them and the connection
check simulates the same actions.

    identity_policy(bucket, role_arn)   for the learner's user or role (who runs the lab)
    trust_policy()                      of the execution role: SageMaker may assume it
    role_policy(bucket)                 what that role does on the learner's behalf

SageMaker resource names vary (jobs carry the lab's job ids), so SageMaker actions are
allowed on "*"; S3 is limited to the lab's bucket and iam:PassRole to the one role, passed
to SageMaker only.
"""

from __future__ import annotations

from typing import Any

SAGEMAKER_ACTIONS = (
    # processing, training, tuning
    "CreateProcessingJob", "DescribeProcessingJob", "StopProcessingJob", "ListProcessingJobs",
    "CreateTrainingJob", "DescribeTrainingJob", "StopTrainingJob", "ListTrainingJobs",
    "CreateHyperParameterTuningJob", "DescribeHyperParameterTuningJob",
    "StopHyperParameterTuningJob", "ListTrainingJobsForHyperParameterTuningJob",
    # feature store (control plane and runtime)
    "CreateFeatureGroup", "DescribeFeatureGroup", "DeleteFeatureGroup", "ListFeatureGroups",
    "PutRecord", "GetRecord", "BatchGetRecord",
    # registry
    "CreateModelPackageGroup", "DescribeModelPackageGroup", "ListModelPackageGroups",
    "DeleteModelPackageGroup", "CreateModelPackage", "DescribeModelPackage",
    "ListModelPackages", "UpdateModelPackage", "DeleteModelPackage",
    # endpoints
    "CreateModel", "DescribeModel", "DeleteModel", "ListModels", "CreateEndpointConfig",
    "DescribeEndpointConfig", "DeleteEndpointConfig", "ListEndpointConfigs", "CreateEndpoint",
    "DescribeEndpoint", "UpdateEndpoint", "DeleteEndpoint", "ListEndpoints", "InvokeEndpoint",
    # pipelines
    "CreatePipeline", "UpdatePipeline", "DescribePipeline", "DeletePipeline", "ListPipelines",
    "StartPipelineExecution", "StopPipelineExecution", "RetryPipelineExecution",
    "DescribePipelineExecution", "ListPipelineExecutions", "ListPipelineExecutionSteps",
    "DescribePipelineDefinitionForExecution",
    # experiments
    "CreateExperiment", "DescribeExperiment", "DeleteExperiment", "ListExperiments",
    "CreateTrial", "DescribeTrial", "DeleteTrial", "ListTrials", "CreateTrialComponent",
    "DescribeTrialComponent", "UpdateTrialComponent", "DeleteTrialComponent",
    "ListTrialComponents", "AssociateTrialComponent", "DisassociateTrialComponent",
    "BatchPutMetrics", "Search",
    # tags (the cleanup finds the lab's resources by them)
    "AddTags", "ListTags", "DeleteTags",
)
ATHENA_ACTIONS = ("StartQueryExecution", "GetQueryExecution", "GetQueryResults",
                  "StopQueryExecution")
GLUE_ACTIONS = ("GetDatabase", "GetTable", "GetPartition", "GetPartitions", "DeleteTable")
S3_BUCKET_ACTIONS = ("ListBucket", "GetBucketLocation", "CreateBucket")
S3_OBJECT_ACTIONS = ("GetObject", "PutObject", "DeleteObject")
CHECK_ACTIONS = ("iam:GetRole", "iam:SimulatePrincipalPolicy")  # the connection check's own

BUCKET_PLACEHOLDER = "<your-bucket>"
ROLE_PLACEHOLDER = "arn:aws:iam::<account-id>:role/<your-sagemaker-role>"


def service_actions() -> list[str]:
    """The SageMaker, Athena and Glue actions, as IAM names them (resource "*")."""
    return ([f"sagemaker:{a}" for a in SAGEMAKER_ACTIONS]
            + [f"athena:{a}" for a in ATHENA_ACTIONS] + [f"glue:{a}" for a in GLUE_ACTIONS])


def s3_actions() -> tuple[list[str], list[str]]:
    """(actions on the bucket, actions on its objects)."""
    return [f"s3:{a}" for a in S3_BUCKET_ACTIONS], [f"s3:{a}" for a in S3_OBJECT_ACTIONS]


def identity_policy(bucket: str = BUCKET_PLACEHOLDER,
                    role_arn: str = ROLE_PLACEHOLDER) -> dict[str, Any]:
    """The policy to attach to the user or role that runs the lab."""
    bucket_actions, object_actions = s3_actions()
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "LabSageMakerFeatureStoreAthena", "Effect": "Allow",
         "Action": service_actions(), "Resource": "*"},
        {"Sid": "LabBucket", "Effect": "Allow", "Action": bucket_actions,
         "Resource": f"arn:aws:s3:::{bucket}"},
        {"Sid": "LabObjects", "Effect": "Allow", "Action": object_actions,
         "Resource": f"arn:aws:s3:::{bucket}/*"},
        {"Sid": "PassTheExecutionRoleToSageMaker", "Effect": "Allow",
         "Action": "iam:PassRole", "Resource": role_arn,
         "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}},
        {"Sid": "ConnectionCheck", "Effect": "Allow", "Action": list(CHECK_ACTIONS),
         "Resource": "*"},
    ]}


def trust_policy() -> dict[str, Any]:
    """The execution role's trust policy: SageMaker may assume it."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
         "Action": "sts:AssumeRole"}]}


def role_policy(bucket: str = BUCKET_PLACEHOLDER) -> dict[str, Any]:
    """What the execution role does for the lab: read and write the bucket (jobs, the
    offline store), pull the framework images, write logs and metrics, and keep the
    offline store's Glue table."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "Bucket", "Effect": "Allow",
         "Action": ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketAcl"],
         "Resource": f"arn:aws:s3:::{bucket}"},
        {"Sid": "Objects", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:PutObjectAcl"],
         "Resource": f"arn:aws:s3:::{bucket}/*"},
        {"Sid": "Images", "Effect": "Allow",
         "Action": ["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability",
                    "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"], "Resource": "*"},
        {"Sid": "LogsAndMetrics", "Effect": "Allow",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                    "logs:DescribeLogStreams", "cloudwatch:PutMetricData"], "Resource": "*"},
        {"Sid": "OfflineStoreCatalog", "Effect": "Allow",
         "Action": ["glue:CreateDatabase", "glue:GetDatabase", "glue:CreateTable",
                    "glue:GetTable", "glue:UpdateTable", "glue:GetPartitions"],
         "Resource": "*"},
        {"Sid": "ExperimentsFromTheScript", "Effect": "Allow",
         "Action": ["sagemaker:BatchPutMetrics", "sagemaker:DescribeTrialComponent",
                    "sagemaker:UpdateTrialComponent"], "Resource": "*"},
    ]}
