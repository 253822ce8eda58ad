"""Every array argument of the package against the layouts NumPy can hand it:
C order (the reference), Fortran order, a strided view, a 0-d array and an
empty one. Each is either read correctly (the same result as C order, bit for
bit) or refused with one ValueError naming the argument — never misread.
"""

import numpy as np
import pytest

import gengap

MODEL = {"m": 2, "scale": "one"}


@pytest.fixture(scope="module")
def ds():
    return gengap.data.z23(d=12, n=6, n_test=8, s=4, seed=3)


def _args(ds):
    """(call, {argument: C-ordered value}) for every array argument."""
    w0 = gengap.model.init(ds.d, seed=1, model=MODEL)
    w = w0 + 0.01
    x, y = ds.train["x"], ds.train["y"]
    tr = ds.train
    n, k = tr["noise"].shape[:2]
    noise, labels = tr["noise"].reshape(n * k, -1), np.repeat(tr["y"], k)
    te = ds.test
    return [
        (lambda a: gengap.model.forward(a["w"], a["x"], MODEL), {"w": w, "x": x}),
        (lambda a: gengap.model.loss_grad(a["w"], a["x"], a["y"], MODEL), {"w": w, "x": x, "y": y}),
        (lambda a: gengap.model.evaluate(a["w"], a["x"], a["y"], MODEL), {"w": w, "x": x, "y": y}),
        (lambda a: gengap.train(ds, {"name": "gd", "lr": 0.1}, model=MODEL, steps=2, w0=a["w0"])["W"], {"w0": w0}),
        (lambda a: gengap.analysis.decompose(a["W"], a["W0"], ds), {"W": w, "W0": w0}),
        (
            lambda a: gengap.analysis.decompose_arrays(a["W"], a["W0"], a["signal"], a["noise"], a["labels"]),
            {"W": w, "W0": w0, "signal": ds.signal, "noise": noise, "labels": labels},
        ),
        (lambda a: gengap.analysis.ReducedGD(ds, a["W0"], 0.1, model=MODEL).weights(), {"W0": w0}),
        (
            lambda a: gengap.data.Dataset.from_arrays(
                a["x"], a["y"], a["x_test"], a["y_test"], signal=a["signal"], noise=a["noise"],
                noise_test=a["noise_test"], signal_patch=a["signal_patch"], signal_patch_test=a["signal_patch_test"],
            ).train,
            {
                "x": x, "y": y, "x_test": te["x"], "y_test": te["y"], "signal": ds.signal, "noise": tr["noise"],
                "noise_test": te["noise"], "signal_patch": tr["signal_patch"], "signal_patch_test": te["signal_patch"],
            },
        ),
    ]


def _same(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b))
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    return a == b or (a != a and b != b)


def _strided(v):
    """The same values as a non-contiguous view (every other element of a larger array)."""
    big = np.zeros(v.shape[:-1] + (2 * v.shape[-1],), dtype=v.dtype)
    big[..., ::2] = v
    view = big[..., ::2]
    assert not view.flags.c_contiguous or v.shape[-1] <= 1
    return view


LAYOUTS = ["fortran", "strided", "zero_d", "empty"]

#: How an error names each argument: as given; `Dataset.from_arrays`'s
#: checks of the whole data set name its entry (`train.x`, `test.noise`).
SPELLED = {
    "x_test": "test.x", "y_test": "test.y", "noise_test": "test.noise", "signal_patch_test": "test.signal_patch",
    "signal_patch": "train.signal_patch", "noise": ("train.noise", "noise"),
}


def _named(name, message, from_arrays):
    if from_arrays and name in ("x", "y"):
        want = (name, f"train.{name}")
    else:
        spelled = SPELLED.get(name, name) if from_arrays else name
        want = (name,) + (spelled if isinstance(spelled, tuple) else (spelled,))
    low = message.lower()  # `W` for the argument `w` of the model functions
    return any(f"`{w.lower()}" in low or f"{w.lower()}`" in low for w in want)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_array_argument_is_read_right_or_refused_by_name(ds, layout):
    checked = accepted = 0
    for index, (call, args) in enumerate(_args(ds)):
        from_arrays = index == len(_args(ds)) - 1
        want = call(args)
        for name, value in args.items():
            value = np.asarray(value)
            if layout == "fortran":
                if value.ndim < 2:
                    continue
                bad = np.asfortranarray(value)
            elif layout == "strided":
                bad = _strided(value)
            elif layout == "zero_d":
                bad = np.asarray(value.flat[0])
            else:
                bad = np.empty((0,) * value.ndim, dtype=value.dtype)
            try:
                got = call({**args, name: bad})
            except ValueError as e:
                # Refused: one line that names the argument.
                assert _named(name, str(e), from_arrays), (name, str(e))
                assert "\n" not in str(e).strip(), str(e)
            else:
                # Read: only the layouts that carry the same values may be accepted, and must give the same bits.
                assert layout in ("fortran", "strided"), f"{name}: a {layout} array was accepted"
                assert _same(got, want), f"{name}: a {layout} array was misread"
                accepted += 1
            checked += 1
    assert checked >= 10
    # Fortran-ordered and strided inputs are copied for every argument but an
    # in-place output (`Optimizer.step`'s `w`, tested in test_optim.py).
    assert accepted == (checked if layout in ("fortran", "strided") else 0), (accepted, checked)
