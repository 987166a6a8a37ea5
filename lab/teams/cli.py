"""`python -m lab teams ...`: what the teams section of the Scalable page does, as commands.

    python -m lab teams create NAME                   a team (and its workspace folder)
    python -m lab teams list                          the teams and their projects
    python -m lab teams stamp TEAM [--param K=V ...]  its pipeline from the project template
    python -m lab teams publish TEAM                  its feature group in the shared store
    python -m lab teams register TEAM [--run RUN_ID]  a model into its own group
    python -m lab teams approve TEAM --group G --version N [--reject]
    python -m lab teams ingest TEAM --group G         write into a feature group (own only)
    python -m lab teams read TEAM --group G           read any shared feature group
    python -m lab teams models TEAM --group G         read any shared model group
    python -m lab teams ownership                     who owns and who uses what

A refused action (a team changing what another owns) is the lab's one-line error, exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

ACTIONS = ("create", "list", "stamp", "publish", "register", "approve", "ingest", "read",
           "models", "ownership")


def add_commands(sub: Any, common_options: Callable[[argparse.ArgumentParser], None]
                 ) -> dict[str, Callable[[argparse.Namespace, dict[str, Any]], None]]:
    teams = sub.add_parser("teams", help="many teams on one platform: teams, projects, "
                           "shared feature groups and models, who owns and uses what")
    teams.add_argument("action", choices=ACTIONS)
    teams.add_argument("team", nargs="?", help="the team acting (create: its name)")
    teams.add_argument("--group", help="a shared feature group or model package group")
    teams.add_argument("--version", type=int, help="approve: the model version")
    teams.add_argument("--reject", action="store_true", help="approve: set Rejected")
    teams.add_argument("--run", metavar="RUN_ID", help="register: a training run")
    teams.add_argument("--param", action="append", metavar="K=V",
                       help="stamp: a pipeline parameter's default for the team")
    common_options(teams)
    return {"teams": cmd_teams}


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def cmd_teams(args: argparse.Namespace, out: dict[str, Any]) -> None:
    from lab import teams
    from lab.errors import InputError
    from lab.settings import load_settings

    settings = load_settings(args.workspace, args.backend)
    if args.action in ("list", "ownership"):
        out["teams"] = [dict(t.to_json(), project=(p.to_json() if (p := teams.project_of(
            settings, t.name)) else None)) for t in teams.list_teams(settings)]
        out["ownership"] = teams.ownership_rows(settings)
        for row in out["ownership"] if args.action == "ownership" else []:
            _log(f"{row['kind']:<20} {row['resource']:<32} owner {row['owner']:<10} "
                 f"used by {row['used by']}")
        return
    if not args.team:
        raise InputError(f"teams {args.action} needs the team's name.")
    needs_group = args.action in ("approve", "ingest", "read", "models")
    if needs_group and not args.group:
        raise InputError(f"teams {args.action} needs --group (see `teams ownership`).")
    if args.action == "create":
        out["team"] = teams.create_team(settings, args.team).to_json()
    elif args.action == "stamp":
        from lab.pipelines import parse_params

        out["project"] = teams.stamp_project(settings, args.team,
                                             parse_params(args.param)).to_json()
    elif args.action == "publish":
        out["published"] = teams.publish_features(settings, args.team)
    elif args.action == "register":
        out["version"] = teams.register_for_team(settings, args.team, args.run).to_json()
    elif args.action == "approve":
        if args.version is None:
            raise InputError("teams approve needs --version N.")
        from lab.registry import APPROVED, REJECTED

        out["version"] = teams.approve(settings, args.team, args.group, args.version,
                                       REJECTED if args.reject else APPROVED).to_json()
    elif args.action == "ingest":
        out["ingested"] = teams.ingest_again(settings, args.team, args.group)
    elif args.action == "read":
        out["read"] = teams.read_features(settings, args.team, args.group)
    else:
        out["versions"] = [v.to_json() for v in teams.read_model(settings, args.team,
                                                                 args.group)]
    _log(f"teams {args.action} {args.team}: done")
