"""One mapping from botocore's errors to the lab's, for every SageMaker twin.

A twin wraps its AWS calls in `translated(...)`, naming what "not found" and "already
exists" mean for its resource; everything else AWS refuses becomes a BackendError (or an
InputError for a request AWS judged invalid) whose message is AWS's own, with the operation
and the error code. No message ever holds a credential: AWS's messages carry no secret
key, and an access key id, should one appear, is masked.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from lab.errors import BackendError, InputError, LabError

NOT_FOUND_CODES = ("ResourceNotFound", "ResourceNotFoundException", "NoSuchKey", "404")
IN_USE_CODES = ("ResourceInUse", "ResourceInUseException")
INVALID_CODES = ("ValidationException", "ValidationError", "InvalidRequestException")
ACCESS_CODES = ("AccessDenied", "AccessDeniedException", "UnrecognizedClientException",
                "InvalidClientTokenId", "ExpiredTokenException")
# SageMaker answers a describe of a missing endpoint or model package with a
# ValidationException whose message says so.
_MISSING = re.compile(r"(?i)could not find|does not exist|not found")
_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str((response.get("Error") or {}).get("Code", ""))
    return ""


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str((response.get("Error") or {}).get("Message", ""))
    return ""


def is_not_found(exc: BaseException) -> bool:
    code = error_code(exc)
    return code in NOT_FOUND_CODES or (code in INVALID_CODES
                                       and bool(_MISSING.search(error_message(exc))))


def describe(exc: BaseException) -> str:
    """A learner-facing line for a botocore error: operation, code and AWS's message."""
    if error_code(exc):
        operation = getattr(exc, "operation_name", "the call")
        text = f"AWS refused {operation} ({error_code(exc)}): {error_message(exc).strip()}"
        if error_code(exc) in ACCESS_CODES:
            text += " Check the permissions of your AWS identity and of LAB_SAGEMAKER_ROLE."
    else:
        text = f"The AWS call failed ({type(exc).__name__}): {exc}"
    return _KEY_ID.sub("<access key id>", text)


def translate(exc: BaseException, not_found: LabError | None = None,
              exists: LabError | None = None) -> LabError | None:
    """The lab error for a botocore (or boto3 transfer) error, None when `exc` is not one."""
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        if not_found is not None and is_not_found(exc):
            return not_found
        if exists is not None and error_code(exc) in IN_USE_CODES:
            return exists
        if error_code(exc) in INVALID_CODES:
            return InputError(describe(exc))
        return BackendError(describe(exc))
    if isinstance(exc, (BotoCoreError, Boto3Error)):  # e.g. S3UploadFailedError
        return BackendError(describe(exc))
    return None


@contextlib.contextmanager
def translated(not_found: LabError | None = None,
               exists: LabError | None = None) -> Iterator[None]:
    """Run AWS calls; their errors leave as lab errors (see `translate`)."""
    try:
        yield
    except Exception as exc:
        error = translate(exc, not_found, exists)
        if error is None:
            raise
        raise error from None
