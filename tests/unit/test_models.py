import numpy as np
import pytest

from dae_core.errors import ModelFileError
from dae_core.models import builders


@pytest.fixture(scope="module")
def autoencoder():
    return builders.build_autoencoder()


def test_autoencoder_shapes_and_named_encoder(autoencoder):
    assert autoencoder.output_shape == (None, 28, 28, 1)
    encoder = autoencoder.get_layer("encoder")
    assert encoder.output_shape == (None, 4, 4, builders.ARCHS["seed"].encoder_filters[-1])
    convs = [layer.name for layer in encoder.layers if "conv" in layer.name]
    pools = [layer.name for layer in encoder.layers if "pool" in layer.name]
    assert len(convs) == 3 and len(pools) == 3
    decoder = autoencoder.get_layer("decoder")
    assert sum("up" in layer.name for layer in decoder.layers) == 3
    out = autoencoder(np.zeros((2, 28, 28, 1), np.float32)).numpy()
    assert out.min() >= 0 and out.max() <= 1  # sigmoid output


def test_cnn_classifier_matches_the_assignment():
    model = builders.build_cnn_classifier()
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("Conv2D") == 2 and kinds.count("MaxPooling2D") == 2
    assert "Dropout" in kinds and model.output_shape == (None, 10)
    probs = model(np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)).numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("trainable", [True, False])
