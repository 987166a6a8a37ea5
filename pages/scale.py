import streamlit as st

from lab import jobs
from lab.errors import LabError
from lab.formats import number
from lab.processing import (
    MAX_INSTANCES,
    SHARDED_KIND,
    PrepParams,
    build_request,
    open_processing,
    processing_job,
    sharded_sdk_code,
)
from lab.scaling import KIND as SCALE_KIND
from lab.scaling import MAX_ROWS, MAX_WORKERS, MIN_ROWS, scale_job, speedup_chart
from lab.training import (
    DISTRIBUTED_KIND,
    compare_with_one_worker,
    distributed_sdk_code,
    open_training,
    training_job,
)
from lab.training import MAX_INSTANCES as MAX_TRAINING_INSTANCES
from pages._ui import (
    backend_note,
    chart,
    concept,
    diagram,
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
st.title("Sharded processing")
st.write(
    "Data that outgrows one machine, in three steps on this page: the processing job on N "
    "instances, XGBoost trained by N workers, and the speed-up measured. The lab's answer "
    "is SageMaker's own: the "
    "**same scripts** on several instances, each instance working on its own **shard** of "
    "the data, and the engines' own ways of combining the work (a small combine step for "
    "the preparation, XGBoost's collective communication for training). No cluster of your "
    "own to run. Locally, N worker processes play the N instances, with the folders and "
    "names SageMaker gives them (algo-1, algo-2...)."
)
diagram("sharded")

# --- Sharded processing -----------------------------------------------------------------
st.header("Processing on N instances", anchor="sharded-processing")
concept("Why one scaler per shard would be wrong", """
A `StandardScaler` fit on each instance's shard learns **that shard's** mean and spread.
Shard 1 might hold older, smaller houses and shard 2 newer, larger ones: each instance
would centre its rows on its own mean, so the same house gets two different scaled values
depending on where it landed, the train split as a whole is no longer centred on 0 with a
spread of 1, and the validation and test rows are scaled with a scaler that saw only part
of the training data. The model then learns from numbers that mean different things.

So the job runs in three passes: each instance **profiles** its shard (rows, column types,
text values), a small **combine** step makes one plan (the one-hot columns, each row's
split: the workshop's own split of the whole table); each instance computes **partial
statistics** of its train rows (count, mean and spread per column), the combine step
merges them into **one scaler** (Chan's formula: exact, no sum-of-squares
cancellation); then each instance **transforms** its rows with it and writes its own part
file. One instance or ten, the same rows land in the same splits, scaled with the same
numbers.
""", expanded=not presenter())
if prerequisites("sharded"):
    with st.form("sharded_form"):
        left, right = st.columns([1, 2])
        instances = left.number_input("Instances", 2, MAX_INSTANCES, 3, key="sharded_n",
                                      help="Locally: worker processes, one per instance.")
        right.write("The active dataset is written as one shard per instance, each instance "
                    "writes its own part of each split; the result is compared with the "
                    "in-process preparation, row for row.")
        run_sharded = st.form_submit_button("Run the sharded processing job", type="primary",
                                            icon=":material/play_arrow:")
    if run_sharded:
        try:
            st.session_state["sharded_job"] = jobs.start(
                cfg, processing_job(cfg, PrepParams(), int(instances)))
        except LabError as exc:
            show_error(exc)
    engine = open_processing(cfg)
    backend_note(engine)
    estimate = getattr(engine, "launch_estimate", None)
    if estimate is not None:
        st.caption(f"{int(instances)} instances, three jobs: {estimate(int(instances)).text}.")

    def show_sharded(job) -> None:
        result = job.result or {}
        if result.get("match"):
            st.success("Every split holds the in-process preparation's rows, scaled with the "
                       "same numbers.", icon=":material/check_circle:")
        else:
            st.error("The parts differ from the in-process preparation: "
                     + "; ".join(f"{k}: {v}" for k, v in result.get("comparison", {}).items()))
        check = result.get("check", {})
        cols = st.columns(3)
        cols[0].metric("Instances", len(result.get("instances", [])))
        cols[1].metric("Largest |mean| of a scaled column", f"{check.get('max_abs_mean', 0):.1e}")
        cols[2].metric("Largest |std − 1|", f"{check.get('max_abs_std_error', 0):.1e}")
        table([{"instance": i["host"], "shards": ", ".join(i["shards"]), "rows": i["rows"],
                "train": i["train"], "validation": i["validation"], "test": i["test"]}
               for i in result.get("instances", [])], width="stretch")
        stats = result.get("statistics", {}).get("columns", {})
        if stats:
            column = st.selectbox("Column", list(stats), key="sharded_column")
            rows = [{"scaler fit on": i["host"] + "'s train rows only",
                     "mean": i["train_means"].get(column)} for i in result["instances"]]
            rows.append({"scaler fit on": "the whole train split (the job's)",
                         "mean": stats[column]["mean"]})
            table(rows, width="stretch")
            what_to_notice(
                f"Each instance's own mean of {column} differs from the whole split's: a "
                "scaler per shard would centre each part on a different number.",
                "Each split's rows are the in-process ones, only grouped by instance: one "
                "part file per instance, none written twice.")

    job_panel(SHARDED_KIND, "sharded_job", "No sharded job yet: pick the instances and run.",
              render_result=show_sharded, log_title="Sharded processing log (each line names "
              "its instance)", stop_key="stop_sharded")
    show_step_code("sharded", "The code that ran: sharded processing")
    if not presenter():
        with st.expander("The sharded job on SageMaker (SDK v2)", icon=":material/cloud:"):
            try:
                st.code(sharded_sdk_code(build_request(ws, PrepParams(), int(instances))),
                        language="python")
            except LabError as exc:
                show_error(exc)

# --- Distributed training ---------------------------------------------------------------
st.header("Distributed training", anchor="distributed-training")
concept("How XGBoost trains on several instances", """
Each instance reads **its own shard** of the train and validation channels
(`ShardedByS3Key`: one object per instance). XGBoost's **collective communication** joins
them: the first instance (algo-1) starts XGBoost's *tracker*, every instance connects to it,
and at each split search the instances **add up** their gradient histograms (an
*allreduce*), so all of them grow the same trees, as if one machine held all the rows. The
metrics are summed the same way; algo-1 alone writes the model. The random forest
(scikit-learn) has no such thing: it trains on one instance.
""")
if prerequisites("distributed"):
    with st.form("distributed_form"):
        c1, c2, c3 = st.columns(3)
        workers = c1.number_input("Workers (instances)", 2, MAX_TRAINING_INSTANCES, 2,
                                  key="dist_n")
        rounds = c2.number_input("n_estimators", 1, 2000, 200, key="dist_rounds")
        depth = c3.number_input("max_depth", 1, 20, 5, key="dist_depth")
        b1, b2 = st.columns(2)
        run_wide = b1.form_submit_button("Train on the workers", type="primary",
                                         icon=":material/hub:")
        run_one = b2.form_submit_button("Train the one-worker model to compare",
                                        icon=":material/person:")
    hps = {"n_estimators": int(rounds), "max_depth": int(depth)}
    if run_wide or run_one:
        try:
            st.session_state["distributed_job"] = jobs.start(cfg, training_job(
                cfg, "xgboost", hps, instance_count=int(workers) if run_wide else 1))
        except LabError as exc:
            show_error(exc)
    backend_note(open_training(cfg))

    def show_distributed(job) -> None:
        result = job.result or {}
        if result.get("workers"):
            table([{"worker": w["host"], "train rows": w["train_rows"],
                    "validation rows": w["validation_rows"]} for w in result["workers"]],
                  width="stretch")

    job_panel(DISTRIBUTED_KIND, "distributed_job", "No distributed training yet.",
              render_result=show_distributed, log_title="Training log (each line names its "
              "worker)", stop_key="stop_distributed")
    compared = compare_with_one_worker(cfg)
    if compared and compared["one_worker"]:
        wide, one = compared["distributed"], compared["one_worker"]
        table([{"model": f"{wide['instance_count']} workers", **wide["metrics"]},
               {"model": "1 worker", **one["metrics"]}], width="stretch")
        what_to_notice(
            f"Test MSE ratio {number(compared['mse_ratio'])}: the same data, the same "
            "hyperparameters, (nearly) the same model. The workers' histograms are summed "
            "exactly; only the bins' edges, sketched per worker, may differ a little.",
            f"{sum(w['train_rows'] for w in wide.get('workers', []))} train rows over "
            f"{wide['instance_count']} workers: every row was trained on, each once.")
    elif compared:
        st.info("Train the one-worker model with the same hyperparameters to compare.",
                icon=":material/compare_arrows:")
    show_step_code("distributed", "The code that ran: distributed training")
    if not presenter():
        with st.expander("Distributed training on SageMaker (SDK v2)", icon=":material/cloud:"):
            st.code(distributed_sdk_code(hps, int(workers)), language="python")

# --- Measured speed-up ------------------------------------------------------------------
st.header("Measured speed-up", anchor="speed-up")
st.write(
    "A generated dataset of the size you pick goes through the sharded processing and the "
    "distributed training with each number of workers, timed on this machine, and each "
    "result is checked: the same rows per split, the scaled columns at mean 0 and std 1, "
    "every row trained on, test MSEs within 10% of each other."
)
with st.form("scale_form"):
    c1, c2, c3 = st.columns(3)
    rows = c1.number_input("Rows", MIN_ROWS, MAX_ROWS, 200_000, step=50_000, key="scale_rows")
    counts = c2.multiselect("Workers", list(range(1, MAX_WORKERS + 1)), default=[1, 2],
                            key="scale_workers", max_selections=4)
    scale_rounds = c3.number_input("n_estimators", 1, 2000, 50, key="scale_rounds")
    measure = st.form_submit_button("Measure", type="primary", icon=":material/speed:")
if measure:
    try:
        st.session_state["scale_job"] = jobs.start(cfg, scale_job(cfg, int(rows), counts,
                                                                  int(scale_rounds)))
    except LabError as exc:
        show_error(exc)


def show_scale(job) -> None:
    result = job.result or {}
    chart(speedup_chart(result), key="speedup_chart")
    checks = result.get("checks", {})
    (st.success if checks.get("ok") else st.error)(
        "Every point is the same result: "
        + ", ".join(f"{k.replace('_', ' ')} {'yes' if v else 'NO'}" for k, v in checks.items()
                    if isinstance(v, bool) and k != "ok")
        + f" (test MSE spread {number(100 * checks.get('mse_spread', 0))}%).",
        icon=":material/fact_check:")
    table([{"workers": p["workers"], "processing s": p["processing_s"],
            "training s": p["training_s"], "test MSE": p["test_mse"]}
           for p in result.get("points", [])], width="stretch")
    what_to_notice(
        f"This machine has {result.get('cores')} core(s): N worker processes share them, so "
        "the speed-up is at most the number of cores, less the cost of starting processes "
        "and of the combine steps. Small data is slower on more workers: the start-up costs "
        "more than the work saved.",
        "On SageMaker each worker is an instance with its own cores, memory and network: "
        "the work per instance shrinks as you add them, but each job pays minutes of "
        "start-up and each instance is billed. Instances pay off when one machine cannot "
        "hold the data or the time, not on data this size.")


job_panel(SCALE_KIND, "scale_job", "No measurement yet: pick the rows and the workers.",
          render_result=show_scale, log_title="Measurement log", stop_key="stop_scale")
step_footer("scale.py")
