"""The CNN's loss and gradient against an independent NumPy implementation
and NumPy finite differences."""

import numpy as np
import pytest

import gengap

M = 4
MODEL = {"m": M, "activation": {"kind": "relu_pow", "q": 3.0}}


def numpy_loss(w, x, y, q=3.0, m=M):
    """L_S(W) = mean_i log(1 + exp(-y_i f(W, x_i))), f = F_{+1} - F_{-1},
    F_j = (1/m) sum_r sum_p max(<w_{j,r}, x_i^(p)>, 0)^q (docs/theory.md#network)."""
    z = np.einsum("cd,ipd->icp", w, x)
    act = np.maximum(z, 0.0) ** q
    f = (act[:, :m].sum(axis=(1, 2)) - act[:, m:].sum(axis=(1, 2))) / m
    return np.mean(np.logaddexp(0.0, -y * f))


def test_loss_and_gradient_match_numpy_and_finite_differences(z23):
    x, y = z23.train["x"], z23.train["y"]
    rng = np.random.default_rng(0)
    w = 0.3 * rng.standard_normal((2 * M, z23.d))
    loss, error, grad = gengap.model.loss_grad(w, x, y, MODEL)
    assert loss == pytest.approx(numpy_loss(w, x, y), rel=1e-12)
    assert grad.shape == w.shape
    h = 1e-6
    for _ in range(25):
        c, k = rng.integers(2 * M), rng.integers(z23.d)
        wp, wm = w.copy(), w.copy()
        wp[c, k] += h
        wm[c, k] -= h
        fd = (numpy_loss(wp, x, y) - numpy_loss(wm, x, y)) / (2 * h)
        assert grad[c, k] == pytest.approx(fd, rel=1e-5, abs=1e-9), (c, k)
    ev_loss, ev_error = gengap.model.evaluate(w, x, y, MODEL)
    assert (ev_loss, ev_error) == (loss, error)


def test_forward_is_the_sign_of_the_margin(z23):
    w = gengap.model.init(z23.d, seed=2, model=MODEL)
    f = gengap.model.forward(w, z23.test["x"], MODEL)
    _, error = gengap.model.evaluate(w, z23.test["x"], z23.test["y"], MODEL)
    assert error == pytest.approx(np.mean(np.sign(f) != z23.test["y"]))


def test_shape_and_dtype_errors_are_value_errors(z23):
    w = gengap.model.init(z23.d, seed=2, model=MODEL)
    x, y = z23.train["x"], z23.train["y"]
    with pytest.raises(ValueError, match=r"`W` has shape"):
        gengap.model.loss_grad(w[:3], x, y, MODEL)
    with pytest.raises(ValueError, match="float64"):
        gengap.model.loss_grad(w.astype(np.float32), x, y, MODEL)
    with pytest.raises(ValueError, match=r"`y` has shape"):
        gengap.model.loss_grad(w, x, y[:-1], MODEL)
    with pytest.raises(ValueError, match="float64"):
        gengap.model.loss_grad(w, [[1.0]], y, MODEL)
    with pytest.raises(ValueError, match="n, P and d must be >= 1"):
        gengap.model.loss_grad(w, np.zeros((3, 0, z23.d)), np.ones(3), MODEL)
    with pytest.raises(ValueError, match="integer"):
        gengap.model.init(-5, seed=1)
    with pytest.raises(ValueError, match="unknown variant `tanh`"):
        gengap.model.loss_grad(w, x, y, {"m": M, "activation": {"kind": "tanh"}})


def test_bad_labels_empty_and_non_finite_inputs_are_refused_by_name(z23):
    W = gengap.model.init(z23.d, seed=1)
    x, y = z23.train["x"], z23.train["y"]
    for fn in [gengap.model.loss_grad, gengap.model.evaluate]:
        with pytest.raises(ValueError, match=r"`y\[\d+\]` = 0: labels must be -1 or \+1"):
            fn(W, x, np.where(y > 0, 1.0, 0.0))
        with pytest.raises(ValueError, match=r"`y\[0\]` = 2.5"):
            fn(W, x, np.full_like(y, 2.5))
        with pytest.raises(ValueError, match=r"`x` has shape \[0, \d+, 60\]: n, P and d must be >= 1"):
            fn(W, x[:0], y[:0])
        bad = x.copy()
        bad[1, 0, 3] = np.nan
        with pytest.raises(ValueError, match=r"`x\[1, 0, 3\]` = NaN: must be finite"):
            fn(W, bad, y)
    with pytest.raises(ValueError, match=r"`d` = 0: must be >= 1"):
        gengap.model.init(0, seed=1)
