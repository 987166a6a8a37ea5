"""`python -m lab`, run in the test's own process through `lab.cli.main` (fast: no new
interpreter and imports per command). One test in tests/lab/test_cli.py still starts a
real subprocess, to prove the module runs as a user runs it.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, ws=None) -> Result:
    """`python -m lab *args [--workspace ws]`: exit status, stdout and stderr.

    When the command ends, the runtime server it may have started for the workspace is
    stopped, as the end of a real CLI process stops it."""
    from lab.cli import main

    argv = [*map(str, args)]
    if ws is not None:
        ws = _root(ws)
        argv += ["--workspace", str(ws)]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 2
        finally:
            if ws is not None:
                _stop_servers(ws)
    return Result(code, out.getvalue(), err.getvalue())


def _root(ws):
    """The workspace folder of a Workspace, a Settings or a path. (A pathlib.Path has a
    `root` attribute too, "/": it must not be taken for a Workspace's.)"""
    from pathlib import Path

    from lab.workspace import Workspace

    if isinstance(ws, Workspace):
        return ws.root
    return Path(getattr(ws, "workspace", ws))


def _stop_servers(root) -> None:
    from lab.serving import stop_server
    from lab.settings import Settings

    stop_server(Settings(workspace=root))
