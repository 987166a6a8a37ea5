import streamlit as st

from lab import jobs
from lab.errors import LabError
from lab.monitoring import open_monitoring
from lab.monitoring.charts import traffic
from lab.registry import APPROVED, ModelGroupNotFoundError, open_registry
from lab.serving import (
    BROKEN_FEATURE,
    ROLLOUT_KIND,
    EndpointNotFoundError,
    RolloutPlan,
    default_endpoint,
    open_endpoints,
    rollout_job,
)
from pages._ui import (
    backend_note,
    chart,
    concept,
    end_page,
    job_panel,
    open_page,
    prerequisites,
    settings,
    show_error,
    show_step_code,
    step_footer,
    table,
    what_to_notice,
)

ws = open_page()
s = settings()
st.title("Safe rollouts")
st.caption("Reliable stage")
st.write(
    "Deploying a new model version by switching all the traffic at once bets every user on "
    "it. A **safe rollout** moves the traffic step by step to the new version, watches "
    "**guardrails** (its error rate, its slowest requests) while each step *bakes*, and "
    "**rolls back by itself** at the first breach: the old version never stopped serving, "
    "so the users barely notice.")
if not prerequisites("rollouts"):
    end_page("rollouts.py")
endpoints = open_endpoints(s)
name = default_endpoint(s)
try:
    endpoint = endpoints.describe(name)
except EndpointNotFoundError:
    st.info(f"There is no endpoint {name} yet: deploy an approved version on the Registry & "
            "deployment page first.", icon=":material/info:")
    end_page("rollouts.py")
backend_note(endpoints)
concept("Blue/green, canary, linear, bake, rollback", """
During the update the endpoint has two fleets: **blue** serves the current version,
**green** the new one. Traffic shifts from blue to green:
- **all at once**: green takes everything, then bakes;
- **canary**: green takes a small share (10%), bakes, then everything, and bakes again;
- **linear**: green's share grows in equal steps (25%, 50%, 75%, 100%), each one baked.

While a step **bakes** (a few seconds here, minutes in production), the **guardrails**
read green's own requests: their error rate and their 99th percentile latency. A breach
moves all the traffic back to blue at once: an **automatic rollback**. Blue is shut down
only after the last step baked. On SageMaker this is an `UpdateEndpoint` with a
`DeploymentConfig`: a `BlueGreenUpdatePolicy` (the traffic routing and its wait
intervals) and an `AutoRollbackConfiguration` naming CloudWatch alarms.
""")

st.header("1. The plan")
st.caption(f"{name} serves version **{endpoint.version}** of {endpoint.group} "
           f"({endpoint.status}).")
try:
    approved = [v for v in open_registry(s).list_versions(endpoint.group)
                if v.status == APPROVED and v.version != endpoint.version]
except ModelGroupNotFoundError:
    approved = []
c1, c2, c3 = st.columns(3)
strategy = c1.radio("Strategy", ["canary", "linear", "all"], key="roll_strategy",
                    format_func={"canary": "Canary", "linear": "Linear",
                                 "all": "All at once"}.get)
canary = c1.slider("Canary share (%)", 1, 50, 10, key="roll_canary")
step = c1.slider("Linear step (%)", 5, 50, 25, 5, key="roll_step")
bake = c2.number_input("Bake time per step (s)", 1.0, 600.0, 5.0, 1.0, key="roll_bake")
rate = c2.number_input("Test rows sent per second", 0, 500, 50, key="roll_rate",
                       help="a steady stream while the rollout runs, so that the "
                       "guardrails have requests to judge")
max_errors = c3.number_input("Guardrail: error rate (%)", 0.0, 100.0, 5.0, 1.0,
                             key="roll_errors")
max_p99 = c3.number_input("Guardrail: p99 latency (ms)", 1.0, 60000.0, 200.0, 10.0,
                          key="roll_p99")
plan = RolloutPlan(strategy, float(canary), float(step), float(bake), max_errors / 100,
                   float(max_p99))
st.caption("Steps: " + " → ".join(f"{x:.0%}" for x in plan.shares()) + " of the traffic on "
           "the new version, each baked " + f"{bake:g} s.")
left, right = st.columns(2)
with left:
    version = st.selectbox("Approved version to roll out", [v.version for v in approved],
                           index=None, key="roll_version", placeholder="none approved besides "
                           f"version {endpoint.version}" if not approved else "pick one")
    if st.button("Roll it out", type="primary", icon=":material/alt_route:",
                 key="roll_start", disabled=version is None):
        try:
            st.session_state["roll_job"] = jobs.start(s, rollout_job(s, version, plan,
                                                                     traffic_rate=rate))
        except LabError as exc:
            show_error(exc)
with right:
    st.write(f"Or see a rollback: a copy of version {endpoint.version} broken on purpose (it "
             f"expects a feature, {BROKEN_FEATURE}, that no caller sends: every request it "
             "gets fails), registered, approved and rolled out with this plan.")
    if st.button("Deploy a broken version", icon=":material/bug_report:", key="roll_break"):
        try:
            st.session_state["roll_job"] = jobs.start(s, rollout_job(s, plan=plan, broken=True,
                                                                     traffic_rate=rate))
        except LabError as exc:
            show_error(exc)


def live(job) -> None:
    """The endpoint's traffic since the rollout began, per fleet."""
    points = open_monitoring(s).metrics(name, job.created - 2)
    if points:
        chart(traffic(points), key=f"roll_live_{job.job_id}", width="stretch")


def result(job) -> None:
    r = job.result or {}
    if r.get("rolled_back"):
        st.error(f"**Rolled back** to version {r['serving_version']}: {r['reason']}.",
                 icon=":material/undo:")
    else:
        st.success(f"**Version {r.get('to_version')} serves all the traffic**: every step "
                   "baked within the guardrails.", icon=":material/check_circle:")
    table([{"share on the new version (%)": round(100 * x["share"], 1),
            "its requests": x["requests"], "its errors": x["errors"],
            "error rate (%)": None if x["error_rate"] is None else round(100 * x["error_rate"],
                                                                        1),
            "p99 ms": x["p99_ms"],
            "old version's requests": x["baseline_requests"],
            "guardrail": x["breached"] or "ok"} for x in r.get("steps", [])], width="stretch")
    sent = r.get("traffic") or {}
    if sent:
        st.caption(f"The test stream: {sent['sent']} sent, {sent['answered']} answered "
                   f"({', '.join(f'{k}: {v}' for k, v in sent['by_variant'].items())}), "
                   f"{sent['refused']} refused by the new version, **{sent['lost']} lost**.")
    for alarm in r.get("alarms", []):
        st.caption(f"Alarm {alarm['name']}: {alarm['state']} {alarm.get('reason', '')}")


st.header("2. The rollout")
job_panel(ROLLOUT_KIND, "roll_job", "No rollout yet: roll out an approved version, or deploy "
          "a broken one.", render_live=live, render_result=result, log_title="Rollout log",
          stop_key="roll_stop")
what_to_notice(
    "During the broken canary only the canary's share of requests fails; the old version "
    "answers the rest, and the guardrail reacts within a second of the first failures.",
    "A rollback loses no request: the old fleet serves throughout, and the requests move "
    "back to it at once.",
    "After the rollback the broken version is Rejected in the registry, with the reason.")

show_step_code("rollouts")
step_footer("rollouts.py")
