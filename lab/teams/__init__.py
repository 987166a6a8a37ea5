"""Many teams on one platform: team workspaces sharing one feature store and one registry.

    create_team(settings, "pricing")          # a team, with its own workspace folder
    stamp_project(settings, "pricing", {"MaxDepth": 6})   # its pipeline, from the template
    team_featurestore(settings, "risk")       # the shared store as that team may use it
    team_registry(settings, "risk").update_status(group, 1, "Approved")
                                              # AccessDeniedError unless risk owns group
    ownership_view(settings)                  # who owns and who uses each shared resource

The shared stores are the platform's: the settings' backend's feature store and registry
(the twins of lab.featurestore and lab.registry), so the rules hold on either backend.
The rules live in `_access.py` (every team reads everything; a team writes, registers into
and approves only what it owns); the catalog of teams, owners and uses is
`<workspace>/teams/platform.db`. No twin of its own: it wraps the capabilities' twins.
"""

from __future__ import annotations

from lab.lazy import exports

__getattr__, __dir__, _lazy = exports(__name__, {
    **dict.fromkeys(["FEATURE_GROUP", "MODEL_GROUP", "PLATFORM", "AccessDeniedError",
                     "Ownership", "Project", "Team", "TeamNotFoundError", "check_team_name"],
                    "_api"),
    **dict.fromkeys(["TeamFeatureStore", "TeamRegistry"], "_access"),
    "Catalog": "_catalog",
    **dict.fromkeys(["ACTIONS", "DEMO_TEAMS", "JOB_KIND", "TEMPLATE", "approve", "code",
                     "create_team", "example_job",
                     "feature_group_of", "ingest_again", "list_teams", "model_group_of",
                     "ownership_rows", "ownership_view", "platform_resources", "project_of",
                     "publish_features", "read_features", "read_model", "register_for_team",
                     "run_all_step", "stamp_project", "team_featurestore", "team_job",
                     "team_registry"],
                    "_workshop"),
})
__all__ = list(_lazy)
