"""The drift and monitoring commands of `python -m lab`, ready for `lab/cli.py` to mount:

    python -m lab drift   [--shift F=STDDEVS ...] [--scale F=FACTOR ...] [--missing F=FRACTION]
                          [--split test] [--upload CSV] [--baseline] [--save-dataset NAME]
                          the test split (or an uploaded batch) against the training
                          baseline, after the changes asked for
    python -m lab monitor [--capture on|off] [--sampling PERCENT] [--send N] [--rate R]
                          [--shift F=STDDEVS ...] [--scale ...] [--missing ...]
                          the endpoint's data capture, "send traffic", and its monitoring view

`drift --json` prints {"drift": {FEATURE: {"psi": x, "ks": x, "drifted": bool}}}.
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


def _change_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--shift", action="append", metavar="FEATURE=STDDEVS",
                   help="move a feature by this many of its baseline standard deviations")
    p.add_argument("--scale", action="append", metavar="FEATURE=FACTOR",
                   help="multiply a feature's values (a unit change)")
    p.add_argument("--missing", action="append", metavar="FEATURE=FRACTION",
                   help="remove this share of a feature's values")


def add_commands(sub: Any, common_options: Callable[[argparse.ArgumentParser], None]
                 ) -> dict[str, Command]:
    drift = sub.add_parser("drift", help="drift of a batch against the training baseline")
    _change_options(drift)
    drift.add_argument("--split", default="test", help="the prepared split to compare "
                       "(default test)")
    drift.add_argument("--upload", metavar="CSV", help="compare this batch instead (a CSV "
                       "with a header, in the data's units)")
    drift.add_argument("--baseline", action="store_true",
                       help="make the baseline again from the training split first")
    drift.add_argument("--save-dataset", metavar="NAME",
                       help="also store the active dataset with these changes as a dataset "
                       "(the gated pipeline's InputData)")
    monitor = sub.add_parser("monitor", help="the endpoint's data capture, traffic and drift")
    monitor.add_argument("--capture", choices=("on", "off"), help="turn data capture on/off")
    monitor.add_argument("--sampling", type=float, default=100.0,
                         help="the share of requests captured, in percent (default 100)")
    monitor.add_argument("--send", type=int, metavar="N", help="send N test rows first")
    monitor.add_argument("--rate", type=float, default=100.0, help="requests a second")
    monitor.add_argument("--endpoint", metavar="NAME", help="default: the lab's endpoint")
    _change_options(monitor)
    for p in (drift, monitor):
        common_options(p)
    return {"drift": cmd_drift, "monitor": cmd_monitor}


def _changes(args: argparse.Namespace):
    from lab.monitoring import parse_changes

    return parse_changes(args.shift, args.scale, args.missing)


def cmd_drift(args: argparse.Namespace, out: dict[str, Any]) -> None:
    from lab.monitoring import drift_report, drifted_dataset, make_baseline

    settings = _settings(args)
    changes = _changes(args)
    if args.baseline:
        make_baseline(settings)
    upload = None
    if args.upload:
        from pathlib import Path

        path = Path(args.upload)
        try:
            upload = (path.read_bytes(), path.name)
        except OSError as exc:
            from lab.errors import InputError

            raise InputError(f"Cannot read {args.upload}: {exc.strerror}.") from None
    report = drift_report(settings, changes, args.split, upload)
    out.update(report.summary())
    if args.save_dataset:
        info = drifted_dataset(settings, changes, args.save_dataset)
        out["dataset"] = info.name
        _log(f"stored the drifted dataset as {info.name} (pipeline parameter InputData)")
    if not args.json:
        print(f"{report.source} ({report.changes}), {report.rows:,} rows; thresholds PSI "
              f"{report.thresholds['psi']:g}, KS {report.thresholds['ks']:g}")
        for name, f in report.features.items():
            ks = "n/a" if f["ks"] is None else f"{f['ks']:.3f}"
            print(f"{name:<24} PSI {f['psi']:>8.3f}  KS {ks:>6}  "
                  f"{'DRIFTED' if f['drifted'] else 'ok'}")
    if not report.judged:
        _log(f"only {report.rows} rows: drift is judged from {report.thresholds['min_rows']} "
             "rows on")


def cmd_monitor(args: argparse.Namespace, out: dict[str, Any]) -> None:
    from lab import jobs
    from lab.monitoring import monitoring_view, traffic_job
    from lab.serving import CaptureConfig, default_endpoint, open_endpoints

    settings = _settings(args)
    name = args.endpoint or default_endpoint(settings)
    endpoints = open_endpoints(settings)
    if args.capture:
        config = CaptureConfig(enabled=args.capture == "on",
                               sampling_percentage=args.sampling)
        found = endpoints.set_capture(name, config)
        _log(f"data capture {'on' if found.enabled else 'off'} for {name} "
             f"({found.sampling_percentage:g}% of requests) -> {found.destination}")
    if args.send:
        job = jobs.run(settings, traffic_job(settings, args.send, args.rate, _changes(args),
                                             name), _log)
        out["traffic"] = job.outcome("traffic job")
        _settle(settings, name, out["traffic"]["answered"])
    view = monitoring_view(settings, name)
    out["monitoring"] = view.to_json()
    if not args.json:
        print(f"{name}: {view.requests} requests, {view.errors} errors in the last 15 "
              f"minutes; {len(view.captures)} captured requests")
        if view.drift is not None:
            print(f"captured inputs: drifted {', '.join(view.drift.drifted) or 'none'}")
        if view.note:
            print(view.note)


def _settle(settings: Any, name: str, answered: int) -> None:
    """Wait (briefly) until the server's metrics count what was just sent."""
    from lab.monitoring import settled_view

    settled_view(settings, name, answered)