def test_transfer_copies_the_encoder_weights(autoencoder, trainable):
    model = builders.build_transfer_classifier(autoencoder, trainable=trainable)
    copied = model.get_layer("encoder").get_weights()
    for ours, theirs in zip(copied, builders.encoder_of(autoencoder).get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    assert model.get_layer("encoder").trainable is trainable
    # The seed's Task 3 head is Flatten, Dense, Dense(10): no dropout, unlike Task 2's.
    assert not any(type(layer).__name__ == "Dropout" for layer in model.layers)
    assert model.get_layer("encoder") is not builders.encoder_of(autoencoder)  # a copy
    assert model.output_shape == (None, 10)


def test_frozen_variant_trains_only_the_classifier(autoencoder):
    frozen = builders.build_autoencoder_classifier(autoencoder, trainable=False)
    free = builders.build_autoencoder_classifier(autoencoder, trainable=True)
    n_classifier = len(frozen.get_layer("cnn").trainable_weights)
    assert len(frozen.trainable_weights) == n_classifier
    assert len(free.trainable_weights) == n_classifier + len(autoencoder.trainable_weights)


def test_improved_arch_is_wider_with_batch_norm():
    model = builders.build_autoencoder(builders.ARCHS["improved"])
    encoder = model.get_layer("encoder")
    names = [layer.name for layer in encoder.layers]
    assert any(name.endswith("_bn") for name in names)
    # Two convolutions before each of the three poolings, as in the improved Task 2 CNN.
    kinds = [type(layer).__name__ for layer in encoder.layers]
    assert kinds.count("Conv2D") == 6 and kinds.count("MaxPooling2D") == 3
    assert model.count_params() > builders.build_autoencoder().count_params()


def test_improved_transfer_convolves_the_latent_before_its_head():
    arch = builders.ARCHS["improved"]
    autoencoder = builders.build_autoencoder(arch)
    model = builders.build_transfer_classifier(autoencoder, arch)
    head = [layer for layer in model.layers if layer.name.startswith("head_conv")
            and type(layer).__name__ == "Conv2D"]
    assert [layer.filters for layer in head] == list(arch.transfer_convs) and head
    assert head[0].input.shape[1:] == builders.encoder_of(autoencoder).output_shape[1:]
    for ours, theirs in zip(model.get_layer("encoder").get_weights(),
                            builders.encoder_of(autoencoder).get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    assert model.output_shape == (None, 10)


def test_half_written_model_file_gives_a_clear_error(tmp_path, autoencoder):
    path = tmp_path / "ae.keras"
    autoencoder.save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ModelFileError, match="half-written or corrupt"):
        builders.load_model(path)
    with pytest.raises(ModelFileError, match="train it first"):
        builders.load_model(tmp_path / "missing.keras")


def test_arch_validation():
    with pytest.raises(ValueError, match="dropout"):
        builders.Arch(dropout=1.5)


def test_flip_averaged_is_the_mean_over_the_image_and_its_mirror(tmp_path):
    classifier = builders.build_cnn_classifier(builders.ARCHS["seed"])
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    averaged = builders.flip_averaged(classifier)
    def forward(model, x):  # called directly: no predict function traced for each model
        return np.asarray(model(x, training=False))

    expected = (forward(classifier, x) + forward(classifier, x[:, :, ::-1])) / 2
    np.testing.assert_allclose(averaged.predict(x, verbose=0), expected, atol=1e-6)
    assert not np.allclose(expected, forward(classifier, x), atol=1e-4)  # the mirror counts
    averaged.save(tmp_path / "m.keras")
    np.testing.assert_allclose(forward(builders.load_model(tmp_path / "m.keras"), x), expected, atol=1e-6)


def test_a_finished_classifier_is_saved_without_optimizer_state(tmp_path):
    import zipfile

    from dae_core.training import train
    from dae_core.training.config import make_config

    classifier = builders.build_cnn_classifier(builders.ARCHS["improved"])
    classifier.compile("adam", "categorical_crossentropy")
    classifier.optimizer.build(classifier.trainable_variables)
    limit = 1.3 * 4 * classifier.count_params()  # float32 weights, no optimizer slots

    def weights_size(model) -> int:
        model.save(tmp_path / "m.keras")
        return zipfile.ZipFile(tmp_path / "m.keras").getinfo("model.weights.h5").file_size

    assert weights_size(train.finished_model(classifier, make_config("task2", "improved"))) < limit
    # A file saved with the optimizer inside (as runs before this fix were) ships without it.
    assert weights_size(builders.flip_averaged(classifier)) > 2 * limit
    assert weights_size(builders.weights_only(builders.load_model(tmp_path / "m.keras"))) < limit


@pytest.mark.parametrize("head", ["linear", "small"])
def test_a_frozen_encoder_keeps_its_weights_through_a_fit_step(autoencoder, head):
    model = builders.build_frozen_classifier(autoencoder, head=head)
    before = [w.copy() for w in model.get_layer("encoder").get_weights()]
    head_before = [w.copy() for w in model.get_layer("probs").get_weights()]
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.random((32, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 32), epochs=1, verbose=0)
    for ours, theirs in zip(model.get_layer("encoder").get_weights(), before):
        np.testing.assert_array_equal(ours, theirs)
    for ours, theirs in zip(builders.encoder_of(autoencoder).get_weights(), before):
        np.testing.assert_array_equal(ours, theirs)  # the copy started from the autoencoder's
    assert any(not np.array_equal(a, b) for a, b in zip(model.get_layer("probs").get_weights(), head_before))


def test_the_probe_trains_only_its_linear_head_and_the_small_head_adds_dense_and_dropout(autoencoder):
    probe = builders.build_frozen_classifier(autoencoder, head="linear")
    assert [w.path for w in probe.trainable_weights] == ["probs/kernel", "probs/bias"]
    assert probe.get_layer("probs").kernel.shape == (4 * 4 * 64, 10) and probe.name == "probe"
    small = builders.build_frozen_classifier(autoencoder, head="small")
    assert {w.path.split("/")[0] for w in small.trainable_weights} == {"dense", "probs"}
    assert small.get_layer("dropout").rate == builders.ARCHS["seed"].dropout
    with pytest.raises(ValueError, match="head 'wide' unknown"):
        builders.build_frozen_classifier(autoencoder, head="wide")


def test_the_fully_connected_autoencoder_and_its_classifier(autoencoder):
    mlp_ae = builders.build_mlp_autoencoder()
    assert mlp_ae.output_shape == (None, 28, 28, 1)
    encoder = builders.encoder_of(mlp_ae)
    assert encoder.output_shape == (None, builders.ARCHS["seed"].mlp_units[-1])
    assert not [layer for layer in encoder.layers if "conv" in type(layer).__name__.lower()]
    out = mlp_ae(np.zeros((2, 28, 28, 1), np.float32)).numpy()
    assert out.min() >= 0 and out.max() <= 1
    model = builders.build_mlp_classifier(mlp_ae)
    assert model.output_shape == (None, 10) and model.name == "mlp"
    for ours, theirs in zip(model.get_layer("encoder").get_weights(), encoder.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    assert len(model.trainable_weights) == len(model.weights)  # fine-tuned: everything learns
    with pytest.raises(ValueError, match="fully connected autoencoder"):
        builders.build_mlp_classifier(autoencoder)
