"""The precision setting: detecting the CPU's bfloat16 units, what ``auto`` resolves to, the
config and the command line, and float32 outputs under a mixed policy (no datasets needed)."""

import keras
import numpy as np
import pytest

from dae_core.cli.main import _overrides, build_parser
from dae_core.models import builders, device
from dae_core.models.arch import ARCHS
from dae_core.tasks import TASKS
from dae_core.training.config import PRECISIONS, TrainConfig, make_config

AMX = frozenset({"avx512f", "avx512_bf16", "amx_bf16", "amx_tile"})
ZEN4 = frozenset({"avx512f", "avx512_bf16"})
OLD = frozenset({"avx2", "fma"})


@pytest.fixture
def policy():
    """Sets Keras's global policy for a test and puts float32 back after it."""
    yield keras.mixed_precision.set_global_policy
    keras.mixed_precision.set_global_policy("float32")


def test_cpu_flags_come_from_cpuinfo_unless_forced(tmp_path, monkeypatch):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16\nbugs\t\t: none\n")
    monkeypatch.delenv(device.CPU_FLAGS_ENV, raising=False)
    assert device.cpu_flags(str(cpuinfo)) == {"fpu", "avx2", "avx512f", "avx512_bf16"}
    assert device.cpu_flags(str(tmp_path / "missing")) == frozenset()  # not Linux: no units
    monkeypatch.setenv(device.CPU_FLAGS_ENV, "amx_bf16,avx512_bf16")
    assert device.cpu_flags(str(cpuinfo)) == {"amx_bf16", "avx512_bf16"}
    monkeypatch.setenv(device.CPU_FLAGS_ENV, "none")
    assert device.cpu_flags(str(cpuinfo)) == frozenset()


@pytest.mark.parametrize("task,arch", [("task1", "seed"), ("task2", "improved"), ("task3", "seed")])
def test_auto_takes_bfloat16_with_amx_and_float16_on_a_gpu(task, arch, monkeypatch):
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    assert device.resolve_precision("auto", task, arch, gpu=False, flags=AMX)[0] == "mixed_bfloat16"
    assert device.resolve_precision("auto", task, arch, gpu=True, flags=OLD)[0] == "mixed_float16"


def test_auto_without_amx_takes_bfloat16_only_where_it_was_measured_faster(monkeypatch):
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    for task in ("task1", "task2", "task3", "an_unmeasured_task"):
        for arch in ARCHS:
            policy, why = device.resolve_precision("auto", task, arch, gpu=False, flags=ZEN4)
            faster = (task, arch) in device.AVX512_BF16_FASTER
            assert policy == ("mixed_bfloat16" if faster else "float32")
            assert faster or "python -m benchmarks precision" in why
    assert {task for task, _ in device.AVX512_BF16_FASTER} <= set(TASKS)
    assert {arch for _, arch in device.AVX512_BF16_FASTER} <= set(ARCHS)


def test_auto_falls_back_to_float32_without_the_units_or_without_onednn(monkeypatch):
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    assert device.resolve_precision("auto", "task2", "seed", gpu=False, flags=OLD) == (
        "float32", "auto: this CPU has no bfloat16 units (amx_bf16, avx512_bf16)")
    monkeypatch.setenv(device.CPU_FLAGS_ENV, "none")  # the detection forced off: flags from the env
    assert device.resolve_precision("auto", "task2", "seed", gpu=False)[0] == "float32"
    monkeypatch.setenv(device.CPU_FLAGS_ENV, " ".join(AMX))
    assert device.resolve_precision("auto", "task2", "seed", gpu=False)[0] == "mixed_bfloat16"
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    policy, why = device.resolve_precision("auto", "task2", "seed", gpu=False)
    assert policy == "float32" and "TF_ENABLE_ONEDNN_OPTS=0" in why


def test_an_asked_precision_is_taken_as_asked():
    for gpu in (False, True):
        assert device.resolve_precision("float32", "task2", "seed", gpu=gpu, flags=AMX)[0] == "float32"
        assert device.resolve_precision("bfloat16", "task2", "seed", gpu=gpu, flags=OLD)[0] == "mixed_bfloat16"


