import streamlit as st

from lab import jobs, teams
from lab.errors import LabError
from lab.pipelines import TRAINING_PIPELINE
from pages._ui import (
    concept,
    hide_paths,
    job_panel,
    open_page,
    prerequisites,
    presenter,
    settings,
    show_error,
    show_step_code,
    step_footer,
    table,
    what_to_notice,
)

ws = open_page()
cfg = settings()
st.title("Many teams, one platform")
st.write(
    "What worked for one team becomes a **platform**: several teams, each with its own "
    "workspace (its project, its pipeline, its jobs), sharing **one feature store** and "
    "**one model registry**, so features and models are found and reused instead of "
    "rebuilt. A central team (the *platform* team, here: the lab's own steps) sets the "
    "rules and offers the **project template** every new team starts from."
)
concept("The rules of the shared stores, and where they hold", f"""
- Every team **reads** every shared feature group and model (that is what sharing is for),
  and each read is recorded: the platform knows who uses what.
- A team **writes** only what it owns: it creates its feature groups and ingests into
  them; it registers models into its own model package group and **approves** only those.
- What the lab's own steps made belongs to the platform team (`{teams.PLATFORM}`).

The rules are enforced by the lab (`lab/teams/_access.py` wraps the shared stores: every
write is checked against the owner first), not by this page, so they hold for the CLI too
(`python -m lab teams ...`). In an AWS organisation the same rules are IAM's: a role per
team, resource tags naming the owning team, and policies that allow reads across teams
and writes only where the tag is the team's.
""", expanded=not presenter())
if not prerequisites("teams"):
    step_footer("teams.py")
    st.stop()


def start(action: str, team: str, **kwargs) -> None:
    """A team action as a job; a refusal (AccessDeniedError) shows at once, nothing runs."""
    try:
        st.session_state["team_job"] = jobs.start(cfg, teams.team_job(cfg, action, team,
                                                                      **kwargs))
    except LabError as exc:
        show_error(exc)


# --- Teams and their projects -------------------------------------------------------------
st.header("Teams")
if st.button("Set up two example teams", icon=":material/auto_awesome:", key="example",
             help="pricing and risk, each with a project; pricing publishes a feature group "
             "and a model, risk reads them (what run-all does for this step)"):
    try:
        st.session_state["team_job"] = jobs.start(cfg, teams.example_job(cfg))
    except LabError as exc:
        show_error(exc)
known = teams.list_teams(cfg)
with st.form("new_team"):
    left, right = st.columns([2, 1])
    name = left.text_input("A new team", placeholder="pricing", key="team_name")
    if right.form_submit_button("Create the team", icon=":material/group_add:"):
        try:
            teams.create_team(cfg, name.strip())
            st.rerun()
        except LabError as exc:
            show_error(exc)
if not known:
    st.info("No team yet: create two (for example *pricing* and *risk*), or set up the "
            "example.", icon=":material/info:")
    job_panel(teams.JOB_KIND, "team_job", "No team action yet.", log_title="Team action log",
              stop_key="stop_team_first")
    step_footer("teams.py")
    st.stop()
names = [t.name for t in known]
rows = []
for t in known:
    project = teams.project_of(cfg, t.name)
    rows.append({"team": t.name, "workspace": hide_paths(str(t.workspace)),
                 "pipeline": project.pipeline if project else "-",
                 "model group": project.model_group if project else "-"})
table(rows, width="stretch")

st.subheader("Project template")
st.write(f"The template ({teams.TEMPLATE}) stamps the lab's pipeline for a team: the same "
         "steps under the team's name, with the team's own defaults, and the team's model "
         "package group in the shared registry. What SageMaker Projects do with a template.")
