"""The numpy peer of `step-bench`: the same GD and Adam steps of the same model.

The two-layer CNN of gengap-model (docs/theory.md#the-network) with ReLU^3,
s_m = 1/m and the logistic loss, written the way a careful numpy user would:
the forward and the hand-written backward are two GEMMs (X W^T, then dZ^T X),
the elementwise work in between uses preallocated buffers where numpy allows,
and Adam is PyTorch's form (bias-corrected, eps outside the square root).

Run by `step-bench --peer-python PY` (through `cargo xtask bench --peer numpy`),
which sets OPENBLAS_NUM_THREADS and reads the JSON this prints on stdout.
Usage: python numpy_step.py BUDGET d,n,m [d,n,m ...]

`python numpy_step.py linear BUDGET D,n [D,n ...]` times instead the full-batch
GD and Adam steps of logistic regression <w, x> (docs/theory.md#the-linear-model)
for step-bench's linear-model table: two BLAS matrix-vector products and
preallocated buffers, Adam in PyTorch's form.
"""

import json
import sys
import time

import numpy as np


def timed(budget, f):
    """Median seconds per call over 5 batches of about budget/5 seconds each."""
    f()
    t0 = time.perf_counter()
    f()
    one = max(time.perf_counter() - t0, 1e-7)
    per_batch = max(1, int(np.ceil((budget / 5.0) / one)))
    samples = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(per_batch):
            f()
        samples.append((time.perf_counter() - t) / per_batch)
    samples.sort()
    return samples[2]


class Model:
    """Two patches per sample: X is (n*P) x d, W is 2m x d (rows 0..m: j = +1)."""

    def __init__(self, d, n, m, dtype, rng):
        self.n, self.m, self.P = n, m, 2
        self.x = rng.standard_normal((n * self.P, d)).astype(dtype)
        self.y = np.where(rng.random(n) < 0.5, 1.0, -1.0).astype(dtype)
        self.w = (0.01 * rng.standard_normal((2 * m, d))).astype(dtype)
        self.grad = np.empty_like(self.w)
        self.z = np.empty((n * self.P, 2 * m), dtype)
        self.sign = np.concatenate([np.ones(m), -np.ones(m)]).astype(dtype) / m
        self.dtype = dtype

    def loss_grad(self):
        np.matmul(self.x, self.w.T, out=self.z)  # GEMM 1
        a = np.maximum(self.z, 0.0, out=self.z)
        a2 = a * a
        f = ((a2 * a) @ self.sign).reshape(self.n, self.P).sum(axis=1)
        margin = self.y * f
        loss = np.logaddexp(0.0, -margin).mean()
        # l'(z) = -1 / (1 + e^z); g_i = l'(y_i f_i) y_i / n
        g = (-self.y / self.n) / (1.0 + np.exp(margin))
        a2 *= 3.0 * self.sign
        a2 *= np.repeat(g, self.P)[:, None]
        np.matmul(a2.T, self.x, out=self.grad)  # GEMM 2
        return loss


def gd_step(model, lr):
    def step():
        model.loss_grad()
        model.w -= lr * model.grad

    return step


def adam_step(model, lr, b1=0.9, b2=0.999, eps=1e-8):
    mom = np.zeros_like(model.w)
    var = np.zeros_like(model.w)
    tmp = np.empty_like(model.w)
    t = [0]

    def step():
        model.loss_grad()
        t[0] += 1
        g = model.grad
        np.multiply(mom, b1, out=mom)
        mom.__iadd__((1.0 - b1) * g)
        np.multiply(var, b2, out=var)
        np.multiply(g, g, out=tmp)
        np.multiply(tmp, 1.0 - b2, out=tmp)
        var.__iadd__(tmp)
        c1 = 1.0 - b1 ** t[0]
        c2 = 1.0 - b2 ** t[0]
        np.sqrt(var, out=tmp)
        np.divide(tmp, np.sqrt(c2), out=tmp)
        np.add(tmp, eps, out=tmp)
        np.divide(mom, tmp, out=tmp)
        np.multiply(tmp, lr / c1, out=tmp)
        model.w.__isub__(tmp)

    return step


def linear_steps(dim, n):
    """The GD and Adam steps of logistic regression on n points in R^dim."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((n, dim)) / np.sqrt(dim)
    y = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    w = np.zeros(dim)
    z = np.empty(n)
    c = np.empty(n)
    g = np.empty(dim)
    m = np.zeros(dim)
    v = np.zeros(dim)
    t = [0]

    def grad():
        np.dot(x, w, out=z)
        np.multiply(z, y, out=z)
        # l'(z) = -1/(1 + e^z), times y/n
        np.exp(z, out=c)
        np.add(c, 1.0, out=c)
        np.divide(-y / n, c, out=c)
        np.dot(c, x, out=g)

    def gd():
        grad()
        w[:] -= 1e-3 * g

    def adam():
        grad()
        t[0] += 1
        m[:] = 0.9 * m + 0.1 * g
        v[:] = 0.999 * v + 0.001 * g * g
        mh = m / (1 - 0.9 ** t[0])
        vh = v / (1 - 0.999 ** t[0])
        w[:] -= 1e-3 * mh / (np.sqrt(vh) + 1e-8)

    return gd, adam


def main():
    linear = sys.argv[1] == "linear"
    args = sys.argv[2:] if linear else sys.argv[1:]
    budget = float(args[0])
    rows = []
    for spec in args[1:]:
        if linear:
            dim, n = (int(v) for v in spec.split(","))
            gd, adam = linear_steps(dim, n)
            rows.append({"dim": dim, "n": n, "gd": timed(budget, gd), "adam": timed(budget, adam)})
            continue
        d, n, m = (int(v) for v in spec.split(","))
        for prec, dtype in (("f64", np.float64), ("f32", np.float32)):
            model = Model(d, n, m, dtype, np.random.default_rng(7))
            w0 = model.w.copy()
            gd = timed(budget, gd_step(model, 1e-6))
            model.w[...] = w0
            adam = timed(budget, adam_step(model, 1e-6))
            rows.append({"d": d, "n": n, "m": m, "prec": prec, "gd": gd, "adam": adam})
    cfg = np.show_config(mode="dicts") if hasattr(np, "show_config") else {}
    blas = cfg.get("Build Dependencies", {}).get("blas", {}) if isinstance(cfg, dict) else {}
    json.dump({"numpy": np.__version__, "blas": f"{blas.get('name', '?')} {blas.get('version', '?')}", "rows": rows}, sys.stdout)


if __name__ == "__main__":
    main()
