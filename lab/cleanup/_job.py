"""The cleanup as a job (the Cleanup page's buttons and `python -m lab cleanup`): on
SageMaker it waits for endpoints and feature groups to be gone, minutes at times."""

from __future__ import annotations

from typing import Any

from lab import jobs
from lab.cleanup import open_cleanup

KIND = "cleanup"


def cleanup_job(settings: Any, dry_run: bool = False) -> jobs.JobSpec:
    """List (dry run) or delete what the lab created for the workspace; the result is the
    report's JSON (deleted, failed with reasons, left, problems)."""
    cleanup = open_cleanup(settings)

    def run(ctx: jobs.JobContext) -> dict[str, Any]:
        ctx.log(("Listing" if dry_run else "Deleting") + " what the lab created for this "
                f"workspace ({cleanup.label} backend)")

        def progress(fraction: float, message: str) -> None:
            ctx.progress(fraction, message)
            ctx.log(message)

        report = cleanup.delete_all(progress, dry_run=dry_run)
        for resource, reason in report.failed:
            ctx.log(f"Could not delete {resource.label}: {reason}")
        for problem in report.problems:
            ctx.log(problem)
        ctx.log(report.summary())
        return report.to_json()

    return jobs.JobSpec(KIND, {"dry_run": dry_run}, run)
