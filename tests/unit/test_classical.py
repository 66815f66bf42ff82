"""Classical denoisers: each one cleans, tuning picks the best grid value on validation images,
the shipped parameters cover every noise level, and skimage's metrics agree with ours."""

import dataclasses
import json

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from dae_core.analysis import classical, metrics
from dae_core.data import datasets
from dae_core.data.noise import NOISE_KINDS, NoiseConfig, add_noise


@pytest.fixture(scope="module")
def digits():
    return datasets.to_float(datasets.load_bundled("mnist")[0][:40])


def noisy_of(x, kind="gaussian", level=0.5, seed=0):
    return add_noise(x, NoiseConfig(kind, level), np.random.default_rng(seed))


@pytest.mark.parametrize("name", list(classical.METHODS))
@pytest.mark.parametrize("kind, level", [("gaussian", 0.5), ("salt_pepper", 0.2)])
def test_each_method_brings_noisy_images_closer_to_the_clean_ones(digits, name, kind, level):
    noisy = noisy_of(digits, kind, level)
    param = classical.params_for(kind, level)[name]
    denoised = classical.METHODS[name].apply(noisy, param)
    assert denoised.shape == noisy.shape and denoised.dtype == np.float32
    assert 0 <= denoised.min() and denoised.max() <= 1
    assert np.mean((denoised - digits) ** 2) < 0.8 * np.mean((noisy - digits) ** 2)


@pytest.mark.parametrize("name", list(classical.METHODS))
def test_tune_picks_the_grid_value_with_the_best_validation_psnr(digits, name):
    method = dataclasses.replace(classical.METHODS[name], grid=classical.METHODS[name].grid[:3])
    noise = NoiseConfig("gaussian", 0.3)
    noisy = noisy_of(digits[:12], "gaussian", 0.3, seed=5)
    best, best_psnr = None, -np.inf
    for param in method.grid:  # brute force
        value = metrics.psnr(digits[:12], method.apply(noisy, param)).mean()
        if value > best_psnr:
            best, best_psnr = param, value
    assert classical.tune(method, digits[:12], noise, rng_seed=5) == best


def test_shipped_parameters_cover_every_noise_kind_and_level():
    record = json.loads(classical.PARAMS_FILE.read_text())
    assert record["validation_images"] >= 100 and "validation" in record["source"]
    params = record["params"]
    assert set(params) == set(NOISE_KINDS)
    for kind, levels in metrics.DEFAULT_LEVELS.items():
        assert set(params[kind]) == {f"{level:g}" for level in levels}
        for chosen in params[kind].values():
            assert set(chosen) == set(classical.METHODS)
            for name, value in chosen.items():
                assert value in classical.METHODS[name].grid


def test_a_level_not_tuned_takes_the_nearest_tuned_level_of_its_kind():
    table = {"gaussian": {"0.1": {"median": 3}, "0.5": {"median": 5}, "0.7": {"median": 7}},
             "masking": {"0.2": {"median": 9}}}
    assert classical.params_for("gaussian", 0.5, table) == {"median": 5}
    assert classical.params_for("gaussian", 0.25, table) == {"median": 3}
    assert classical.params_for("gaussian", 0.62, table) == {"median": 7}
    assert classical.params_for("gaussian", 0.0, table) == {"median": 3}
    assert classical.params_for("gaussian", 0.3, table) == {"median": 3}  # equally near: the lower
    assert classical.params_for("masking", 0.9, table) == {"median": 9}


def test_run_all_applies_every_method_with_its_tuned_parameter(digits):
    """What the Denoise page shows beside the autoencoder: each method, its label and its images."""
    noisy = noisy_of(digits[:1], "speckle", 1.2)
    params = classical.params_for("speckle", 1.2)
    results = classical.run_all(noisy, "speckle", 1.2)
    assert sorted(r.method for r in results) == sorted(classical.METHODS)
    for r in results:
        method = classical.METHODS[r.method]
        assert r.param == params[r.method] and r.label == method.label(r.param)
        np.testing.assert_array_equal(r.images, method.apply(noisy, r.param))


def test_the_table_covers_every_method(digits):
    table = classical.classical_table(digits[:8], {"gaussian": (0.5,), "masking": (0.2, 0.4)})
    assert len(table) == 3 * len(classical.METHODS)
    assert {"noise", "level", "psnr_noisy", "psnr_denoised", "ssim_noisy", "ssim_denoised", "psnr_gain",
            "method", "ms_per_image"} <= set(table.columns)
    row = table[(table.method == "median") & (table.level == 0.5)].iloc[0]
    noisy = noisy_of(digits[:8])
    denoised = classical.METHODS["median"].apply(noisy, row.param)
    assert row.psnr_denoised == pytest.approx(metrics.psnr(digits[:8], denoised).mean())
    assert row.psnr_noisy == pytest.approx(metrics.psnr(digits[:8], noisy).mean())


def test_skimage_metrics_agree_with_ours(digits):
    clean, noisy = digits[:10], noisy_of(digits[:10], "gaussian", 0.3)
    ours_psnr, ours_ssim = metrics.psnr(clean, noisy), metrics.ssim(clean, noisy)
    for i in range(len(clean)):
        a, b = clean[i, ..., 0].astype(np.float64), noisy[i, ..., 0].astype(np.float64)
        assert peak_signal_noise_ratio(a, b, data_range=1) == pytest.approx(ours_psnr[i], abs=1e-9)
        theirs = structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False, data_range=1)
        # skimage filters the whole image (reflected borders) with an 11x11 gaussian (truncate 3.5
        # at sigma 1.5) and then averages only the pixels 5 or more from the edge: exactly the
        # 18x18 'valid' positions ours keeps, so border handling makes no difference.
        assert theirs == pytest.approx(ours_ssim[i], abs=1e-9)
