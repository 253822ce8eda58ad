"""The data models (docs/theory.md#data-models), with every latent part.

`generate(config, seed, stream=0)` takes the `[data]` table of an experiment
config; `c22(...)` and `z23(...)` are the same with keyword arguments. The
arrays are drawn from `stream(seed, stream)`, the version-stable ChaCha8
stream of the Rust API, so `c22(d=100, n=20, seed=42)` equals
`DataConfig::C22(C22Params { d: 100, n: 20, .. }).generate(&mut rng::stream(42, 0))`.

A `Dataset` has `train` and `test` (dicts of arrays: `x` (n, P, d), `y`
observed labels in {-1, +1}, `y_clean`, `flipped`, `noise` (n, P-1, d),
`signal_patch`, `noise_patches`), `signal` (d,), and `d`, `n`, `patches`.
"""

from ._native import Dataset, c22, generate, z23

__all__ = ["Dataset", "c22", "generate", "z23"]
