"""Errors of the feature store, each a `lab.errors` class so pages show only the message.

    InputError (lab.errors)
    ├── InvalidNameError     a group or feature name SageMaker would refuse
    ├── SchemaError          a DataFrame that does not fit (column types, missing columns)
    ├── QueryError           SQL that cannot run (syntax, not read-only, unknown table)
    ├── GroupExistsError     creating a group whose name is taken
    ├── GroupNotFoundError   naming a group that does not exist
    └── RecordNotFoundError  an online get of an id the store does not hold
    BackendError (lab.errors)
    └── IngestionError       some rows were refused by the SageMaker runtime
"""

from __future__ import annotations

from lab.errors import BackendError, DataError, InputError, ParameterError


class InvalidNameError(ParameterError):
    """A feature group or feature name outside SageMaker's naming rules."""


class SchemaError(DataError):
    """A DataFrame whose columns do not fit the feature group."""


class QueryError(InputError):
    """An offline-store query that cannot run as written."""


class GroupExistsError(InputError):
    """A feature group with that name already exists."""


class GroupNotFoundError(InputError):
    """No feature group has that name."""


class RecordNotFoundError(InputError):
    """The online store holds no record with that identifier."""


class IngestionError(BackendError):
    """Some rows could not be written; `failed_rows` holds their positions."""

    def __init__(self, message: str, failed_rows: list[int]) -> None:
        super().__init__(message)
        self.failed_rows = failed_rows
