"""Errors the lab raises on purpose, each with a message a learner can act on.

    LabError                  base: str(error) says what went wrong and what to change
    ├── InputError            the user's input is not usable (data, parameters, names)
    │   ├── DataError         a dataset that cannot be read or used
    │   └── ParameterError    a parameter out of range (split sizes, counts, ...)
    ├── BackendError          the chosen backend cannot run (missing package, no credentials)
    └── JobError              a job failed or was cancelled; its log holds the details

Pages and the CLI show ``str(error)`` and nothing else: no stack trace, and never a
credential (messages are built from our own words and the user's inputs only).
"""


class LabError(Exception):
    """Base class: the message is for the learner."""


class InputError(LabError):
    """The user's input cannot be used as given."""


class DataError(InputError):
    """A dataset that cannot be read or used."""


class ParameterError(InputError):
    """A parameter outside its allowed range."""


class BackendError(LabError):
    """The selected backend cannot run here."""


class JobError(LabError):
    """A job failed or was cancelled."""
