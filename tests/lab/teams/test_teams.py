"""Many teams on one platform: the access rules, the ownership view, the project template.

What these add: the rules hold in `lab` (the page only shows them), on the shared stores
themselves (the workspace's feature store and registry), case by case: a team reads
another team's feature group and model, and cannot ingest into, create over, delete or
approve them; nothing it tried changed them; a stamped project is the lab's pipeline with
the team's defaults.
"""

from __future__ import annotations

import pytest

from lab import teams
from lab.errors import InputError, ParameterError
from lab.featurestore import open_featurestore
from lab.pipelines import TRAINING_PIPELINE
from lab.registry import APPROVED, PENDING, open_registry


@pytest.fixture
def platform(trained):
    """The trained workspace as a platform with two teams, pricing and risk."""
    teams.create_team(trained, "pricing")
    teams.create_team(trained, "risk")
    return trained


def test_a_team_reads_another_teams_feature_group_but_cannot_change_it(platform):
    group = teams.publish_features(platform, "pricing")["group"]
    rows = open_featurestore(platform).describe_group(group).offline_rows

    read = teams.read_features(platform, "risk", group, limit=3)

    assert read["query"]["rows"] == 3 and read["columns"][0] == "PRICE"
    for attempt in (lambda: teams.ingest_again(platform, "risk", group),
                    lambda: teams.team_featurestore(platform, "risk").create_group(group, None),
                    lambda: teams.team_featurestore(platform, "risk").delete_group(group),
                    lambda: teams.team_featurestore(platform, "risk").put_record(group, {})):
        with pytest.raises(teams.AccessDeniedError, match="belongs to team pricing"):
            attempt()
    assert open_featurestore(platform).describe_group(group).offline_rows == rows
    # ... nor the platform's own groups, which every team reads
    with pytest.raises(teams.AccessDeniedError, match="belongs to the platform team"):
        teams.team_featurestore(platform, "risk").create_group("lab-train", None)
    assert teams.ingest_again(platform, "pricing", group)["rows"] == rows  # the owner may
    [row] = [r for r in teams.ownership_rows(platform) if r["resource"] == group]
    assert (row["owner"], row["used by"]) == ("pricing", "risk (1)")


def test_a_team_reads_another_teams_model_but_cannot_approve_it(platform):
    for team in ("pricing", "risk"):
        teams.stamp_project(platform, team)
    version = teams.register_for_team(platform, "pricing")
    group = version.group

    assert [v.version for v in teams.read_model(platform, "risk", group)] == [1]
    with pytest.raises(teams.AccessDeniedError, match="cannot approve or reject the models"):
        teams.approve(platform, "risk", group, 1)
    with pytest.raises(teams.AccessDeniedError, match="cannot register a model into"):
        teams.team_registry(platform, "risk").register(group, version.artifact)
    assert open_registry(platform).describe_version(group, 1).status == PENDING
    approved = teams.approve(platform, "pricing", group, 1)
    assert approved.status == APPROVED and approved.history[-1].by == "team pricing"
    with pytest.raises(teams.AccessDeniedError, match="belongs to the platform team"):
        teams.team_registry(platform, "risk").update_status("lab-housing-models", 1, APPROVED)


def test_the_project_template_stamps_the_labs_pipeline_with_the_teams_defaults(platform):
    project = teams.stamp_project(platform, "risk", {"Algorithm": "random_forest",
                                                     "MaxDepth": 9})

    assert project.pipeline == "risk-housing-pipeline"
    assert project.parameters == {"Algorithm": "random_forest", "MaxDepth": 9}
    stamped = {p["Name"]: p["DefaultValue"] for p in project.definition["Parameters"]}
    assert stamped["MaxDepth"] == 9 and stamped["MseThreshold"] == TRAINING_PIPELINE.defaults()[
        "MseThreshold"]
    assert [s["Name"] for s in project.definition["Steps"]] == [
        s.name for s in TRAINING_PIPELINE.steps]
    assert open_registry(platform).describe_group(project.model_group)  # made, owned by risk
    assert teams.project_of(platform, "risk") == project
    with pytest.raises(ParameterError, match="sum to 1"):
        teams.stamp_project(platform, "risk", {"TrainSize": 0.9})
    with pytest.raises(ParameterError, match="no distributed|has no parameter"):
        teams.stamp_project(platform, "risk", {"Workers": 2})


@pytest.mark.parametrize("name, message", [
    ("Pricing", "not a valid team name"), ("x", "not a valid team name"),
    ("platform", "is the platform team"), ("pricing", "already a team")])
def test_team_names_are_checked(platform, name, message):
    with pytest.raises(InputError, match=message):
        teams.create_team(platform, name)


def test_an_unknown_team_cannot_act(platform):
    with pytest.raises(teams.TeamNotFoundError, match="no team 'sales'.*pricing, risk"):
        teams.team_registry(platform, "sales")
