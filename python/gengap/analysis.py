"""The signal-noise decomposition (docs/theory.md#signal-noise-decomposition)
and the exact reduced-space GD solver (docs/theory.md#reduced-space-gd).

`decompose(W, W0, data)` returns gamma (2m,), rho_bar and rho (2m, N),
coef_w0, residual and the summaries; `decompose_arrays(W, W0, signal, noise,
labels)` the same from arrays (signal rows, noise vectors, their labels); `ReducedGD(data, W0, lr, model=None,
weight_decay=0.0)` runs full-batch GD in the coordinates of the span of the
signal and the training noise vectors, equal to full-space GD to round-off.
"""

from ._native import ReducedGD, decompose, decompose_arrays

__all__ = ["ReducedGD", "decompose", "decompose_arrays"]
