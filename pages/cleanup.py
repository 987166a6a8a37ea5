import streamlit as st

from lab import jobs
from lab.backends import has_connection
from lab.cleanup import KIND, cleanup_job, launches, open_cleanup
from lab.errors import LabError
from pages._ui import connection_panel, job_panel, open_page, settings, show_error

open_page()
s = settings()
cleanup = open_cleanup(s)
st.title("Resources & cleanup")
st.write(
    "Everything the lab creates for this workspace is tagged with the lab and the "
    "workspace, and named with the workspace's id, so it can be found again: here is what "
    "exists, what each resource costs while it exists, and a button that deletes it all, in "
    "the order AWS needs (an endpoint before its configuration and model, model versions "
    "before their group, a feature group before its Glue table, the S3 data last), waiting "
    "where deletion takes a while."
)
if cleanup.note:
    st.caption(f"{cleanup.label} backend: {cleanup.note}")

if has_connection(s):
    st.header("Connection")
    connection_panel("cleanup_check")

st.header("What the lab created")
list_col, delete_col, confirm_col = st.columns([1, 1, 2])
confirm = confirm_col.checkbox("Yes, delete all of it", key="cleanup_confirm")
if list_col.button("List the resources", icon=":material/list:", key="cleanup_list"):
    try:
        st.session_state["cleanup_job"] = jobs.start(s, cleanup_job(s, dry_run=True))
    except LabError as exc:
        show_error(exc)
if delete_col.button("Delete everything", type="primary", icon=":material/delete_forever:",
                     key="cleanup_delete", disabled=not confirm):
    try:
        st.session_state["cleanup_job"] = jobs.start(s, cleanup_job(s, dry_run=False))
    except LabError as exc:
        show_error(exc)


def resource_rows(resources: list[dict]) -> list[dict]:
    return [{"kind": r["kind"], "name": r["name"], "status": r["status"], "costs": r["cost"],
             "detail": r["detail"]} for r in resources]


def show_report(job) -> None:
    report = job.result
    if report["dry_run"]:
        found = report["deleted"]
        hourly = sum(r["hourly_usd"] or 0 for r in found)
        monthly = sum(r["monthly_usd"] or 0 for r in found)
        if not found:
            st.success("Nothing of this workspace exists.", icon=":material/check_circle:")
        else:
            st.markdown(f"**{len(found)} resource(s)**: about **${hourly:.3f} per hour** "
                        f"while they run, and **${monthly:.4f} a month** of storage.")
            st.dataframe(resource_rows(found), hide_index=True)
    else:
        (st.success if report["clean"] else st.warning)(report["summary"])
        if report["failed"]:
            st.error("Could not be deleted:\n\n" + "\n".join(
                f"- {r['kind']} {r['name']}: {r['reason']}" for r in report["failed"]))
        if report["left"]:
            st.caption("Still there:")
            st.dataframe(resource_rows(report["left"]), hide_index=True)
        if report["deleted"]:
            with st.expander(f"Deleted ({len(report['deleted'])})"):
                st.dataframe(resource_rows(report["deleted"]), hide_index=True)
    for problem in report["problems"]:
        st.warning(problem, icon=":material/warning:")


job_panel(KIND, "cleanup_job", "Press **List the resources** to see what exists (on "
          "SageMaker this asks AWS).", render_result=show_report, log_title="Log")

records = launches(s)
if records:
    st.header("What this workspace launched on AWS")
    st.caption("The lab's own records (no AWS call): what ran, on which instances, billed "
               "for how long, and about what it cost.")
    st.dataframe([{"step": r.step, "what": r.kind, "name": r.name, "status": r.status,
                   "instances": f"{r.instance_count} x {r.instance_type}"
                   if r.instance_type else "",
                   "billed s": None if r.billed_seconds is None else round(r.billed_seconds),
                   "cost": r.estimate.text if r.estimate else "free while it exists"}
                  for r in records], hide_index=True)
