"""Teams on one platform: who they are, what each owns, who uses what, and the rules.

    Team          a team of the platform: its name and its own workspace folder
    Ownership     one shared resource (a feature group, a model package group) and its owner
    Project       what the project template stamped for a team: its pipeline and its groups
    AccessDeniedError  a team tried to change what another team owns

The rules, enforced by `lab.teams` (the page only shows them): every team reads every
shared feature group and model; a team writes (creates, ingests into, deletes) only its own
feature groups, and registers into and approves only its own model package groups. What
the lab's own steps made belongs to the platform team, `platform`, which no team is.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lab.errors import InputError

PLATFORM = "platform"  # the central team: owner of what the lab's steps made
FEATURE_GROUP, MODEL_GROUP = "feature group", "model package group"
KINDS = (FEATURE_GROUP, MODEL_GROUP)
READ, WRITE = "read", "write"
_TEAM_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
MAX_TEAM_NAME = 20  # leaves room in SageMaker names: <team>-housing-pipeline-<8 hex>
MAX_TEAMS = 12


class AccessDeniedError(InputError):
    """A team tried to change what another team owns (reading it is allowed)."""


class TeamNotFoundError(InputError):
    """No team of that name on the platform."""


def check_team_name(name: Any) -> str:
    if (not isinstance(name, str) or not _TEAM_NAME.match(name)
            or not 2 <= len(name) <= MAX_TEAM_NAME):
        raise InputError(f"{name!r} is not a valid team name: use 2 to {MAX_TEAM_NAME} "
                         "lowercase letters, digits and single hyphens, starting with a letter "
                         "(for example pricing or risk-models).")
    if name in (PLATFORM, "lab"):  # lab-...: the names of the platform's own resources
        raise InputError(f"{name!r} is the platform team's name (what the lab's own steps "
                         "made belongs to it, named lab-...): pick another name.")
    return name


@dataclass(frozen=True)
class Team:
    name: str
    created: float
    workspace: Path  # the team's own folder: its project, its jobs

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "created": self.created, "workspace": str(self.workspace)}


@dataclass(frozen=True)
class Ownership:
    kind: str
    resource: str
    owner: str
    users: dict[str, int] = field(default_factory=dict)  # team -> reads recorded
    last_used: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Project:
    """A team's project, stamped from the lab's template (what SageMaker Projects do: one
    template, a pipeline and a model package group per team, its own parameters)."""

    team: str
    template: str
    pipeline: str  # the stamped pipeline's name
    model_group: str
    parameters: dict[str, Any]  # the team's defaults, where they differ from the template's
    definition: dict[str, Any]  # the stamped pipeline, as data
    created: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
