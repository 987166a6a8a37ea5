"""Errors of the model registry, each a `lab.errors` class so pages show only the message.

    InputError (lab.errors)
    ├── InvalidNameError          a group or endpoint name SageMaker would refuse
    ├── InvalidStatusError        an approval status other than the three SageMaker knows
    ├── ArtifactError             a file that is not a lab model.tar.gz
    ├── ModelGroupExistsError     creating a group whose name is taken (when asked to fail)
    ├── ModelGroupNotFoundError   naming a model package group that does not exist
    ├── VersionNotFoundError      naming a version the group does not hold
    └── NotApprovedError          deploying a version that is not Approved
"""

from __future__ import annotations

from lab.errors import DataError, InputError, ParameterError


class InvalidNameError(ParameterError):
    """A model package group (or endpoint) name outside SageMaker's naming rule."""


class InvalidStatusError(ParameterError):
    """Not one of PendingManualApproval, Approved, Rejected."""


class ArtifactError(DataError):
    """The file given as a model artifact is not one the lab can register."""


class ModelGroupExistsError(InputError):
    """A model package group with that name already exists."""


class ModelGroupNotFoundError(InputError):
    """No model package group has that name."""


class VersionNotFoundError(InputError):
    """The group holds no such version."""


class NotApprovedError(InputError):
    """Only an Approved model version may be deployed (the workshop's practice)."""
