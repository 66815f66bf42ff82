"""The denoising tables `evaluate` prints: per-image scores whose first rows are the scores of the
first images, SSIM by matrix products as by shifted sums, and the classical table kept on disk."""

import numpy as np
import pytest

from dae_core.analysis import classical, metrics
from dae_core.data import datasets
from dae_core.data.noise import NoiseConfig, add_noise

LEVELS = {"gaussian": (0.3,), "salt_pepper": (0.2,), "patches": (0.5,), "masking": (0.4,)}


class Blur:
    """A stand-in autoencoder: a fixed 3x3 mean filter, batch by batch as Keras's ``predict``."""

    def predict(self, x, batch_size=1000, verbose=0):
        padded = np.pad(x[..., 0], ((0, 0), (1, 1), (1, 1)))
        out = sum(padded[:, i:i + 28, j:j + 28] for i in range(3) for j in range(3)) / 9
        return out[..., None].astype(np.float32)


@pytest.fixture(scope="module")
def digits():
    return datasets.to_float(datasets.load_bundled("mnist")[0][:60])


def test_ssim_by_matrix_products_equals_the_sum_of_shifted_windows(digits):
    noisy = add_noise(digits, NoiseConfig("gaussian", 0.4), np.random.default_rng(3))
    window, x, y = metrics._gaussian_window(), digits[..., 0].astype(np.float64), noisy[..., 0].astype(np.float64)

    def shifted(images):  # the definition: a weighted sum of shifted copies, rows then columns
        k = len(window)
        rows = sum(window[i] * images[:, i:28 - k + 1 + i, :] for i in range(k))
        return sum(window[i] * rows[:, :, i:28 - k + 1 + i] for i in range(k))

    mx, my = shifted(x), shifted(y)
    sxx, syy, sxy = shifted(x * x) - mx * mx, shifted(y * y) - my * my, shifted(x * y) - mx * my
    expected = ((2 * mx * my + 1e-4) / (mx * mx + my * my + 1e-4)
                * (2 * sxy + 9e-4) / (sxx + syy + 9e-4)).mean(axis=(1, 2))
    np.testing.assert_allclose(metrics.ssim(digits, noisy), expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(metrics.Ssim(digits)(noisy), metrics.ssim(digits, noisy))


def test_the_first_images_of_the_scores_are_the_table_of_the_first_images(digits):
    """What lets `evaluate` put the autoencoder beside the classical denoisers without a second run."""
    scores = metrics.denoise_scores(Blur(), digits, LEVELS)
    assert len(scores) == len(digits) * 4
    whole, first = metrics.score_table(scores), metrics.score_table(scores, 20)
    assert whole.equals(metrics.denoise_table(Blur(), digits, LEVELS))
    np.testing.assert_allclose(first.drop(columns=["noise", "level"]).to_numpy(dtype=float),
                               metrics.denoise_table(Blur(), digits[:20], LEVELS)
                               .drop(columns=["noise", "level"]).to_numpy(dtype=float), rtol=1e-12)
    assert list(whole["noise"]) == list(LEVELS)


def test_progress_is_told_after_each_level_and_each_batch(digits):
    told = []
    metrics.denoise_table(Blur(), digits, LEVELS, progress=lambda f, text: told.append((f, text)))
    assert told == [(0.25, "gaussian 0.3"), (0.5, "salt_pepper 0.2"), (0.75, "patches 0.5"), (1.0, "masking 0.4")]
    told.clear()
    out = metrics.predict(Blur(), digits, batch_size=25, progress=lambda f, text: told.append(f))
    assert told == [25 / 60, 50 / 60, 1.0]
    np.testing.assert_array_equal(out, metrics.predict(Blur(), digits))


def test_the_classical_table_is_kept_and_read_back_as_computed(digits, tmp_path):
    levels = {"gaussian": (0.3,), "masking": (0.4,)}
    table, kept = classical.kept_classical_table(digits[:6], levels, cache_dir=tmp_path)
    assert not kept and len(table) == 2 * len(classical.METHODS)
    again, kept = classical.kept_classical_table(digits[:6], levels, cache_dir=tmp_path)
    assert kept and again.equals(table[list(classical.TABLE_COLUMNS)])
    (path,) = (tmp_path / "classical").glob("*.csv")
    assert path.stem == classical.table_key(digits[:6], levels)
    assert classical.table_key(digits[:5], levels) != path.stem  # other images: another table


def test_a_damaged_kept_table_is_computed_afresh(digits, tmp_path):
    levels = {"masking": (0.4,)}
    table, _ = classical.kept_classical_table(digits[:4], levels, cache_dir=tmp_path)
    (path,) = (tmp_path / "classical").glob("*.csv")
    for damage in (path.read_text()[:-40], path.read_text().replace("median", "mean"), "", "\x00\x01"):
        path.write_text(damage)
        assert classical.read_table(path, levels) is None
        again, kept = classical.kept_classical_table(digits[:4], levels, cache_dir=tmp_path)
        assert not kept and again["psnr_denoised"].equals(table["psnr_denoised"])


def test_the_shipped_table_is_that_of_the_first_test_digits_and_todays_parameters():
    """Fails when the tuned parameters (or anything else the table depends on) change: then run
    `python -m dae_core.analysis.classical --table`, which writes the new files in place of the old."""
    x = datasets.to_float(datasets.load_bundled("mnist")[0])
    wanted = {classical.table_key(images, levels): levels for images, levels in classical.shipped_tables(x)}
    assert {path.stem for path in classical.KEPT_TABLES.glob("*.csv")} == set(wanted)
    for key, levels in wanted.items():
        table = classical.read_table(classical.KEPT_TABLES / f"{key}.csv", levels)
        rows = sum(map(len, (levels or metrics.DEFAULT_LEVELS).values())) * len(classical.METHODS)
        assert table is not None and len(table) == rows
