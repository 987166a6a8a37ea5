"""`python -m lab`: every step a button runs, as a command.

    python -m lab prep     [data options] [--json]    prepare the data in-process
    python -m lab process  [data options] [--instance-count N] [--json]
                                                      the same as a processing job, then compared
    python -m lab features ingest [--recreate]        feature groups from the prepared data
    python -m lab features query [--sql SQL]          SQL on the offline store
    python -m lab features get --group G --id N       one record from the online store
    python -m lab train [--algorithm A] [--hp NAME=VALUE ...] [--instance-count N]
                                                      a training job + experiment run
                                                      (N > 1: XGBoost on N workers)
    python -m lab tune  [--algorithm A] [--range NAME=LO:HI ...] [--max-jobs N]
                        [--max-parallel-jobs N] [--strategy S]   a tuning job
    python -m lab register  [--run RUN_ID] [--group G]       register the best run (or RUN_ID)
    python -m lab approve   --version N [--reject | --pending] [--comment TEXT]
    python -m lab deploy    [--version N] [--endpoint NAME]  default: latest Approved version
    python -m lab invoke    [--endpoint NAME] (--rows N | --record-id ID | --body CSV)
    python -m lab endpoints [--delete NAME]
    python -m lab serve     [--port N]                       the local runtime, in the foreground
    python -m lab rollout   [--strategy canary|linear|all] [--break]   a guarded rollout
    python -m lab drift     [--shift F=STDDEVS ...] [--missing F=FRACTION ...]
                                                      the test split against the baseline
    python -m lab monitor   [--capture on|off] [--send N]   data capture, traffic, drift
    python -m lab pipeline run [--param K=V ...] [--deploy]  an execution (or of the deploy one)
    python -m lab pipeline list | describe ID | retry ID | definition [--backend sagemaker]
                                                             [--out DIR] [--gates]
    python -m lab ci commit --param K=V ... | ci status | ci trigger   CI/CD, in small
    python -m lab scale    [--rows R] [--workers 1,2] [--rounds N]
                                                      time processing and training against
                                                      the number of workers (this machine)
    python -m lab teams ACTION [TEAM] ...              many teams on one platform (teams cli)
    python -m lab run-all  [data options] [--skip STEP] [--json]
                                                      every step built so far, in lab order
    python -m lab check    [--json]                   the connection check (SageMaker: AWS calls)
    python -m lab cleanup  [--dry-run] [--json]       delete what the lab created (or list it)
    python -m lab bench    [--quick] [--runs N] [--only TEXT] [--json]
                                                      speed figures against naive references
    python -m lab load --attendees N [--burst] [--minutes M] [--url URL] [--json]
                                                      a room of attendees on a workshop server
    python -m lab export-notebook [--target local|sagemaker] -o FILE.ipynb
                                                      the lab as a Jupyter notebook, to take home

With --json, stdout holds exactly one JSON object; progress and job logs go to stderr.
Errors exit with status 2 and a one-line message on stderr (with --json, a command that
got as far as a result, such as a pipeline execution that Failed, still prints it, with
an "error" key). An AWS error is such a one-line message too; only a bug in the lab exits
with status 1 and its trace on stderr. Two `run-all` in one workspace run one after the
other, each with its own data.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.settings import BACKENDS

EXIT_USAGE = 2
EXIT_BUG = 1


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
    p.add_argument("--backend", choices=BACKENDS, help="default: $LAB_BACKEND "
                   "or local")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _data_options(sub.add_parser("prep", help="prepare the data in-process"))
    process = sub.add_parser("process", help="prepare the data as a processing job")
    _data_options(process)
    process.add_argument("--instance-count", type=int, default=1)
    features = sub.add_parser("features", help="the feature store: ingest, query, get")
    fsub = features.add_subparsers(dest="action", required=True)
    ingest = fsub.add_parser("ingest", help="create the groups and ingest the prepared data")
    ingest.add_argument("--recreate", action="store_true",
                        help="delete and create the groups again first")
    query = fsub.add_parser("query", help="run SQL on the offline store")
    query.add_argument("--sql", help="default: the workshop's query on the train group")
    query.add_argument("--limit", type=int, default=100, help="rows printed (JSON: data rows)")
    get = fsub.add_parser("get", help="get one record from the online store")
    get.add_argument("--group", default="train", help="train, validation, test or a group name")
    get.add_argument("--id", required=True, help="the record_id")
    for p in (ingest, query, get):
        _common_options(p)
    train = sub.add_parser("train", help="a training job, recorded as an experiment run")
    train.add_argument("--algorithm", default="xgboost", help="xgboost or random_forest")
    train.add_argument("--hp", action="append", metavar="NAME=VALUE", help="a hyperparameter")
    train.add_argument("--experiment", help="experiment name")
    train.add_argument("--instance-count", type=int, default=1,
                       help="workers (instances) that train together: XGBoost only")
    _common_options(train)
    scale = sub.add_parser("scale", help="measure processing and training time against the "
                           "number of workers, on a generated dataset")
    scale.add_argument("--rows", type=int, default=100_000)
    scale.add_argument("--workers", default="1,2", help="worker counts, e.g. 1,2,4")
    scale.add_argument("--rounds", type=int, default=50, help="XGBoost boosting rounds")
    scale.add_argument("--max-depth", type=int, default=5)
    _common_options(scale)
    tune = sub.add_parser("tune", help="automatic model tuning (default: the workshop's job)")
    tune.add_argument("--algorithm", default="xgboost", help="xgboost or random_forest")
    tune.add_argument("--range", action="append", metavar="NAME=LO:HI[:log]|A,B,C",
                      help="a hyperparameter range (default: the workshop's ranges)")
    tune.add_argument("--hp", action="append", metavar="NAME=VALUE",
                      help="a fixed hyperparameter")
    tune.add_argument("--objective", default="mse")
    tune.add_argument("--max-jobs", type=int, default=4)
    tune.add_argument("--max-parallel-jobs", type=int, default=2)
    tune.add_argument("--strategy", default="Bayesian", help="Bayesian, Random or Grid")
    _common_options(tune)
    from lab.serving.cli import add_commands

    COMMANDS.update(add_commands(sub, _common_options))
    from lab.monitoring.cli import add_commands as add_monitoring_commands
    from lab.pipelines.cli import add_commands as add_ci_commands

    COMMANDS.update(add_monitoring_commands(sub, _common_options))
    COMMANDS.update(add_ci_commands(sub, _common_options))
    from lab.teams.cli import add_commands as add_team_commands

    COMMANDS.update(add_team_commands(sub, _common_options))
    from lab.load.cli import add_commands as add_load

    COMMANDS.update(add_load(sub))
    pipe = sub.add_parser("pipeline", help="the workshop's pipeline: run, list, describe, "
                          "definition")
    pipe.add_argument("action", choices=("run", "list", "describe", "definition", "retry"))
    pipe.add_argument("execution_id", nargs="?", help="for describe and retry")
    pipe.add_argument("--out", metavar="DIR", help="definition: write DIR/definition.json and "
                      "what it reads (SageMaker: every S3 object, as DIR/s3/<bucket>/<key>)")
    pipe.add_argument("--param", action="append", metavar="K=V",
                      help="a pipeline parameter, e.g. MaxDepth=6 or MseThreshold=1e8")
    pipe.add_argument("--deploy", action="store_true",
                      help="the deployment pipeline instead of the training one")
    pipe.add_argument("--gates", action="store_true", help="the training pipeline with its "
                      "quality gates (data quality, model quality)")
    pipe.add_argument("--data", metavar="CSV", help="a CSV to use (becomes the active dataset)")
    pipe.add_argument("--target", metavar="COL", help="target column (default PRICE)")
    _common_options(pipe)
    run_all = sub.add_parser("run-all", help="run every built step in lab order")
    _data_options(run_all)
    run_all.add_argument("--skip", action="append", metavar="STEP", default=[],
                         help="a step not to run (e.g. pipelines); repeatable")
    check = sub.add_parser("check", help="check the connection to the backend's service")
    _common_options(check)
    cleanup = sub.add_parser("cleanup", help="list what the lab created for the workspace, "
                             "with its cost, and delete it")
    cleanup.add_argument("--dry-run", action="store_true",
                         help="only list what would be deleted")
    _common_options(cleanup)
    export = sub.add_parser("export-notebook", help="write the lab, with your parameters, as "
                            "a Jupyter notebook")
    export.add_argument("--target", choices=("local", "sagemaker"), default="local",
                        help="local: calls the lab (runs anywhere it is installed); "
                        "sagemaker: the workshop's SDK v2 code")
    export.add_argument("-o", "--output", required=True, metavar="FILE.ipynb")
    _common_options(export)
    bench = sub.add_parser("bench", help="measure the lab's speed figures")
    bench.add_argument("--runs", type=int, default=None, help="runs per figure")
    bench.add_argument("--only", metavar="TEXT", help="only figures whose name contains TEXT")
    bench.add_argument("--quick", action="store_true",
                       help="fewer runs and smaller scale curves (under 2 minutes)")
    bench.add_argument("--save", action="store_true",
                       help="save a selection (--only) as the workspace's latest run too")
    _common_options(bench)
    return parser


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _quiet(line: str) -> None:
    """Job logs on stderr, without the per-round curve lines of training."""
    if not line.startswith("["):
        _log(line)


def _settings(args):
    from lab.settings import load_settings

    return load_settings(args.workspace, args.backend)


def _adopt_dataset(args, settings) -> Any:
    """--data / --target: make that CSV (or column) the active dataset, checked first with
    the split options, as the page's upload does. Returns the checked PrepParams."""
    from lab.processing import PrepParams, choose_target, use_dataset
    from lab.workspace import Workspace

    ws = Workspace(settings.workspace)
    # `pipeline run` has no split options of its own: its split sizes are pipeline parameters
    given = {name: getattr(args, name) for name in ("train_size", "val_size", "test_size",
                                                    "random_state") if hasattr(args, name)}
    params = PrepParams(**given).validate()
    if args.data:
        from lab.dataset import DEFAULT_TARGET, read_csv_path

        df = read_csv_path(args.data)
        use_dataset(ws, df, Path(args.data).name, args.target or DEFAULT_TARGET, "file", params)
    elif args.target:
        choose_target(ws, args.target, params)
    return params


