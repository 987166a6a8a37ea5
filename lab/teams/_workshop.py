"""Many teams on one platform, as the Scalable stage's page and `python -m lab teams` run it.

    create_team(settings, "pricing")                 # a team and its own workspace folder
    stamp_project(settings, "pricing", {"MaxDepth": 6})   # its pipeline from the template
    publish_features(settings, "pricing")            # its feature group in the shared store
    register_for_team(settings, "pricing")           # a model in its own group
    approve(settings, "risk", group, 1)              # AccessDeniedError: not risk's group
    read_features(settings, "risk", group)           # allowed, and recorded as a use
    ownership_view(settings)                         # who owns, who uses

The shared feature store and registry are the platform's (the workspace's, on its backend);
a team acts on them only through `team_featurestore` / `team_registry` (`_access.py`).
"""

from __future__ import annotations

import json
import time
from typing import Any

from lab.errors import InputError
from lab.teams._access import TeamFeatureStore, TeamRegistry
from lab.teams._api import FEATURE_GROUP, MODEL_GROUP, PLATFORM, Ownership, Project, Team
from lab.teams._catalog import Catalog

TEMPLATE = "lab-housing-project"  # the project template: the lab's pipeline and a group
FEATURE_COLUMNS = 4  # a team's feature group: the target and the first few features
DEMO_TEAMS = ({"name": "pricing", "parameters": {"MaxDepth": 6, "NEstimators": 150}},
              {"name": "risk", "parameters": {"Algorithm": "random_forest",
                                              "MseThreshold": 400_000_000}})


def catalog(settings: Any) -> Catalog:
    return Catalog(settings)


def team_featurestore(settings: Any, team: str) -> TeamFeatureStore:
    """The platform's feature store as `team` may use it (a known team only)."""
    from lab.featurestore import open_featurestore

    cat = Catalog(settings)
    return TeamFeatureStore(cat.team(team).name, cat, open_featurestore(settings))


def team_registry(settings: Any, team: str) -> TeamRegistry:
    """The platform's model registry as `team` may use it (a known team only)."""
    from lab.registry import open_registry

    cat = Catalog(settings)
    return TeamRegistry(cat.team(team).name, cat, open_registry(settings))


def _name(settings: Any, capability: str, base: str) -> str:
    """A shared resource's name by the backend's rule (a workspace suffix on SageMaker)."""
    from lab.twins import twin_class

    if capability == "featurestore":
        from lab.featurestore import IMPLEMENTATIONS
    else:
        from lab.registry import IMPLEMENTATIONS
    return twin_class(IMPLEMENTATIONS, settings.backend).resource_name(settings, base)


def feature_group_of(settings: Any, team: str) -> str:
    return _name(settings, "featurestore", f"{team}-house-features")


def model_group_of(settings: Any, team: str) -> str:
    return _name(settings, "registry", f"{team}-housing-models")


def create_team(settings: Any, name: str) -> Team:
    return Catalog(settings).create_team(name)


def list_teams(settings: Any) -> list[Team]:
    return Catalog(settings).teams()


def stamp_project(settings: Any, team: str, parameters: dict[str, Any] | None = None
                  ) -> Project:
    """The template stamped for `team`: the lab's training pipeline under the team's name
    with the team's defaults (checked as a pipeline execution's would be), and the team's
    model package group in the shared registry, owned by the team. Stamping again replaces
    the pipeline's defaults; the group stays."""
    from lab.pipelines import TRAINING_PIPELINE

    owner = Catalog(settings).team(team)
    values = _checked(parameters or {})
    definition = TRAINING_PIPELINE.stamped(
        f"{team}-housing-pipeline", values,
        f"Team {team}'s pipeline, stamped from the {TEMPLATE} template.")
    group = model_group_of(settings, team)
    _adopt(settings, team, MODEL_GROUP, group)
    team_registry(settings, team).create_group(group, f"Team {team}: housing price models")
    changed = {k: v for k, v in definition.defaults().items()
               if TRAINING_PIPELINE.defaults()[k] != v}
    project = Project(team, TEMPLATE, definition.name, group, changed, definition.to_json(),
                      time.time())
    data = json.dumps(project.to_json(), indent=2)
    (owner.workspace / "project.json").write_text(data)
    Catalog(settings).save_project(team, data)
    return project


def _adopt(settings: Any, team: str, kind: str, name: str) -> None:
    """The template's own name for the team's resource, left owned by no team (the teams
    step was reset, which forgets the catalog but leaves the shared stores alone): the team
    of that name takes it back. Any other resource no team owns stays the platform's."""
    cat = Catalog(settings)
    if cat.owner(kind, name) == PLATFORM:
        cat.claim(kind, name, team)


