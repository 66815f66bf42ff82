"""The study folder: a study started before a config field existed still continues."""

import json

import pytest

from dae_core.errors import JobError
from dae_core.studies.store import Design, Member, Study
from dae_core.training.config import make_config


def design(epochs: int = 3) -> Design:
    config = make_config("task2", "seed", epochs=epochs, train_size=100).to_dict()
    return Design("tiny", "?", (Member("task2/seed=0", "task2", 0, config),))


def test_a_study_whose_members_lack_a_newer_config_field_continues(tmp_path):
    study = Study.open(design(), runs_dir=tmp_path)
    stored = json.loads(study.file.read_text())
    del stored["design"]["members"][0]["config"]["label_smoothing"]  # as written before the field
    study.file.write_text(json.dumps(stored))
    assert Study.open(design(), runs_dir=tmp_path).path == study.path


def test_a_study_with_other_settings_is_refused(tmp_path):
    Study.open(design(epochs=3), runs_dir=tmp_path)
    with pytest.raises(JobError, match="exists with other settings"):
        Study.open(design(epochs=4), runs_dir=tmp_path)
