"""GD vs Adam on the [Z23] sparse-signal / dense-noise model, from Python.

The main runs of the `adam-vs-gd` experiment (experiments/adam-vs-gd/
config.toml, at a third of its steps): the same data and the same W0 for
both optimizers, then where each put its weight - signal learning
max <w, j v> against noise memorization min_i max_r <w, xi_i>.

    python python/examples/adam_vs_gd.py
"""

import gengap

seed = 20230501
data = gengap.data.z23(d=1000, n=200, n_test=1000, v_norm=1.0, sigma_p=0.1, s=100, alpha=0.2, seed=seed)
model = {"m": 20, "activation": {"kind": "relu_pow", "q": 3.0}, "scale": "one", "sigma0": 0.01}
w0 = gengap.model.init(data.d, seed=seed, model=model)

print(f"{'optimizer':<10} {'train loss':>10} {'test error':>10} {'signal':>8} {'noise':>8} {'residual':>8}")
for label, optim in [("GD", {"name": "gd", "lr": 0.5}), ("Adam", {"name": "adam_seed", "lr": 1e-4})]:
    run = gengap.train(data, optim, model=model, steps=1000, record_every=1000, w0=w0)
    history = run["history"]
    summary = gengap.analysis.decompose(run["W"], w0, data)["summary"]
    print(
        f"{label:<10} {history['train_loss'][-1]:>10.2e} {history['test_error'][-1]:>10.3f}"
        f" {summary['signal_inner']:>8.3f} {summary['noise_inner']:>8.3f} {summary['residual']:>8.3f}"
    )
