"""What every test folder shares: isolation from the machine, and the plugins with the
suite's fixtures (tests/workspaces.py: workspaces; tests/fake_aws.py: moto and the SDK)."""

from __future__ import annotations

import os

pytest_plugins = ["tests.workspaces", "tests.fake_aws"]


def _isolate_from_the_machine() -> None:
    """Nothing the machine or its user set up reaches a test: no AWS profile, keys or
    ~/.aws files, no EC2 metadata address, no LAB_* setting (a developer's LAB_BACKEND or
    LAB_WORKSPACE would change what the tests run). Tests that need AWS-like settings set
    them themselves (tests/fake_aws.py)."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "LAB_", "SAGEMAKER_")):
            del os.environ[name]
    os.environ.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
                      AWS_EC2_METADATA_DISABLED="true")


_isolate_from_the_machine()


def pytest_xdist_auto_num_workers(config) -> int:
    """`-n auto` runs one worker more than the cores this process may use: much of the
    suite's time is browser and server tests waiting on their own subprocesses (on two
    cores, two workers took 451 s and three 353 s)."""
    return len(os.sched_getaffinity(0)) + 1
