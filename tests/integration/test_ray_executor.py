"""The Ray executor: the tests' tiny study on a local two-worker cluster (loopback only) records
every member as a local run would, without moving checkpoints; Ray is never imported without --ray."""

import subprocess
import sys
import tarfile

import pytest
import ray

from dae_core.settings import PROJECT_ROOT
from dae_core.store.runs import Run, list_runs
from dae_core.studies import designs, evidence, ray_executor, runner, store
from dae_core.training import ray_cluster

TINY = dict(seeds=2, budgets=(100, 300), arms=("scratch", "random-init"), epochs_scale=0.1, steps_per_epoch=5)


@pytest.fixture(scope="module")
def cluster():
    ray_cluster.start_local_cluster(num_cpus=2)  # ray.init(num_cpus=2, no dashboard, no logs), loopback
    yield ray
    ray.shutdown()


def test_a_tiny_study_on_ray_records_every_member_as_a_local_run(cluster, data_dir, tmp_path, monkeypatch):
    unpacked = []
    monkeypatch.setattr(tarfile.TarFile, "extractall", spy(tarfile.TarFile.extractall, unpacked))
    study = store.Study.open(designs.label_efficiency(data_dir=str(data_dir), **TINY), runs_dir=tmp_path)
    assert ray_executor.run_on_ray(study, "local", verbose=False) == []
    table = evidence.results(study)
    assert len(table) == 8 and len(list_runs(tmp_path)) == 8
    assert list(table.columns) == list(local_results(study, tmp_path / "local").columns)
    for _, row in table.iterrows():  # every figure is the unpacked run's own record
        run = Run(tmp_path / row["run"])
        assert run.status()["test"]["accuracy"] == row["accuracy"]
        assert run.config() == runner.member_config(study, by_key(study)[row["key"]]).to_dict()
        assert {"config.json", "status.json", "metrics.jsonl", "model.keras", "tensorboard"} <= names(run)
    assert len(unpacked) == 8 and not any("checkpoint-" in name for names_ in unpacked for name in names_)
    # no GPU on this cluster: no member asked for one, and each says where it trained
    assert {Run(tmp_path / r).status()["ray_gpus"] for r in table["run"]} == {""}
    assert all(Run(tmp_path / r).status()["node"] for r in table["run"])
    assert not list(tmp_path.glob("*/checkpoint-*.keras"))


def test_a_failing_member_is_reported_and_left_for_the_next_run(cluster, data_dir, tmp_path, capsys):
    broken = dict(designs.label_efficiency(data_dir=str(data_dir), **TINY).members[0].config,
                  init_from=str(tmp_path / "missing.keras"))
    design = store.Design("broken", "?", (store.Member("broken/seed=0", "scratch", 0, broken),))
    study = store.Study.open(design, runs_dir=tmp_path)
    assert ray_executor.run_on_ray(study, "local") == list(design.members)
    assert "member broken/seed=0 failed" in capsys.readouterr().out and study.read()["runs"] == {}
    assert not list_runs(tmp_path)


def test_a_study_s_trainers_run_tensorflow_on_one_thread_each_a_single_run_s_on_all(cluster):
    import tensorflow as tf

    threads = tf.config.threading.get_intra_op_parallelism_threads  # 0: TensorFlow's all cores
    with ray_cluster.Trainers(cpu_threads=1) as capped, ray_cluster.Trainers() as uncapped:
        assert ray.get(capped.take(0.0).call.remote(threads)) == 1
        assert ray.get(uncapped.take(0.0).call.remote(threads)) == 0


def test_without_ray_installed_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets where it is not installed
    design = designs.label_efficiency(**TINY)
    with pytest.raises(store.JobError, match=r"pip install ray==2\.60\.0"):
        ray_executor.run_on_ray(store.Study.open(design, runs_dir=tmp_path), "auto")


def test_ray_is_not_imported_without_ray():
    check = ("import dae_core.studies, dae_core.studies.designs, dae_core.cli.main, dae_core.cli.remote, "
             "dae_core.training.remote, dae_core.studies.ray_executor; import sys; "
             "assert 'ray' not in sys.modules")
    result = subprocess.run([sys.executable, "-c", check], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def local_results(study, runs_dir):
    """The results of the study's first member, run by the local executor."""
    first = study.design().members[0]
    local = store.Study.open(store.Design("one", "?", (first,), axis="labels"), runs_dir=runs_dir)
    assert runner.run_locally(local, verbose=False) == []
    return evidence.results(local)


def spy(extractall, calls: list):
    def recording(self, *args, **kwargs):
        calls.append(self.getnames())
        return extractall(self, *args, **kwargs)
    return recording


def by_key(study) -> dict:
    return {m.key: m for m in study.design().members}


def names(run) -> set[str]:
    return {p.name for p in run.path.iterdir()}