def _merge(out: dict[str, Any], part: dict[str, Any]) -> None:
    out.setdefault("timings_s", {}).update(part.pop("timings_s", {}))
    out.update(part)


def cmd_prep(args, out: dict[str, Any]) -> None:
    from lab.processing import run_all_prep

    settings = _settings(args)
    _merge(out, run_all_prep(settings, {"prep_params": _adopt_dataset(args, settings)}, _log))


def cmd_process(args, out: dict[str, Any]) -> None:
    from lab.processing import run_all_processing

    settings = _settings(args)
    _merge(out, run_all_processing(settings, {"prep_params": _adopt_dataset(args, settings),
                                              "instance_count": args.instance_count}, _log))


def cmd_features(args, out: dict[str, Any]) -> None:
    from lab.featurestore import group_names, open_featurestore, run_all_step, workshop_query

    settings = _settings(args)
    if args.action == "ingest":
        _merge(out, run_all_step(settings, {"recreate": args.recreate}, _log))
        return
    from lab.processing import read_meta
    from lab.workspace import Workspace

    if args.action == "query" and not 1 <= args.limit <= 1_000_000:
        raise LabError("--limit takes 1 to 1,000,000 rows.")
    store, names = open_featurestore(settings), group_names(settings)
    if args.action == "query":
        sql = args.sql
        if not sql:
            meta = read_meta(Workspace(settings.workspace).processed_dir)
            if meta is None:
                raise LabError("There is no prepared data yet: run `python -m lab prep`.")
            sql = workshop_query(names["train"], meta["columns"])
        result = store.query(sql)
        out["query"] = result.to_json(limit=args.limit)
        if not args.json:
            print(result.frame.head(args.limit).to_string(index=False))
            _log(f"{result.rows} rows in {result.seconds * 1000:.1f} ms")
    else:
        record = store.get_record(names.get(args.group, args.group), args.id)
        out["record"] = record.to_json()
        if not args.json:
            for key, value in record.values.items():
                print(f"{key:>24}  {value}")
            _log(f"lookup took {record.seconds * 1000:.2f} ms")


