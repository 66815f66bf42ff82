"""Run settings that need no TensorFlow."""

from dae_core.training.config import cap_train_size, make_config


def test_a_train_size_beyond_the_data_is_capped_to_all_of_it_with_a_note():
    config, note = cap_train_size(make_config("task2", train_size=60_000), available=48_000)
    assert config.train_size is None and "48,000" in note and "60,000" in note
    same, none = cap_train_size(make_config("task2", train_size=5_000), available=48_000)
    assert same.train_size == 5_000 and none is None
    assert cap_train_size(make_config("task2"), available=48_000)[1] is None
