"""The two-layer CNN with a fixed second layer (docs/theory.md#network):

    f(W, x) = F_{+1}(W, x) - F_{-1}(W, x),
    F_j(W, x) = (1/m) * sum_r sum_p sigma(<w_{j,r}, x^(p)>),

with sigma = ReLU^q (default q = 3), ReLU, or the Huberized ReLU, and the
logistic loss L_S(W) = (1/n) sum_i log(1 + exp(-y_i f(W, x_i)))
(docs/theory.md#loss-and-gradient).

`W` has shape (2m, d): row c = j*m + r is the filter w_{j,r}, j = 0 the +1
class. `model` is the `[model]` table of an experiment config (keys left
out take the defaults of `CnnConfig::default()`; None for all of them).
Inputs `x` have shape (n, P, d).

    >>> import gengap
    >>> model = {"m": 2, "activation": {"kind": "relu_pow", "q": 3.0}, "scale": "one"}
    >>> W = gengap.model.init(8, seed=1, model=model)
    >>> W.shape
    (4, 8)
    >>> ds = gengap.data.c22(d=8, n=6, n_test=4, seed=1)
    >>> loss, error, grad = gengap.model.loss_grad(W, ds.train["x"], ds.train["y"], model)
    >>> grad.shape == W.shape
    True
"""

from ._native import evaluate, forward, init, loss_grad

__all__ = ["evaluate", "forward", "init", "loss_grad"]