def cmd_train(args, out: dict[str, Any]) -> None:
    from lab.training import parse_hyperparameters, run_all_step

    options = {"algorithm": args.algorithm,
               "hyperparameters": parse_hyperparameters(args.hp) or None,
               "experiment": args.experiment, "instance_count": args.instance_count}
    _merge(out, run_all_step(_settings(args), options, _quiet))
    t = out["training"]
    _log(f"training: run {t['run_id']}: test mse {t['metrics']['mse']:.4g}, "
         f"r2 {t['metrics']['r2']:.4f}; artifact {t['artifact']}")
    for w in t.get("workers", []):
        _log(f"  {w['host']}: {w['train_rows']:,} train rows, {w['validation_rows']:,} "
             "validation rows")


def cmd_scale(args, out: dict[str, Any]) -> None:
    from lab import jobs
    from lab.scaling import scale_job

    settings = _settings(args)
    job = jobs.run(settings, scale_job(settings, args.rows, args.workers, args.rounds,
                                       args.max_depth), _log)
    out["scale"] = job.outcome("scale job")
    for p in out["scale"]["points"]:
        _log(f"{p['workers']} worker(s): processing {p['processing_s']:.2f} s, training "
             f"{p['training_s']:.2f} s, test MSE {p['test_mse']:,.0f}")
    if not args.json:
        print(json.dumps(out["scale"]["checks"]))


