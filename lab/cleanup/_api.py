"""The cleanup's interface (`Cleanup`) and what it hands back: resources with their cost,
an inventory, and the report of a cleanup."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

# Deletion order: what depends on something is deleted before it (an endpoint before its
# config, a config before its model, versions before their group, a group before its Glue
# table, runs before their trial and experiment, the S3 folder, which holds the data of
# everything else, last).
KINDS = ("processing-job", "training-job", "tuning-job", "endpoint", "endpoint-config",
         "model", "pipeline", "model-package", "model-package-group", "feature-group",
         "glue-table", "trial-component", "trial", "experiment", "s3-objects",
         "local-store")

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Resource:
    kind: str  # one of KINDS
    name: str
    status: str = ""
    cost: str = ""  # what it costs while it exists, in words
    hourly_usd: float | None = None  # billed per hour while it runs (instances)
    monthly_usd: float | None = None  # storage, per month
    arn: str = ""
    detail: str = ""  # e.g. the instance type, the object count, the Glue database

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Inventory:
    backend: str
    resources: list[Resource] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what could not be listed, and why

    @property
    def hourly_usd(self) -> float:
        return sum(r.hourly_usd or 0 for r in self.resources)

    @property
    def monthly_usd(self) -> float:
        return sum(r.monthly_usd or 0 for r in self.resources)

    def ordered(self) -> list[Resource]:
        return sorted(self.resources, key=lambda r: (KINDS.index(r.kind), r.name))

    def to_json(self) -> dict[str, Any]:
        return {"backend": self.backend, "resources": [r.to_json() for r in self.ordered()],
                "hourly_usd": round(self.hourly_usd, 4),
                "monthly_usd": round(self.monthly_usd, 4), "problems": list(self.problems)}


@dataclass
class CleanupReport:
    backend: str
    dry_run: bool
    deleted: list[Resource] = field(default_factory=list)  # (dry run: would be deleted)
    failed: list[tuple[Resource, str]] = field(default_factory=list)
    left: list[Resource] = field(default_factory=list)  # the inventory afterwards
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.dry_run and not self.failed and not self.left and not self.problems

    def summary(self) -> str:
        if self.dry_run:
            return (f"Dry run: {len(self.deleted)} resource(s) would be deleted; nothing was "
                    "changed.")
        text = f"Deleted {len(self.deleted)} resource(s)."
        if self.failed:
            text += f" {len(self.failed)} could not be deleted."
        text += (" Nothing is left." if not self.left and not self.problems
                 else f" {len(self.left)} left.")
        return text

    def to_json(self) -> dict[str, Any]:
        return {"backend": self.backend, "dry_run": self.dry_run, "clean": self.clean,
                "summary": self.summary(),
                "deleted": [r.to_json() for r in self.deleted],
                "failed": [{**r.to_json(), "reason": why} for r, why in self.failed],
                "left": [r.to_json() for r in self.left], "problems": list(self.problems)}


@dataclass(frozen=True)
class RunningEndpoint:
    name: str
    status: str
    instance_type: str = ""  # "" locally
    instance_count: int = 0
    hourly_usd: float | None = None  # None: free (local) or not in the price table

    @property
    def text(self) -> str:
        if not self.instance_type:
            return f"{self.name} ({self.status}, local: free)"
        price = (f", about ${self.hourly_usd:.3f}/h" if self.hourly_usd is not None else "")
        return f"{self.name} ({self.status}, {self.instance_count} × {self.instance_type}{price})"


class Cleanup(Protocol):
    backend: str

    def inventory(self) -> Inventory:
        """What the lab created for this workspace, with what each costs while it exists."""

    def delete_all(self, progress: Progress | None = None, dry_run: bool = False
                   ) -> CleanupReport:
        """Delete the inventory in dependency order (KINDS), waiting where deletion is
        asynchronous; report what was deleted, what could not be, and what is left."""

    def running_endpoints(self) -> list[RunningEndpoint]:
        """The workspace's endpoints that are up: cheap enough for every page."""


def forget_ingest(settings: Any) -> None:
    """After the feature groups are deleted: the workshop's ingest record goes too (the
    training step and the sidebar's progress read it)."""
    from pathlib import Path

    (Path(settings.workspace) / "featurestore" / "last_ingest.json").unlink(missing_ok=True)