with st.form("stamp"):
    c1, c2, c3, c4, c5 = st.columns(5)
    team = c1.selectbox("Team", names, key="stamp_team")
    defaults = TRAINING_PIPELINE.defaults()
    algorithm = c2.selectbox("Algorithm", ["xgboost", "random_forest"], key="stamp_algo")
    depth = c3.number_input("MaxDepth", 1, 20, int(defaults["MaxDepth"]), key="stamp_depth")
    rounds = c4.number_input("NEstimators", 1, 2000, int(defaults["NEstimators"]),
                             key="stamp_rounds")
    gate = c5.number_input("MseThreshold", 1.0, 1e12, float(defaults["MseThreshold"]),
                           format="%.0f", key="stamp_gate")
    if st.form_submit_button("Stamp the team's project", type="primary",
                             icon=":material/content_copy:"):
        start("stamp", team, parameters={"Algorithm": algorithm, "MaxDepth": int(depth),
                                         "NEstimators": int(rounds), "MseThreshold": gate})
project = teams.project_of(cfg, st.session_state.get("stamp_team") or names[0])
if project:
    st.caption(f"**{project.pipeline}**: the lab's {len(project.definition['Steps'])} steps; "
               "its own defaults: " + (", ".join(f"{k} = {v}" for k, v in
                                                 project.parameters.items()) or "none"))
    if not presenter():
        with st.expander(f"The stamped pipeline {project.pipeline} (as data)"):
            st.json(project.definition, expanded=False)

# --- Acting as a team ----------------------------------------------------------------------
st.header("The shared stores, as a team")
acting = st.selectbox("Act as team", names, key="acting_team")
c1, c2 = st.columns(2)
if c1.button("Publish our feature group", icon=":material/database:", key="publish"):
    start("publish", acting)
if c2.button("Register the lab's best model into our group", icon=":material/inventory_2:",
             key="register"):
    start("register", acting)
view = teams.ownership_view(cfg)
features = [o.resource for o in view if o.kind == teams.FEATURE_GROUP]
models = [o.resource for o in view if o.kind == teams.MODEL_GROUP]
left, right = st.columns(2)
with left:
    group = st.selectbox("A shared feature group", features, key="acting_fg")
    b1, b2 = st.columns(2)
    if b1.button("Read it", key="read_fg", disabled=not group):
        start("read", acting, group=group)
    if b2.button("Ingest into it", key="ingest_fg", disabled=not group):
        start("ingest", acting, group=group)
with right:
    mgroup = st.selectbox("A shared model package group", models, key="acting_mg")
    version = st.number_input("Version", 1, 10_000, 1, key="acting_version")
    b3, b4 = st.columns(2)
    if b3.button("Read its versions", key="read_mg", disabled=not mgroup):
        start("models", acting, group=mgroup)
    if b4.button("Approve it", key="approve_mg", disabled=not mgroup):
        start("approve", acting, group=mgroup, version=int(version))


def show_action(job) -> None:
    result = job.result or {}
    if result.get("action") == "read":
        st.dataframe(result["query"]["data"], hide_index=True)
    elif result.get("action") == "models":
        table([{"version": v["version"], "status": v["status"], "algorithm": v["algorithm"]}
               for v in result.get("versions", [])], width="stretch")
    elif "version" in result:
        st.success(f"{result['version']['group']} version {result['version']['version']}: "
                   f"{result['version']['status']}", icon=":material/check_circle:")
    elif result.get("action") == "example":
        st.success(f"Stamped {', '.join(result['pipelines'])}; {result['feature_group']} and "
                   f"{result['model']} published by one team and read by the other.",
                   icon=":material/check_circle:")


job_panel(teams.JOB_KIND, "team_job", "No team action yet.", render_result=show_action,
          log_title="Team action log", stop_key="stop_team")

# --- Who owns, who uses --------------------------------------------------------------------
st.header("Who owns, who uses")
table(teams.ownership_rows(cfg), width="stretch")
what_to_notice(
    "Every team reads every shared resource, and each read is recorded: the owner knows "
    "who depends on what it changes.",
    "A write by another team is refused before anything runs, with who owns the resource "
    "and what to do; the platform's own groups are written by the lab's steps only.")
show_step_code("teams", "The code that holds the rules")
step_footer("teams.py")
