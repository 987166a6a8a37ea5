"""The knowledge checks of each stage: multiple choice, an explanation for every choice.

Each question is about a concept a page of the lab teaches (`topic`), so a learner who
picks a wrong answer is told why, and where to read it again.
"""

from __future__ import annotations

from lab.checkpoints._api import Choice, Question
from lab.errors import InputError


def _q(qid: str, stage: str, topic: str, text: str, *choices: tuple[str, str],
       correct: int = 0) -> Question:
    return Question(qid, stage, text, tuple(Choice(t, w) for t, w in choices), correct, topic)


QUESTIONS: tuple[Question, ...] = (
    # Initial
    _q("initial-scaler", "Initial", "prep.py",
       "Why is the StandardScaler fit on the training split only?",
       ("So that nothing about the validation and test rows leaks into training.",
        "Right. The scaler's mean and standard deviation are learned from data. Fit on all "
        "rows, they would carry information about the held-out rows into the model, and "
        "the test score would look better than the model really is."),
       ("Because the validation and test splits are not scaled.",
        "Not so: all three splits are scaled, with the mean and standard deviation learned "
        "on the train split, because the model must see features on the scale it learned."),
       ("Because fitting on 6,000 rows is faster than on 10,000.",
        "Speed is not the reason (a scaler is cheap to fit). The reason is leakage: the "
        "held-out rows must stay unseen until they are used to evaluate.")),
    _q("initial-sharded", "Initial", "prep.py",
       "A processing job runs on 2 instances with an input in ShardedByS3Key mode. What "
       "does each instance receive?",
       ("A different share of the input's S3 objects (files).",
        "Right. The objects under the S3 prefix are split between the instances, so each "
        "one processes its share. One large file goes to one instance: to spread a dataset, "
        "write it as several files."),
       ("Every input file (a full copy).",
        "That is FullyReplicated, the default mode: each instance gets everything, which "
        "suits a step that needs all the data on every instance."),
       ("The rows of each file, split in half.",
        "Sharding is per S3 object, not per row: a file is never cut. Write several files "
        "to spread one dataset over instances.")),
    _q("initial-metrics", "Initial", "training.py",
       "How does SageMaker learn a training job's validation MSE?",
       ("A metric definition's regular expression reads it from the job's log.",
        "Right. The script prints lines such as `validation-rmse:7735.15`; each metric "
        "definition names a metric and a regex whose first group is the value. Tuning "
        "reads its objective the same way."),
       ("The container uploads a metrics file that SageMaker parses.",
        "Not for training metrics: SageMaker reads them from the log (stdout) with the "
        "metric definitions' regular expressions, while the job runs."),
       ("SageMaker evaluates the model artifact on the validation channel.",
        "SageMaker never runs your model to score it; your script computes the metric and "
        "prints it, and a metric definition's regex picks it out of the log.")),
    _q("initial-validation", "Initial", "training.py",
       "Which split picks the best tuning trial, and which one gives the final estimate?",
       ("Validation picks the best trial; the test split, never used to choose, gives the "
        "final estimate.",
        "Right. Every choice made with a split (a trial, early stopping) makes that split's "
        "score optimistic, so the test split is kept apart for one honest estimate."),
       ("Test picks the best trial; validation gives the final estimate.",
        "Backwards: a split used to choose stops being an unbiased judge. Validation is for "
        "choosing; test is kept for the end."),
       ("Both come from the training split.",
        "The training score says how well the model fits what it has seen, not how it does "
        "on new data; it is the worst judge of all three.")),
    _q("initial-approval", "Initial", "registry.py",
       "Version 3 is PendingManualApproval, version 2 is Approved. What may be deployed?",
       ("Version 2: only an Approved version goes to an endpoint.",
        "Right. Approval is the gate between experiments and production: someone reviewed "
        "the metrics and said yes, and the registry keeps who, when and why."),
       ("Version 3, because it is the newest.",
        "Newest is not reviewed: deploying a pending version skips the gate (the SDK's "
        "ModelPackage.deploy would even approve it silently; the lab refuses)."),
       ("Both, behind one endpoint.",
        "An endpoint can serve several variants, but each must be an approved model; a "
        "pending version has not passed the review.")),
    _q("initial-deployment", "Initial", "registry.py",
       "You must score a table of a million houses once a night. Which option fits?",
       ("Batch transform: a job that reads the table from S3, scores it, and stops.",
        "Right. Nothing runs between nights, so nothing is paid for between nights; a "
        "real-time endpoint would sit idle all day."),
       ("A real-time endpoint called a million times.",
        "It works, but the instance runs (and is billed) all day for a nightly job, and a "
        "million HTTP calls are slower than one batch job."),
       ("Serverless inference.",
        "Serverless suits sparse, unpredictable traffic with small payloads; a million rows "
        "at once is a batch job's work.")),
    # Repeatable
    _q("repeatable-order", "Repeatable", "pipelines.py",
       "What decides the order in which the pipeline's steps run?",
       ("The data they pass: a step that reads another step's property runs after it.",
        "Right. TrainModel reads PreprocessData's outputs, EvaluateModel reads the model, "
        "and CheckMSE reads the evaluation report through a PropertyFile and JsonGet: "
        "SageMaker builds the DAG from these references (and any depends_on)."),
       ("The order of the steps in the Pipeline(steps=[...]) list.",
        "The list only names the steps; the edges come from the properties each step reads. "
        "Two steps with no dependency between them run in parallel."),
       ("The step names, alphabetically.",
        "Names do not matter; data dependencies do.")),
    _q("repeatable-cache", "Repeatable", "pipelines.py",
       "A minute after a successful execution, you start the pipeline again with the same "
       "parameters. What happens?",
       ("The cached steps reuse the earlier outputs, and RegisterModel runs again: a new "
        "version of the same model is registered.",
        "Right. Steps with caching enabled and unchanged inputs are cache hits; SageMaker "
        "never caches RegisterModel, so each execution registers a version, even a "
        "duplicate of the last one."),
       ("Every step runs again from scratch.",
        "Not with caching on: a step whose code, inputs and parameters are unchanged "
        "within the expiry (12 hours here) reuses its earlier outputs."),
       ("Nothing runs: the whole execution is a cache hit.",
        "Caching is per step, and RegisterModel is never cached.")),
    _q("repeatable-false", "Repeatable", "pipelines.py",
       "The random forest's test MSE is 335,578,021 and MseThreshold is 320,000,000. "
       "What does the execution do?",
       ("CheckMSE is false, the else branch (no steps) runs, nothing is registered, and the "
        "execution still Succeeds.",
        "Right. A condition that comes out false is not a failure: it is the gate doing its "
        "job. The DAG shows CheckMSE in orange, false, and RegisterModel not executed."),
       ("The execution fails at CheckMSE.",
        "A condition step succeeds whichever way it goes; only an error fails it. Add a "
        "FailStep to the else branch if you want a failed execution."),
       ("It registers the model as Rejected.",
        "The register step is on the if branch only; with the condition false it does not "
        "run at all.")),
    # Reliable
    _q("reliable-trigger", "Reliable", "stage_reliable.py",
       "In the Reliable stage, what starts a deployment to production?",
       ("An approval in the model registry starts a CI/CD pipeline that deploys to "
        "staging, tests, and promotes to production.",
        "Right. People approve; automation deploys, the same way every time, with tests "
        "between the stages."),
       ("A data scientist runs the deployment cell of a notebook.",
        "That is the Initial stage's hand-off: it works, but nobody can repeat or audit it."),
       ("Every training job deploys its model automatically.",
        "Without the approval gate and the tests, any model would reach production.")),
    _q("reliable-rollout", "Reliable", "stage_reliable.py",
       "Which rollout sends part of the traffic to the new model first, and rolls back on "
       "an alarm?",
       ("Canary (or linear) traffic shifting, as in a blue/green deployment.",
        "Right. A small share of requests tries the new model; alarms on its errors or "
        "latency roll back before everyone is affected."),
       ("All at once.",
        "All traffic moves in one go: fastest, but a bad model reaches every user."),
       ("Shadow testing.",
        "A shadow variant receives copies of the requests and its answers are only "
        "recorded: users never see them, so nothing shifts or rolls back.")),
    _q("reliable-drift", "Reliable", "drift.py",
       "One feature of a new batch is shifted by one standard deviation; the others are as "
       "in training. What does the drift report show?",
       ("That feature drifts (its PSI far above 0.2, its KS near 0.4); the others do not.",
        "Right. PSI and KS are computed feature by feature against that feature's own "
        "baseline: a shift of one standard deviation moves a large share of its values "
        "across the histogram's buckets, and leaves the other features untouched."),
       ("Every feature drifts, because the rows changed.",
        "The other features' values are exactly the training distribution's: their PSI and "
        "KS stay near 0. Drift is judged per feature."),
       ("Nothing, unless the model's error changed.",
        "Drift is about the inputs, measured without any label or prediction: that is why "
        "it can warn before the errors are known.")),
    _q("reliable-gates", "Reliable", "gates.py",
       "A new model's test MSE is 8% above the approved version's, and the "
       "model-quality margin is 5%. What does the gated pipeline do?",
       ("ModelQualityGate is false: the model is held back, nothing is registered, and the "
        "execution still Succeeds.",
        "Right. The gate is a condition: the ceiling is the approved MSE x 1.05, the new "
        "MSE is above it, so RegisterModel does not run. The gate doing its job is not a "
        "failure."),
       ("The execution fails at CheckDataQuality.",
        "The data-quality check is about the input data, before training; here the data "
        "is fine and the model is what falls short."),
       ("It registers the model as Rejected.",
        "RegisterModel is on the gate's true branch only: a held-back model never reaches "
        "the registry.")),
    _q("reliable-canary", "Reliable", "rollouts.py",
       "During a canary rollout the new version fails every request it gets. What do the "
       "users see?",
       ("Only the canary's share of requests fails, until the guardrail fires a moment "
        "later and all the traffic goes back to the old version.",
        "Right. The old fleet keeps serving throughout; the guardrail reads the new fleet's "
        "error rate while the step bakes and rolls back at the first breach."),
       ("Every request fails until someone notices.",
        "That is an all-at-once deployment without guardrails. A canary limits the damage "
        "to its share, and the rollback is automatic."),
       ("No request fails: the canary only receives copies.",
        "That is shadow testing. A canary answers real requests: its share of the users "
        "gets its answers, good or bad.")),
    _q("reliable-capture", "Reliable", "monitoring.py",
       "An endpoint captures 10% of its requests. What does its monitoring see?",
       ("Every request in its metrics (rate, errors, latency), and a tenth of them, with "
        "their answers, in the capture that drift is computed from.",
        "Right. Metrics count every invocation; data capture samples what it stores, which "
        "bounds its size and still gives the distribution of the inputs."),
       ("Only a tenth of the requests in every chart.",
        "The metrics are counted for every request; only the captured payloads are "
        "sampled."),
       ("Nothing until a monitoring schedule runs.",
        "Capture and metrics are recorded as requests arrive; a schedule (or the lab) only "
        "analyses what was captured.")),
    # Scalable
    _q("scalable-coe", "Scalable", "stage_scalable.py",
       "What does a centre of excellence do in the Scalable stage?",
       ("A small central team sets the standards and offers the templates and the shared "
        "platform that the other teams use.",
        "Right. It spreads what works (templates, guardrails, shared features and "
        "registry) so that every team does not rebuild it."),
       ("It builds every model for every team.",
        "That does not scale: the teams build their own models, on the platform."),
       ("It approves each training job.",
        "Approval is per model version, by the owning team's reviewers; the centre sets the "
        "rules, it does not run them.")),
    _q("scalable-roles", "Scalable", "stage_scalable.py",
       "Who usually owns turning the data scientist's pipeline into the production "
       "deployment pipeline?",
       ("The ML engineer.",
        "Right. The data engineer feeds the features, the data scientist builds and "
        "evaluates models, the ML engineer makes them run in production, reliably."),
       ("The data engineer.",
        "The data engineer owns the data pipelines and the feature store's inputs."),
       ("The data scientist alone.",
        "In the Initial stage, often; as the organisation grows, production work moves to "
        "ML engineers so data scientists can keep experimenting.")),
    _q("scalable-shard-scaler", "Scalable", "scale.py",
       "A processing job runs on 3 instances, each on its own shard of the data. How should "
       "the StandardScaler be fit?",
       ("On the whole train split: each instance computes partial statistics of its train "
        "rows, a combine step merges them into one scaler, and every instance applies it.",
        "Right. One scaler for all, so the same house is scaled the same way wherever it "
        "landed, and the train split as a whole has mean 0 and std 1."),
       ("One per instance, each on its own shard.",
        "Each would centre its rows on its own shard's mean: two instances would scale the "
        "same value differently, and the train split as a whole would not be centred."),
       ("On the first instance's shard, then shared with the others.",
        "A third of the train rows is not the train split: the scaler would be off wherever "
        "that shard differs from the rest.")),
    _q("scalable-xgboost-workers", "Scalable", "scale.py",
       "How do several XGBoost workers, each with its own shard, train one model?",
       ("At each split search they add up their gradient histograms through XGBoost's "
        "collective communication, so all of them grow the same trees.",
        "Right. The first instance runs the tracker, every worker joins it, and the summed "
        "histograms are those of all the rows: the model is the one-machine model (up to "
        "the bins' edges)."),
       ("Each trains a model on its shard, and the models are averaged at the end.",
        "That would be several smaller models, not XGBoost's distributed training: boosting "
        "needs every tree to see the errors of all the rows."),
       ("The first worker trains; the others only compute the validation metric.",
        "All of them train: each one's rows feed every split decision through the summed "
        "histograms.")),
    _q("scalable-team-rules", "Scalable", "teams.py",
       "Team risk finds a feature group that team pricing owns on the shared platform. What "
       "may risk do with it?",
       ("Read it (and be recorded as one of its users), but not ingest into it, delete it or "
        "approve pricing's models.",
        "Right. Reading is what sharing is for; changing stays with the owner, who can then "
        "see who depends on what it changes."),
       ("Anything: the store is shared.",
        "Then any team could overwrite another's features or approve its models: sharing "
        "reads does not mean sharing writes."),
       ("Nothing: another team's data is private.",
        "Then nothing would be reused and every team would rebuild the same features, which "
        "is what a platform is meant to stop.")),
)


def questions_of(stage: str) -> list[Question]:
    return [q for q in QUESTIONS if q.stage == stage]


def question(qid: str) -> Question:
    for q in QUESTIONS:
        if q.id == qid:
            return q
    raise InputError(f"There is no knowledge check {qid!r}.")
