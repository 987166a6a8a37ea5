"""The cleanup on the local backend: the workspace's own stores are its resources; deleting
them resets those steps, stops the local endpoint server and keeps the learner's data."""

from __future__ import annotations

import json

from lab import jobs
from lab.cleanup import KINDS, cleanup_job, open_cleanup, running_endpoints
from lab.registry import APPROVED, register_model, set_approval
from lab.serving import deploy_job, running_server
from lab.workspace import Workspace
from tests.cli import run_cli


def test_inventory_lists_the_stores_and_nothing_costs(trained):
    found = open_cleanup(trained).inventory()
    kinds = {r.kind for r in found.resources}
    assert kinds == {"feature-group", "local-store"}
    assert {r.name for r in found.resources if r.kind == "local-store"} >= {"experiments"}
    assert found.hourly_usd == 0 and found.monthly_usd == 0
    assert all(r.cost.startswith("free") for r in found.resources)


def test_cleanup_deletes_endpoints_groups_and_stores_and_keeps_the_data(trained):
    version = register_model(trained)
    set_approval(trained, version.version, APPROVED)
    jobs.run(trained, deploy_job(trained, version.version)).outcome()
    assert [e.name for e in running_endpoints(trained)] == ["lab-housing-endpoint"]
    assert running_server(trained) is not None
    ws = Workspace(trained.workspace)

    job = jobs.run(trained, cleanup_job(trained))

    report = job.outcome()
    assert report["clean"] and report["left"] == [] and report["failed"] == []
    order = [r["kind"] for r in report["deleted"]]
    assert order == sorted(order, key=KINDS.index)  # dependency order
    assert order[0] == "endpoint"
    assert running_endpoints(trained) == [] and running_server(trained) is None
    assert not ws.path("experiments.db").exists() and not ws.path("registry.db").exists()
    assert (ws.processed_dir / "meta" / "prep.json").exists()  # the prepared data stays
    assert ws.raw_dir.exists()
    assert open_cleanup(trained).inventory().resources == []


def test_dry_run_changes_nothing(trained):
    before = sorted(p.name for p in Workspace(trained.workspace).root.iterdir())
    result = run_cli("cleanup", "--dry-run", "--json", ws=trained)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["dry_run"] and not report["clean"]
    assert report["deleted"] == report["left"] and report["deleted"]
    after = sorted(p.name for p in Workspace(trained.workspace).root.iterdir())
    assert before == after


def test_the_cli_cleanup_exits_0_when_nothing_is_left(trained):
    result = run_cli("cleanup", ws=trained)
    assert result.returncode == 0, result.stderr
    assert "Nothing is left." in result.stderr


def test_an_empty_workspace_has_nothing(tmp_path):
    from lab.settings import Settings

    settings = Settings(workspace=tmp_path / "ws")
    assert open_cleanup(settings).inventory().resources == []
    assert running_endpoints(settings) == []
    assert not (tmp_path / "ws").exists()  # looking created nothing
