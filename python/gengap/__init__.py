"""gengap from Python: the data models, the two-layer CNN, the optimizers,
training, the signal-noise decomposition, the exact reduced-space solver and
every experiment of the gengap Rust workspace, with NumPy arrays in and out.

Every number comes from the Rust crates (this package holds no numerics of
its own), so a seed and a config give the same arrays as the Rust API and
the experiment binaries, bit for bit. The mathematics is in docs/theory.md;
the Python API in docs/python.md.

    >>> import gengap
    >>> ds = gengap.data.z23(d=200, n=20, n_test=100, s=20, seed=1)
    >>> run = gengap.train(ds, {"name": "adam", "lr": 1e-3}, steps=100)
    >>> run["history"]["test_error"][-1]  # doctest: +SKIP

Like the binaries, the package runs OpenBLAS on one thread and, where the
CPU has AVX2 and FMA, on its portable Haswell kernel (unless
OPENBLAS_CORETYPE is set, or GENGAP_BLAS_KERNEL=openblas): see `blas()`.
"""

import os as _os


def _pin_portable_kernel() -> None:
    """Ask OpenBLAS for the binaries' portable kernel before it loads.

    OpenBLAS reads OPENBLAS_CORETYPE once, when the native module (and with
    it libopenblas) is loaded, so this must run before the import below.
    It mirrors the binaries' default policy (gengap_model::KernelPolicy::
    Portable): never over a user's OPENBLAS_CORETYPE, never a kernel the CPU
    lacks.
    """
    if "OPENBLAS_CORETYPE" in _os.environ:
        return
    if _os.environ.get("GENGAP_BLAS_KERNEL", "portable") != "portable":
        return
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return
    if "avx2" in flags and "fma" in flags:
        _os.environ["OPENBLAS_CORETYPE"] = "Haswell"
        _os.environ.setdefault("GENGAP_BLAS_KERNEL_SELECTED", "portable")


_pin_portable_kernel()

from . import _native  # noqa: E402
from . import analysis, data, model, optim  # noqa: E402
from ._native import (  # noqa: E402
    __version__,
    blas,
    run_study,
    set_blas_threads,
    studies,
    study_config,
    train,
)

_native.set_blas_threads(1)

__all__ = [
    "__version__",
    "analysis",
    "blas",
    "data",
    "model",
    "optim",
    "run_study",
    "set_blas_threads",
    "studies",
    "study_config",
    "train",
]
