//! RAdam, NAdam, AdaBelief and Lion against independent step-by-step
//! implementations of their reference forms (`docs/theory.md#optimizers`),
//! 50 steps on a small non-quadratic problem, f64, to 1e-12; and a state saved
//! mid-trajectory continues bit for bit.

use super::*;

const D: usize = 4;
const W0: [f64; D] = [0.8, -0.4, 0.05, -1.3];
const TARGET: [f64; D] = [0.3, 0.1, -0.2, 0.0];
const STEPS: usize = 50;

/// The gradient of `Σ_i [(1 − cos(3(w_i − c_i)))/3 + (w_i − c_i)⁴/8]`: not
/// quadratic, so the trajectory (and every moment) depends on where the
/// iterates go.
fn grad(w: &[f64]) -> Vec<f64> {
    w.iter()
        .zip(TARGET)
        .map(|(w, c)| (3.0 * (w - c)).sin() + 0.5 * (w - c).powi(3))
        .collect()
}

/// Run an optimizer on the problem; every iterate.
fn run(cfg: &OptimConfig) -> Vec<Vec<f64>> {
    let mut opt = cfg.build::<f64>().unwrap();
    let mut w = W0.to_vec();
    (0..STEPS)
        .map(|_| {
            let g = grad(&w);
            opt.step(&mut w, &g).unwrap();
            w.clone()
        })
        .collect()
}

/// Weight decay of the references: coupled `l2` or decoupled `dec`.
#[derive(Clone, Copy)]
struct Decay {
    l2: f64,
    dec: f64,
}

impl Decay {
    fn config(self) -> WeightDecay {
        match (self.l2 > 0.0, self.dec > 0.0) {
            (true, _) => WeightDecay::L2 { lambda: self.l2 },
            (_, true) => WeightDecay::Decoupled { lambda: self.dec },
            _ => WeightDecay::None,
        }
    }
    /// The gradient the rule sees at `w`, after the decoupled shrink of `w`.
    fn apply(self, lr: f64, w: &mut [f64]) -> Vec<f64> {
        let g = grad(w);
        for w in w.iter_mut() {
            *w -= lr * self.dec * *w;
        }
        g.iter().zip(w.iter()).map(|(g, w)| g + self.l2 * w).collect()
    }
}

const DECAYS: [Decay; 3] = [
    Decay { l2: 0.0, dec: 0.0 },
    Decay { l2: 0.05, dec: 0.0 },
    Decay { l2: 0.0, dec: 0.05 },
];

/// Agreement to 1e-12 on the scale of the parameters (which start at O(1)):
/// relative above 1, absolute below; the two sides differ only in the order
/// of their operations (fused step sizes, `powi` against `powf`).
fn close(got: &[Vec<f64>], want: &[Vec<f64>], what: &str) {
    for (t, (x, y)) in got.iter().zip(want).enumerate() {
        for (i, (u, v)) in x.iter().zip(y).enumerate() {
            let tol = 1e-12 * v.abs().max(1.0);
            assert!((u - v).abs() <= tol, "{what}: step {} coord {i}: {u} vs {v}", t + 1);
        }
    }
}

/// `torch.optim.RAdam` as written in its documentation.
fn radam_ref(lr: f64, (b1, b2): (f64, f64), eps: f64, decay: Decay) -> (Vec<Vec<f64>>, usize) {
    let (mut w, mut m, mut v) = (W0.to_vec(), vec![0.0; D], vec![0.0; D]);
    let rho_inf = 2.0 / (1.0 - b2) - 1.0;
    let (mut out, mut unrectified) = (vec![], 0);
    for t in 1..=STEPS {
        let g = decay.apply(lr, &mut w);
        let tf = t as f64;
        let rho_t = rho_inf - 2.0 * tf * b2.powf(tf) / (1.0 - b2.powf(tf));
        for i in 0..D {
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            let m_hat = m[i] / (1.0 - b1.powf(tf));
            if rho_t > 5.0 {
                let r = ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)).sqrt();
                let l = (1.0 - b2.powf(tf)).sqrt() / (v[i].sqrt() + eps);
                w[i] -= lr * m_hat * r * l;
            } else {
                w[i] -= lr * m_hat;
            }
        }
        unrectified += usize::from(rho_t <= 5.0);
        out.push(w.clone());
    }
    (out, unrectified)
}

