"""Architecture values typed on the command line (``--arch-value NAME=VALUE``) or read from a run's
config are checked by type where the architecture is made: one line naming the value, never a
traceback from deep inside Keras."""

import pytest

from dae_core.cli.main import main
from dae_core.models.arch import ARCHS, arch_with


@pytest.mark.parametrize(("values", "message"), [
    ({"cnn_filters": "abc"}, "cnn_filters must be a list of whole numbers of at least 1, got 'abc'"),
    ({"cnn_filters": [32, 0]}, "cnn_filters must be a list of whole numbers"),
    ({"dense_units": 0}, "dense_units must be a whole number of at least 1"),
    ({"dense_units": 1.5}, "dense_units must be a whole number of at least 1"),
    ({"batch_norm": 1}, "batch_norm must be true or false"),
    ({"dropout": "x"}, "dropout must be a number"),
    ({"bn_momentum": 1.5}, "bn_momentum must be in [0, 1)"),
])
def test_a_value_of_the_wrong_type_or_range_is_named(values, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        arch_with("seed", values)


def test_a_right_value_is_taken_and_lists_become_tuples():
    arch = arch_with("seed", {"cnn_filters": [32, 64, 128], "bn_momentum": 0.9, "batch_norm": True})
    assert arch.cnn_filters == (32, 64, 128) and arch.bn_momentum == 0.9 and arch.batch_norm
    assert arch_with("improved") == ARCHS["improved"]


def test_the_command_line_refuses_it_in_one_line_before_a_run_exists(tmp_path, capsys):
    code = main(["train", "task2", "--arch-value", "cnn_filters=abc", "--runs-dir", str(tmp_path)])
    assert code == 2 and not list(tmp_path.iterdir())
    assert capsys.readouterr().err.strip().endswith("arch value cnn_filters must be a list of whole numbers "
                                                    "of at least 1, got 'abc'")
