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


# The span engine from Python: the same algorithm table in both spaces.
SPAN_CASES = [
    ({"name": "gd", "lr": 0.2}, None, None),
    ({"name": "sgd_momentum", "lr": 0.05, "momentum": 0.9, "weight_decay": {"kind": "l2", "lambda": 0.01}}, None, 4),
    ({"name": "gd", "lr": 0.2}, {"kind": "sam", "rho": 0.05}, None),
    ({"name": "gd", "lr": 0.05}, {"kind": "sam", "rho": 0.05, "normalized": False}, 4),
    ({"name": "gd", "lr": 0.2}, {"kind": "label_noise_gd", "p": 0.2}, None),
    ({"name": "sgd_momentum", "lr": 0.05, "nesterov": True}, {"kind": "mixup", "alpha": 1.0}, 4),
]


@pytest.mark.parametrize("optim,algorithm,batch", SPAN_CASES)
def test_the_reduced_engine_runs_every_span_algorithm_as_train_does(z23, optim, algorithm, batch):
    run = gengap.train(z23, optim, model=MODEL, steps=40, record_every=40, seed=5, algorithm=algorithm, batch_size=batch)
    assert run["status"] == "max_steps"
    red = gengap.analysis.ReducedGD(z23, run["W0"], optim=optim, model=MODEL, algorithm=algorithm, batch_size=batch, seed=5)
    red.step(40)
    moved = np.linalg.norm(run["W"] - run["W0"]) / np.linalg.norm(run["W0"])
    assert moved > 1e-3
    gap = np.linalg.norm(red.weights() - run["W"]) / np.linalg.norm(run["W"])
    assert gap < 1e-12, gap
    assert red.test_metrics()[1] == run["history"]["test_error"][-1]


def test_span_engine_arguments_are_checked(z23):
    w0 = gengap.model.init(z23.d, seed=1, model=MODEL)
    with pytest.raises(ValueError, match="not span-preserving"):
        gengap.analysis.ReducedGD(z23, w0, optim={"name": "adam", "lr": 1e-3}, model=MODEL)
    with pytest.raises(ValueError, match="exactly one"):
        gengap.analysis.ReducedGD(z23, w0, 0.1, optim={"name": "gd", "lr": 0.1}, model=MODEL)
    with pytest.raises(ValueError, match="algorithm.rho"):
        gengap.analysis.ReducedGD(z23, w0, 0.1, model=MODEL, algorithm={"kind": "sam", "rho": -1.0})
    with pytest.raises(ValueError, match="algorithm.p"):
        gengap.train(z23, {"name": "gd", "lr": 0.1}, steps=3, algorithm={"kind": "label_noise_gd", "p": 2.0})
    with pytest.raises(ValueError, match="unknown"):
        gengap.train(z23, {"name": "gd", "lr": 0.1}, steps=3, algorithm={"kind": "sam", "rho": 0.1, "radius": 1})


def test_a_fortran_ordered_w0_is_read_by_index(z23):
    """`train(w0=W.T.copy().T)` (Fortran order) starts from the same weights as
    the C-ordered `W`: same bits, no panic."""
    run = gengap.train(z23, {"name": "gd", "lr": 0.5}, model=MODEL, steps=5, record_every=5)
    w0 = run["W0"]
    fortran = np.asfortranarray(w0)
    assert not fortran.flags["C_CONTIGUOUS"]
    a = gengap.train(z23, {"name": "gd", "lr": 0.5}, model=MODEL, steps=5, record_every=5, w0=w0)
    b = gengap.train(z23, {"name": "gd", "lr": 0.5}, model=MODEL, steps=5, record_every=5, w0=fortran)
    np.testing.assert_array_equal(a["W"], b["W"])
    np.testing.assert_array_equal(a["W"], run["W"])


def _interrupt_after(seconds):
    """Send this process SIGINT (Ctrl-C) after `seconds`, from another thread."""
    import os
    import signal
    import threading

    t = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    t.start()
    return t


def test_ctrl_c_stops_a_long_train_and_a_long_reduced_run_within_a_second(z23):
    import time

    # Without the check both calls run for minutes (2e6 full-space steps, 1e7 reduced ones).
    calls = [
        lambda: gengap.train(z23, {"name": "gd", "lr": 1e-3}, model=MODEL, steps=2_000_000, record_every=2_000_000),
        lambda: gengap.analysis.ReducedGD(z23, gengap.model.init(d=60, seed=1, model=MODEL), 1e-3, model=MODEL).step(10_000_000),
    ]
    for call in calls:
        start = time.monotonic()
        timer = _interrupt_after(0.3)
        with pytest.raises(KeyboardInterrupt):
            call()
        timer.join()
        assert time.monotonic() - start < 0.3 + 1.0, "Ctrl-C is noticed between steps"
    # The next call runs normally.
    assert gengap.train(z23, {"name": "gd", "lr": 1e-3}, model=MODEL, steps=3)["steps"] == 3


def test_reduced_run_stops_where_train_stops_and_counts_its_steps(z23):
    lr = 0.5
    full = gengap.train(z23, {"name": "gd", "lr": lr}, model=MODEL, seed=3,
                        train={"max_steps": 2000, "target_loss": 0.05, "record": {"every": 100}})
    assert full["status"] == "converged", full["status"]
    red = gengap.analysis.ReducedGD(z23, full["W0"], lr, model=MODEL)
    assert red.t == 0
    run = red.run(2000, target_loss=0.05, record_every=100)
    assert (run["status"], run["steps"], red.t) == ("converged", full["steps"], full["steps"])
    np.testing.assert_array_equal(run["history"]["step"], full["history"]["step"])
    np.testing.assert_allclose(run["history"]["train_loss"], full["history"]["train_loss"], rtol=1e-10)
    np.testing.assert_allclose(red.weights(), full["W"], rtol=0, atol=1e-12)
    # It goes on from there: step and run count from the engine's first step.
    red.step(3)
    more = red.run(2)
    assert (more["status"], more["steps"], red.t) == ("max_steps", full["steps"] + 5, full["steps"] + 5)
    with pytest.raises(ValueError, match="target_error"):
        red.run(10, target_error=2.0)


