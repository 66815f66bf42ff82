"""Shipping a study keeps its results under its own id, so a rerun in another precision (``--id``)
sits beside the shipped study instead of overwriting it."""

import shutil
import sys

import pandas as pd

from dae_core import settings
from dae_core.cli.main import main
from dae_core.store.runs import Run
from dae_core.studies import designs, store


def test_a_study_with_its_own_id_ships_beside_the_study_of_its_name(tmp_path, monkeypatch):
    studies, runs = tmp_path / "studies", tmp_path / "runs"
    shutil.copytree(settings.PROJECT_ROOT / "studies" / "seeds", studies / "seeds")
    monkeypatch.setenv(settings.STUDIES_DIR_ENV, str(studies))
    before = (studies / "seeds" / "results.csv").read_bytes()
    study = store.Study.open(store.with_precision(designs.seeds_study(), "bfloat16"), "seeds-bfloat16", runs)
    for i, member in enumerate(study.design().members):
        finished(study, member, device="GPU: NVIDIA H200" if i == 0 else "CPU (2 cores)")

    argv = ["study", "seeds", "--precision", "bfloat16", "--id", "seeds-bfloat16", "--results-only", "--ship",
            "--runs-dir", str(runs)]
    monkeypatch.setattr(sys, "argv", ["dae_core", *argv])  # the command recorded as it was typed
    code = main(argv)

    assert code == 0
    assert (studies / "seeds" / "results.csv").read_bytes() == before
    assert (studies / "seeds-bfloat16" / "results.csv").exists()
    about = store.shipped_about("seeds-bfloat16")
    assert "--precision bfloat16 --id seeds-bfloat16" in about["command"]
    assert about["machine"] == "CPU (2 cores); GPU: NVIDIA H200"  # where its members recorded they trained


def finished(study: store.Study, member: store.Member, accuracy: float = 0.9, device: str | None = None) -> None:
    """The member recorded as a finished run (no model file: the figures are the run's record)."""
    run = Run.create(member.config, study.runs_root)
    run.set_status("completed", test={"accuracy": accuracy + 0.001 * member.seed}, device=device)
    study.record(member.key, run)


def test_a_study_with_members_left_does_not_ship(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(settings.STUDIES_DIR_ENV, str(tmp_path / "studies"))
    runs = tmp_path / "runs"
    study = store.Study.open(designs.seeds_study(preset="improved"), "seeds-improved", runs)
    for member in study.design().members[:2]:
        finished(study, member)
    argv = ["study", "seeds", "--preset", "improved", "--id", "seeds-improved", "--results-only", "--ship",
            "--runs-dir", str(runs)]
    assert main(argv) == 2
    assert "study seeds-improved has 2 of its 6 members finished, and a study ships whole" in capsys.readouterr().err
    assert not (tmp_path / "studies").exists() and store.shipped_seeds("improved") is None


def test_an_autoencoders_results_read_back_by_their_psnr(tmp_path):
    table = pd.DataFrame({"key": ["task1/seed=0"], "arm": ["task1"], "seed": [0], "psnr_denoised": [16.9]})
    table.to_csv(tmp_path / store.RESULTS_FILE, index=False)
    assert store.read_results(tmp_path)["psnr_denoised"].tolist() == [16.9]  # not "damaged": no accuracy


def test_each_preset_finds_its_own_seeds_study(tmp_path, monkeypatch):
    studies = tmp_path / "studies"
    monkeypatch.setenv(settings.STUDIES_DIR_ENV, str(studies))
    assert store.shipped_seeds("seed") is None and store.shipped_seeds("improved") is None  # none shipped
    shutil.copytree(settings.PROJECT_ROOT / "studies" / "seeds", studies / "seeds")
    seed = store.shipped_seeds("seed")
    assert len(seed) and set(seed["preset"]) == {"seed"}
    assert store.shipped_seeds("improved") is None  # the seed preset's study says nothing of it
    improved = seed.assign(preset="improved", accuracy=seed["accuracy"] + 0.03)
    (studies / "seeds-improved").mkdir()
    store.write_results(studies / "seeds-improved", pd.concat([improved, seed]))  # an id reused: both presets
    assert store.shipped_seeds("improved")["accuracy"].tolist() == improved["accuracy"].tolist()
    assert store.shipped_seeds("seed")["accuracy"].tolist() == seed["accuracy"].tolist()


def test_the_seeds_study_runs_at_the_improved_preset_and_label_studies_refuse_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(settings.STUDIES_DIR_ENV, str(tmp_path / "studies"))
    runs = tmp_path / "runs"
    study = store.Study.open(designs.seeds_study(preset="improved"), "seeds-improved", runs)
    assert {m.config["preset"] for m in study.design().members} == {"improved"}
    # the command line makes the same design (another would be refused as "exists with other settings")
    assert main(["study", "seeds", "--preset", "improved", "--id", "seeds-improved", "--results-only",
                 "--runs-dir", str(runs)]) == 0
    assert main(["study", "label-efficiency", "--preset", "improved", "--results-only",
                 "--runs-dir", str(runs)]) == 2
    assert "the label-efficiency study trains at the seed preset only" in capsys.readouterr().err