def test_the_config_validates_precision_and_defaults_to_auto():
    assert TrainConfig().precision == "auto" and PRECISIONS == ("auto", "float32", "bfloat16")
    assert make_config("task1", "improved", precision="bfloat16").precision == "bfloat16"
    with pytest.raises(ValueError, match="precision 'float16' unknown"):
        make_config("task2", precision="float16")
    old = {k: v for k, v in TrainConfig().to_dict().items() if k != "precision"}
    assert TrainConfig.from_dict(old).precision == "auto"  # a run from before the setting


def test_the_command_line_takes_precision(capsys):
    args = build_parser().parse_args(["train", "task2", "--precision", "bfloat16"])
    assert _overrides(args)["precision"] == "bfloat16"
    assert _overrides(build_parser().parse_args(["train", "task2"]))["precision"] is None  # the default: auto
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "task2", "--precision", "float16"])
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("arch", ["seed", "improved"])
def test_every_model_outputs_float32_under_mixed_bfloat16(arch, policy):
    policy("float32")
    shipped_ae = builders.build_autoencoder(ARCHS[arch])  # as loaded from a float32 file
    policy("mixed_bfloat16")
    cnn = builders.build_cnn_classifier(ARCHS[arch])
    models = [builders.build_autoencoder(ARCHS[arch]), cnn, builders.flip_averaged(cnn),
              builders.build_transfer_classifier(shipped_ae, ARCHS[arch]),
              builders.build_autoencoder_classifier(shipped_ae, ARCHS[arch])]
    for model in models:
        assert model.output.dtype == "float32", model.name
        policies = builders.layer_policies(model)
        assert {policies[name] for name in builders.FLOAT32_LAYERS if name in policies} == {"float32"}
    # The float32 autoencoder's encoder, copied into Task 3, computes in the run's precision too.
    assert builders.layer_policies(models[3])["enc_conv1"] == "mixed_bfloat16"
    assert set(builders.layer_policies(shipped_ae).values()) == {"float32"}  # the source untouched


def test_the_pretraining_studys_models_compute_in_the_runs_precision(policy):
    policy("float32")
    conv_ae, mlp_ae = builders.build_autoencoder(ARCHS["seed"]), builders.build_mlp_autoencoder(ARCHS["seed"])
    policy("mixed_bfloat16")
    frozen = [builders.build_frozen_classifier(conv_ae, ARCHS["seed"], head) for head in ("linear", "small")]
    mlp = [builders.build_mlp_autoencoder(ARCHS["seed"]), builders.build_mlp_classifier(mlp_ae, ARCHS["seed"])]
    for model in frozen + mlp:
        assert model.output.dtype == "float32", model.name
        assert builders.layer_policies(model).get("enc_conv1", builders.layer_policies(model).get(
            "enc_dense1")) == "mixed_bfloat16", model.name


def test_a_mixed_model_loads_in_float32_with_its_weights(tmp_path, policy):
    policy("mixed_bfloat16")
    model = builders.build_transfer_classifier(builders.build_autoencoder(ARCHS["improved"]), ARCHS["improved"])
    model.save(tmp_path / "mixed.keras")
    policy("float32")
    loaded = builders.load_model(tmp_path / "mixed.keras")
    assert set(builders.layer_policies(loaded).values()) == {"float32"}
    x = np.random.default_rng(0).random((16, 28, 28, 1), dtype=np.float32)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), model.get_weights()))
    ours, theirs = loaded(x, training=False).numpy(), model(x, training=False).numpy()
    assert ours.dtype == np.float32 and np.abs(ours - theirs).max() < 0.05  # bfloat16's rounding only


def test_keras_scales_the_loss_for_float16_and_not_for_bfloat16(policy):
    for name, optimizer in (("mixed_float16", "LossScaleOptimizer"), ("mixed_bfloat16", "Adam")):
        policy(name)
        model = builders.build_cnn_classifier()
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
        assert type(model.optimizer).__name__ == optimizer
