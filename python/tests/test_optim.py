"""Optimizer steps against a few lines of NumPy (docs/theory.md#optimizers)."""

import numpy as np
import pytest

import gengap

GRADS = [np.array([1.0, -2.0, 0.5, 0.0]), np.array([0.3, 0.1, -4.0, 1e-3]), np.array([-1.0, 2.5, 0.2, -0.7])]


def test_adam_matches_pytorch_form_in_numpy():
    lr, (b1, b2), eps = 1e-2, (0.9, 0.999), 1e-8
    opt = gengap.optim.make({"name": "adam", "lr": lr})
    w = np.array([0.5, -0.5, 1.0, 0.0])
    ref = w.copy()
    m = v = np.zeros_like(w)
    for t, g in enumerate(GRADS, start=1):
        opt.step(w, g)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        ref = ref - (lr / (1 - b1**t)) * m / (np.sqrt(v) / np.sqrt(1 - b2**t) + eps)
        np.testing.assert_allclose(w, ref, rtol=1e-14, atol=1e-16)
    assert opt.state()["t"] == len(GRADS)


def test_padam_matches_numpy():
    lr, p, (b1, b2), eps = 0.1, 0.125, (0.9, 0.999), 1e-8
    opt = gengap.optim.make({"name": "padam", "lr": lr, "p": p})
    w = np.array([0.5, -0.5, 1.0, 0.0])
    ref = w.copy()
    m = v = vmax = np.zeros_like(w)
    for t, g in enumerate(GRADS, start=1):
        opt.step(w, g)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        ref = ref - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(vmax) + eps) ** (2 * p)
        np.testing.assert_allclose(w, ref, rtol=1e-14, atol=1e-16)


def test_state_round_trips_and_continues_bit_for_bit():
    a = gengap.optim.make({"name": "amsgrad", "lr": 1e-2})
    w = np.array([0.5, -0.5, 1.0, 0.0])
    a.step(w, GRADS[0])
    saved = a.state()
    b = gengap.optim.make({"name": "amsgrad", "lr": 1e-2})
    b.load_state(saved)
    w2 = w.copy()
    for g in GRADS[1:]:
        a.step(w, g)
        b.step(w2, g)
    np.testing.assert_array_equal(w, w2)
    with pytest.raises(ValueError, match="buffers"):
        gengap.optim.make({"name": "gd", "lr": 0.1}).load_state(saved)


def test_learning_rate_and_config():
    opt = gengap.optim.make({"name": "padam", "lr": 0.1})
    assert opt.lr == 0.1 and opt.name == "padam" and opt.config["p"] == 0.125
    opt.lr = 0.05
    assert opt.lr == 0.05
    with pytest.raises(ValueError, match="lr"):
        opt.lr = -1.0


@pytest.mark.parametrize(
    "config, match",
    [
        ({"name": "adamm"}, "unknown variant `adamm`"),
        ({"name": "adam", "lr": -1.0}, "invalid optimizer parameter `lr` = -1"),
        ({"name": "adam", "lr": 1e-3, "betaz": [0.9, 0.9]}, "betaz"),
        ("name = 'adam'\nlr = 'fast'", r"string \"fast\", expected f64"),
        (42, "dict or TOML text"),
    ],
)
def test_bad_optimizers_are_value_errors(config, match):
    with pytest.raises(ValueError, match=match):
        gengap.optim.make(config)


