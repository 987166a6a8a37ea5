"""The CI command of `python -m lab`, ready for `lab/cli.py` to mount:

    python -m lab ci commit --param K=V ... [-m MESSAGE]   commit pipeline parameters
    python -m lab ci status                                what changed since the last build
    python -m lab ci trigger                               what a webhook does: when something
                                                           changed, run the gated pipeline

(`python -m lab pipeline run --gates` runs the gated pipeline directly.)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

Command = Callable[[argparse.Namespace, dict[str, Any]], None]


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def add_commands(sub: Any, common_options: Callable[[argparse.ArgumentParser], None]
                 ) -> dict[str, Command]:
    ci = sub.add_parser("ci", help="CI/CD in small: commit parameters, trigger the gated "
                        "pipeline on a change")
    ci.add_argument("action", choices=("commit", "status", "trigger"))
    ci.add_argument("--param", action="append", metavar="K=V",
                    help="commit: a pipeline parameter, e.g. MaxDepth=6")
    ci.add_argument("-m", "--message", default="", help="commit: what changed and why")
    common_options(ci)
    return {"ci": cmd_ci}


def cmd_ci(args: argparse.Namespace, out: dict[str, Any]) -> None:
    from lab import jobs
    from lab.errors import LabError
    from lab.pipelines import (
        ci_commit,
        ci_status,
        ci_trigger_job,
        execution_json,
        execution_of,
        parse_params,
        summary,
    )
    from lab.settings import load_settings

    settings = load_settings(args.workspace, args.backend)
    if args.action == "commit":
        out["commit"] = ci_commit(settings, parse_params(args.param), args.message)
        _log(f"committed {out['commit']['id']}: {out['commit']['parameters'] or 'defaults'}")
    elif args.action == "status":
        out["ci"] = ci_status(settings).to_json()
        if not args.json:
            print(json.dumps(out["ci"], indent=2))
    else:
        status = ci_status(settings)
        job = jobs.run(settings, ci_trigger_job(settings), _log)
        execution = execution_of(settings, job)
        if execution is None:
            job.outcome("gated pipeline job")
            raise LabError("The gated pipeline job left no execution.")
        out["changes"] = status.changes
        out.update(execution_json(execution))
        _log(json.dumps(summary(execution)))
        if execution.status != "Succeeded":
            raise LabError(f"The build's pipeline execution {execution.id} "
                           f"{execution.status}: {execution.failure or 'see its steps'}")