def _checked(parameters: dict[str, Any]) -> dict[str, Any]:
    """The template's parameters with the team's values, refused as an execution would be."""
    from lab.errors import ParameterError
    from lab.pipelines import TRAINING_PIPELINE
    from lab.processing import PrepParams
    from lab.training import build_request

    values = TRAINING_PIPELINE.resolve_parameters(parameters)
    PrepParams(values["TrainSize"], values["ValSize"], values["TestSize"]).validate()
    build_request(values["Algorithm"], {"max_depth": values["MaxDepth"],
                                        "n_estimators": values["NEstimators"]})
    if not values["MseThreshold"] > 0:
        raise ParameterError("MseThreshold must be a positive number.")
    return values


def project_of(settings: Any, team: str) -> Project | None:
    data = Catalog(settings).project_data(team)
    return Project(**json.loads(data)) if data else None


def publish_features(settings: Any, team: str, split: str = "train") -> dict[str, Any]:
    """The team's own feature group in the shared store: a few columns of the prepared
    split (target first), created and ingested by the team, which then owns it."""
    from lab.featurestore import EVENT_TIME, RECORD_ID, GroupNotFoundError, prepared_frames

    frame = prepared_frames(settings)[split]
    columns = [c for c in frame.columns if c not in (RECORD_ID, EVENT_TIME)]
    frame = frame[columns[:FEATURE_COLUMNS] + [RECORD_ID, EVENT_TIME]]
    store, name = team_featurestore(settings, team), feature_group_of(settings, team)
    _adopt(settings, team, FEATURE_GROUP, name)
    try:
        store.describe_group(name)
    except GroupNotFoundError:
        store.create_group(name, frame, description=f"Team {team}: house features")
    result = store.ingest(name, frame)
    return {"group": name, "rows": result.rows, "team": team}


def ingest_again(settings: Any, team: str, group: str) -> dict[str, Any]:
    """`team` writes the prepared rows into `group` again: allowed only for its own."""
    from lab.featurestore import prepared_frames

    store = team_featurestore(settings, team)
    store.require_owner(group, "ingest into")  # refused before any data is read
    info = store.inner.describe_group(group)  # its columns (not a use of the data)
    frame = prepared_frames(settings)["train"][list(info.definitions)]
    return {"group": group, "rows": store.ingest(group, frame).rows, "team": team}


def read_features(settings: Any, team: str, group: str, limit: int = 5) -> dict[str, Any]:
    """A few rows of any shared feature group (the offline store), recorded as a use."""
    from lab.featurestore import EVENT_TIME, RECORD_ID, workshop_query

    store = team_featurestore(settings, team)
    info = store.inner.describe_group(group)  # its columns; the query below is the use
    columns = [c for c in info.definitions if c not in (EVENT_TIME,)]
    sql = workshop_query(group, columns) + f"\nLIMIT {int(limit)}"
    result = store.query(sql, reads=[group])
    return {"group": group, "team": team, "query": result.to_json(limit=limit),
            "columns": [c for c in columns if c != RECORD_ID]}


def register_for_team(settings: Any, team: str, run_id: str | None = None) -> Any:
    """A training run's model (default: the lab's best) as a new version of the team's own
    model package group (stamp the project first: it makes the group)."""
    from lab.registry import register_model

    if project_of(settings, team) is None:
        raise InputError(f"Team {team} has no project yet: stamp it from the template first "
                         "(it makes the team's model package group).")
    return register_model(settings, run_id, model_group_of(settings, team),
                          f"registered by team {team}", registry=team_registry(settings, team))


def approve(settings: Any, team: str, group: str, version: int, status: str | None = None,
            comment: str = "") -> Any:
    """`team` approves (or rejects) a version: allowed only in its own group."""
    from lab.registry import APPROVED

    return team_registry(settings, team).update_status(group, int(version), status or APPROVED,
                                                       comment or f"by team {team}")


def read_model(settings: Any, team: str, group: str) -> list[Any]:
    """Every version of any shared model group, recorded as a use."""
    return team_registry(settings, team).list_versions(group)


def platform_resources(settings: Any) -> list[tuple[str, str]]:
    """What the lab's own steps made in the shared stores and is there (the platform's)."""
    from lab.featurestore import GroupNotFoundError, group_names, open_featurestore
    from lab.registry import ModelGroupNotFoundError, default_group, open_registry

    found = []
    store = open_featurestore(settings)
    try:
        for group in group_names(settings).values():
            try:
                store.describe_group(group)
                found.append((FEATURE_GROUP, group))
            except GroupNotFoundError:
                pass
    finally:
        store.close()
    try:
        open_registry(settings).describe_group(default_group(settings))
        found.append((MODEL_GROUP, default_group(settings)))
    except ModelGroupNotFoundError:
        pass
    return found


