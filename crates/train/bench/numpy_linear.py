"""The numpy peer of `step-bench`'s linear-model table: the same full-batch
GD and Adam steps of logistic regression <w, x> (docs/theory.md#the-linear-model),
written the way a careful numpy user would (two BLAS matrix-vector products,
preallocated buffers, Adam in PyTorch's form).

Run by `step-bench --peer-python PY`, which sets OPENBLAS_NUM_THREADS=1 and
reads the JSON this prints on stdout.
Usage: python numpy_linear.py BUDGET D,n [D,n ...]
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


def main():
    budget = float(sys.argv[1])
    rows = []
    for spec in sys.argv[2:]:
        dim, n = (int(v) for v in spec.split(","))
        rng = np.random.default_rng(7)
        x = rng.standard_normal((n, dim)) / np.sqrt(dim)
        y = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
        w = np.zeros(dim)
        z = np.empty(n)
        c = np.empty(n)
        g = np.empty(dim)
        m = np.zeros(dim)
        v = np.zeros(dim)
        state = {"t": 0}

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
            state["t"] += 1
            t = state["t"]
            m[:] = 0.9 * m + 0.1 * g
            v[:] = 0.999 * v + 0.001 * g * g
            mh = m / (1 - 0.9**t)
            vh = v / (1 - 0.999**t)
            w[:] -= 1e-3 * mh / (np.sqrt(vh) + 1e-8)

        rows.append({"dim": dim, "n": n, "gd": timed(budget, gd), "adam": timed(budget, adam)})
    print(json.dumps({"numpy": np.__version__, "rows": rows}))


main()
