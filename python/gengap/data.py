"""The data models (docs/theory.md#data-models), with every latent part.

`generate(config, seed, stream=0)` takes the `[data]` table of an experiment
config; `c22(...)` and `z23(...)` are the same with keyword arguments. The
arrays are drawn from `stream(seed, stream)`, the version-stable ChaCha8
stream of the Rust API, so `c22(d=100, n=20, seed=42)` equals
`DataConfig::C22(C22Params { d: 100, n: 20, .. }).generate(&mut rng::stream(42, 0))`.

A `Dataset` has `train` and `test` (dicts of arrays: `x` (n, P, d), `y`
observed labels in {-1, +1}, `y_clean`, `flipped`, `noise` (n, P-1, d),
`signal_patch`, `noise_patches`), `signal` (d,), and `d`, `n`, `patches`.
A `[data]` table given to `generate` is complete, as in a config file; the
keyword forms `c22(...)`/`z23(...)` take the defaults for what is left out.

Your own arrays become a `Dataset` with `Dataset.from_arrays` (checked;
the latent parts are optional, and needed only by the decomposition and
`ReducedGD`):

    >>> import numpy as np, gengap
    >>> x = np.random.default_rng(0).normal(size=(6, 2, 5))
    >>> y = np.array([1, -1, 1, 1, -1, -1])
    >>> ds = gengap.data.Dataset.from_arrays(x, y, x[:3], y[:3])
    >>> ds
    Dataset(model="user", n=6, n_test=3, patches=2, d=5)
    >>> gengap.train(ds, {"name": "gd", "lr": 0.1}, steps=5)["steps"]
    5
"""

from ._native import Dataset, c22, generate, z23

__all__ = ["Dataset", "c22", "generate", "z23"]
