"""Every optimizer of gengap-optim (docs/theory.md#optimizers), on float64
NumPy arrays in place:

    >>> import numpy as np, gengap
    >>> opt = gengap.optim.make({"name": "padam", "lr": 0.1, "p": 0.125})
    >>> w = np.zeros(3); opt.step(w, np.array([1.0, -2.0, 0.5]))
    >>> saved = opt.state(); opt.load_state(saved)

`make(config)` takes the optimizer tables of the experiment configs
(`name` = gd, sgd_momentum, sign_gd, adam_seed, adam, amsgrad, adamw, yogi,
adabound, padam, radam, nadam, adabelief, lion, with their hyper-parameters
and `weight_decay`); an unknown
key or an out-of-range value raises ValueError naming it.
"""

from ._native import Optimizer, make

__all__ = ["Optimizer", "make"]
