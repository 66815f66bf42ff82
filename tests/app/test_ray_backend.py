"""The Train page's "Run on" choice (dashboard/ray_backend.py): this machine unless a cluster is
picked; the cluster's address from $RAY_ADDRESS, else "auto"; the options the training gets."""

from streamlit.testing.v1 import AppTest

from dashboard import ray_backend


def choosing():
    import streamlit as st

    from dashboard import ray_backend

    st.session_state.backend = ray_backend.choose("t")


def test_runs_train_here_unless_a_cluster_is_picked_by_its_address(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    at = AppTest.from_function(choosing).run()
    assert at.session_state.backend == ray_backend.Backend() and at.session_state.backend.cli_args() == []
    at.radio(key="t_run_on").set_value(ray_backend.CLUSTER).run()
    assert at.text_input(key="t_ray_address").value == "auto"
    assert at.session_state.backend.cli_args() == ["--ray", "auto"]  # GPUs: Ray's default share
    at.text_input(key="t_ray_address").set_value("10.0.0.5:6379").run()
    at.number_input(key="t_gpus_per_run").set_value(0.5).run()
    assert at.session_state.backend.cli_args() == ["--ray", "10.0.0.5:6379", "--gpus-per-run", "0.5"]


def test_the_address_comes_from_ray_address(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "head:6379")
    at = AppTest.from_function(choosing).run()
    at.radio(key="t_run_on").set_value(ray_backend.CLUSTER).run()
    assert at.session_state.backend == ray_backend.Backend("head:6379")
