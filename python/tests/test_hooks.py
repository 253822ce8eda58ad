"""Python code inside the training loop: an optimizer object and a callback."""

import time

import numpy as np
import pytest

import gengap

MODEL = {"m": 5, "scale": "one"}


class NumpyAdam:
    """Adam (PyTorch form, docs/theory.md#optimizers) written step by step in NumPy."""

    name = "numpy_adam"

    def __init__(self, lr: float, betas=(0.9, 0.999), eps=1e-8):
        self.lr, self.betas, self.eps = lr, betas, eps
        self.t = 0
        self.m = self.v = None

    def step(self, w, g):
        b1, b2 = self.betas
        if self.m is None:
            self.m, self.v = np.zeros_like(w), np.zeros_like(w)
        self.t += 1
        self.m = b1 * self.m + (1 - b1) * g
        self.v = b2 * self.v + (1 - b2) * g * g
        bc1, bc2 = 1 - b1**self.t, 1 - b2**self.t
        w -= (self.lr / bc1) * self.m / (np.sqrt(self.v) / np.sqrt(bc2) + self.eps)


def test_a_python_adam_matches_the_builtin_adam_inside_train(z23):
    ours = NumpyAdam(1e-2)
    a = gengap.train(z23, ours, model=MODEL, steps=60, record_every=20)
    b = gengap.train(z23, {"name": "adam", "lr": 1e-2}, model=MODEL, steps=60, record_every=20)
    assert ours.t == 60 and a["status"] == "max_steps"
    np.testing.assert_allclose(a["W"], b["W"], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(a["history"]["train_loss"], b["history"]["train_loss"], rtol=1e-10)
    # It can fail: a Python Adam with another β₂ does not match.
    c = gengap.train(z23, NumpyAdam(1e-2, betas=(0.9, 0.99)), model=MODEL, steps=60, record_every=20)
    assert np.abs(c["W"] - b["W"]).max() > 1e-6


def test_a_python_gd_equals_the_builtin_gd_bit_for_bit(z23):
    class Gd:
        lr = 0.5

        def step(self, w, g):
            w -= self.lr * g

    a = gengap.train(z23, Gd(), model=MODEL, steps=40)
    b = gengap.train(z23, {"name": "gd", "lr": 0.5}, model=MODEL, steps=40)
    np.testing.assert_array_equal(a["W"], b["W"])


def test_a_builtin_optimizer_object_trains_from_its_state(z23):
    opt = gengap.optim.make({"name": "adam", "lr": 1e-2})
    a = gengap.train(z23, opt, model=MODEL, steps=30)
    b = gengap.train(z23, {"name": "adam", "lr": 1e-2}, model=MODEL, steps=30)
    np.testing.assert_array_equal(a["W"], b["W"])
    assert opt.state()["t"] == 0  # a copy trained; the object is unchanged


def test_the_gradient_is_read_only_and_w_has_the_weights_shape(z23):
    seen = {}

    class Look:
        def step(self, w, g):
            seen["shape"], seen["writeable"] = w.shape, g.flags.writeable
            g[0, 0] = 1.0  # refused: g is read-only

    with pytest.raises(ValueError, match="read-only"):
        gengap.train(z23, Look(), model=MODEL, steps=3)
    assert seen == {"shape": (10, z23.d), "writeable": False}


def test_an_exception_in_the_optimizer_or_callback_is_raised_as_it_was(z23):
    class Boom:
        def step(self, w, g):
            raise KeyError("from my optimizer")

    with pytest.raises(KeyError, match="from my optimizer"):
        gengap.train(z23, Boom(), model=MODEL, steps=3)

    def bad_callback(info):
        raise ZeroDivisionError("from my callback")

    with pytest.raises(ZeroDivisionError, match="from my callback"):
        gengap.train(z23, {"name": "gd", "lr": 0.1}, model=MODEL, steps=3, callback=bad_callback)


def test_bad_optimizer_and_callback_objects_are_type_errors(z23):
    with pytest.raises(TypeError, match="step"):
        gengap.train(z23, 3.5, model=MODEL, steps=3)
    with pytest.raises(TypeError, match="callback"):
        gengap.train(z23, {"name": "gd", "lr": 0.1}, model=MODEL, steps=3, callback=5)
    with pytest.raises(TypeError, match="return None, False or True"):
        gengap.train(z23, {"name": "gd", "lr": 0.1}, model=MODEL, steps=3, callback=lambda info: "go on")
    with pytest.raises(ValueError, match="f64"):
        gengap.train(z23, NumpyAdam(1e-2), model=MODEL, train={"max_steps": 3, "precision": "f32"})


def test_the_callback_sees_the_record_schedule_and_can_stop_the_run(z23):
    seen = []

    def watch(info):
        seen.append((info["step"], info["train_loss"], "W" in info))
        return info["step"] >= 30

    run = gengap.train(z23, {"name": "gd", "lr": 0.5}, model=MODEL, steps=100, record_every=10, callback=watch)
    assert run["status"] == "stopped" and run["steps"] == 30
    assert [s for s, _, _ in seen] == [0, 10, 20, 30]
    assert [loss for _, loss, _ in seen] == run["history"]["train_loss"].tolist()
    assert not any(w for _, _, w in seen)
    # W on request: the weights of that step.
    weights = {}

    def keep(info):
        weights[info["step"]] = info["W"]

    full = gengap.train(
        z23,
        {"name": "gd", "lr": 0.5},
        model=MODEL,
        steps=20,
        record_every=10,
        callback=keep,
        callback_weights=True,
    )
    assert sorted(weights) == [0, 10, 20]
    np.testing.assert_array_equal(weights[0], full["W0"])
    np.testing.assert_array_equal(weights[20], full["W"])


def test_the_cost_of_a_python_step_is_measured_not_asserted(z23):
    # Not a timing test: it prints the per-step overhead of the Python path
    # (docs/python.md quotes it) and checks only that both runs finished.
    class Gd:
        def step(self, w, g):
            w -= 0.1 * g

    steps = 200
    t0 = time.perf_counter()
    a = gengap.train(z23, Gd(), model=MODEL, steps=steps, record_every=steps)
    t1 = time.perf_counter()
    b = gengap.train(z23, {"name": "gd", "lr": 0.1}, model=MODEL, steps=steps, record_every=steps)
    t2 = time.perf_counter()
    assert a["steps"] == b["steps"] == steps
    print(f"python-optimizer step: {(t1 - t0) / steps * 1e6:.1f} us, built-in: {(t2 - t1) / steps * 1e6:.1f} us")


def test_progress_prints_a_line_per_record_to_stderr_and_is_off_by_default(z23, capsys):
    gengap.train(z23, {"name": "gd", "lr": 0.5}, model=MODEL, steps=20, record_every=10)
    assert capsys.readouterr().err == ""
    gengap.train(z23, {"name": "gd", "lr": 0.5}, model=MODEL, steps=20, record_every=10, progress=True)
    err = capsys.readouterr().err
    assert [part.split()[1] for part in err.strip().split("\r")] == ["0/20", "10/20", "20/20"]
    assert err.endswith("\n")


def test_lr_schedules_as_a_table_or_a_callable_set_each_steps_rate(z23):
    # η_t = 0.4·0.5^⌊t/4⌋ over 12 steps, three ways: the table, a callable, and by hand.
    table = gengap.train(z23, {"name": "gd", "lr": 0.4}, model=MODEL, steps=12,
                         lr_schedule={"kind": "step", "every": 4, "gamma": 0.5})
    seen = []

    def rate(t):
        seen.append(t)
        return 0.4 * 0.5 ** (t // 4)

    call = gengap.train(z23, {"name": "gd", "lr": 0.4}, model=MODEL, steps=12, lr_schedule=rate)
    w = table["W0"]
    for lr in (0.4, 0.2, 0.1):
        w = gengap.train(z23, {"name": "gd", "lr": lr}, model=MODEL, steps=4, w0=w)["W"]
    np.testing.assert_array_equal(table["W"], w)
    np.testing.assert_array_equal(call["W"], w)
    assert seen == list(range(12))
    # A Python optimizer gets the rate in its `lr`.
    rates = []

    class Gd:
        lr = 1.0

        def step(self, w, g):
            rates.append(self.lr)
            w -= self.lr * g

    gengap.train(z23, Gd(), model=MODEL, steps=6, lr_schedule={"kind": "inverse_time", "k": 1.0})
    np.testing.assert_allclose(rates, [1.0 / (1 + t) for t in range(6)], rtol=0, atol=0)
    # Errors: a bad table by key, an exception from the callable as it was.
    with pytest.raises(ValueError, match="lr_schedule.gamma"):
        gengap.train(z23, {"name": "gd", "lr": 0.4}, steps=3, lr_schedule={"kind": "step", "every": 2, "gamma": 2.0})

    def broken(t):
        raise ArithmeticError("my schedule")

    with pytest.raises(ArithmeticError, match="my schedule"):
        gengap.train(z23, {"name": "gd", "lr": 0.4}, steps=3, lr_schedule=broken)


def test_eps_schedules_reach_the_builtin_rule_and_a_python_optimizers_eps(z23):
    table = gengap.train(z23, {"name": "adam", "lr": 1e-2}, model=MODEL, steps=12,
                         eps_schedule={"kind": "step", "every": 4, "gamma": 0.01})
    call = gengap.train(z23, {"name": "adam", "lr": 1e-2}, model=MODEL, steps=12,
                        eps_schedule=lambda t: 1e-8 * 0.01 ** (t // 4))
    np.testing.assert_array_equal(table["W"], call["W"])
    plain = gengap.train(z23, {"name": "adam", "lr": 1e-2}, model=MODEL, steps=12)
    big = gengap.train(z23, {"name": "adam", "lr": 1e-2}, model=MODEL, steps=12, eps_schedule=lambda t: 0.1)
    assert not np.array_equal(big["W"], plain["W"])
    seen = []
    ours = NumpyAdam(1e-2)

    def step(w, g, _step=ours.step):
        seen.append(ours.eps)
        _step(w, g)

    ours.step = step
    gengap.train(z23, ours, model=MODEL, steps=4, eps_schedule={"kind": "inverse_time", "k": 1.0})
    np.testing.assert_allclose(seen, [1e-8 / (1 + t) for t in range(4)], rtol=1e-15)
    with pytest.raises(ValueError, match="eps_schedule"):
        gengap.train(z23, {"name": "gd", "lr": 0.1}, model=MODEL, steps=3, eps_schedule={"kind": "inverse_time", "k": 1.0})
