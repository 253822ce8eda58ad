"""The two-layer CNN with a fixed second layer (docs/theory.md#network):

    f(W, x) = F_{+1}(W, x) - F_{-1}(W, x),
    F_j(W, x) = (1/m) * sum_r sum_p sigma(<w_{j,r}, x^(p)>),

with sigma = ReLU^q (default q = 3), ReLU, or the Huberized ReLU, and the
logistic loss L_S(W) = (1/n) sum_i log(1 + exp(-y_i f(W, x_i)))
(docs/theory.md#loss-and-gradient).

`W` has shape (2m, d): row c = j*m + r is the filter w_{j,r}, j = 0 the +1
class. `model` is the `[model]` table of an experiment config
(`{"m": 10, "activation": {"relu_pow": {"q": 3}}, "scale": "one"}`; None for
the defaults). Inputs `x` have shape (n, P, d).
"""

from ._native import evaluate, forward, init, loss_grad

__all__ = ["evaluate", "forward", "init", "loss_grad"]
