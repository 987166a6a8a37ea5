import streamlit as st

from lab.checkpoints import scores
from lab.steps import STAGES, STEPS, checkpoint_file, progress, stage_file
from pages._ui import open_page, take_it_home

ws = open_page()
st.title("Recap: what you built")
st.write("Four stages, each adding practices on top of the one before. Here is what you did "
         "in each, what it gave you, and what it led to.")

done = progress(ws)
marks = scores(ws)
RECAP = {
    "Initial": ("You turned notebook work into managed, tracked pieces: the preparation as a "
                "processing job (scaler fit on the train split only), features in a store "
                "read offline for training and online for inference, training jobs tracked "
                "as experiment runs, tuning on the validation split, a registry whose "
                "approval gates what is deployed, and a real-time endpoint.",
                "Each piece still needed a person to start the next one: that hand-off is "
                "what the Repeatable stage removes."),
    "Repeatable": ("You declared the chain once as a pipeline: parameters, steps ordered by "
                   "the data they pass, a condition on the evaluation report that only "
                   "registers a good enough model, and step caching that skips unchanged "
                   "steps (RegisterModel always runs).",
                   "The pipeline still runs when someone starts it, and what it registers is "
                   "deployed by hand: the Reliable stage makes a commit or an approval start "
                   "them, with tests and monitoring."),
    "Reliable": ("You made a baseline and measured drift, ran the pipeline with quality gates "
                 "started by a change, monitored the endpoint's traffic and inputs, and saw "
                 "a broken version roll back by itself: how models ship like software.",
                 "One team's reliable setup is the template the Scalable stage offers to "
                 "every team."),
    "Scalable": ("You met templates, a self-service platform, shared features and registry, "
                 "and the centre of excellence that spreads what works.",
                 "This is where Lab 1's path ends."),
}
for i, stage in enumerate(STAGES):
    did, led = RECAP[stage]
    score = marks[stage]
    steps = [x for x in STEPS if x.stage == stage]
    with st.container(border=True):
        st.subheader(f"{i + 1}. {stage}")
        st.write(did)
        facts = [f"knowledge checks {score.correct} of {score.questions} right"]
        if steps:
            facts.insert(0, f"steps {sum(done[x.key] for x in steps)} of {len(steps)} done")
        if score.observations and score.observed_at:
            facts.append(f"workspace checks {score.observed_ok} of {score.observations}")
        st.caption("You: " + ", ".join(facts) + ".")
        st.markdown(f"**Leads to:** {led}")
        c1, c2 = st.columns(2)
        c1.page_link(f"pages/{stage_file(stage)}", label=f"The {stage} stage again",
                     icon=":material/flag:")
        c2.page_link(f"pages/{checkpoint_file(stage)}", label=f"{stage} checkpoint",
                     icon=":material/quiz:")

st.header("What comes next")
st.write("The workshop's Lab 1 stops at the Repeatable stage; this lab's Reliable and "
         "Scalable stages go further, hands-on. Run any step again with other parameters, "
         "or take the lab home.")
take_it_home()
