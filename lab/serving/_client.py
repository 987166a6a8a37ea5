"""Calling an endpoint the way a learner's code does: boto3's `sagemaker-runtime` client.

Against the local runtime the client gets `endpoint_url` and no signature (the local
server checks none, and no credential is needed or sent); on SageMaker it is the usual
signed client. One client per URL is kept: boto3 clients are thread-safe, and reusing one
keeps its HTTP connection alive, which is most of the latency of a small request.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from lab.serving._api import Invocation
from lab.serving._errors import InvocationError
from lab.serving._payload import parse_predictions

LOCAL_REGION = "us-east-1"  # any region: botocore needs one to build a client
_clients: dict[tuple[str, str], Any] = {}
MAX_CLIENTS = 64  # a workshop server: each attendee's endpoint has its own local port
_lock = threading.Lock()


def _client(service: str, url: str | None, session: Any = None) -> Any:
    key = (service, url or "")
    with _lock:
        client = _clients.get(key)
        if client is None:
            import boto3
            from botocore import UNSIGNED
            from botocore.config import Config

            if url:  # the local runtime: unsigned, no retries (an error is an answer)
                config = Config(signature_version=UNSIGNED, retries={"max_attempts": 1},
                                connect_timeout=5, read_timeout=60, proxies={})
                # A session of its own: boto3's default session is not safe to share
                # between threads that make clients.
                client = boto3.session.Session().client(
                    service, endpoint_url=url, region_name=LOCAL_REGION, config=config)
            else:
                client = (session or boto3.session.Session()).client(service)
            if len(_clients) >= MAX_CLIENTS:  # one per endpoint server seen: bounded
                del _clients[next(iter(_clients))]
            _clients[key] = client
        return client


def runtime_client(url: str | None = None, session: Any = None) -> Any:
    """A `sagemaker-runtime` client: for the local runtime at `url`, or for AWS (None)."""
    return _client("sagemaker-runtime", url, session)


def featurestore_client(url: str | None = None, session: Any = None) -> Any:
    """A `sagemaker-featurestore-runtime` client, local (url) or AWS (None)."""
    return _client("sagemaker-featurestore-runtime", url, session)


def send(client: Any, name: str, body: bytes | str, content_type: str = "text/csv",
         accept: str = "application/json") -> Invocation:
    """InvokeEndpoint; the endpoint's refusal as an InvocationError with its code."""
    from botocore.exceptions import BotoCoreError, ClientError

    data = body.encode() if isinstance(body, str) else bytes(body)
    started = time.perf_counter()
    try:
        response = client.invoke_endpoint(EndpointName=name, Body=data,
                                          ContentType=content_type, Accept=accept)
        answer = response["Body"].read()
    except ClientError as exc:
        raise as_invocation_error(exc) from None
    except BotoCoreError as exc:
        raise InvocationError(f"The endpoint {name} could not be reached "
                              f"({type(exc).__name__}): is its runtime running?",
                              code="ServiceUnavailable", status=503) from None
    latency = time.perf_counter() - started
    out_type = response.get("ContentType", "application/json")
    return Invocation(name, parse_predictions(answer, out_type), latency, out_type,
                      data.decode("utf-8", errors="replace"))


def as_invocation_error(exc: Any) -> InvocationError:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
    return InvocationError(error.get("Message") or str(exc), code=error.get("Code", "Error"),
                           status=status, original_status=exc.response.get("OriginalStatusCode"))
