"""`python -m lab load`, ready for `lab/cli.py` to mount (as `lab.serving.cli` is)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

Command = Callable[[argparse.Namespace, dict[str, Any]], None]


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def add_commands(sub: Any) -> dict[str, Command]:
    """Add the `load` parser to `sub` (argparse subparsers); returns {command: function}."""
    load = sub.add_parser("load", help="drive N attendees through the lab on a workshop "
                          "server (loopback only): will the server hold the class?")
    load.add_argument("--attendees", type=int, required=True, help="1 to 100")
    load.add_argument("--burst", action="store_true",
                      help="everyone at once, no pause (default: paced, a few s apart)")
    load.add_argument("--minutes", type=float, default=0.0,
                      help="keep going for M minutes after the first walk (a soak)")
    load.add_argument("--url", help="a running server on 127.0.0.1 (default: start one)")
    load.add_argument("--pause", type=float, default=3.0,
                      help="seconds between a paced attendee's actions (about)")
    load.add_argument("--settle", type=float, default=5.0,
                      help="seconds to wait after the sessions closed before the last memory "
                      "reading (a closed session is kept 120 s for a reconnect; when the "
                      "last one ends, the server gives back what the room made: --settle "
                      "130 shows it)")
    load.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    return {"load": cmd_load}


def cmd_load(args: argparse.Namespace, out: dict[str, Any]) -> None:
    from lab.load import format_report, run_load

    out.update(run_load(args.attendees, burst=args.burst, minutes=args.minutes,
                        url=args.url, pause_s=args.pause, settle_s=args.settle,
                        log=_log))
    if not args.json:
        print(format_report(out))