def ownership_view(settings: Any) -> list[Ownership]:
    """Who owns and who uses each shared feature group and model package group."""
    return Catalog(settings).ownership(platform_resources(settings))


def ownership_rows(settings: Any) -> list[dict[str, Any]]:
    """The view as table rows (what the page and `teams ownership` show)."""
    return [{"kind": o.kind, "resource": o.resource, "owner": o.owner,
             "used by": ", ".join(f"{t} ({n})" for t, n in sorted(o.users.items())) or "-",
             "writes": "owner only" if o.owner != PLATFORM else "platform team only"}
            for o in ownership_view(settings)]


JOB_KIND = "team-action"
ACTIONS = ("stamp", "publish", "register", "approve", "ingest", "read", "models")


def team_job(settings: Any, action: str, team: str, group: str | None = None,
             version: int | None = None, parameters: dict[str, Any] | None = None,
             status: str | None = None) -> Any:
    """One team action as a job (on SageMaker each is AWS calls, an ingest minutes): the
    team, its rights and its inputs are checked before the job exists, so a refusal is
    immediate and nothing starts."""
    from lab import jobs

    if action not in ACTIONS:
        raise InputError(f"Unknown team action {action!r}: use {', '.join(ACTIONS)}.")
    Catalog(settings).team(team)
    if action in ("approve", "ingest", "read", "models") and not group:
        raise InputError(f"Pick the group that team {team} should {action}.")
    if action == "approve":
        if version is None:
            raise InputError("Pick the version to approve.")
        team_registry(settings, team).require_owner(group, "approve or reject the models of")
    if action == "ingest":
        team_featurestore(settings, team).require_owner(group, "ingest into")
    if action == "stamp":
        _checked(parameters or {})
    if action == "register" and project_of(settings, team) is None:
        raise InputError(f"Team {team} has no project yet: stamp it from the template first "
                         "(it makes the team's model package group).")

    def run(ctx: Any) -> dict[str, Any]:
        ctx.progress(0.1, f"Team {team}: {action}")
        if action == "stamp":
            out = {"project": stamp_project(settings, team, parameters).to_json()}
        elif action == "publish":
            out = publish_features(settings, team)
        elif action == "register":
            out = {"version": register_for_team(settings, team).to_json()}
        elif action == "approve":
            out = {"version": approve(settings, team, group, int(version), status).to_json()}
        elif action == "ingest":
            out = ingest_again(settings, team, group)
        elif action == "read":
            out = read_features(settings, team, group)
        else:
            out = {"versions": [v.to_json() for v in read_model(settings, team, group)]}
        ctx.log(f"Team {team}: {action} {group or ''} done")
        return {"action": action, "team": team, **out}

    return jobs.JobSpec(JOB_KIND, {"action": action, "team": team, "group": group,
                                   "version": version}, run)


def example_job(settings: Any) -> Any:
    """The page's one-click example, as a job: what run-all does for this step."""
    from lab import jobs

    def run(ctx: Any) -> dict[str, Any]:
        ctx.progress(0.1, "Two example teams: pricing and risk")
        out = run_all_step(settings, {}, ctx.log)["teams"]
        return {"action": "example", **out}

    return jobs.JobSpec(JOB_KIND, {"action": "example"}, run)


def run_all_step(settings: Any, options: dict[str, Any], echo) -> dict[str, Any]:
    """Two teams on the platform with projects stamped from the template; one publishes a
    feature group and a model, the other reads them (its writes would be refused)."""
    started = time.perf_counter()
    made = []
    known = {t.name for t in list_teams(settings)}
    for spec in DEMO_TEAMS:
        if spec["name"] not in known:
            create_team(settings, spec["name"])
        made.append(stamp_project(settings, spec["name"], spec["parameters"]).pipeline)
    owner, reader = DEMO_TEAMS[0]["name"], DEMO_TEAMS[1]["name"]
    published = publish_features(settings, owner)
    read_features(settings, reader, published["group"])
    version = register_for_team(settings, owner)
    read_model(settings, reader, version.group)
    echo(f"teams: {', '.join(made)} stamped; {owner} published {published['group']} and "
         f"{version.label}; {reader} read them")
    return {"teams": {"pipelines": made, "feature_group": published["group"],
                      "model": version.label, "ownership": ownership_rows(settings)},
            "timings_s": {"teams": round(time.perf_counter() - started, 4)}}


def code(settings: Any) -> list:
    """The functions that hold the rules (the same on either backend: they wrap its twins)."""
    from lab.teams._catalog import denied

    return [TeamFeatureStore.ingest, TeamRegistry.update_status, Catalog.claim, denied,
            stamp_project]
