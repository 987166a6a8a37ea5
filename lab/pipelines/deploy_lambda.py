"""The deployment pipeline's Lambda function, as in the workshop: deploy the latest approved
model version to the real-time endpoint.

The SageMaker definition calls it from two LambdaSteps, with the step's inputs as the
event and the returned keys as the step's outputs:

    {"action": "latest_approved", "model_package_group_name": G}
        -> {"model_package_arn", "version"}: the newest Approved version of G
    {"action": "deploy", "model_package_arn": A, "endpoint_name": E, "role": R,
     "instance_type": T, "tags": "[{Key, Value}, ...]"}
        -> {"endpoint_name", "status"}: a new model and endpoint config for A, then
           CreateEndpoint (or UpdateEndpoint when E exists: traffic moves once healthy)

It runs in Lambda's Python runtime, which has boto3: it imports nothing of the lab.
"""

import json
import time

import boto3

VARIANT = "AllTraffic"


def _client():
    return boto3.client("sagemaker")


def latest_approved(sm, group):
    found = sm.list_model_packages(ModelPackageGroupName=group, ModelApprovalStatus="Approved",
                                   SortBy="CreationTime", SortOrder="Descending", MaxResults=1)
    summaries = found.get("ModelPackageSummaryList", [])
    if not summaries:
        raise ValueError(f"There is no Approved model version in {group}: approve one in the "
                         "registry first.")
    arn = summaries[0]["ModelPackageArn"]
    return {"model_package_arn": arn, "version": arn.rsplit("/", 1)[-1]}


def deploy(sm, arn, endpoint, role, instance_type, tags):
    name = f"{endpoint[:40]}-{time.strftime('%Y%m%d-%H%M%S')}-{int(time.time() * 1000) % 1000:03d}"
    tags = [*tags, {"Key": "mlops-lab-model-package", "Value": arn}]
    sm.create_model(ModelName=name, ExecutionRoleArn=role,
                    PrimaryContainer={"ModelPackageName": arn}, Tags=tags)
    sm.create_endpoint_config(EndpointConfigName=name, Tags=tags, ProductionVariants=[{
        "VariantName": VARIANT, "ModelName": name, "InitialInstanceCount": 1,
        "InstanceType": instance_type}])
    try:
        sm.describe_endpoint(EndpointName=endpoint)
    except sm.exceptions.ClientError:  # "Could not find endpoint": create it
        sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=name, Tags=tags)
        return {"endpoint_name": endpoint, "status": "Creating"}
    sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=name)
    return {"endpoint_name": endpoint, "status": "Updating"}


def handler(event, context=None, sm=None):
    sm = sm or _client()
    if event.get("action") == "latest_approved":
        return latest_approved(sm, event["model_package_group_name"])
    if event.get("action") == "deploy":
        return deploy(sm, event["model_package_arn"], event["endpoint_name"], event["role"],
                      event.get("instance_type", "ml.m5.large"),
                      json.loads(event.get("tags") or "[]"))
    raise ValueError(f"Unknown action {event.get('action')!r}: latest_approved or deploy.")
