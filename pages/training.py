import streamlit as st

from lab import jobs, training, tuning
from lab.errors import LabError
from lab.formats import number
from lab.training import ALGORITHMS, Experiments, build_request, charts, data_problem
from lab.training.entry_point import METRIC_DEFINITIONS
from lab.tuning import STRATEGIES, build_tuning_spec, ranges_from_form, workshop_ranges
from pages._ui import (
    CACHE,
    backend_note,
    chart,
    concept,
    diagram,
    end_page,
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
st.title("Training & experiments")
st.write(
    "In the workshop's second notebook the data scientist stops training in the notebook and "
    "moves to **managed training jobs**: the training script runs on its own machine with the "
    "data handed over as *channels* (read here from the Feature Store's offline store), "
    "and leaves a model artifact behind. Each job is tracked as an **experiment run** with "
    "its hyperparameters, metrics and learning curve, so any result can be found, compared and "
    "reproduced later. **Automatic model tuning** then runs many such jobs, each proposed "
    "from the results so far, and keeps the best model for the registry."
)
diagram("training")

cfg = settings()
experiments = Experiments(ws)
if not prerequisites("training"):
    end_page("training.py")
problem = data_problem(cfg)
if problem:
    st.info(problem, icon=":material/database:")
    end_page("training.py")

concept("Validation and test: two held-out splits, two jobs", """
The model learns from the **train** split only. The **validation** split is what every
*choice* is made on: the learning curve below, early stopping, and which tuning trial is
"best". Each choice made with it makes its score a little optimistic, so the **test**
split is kept apart and used once per model, for the honest estimate that the registry
records. Validation is for choosing; test is for reporting.
""")


# Training.
st.header("Train a model")
algo_key = st.selectbox("Algorithm", list(ALGORITHMS), key="algorithm",
                        format_func=lambda k: ALGORITHMS[k].label)
algo = ALGORITHMS[algo_key]
with st.form("train_form"):
    values = {}
    for col, hp in zip(st.columns(len(algo.hyperparameters)), algo.hyperparameters):
        is_int = hp.kind is int
        values[hp.name] = col.number_input(hp.name, value=hp.default, step=1 if is_int else 0.01,
                                           format=None if is_int else "%.3f", help=hp.help,
                                           key=f"hp_{algo_key}_{hp.name}")
    train = st.form_submit_button("Train", type="primary", icon=":material/play_arrow:",
                                  key="train")
if train:
    try:
        st.session_state["training_job"] = jobs.start(cfg, training.training_job(cfg, algo_key,
                                                                                 values))
        st.session_state["show_run"] = st.session_state["training_job"]  # its run, once done
    except LabError as exc:
        show_error(exc)

backend_note(training.open_training(cfg))
job_panel(training.KIND, "training_job",
          "No training job yet: pick the hyperparameters and press **Train**.",
          log_title="Training job log (the lines the metric definitions read are at the end)")
regexes = "\n".join(f"- `{d['Name']}`: `{d['Regex']}`" for d in METRIC_DEFINITIONS)
concept("How SageMaker reads a job's metrics: metric definitions", f"""
A training job is a script in a container: SageMaker does not know what it computes. The
script **prints** its metrics (see the end of the log above: `MSE: 58309857.4`,
`r-squared: 0.9963`), and the estimator's **metric definitions** pair a metric name with a
regular expression whose first group is the value. SageMaker applies them to the log as it
streams, charts the values and keeps the last one. The workshop's:

{regexes}

Tuning reads its objective the same way: change the print, and the regex must follow.
""")



@st.cache_resource(**CACHE)
def run_charts(_run, key: str):
    """A completed run's four charts (a run never changes once it completed)."""
    predictions = _run.predictions_data()
    return (charts.learning_curves([_run]), charts.feature_importance(_run),
            charts.predicted_vs_actual(_run, predictions) if predictions else None,
            charts.residuals(_run, predictions) if predictions else None)


runs = [r for r in experiments.list(limit=200) if r.status == "Completed"]
if runs:
    st.subheader("Results")
    labels = {r.run_id: f"{charts.run_label(r)} · {r.run_id}" for r in runs}
    if st.session_state.get("show_run") in labels:  # a run just finished: show it
        st.session_state["result_run"] = st.session_state.pop("show_run")
    chosen = st.selectbox("Run", list(labels), format_func=labels.get, key="result_run")
    run = next(r for r in runs if r.run_id == chosen)
    cols = st.columns(4)
    for col, name in zip(cols, ("mse", "rmse", "r2", "mae")):
        col.metric(f"Test {name.upper() if name != 'r2' else 'R²'}", number(run.metrics[name]))
    st.caption("Validation metrics read from the log by the metric definitions: "
               + ", ".join(f"{k} {number(v)}" for k, v in run.validation.items())
               + ("" if presenter() else f". Artifact: `{hide_paths(run.artifact)}`"))
    left, right = st.columns(2)
    curve, importance, pva, residuals = run_charts(run, f"{ws.root}|{run.run_id}")
    with left:
        chart(curve, key="curve_chart")
    with right:
        chart(importance, key="importance_chart")
    if pva is not None:
        with left:
            chart(pva, key="pva_chart")
        with right:
            chart(residuals, key="residuals_chart")
    what_to_notice(
        "The learning curve: train RMSE (dotted) keeps falling while validation RMSE "
        "flattens; the gap between them is what the model learned that does not carry over "
        "to new houses.",
        "RMSE is in dollars: a test RMSE of " + number(run.metrics["rmse"]) + " means a "
        "typical prediction is off by about that much. MSE is its square, hence the large "
        "numbers the workshop's condition uses.",
        "Points on the diagonal of *predicted vs actual* are right; residuals with no "
        "pattern around zero mean no systematic bias.")

    st.subheader("Compare runs")
    # Until the learner picks runs, the two newest are compared (also once new runs come);
    # the widget's own `default` would reset the pick whenever the list of runs changes.
    if not st.session_state.get("compare_touched"):
        st.session_state["compare"] = list(labels)[:2]
    st.session_state["compare"] = [r for r in st.session_state.get("compare", [])
                                   if r in labels]
    picked = st.multiselect("Runs to compare (two or more)", list(labels),
                            format_func=labels.get, key="compare",
                            on_change=lambda: st.session_state.update(compare_touched=True))
    if len(picked) >= 2:
        selected = [r for r in runs if r.run_id in picked]
        rows = charts.comparison_rows(selected)
        if st.toggle("Only what differs", key="only_differs"):
            rows = [row for row in rows if row["differs"]]
        import pandas as pd

        frame = pd.DataFrame(rows)
        st.dataframe(frame.style.apply(
            lambda row: ["background-color: #fef3c7" if row["differs"] else ""] * len(row),
            axis=1), hide_index=True, key="compare_table")
        chart(charts.learning_curves(selected), key="compare_curves")
    else:
        st.caption("Pick two or more runs to see their parameters side by side.")
    concept("How experiments are organised", """
An **experiment** groups the attempts at one problem (here `synthetic-housing-regression`).
Each training job is a **run** in it (SageMaker Experiments: a trial component) holding its
**parameters** (hyperparameters, data), its **metrics** (final and per step: the learning
curve) and its **artifacts** (`model.tar.gz`). A tuning job adds one run per trial, tagged
with the tuning job and its trial number. Because everything is recorded, any run can be
compared with another (above), found again months later, and reproduced.
""")

# Tuning.
st.header("Automatic model tuning")
st.write(f"Tunes **{algo.label}** (the algorithm above) with the ranges below. The "
         "workshop's job: max_depth 6-10 and n_estimators 80-130, validation mse minimised, "
         "4 jobs, 2 at a time.")
concept("Parallel jobs against Bayesian search", """
**Bayesian** search fits a model of "hyperparameters → objective" to the trials that have
*finished*, and proposes the next ones where it expects the best score. Trials that run at
the same time cannot learn from each other: with `max_parallel_jobs` equal to `max_jobs`,
every trial starts blind and Bayesian search is no better than random. Fewer in parallel
means better choices but a longer wait; the workshop's 4 jobs, 2 at a time, is the
compromise. **Random** search ignores history (parallelism costs nothing), **Grid** tries
every combination of listed values.
""")
workshop = {r.name: r for r in workshop_ranges()}
with st.form("tune_form"):
    form_rows = []
    for hp in (h for h in algo.hyperparameters if h.tunable):
        c1, c2, c3, c4 = st.columns([1, 1, 1, 2])
        default = workshop.get(hp.name)
        tune = c1.checkbox(f"Tune {hp.name}", value=default is not None,
                           key=f"tune_{algo_key}_{hp.name}")
        shown = None if hp.kind is int else "%.3f"
        low = c2.number_input(f"{hp.name} min", value=default.min_value if default else hp.low,
                              format=shown, key=f"min_{algo_key}_{hp.name}")
        high = c3.number_input(f"{hp.name} max", value=default.max_value if default
                               else hp.default, format=shown, key=f"max_{algo_key}_{hp.name}")
        listed = c4.text_input(f"{hp.name} values (optional: makes it categorical)",
                               key=f"values_{algo_key}_{hp.name}", placeholder="e.g. 6, 8, 10")
        form_rows.append({"name": hp.name, "tune": tune, "low": low, "high": high,
                          "values": listed})
    c1, c2, c3, c4 = st.columns(4)
    strategy = c1.selectbox("Strategy", STRATEGIES, key="strategy")
    objective = c2.selectbox("Objective", ["mse", "r2"], key="objective",
                             format_func={"mse": "mse (Minimize)", "r2": "r2 (Maximize)"}.get)
    max_jobs = c3.number_input("max_jobs", value=4, step=1, key="max_jobs")
    max_parallel = c4.number_input("max_parallel_jobs", value=2, step=1, key="max_parallel")
    tune_clicked = st.form_submit_button("Start the tuning job", type="primary",
                                         icon=":material/tune:", key="tune")
spec_args = dict(algorithm_key=algo_key, ranges=ranges_from_form(algo_key, form_rows),
                 static=values, objective=objective,
                 max_jobs=max_jobs, max_parallel_jobs=max_parallel, strategy=strategy)
if tune_clicked:
    try:
        st.session_state["tuning_job"] = jobs.start(cfg, tuning.tuning_job(cfg, **spec_args))
    except LabError as exc:
        show_error(exc)



def show_trials(job) -> None:
    """The trials as they finish: table, objective by trial, parallel coordinates."""
    goal = job.params.get("objective", "mse")
    direction = job.params.get("direction", "Minimize")
    trials = tuning.trials_of(ws, job)
    if trials:
        table(charts.trials_table(trials, goal, direction), key="trials_table")
        left, right = st.columns(2)
        with left:
            chart(charts.objective_over_trials(trials, goal, direction), key="objective_chart")
        names = [r["name"] for r in job.params.get("ranges", [])]
        with right:
            chart(charts.parallel_coordinates(trials, names, goal), key="parcoords")


backend_note(tuning.open_tuning(cfg))
job_panel(tuning.KIND, "tuning_job",
          "No tuning job yet: set the ranges and press **Start the tuning job**.",
          render_live=show_trials, log_title="Tuning job log")

show_step_code("training")
if not presenter():
    with st.expander("The training and tuning jobs on SageMaker (SDK v2)",
                     icon=":material/cloud:"):
        st.caption("What the SageMaker backend runs for the settings above.")
        try:
            st.code(training.sdk_code(build_request(algo_key, values)), language="python")
            st.code(tuning.sdk_code(build_tuning_spec(**spec_args)), language="python")
        except LabError as exc:  # the form above already says what to change
            st.caption(f"No SDK code for these settings: {exc}")
step_footer("training.py")
