"""The registry and endpoint commands of `python -m lab`, run in-process (tests/cli.py)."""

from __future__ import annotations

import json

from tests.cli import run_cli


def run(*argv: str) -> dict:
    """The command with --json: its one JSON object (it must succeed)."""
    result = run_cli(*argv, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_register_approve_deploy_invoke_list_delete(settings):
    # --workspace as an argument (not run_cli's ws=): the commands share this process's
    # runtime server, as one lab process would; the settings fixture stops it at the end.
    ws = ("--workspace", str(settings.workspace))

    assert run("register", *ws)["registry"]["status"] == "PendingManualApproval"
    refused = run_cli("deploy", *ws)
    assert refused.returncode == 2
    assert "No version of lab-housing-models is Approved" in refused.stderr
    approved = run("approve", "--version", "1", "--comment", "checked", *ws)["registry"]
    assert approved["status"] == "Approved" and approved["history"][-1]["comment"] == "checked"
    deployed = run("deploy", *ws)["deploy"]
    assert deployed["status"] == "InService" and deployed["version"] == 1

    offline = run("invoke", "--rows", "3", *ws)["invocation"]
    assert offline["source"] == "offline" and len(offline["predictions"]) == 3
    printed = run_cli("invoke", "--rows", "3", *ws)  # without --json: one line a row
    assert printed.returncode == 0 and "record_id=0  prediction=" in printed.stdout
    online = run("invoke", "--record-id", "7", *ws)["invocation"]
    assert online["source"] == "online" and online["record_ids"] == ["7"]
    raw = run("invoke", "--body", "0,0,0,0,0,0,0,0\\n1,1,1,1,1,1,1,1", *ws)["invocation"]
    assert len(raw["predictions"]) == 2
    bad = run_cli("invoke", "--body", "1,2,3", *ws)
    assert bad.returncode == 2 and "Row 1 has 3 values" in bad.stderr

    [endpoint] = run("endpoints", *ws)["endpoints"]
    assert endpoint["status"] == "InService" and endpoint["invocation_url"].endswith(
        "/endpoints/lab-housing-endpoint/invocations")
    assert run("endpoints", "--delete", "lab-housing-endpoint", *ws)["endpoints"] == []
    rejected = run("approve", "--version", "1", "--reject", *ws)["registry"]
    assert rejected["status"] == "Rejected"