def test_bad_arrays_are_value_errors():
    opt = gengap.optim.make({"name": "adam", "lr": 1e-3})
    with pytest.raises(ValueError, match="float64"):
        opt.step(np.zeros(4, dtype=np.float32), GRADS[0])
    with pytest.raises(ValueError, match="shape"):
        opt.step(np.zeros(3), GRADS[0])
    with pytest.raises(ValueError, match="float64"):
        opt.step(np.zeros(4), [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="contiguous"):
        opt.step(np.zeros(8)[::2], GRADS[0])


def test_lion_and_adabelief_match_numpy():
    lr, (b1, b2) = 1e-2, (0.9, 0.99)
    opt = gengap.optim.make({"name": "lion", "lr": lr, "weight_decay": 0.1})
    w = np.array([0.5, -0.5, 1.0, 0.0])
    ref, m = w.copy(), np.zeros_like(w)
    for g in GRADS:
        opt.step(w, g)
        c = b1 * m + (1 - b1) * g
        ref = ref - lr * 0.1 * ref
        ref = ref - lr * np.sign(c)
        m = b2 * m + (1 - b2) * g
        np.testing.assert_allclose(w, ref, rtol=1e-14, atol=1e-16)
    lr, (b1, b2), eps = 1e-2, (0.9, 0.999), 1e-16
    opt = gengap.optim.make({"name": "adabelief", "lr": lr})
    w = np.array([0.5, -0.5, 1.0, 0.0])
    ref, m, s = w.copy(), np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(GRADS, start=1):
        opt.step(w, g)
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * (g - m) ** 2 + eps
        ref = ref - lr / (1 - b1**t) * m / (np.sqrt(s) / np.sqrt(1 - b2**t) + eps)
        np.testing.assert_allclose(w, ref, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("name", ["gd", "adam", "sign_gd"])
def test_fortran_ordered_arrays_are_read_by_index_or_refused(name):
    """A Fortran-ordered `g` (e.g. `G.T`) is read by index: the step equals the
    C-ordered one; a Fortran-ordered or strided `w` (updated in place) is
    refused with a ValueError, never updated in memory order."""
    w0 = np.arange(6.0).reshape(2, 3) / 7.0
    g = np.array([[1.0, -2.0, 0.5], [0.3, -0.1, 4.0]])
    g_fortran = np.asfortranarray(g)
    assert not g_fortran.flags["C_CONTIGUOUS"]
    a, b = w0.copy(), w0.copy()
    gengap.optim.make({"name": name, "lr": 0.1}).step(a, g)
    gengap.optim.make({"name": name, "lr": 0.1}).step(b, g_fortran)
    np.testing.assert_array_equal(a, b)
    opt = gengap.optim.make({"name": name, "lr": 0.1})
    for w in (np.asfortranarray(w0.copy()), w0.copy().T.copy().T, np.zeros((2, 6))[:, ::2]):
        before = w.copy()
        with pytest.raises(ValueError, match="C-contiguous"):
            opt.step(w, g)
        np.testing.assert_array_equal(w, before)


def test_an_optimizer_pickles_and_copies_mid_run_and_goes_on_bit_for_bit():
    import copy
    import pickle

    opt = gengap.optim.make({"name": "adam", "lr": 0.01})
    rng = np.random.default_rng(0)
    w = rng.normal(size=7)
    for _ in range(3):
        opt.step(w, rng.normal(size=7))
    opt.lr = 0.02
    assert opt.config["lr"] == 0.02, "config follows the rate set"
    for other in [pickle.loads(pickle.dumps(opt)), copy.deepcopy(opt)]:
        a, b = other.state(), opt.state()
        assert other.lr == 0.02 and a["t"] == b["t"] and a["buffers"].keys() == b["buffers"].keys()
        for k in ("m", "v"):
            np.testing.assert_array_equal(a["buffers"][k], b["buffers"][k])
        w1, w2 = w.copy(), w.copy()
        g = rng.normal(size=7)
        opt_copy = copy.deepcopy(opt)
        opt_copy.step(w1, g)
        other.step(w2, g)
        np.testing.assert_array_equal(w1, w2)


def test_eps_and_betas_are_settable_checked_and_keep_the_state():
    rng = np.random.default_rng(1)
    opt = gengap.optim.make({"name": "adam", "lr": 0.01})
    w = rng.normal(size=5)
    for _ in range(3):
        opt.step(w, rng.normal(size=5))
    assert opt.eps == 1e-8 and opt.betas == (0.9, 0.999)
    opt.eps = 1e-3
    opt.betas = (0.8, 0.99)
    assert opt.config["eps"] == 1e-3 and opt.config["betas"] == [0.8, 0.99]
    assert opt.state()["t"] == 3, "the state is kept"
    # Exactly a fresh optimizer with those values and the old state.
    ref = gengap.optim.make(opt.config)
    ref.load_state(opt.state())
    g = rng.normal(size=5)
    w1, w2 = w.copy(), w.copy()
    opt.step(w1, g)
    ref.step(w2, g)
    np.testing.assert_array_equal(w1, w2)
    with pytest.raises(ValueError, match="eps"):
        opt.eps = -1.0
    with pytest.raises(ValueError, match="beta"):
        opt.betas = (1.5, 0.9)
    assert opt.eps == 1e-3 and opt.betas == (0.8, 0.99), "a refused value changes nothing"
    gd = gengap.optim.make({"name": "gd", "lr": 0.1})
    assert gd.eps is None and gd.betas is None
    with pytest.raises(ValueError, match="optimizer `gd` has no `eps`"):
        gd.eps = 1e-3


def test_state_is_numpy_arrays_and_loads_from_arrays_or_lists():
    opt = gengap.optim.make({"name": "amsgrad", "lr": 1e-2})
    w = np.array([0.5, -0.5, 1.0, 0.0])
    for g in GRADS[:2]:
        opt.step(w, g)
    s = opt.state()
    assert s["t"] == 2 and s["buffers"]["kind"] == "amsgrad"
    for k in ("m", "v", "v_max"):
        assert isinstance(s["buffers"][k], np.ndarray) and s["buffers"][k].dtype == np.float64
    s["buffers"]["m"][0] = 99.0  # a copy: the optimizer is not changed
    assert opt.state()["buffers"]["m"][0] != 99.0
    # Arrays (any layout, float32 copied), or lists, continue bit for bit.
    s = opt.state()
    twin = gengap.optim.make({"name": "amsgrad", "lr": 1e-2})
    twin.load_state({"t": s["t"], "buffers": {k: (v.tolist() if k == "m" else v) for k, v in s["buffers"].items()}})
    w2 = w.copy()
    opt.step(w, GRADS[2])
    twin.step(w2, GRADS[2])
    np.testing.assert_array_equal(w, w2)
    # Wrong states are ValueErrors naming the key, and change nothing.
    before = twin.state()
    for bad, match in [
        ({"t": 2}, "buffers"),
        ({"t": 2, "buffers": {"kind": "adam", "m": [0.0] * 4}}, "`v`"),
        ({"t": 2, "buffers": {**before["buffers"], "extra": [1.0]}}, "extra"),
        ({"t": 2, "buffers": {**before["buffers"], "kind": "momentum"}}, "unknown key"),
        ({"t": 2, "buffers": {**before["buffers"], "v": np.full(4, -1.0)}}, "state"),
        ({"t": 2, "buffers": {**before["buffers"], "m": np.zeros((2, 2))}}, "state.buffers.m"),
        ({"t": -1, "buffers": before["buffers"]}, "state.t"),
    ]:
        with pytest.raises(ValueError, match=match):
            twin.load_state(bad)
    after = twin.state()
    assert after["t"] == before["t"]
    np.testing.assert_array_equal(after["buffers"]["v"], before["buffers"]["v"])


def test_a_non_finite_value_in_a_dict_config_names_its_key():
    ds = gengap.data.z23(d=40, n=6, n_test=10, s=10, seed=1)
    for value in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(ValueError, match=r"`optim\.lr` = (NaN|inf|-inf): must be finite"):
            gengap.train(ds, {"name": "adam", "lr": value}, steps=2)
        with pytest.raises(ValueError, match=r"`optim\.betas\[1\]`"):
            gengap.optim.make({"name": "adam", "lr": 0.1, "betas": [0.9, value]})
