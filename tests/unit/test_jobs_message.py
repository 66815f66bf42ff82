"""The run's message for people counts its epochs in good English."""

import pytest

from dae_core.store.runs import Run
from dae_core.training import jobs


@pytest.mark.parametrize("epochs, words", [(1, "Completed 1 epoch on CPU."), (3, "Completed 3 epochs on CPU.")])
def test_a_completed_run_says_epoch_or_epochs(tmp_path, epochs, words):
    run = Run.create({"task": "task2", "preset": "seed", "epochs": epochs}, tmp_path)
    run.set_status("completed", epoch=epochs, epochs=epochs, device="CPU")
    assert jobs.progress(run).message == words
