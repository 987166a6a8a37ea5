"""The connection check: each failure said in one sentence with its fix, through
`python -m lab check` (moto for STS, IAM, S3 and SageMaker; botocore's Stubber where moto
has no implementation: IAM's policy simulator, and a caller that is an IAM user)."""
# ruff: noqa: F811 (fixtures imported by name)

from __future__ import annotations

import json

import pytest

from tests.fake_aws import ACCOUNT, skip_without_aws_packages

skip_without_aws_packages()

import boto3  # noqa: E402
from botocore.stub import ANY, Stubber  # noqa: E402

from lab.aws import iam  # noqa: E402
from lab.aws.connection import check_connection  # noqa: E402
from lab.settings import Settings  # noqa: E402
from tests.cli import run_cli  # noqa: E402
from tests.lab.aws.moto_extras import moto_extras  # noqa: E402,F401

REGION, BUCKET = "us-east-1", "lab-check-bucket"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/LabCheckRole"
USER = f"arn:aws:iam::{ACCOUNT}:user/learner"


@pytest.fixture
def account(moto_extras, monkeypatch):
    """moto with the lab's bucket and a role SageMaker may assume, named in LAB_*."""
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    boto3.client("iam").create_role(RoleName="LabCheckRole",
                                    AssumeRolePolicyDocument=json.dumps(iam.trust_policy()))
    monkeypatch.setenv("LAB_SAGEMAKER_ROLE", ROLE)
    monkeypatch.setenv("LAB_S3_BUCKET", BUCKET)


def check(tmp_path) -> tuple[int, dict]:
    result = run_cli("check", "--backend", "sagemaker", "--json", ws=tmp_path / "ws")
    return result.returncode, json.loads(result.stdout)


def by_name(report: dict) -> dict[str, dict]:
    return {c["name"]: c for c in report["checks"]}


def test_everything_there_passes(account, tmp_path):
    status, report = check(tmp_path)
    checks = by_name(report)
    assert status == 0 and report["ok"], report
    for name in ("Credentials", "Region", "Execution role", "Bucket", "SageMaker",
                 "Feature Store"):
        assert checks[name]["status"] == "passed", checks[name]
    assert f"account {ACCOUNT}" in checks["Credentials"]["message"]
    # moto's caller is no IAM user the simulator can evaluate: said, not guessed
    assert checks["Pass role"]["status"] == "unknown"


def test_no_credentials(tmp_path, monkeypatch, aws_env):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    status, report = check(tmp_path)
    checks = by_name(report)
    assert status == 1 and not report["ok"]
    assert checks["Credentials"]["message"] == "No AWS credentials were found."
    assert "aws configure" in checks["Credentials"]["fix"]
    assert {c["status"] for n, c in checks.items() if n != "Credentials"} == {"skipped"}


def test_refused_credentials(tmp_path, aws_env):
    def maker(service):
        client = boto3.client(service, region_name=REGION)
        stubber = Stubber(client)
        stubber.add_client_error("get_caller_identity", "InvalidClientTokenId",
                                 "The security token included in the request is invalid.")
        stubber.activate()
        return client

    report = check_connection(Settings(workspace=tmp_path, backend="sagemaker",
                                       sagemaker_role=ROLE), client=maker)
    [credentials] = [c for c in report.checks if c.name == "Credentials"]
    assert credentials.status == "failed" and "InvalidClientTokenId" in credentials.message
    assert "AWS_ACCESS_KEY_ID" in credentials.fix


