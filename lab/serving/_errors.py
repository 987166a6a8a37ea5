"""Errors of the endpoints, and the runtime API's error replies.

    InputError (lab.errors)
    ├── EndpointNotFoundError   naming an endpoint that does not exist
    ├── EndpointExistsError     creating an endpoint whose name is taken
    └── InvocationError         a request the endpoint refused (bad CSV, wrong content type,
                                unknown endpoint...), with the runtime API's error code
    BackendError (lab.errors)
    └── ServerError             the local runtime server cannot start (port taken)

`InvocationError` carries what the HTTP reply says, in SageMaker's terms: `code` (what
botocore raises: ValidationError, ModelError, ...), the HTTP `status`, and for a ModelError
the `original_status` the model container answered (400, 415, 500...).
"""

from __future__ import annotations

from lab.errors import BackendError, InputError


class EndpointNotFoundError(InputError):
    """No endpoint has that name."""


class EndpointExistsError(InputError):
    """An endpoint with that name already exists."""


class ServerError(BackendError):
    """The local runtime server could not start."""


class InvocationError(InputError):
    def __init__(self, message: str, code: str = "ValidationError", status: int = 400,
                 original_status: int | None = None) -> None:
        super().__init__(message)
        self.code, self.status, self.original_status = code, status, original_status

    @classmethod
    def from_model(cls, original_status: int, message: str) -> InvocationError:
        """A refusal by the model container, wrapped as SageMaker wraps it (424)."""
        kind = "client" if original_status < 500 else "server"
        return cls(f'Received {kind} error ({original_status}) from primary with message '
                   f'"{message}".', code="ModelError", status=424,
                   original_status=original_status)

    @property
    def original_message(self) -> str:
        text = str(self)
        if self.original_status is not None and '"' in text:
            return text.split('"', 1)[1].rsplit('"', 1)[0]
        return text
