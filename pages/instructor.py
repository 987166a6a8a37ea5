import time

import streamlit as st

from lab.errors import LabError
from lab.formats import seconds
from lab.instructor import (
    PASSCODE_ENV,
    attendees,
    check_passcode,
    expire_idle,
    passcode_configured,
    reset_attendee,
)
from lab.settings import load_settings
from lab.steps import STAGES, STEPS, pages
from pages._ui import deep_link, open_page, settings, show_error

open_page()
st.title("Instructor")
base = load_settings()
if not base.workshop_mode:
    st.info("The instructor's view works in workshop mode, where each attendee has a "
            "workspace of their own: start the app with `LAB_WORKSHOP=1` and "
            f"`{PASSCODE_ENV}=<a passcode>`.", icon=":material/info:")
    st.stop()
if not passcode_configured():
    st.warning(f"No instructor passcode was set, so this view stays closed: start the app "
               f"with `{PASSCODE_ENV}=<a passcode>`.", icon=":material/lock:")
    st.stop()

LOCK_AFTER, LOCK_S = 5, 30  # wrong tries before a pause, and its length
if not st.session_state.get("instructor_ok"):
    locked_until = st.session_state.get("instructor_locked_until", 0.0)
    with st.form("instructor_login"):
        given = st.text_input("Passcode", type="password", key="instructor_passcode")
        sent = st.form_submit_button("Open the instructor's view", type="primary",
                                     icon=":material/lock_open:")
    if sent:
        if time.time() < locked_until:
            st.error(f"Too many wrong passcodes: wait {locked_until - time.time():.0f} s.",
                     icon=":material/timer:")
        elif check_passcode(given):
            st.session_state["instructor_ok"] = True
            st.session_state.pop("instructor_passcode", None)
            st.rerun()
        else:
            tries = st.session_state.get("instructor_tries", 0) + 1
            st.session_state["instructor_tries"] = tries
            if tries % LOCK_AFTER == 0:
                st.session_state["instructor_locked_until"] = time.time() + LOCK_S
            st.error("That passcode is not right.", icon=":material/lock:")
    st.stop()

me = settings().workspace.name
people = attendees(base)
st.write(f"{len(people)} attendee workspace(s) under `sessions/`. Steps: ✓ done, · to do. "
         "Checkpoints: knowledge checks right / questions, then workspace checks as last "
         "seen by the attendee.")
rows = []
for a in people:
    row = {"attendee": a.session + (" (you)" if a.session == me else ""),
           "last activity": f"{seconds(a.idle_s)} ago",
           "steps done": f"{sum(a.done.values())} of {len(STEPS)}"}
    row.update({x.title: "✓" if a.done.get(x.key) else "·" for x in STEPS})
    for stage in STAGES:
        sc = a.scores[stage]
        row[f"{stage} checkpoint"] = (f"{sc.correct}/{sc.questions}"
                                      + (f", {sc.observed_ok}/{sc.observations}"
                                         if sc.observations and sc.observed_at else ""))
    row["jobs running"] = a.running_jobs
    rows.append(row)
if rows:
    st.table(rows)  # a plain table: every cell readable, also by a screen reader
else:
    st.info("No attendee has opened the lab yet.", icon=":material/group:")

left, right = st.columns(2, gap="large")
with left.container(border=True):
    st.markdown("**Reset one attendee**")
    st.caption("Removes their whole workspace; their next page starts afresh.")
    ids = [a.session for a in people]
    who = st.selectbox("Attendee", ids, index=None, key="instructor_who")
    sure = st.checkbox("Yes, remove this attendee's workspace", key="instructor_reset_sure")
    if st.button("Reset", icon=":material/restart_alt:", disabled=not (who and sure),
                 key="instructor_reset"):
        try:
            reset_attendee(base, who)
            st.session_state.pop("instructor_reset_sure", None)
            st.toast(f"{who} reset")
            st.rerun()
        except LabError as exc:
            show_error(exc)
with right.container(border=True):
    st.markdown("**Expire idle workspaces**")
    st.caption("Removes every workspace idle for longer than this (those running a job are "
               "kept).")
    hours = st.number_input("Idle for more than (hours)", 0.1, 720.0, 8.0, 0.5,
                            key="instructor_hours")
    if st.button("Expire them", icon=":material/auto_delete:", key="instructor_expire"):
        try:
            gone = expire_idle(base, float(hours) * 3600)
            st.toast(f"{len(gone)} workspace(s) removed")
            st.rerun()
        except LabError as exc:
            show_error(exc)

with st.expander("Deep links to every page (for the projector or the chat)",
                 icon=":material/link:"):
    st.caption("Without anyone's workspace id: each attendee who opens one gets their own. "
               "Add `?present=1` to open a page in presenter mode.")
    for p in pages(instructor=False):
        st.markdown(f"{p.title}: `{deep_link(p.file)}`")