def test_a_wrong_region(account, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-7")
    status, report = check(tmp_path)
    region = by_name(report)["Region"]
    assert status == 1 and region["status"] == "failed"
    assert "not offered in the region 'us-east-7'" in region["message"]
    assert "AWS_DEFAULT_REGION" in region["fix"]


def test_a_missing_role(account, tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_SAGEMAKER_ROLE", f"arn:aws:iam::{ACCOUNT}:role/NoSuchRole")
    status, report = check(tmp_path)
    role = by_name(report)["Execution role"]
    assert status == 1 and role["status"] == "failed"
    assert "does not exist in account" in role["message"] and "README" in role["fix"]


def test_no_role_and_a_role_arn_that_is_not_one(account, tmp_path, monkeypatch):
    monkeypatch.delenv("LAB_SAGEMAKER_ROLE")
    role = by_name(check(tmp_path)[1])["Execution role"]
    assert role["status"] == "failed" and "LAB_SAGEMAKER_ROLE" in role["fix"]
    monkeypatch.setenv("LAB_SAGEMAKER_ROLE", "LabCheckRole")
    role = by_name(check(tmp_path)[1])["Execution role"]
    assert role["status"] == "failed" and "is not a role ARN" in role["message"]


def test_a_role_sagemaker_may_not_assume(account, tmp_path, monkeypatch):
    lambda_trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    boto3.client("iam").create_role(RoleName="LambdaRole",
                                    AssumeRolePolicyDocument=json.dumps(lambda_trust))
    monkeypatch.setenv("LAB_SAGEMAKER_ROLE", f"arn:aws:iam::{ACCOUNT}:role/LambdaRole")
    role = by_name(check(tmp_path)[1])["Execution role"]
    assert role["status"] == "failed"
    assert "does not name sagemaker.amazonaws.com" in role["message"]


def test_a_missing_bucket(account, tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_S3_BUCKET", "lab-no-such-bucket")
    status, report = check(tmp_path)
    bucket = by_name(report)["Bucket"]
    assert status == 1 and bucket["status"] == "failed"
    assert "does not exist" in bucket["message"]
    assert "aws s3 mb s3://lab-no-such-bucket --region us-east-1" in bucket["fix"]


def test_a_bucket_in_another_region(account, tmp_path):
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="lab-eu-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    report = check_connection(Settings(workspace=tmp_path, backend="sagemaker",
                                       sagemaker_role=ROLE, s3_bucket="lab-eu-bucket"))
    [bucket] = [c for c in report.checks if c.name == "Bucket"]
    assert bucket.status == "failed" and "is in eu-west-1, not in us-east-1" in bucket.message


def _iam_user_maker(decisions: dict[str, str], denied_service: str | None = None):
    """Clients for a caller that is an IAM user: STS and IAM stubbed (moto has no policy
    simulator), the rest moto's."""
    clients = {}

    def maker(service):
        if service in clients:
            return clients[service]
        client = boto3.client(service, region_name=REGION)
        if service == "sts":
            stubber = Stubber(client)
            stubber.add_response("get_caller_identity", {
                "UserId": "AIDAEXAMPLE", "Account": ACCOUNT, "Arn": USER})
            stubber.activate()
        elif service == "iam":
            stubber = Stubber(client)
            stubber.add_response("get_role", {"Role": {
                "Path": "/", "RoleName": "LabCheckRole", "RoleId": "AROAEXAMPLEEXAMPLE1",
                "Arn": ROLE, "CreateDate": "2024-01-01T00:00:00Z",
                "AssumeRolePolicyDocument": json.dumps(iam.trust_policy())}},
                {"RoleName": "LabCheckRole"})
            for _ in range(4):  # PassRole, the services, the bucket, its objects
                stubber.add_response("simulate_principal_policy", {
                    "EvaluationResults": [
                        {"EvalActionName": a, "EvalDecision": decisions.get(a, "allowed")}
                        for a in decisions.get("_order", [])], "IsTruncated": False},
                    {"PolicySourceArn": USER, "ActionNames": ANY, "ResourceArns": ANY})
            stubber.activate()
        elif service == "sagemaker" and denied_service:
            stubber = Stubber(client)
            stubber.add_client_error(denied_service, "AccessDeniedException",
                                     f"User: {USER} is not authorized")
            stubber.activate()
        clients[service] = client
        return client

    return maker


def test_a_denied_permission_and_pass_role(account, tmp_path):
    actions = ["iam:PassRole", "sagemaker:CreateEndpoint", "athena:StartQueryExecution"]
    maker = _iam_user_maker({"_order": actions, "iam:PassRole": "implicitDeny",
                             "sagemaker:CreateEndpoint": "explicitDeny",
                             "athena:StartQueryExecution": "allowed"})
    report = check_connection(Settings(workspace=tmp_path, backend="sagemaker",
                                       sagemaker_role=ROLE, s3_bucket=BUCKET), client=maker)
    checks = {c.name: c for c in report.checks}
    assert not report.ok
    assert checks["Pass role"].status == "failed"
    assert "may not pass the role" in checks["Pass role"].message
    assert "iam:PassRole" in checks["Pass role"].fix
    assert checks["Permissions"].status == "failed"
    assert "sagemaker:CreateEndpoint" in checks["Permissions"].message
    assert "athena:StartQueryExecution" not in checks["Permissions"].message
    assert "README" in checks["Permissions"].fix


def test_everything_allowed_by_the_simulator(account, tmp_path):
    maker = _iam_user_maker({"_order": ["iam:PassRole", "sagemaker:CreateEndpoint"]})
    report = check_connection(Settings(workspace=tmp_path, backend="sagemaker",
                                       sagemaker_role=ROLE, s3_bucket=BUCKET), client=maker)
    checks = {c.name: c for c in report.checks}
    assert checks["Pass role"].status == checks["Permissions"].status == "passed"
    assert report.ok, report.to_json()


def test_sagemaker_refusing_a_call(account, tmp_path):
    maker = _iam_user_maker({"_order": []}, denied_service="list_endpoints")
    report = check_connection(Settings(workspace=tmp_path, backend="sagemaker",
                                       sagemaker_role=ROLE, s3_bucket=BUCKET), client=maker)
    [sagemaker] = [c for c in report.checks if c.name == "SageMaker"]
    assert sagemaker.status == "failed"
    assert sagemaker.message == "SageMaker refused sagemaker:ListEndpoints (AccessDeniedException)."


def test_the_local_backend_needs_no_connection(tmp_path):
    result = run_cli("check", "--backend", "local", "--json", ws=tmp_path / "ws")
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["ok"]
    assert "nothing to connect to" in report["checks"][0]["message"]


def test_the_readable_report_says_what_failed_and_the_fix(tmp_path, aws_env, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = run_cli("check", "--backend", "sagemaker", ws=tmp_path / "ws")
    assert result.returncode == 1
    assert "FAIL Credentials: No AWS credentials were found. Fix: Run `aws configure`" in (
        result.stdout)


def test_the_readme_holds_the_policies_the_check_simulates():
    from tests.workspaces import REPO

    readme = (REPO / "README.md").read_text()
    for policy in (iam.identity_policy(), iam.trust_policy(), iam.role_policy()):
        assert json.dumps(policy, indent=2) in readme
