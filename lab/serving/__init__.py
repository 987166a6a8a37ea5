"""Real-time endpoints and the local runtime server that speaks SageMaker's protocol.

    job = run_deploy_job(settings, version=1)         # an Approved version -> an endpoint
    invoke_endpoint(settings, None, "0.1,0.2,...")    # CSV in, predictions out (boto3)
    predict_online(settings, record_id=42)            # the online record -> payload -> model
    serve_forever(settings, port=8080)                # `python -m lab serve`

Two implementations of one interface (create, update, describe, list, delete, invoke):
`LocalEndpoints`, served by this package's HTTP server on 127.0.0.1 (which also answers the
Feature Store runtime API for the local online store), and `SageMakerEndpoints`
(`lab.sagemaker.endpoints`: the SDK v2 ModelPackage.deploy and Predictor). Neither imports
boto3 or the SageMaker SDK at module load.
"""

from __future__ import annotations

from lab.serving._client import Invocation, featurestore_client, runtime_client
from lab.serving._errors import (
    EndpointExistsError,
    EndpointNotFoundError,
    InvocationError,
    ServerError,
)
from lab.serving._inference import (
    MAX_ROWS,
    Prediction,
    endpoint_model,
    offline_query,
    payload_from_record,
    predict_offline,
    predict_online,
    run_all_step,
    step_done,
)
from lab.serving._payload import MAX_BODY_BYTES, parse_csv, to_csv
from lab.serving._records import CREATING, FAILED, IN_SERVICE, UPDATING, Endpoint
from lab.serving._runtime import (
    ensure_server,
    running_server,
    serve_forever,
    server_url,
    stop_server,
)
from lab.serving._snippets import boto3_code, sdk_code
from lab.serving._workshop import (
    DEPLOY_KIND,
    ENDPOINT,
    approved_version,
    default_endpoint,
    delete_endpoint,
    deploy_model,
    describe_endpoint,
    invoke_endpoint,
    list_endpoints,
    open_endpoints,
    resume_endpoints,
    run_deploy_job,
    start_deploy_job,
)

__all__ = [
    "CREATING", "DEPLOY_KIND", "ENDPOINT", "FAILED", "IN_SERVICE", "MAX_BODY_BYTES", "MAX_ROWS",
    "UPDATING", "Endpoint", "EndpointExistsError", "EndpointNotFoundError", "Invocation",
    "InvocationError", "Prediction", "ServerError", "approved_version", "boto3_code",
    "default_endpoint", "delete_endpoint", "deploy_model", "describe_endpoint",
    "endpoint_model", "ensure_server", "featurestore_client", "invoke_endpoint",
    "list_endpoints", "offline_query", "open_endpoints", "parse_csv", "payload_from_record",
    "predict_offline", "predict_online", "resume_endpoints", "run_all_step", "run_deploy_job",
    "running_server", "runtime_client", "sdk_code", "serve_forever", "server_url",
    "start_deploy_job", "step_done", "stop_server", "to_csv",
]