def cmd_tune(args, out: dict[str, Any]) -> None:
    from lab.training import parse_hyperparameters
    from lab.tuning import parse_ranges, run_all_step

    spec = dict(algorithm_key=args.algorithm, ranges=parse_ranges(args.algorithm, args.range),
                static=parse_hyperparameters(args.hp) or None, objective=args.objective,
                max_jobs=args.max_jobs, max_parallel_jobs=args.max_parallel_jobs,
                strategy=args.strategy)
    _merge(out, run_all_step(_settings(args), {"tuning": spec}, _quiet))
    best = out["tuning"]["best"]
    _log(f"tuning: {out['tuning']['trials']} trials; best {best['hyperparameters']} "
         f"({args.objective} {best.get(args.objective)})")


def cmd_pipeline(args, out: dict[str, Any]) -> None:
    from lab import jobs, pipelines

    settings = _settings(args)
    name = pipelines.DEPLOY_PIPELINE.name if args.deploy else pipelines.TRAINING_PIPELINE.name
    if args.action == "definition" and args.out:
        out["export"] = pipelines.export_definition(settings, args.out, name,
                                                    pipelines.parse_params(args.param),
                                                    args.gates)
        _log(f"wrote {out['export']['definition']} and {len(out['export']['objects'])} "
             "object(s)")
    elif args.action == "definition":
        out["definition"] = pipelines.definition_json(settings, name,
                                                      pipelines.parse_params(args.param),
                                                      args.gates)
        if not args.json:
            print(json.dumps(out["definition"], indent=2))
    elif args.action == "retry":
        if not args.execution_id:
            raise LabError("pipeline retry needs an execution id (see `pipeline list`).")
        job = jobs.run(settings, pipelines.retry_job(settings, args.execution_id), _quiet)
        job.outcome("pipeline retry")
        out.update(pipelines.execution_json(
            pipelines.describe_execution(settings, args.execution_id)))
    elif args.action == "list":
        out["executions"] = [e.to_json() for e in pipelines.list_executions(settings)]
        if not args.json:
            for e in out["executions"]:
                print(f"{e['execution_id']}  {e['pipeline']:<24} {e['status']:<10} "
                      f"{e['duration_s']:.1f} s")
    elif args.action == "describe":
        if not args.execution_id:
            raise LabError("pipeline describe needs an execution id (see `pipeline list`).")
        execution = pipelines.describe_execution(settings, args.execution_id)
        out.update(pipelines.execution_json(execution))
        if not args.json:
            print(json.dumps(out, indent=2, default=str))
    else:
        if args.data or args.target:
            _adopt_dataset(args, settings)  # the CSV / target, checked first, as run-all does
        spec = pipelines.pipeline_job(settings, pipelines.parse_params(args.param), name=name,
                                      gated=args.gates)
        job = jobs.run(settings, spec, _quiet)
        execution = pipelines.execution_of(settings, job)
        if execution is None:
            job.outcome("pipeline job")
            raise LabError("The pipeline job left no execution.")
        out.update(pipelines.execution_json(execution))
        _log(json.dumps(pipelines.summary(execution)))
        if execution.status != "Succeeded":
            raise LabError(f"The pipeline execution {execution.id} {execution.status}: "
                           f"{execution.failure or 'see `pipeline describe` for its steps'}")


