"""Errors of baselines, drift and monitoring.

    InputError (lab.errors)
    ├── BaselineMissingError   a drift report, gate or monitor needs a baseline: make one
    └── BatchError             a batch (changes, an upload) that cannot be compared as given
"""

from __future__ import annotations

from lab.errors import InputError


class BaselineMissingError(InputError):
    """No baseline in the workspace yet."""


class BatchError(InputError):
    """The batch or the changes asked for cannot be used."""
