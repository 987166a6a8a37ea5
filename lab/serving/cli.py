"""The registry and endpoint commands of `python -m lab`, ready for `lab/cli.py` to mount:

    python -m lab register  [--run RUN_ID] [--group G]            the best run (or RUN_ID)
    python -m lab approve   --version N [--reject | --pending] [--comment TEXT] [--group G]
    python -m lab deploy    [--version N] [--endpoint NAME] [--group G]
                                                  default: the latest Approved version
    python -m lab invoke    [--endpoint NAME] (--rows N | --record-id ID | --body CSV)
    python -m lab endpoints [--delete NAME]
    python -m lab serve     [--workspace DIR] [--port N]   the local runtime, in the foreground
    python -m lab rollout   [--strategy canary|linear|all] [--break] [--version N]
                            [--canary-percent P] [--step-percent P] [--bake SECONDS]
                            [--max-error-rate R] [--max-p99-ms MS] [--rate R]
                            a safe rollout of the latest approved version (or a broken one),
                            under a steady stream of test rows; rolls back on a breach

Each command fills `out` (printed as JSON with --json) and logs to stderr, as the other
commands do; a LabError becomes the one-line message and exit status 2 of `lab.cli.main`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

Command = Callable[[argparse.Namespace, dict[str, Any]], None]


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _settings(args: argparse.Namespace):
    from lab.settings import load_settings

    return load_settings(args.workspace, getattr(args, "backend", None))


def add_commands(sub: Any, common_options: Callable[[argparse.ArgumentParser], None]
                 ) -> dict[str, Command]:
    """Add the parsers to `sub` (argparse subparsers); returns {command: function}."""
    register = sub.add_parser("register", help="register the best trained model")
    register.add_argument("--run", metavar="RUN_ID", help="a training run (default: the best)")
    approve = sub.add_parser("approve", help="approve (or reject) a model version")
    approve.add_argument("--version", type=int, required=True)
    choice = approve.add_mutually_exclusive_group()
    choice.add_argument("--reject", action="store_true", help="set Rejected instead")
    choice.add_argument("--pending", action="store_true", help="set PendingManualApproval")
    approve.add_argument("--comment", default="", help="why (kept in the history)")
    deploy = sub.add_parser("deploy", help="deploy an approved version to an endpoint")
    deploy.add_argument("--version", type=int, help="default: the latest Approved version")
    invoke = sub.add_parser("invoke", help="send rows to an endpoint")
    source = invoke.add_mutually_exclusive_group(required=True)
    source.add_argument("--rows", type=int, help="the first N rows of the test split "
                        "(offline store)")
    source.add_argument("--record-id", help="one record of the test split (online store)")
    source.add_argument("--body", metavar="CSV", help="CSV rows to send as they are")
    endpoints = sub.add_parser("endpoints", help="list the endpoints (or delete one)")
    endpoints.add_argument("--delete", metavar="NAME", help="delete this endpoint")
    for p in (register, approve, deploy):
        p.add_argument("--group", help="model package group (default: the workspace's)")
    for p in (deploy, invoke):
        p.add_argument("--endpoint", metavar="NAME", help="default: lab-housing-endpoint")
    for p in (register, approve, deploy, invoke, endpoints):
        common_options(p)
    rollout = sub.add_parser("rollout", help="roll a new approved version out with traffic "
                             "shifting and guardrails (automatic rollback)")
    rollout.add_argument("--strategy", choices=("canary", "linear", "all"), default="canary")
    rollout.add_argument("--break", dest="broken", action="store_true",
                         help="roll out a version broken on purpose (to see the rollback)")
    rollout.add_argument("--version", type=int, help="default: the latest Approved version")
    rollout.add_argument("--canary-percent", type=float, default=10.0)
    rollout.add_argument("--step-percent", type=float, default=25.0, help="linear steps")
    rollout.add_argument("--bake", type=float, default=5.0, help="seconds per step")
    rollout.add_argument("--max-error-rate", type=float, default=0.05,
                         help="guardrail: the new version's share of failed requests")
    rollout.add_argument("--max-p99-ms", type=float, default=200.0,
                         help="guardrail: the new version's p99 latency")
    rollout.add_argument("--rate", type=float, default=50.0,
                         help="test rows sent per second while it runs (0: none)")
    rollout.add_argument("--endpoint", metavar="NAME", help="default: lab-housing-endpoint")
    common_options(rollout)
    serve = sub.add_parser("serve", help="run the local runtime server in the foreground")
    serve.add_argument("--workspace", metavar="DIR", help="workspace folder (default: "
                       "$LAB_WORKSPACE or ./workspace)")
    serve.add_argument("--port", type=int, help="default: the port used last, or a free one")
    serve.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    return {"register": cmd_register, "approve": cmd_approve, "deploy": cmd_deploy,
            "invoke": cmd_invoke, "endpoints": cmd_endpoints, "serve": cmd_serve,
            "rollout": cmd_rollout}


def cmd_register(args: argparse.Namespace, out: dict[str, Any]) -> None:
    from lab.registry import register_model

    version = register_model(_settings(args), run_id=args.run, group=args.group)
    out["registry"] = version.to_json()
    _log(f"registered {version.label} ({version.algorithm}, test mse "
         f"{version.test_metrics.get('mse', float('nan')):,.0f}): {version.status}")


def cmd_approve(args: argparse.Namespace, out: dict[str, Any]) -> None:
    from lab.registry import APPROVED, PENDING, REJECTED, set_approval

    status = REJECTED if args.reject else PENDING if args.pending else APPROVED
    version = set_approval(_settings(args), args.version, status, args.comment, args.group)
    out["registry"] = version.to_json()
    _log(f"{version.label}: {version.status}" + (f" ({args.comment})" if args.comment else ""))


def cmd_deploy(args: argparse.Namespace, out: dict[str, Any]) -> None:
    from lab import jobs
    from lab.serving import deploy_job, latest_approved

    settings = _settings(args)
    version = args.version
    if version is None:
        version = latest_approved(settings, args.group).version
    job = jobs.run(settings, deploy_job(settings, version, args.endpoint, args.group), _log)
    out["deploy"] = {"job_id": job.job_id, "status": job.status, **(job.result or {})}
    job.outcome("deploy job")


def cmd_invoke(args: argparse.Namespace, out: dict[str, Any]) -> None:
    from lab.serving import invoke_endpoint, predict_offline, predict_online

    settings = _settings(args)
    if args.body is not None:
        answer = invoke_endpoint(settings, args.endpoint, args.body.replace("\\n", "\n"))
        out["invocation"] = answer.to_json()
        rows = [{"prediction": p} for p in answer.predictions]
        latency = answer.latency_s
    else:
        prediction = (predict_offline(settings, args.rows, args.endpoint) if args.rows
                      is not None else predict_online(settings, args.record_id, args.endpoint))
        out["invocation"] = prediction.to_json()
        rows, latency = prediction.rows, prediction.latency_s
    if not args.json:
        for row in rows:
            print("  ".join(f"{k}={v:,.2f}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in row.items()))
    _log(f"{len(rows)} prediction(s) in {latency * 1000:.1f} ms")


def cmd_endpoints(args: argparse.Namespace, out: dict[str, Any]) -> None:
    from lab.serving import delete_endpoint, list_endpoints

    settings = _settings(args)
    if args.delete:
        delete_endpoint(settings, args.delete)
        _log(f"deleted {args.delete}")
    found = list_endpoints(settings)
    out["endpoints"] = [e.to_json() for e in found]
    if not args.json:
        for e in found:
            print(f"{e.name:<32} {e.status:<10} {e.group}/{e.version}  "
                  f"{e.invocation_url or '(not served by a running lab process)'}")
        if not found:
            print("no endpoints")


def cmd_serve(args: argparse.Namespace, out: dict[str, Any]) -> None:
    from lab.serving import serve_forever

    serve_forever(_settings(args), args.port, lambda line: print(line, flush=True))


def cmd_rollout(args: argparse.Namespace, out: dict[str, Any]) -> None:
    """Prints the steps, the guardrails and their readings, and "rolled_back"."""
    from lab import jobs
    from lab.serving import RolloutPlan, rollout_job

    settings = _settings(args)
    plan = RolloutPlan(args.strategy, args.canary_percent, args.step_percent, args.bake,
                       args.max_error_rate, args.max_p99_ms)
    job = jobs.run(settings, rollout_job(settings, args.version, plan, args.broken, args.rate,
                                         args.endpoint), _log)
    out.update(job.outcome("rollout job"))
    if not args.json:
        for step in out["steps"]:
            rate = "n/a" if step["error_rate"] is None else f"{step['error_rate']:.1%}"
            print(f"{step['share']:>5.0%}  {step['requests']:>5} requests  error rate "
                  f"{rate:>6}  p99 {step['p99_ms'] or 'n/a'} ms  {step['breached'] or 'ok'}")
        print(f"rolled back: {out['rolled_back']}" + (f" ({out['reason']})"
                                                       if out["reason"] else ""))
