"""The data models from Python: same seed, same arrays as the Rust API."""

import numpy as np
import pytest

import gengap


def test_a_seed_gives_the_arrays_the_rust_tests_pin():
    # crates/data/src/tests.rs::a_seed_gives_pinned_arrays pins the same values.
    ds = gengap.data.c22(d=100, n=20, n_test=50, mu_norm=5.0, seed=42)
    assert ds.train["noise"][0, 0, 0:3].tolist() == [0.0, -0.9287770430019666, 0.21990739875440055]
    assert ds.train["y"][0:6].tolist() == [-1.0, -1.0, -1.0, 1.0, -1.0, -1.0]
    assert ds.train["signal_patch"][0:6].tolist() == [0, 0, 1, 1, 1, 1]


def test_generate_and_the_keyword_forms_agree_and_streams_differ():
    a = gengap.data.c22(d=50, n=10, mu_norm=3.0, seed=5)
    b = gengap.data.generate({"model": "c22", "d": 50, "n": 10, "n_test": a.test["y"].size,
                              "mu_norm": 3.0, "sigma_p": 1.0}, seed=5)
    np.testing.assert_array_equal(a.train["x"], b.train["x"])
    c = gengap.data.c22(d=50, n=10, mu_norm=3.0, seed=5, stream=1)
    assert not np.array_equal(a.train["x"], c.train["x"])


def test_latent_parts_rebuild_the_inputs():
    ds = gengap.data.c22(d=40, n=30, mu_norm=2.0, p_flip=0.2, seed=3)
    tr = ds.train
    for i in range(ds.n):
        # The signal patch is y_clean * mu, the other patch the noise vector.
        np.testing.assert_array_equal(tr["x"][i, tr["signal_patch"][i]], tr["y_clean"][i] * ds.signal)
        np.testing.assert_array_equal(tr["x"][i, tr["noise_patches"][i, 0]], tr["noise"][i, 0])
    np.testing.assert_array_equal(tr["flipped"], tr["y"] != tr["y_clean"])
    assert tr["flipped"].any(), "p_flip = 0.2 over 30 samples flips some label"


def test_bad_parameters_are_value_errors():
    with pytest.raises(ValueError, match="dd"):
        gengap.data.c22(d=10, dd=3, seed=1)
    with pytest.raises(ValueError, match="mu_norm"):
        gengap.data.c22(d=10, mu_norm=-1.0, seed=1)
    with pytest.raises(ValueError, match="unknown variant `c23`"):
        gengap.data.generate({"model": "c23"}, seed=1)
    # Seeds and streams are non-negative integers below 2^64, or a ValueError.
    for seed in [-1, 2**64, 1.5, "7", True]:
        with pytest.raises(ValueError, match="integer"):
            gengap.data.c22(d=10, seed=seed)
