import numpy as np
import pytest

from dae_core.data.noise import NOISE_KINDS, NoiseConfig, add_noise, tf_noise_fn


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