def test_reduced_population_error_agrees_with_a_large_fresh_test_set():
    # [C22] data, orthogonal noise: the population error in the span against
    # the error on 4000 fresh test points of the same distribution.
    ds = gengap.data.c22(d=400, n=20, n_test=4000, mu_norm=4.0, sigma_p=1.0, seed=3)
    w0 = gengap.model.init(ds.d, 3, 1, MODEL)
    red = gengap.analysis.ReducedGD(ds, w0, 0.5, model=MODEL)
    red.step(60)
    pop = red.population_error(1.0, samples=200_000, seed=1)
    test = red.test_metrics()[1]
    assert 0.0 <= pop <= 1.0
    assert abs(pop - test) < 0.03, (pop, test)  # 3 standard errors of the 4000-point estimate at most
    assert red.population_error(1.0, samples=200_000, seed=1) == pop  # the same normals, the same bits
    with pytest.raises(ValueError, match="noise"):
        red.population_error(1.0, noise="gaussian")
    with pytest.raises(ValueError, match="sigma_p"):
        red.population_error(-1.0)


def test_decompose_arrays_equals_decompose_on_the_data_sets_arrays(z23):
    run = gengap.train(z23, {"name": "adam", "lr": 1e-2}, model=MODEL, steps=30)
    want = gengap.analysis.decompose(run["W"], run["W0"], z23)
    tr = z23.train
    n, k = tr["noise"].shape[:2]
    noise = tr["noise"].reshape(n * k, -1)
    labels = np.repeat(tr["y"], k)
    got = gengap.analysis.decompose_arrays(run["W"], run["W0"], z23.signal, noise, labels)
    for key in ("gamma", "rho_bar", "rho", "coef_w0", "residual"):
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)
    # Any layout and dtype is copied; (1, d) signal rows are the same as (d,).
    got_f = gengap.analysis.decompose_arrays(
        run["W"], run["W0"], z23.signal[None, :], np.asfortranarray(noise), labels.astype(np.int64)
    )
    np.testing.assert_array_equal(got_f["gamma"], want["gamma"])
    for bad, match in [
        ((z23.signal, noise[:, :-1], labels), "noise"),
        ((z23.signal, noise, labels[:-1]), "labels"),
        ((z23.signal, noise, np.where(labels > 0, 1.0, 0.0)), "labels"),
        ((np.zeros_like(z23.signal), noise, labels), "norm 0"),
        ((z23.signal, np.full_like(noise, np.nan), labels), "noise"),
    ]:
        with pytest.raises(ValueError, match=match):
            gengap.analysis.decompose_arrays(run["W"], run["W0"], *bad)


def test_keep_decomposition_gives_the_arrays_of_every_recorded_step(z23):
    run = gengap.train(z23, {"name": "gd", "lr": 0.5}, model=MODEL, steps=40, record_every=20, keep_decomposition=True)
    dec = run["decomposition"]
    m2, n_noise = 10, z23.n * (z23.patches - 1)
    assert dec["step"].tolist() == [0, 20, 40]
    assert dec["gamma"].shape == (3, m2) and dec["rho"].shape == (3, m2, n_noise) and dec["rho_bar"].shape == (3, m2, n_noise)
    last = gengap.analysis.decompose(run["W"], run["W0"], z23)
    np.testing.assert_array_equal(dec["gamma"][-1], last["gamma"])
    np.testing.assert_array_equal(dec["rho"][-1], last["rho"])
    first = gengap.analysis.decompose(run["W0"], run["W0"], z23)  # W = W0 at step 0
    np.testing.assert_array_equal(dec["gamma"][0], first["gamma"])
    assert np.abs(dec["gamma"][0]).max() < 1e-15
    assert "decomposition" not in gengap.train(z23, {"name": "gd", "lr": 0.5}, model=MODEL, steps=2)


def test_a_reduced_engine_pickles_and_copies_mid_run_and_goes_on_bit_for_bit(z23):
    import copy
    import pickle

    w0 = gengap.model.init(z23.d, 2, 1, MODEL)
    kwargs = dict(optim={"name": "sgd_momentum", "lr": 0.05, "momentum": 0.9}, model=MODEL,
                  algorithm={"kind": "label_noise_gd", "p": 0.1}, batch_size=4, seed=7)
    red = gengap.analysis.ReducedGD(z23, w0, **kwargs)
    red.step(13)
    for other in [pickle.loads(pickle.dumps(red)), copy.deepcopy(red), copy.copy(red)]:
        assert other.t == 13
        np.testing.assert_array_equal(other.theta(), red.theta())
    twin = pickle.loads(pickle.dumps(red))
    red.step(9)
    twin.step(9)
    np.testing.assert_array_equal(twin.theta(), red.theta())
    np.testing.assert_array_equal(twin.weights(), red.weights())
    # A different seed is a different run: the comparison can fail.
    other = gengap.analysis.ReducedGD(z23, w0, **{**kwargs, "seed": 8})
    other.step(22)
    assert not np.array_equal(other.theta(), red.theta())
