"""The training page's diagram (DOT): feature store to training job to experiments and
tuning. Kept here, beside the code it describes, until it moves to assets/diagrams/."""

TRAINING_DOT = """digraph training {
  rankdir=LR;
  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, fillcolor="#dbeafe"];
  fs [label="Feature Store\\n(offline: SQL query)", shape=cylinder, fillcolor="#f3f4f6"];
  channels [label="channels\\ntrain | validation", shape=folder, fillcolor="#f3f4f6"];
  job [label="training job\\nentry_point.py"];
  model [label="model.tar.gz", shape=note, fillcolor="#f3f4f6"];
  exp [label="Experiments\\nparameters, metrics, curves", fillcolor="#dcfce7"];
  tuner [label="tuning job\\n(max_jobs, max_parallel_jobs)", fillcolor="#fef9c3"];
  best [label="best model\\n-> registry", shape=note, fillcolor="#fef9c3"];
  fs -> channels -> job -> model;
  job -> exp [label="log: MSE, r-squared"];
  tuner -> job [label="hyperparameters", style=dashed];
  exp -> tuner [label="objective", style=dashed];
  tuner -> best;
}
"""
