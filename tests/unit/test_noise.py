import numpy as np
import pytest

from dae_core.data.noise import NOISE_KINDS, PATCH, NoiseConfig, add_noise, tf_noise_fn


@pytest.fixture
def images():
    return np.random.default_rng(0).random((64, 28, 28, 1), dtype=np.float32)


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_noise_stays_in_range_and_changes_the_image(kind, images):
    noisy = add_noise(images, NoiseConfig(kind, 0.3), np.random.default_rng(1))
    assert noisy.dtype == np.float32 and noisy.shape == images.shape
    assert noisy.min() >= 0 and noisy.max() <= 1
    assert not np.allclose(noisy, images)


def test_same_generator_state_gives_same_noise(images):
    cfg = NoiseConfig("gaussian", 0.5)
    a = add_noise(images, cfg, np.random.default_rng(7))
    b = add_noise(images, cfg, np.random.default_rng(7))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, add_noise(images, cfg, np.random.default_rng(8)))


def test_levels_mean_what_they_say():
    x = np.full((1, 200, 200, 1), 0.5, np.float32)
    rng = np.random.default_rng(0)
    assert np.std(add_noise(x, NoiseConfig("gaussian", 0.1), rng) - x) == pytest.approx(0.1, rel=0.05)
    masked = add_noise(x, NoiseConfig("masking", 0.25), rng)
    assert np.mean(masked == 0) == pytest.approx(0.25, abs=0.01)
    sp = add_noise(x, NoiseConfig("salt_pepper", 0.2), rng)
    assert np.mean(sp == 0) == pytest.approx(0.1, abs=0.01) and np.mean(sp == 1) == pytest.approx(0.1, abs=0.01)
    assert np.array_equal(add_noise(np.zeros_like(x), NoiseConfig("speckle", 1.0), rng), np.zeros_like(x))


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="unknown"):
        NoiseConfig("pink", 0.1)
    with pytest.raises(ValueError, match="outside"):
        NoiseConfig("gaussian", 3.0)


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_tensorflow_noise_matches_numpy_statistics(kind, images):
    cfg = NoiseConfig(kind, 0.4)
    fn = tf_noise_fn(cfg)
    ours = np.asarray(fn(images))
    ref = add_noise(images, cfg, np.random.default_rng(5))  # not the stream that made images
    assert ours.min() >= 0 and ours.max() <= 1
    assert np.mean(np.abs(ours - images)) == pytest.approx(np.mean(np.abs(ref - images)), rel=0.1)
    assert not np.array_equal(ours, np.asarray(fn(images)))  # fresh draws every call


def masked_patch_shares(noisy: np.ndarray) -> np.ndarray:
    """Per image of (N, 28, 28, 1) noisy all-white images: the share of its 4 x 4 patches that are
    wholly black; every other pixel must be untouched."""
    patches = noisy.reshape(len(noisy), 7, PATCH, 7, PATCH).transpose(0, 1, 3, 2, 4).reshape(len(noisy), 49, -1)
    black, white = (patches == 0).all(axis=2), (patches == 1).all(axis=2)
    assert np.all(black | white)  # whole patches, nothing in between
    return black.mean(axis=1)


@pytest.mark.parametrize("level", [0.0, 0.25, 0.75, 1.0])
def test_patches_mask_that_share_of_whole_patches_in_numpy_and_tensorflow(level):
    white = np.ones((200, 28, 28, 1), np.float32)
    numpy_shares = masked_patch_shares(add_noise(white, NoiseConfig("patches", level), np.random.default_rng(0)))
    tf_shares = masked_patch_shares(np.asarray(tf_noise_fn(NoiseConfig("patches", level))(white)))
    expected = round(level * 49) / 49  # exactly that many patches per image, drawn anew per image
    np.testing.assert_allclose(numpy_shares, expected)
    np.testing.assert_allclose(tf_shares, expected)


def test_patches_are_drawn_uniformly_alike_in_numpy_and_tensorflow():
    white = np.ones((2000, 28, 28, 1), np.float32)
    config = NoiseConfig("patches", 0.5)  # round(24.5) = 24 of the 49 patches
    numpy_noisy = add_noise(white, config, np.random.default_rng(3))
    tf_noisy = np.asarray(tf_noise_fn(config)(white))
    # how often each of the 49 patches is masked: 24/49 everywhere, in both (no place preferred)
    for noisy in (numpy_noisy, tf_noisy):
        per_place = (noisy[:, ::PATCH, ::PATCH, 0] == 0).mean(axis=0)
        np.testing.assert_allclose(per_place, 24 / 49, atol=0.05)
    assert not np.array_equal(numpy_noisy[0], numpy_noisy[1])  # a fresh draw per image
    single = add_noise(white[0], config, np.random.default_rng(0))  # one image, no batch axis
    assert single.shape == (28, 28, 1) and np.mean(single == 0) == pytest.approx(24 / 49)
