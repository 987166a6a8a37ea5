"""`python -m lab`: every step a button runs, as a command.

    python -m lab prep     [data options] [--json]    prepare the data in-process
    python -m lab process  [data options] [--instance-count N] [--json]
                                                      the same as a processing job, then compared
    python -m lab run-all  [data options] [--json]    every step built so far, in lab order
    python -m lab bench    [--runs N] [--json]        speed figures (median and p99)

With --json, stdout holds exactly one JSON object; progress and job logs go to stderr.
Errors exit with status 2 and a one-line message on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from lab.errors import LabError

EXIT_USAGE = 2


def _data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", metavar="CSV", help="a CSV to use instead of the generated data")
    p.add_argument("--target", metavar="COL", help="target column (default PRICE)")
    p.add_argument("--train-size", type=float, default=0.6)
    p.add_argument("--val-size", type=float, default=0.2)
    p.add_argument("--test-size", type=float, default=0.2)
    p.add_argument("--random-state", type=int, default=42)
    _common_options(p)


def _common_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", metavar="DIR", help="workspace folder (default: "
                   "$LAB_WORKSPACE or ./workspace)")
    p.add_argument("--backend", choices=("local", "sagemaker"), help="default: $LAB_BACKEND "
                   "or local")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _data_options(sub.add_parser("prep", help="prepare the data in-process"))
    process = sub.add_parser("process", help="prepare the data as a processing job")
    _data_options(process)
    process.add_argument("--instance-count", type=int, default=1)
    _data_options(sub.add_parser("run-all", help="run every built step in lab order"))
    bench = sub.add_parser("bench", help="measure the lab's speed figures")
    bench.add_argument("--runs", type=int, default=None, help="runs per figure")
    bench.add_argument("--only", metavar="TEXT", help="only figures whose name contains TEXT")
    _common_options(bench)
    return parser


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _context(args):
    from lab.prep import PrepParams, choose_target, use_dataset
    from lab.settings import load_settings
    from lab.workspace import Workspace

    settings = load_settings(args.workspace, args.backend)
    ws = Workspace(settings.workspace)
    params = PrepParams(args.train_size, args.val_size, args.test_size,
                        args.random_state).validate()
    if args.data:
        from lab.dataset import DEFAULT_TARGET, read_csv_path

        df = read_csv_path(args.data)
        use_dataset(ws, df, Path(args.data).name, args.target or DEFAULT_TARGET, "file", params)
    elif args.target:
        choose_target(ws, args.target, params)
    return settings, ws, params


def cmd_prep(args, out: dict[str, Any]) -> None:
    from lab.prep import run_prep

    _, ws, params = _context(args)
    started = time.perf_counter()
    result = run_prep(ws, params)
    out["prep"] = result.to_json()
    out.setdefault("timings_s", {})["prep"] = round(time.perf_counter() - started, 4)
    _log(f"prep: {result.rows} rows written to {ws.processed_dir}")


def cmd_process(args, out: dict[str, Any], settings_params=None) -> None:
    from lab.processing import run_processing_job

    settings, _, params = settings_params or _context(args)
    job = run_processing_job(settings, params, getattr(args, "instance_count", 1), echo=_log)
    out["processing"] = {"job_id": job.job_id, "status": job.status,
                         **{k: v for k, v in (job.result or {}).items()}}
    out.setdefault("timings_s", {})["processing"] = round(job.duration_s, 4)
    if job.error:
        raise LabError(f"processing job {job.job_id} {job.status.lower()}: {job.error}")
    _log(f"processing: job {job.job_id} {job.status}, outputs match in-process: "
         f"{job.result['match']}")


def cmd_run_all(args, out: dict[str, Any]) -> None:
    context = _context(args)
    args.data = None  # already adopted by _context; the steps below use the active dataset
    args.target = None
    cmd_prep(args, out)
    cmd_process(args, out, context)


def cmd_bench(args, out: dict[str, Any]) -> None:
    from lab.bench import run_bench

    out.update(run_bench(args.workspace, runs=args.runs, only=args.only, log=_log))


COMMANDS = {"prep": cmd_prep, "process": cmd_process, "run-all": cmd_run_all,
            "bench": cmd_bench}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out: dict[str, Any] = {}
    try:
        COMMANDS[args.command](args, out)
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(out, indent=2, default=str))
    elif args.command == "bench":
        from lab.bench import format_table

        print(format_table(out["figures"]))
    return 0
