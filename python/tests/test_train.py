"""Training, the decomposition and the reduced solver from Python."""

import numpy as np
import pytest

import gengap

MODEL = {"m": 5, "scale": "one"}


def test_training_records_and_the_decomposition_agree(z23):
    run = gengap.train(z23, {"name": "gd", "lr": 0.5}, model=MODEL, steps=200, record_every=50, decompose=True)
    h = run["history"]
    assert run["status"] == "max_steps" and run["steps"] == 200
    assert h["step"].tolist() == [0, 50, 100, 150, 200]
    assert h["train_loss"][-1] < h["train_loss"][0]
    dec = gengap.analysis.decompose(run["W"], run["W0"], z23)
    assert dec["gamma"].shape == (10,) and dec["rho"].shape == (10, z23.n * (z23.patches - 1))
    # The summary the training loop recorded at the last step is the one of the final W.
    assert dec["summary"]["signal_inner"] == pytest.approx(h["signal_inner"][-1], rel=1e-12)
    assert dec["residual_total"] < 1e-10  # GD stays in the span


def test_reduced_solver_equals_full_space_gd(z23):
    lr = 0.5
    run = gengap.train(z23, {"name": "gd", "lr": lr}, model=MODEL, steps=100, record_every=100, seed=3)
    red = gengap.analysis.ReducedGD(z23, run["W0"], lr, model=MODEL)
    red.step(100)
    np.testing.assert_allclose(red.weights(), run["W"], rtol=0, atol=1e-12)
    assert red.train_metrics()[0] == pytest.approx(run["history"]["train_loss"][-1], rel=1e-10)
    assert red.decomposition()["residual_total"] == 0.0


def test_the_same_call_gives_the_same_bits(z23):
    a = gengap.train(z23, {"name": "adam", "lr": 1e-3}, model=MODEL, steps=50)
    b = gengap.train(z23, {"name": "adam", "lr": 1e-3}, model=MODEL, steps=50)
    np.testing.assert_array_equal(a["W"], b["W"])


def test_divergence_is_a_status_not_an_exception(z23):
    run = gengap.train(z23, {"name": "gd", "lr": 1e300}, model=MODEL, steps=50)
    assert run["status"] == "diverged"


def test_bad_training_arguments(z23):
    with pytest.raises(ValueError, match="max_steps"):
        gengap.train(z23, {"name": "gd", "lr": 0.1}, steps=0)
    with pytest.raises(ValueError, match="integer"):
        gengap.train(z23, {"name": "gd", "lr": 0.1}, steps=-3)
    with pytest.raises(ValueError, match="Dataset"):
        gengap.train({"x": 1}, {"name": "gd", "lr": 0.1}, steps=1)
    with pytest.raises(ValueError, match="w0"):
        gengap.train(z23, {"name": "gd", "lr": 0.1}, steps=1, w0=np.zeros((3, 3)))


def test_mini_batches(z23):
    full = gengap.train(z23, {"name": "adam", "lr": 1e-2}, model=MODEL, steps=30)
    whole = gengap.train(z23, {"name": "adam", "lr": 1e-2}, model=MODEL, steps=30, batch_size=z23.n)
    np.testing.assert_array_equal(full["W"], whole["W"])  # B = n is full batch, bit for bit
    a = gengap.train(z23, {"name": "adam", "lr": 1e-2}, model=MODEL, steps=30, batch_size=4, seed=5)
    b = gengap.train(z23, {"name": "adam", "lr": 1e-2}, model=MODEL, steps=30, batch_size=4, seed=5)
    np.testing.assert_array_equal(a["W"], b["W"])  # the seed fixes the batch order
    assert not np.array_equal(a["W"], full["W"])
    with pytest.raises(ValueError, match="batch.size"):
        gengap.train(z23, {"name": "adam"}, steps=3, batch_size=z23.n + 1)
    with pytest.raises(ValueError, match="batch.size"):
        gengap.train(z23, {"name": "adam"}, steps=3, train={"max_steps": 3, "batch": {"size": 0}})
