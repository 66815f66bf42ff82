"""The latent-space library: maps of codes, placing a new code, neighbours, interpolation, the
linear probe, and the figures the Latent space page draws from them. Small synthetic data and an
untrained autoencoder: no datasets needed."""

import numpy as np
import pandas as pd
import pytest

from dae_core.analysis import latent, plots


def blobs(n_per_class: int, classes: int = 3, dims: int = 20, spread: float = 0.3, seed: int = 0):
    """(n, dims) points in well separated clusters, one per class, and their labels."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 5, (classes, dims))
    labels = np.repeat(np.arange(classes), n_per_class)
    return (centres[labels] + rng.normal(0, spread, (len(labels), dims))).astype(np.float32), labels


def pixel_model() -> latent.CodeModel:
    """A stand-in autoencoder: the code is the image itself, as (4, 4, 49)."""
    return latent.CodeModel(encode=lambda x: x.reshape(len(x), 4, 4, 49),
                            decode=lambda z: z.reshape(len(z), 28, 28, 1), latent_shape=(4, 4, 49))


def test_pca_map_has_a_place_per_code_and_places_a_known_code_where_it_was_mapped():
    codes, _ = blobs(40)
    found = latent.fit_map(codes, "pca")
    assert found.xy.shape == (120, 2)
    np.testing.assert_allclose(found.place(codes[:5]), found.xy[:5], atol=1e-4)
    # The first component spreads the codes most: more than the second.
    assert found.xy[:, 0].var() >= found.xy[:, 1].var()


def test_tsne_map_places_a_new_code_at_its_nearest_mapped_codes():
    codes, labels = blobs(20)
    found = latent.fit_map(codes, "tsne")
    assert found.xy.shape == (60, 2) and np.isfinite(found.xy).all()
    np.testing.assert_allclose(found.place(codes[7:8], k=1)[0], found.xy[7])
    # A new code near class 2's cluster lands among class 2's places.
    new = codes[labels == 2].mean(axis=0, keepdims=True)
    place = found.place(new)[0]
    distances = np.linalg.norm(found.xy - place, axis=1)
    assert labels[np.argmin(distances)] == 2


def test_an_unknown_map_method_is_refused():
    with pytest.raises(ValueError, match="umap"):
        latent.fit_map(np.zeros((10, 3), np.float32), "umap")


def test_nearest_finds_the_closest_rows_closest_first():
    features = np.array([[0.0], [10.0], [1.0], [3.0], [20.0]])
    np.testing.assert_array_equal(latent.nearest(features, np.array([[0.2]]), 3), [[0, 2, 3]])


def test_neighbours_differ_between_code_and_pixel_space_and_exclude_the_digit_itself():
    images = np.zeros((4, 28, 28, 1), np.float32)
    images[1, :14] = 1.0  # pixel space: 0 is closest to 3 (one pixel apart), then 2, then 1
    images[2, :2] = 1.0
    images[3, 0, 0] = 1.0
    codes = np.array([[0.0], [0.1], [5.0], [9.0]], np.float32)  # code space: 1, then 2, then 3
    found = latent.neighbours(codes, images, 0, k=3)
    np.testing.assert_array_equal(found.code, [1, 2, 3])
    np.testing.assert_array_equal(found.pixel, [3, 2, 1])


def test_codes_are_flattened_and_decode_back_to_images():
    model = pixel_model()
    images = np.random.default_rng(0).random((3, 28, 28, 1), np.float32)
    codes = model.codes(images)
    assert codes.shape == (3, 784) and codes.dtype == np.float32
    np.testing.assert_array_equal(model.decode_codes(codes), images)


def test_interpolation_starts_and_ends_at_the_two_decodes_of_a_real_autoencoder():
    from dae_core.models.builders import build_autoencoder

    model = latent.split_autoencoder(build_autoencoder())
    a, b = np.random.default_rng(1).random((2, 28, 28, 1), np.float32)
    path = latent.interpolate(model, a, b, steps=5)
    assert path.decoded.shape == path.crossfade.shape == (5, 28, 28, 1)
    ends = model.decode_codes(model.codes(np.stack([a, b])))
    np.testing.assert_allclose(path.decoded[[0, -1]], ends, atol=1e-5)
    np.testing.assert_allclose(path.crossfade[[0, 2, -1]], [a, (a + b) / 2, b], atol=1e-6)
    np.testing.assert_allclose(path.weights, [0, 0.25, 0.5, 0.75, 1])


def test_a_model_without_encoder_and_decoder_is_a_clear_error():
    from dae_core.errors import ModelFileError
    from dae_core.models.builders import build_cnn_classifier

    with pytest.raises(ModelFileError, match="Task 1 autoencoder"):
        latent.split_autoencoder(build_cnn_classifier())


def test_the_probe_on_separable_data_beats_chance_by_far():
    features, labels = blobs(100, classes=4)
    curve = latent.probe_curve(features, labels, sizes=(40, 100, 1000), n_eval=100)
    assert [n for n, _ in curve] == [40, 100]  # 1,000 is more than the 300 left to train on
    assert all(accuracy > 0.9 for _, accuracy in curve)  # chance: 0.25


def test_linear_probe_gives_a_tidy_table_for_codes_and_pixels_of_every_dataset():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(2), 60)
    images = rng.random((120, 28, 28, 1), np.float32) * 0.2
    images[labels == 1, :14] += 0.8  # the top half lit: class 1
    table = latent.linear_probe(pixel_model(), {"a": (images, labels), "b": (images[::-1], labels[::-1])},
                                sizes=(10, 40), n_eval=40)
    assert list(table.columns) == ["dataset", "features", "n_train", "accuracy"]
    assert len(table) == 2 * 2 * 2
    assert set(table["features"]) == {"codes", "pixels"} and (table["accuracy"] > 0.9).all()


def test_the_map_figure_has_a_trace_per_label_ids_as_customdata_and_the_star():
    xy = np.arange(12, dtype=np.float32).reshape(6, 2)
    labels, ids = np.array([0, 1, 0, 2, 1, 0]), np.arange(100, 106)
    fig = plots.latent_map(xy, labels, ids, star=np.array([1.0, 2.0]))
    assert [t.name for t in fig.data] == ["0", "1", "2", "your digit"]
    assert list(fig.data[0].customdata) == [100, 102, 105] and list(fig.data[0].x) == [0, 4, 10]
    assert fig.data[-1].marker.symbol == "star" and fig.data[-1].customdata is None
    assert fig.layout.dragmode == "select"
    assert len(plots.latent_map(xy, labels, ids).data) == 3  # no star without a digit


def test_the_probe_chart_draws_a_line_per_dataset_and_features_on_a_log_axis():
    table = pd.DataFrame([(d, f, n, 0.5) for d in ("MNIST", "Fashion") for f in ("codes", "pixels")
                          for n in (300, 100)], columns=["dataset", "features", "n_train", "accuracy"])
    fig = plots.probe_chart(table)
    assert [t.name for t in fig.data] == ["MNIST: codes", "MNIST: pixels", "Fashion: codes", "Fashion: pixels"]
    assert list(fig.data[0].x) == [100, 300] and fig.layout.xaxis.type == "log"
    assert fig.data[1].line.dash == "dot" and fig.data[0].line.color != fig.data[2].line.color