/// `torch.optim.NAdam`, with `Π_t` multiplied out afresh every step.
fn nadam_ref(lr: f64, (b1, b2): (f64, f64), eps: f64, psi: f64, decay: Decay) -> Vec<Vec<f64>> {
    let (mut w, mut m, mut v) = (W0.to_vec(), vec![0.0; D], vec![0.0; D]);
    let mu = |t: usize| b1 * (1.0 - 0.5 * 0.96f64.powf(t as f64 * psi));
    let mut out = vec![];
    for t in 1..=STEPS {
        let g = decay.apply(lr, &mut w);
        let pi_t: f64 = (1..=t).map(mu).product();
        let pi_next = pi_t * mu(t + 1);
        for i in 0..D {
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            let denom = (v[i] / (1.0 - b2.powf(t as f64))).sqrt() + eps;
            w[i] -= lr * (1.0 - mu(t)) / (1.0 - pi_t) * g[i] / denom + lr * mu(t + 1) / (1.0 - pi_next) * m[i] / denom;
        }
        out.push(w.clone());
    }
    out
}

/// `adabelief-pytorch` 0.2 (`rectify = False`): `S` keeps its `+ε`.
fn adabelief_ref(lr: f64, (b1, b2): (f64, f64), eps: f64, amsgrad: bool, decay: Decay) -> Vec<Vec<f64>> {
    let (mut w, mut m, mut s, mut s_max) = (W0.to_vec(), vec![0.0; D], vec![0.0; D], vec![0.0; D]);
    let mut out = vec![];
    for t in 1..=STEPS {
        let g = decay.apply(lr, &mut w);
        let (bc1, bc2) = (1.0 - b1.powf(t as f64), 1.0 - b2.powf(t as f64));
        for i in 0..D {
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            s[i] = b2 * s[i] + (1.0 - b2) * (g[i] - m[i]).powi(2);
            s[i] += eps;
            let denom = if amsgrad {
                s_max[i] = f64::max(s_max[i], s[i]);
                s_max[i].sqrt() / bc2.sqrt() + eps
            } else {
                s[i].sqrt() / bc2.sqrt() + eps
            };
            w[i] -= lr / bc1 * m[i] / denom;
        }
        out.push(w.clone());
    }
    out
}

/// Lion, Algorithm 2 of Chen et al. (2023).
fn lion_ref(lr: f64, (b1, b2): (f64, f64), lambda: f64) -> Vec<Vec<f64>> {
    let (mut w, mut m) = (W0.to_vec(), vec![0.0; D]);
    let mut out = vec![];
    for _ in 0..STEPS {
        let g = grad(&w);
        for i in 0..D {
            let c = b1 * m[i] + (1.0 - b1) * g[i];
            w[i] -= lr * lambda * w[i];
            w[i] -= lr
                * if c > 0.0 {
                    1.0
                } else if c < 0.0 {
                    -1.0
                } else {
                    0.0
                };
            m[i] = b2 * m[i] + (1.0 - b2) * g[i];
        }
        out.push(w.clone());
    }
    out
}

#[test]
fn radam_matches_torch_form_in_both_branches() {
    for decay in DECAYS {
        for (lr, betas, eps) in [(1e-2, (0.9, 0.999), 1e-8), (3e-2, (0.8, 0.9), 1e-6)] {
            let cfg = OptimConfig::RAdam(RAdamConfig {
                lr,
                betas: [betas.0, betas.1],
                eps,
                weight_decay: decay.config(),
            });
            let (want, unrectified) = radam_ref(lr, betas, eps, decay);
            // Both branches run: the first steps un-rectified, then rectified.
            assert!(unrectified > 0 && unrectified < STEPS, "{unrectified}");
            close(&run(&cfg), &want, "radam");
        }
    }
}

