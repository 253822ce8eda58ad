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


def _latents(ds):
    """The keyword arguments that hand a generated data set's latent parts back."""
    return dict(
        signal=ds.signal,
        noise=ds.train["noise"], noise_test=ds.test["noise"],
        signal_patch=ds.train["signal_patch"], signal_patch_test=ds.test["signal_patch"],
        noise_patches=ds.train["noise_patches"], noise_patches_test=ds.test["noise_patches"],
    )


def test_own_data_trains_like_generated_data():
    g = gengap.data.c22(d=30, n=10, n_test=40, mu_norm=4.0, seed=2)
    own = gengap.data.Dataset.from_arrays(g.train["x"], g.train["y"], g.test["x"], g.test["y"])
    assert own.model == "user" and (own.n, own.patches, own.d) == (10, 2, 30)
    np.testing.assert_array_equal(own.train["x"], g.train["x"])
    opt = {"name": "gd", "lr": 0.1}
    a = gengap.train(g, opt, steps=20, seed=1)
    b = gengap.train(own, opt, steps=20, seed=1)
    np.testing.assert_array_equal(a["W"], b["W"])
    np.testing.assert_array_equal(a["history"]["test_error"], b["history"]["test_error"])


def test_own_data_with_latent_parts_decomposes_and_runs_reduced():
    g = gengap.data.z23(d=60, n=12, n_test=30, s=20, patches=3, seed=4)
    own = gengap.data.Dataset.from_arrays(g.train["x"], g.train["y"], g.test["x"], g.test["y"], **_latents(g))
    W0 = gengap.model.init(d=60, seed=1)
    W = W0 + 0.01 * np.ones_like(W0)
    a, b = gengap.analysis.decompose(W, W0, g), gengap.analysis.decompose(W, W0, own)
    np.testing.assert_allclose(a["gamma"], b["gamma"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(a["rho"], b["rho"], rtol=0, atol=1e-12)
    c = gengap.data.c22(d=30, n=10, n_test=40, mu_norm=4.0, seed=2)
    own_c = gengap.data.Dataset.from_arrays(c.train["x"], c.train["y"], c.test["x"], c.test["y"], **_latents(c))
    W0 = gengap.model.init(d=30, seed=1)
    r1, r2 = gengap.analysis.ReducedGD(c, W0, lr=0.1), gengap.analysis.ReducedGD(own_c, W0, lr=0.1)
    r1.step(5)
    r2.step(5)
    np.testing.assert_array_equal(r1.weights(), r2.weights())


def test_own_data_without_latent_parts_is_refused_by_name_where_they_are_needed():
    g = gengap.data.c22(d=30, n=10, n_test=40, seed=2)
    own = gengap.data.Dataset.from_arrays(g.train["x"], g.train["y"], g.test["x"], g.test["y"])
    W0 = gengap.model.init(d=30, seed=1)
    with pytest.raises(ValueError, match="decompose needs the data set's latent parts"):
        gengap.analysis.decompose(W0, W0, own)
    with pytest.raises(ValueError, match="ReducedGD needs the data set's latent parts"):
        gengap.analysis.ReducedGD(own, W0, lr=0.1)


def test_own_arrays_are_converted_by_copy_or_refused_never_misread():
    g = gengap.data.c22(d=8, n=6, n_test=4, seed=3)
    x, y, xt, yt = g.train["x"], g.train["y"], g.test["x"], g.test["y"]
    # Fortran order, a strided view, float32, int labels and lists: the same data set.
    ref = gengap.data.Dataset.from_arrays(x, y, xt, yt)
    for args in [
        (np.asfortranarray(x), y, xt, yt),
        (np.concatenate([x, x], axis=2)[:, :, ::2] * 0 + x, y, xt, yt),
        (x, y.astype(np.int64), xt, yt.astype(np.int8)),
        (x.tolist(), y.tolist(), xt, yt),
    ]:
        ds = gengap.data.Dataset.from_arrays(*args)
        np.testing.assert_array_equal(ds.train["x"], ref.train["x"])
        np.testing.assert_array_equal(ds.train["y"], ref.train["y"])
    strided = np.repeat(x, 2, axis=2)[:, :, ::2]
    assert not strided.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(gengap.data.Dataset.from_arrays(strided, y, xt, yt).train["x"], x)
    np.testing.assert_array_equal(
        gengap.data.Dataset.from_arrays(x.astype(np.float32), y, xt, yt).train["x"], x.astype(np.float32)
    )
    bad = [
        (dict(y=np.where(y > 0, 1.0, 0.0)), r"`train.y\[\d+\]` = 0: labels must be -1 or \+1"),
        (dict(y=y * 2.5), r"labels must be -1 or \+1"),
        (dict(x=x[:, :, :0], xt=xt[:, :, :0]), r"`train.x` = shape \(6, 2, 0\)"),
        (dict(x=x[:0], y=y[:0]), r"`train.x` = shape \(0, 2, 8\)"),
        (dict(xt=xt[:, :, :5]), r"`test.x` = shape \(4, 2, 5\)"),
        (dict(y=y[:5]), r"`train.y` = 5 labels"),
        (dict(x=np.where(x == x.max(), np.nan, x)), r"`train.x\[.*\]` = NaN: must be finite"),
        (dict(x=x.astype(np.complex128)), r"`x` must be a real"),
        (dict(x=x[0]), r"`x` must be a real .* with 3 dimensions"),
        (dict(yt=np.array(1.0)), r"`y_test` must be a real .* with 1 dimensions"),
        (dict(x="x"), r"`x` must be a real"),
    ]
    for change, message in bad:
        a = dict(x=x, y=y, xt=xt, yt=yt)
        a.update(change)
        with pytest.raises(ValueError, match=message):
            gengap.data.Dataset.from_arrays(a["x"], a["y"], a["xt"], a["yt"])
    lat = _latents(g)
    with pytest.raises(ValueError, match="`signal` = missing"):
        gengap.data.Dataset.from_arrays(x, y, xt, yt, noise=lat["noise"], signal_patch=lat["signal_patch"])
    with pytest.raises(ValueError, match="`signal_patch` has the negative index -1"):
        gengap.data.Dataset.from_arrays(x, y, xt, yt, **{**lat, "signal_patch": -np.ones(6, dtype=int)})
    with pytest.raises(ValueError, match=r"`signal_patch` must be an integer array"):
        gengap.data.Dataset.from_arrays(x, y, xt, yt, **{**lat, "signal_patch": np.zeros(6)})


def test_a_rust_panic_is_a_runtime_error_that_except_exception_catches():
    # gengap._native._panic panics inside the guard every entry point runs in.
    with pytest.raises(RuntimeError, match=r"internal error in gengap .*: boom"):
        gengap._native._panic("boom")
    caught = False
    try:
        gengap._native._panic("again")
    except Exception:
        caught = True
    assert caught


def _train_steps(ds):
    return gengap.train(ds, {"name": "gd", "lr": 0.1}, steps=4, seed=1)["W"]


def test_a_dataset_pickles_copies_and_crosses_processes_whole():
    import concurrent.futures
    import copy
    import multiprocessing
    import pickle

    g = gengap.data.z23(d=30, n=8, n_test=6, s=5, p_flip=0.2, seed=9)
    own = gengap.data.Dataset.from_arrays(g.train["x"], g.train["y"], g.test["x"], g.test["y"], **_latents(g))
    for ds in [g, own]:
        for back in [pickle.loads(pickle.dumps(ds)), copy.deepcopy(ds)]:
            assert (back.model, back.n, back.d, back.patches) == (ds.model, ds.n, ds.d, ds.patches)
            for split in ["train", "test"]:
                for key, value in ds.__getattribute__(split).items():
                    np.testing.assert_array_equal(back.__getattribute__(split)[key], value, err_msg=key)
            np.testing.assert_array_equal(back.signal, ds.signal)
    # multiprocessing pickles the data set to a fresh interpreter and back.
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        remote = pool.submit(_train_steps, g).result(timeout=120)
    np.testing.assert_array_equal(remote, _train_steps(g))
