"""The connection check: does the SageMaker backend work from here? Asked of AWS itself.

`check_sagemaker` (session.py) only reads the local configuration, for the sidebar on every
page. This check makes the calls, in order, and explains each failure in one sentence with
its fix:

    credentials     sts:GetCallerIdentity          whose keys, which account
    region          the SDK's list of SageMaker regions (offline), then the calls below
    role            iam:GetRole: it exists, and its trust policy lets SageMaker assume it
    pass role       iam:SimulatePrincipalPolicy for iam:PassRole on that role, as the caller
    permissions     the same simulation for the actions in the lab's policy (lab.aws.iam)
    bucket          s3:HeadBucket on LAB_S3_BUCKET (or the SDK's default bucket): it exists,
                    it is yours, and it is in the region
    SageMaker       sagemaker:ListEndpoints (one result)
    Feature Store   sagemaker:ListFeatureGroups (one result)

Why a simulation for iam:PassRole: passing a role has no dry run (CreateTrainingJob would
start a billed job), and the simulator evaluates the caller's own policies for exactly that
action on exactly that role, changing nothing. It cannot see organization SCPs everywhere,
so an "allowed" there is good evidence, not proof; where the caller may not simulate, the
check says it could not tell rather than guessing.

A check that cannot run because an earlier one failed (no credentials: nothing else can
be asked) is reported as skipped. No message ever holds a credential: they are built from
the lab's words, ARNs, names and AWS's error codes and messages (key ids masked).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from lab.aws import iam
from lab.aws.errors import ACCESS_CODES, describe, error_code, error_message

PASSED, FAILED, UNKNOWN, SKIPPED = "passed", "failed", "unknown", "skipped"
_ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/(?:[\w+=,.@/-]*/)?([\w+=,.@-]+)$")
_ASSUMED = re.compile(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([\w+=,.@-]+)/.+$")
_NETWORK = ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError",
            "ProxyConnectionError", "SSLError", "ConnectionClosedError")
NETWORK_FIX = ("Check this machine's network and proxy settings (HTTPS_PROXY), and that "
               "the region's endpoints are reachable.")
POLICY_FIX = ("Attach the lab's IAM policy (README, 'The IAM policy the lab needs') to the "
              "user or role you run the lab with.")


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # passed, failed, unknown (could not tell), skipped
    message: str  # one sentence: what was found
    fix: str = ""  # one sentence: what to do (failed and unknown checks)

    @property
    def ok(self) -> bool:
        return self.status in (PASSED, UNKNOWN, SKIPPED)


@dataclass
class ConnectionReport:
    backend: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.status != FAILED for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAILED]

    def summary(self) -> str:
        if self.ok:
            return "The connection check passed: the lab can use this AWS account."
        first = self.failures[0]
        return f"{first.name}: {first.message} {first.fix}".strip()

    def to_json(self) -> dict[str, Any]:
        return {"backend": self.backend, "ok": self.ok,
                "checks": [asdict(c) for c in self.checks]}


ClientMaker = Callable[[str], Any]  # service name -> boto3 client


def check_connection(settings: Any, client: ClientMaker | None = None) -> ConnectionReport:
    """Run the checks for `settings` (the SageMaker backend); `client` makes boto3 clients
    (tests hand in stubbed ones; by default, from a fresh boto3 session)."""
    report = ConnectionReport("sagemaker")
    add = report.checks.append
    try:
        import boto3
        from botocore.exceptions import BotoCoreError
    except ImportError:
        from lab.aws.session import SDK_MISSING

        add(Check("Packages", FAILED, "boto3 is not installed here.", SDK_MISSING))
        return report
    try:
        session = boto3.Session()
        credentials = session.get_credentials()
        from lab.aws import redaction

        redaction.remember(credentials)  # before any call: DEBUG logs show headers
    except BotoCoreError as exc:
        add(Check("Credentials", FAILED, f"The AWS configuration could not be read "
                  f"({type(exc).__name__}).", "Check AWS_PROFILE and the files in ~/.aws."))
        return _skip_rest(report, "Credentials")
    region = session.region_name
    if client is None:
        made: dict[str, Any] = {}

        def client(service: str) -> Any:  # one client per service (SageMaker's takes ~1 s)
            if service not in made:
                made[service] = session.client(service, region_name=region)
            return made[service]

    # Credentials: who is calling.
    if credentials is None:
        add(Check("Credentials", FAILED, "No AWS credentials were found.",
                  "Run `aws configure` (or `aws sso login`), set AWS_PROFILE, or run the lab "
                  "where an IAM role provides credentials."))
        return _skip_rest(report, "Credentials")
    if not region:
        add(Check("Region", FAILED, "No AWS region is set.",
                  "Set AWS_DEFAULT_REGION (for example us-east-1) or give your profile a "
                  "region."))
        return _skip_rest(report, "Region")
    try:
        identity = client("sts").get_caller_identity()
    except Exception as exc:  # noqa: BLE001 - every failure is explained, none raised
        add(_credentials_failure(exc, region))
        return _skip_rest(report, "Credentials")
    caller, account = identity["Arn"], identity["Account"]
    add(Check("Credentials", PASSED, f"AWS accepts the credentials of {caller} (account "
              f"{account})."))

    # Region: one that has SageMaker (the calls below prove it answers).
    offered = set(session.get_available_regions("sagemaker")) | set(
        session.get_available_regions("sagemaker", partition_name="aws-cn")) | set(
        session.get_available_regions("sagemaker", partition_name="aws-us-gov"))
    if region not in offered:
        add(Check("Region", FAILED, f"SageMaker is not offered in the region {region!r} "
                  "(or the name is misspelt).",
                  "Set AWS_DEFAULT_REGION to a SageMaker region, for example us-east-1 or "
                  "eu-west-1."))
        return _skip_rest(report, "Region")
    add(Check("Region", PASSED, f"SageMaker is offered in {region}."))

    role = _check_role(report, client, settings.sagemaker_role, account)
    _check_permissions(report, client, caller, account, role, _bucket_name(settings, region,
                                                                            account))
    _check_bucket(report, client, settings, region, account)
    _check_service(report, "SageMaker", lambda: client("sagemaker").list_endpoints(
        MaxResults=1), f"SageMaker answers in {region}.", "sagemaker:ListEndpoints")
    _check_service(report, "Feature Store", lambda: client("sagemaker").list_feature_groups(
        MaxResults=1), f"Feature Store answers in {region}.", "sagemaker:ListFeatureGroups")
    return report


ORDER = ("Credentials", "Region", "Execution role", "Pass role", "Permissions", "Bucket",
         "SageMaker", "Feature Store")


def _skip_rest(report: ConnectionReport, failed: str) -> ConnectionReport:
    for name in ORDER[ORDER.index(failed) + 1:]:
        report.checks.append(Check(name, SKIPPED, f"Not checked: the {failed.lower()} check "
                                   "failed first."))
    return report


def _credentials_failure(exc: Exception, region: str) -> Check:
    code = error_code(exc)
    if type(exc).__name__ in _NETWORK:
        return Check("Credentials", FAILED, f"AWS STS could not be reached from here "
                     f"({type(exc).__name__}, region {region}).", NETWORK_FIX)
    if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
        return Check("Credentials", FAILED, "The AWS session token has expired.",
                     "Sign in again (`aws sso login`, or new temporary credentials).")
    if code in ("InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException",
                "AuthFailure"):
        return Check("Credentials", FAILED, f"AWS refused the credentials ({code}): the "
                     "access key id is unknown, deactivated or does not match its secret.",
                     "Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or your profile, or "
                     "create a new access key in IAM.")
    return Check("Credentials", FAILED, describe(exc), NETWORK_FIX if not code else
                 "Check your AWS credentials and configuration.")


def _check_role(report: ConnectionReport, client: ClientMaker, role_arn: str | None,
                account: str) -> str | None:
    add = report.checks.append
    if not role_arn:
        add(Check("Execution role", FAILED, "No SageMaker execution role is set.",
                  "Set LAB_SAGEMAKER_ROLE to the ARN of a role SageMaker can assume "
                  "(README: 'The execution role')."))
        return None
    match = _ROLE_ARN.match(role_arn)
    if not match:
        add(Check("Execution role", FAILED, f"LAB_SAGEMAKER_ROLE ({role_arn!r}) is not a role "
                  "ARN.", "Use the role's ARN, arn:aws:iam::<account-id>:role/<name>."))
        return None
    if match.group(2) != account:
        add(Check("Execution role", UNKNOWN, f"The role {role_arn} belongs to account "
                  f"{match.group(2)}, not to the caller's {account}: its existence and trust "
                  "policy cannot be checked from here.",
                  "Make sure that account's role trusts sagemaker.amazonaws.com."))
        return role_arn
    try:
        found = client("iam").get_role(RoleName=match.group(3))["Role"]
    except Exception as exc:  # noqa: BLE001
        code = error_code(exc)
        if code == "NoSuchEntity":
            add(Check("Execution role", FAILED, f"The role {role_arn} does not exist in "
                      f"account {account}.", "Create it with the trust policy and "
                      "permissions in the README, or set LAB_SAGEMAKER_ROLE to an existing "
                      "role's ARN."))
            return None
        if code in ACCESS_CODES:
            add(Check("Execution role", UNKNOWN, f"Could not look at the role {role_arn}: "
                      "iam:GetRole is not allowed for you.",
                      "Nothing to do if jobs start; otherwise allow iam:GetRole to check."))
            return role_arn
        add(Check("Execution role", UNKNOWN, describe(exc), NETWORK_FIX))
        return role_arn
    if found.get("Arn") and found["Arn"] != role_arn:
        add(Check("Execution role", FAILED, f"LAB_SAGEMAKER_ROLE says {role_arn}, but the role "
                  f"of that name is {found['Arn']} (its path differs).",
                  f"Set LAB_SAGEMAKER_ROLE to {found['Arn']}."))
        return None
    if not _trusts_sagemaker(found.get("AssumeRolePolicyDocument")):
        add(Check("Execution role", FAILED, f"SageMaker may not assume the role {role_arn}: "
                  "its trust policy does not name sagemaker.amazonaws.com.",
                  "Replace its trust policy with the one in the README ('The execution "
                  "role')."))
        return role_arn
    add(Check("Execution role", PASSED, f"The role {role_arn} exists and SageMaker may assume "
              "it."))
    return role_arn


def _trusts_sagemaker(document: Any) -> bool:
    if isinstance(document, str):  # IAM returns it URL-encoded (boto3 usually decodes it)
        document = json.loads(urllib.parse.unquote(document))
    statements = (document or {}).get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        services = (statement.get("Principal") or {}).get("Service", [])
        services = [services] if isinstance(services, str) else services
        if (statement.get("Effect") == "Allow" and "sagemaker.amazonaws.com" in services
                and any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions)):
            return True
    return False


def _principal(caller: str, account: str) -> str | None:
    """The IAM ARN the simulator takes for the caller (None: root, or not simulable)."""
    if caller.endswith(":root"):
        return None
    match = _ASSUMED.match(caller)
    if match:  # a role session: simulate the role (a role with a path is not found: unknown)
        return f"arn:{match.group(1)}:iam::{match.group(2)}:role/{match.group(3)}"
    return caller if ":iam::" in caller else None


def _check_permissions(report: ConnectionReport, client: ClientMaker, caller: str,
                       account: str, role_arn: str | None, bucket: str) -> None:
    add = report.checks.append
    if caller.endswith(":root"):
        add(Check("Pass role", PASSED, "You are the account's root user: it may pass any role "
                  "(use an IAM user or role for daily work)."))
        add(Check("Permissions", PASSED, "The root user may call every action."))
        return
    principal = _principal(caller, account)
    if principal is None:
        for name in ("Pass role", "Permissions"):
            add(Check(name, UNKNOWN, f"{caller} is not an IAM user or role the policy "
                      "simulator can evaluate.", "Nothing to do if jobs start."))
        return
    iam_client = client("iam")

    def simulate(actions: list[str], resources: list[str]) -> dict[str, str]:
        decisions: dict[str, str] = {}
        kwargs = {"PolicySourceArn": principal, "ActionNames": actions,
                  "ResourceArns": resources}
        while True:
            page = iam_client.simulate_principal_policy(**kwargs)
            for result in page.get("EvaluationResults", []):
                decisions[result["EvalActionName"]] = result["EvalDecision"]
            if not page.get("IsTruncated"):
                return decisions
            kwargs["Marker"] = page["Marker"]

    try:
        passing = simulate(["iam:PassRole"], [role_arn]) if role_arn else None
        denied = [a for a, d in simulate(iam.service_actions(), ["*"]).items()
                  if d != "allowed"]
        bucket_actions, object_actions = iam.s3_actions()
        denied += [a for a, d in simulate(bucket_actions, [f"arn:aws:s3:::{bucket}"]).items()
                   if d != "allowed"]
        denied += [a for a, d in simulate(object_actions,
                                          [f"arn:aws:s3:::{bucket}/mlops-workshop/x"]).items()
                   if d != "allowed"]
    except Exception as exc:  # noqa: BLE001
        code = error_code(exc)
        reason = ("iam:SimulatePrincipalPolicy is not allowed for you" if code in ACCESS_CODES
                  else f"the policy simulator answered {code or type(exc).__name__}: "
                  f"{error_message(exc) or exc}")
        for name in ("Pass role", "Permissions"):
            add(Check(name, UNKNOWN, f"Could not check: {reason}.",
                      "Nothing to do if jobs start; a refused call names what is missing."))
        return
    if passing is None:
        add(Check("Pass role", SKIPPED, "Not checked: no usable execution role."))
    elif passing.get("iam:PassRole") == "allowed":
        add(Check("Pass role", PASSED, f"You may pass {role_arn} to SageMaker."))
    else:
        add(Check("Pass role", FAILED, f"You may not pass the role {role_arn} to SageMaker "
                  f"(iam:PassRole: {passing.get('iam:PassRole', 'implicitDeny')}).",
                  "Allow iam:PassRole on that role for sagemaker.amazonaws.com (the "
                  "README's policy does)."))
    if not denied:
        add(Check("Permissions", PASSED, "The policy simulator allows every action the lab "
                  "calls."))
    else:
        shown = ", ".join(sorted(denied)[:6]) + (", ..." if len(denied) > 6 else "")
        add(Check("Permissions", FAILED, f"You are denied {len(denied)} of the actions the lab "
                  f"calls: {shown}.", POLICY_FIX))


def _bucket_name(settings: Any, region: str, account: str) -> str:
    return settings.s3_bucket or f"sagemaker-{region}-{account}"  # the SDK's default bucket


def _check_bucket(report: ConnectionReport, client: ClientMaker, settings: Any, region: str,
                  account: str) -> None:
    add = report.checks.append
    bucket = _bucket_name(settings, region, account)
    try:
        answer = client("s3").head_bucket(Bucket=bucket)
    except Exception as exc:  # noqa: BLE001
        code = error_code(exc)
        if code in ("404", "NoSuchBucket", "NotFound"):
            if settings.s3_bucket:
                add(Check("Bucket", FAILED, f"The bucket {bucket} (LAB_S3_BUCKET) does not "
                          "exist; the SDK would create it on first use, so a typo there "
                          "would make a new bucket.",
                          f"Correct LAB_S3_BUCKET, or create the bucket in {region} "
                          f"(`aws s3 mb s3://{bucket} --region {region}`)."))
            else:
                add(Check("Bucket", PASSED, f"The SDK's default bucket {bucket} does not exist "
                          "yet: the lab creates it on first use (s3:CreateBucket)."))
            return
        if code in ("403", "AccessDenied", *ACCESS_CODES):
            add(Check("Bucket", FAILED, f"The bucket {bucket} exists but you may not use it (it "
                      "may belong to another account).",
                      "Set LAB_S3_BUCKET to a bucket of your own, or allow s3:ListBucket, "
                      "GetObject and PutObject on it."))
            return
        if type(exc).__name__ in _NETWORK:
            add(Check("Bucket", FAILED, f"S3 could not be reached ({type(exc).__name__}).",
                      NETWORK_FIX))
            return
        add(Check("Bucket", FAILED, describe(exc), POLICY_FIX))
        return
    headers = (answer.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    where = answer.get("BucketRegion") or headers.get("x-amz-bucket-region") or region
    if where != region:
        add(Check("Bucket", FAILED, f"The bucket {bucket} is in {where}, not in {region}: "
                  "SageMaker jobs and the offline store need a bucket in their region.",
                  f"Use a bucket in {region} (LAB_S3_BUCKET), or set AWS_DEFAULT_REGION to "
                  f"{where}."))
        return
    add(Check("Bucket", PASSED, f"The bucket {bucket} is reachable, in {region}."))


def _check_service(report: ConnectionReport, name: str, call: Callable[[], Any],
                   passed: str, action: str) -> None:
    try:
        call()
    except Exception as exc:  # noqa: BLE001
        code = error_code(exc)
        if type(exc).__name__ in _NETWORK:
            report.checks.append(Check(name, FAILED, f"{name} could not be reached "
                                       f"({type(exc).__name__}).", NETWORK_FIX))
        elif code in ACCESS_CODES:
            report.checks.append(Check(name, FAILED, f"{name} refused {action} ({code}).",
                                       POLICY_FIX))
        else:
            report.checks.append(Check(name, FAILED, describe(exc), POLICY_FIX))
        return
    report.checks.append(Check(name, PASSED, passed))
