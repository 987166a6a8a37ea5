"""The registry and endpoint commands, mounted on a parser as lab/cli.py mounts them."""

from __future__ import annotations

import argparse
import json

import pytest

from lab.cli import _common_options
from lab.errors import LabError
from lab.serving.cli import add_commands


def run(*argv: str) -> dict:
    parser = argparse.ArgumentParser(prog="python -m lab")
    commands = add_commands(parser.add_subparsers(dest="command", required=True),
                            _common_options)
    args = parser.parse_args(argv)
    out: dict = {}
    commands[args.command](args, out)
    json.dumps(out, default=str)  # --json prints it
    return out


def test_register_approve_deploy_invoke_list_delete(settings, capsys):
    ws = ("--workspace", str(settings.workspace))

    assert run("register", *ws)["registry"]["status"] == "PendingManualApproval"
    with pytest.raises(LabError, match="No version of lab-housing-models is Approved"):
        run("deploy", *ws)
    approved = run("approve", "--version", "1", "--comment", "checked", *ws)["registry"]
    assert approved["status"] == "Approved" and approved["history"][-1]["comment"] == "checked"
    deployed = run("deploy", *ws)["deploy"]
    assert deployed["status"] == "InService" and deployed["version"] == 1

    offline = run("invoke", "--rows", "3", *ws)["invocation"]
    assert offline["source"] == "offline" and len(offline["predictions"]) == 3
    assert "record_id=0  prediction=" in capsys.readouterr().out
    online = run("invoke", "--record-id", "7", *ws, "--json")["invocation"]
    assert online["source"] == "online" and online["record_ids"] == ["7"]
    raw = run("invoke", "--body", "0,0,0,0,0,0,0,0\\n1,1,1,1,1,1,1,1", *ws)["invocation"]
    assert len(raw["predictions"]) == 2
    with pytest.raises(LabError, match="Row 1 has 3 values"):
        run("invoke", "--body", "1,2,3", *ws)

    [endpoint] = run("endpoints", *ws)["endpoints"]
    assert endpoint["status"] == "InService" and endpoint["invocation_url"].endswith(
        "/endpoints/lab-housing-endpoint/invocations")
    assert run("endpoints", "--delete", "lab-housing-endpoint", *ws)["endpoints"] == []
    rejected = run("approve", "--version", "1", "--reject", *ws)["registry"]
    assert rejected["status"] == "Rejected"