#[test]
fn nadam_matches_torch_form() {
    for decay in DECAYS {
        for (lr, psi) in [(2e-3, 4e-3), (2e-2, 0.0), (1e-2, 0.5)] {
            let cfg = OptimConfig::NAdam(NAdamConfig {
                lr,
                momentum_decay: psi,
                weight_decay: decay.config(),
                ..Default::default()
            });
            close(&run(&cfg), &nadam_ref(lr, (0.9, 0.999), 1e-8, psi, decay), "nadam");
        }
    }
}

#[test]
fn adabelief_matches_the_package_with_and_without_amsgrad() {
    for decay in DECAYS {
        for amsgrad in [false, true] {
            for eps in [1e-16, 1e-3] {
                let cfg = OptimConfig::AdaBelief(AdaBeliefConfig {
                    lr: 1e-2,
                    eps,
                    amsgrad,
                    weight_decay: decay.config(),
                    ..Default::default()
                });
                let want = adabelief_ref(1e-2, (0.9, 0.999), eps, amsgrad, decay);
                close(&run(&cfg), &want, &format!("adabelief amsgrad={amsgrad} eps={eps}"));
            }
        }
    }
}

#[test]
fn lion_matches_algorithm_2() {
    for (lr, lambda) in [(1e-2, 0.0), (3e-2, 0.5)] {
        let cfg = OptimConfig::Lion(LionConfig {
            lr,
            weight_decay: lambda,
            ..Default::default()
        });
        close(&run(&cfg), &lion_ref(lr, (0.9, 0.99), lambda), "lion");
    }
    // Every coordinate moves by exactly η (no decay) while the sign is not 0.
    let w = run(&OptimConfig::Lion(LionConfig {
        lr: 1e-2,
        ..Default::default()
    }));
    assert!((w[0][0] - (W0[0] - 1e-2)).abs() < 1e-15);
}

fn bits(w: &[f64]) -> Vec<u64> {
    w.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn a_state_saved_mid_trajectory_continues_bit_for_bit() {
    let cfgs = [
        OptimConfig::RAdam(RAdamConfig::default()),
        OptimConfig::NAdam(NAdamConfig::default()),
        OptimConfig::AdaBelief(AdaBeliefConfig {
            amsgrad: true,
            ..Default::default()
        }),
        OptimConfig::Lion(LionConfig {
            weight_decay: 0.1,
            ..Default::default()
        }),
    ];
    for cfg in cfgs {
        let mut a = cfg.build::<f64>().unwrap();
        let mut w = W0.to_vec();
        for _ in 0..20 {
            let g = grad(&w);
            a.step(&mut w, &g).unwrap();
        }
        let saved = serde_json::to_string(a.state()).unwrap();
        let mut b = cfg.build::<f64>().unwrap();
        b.load_state(serde_json::from_str(&saved).unwrap()).unwrap();
        let mut w2 = w.clone();
        for _ in 20..STEPS {
            let (g, g2) = (grad(&w), grad(&w2));
            a.step(&mut w, &g).unwrap();
            b.step(&mut w2, &g2).unwrap();
        }
        assert_eq!(bits(&w), bits(&w2), "{}", cfg.name());
    }
}

#[test]
fn bad_hyper_parameters_are_refused_with_the_key() {
    for (toml, key) in [
        ("name = \"lion\"\nbetas = [0.9, 1.0]", "betas"),
        ("name = \"lion\"\nbetas = [-0.1, 0.99]", "betas"),
        ("name = \"lion\"\nweight_decay = -1.0", "weight_decay"),
        ("name = \"nadam\"\nmomentum_decay = -0.004", "momentum_decay"),
        ("name = \"adabelief\"\neps = -1e-16", "eps"),
        ("name = \"radam\"\nlr = 0.0", "lr"),
    ] {
        let cfg: OptimConfig = toml::from_str(toml).unwrap();
        let e = cfg.build::<f64>().unwrap_err().to_string();
        assert!(e.contains(key), "{toml}: {e}");
    }
    assert!(
        toml::from_str::<OptimConfig>("name = \"lion\"\neps = 1e-8").is_err(),
        "Lion has no ε"
    );
}
