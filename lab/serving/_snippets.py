"""The client code a learner copies: boto3 and the SageMaker SDK, filled in with the real
endpoint, feature group, record id and runtime URL, so it runs as printed.

Against the local runtime the clients get `endpoint_url` and no signature (no AWS account
needed); for SageMaker the same code without those two lines. A test runs the printed
boto3 code against the local server.
"""

from __future__ import annotations

import json
from typing import Any

from lab.serving._client import LOCAL_REGION


def _local_lines(url: str | None) -> tuple[str, str]:
    """(imports, client options) for the local runtime; empty for SageMaker."""
    if not url:
        return "", ""
    imports = "from botocore import UNSIGNED\nfrom botocore.config import Config\n"
    options = (f"# The lab's local runtime: no AWS account, no request signature. For SageMaker,\n"
               f"# leave out endpoint_url and config; region and credentials come from AWS.\n"
               f'local = dict(endpoint_url="{url}", region_name="{LOCAL_REGION}",\n'
               f"             config=Config(signature_version=UNSIGNED))\n")
    return imports, options


def _wrapped(names: list[str], width: int = 80) -> str:
    """A JSON list of names broken into lines that fit the page's code box."""
    lines, line = [], ""
    for item in (json.dumps(n) + "," for n in names):
        if line and len(line) + len(item) + 1 > width:
            lines.append(line)
            line = ""
        line = f"{line} {item}" if line else item
    lines.append(line)
    return "[\n" + "".join(f"    {text}\n" for text in lines) + "]"


def boto3_code(endpoint: str, group: str, record_id: Any, features: list[str], target: str,
               url: str | None = None) -> str:
    """GetRecord from the online store, then InvokeEndpoint with the record's features."""
    imports, options = _local_lines(url)
    extra = ", **local" if url else ""
    return f'''\
import json

import boto3
{imports}
{options}featurestore_runtime = boto3.client("sagemaker-featurestore-runtime"{extra})
sagemaker_runtime = boto3.client("sagemaker-runtime"{extra})

# The online store: the newest values of one record, every value as text.
record = featurestore_runtime.get_record(
    FeatureGroupName="{group}", RecordIdentifierValueAsString="{record_id}")["Record"]
values = {{item["FeatureName"]: item["ValueAsString"] for item in record}}

# The payload: the model's features in training order (no target, id or event time).
features = {_wrapped(features)}
payload = ",".join(values[name] for name in features)

response = sagemaker_runtime.invoke_endpoint(
    EndpointName="{endpoint}", ContentType="text/csv", Accept="application/json",
    Body=payload)
prediction = json.loads(response["Body"].read())
print(payload, "->", prediction, "| true {target}:", values["{target}"])
'''


def sdk_code(endpoint: str, rows: list[list[float]], url: str | None = None) -> str:
    """The SDK v2 Predictor with CSVSerializer and JSONDeserializer, as in the workshop."""
    imports, options = _local_lines(url)
    shown = "[\n" + "".join(f"    {json.dumps([float(v) for v in r])},\n" for r in rows) + "]"
    if url:
        session = f'''\
boto_session = boto3.Session(region_name="{LOCAL_REGION}")
session = sagemaker.Session(
    boto_session=boto_session,
    sagemaker_runtime_client=boto_session.client("sagemaker-runtime", **local),
    sagemaker_featurestore_runtime_client=boto_session.client(
        "sagemaker-featurestore-runtime", **local),
)
'''
    else:
        session = "session = sagemaker.Session()\n"
    return f'''\
import boto3
import sagemaker
{imports}from sagemaker.deserializers import JSONDeserializer
from sagemaker.predictor import Predictor
from sagemaker.serializers import CSVSerializer

{options}{session}
predictor = Predictor(
    endpoint_name="{endpoint}",
    sagemaker_session=session,
    serializer=CSVSerializer(),
    deserializer=JSONDeserializer(),
)
rows = {shown}
print(predictor.predict(rows))  # one prediction per row
'''
