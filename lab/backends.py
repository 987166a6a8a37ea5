"""Which backend can run here: the local one always; SageMaker when set up."""

from __future__ import annotations

from lab.settings import Settings


def backend_problem(settings: Settings) -> str | None:
    """None when `settings.backend` can run; otherwise one line saying what to set up.

    Makes no network call, and never includes a credential in the message.
    """
    if settings.backend == "local":
        return None
    from lab.sagemaker.session import check_sagemaker

    return check_sagemaker(settings)