def cmd_run_all(args, out: dict[str, Any]) -> None:
    from lab.steps import run_all, warm_up_runners
    from lab.workspace import Workspace, locked

    settings = _settings(args)
    warm_up_runners(settings)
    # Every step reads what the one before left in the workspace (the active dataset, the
    # prepared data, the groups): a second run-all waits, instead of mixing in its data.
    with locked(Workspace(settings.workspace).root,
                lambda: _log("run-all: waiting for the other run-all in this workspace")):
        options = {"prep_params": _adopt_dataset(args, settings),  # adopted once, used by all
                   "skip": args.skip}
        _merge(out, run_all(settings, options, _quiet))


def cmd_export_notebook(args, out: dict[str, Any]) -> None:
    from lab.export import write_notebook

    path = write_notebook(_settings(args), args.output, args.target)
    out.update(notebook=str(path), target=args.target)
    _log(f"wrote {path} ({args.target} notebook)")


def cmd_check(args, out: dict[str, Any]) -> int:
    """Exit status 0 when every check passed (or could not tell), 1 when one failed."""
    from lab.backends import check_connection

    out.update(check_connection(_settings(args)))
    marks = {"passed": "ok  ", "failed": "FAIL", "unknown": "??  ", "skipped": "--  "}
    for check in out["checks"]:
        line = f"{marks[check['status']]} {check['name']}: {check['message']}"
        print(line + (f" Fix: {check['fix']}" if check["fix"] and check["status"] != "passed"
                      else ""), file=sys.stderr if args.json else sys.stdout)
    return 0 if out["ok"] else 1


def cmd_cleanup(args, out: dict[str, Any]) -> int:
    """Exit status 0 when nothing is left (or on a dry run), 1 when something is."""
    from lab import jobs
    from lab.cleanup import cleanup_job

    settings = _settings(args)
    report = jobs.run(settings, cleanup_job(settings, args.dry_run), _log).outcome("cleanup")
    out.update(report)
    for resource in report["deleted"] if args.dry_run else report["left"]:
        print(f"{resource['kind']:<20} {resource['name']}  [{resource['cost']}]",
              file=sys.stderr if args.json else sys.stdout)
    return 0 if args.dry_run or report["clean"] else 1


def cmd_bench(args, out: dict[str, Any]) -> None:
    from lab.bench import run_bench
    from lab.settings import load_settings

    # It measures in a scratch workspace. A whole run is saved in the workspace (the app's
    # Performance page shows it); a selection (--only) is not, so it never replaces a
    # whole run.
    save_to = None if args.only and not args.save else load_settings(args.workspace).workspace
    out.update(run_bench(runs=args.runs, only=args.only, log=_log, quick=args.quick,
                         save_to=save_to))


COMMANDS = {"prep": cmd_prep, "process": cmd_process, "features": cmd_features,
            "train": cmd_train, "tune": cmd_tune, "pipeline": cmd_pipeline,
            "run-all": cmd_run_all, "check": cmd_check, "cleanup": cmd_cleanup,
            "scale": cmd_scale,
            "bench": cmd_bench, "export-notebook": cmd_export_notebook}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out: dict[str, Any] = {}
    try:
        status = COMMANDS[args.command](args, out)  # check and cleanup return a status
    except LabError as exc:
        return _failed(args, out, str(exc))
    except Exception as exc:  # noqa: BLE001 - AWS errors become one line; bugs keep a trace
        translated = _aws_error(exc)
        if translated is not None:
            return _failed(args, out, str(translated))
        print(f"error: unexpected {type(exc).__name__} (a bug in the lab); the trace "
              "follows", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        return EXIT_BUG
    if args.json:
        print(json.dumps(out, indent=2, default=str))
    elif args.command == "bench":
        from lab.bench import format_curves, format_table

        print(format_table(out["figures"]) + format_curves(out.get("curves") or {}))
    return status if isinstance(status, int) else 0


def _failed(args, out: dict[str, Any], message: str) -> int:
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    if getattr(args, "json", False) and out:
        print(json.dumps({**out, "error": message}, indent=2, default=str))
    return EXIT_USAGE


def _aws_error(exc: Exception) -> LabError | None:
    """The lab's error for a botocore error raised outside a twin's translation (an
    unreachable endpoint, say); None for anything else. botocore is only looked at if the
    command already imported it."""
    if "botocore" not in sys.modules:
        return None
    from lab.aws.errors import translate

    return translate(exc)
