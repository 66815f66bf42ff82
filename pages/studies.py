"""Studies: many runs that answer the lab's question with evidence, each read like a paper's
figure: one sentence computed from the data, each arm's difference from the reference with its
95% band, a compact table, and the per-comparison sentences folded away."""

import streamlit as st

from dae_core.studies import designs
from dashboard import runtime, study_view, widgets

runtime.run_through_app()

ABOUT = {
    "label-efficiency": "Test accuracy against the number of labelled training images, for four arms: the "
                        "Task 2 CNN from scratch, Task 3 from the MNIST autoencoder's encoder, the same Task 3 "
                        "model from random weights (what does pretraining add?), and Task 3 from the encoder "
                        "of an autoencoder trained on Fashion-MNIST images without their labels.",
    "pretraining": "Where does unsupervised pretraining pay? The encoder frozen under a linear head or a small "
                   "head, or the whole CNN fine-tuned, from the MNIST autoencoder, a Fashion-MNIST autoencoder "
                   "(gaussian noise or masked patches) or random weights, and a fully connected network; "
                   "each against the same model from random weights.",
    "seeds": "Task 2 against Task 3 at a preset, trained with several random seeds: how sure is the difference?",
    "variants": "The assignment's three variants: the whole autoencoder, frozen or not, under the Task 2 CNN.",
    "robustness": "Each classifier's test accuracy on noisy test images: does an encoder trained to denoise "
                  "make a classifier more robust to noise? (Evaluation only, no training.)",
}

st.title("Studies")
st.caption("A study is a grid of ordinary training runs (arms x settings x seeds); the figures are "
           "means over seeds with 95% intervals (from 3 seeds on), so a difference can be told from chance.")
name = st.segmented_control("Study", list(ABOUT), default="label-efficiency", required=True, key="studies_name")
st.markdown(ABOUT[name])
with widgets.guarded():
    table, about = study_view.shipped(name)
    if table is not None:
        st.subheader("Shipped results")
        st.caption(f"{study_view.made_by(about)}.")
        study_view.show_results(name, table, f"{name}_shipped")
    elif name in designs.DESIGNS:
        st.info(f"No results of this study ship with the project yet: they will ship in `studies/{name}/` when "
                f"it finishes (`python -m dae_core study {name} --ship`). Its results so far on this machine "
                "are below.")
    st.subheader("On this machine")
    if name == "robustness":
        st.caption("`python -m dae_core study robustness` evaluates the shipped classifiers (minutes).")
    else:
        study_view.start_full(name, about)
    study_view.show_live(name, study_view.live_folder(name), f"{name}_live")
    if name == "seeds":
        study_view.show_live_improved()
    if name == "label-efficiency":
        st.subheader("Demo")
        st.caption("Eight tiny members (2 seeds, a few steps each) in a runs folder of their own: they never "
                   "join the ordinary runs, and one click clears them.")
        study_view.show_live(name, study_view.demo_controls(), "demo")
