import streamlit as st

from lab import jobs
from lab.bench import KIND, bench_job, latest
from lab.benchview import (
    curves_chart,
    figure_details,
    figure_rows,
    referenced,
    speedup_chart,
)
from lab.errors import LabError
from pages._ui import chart, job_panel, open_page, settings, show_error, table

open_page()
s = settings()
st.title("Performance")
st.write(
    "Why the lab answers at once where SageMaker takes minutes: every figure below was "
    "measured by `python -m lab bench` on this machine, beside a naive way of doing the same "
    "work in the same run (a fresh interpreter per script, one insert per row, a model "
    "loaded per request, no cache), so the speed-up holds however busy the machine was."
)

if st.button("Run the quick bench", icon=":material/speed:", key="bench_run",
             help="python -m lab bench --quick: about two minutes on two cores"):
    try:
        st.session_state["bench_job"] = jobs.start(s, bench_job(s, quick=True))
    except LabError as exc:
        show_error(exc)
job_panel(KIND, "bench_job", "The quick bench runs in the background (about two minutes on "
          "two cores); its progress and log show here.", log_title="Bench log")

result = latest(s)
if result is None:
    st.info("No bench run yet in this workspace: press **Run the quick bench** (or run "
            "`python -m lab bench --quick` with `LAB_WORKSPACE` set to this workspace) and "
            "the figures appear here.",
            icon=":material/info:")
    st.stop()

load = result.get("load_average_before") or []
st.caption(f"{'Quick' if result.get('quick') else 'Full'} run of "
           f"{str(result.get('when', '?')).replace('T', ' ').replace('+00:00', ' UTC')} "
           f"on {result.get('cpus', '?')} core(s), {result.get('seconds', '?')} s; load "
           f"average before it {', '.join(str(x) for x in load) or 'unknown'} (other work on "
           "the machine slows every figure, not the speed-ups).")

st.header("The lab against the naive way")
if referenced(result):
    chart(speedup_chart(result), key="bench_speedups")
else:
    st.caption("This run measured no figure that has a naive reference.")

st.header("Every figure")
rows = figure_rows(result)  # "-" where a figure has no budget or reference
table(rows, height=38 + 35 * len(rows) + 3)  # every figure at once: no scrolling in the table
for name, detail in figure_details(result):
    st.caption(f"**{name}**: {detail}")

st.header("How cost grows with the data")
curves = result.get("curves") or {}
if curves.get("points"):
    chart(curves_chart(result), key="bench_curves")
    for bound in curves.get("bounds") or []:
        st.caption(f"The lab accepts {bound}.")
else:
    st.caption("This run measured no scale curves"
               + (f" ({curves['skipped']})." if curves.get("skipped") else "."))
