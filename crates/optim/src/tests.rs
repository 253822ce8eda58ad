//! Each rule against steps computed independently from the formulas of `docs/theory.md#optimizers`
//! (written here in the textbook form, e.g. `M̂ = M/(1−β₁ᵗ)`, `V̂ = V/(1−β₂ᵗ)`,
//! rather than the fused form of the implementation).

use super::*;

const G: [[f64; 3]; 5] = [
    [0.5, -0.2, 0.0],
    [0.0, 0.3, -1.5],
    [-0.7, 0.0, 2.0],
    [1e-3, -4.0, 0.0],
    [0.25, 0.25, -0.25],
];
const W0: [f64; 3] = [0.3, -1.2, 0.8];

fn run(cfg: &OptimConfig, grads: &[[f64; 3]]) -> Vec<Vec<f64>> {
    let mut opt = cfg.build::<f64>().unwrap();
    let mut w = W0.to_vec();
    grads
        .iter()
        .map(|g| {
            opt.step(&mut w, g).unwrap();
            w.clone()
        })
        .collect()
}

fn close(a: &[Vec<f64>], b: &[Vec<f64>], tol: f64, what: &str) {
    for (t, (x, y)) in a.iter().zip(b).enumerate() {
        for (i, (u, v)) in x.iter().zip(y).enumerate() {
            let rel = (u - v).abs() / v.abs().max(1e-300);
            assert!(
                rel <= tol || (u - v).abs() < 1e-300,
                "{what}: step {} coord {i}: {u} vs {v} (rel {rel:e})",
                t + 1
            );
        }
    }
}

/// Reference implementations, one plain scalar loop per rule, with L2 decay
/// `λ_l2` and decoupled decay `λ_dec` as `docs/theory.md#optimizers` states them.
struct Ref {
    lr: f64,
    b1: f64,
    b2: f64,
    eps: f64,
    l2: f64,
    dec: f64,
}

impl Ref {
    fn grad(&self, w: f64, g: f64) -> f64 {
        g + self.l2 * w
    }
    fn sgdm(&self, mu: f64, nesterov: bool) -> Vec<Vec<f64>> {
        let mut w = W0.to_vec();
        let mut b = [0.0; 3];
        let mut out = vec![];
        for g in G {
            for i in 0..3 {
                let gi = self.grad(w[i], g[i]);
                w[i] *= 1.0 - self.lr * self.dec;
                b[i] = mu * b[i] + gi;
                let d = if nesterov { gi + mu * b[i] } else { b[i] };
                w[i] -= self.lr * d;
            }
            out.push(w.clone());
        }
        out
    }
    /// Adam family: `kind` ∈ {seed, torch, ams, padam(p, ams), yogi(v0), adabound(final, gamma)}.
    fn adam(&self, kind: &str, p: f64, ams: bool, extra: (f64, f64)) -> Vec<Vec<f64>> {
        let mut w = W0.to_vec();
        let v_init = if kind == "yogi" { extra.0 } else { 0.0 };
        let (mut m, mut v, mut vmax) = ([0.0; 3], [v_init; 3], [0.0f64; 3]);
        let mut out = vec![];
        for (k, g) in G.iter().enumerate() {
            let t = (k + 1) as f64;
            let bc1 = 1.0 - self.b1.powf(t);
            let bc2 = 1.0 - self.b2.powf(t);
            for i in 0..3 {
                let gi = self.grad(w[i], g[i]);
                w[i] -= self.lr * self.dec * w[i];
                m[i] = self.b1 * m[i] + (1.0 - self.b1) * gi;
                if kind == "yogi" {
                    let s = (v[i] - gi * gi).signum() * if v[i] == gi * gi { 0.0 } else { 1.0 };
                    v[i] -= (1.0 - self.b2) * s * gi * gi;
                } else {
                    v[i] = self.b2 * v[i] + (1.0 - self.b2) * gi * gi;
                }
                vmax[i] = vmax[i].max(v[i]);
                let vh = if ams { vmax[i] } else { v[i] };
                w[i] -= match kind {
                    "seed" => self.lr * m[i] / (v[i].sqrt() + self.eps),
                    "torch" => self.lr * (m[i] / bc1) / ((vh / bc2).sqrt() + self.eps),
                    "padam" => self.lr * (bc2.sqrt() / bc1) * m[i] / (vh.sqrt() + self.eps).powf(2.0 * p),
                    "yogi" => self.lr * (bc2.sqrt() / bc1) * m[i] / (v[i].sqrt() + self.eps),
                    "adabound" => {
                        let (fl, gamma) = extra;
                        let raw = self.lr * bc2.sqrt() / bc1 / (v[i].sqrt() + self.eps);
                        let lo = fl * (1.0 - 1.0 / (gamma * t + 1.0));
                        let hi = fl * (1.0 + 1.0 / (gamma * t));
                        raw.clamp(lo, hi) * m[i]
                    }
                    _ => unreachable!(),
                };
            }
            out.push(w.clone());
        }
        out
    }
}

fn wd_of(r: &Ref) -> WeightDecay {
    if r.l2 > 0.0 {
        WeightDecay::L2 { lambda: r.l2 }
    } else if r.dec > 0.0 {
        WeightDecay::Decoupled { lambda: r.dec }
    } else {
        WeightDecay::None
    }
}

fn refs() -> Vec<Ref> {
    let base = Ref {
        lr: 0.05,
        b1: 0.9,
        b2: 0.99,
        eps: 1e-8,
        l2: 0.0,
        dec: 0.0,
    };
    vec![
        base,
        Ref { l2: 0.1, ..base },
        Ref { dec: 0.2, ..base },
        Ref {
            lr: 0.3,
            b1: 0.5,
            b2: 0.7,
            eps: 1e-3,
            ..base
        },
    ]
}

impl Clone for Ref {
    fn clone(&self) -> Self {
        *self
    }
}
impl Copy for Ref {}

#[test]
fn gd_sign_gd_and_sgd_momentum_match_reference() {
    for r in refs() {
        let wd = wd_of(&r);
        // GD is SGD-M with μ = 0.
        close(
            &run(
                &OptimConfig::Gd(GdConfig {
                    lr: r.lr,
                    weight_decay: wd,
                }),
                &G,
            ),
            &r.sgdm(0.0, false),
            1e-12,
            "gd",
        );
        for nesterov in [false, true] {
            let cfg = OptimConfig::SgdMomentum(SgdMomentumConfig {
                lr: r.lr,
                momentum: 0.8,
                nesterov,
                weight_decay: wd,
            });
            close(&run(&cfg, &G), &r.sgdm(0.8, nesterov), 1e-12, "sgdm");
        }
    }
    // signGD by hand: W0 = (0.3, −1.2, 0.8), η = 0.1; sign(0) = 0.
    let out = run(
        &OptimConfig::SignGd(GdConfig {
            lr: 0.1,
            weight_decay: WeightDecay::None,
        }),
        &G[..3],
    );
    close(
        &out,
        &[vec![0.2, -1.1, 0.8], vec![0.2, -1.2, 0.9], vec![0.3, -1.2, 0.8]],
        1e-12,
        "sign_gd",
    );
}

#[test]
fn adam_family_matches_reference() {
    for r in refs() {
        let wd = wd_of(&r);
        let ac = AdamConfig {
            lr: r.lr,
            betas: [r.b1, r.b2],
            eps: r.eps,
            weight_decay: wd,
        };
        close(
            &run(&OptimConfig::AdamSeed(ac.clone()), &G),
            &r.adam("seed", 0.0, false, (0.0, 0.0)),
            1e-12,
            "adam_seed",
        );
        close(
            &run(&OptimConfig::Adam(ac.clone()), &G),
            &r.adam("torch", 0.0, false, (0.0, 0.0)),
            1e-12,
            "adam",
        );
        close(
            &run(&OptimConfig::AmsGrad(ac.clone()), &G),
            &r.adam("torch", 0.0, true, (0.0, 0.0)),
            1e-12,
            "amsgrad",
        );
        for p in [-0.25, 0.0, 0.125, 0.5, 1.0] {
            for amsgrad in [true, false] {
                let cfg = OptimConfig::Padam(PadamConfig {
                    lr: r.lr,
                    betas: [r.b1, r.b2],
                    eps: r.eps,
                    p,
                    amsgrad,
                    weight_decay: wd,
                });
                close(&run(&cfg, &G), &r.adam("padam", p, amsgrad, (0.0, 0.0)), 1e-12, "padam");
            }
        }
        let yc = YogiConfig {
            lr: r.lr,
            betas: [r.b1, r.b2],
            eps: r.eps,
            v0: 1e-6,
            weight_decay: wd,
        };
        close(
            &run(&OptimConfig::Yogi(yc), &G),
            &r.adam("yogi", 0.0, false, (1e-6, 0.0)),
            1e-12,
            "yogi",
        );
        for (fl, gamma) in [(0.1, 1e-3), (0.02, 0.5)] {
            let bc = AdaBoundConfig {
                lr: r.lr,
                betas: [r.b1, r.b2],
                eps: r.eps,
                final_lr: fl,
                gamma,
                weight_decay: wd,
            };
            close(
                &run(&OptimConfig::AdaBound(bc), &G),
                &r.adam("adabound", 0.0, false, (fl, gamma)),
                1e-12,
                "adabound",
            );
        }
    }
    // AdamW is Adam with decoupled decay.
    let r = Ref {
        lr: 0.05,
        b1: 0.9,
        b2: 0.99,
        eps: 1e-8,
        l2: 0.0,
        dec: 0.3,
    };
    let cfg = OptimConfig::AdamW(AdamWConfig {
        lr: 0.05,
        betas: [0.9, 0.99],
        eps: 1e-8,
        weight_decay: 0.3,
    });
    close(&run(&cfg, &G), &r.adam("torch", 0.0, false, (0.0, 0.0)), 1e-12, "adamw");
}

#[test]
fn first_steps_by_hand() {
    // Adam seed form, ε = 0, one step of g: M = (1−β₁)g, V = (1−β₂)g²,
    // Δ = η(1−β₁)/√(1−β₂)·sign(g) = 0.1·0.1/√0.001 = √0.1.
    let cfg = OptimConfig::AdamSeed(AdamConfig {
        lr: 0.1,
        betas: [0.9, 0.999],
        eps: 0.0,
        weight_decay: WeightDecay::None,
    });
    let out = run(&cfg, &G[..1]);
    assert!((out[0][0] - (0.3 - 0.1f64.sqrt())).abs() < 1e-15);
    assert!((out[0][1] - (-1.2 + 0.1f64.sqrt())).abs() < 1e-15);
    assert_eq!(out[0][2], 0.8);
    // PyTorch Adam, one step: M̂ = g, V̂ = g², Δ = η·g/(|g| + ε).
    let cfg = OptimConfig::Adam(AdamConfig {
        lr: 0.1,
        betas: [0.9, 0.999],
        eps: 1e-8,
        weight_decay: WeightDecay::None,
    });
    let out = run(&cfg, &G[..1]);
    assert!((out[0][0] - (0.3 - 0.1 * 0.5 / (0.5 + 1e-8))).abs() < 1e-15);
    // Yogi, one step from V₀ = 1e-6 with g = 0.5 (g² > V₀):
    // V = 1e-6 + 0.001·0.25 = 0.000251, M = 0.05, Δ = η √0.001/0.1 · 0.05/(√V + ε).
    let cfg = OptimConfig::Yogi(YogiConfig {
        lr: 0.1,
        betas: [0.9, 0.999],
        eps: 1e-3,
        v0: 1e-6,
        weight_decay: WeightDecay::None,
    });
    let out = run(&cfg, &G[..1]);
    let expect = 0.3 - 0.1 * 0.001f64.sqrt() / 0.1 * 0.05 / (0.000251f64.sqrt() + 1e-3);
    assert!((out[0][0] - expect).abs() < 1e-15);
    // AdaBound with γ = 1 at t = 1: bounds [final/2, 2·final]; a huge raw step is clipped to 2·final.
    let cfg = OptimConfig::AdaBound(AdaBoundConfig {
        lr: 10.0,
        betas: [0.9, 0.999],
        eps: 1e-8,
        final_lr: 0.1,
        gamma: 1.0,
        weight_decay: WeightDecay::None,
    });
    let out = run(&cfg, &G[..1]);
    assert!((out[0][0] - (0.3 - 0.2 * 0.05)).abs() < 1e-15, "{}", out[0][0]);
}

#[test]
fn padam_half_with_zero_eps_is_amsgrad_and_adam() {
    for amsgrad in [true, false] {
        let pc = PadamConfig {
            lr: 0.05,
            betas: [0.9, 0.99],
            eps: 0.0,
            p: 0.5,
            amsgrad,
            weight_decay: WeightDecay::None,
        };
        let ac = AdamConfig {
            lr: 0.05,
            betas: [0.9, 0.99],
            eps: 0.0,
            weight_decay: WeightDecay::None,
        };
        let other = if amsgrad {
            OptimConfig::AmsGrad(ac)
        } else {
            OptimConfig::Adam(ac)
        };
        close(
            &run(&OptimConfig::Padam(pc), &G),
            &run(&other, &G),
            1e-14,
            "padam(1/2) vs amsgrad/adam",
        );
    }
}

#[test]
fn padam_half_with_eps_differs_only_where_eps_enters() {
    // One step from a common state: Padam's Δ = η(√bc2/bc1) M/(√V̂ + ε), PyTorch's
    // Δ = η(√bc2/bc1) M/(√V̂ + ε√bc2). So Δ_padam/Δ_torch = (√V̂ + ε√bc2)/(√V̂ + ε).
    let eps = 1e-2;
    let pc = PadamConfig {
        lr: 0.05,
        betas: [0.9, 0.99],
        eps,
        p: 0.5,
        amsgrad: true,
        weight_decay: WeightDecay::None,
    };
    let ac = AdamConfig {
        lr: 0.05,
        betas: [0.9, 0.99],
        eps,
        weight_decay: WeightDecay::None,
    };
    let mut pad = Padam::new::<f64>(pc).unwrap();
    let mut ams = AmsGrad::new::<f64>(ac).unwrap();
    let mut w1 = W0.to_vec();
    let mut w2 = W0.to_vec();
    for (k, g) in G.iter().enumerate() {
        let (a0, b0) = (w1.clone(), w2.clone());
        pad.step(&mut w1, g).unwrap();
        ams.step(&mut w2, g).unwrap();
        let bc2 = 1.0 - 0.99f64.powi(k as i32 + 1);
        for i in 0..3 {
            let (dp, dt) = (a0[i] - w1[i], b0[i] - w2[i]);
            let Buffers::AmsGrad { v_max, .. } = &ams.state().buffers else {
                panic!("AMSGrad keeps a running max")
            };
            let sv = v_max[i].sqrt();
            if dt == 0.0 {
                assert_eq!(dp, 0.0);
                continue;
            }
            let want = (sv + eps * bc2.sqrt()) / (sv + eps);
            assert!(
                (dp / dt - want).abs() < 1e-12,
                "t={} i={i}: {} vs {want}",
                k + 1,
                dp / dt
            );
            // Bias correction makes √bc2 < 1 matter: the two really differ.
            if k == 0 && sv > 0.0 {
                assert!((dp / dt - 1.0).abs() > 1e-4);
            }
        }
        // Both keep identical moment states: they differ only in the step.
        w2.clone_from(&w1);
    }
}

#[test]
fn padam_zero_is_bias_corrected_ema_momentum() {
    let (b1, lr) = (0.9, 0.05);
    let pc = PadamConfig {
        lr,
        betas: [b1, 0.99],
        eps: 1e-8,
        p: 0.0,
        amsgrad: true,
        weight_decay: WeightDecay::None,
    };
    let out = run(&OptimConfig::Padam(pc), &G);
    let mut w = W0.to_vec();
    let mut m = [0.0; 3];
    for (k, g) in G.iter().enumerate() {
        let t = (k + 1) as f64;
        let factor = (1.0 - 0.99f64.powf(t)).sqrt() / (1.0 - b1.powf(t));
        for i in 0..3 {
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            w[i] -= lr * factor * m[i];
        }
        close(&out[k..k + 1], std::slice::from_ref(&w), 1e-12, "padam(0)");
    }
}

#[test]
fn adam_with_tiny_lr_on_constant_gradient_is_sign_descent() {
    let g = [[3.0, -0.002, 7e-5]; 1];
    for (cfg, tol) in [
        (
            OptimConfig::Adam(AdamConfig {
                lr: 1e-6,
                betas: [0.9, 0.999],
                eps: 1e-12,
                weight_decay: WeightDecay::None,
            }),
            1e-6,
        ),
        (
            OptimConfig::AdamSeed(AdamConfig {
                lr: 1e-6,
                betas: [0.9, 0.999],
                eps: 1e-12,
                weight_decay: WeightDecay::None,
            }),
            0.02,
        ),
    ] {
        let mut opt = cfg.build::<f64>().unwrap();
        let mut w = W0.to_vec();
        for _ in 0..5000 {
            let prev = w.clone();
            opt.step(&mut w, &g[0]).unwrap();
            for i in 0..3 {
                let d = (prev[i] - w[i]) / 1e-6;
                assert!(d * g[0][i].signum() > 0.0, "every step moves along -sign(g)");
            }
        }
        let prev = w.clone();
        opt.step(&mut w, &g[0]).unwrap();
        for i in 0..3 {
            let per_step = (prev[i] - w[i]) / 1e-6;
            assert!(
                (per_step - g[0][i].signum()).abs() < tol,
                "{}: step {per_step}",
                opt.name()
            );
        }
    }
}

#[test]
fn adamw_and_adam_l2_differ() {
    let ac = AdamConfig {
        lr: 0.05,
        betas: [0.9, 0.99],
        eps: 1e-8,
        weight_decay: WeightDecay::L2 { lambda: 0.3 },
    };
    let wc = AdamWConfig {
        lr: 0.05,
        betas: [0.9, 0.99],
        eps: 1e-8,
        weight_decay: 0.3,
    };
    let a = run(&OptimConfig::Adam(ac), &G);
    let b = run(&OptimConfig::AdamW(wc), &G);
    // Coordinate 2 at step 1 has g = 0: Adam+L2 moves by η·sign(λw) (normalized), AdamW by ηλw.
    let d_l2 = W0[2] - a[0][2];
    let d_w = W0[2] - b[0][2];
    assert!((d_l2 - 0.05 * 0.3 * 0.8 / (0.3 * 0.8 + 1e-8)).abs() < 1e-12);
    assert!((d_w - 0.05 * 0.3 * 0.8).abs() < 1e-15);
    assert!((d_l2 - d_w).abs() > 0.01);
}

#[test]
fn state_round_trip_gives_identical_next_step() {
    let cfgs: Vec<OptimConfig> = vec![
        toml::from_str("name = \"sgd_momentum\"\nlr = 0.1\nnesterov = true").unwrap(),
        toml::from_str("name = \"adam\"\nlr = 0.01").unwrap(),
        toml::from_str("name = \"amsgrad\"").unwrap(),
        toml::from_str("name = \"yogi\"").unwrap(),
        toml::from_str("name = \"adabound\"").unwrap(),
        toml::from_str("name = \"padam\"\np = 0.3").unwrap(),
    ];
    for cfg in cfgs {
        for f32_too in [false, true] {
            if f32_too {
                let mut a = cfg.build::<f32>().unwrap();
                let mut w: Vec<f32> = W0.iter().map(|&v| v as f32).collect();
                let gs: Vec<Vec<f32>> = G.iter().map(|g| g.iter().map(|&v| v as f32).collect()).collect();
                for g in &gs[..3] {
                    a.step(&mut w, g).unwrap();
                }
                let saved = serde_json::to_string(a.state()).unwrap();
                let mut b = cfg.build::<f32>().unwrap();
                b.load_state(serde_json::from_str(&saved).unwrap()).unwrap();
                let mut w2 = w.clone();
                a.step(&mut w, &gs[3]).unwrap();
                b.step(&mut w2, &gs[3]).unwrap();
                assert_eq!(
                    w.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    w2.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                );
                continue;
            }
            let mut a = cfg.build::<f64>().unwrap();
            let mut w = W0.to_vec();
            for g in &G[..3] {
                a.step(&mut w, g).unwrap();
            }
            let saved = serde_json::to_string(a.state()).unwrap();
            let mut b = cfg.build::<f64>().unwrap();
            b.load_state(serde_json::from_str(&saved).unwrap()).unwrap();
            assert_eq!(a.state(), b.state());
            let mut w2 = w.clone();
            for g in &G[3..] {
                a.step(&mut w, g).unwrap();
                b.step(&mut w2, g).unwrap();
            }
            assert_eq!(
                w.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                w2.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn no_nan_at_zero_gradient() {
    let names = [
        "gd",
        "sgd_momentum",
        "sign_gd",
        "adam_seed",
        "adam",
        "amsgrad",
        "adamw",
        "yogi",
        "adabound",
        "padam",
    ];
    for name in names {
        for eps in ["", "\neps = 0.0"] {
            let lr = if matches!(name, "gd" | "sgd_momentum" | "sign_gd") {
                "\nlr = 0.1"
            } else {
                ""
            };
            let src = format!("name = \"{name}\"{lr}{}", if lr.is_empty() { eps } else { "" });
            let cfg: OptimConfig = toml::from_str(&src).unwrap_or_else(|e| panic!("{src}: {e}"));
            let mut o = cfg.build::<f64>().unwrap();
            let mut w = W0.to_vec();
            for _ in 0..3 {
                o.step(&mut w, &[0.0; 3]).unwrap();
            }
            assert!(w.iter().all(|v| v.is_finite()), "{src}: {w:?}");
        }
    }
}

#[test]
fn toml_tables_build_every_optimizer_and_reject_bad_input() {
    let cfg: OptimConfig = toml::from_str(
        "name = \"padam\"\nlr = 0.1\nbetas = [0.9, 0.999]\np = 0.125\nweight_decay = { kind = \"l2\", lambda = 1e-4 }",
    )
    .unwrap();
    let h = cfg.resolve().unwrap();
    assert_eq!(h.weight_decay(), WeightDecay::L2 { lambda: 1e-4 });
    assert_eq!(
        h.rule(),
        Rule::Padam {
            p: 0.125,
            amsgrad: true
        }
    );
    assert!(cfg.warnings().is_empty());
    let neg: OptimConfig = toml::from_str("name = \"padam\"\np = -0.25").unwrap();
    assert_eq!(neg.warnings().len(), 1);
    assert!(neg.build::<f64>().is_ok());
    let field = |src: &str| match toml::from_str::<OptimConfig>(src)
        .map_err(|e| e.to_string())
        .and_then(|c| c.resolve().map_err(|e| e.to_string()))
    {
        Ok(_) => "ok".to_string(),
        Err(e) => e,
    };
    assert!(field("name = \"adam\"\nlr = -1.0").contains("`lr` = -1.0"));
    assert!(field("name = \"adam\"\nlr = nan").contains("`lr`"));
    assert!(field("name = \"adam\"\nbetas = [1.0, 0.9]").contains("betas[0]"));
    assert!(field("name = \"adam\"\nbetas = [0.9, -0.1]").contains("betas[1]"));
    assert!(field("name = \"adam\"\neps = -1e-8").contains("`eps`"));
    assert!(field("name = \"sgd_momentum\"\nlr = 0.1\nmomentum = 1.0").contains("momentum"));
    assert!(field("name = \"adabound\"\ngamma = 0.0").contains("gamma"));
    assert!(field("name = \"adabound\"\nfinal_lr = -1.0").contains("final_lr"));
    assert!(field("name = \"yogi\"\nv0 = -1.0").contains("v0"));
    assert!(field("name = \"padam\"\np = inf").contains("`p`"));
    assert!(field("name = \"adamw\"\nweight_decay = -0.1").contains("weight_decay"));
    assert!(field("name = \"adam\"\nweight_decay = { kind = \"l2\", lambda = -1.0 }").contains("lambda"));
    assert!(field("name = \"adam\"\nlearning_rate = 0.1").contains("learning_rate"));
    assert!(field("name = \"adam\"\nweight_decay = { kind = \"l2\", lamda = 1.0 }").contains("lamda"));
    assert!(field("name = \"rmsprop\"").contains("rmsprop"));
    assert!(field("name = \"gd\"").contains("lr"));
    let mut o = Gd::new::<f64>(GdConfig {
        lr: 0.1,
        weight_decay: WeightDecay::None,
    })
    .unwrap();
    assert!(matches!(
        o.step(&mut [0.0; 2], &[0.0; 3]),
        Err(OptimError::Length { .. })
    ));
}

/// An optimizer cannot be built with invalid hyper-parameters, and cannot be
/// given a state that does not fit its rule.
#[test]
fn invalid_optimizers_and_states_are_refused() {
    // Building: NaN lr, β = 1, ε < 0, and each rule's own parameters.
    for (cfg, key) in [
        (OptimConfig::adam(f64::NAN), "lr"),
        (OptimConfig::gd(-1.0), "lr"),
        (
            OptimConfig::Adam(AdamConfig {
                betas: [0.9, 1.0],
                ..Default::default()
            }),
            "betas[1]",
        ),
        (
            OptimConfig::Adam(AdamConfig {
                eps: -1.0,
                ..Default::default()
            }),
            "eps",
        ),
        (OptimConfig::sgd_momentum(0.1, 1.0), "momentum"),
        (OptimConfig::padam(0.1, f64::INFINITY), "p"),
        (OptimConfig::adamw(1e-3, f64::NAN), "weight_decay.lambda"),
        (OptimConfig::adabound(1e-3, 0.0), "final_lr"),
    ] {
        match cfg.build::<f64>() {
            Err(OptimError::InvalidParam { field, .. }) => assert_eq!(field, key, "{cfg:?}"),
            other => panic!("{cfg:?} must be refused, got {other:?}"),
        }
    }
    // Deserializing a Hyper runs the same checks.
    let good = serde_json::to_string(OptimConfig::adam(1e-3).build::<f64>().unwrap().hyper()).unwrap();
    assert!(serde_json::from_str::<Hyper>(&good).is_ok());
    let bad = good.replace("0.999", "1.0");
    assert!(serde_json::from_str::<Hyper>(&bad).is_err(), "{bad}");
    // Setting a learning rate is checked too, and leaves η unchanged on error.
    let mut o = OptimConfig::adam(1e-3).build::<f64>().unwrap();
    assert!(o.set_learning_rate(f64::NAN).is_err());
    assert_eq!(o.learning_rate(), 1e-3);
    o.set_learning_rate(2e-3).unwrap();
    assert_eq!(o.learning_rate(), 2e-3);

    // Restoring: a state of the wrong family, of unequal lengths, with t
    // inconsistent with the buffers, or with a negative second moment.
    let mut adam = OptimConfig::adam(1e-3).build::<f64>().unwrap();
    let mut w = vec![1.0, 2.0, 3.0];
    adam.step(&mut w, &[0.1, 0.2, 0.3]).unwrap();
    let good = adam.state().clone();
    let mut fresh = OptimConfig::adam(1e-3).build::<f64>().unwrap();
    fresh.load_state(good.clone()).unwrap();
    let wrong_family = OptState {
        t: 1,
        buffers: Buffers::Momentum { b: vec![0.0; 3] },
    };
    let short = OptState {
        t: 1,
        buffers: Buffers::Adam {
            m: vec![0.0; 3],
            v: vec![0.0; 2],
        },
    };
    let t_zero = OptState { t: 0, ..good.clone() };
    let no_buffers = OptState {
        t: 5,
        buffers: Buffers::Adam { m: vec![], v: vec![] },
    };
    let negative = OptState {
        t: 1,
        buffers: Buffers::Adam {
            m: vec![0.0; 3],
            v: vec![0.1, -0.1, 0.1],
        },
    };
    for bad in [wrong_family, short, t_zero, no_buffers, negative] {
        let before = fresh.state().clone();
        assert!(fresh.load_state(bad.clone()).is_err(), "{bad:?} must be refused");
        assert_eq!(fresh.state(), &before, "a refused state changes nothing");
    }
    // AMSGrad needs the running max; Adam must not have one.
    let mut ams = OptimConfig::amsgrad(1e-3).build::<f64>().unwrap();
    assert!(ams.load_state(good).is_err());
    // A state of the right shape but another length fails on the next step.
    let mut other = OptimConfig::adam(1e-3).build::<f64>().unwrap();
    other.load_state(adam.state().clone()).unwrap();
    assert!(other.step(&mut [0.0; 4], &[0.0; 4]).is_err());
}

#[test]
fn one_spelling_per_optimizer_and_the_former_ones_still_load() {
    // Every name reads back as the variant that writes it.
    for name in OptimConfig::NAMES {
        let cfg: OptimConfig = toml::from_str(&format!("name = \"{name}\"\nlr = 0.1")).unwrap();
        assert_eq!(cfg.name(), *name);
        let text = serde_json::to_string(&cfg).unwrap();
        assert!(text.contains(&format!("\"name\":\"{name}\"")), "{text}");
    }
    let alias: OptimConfig = toml::from_str("name = \"sgdm\"\nlr = 0.1\nmomentum = 0.9").unwrap();
    assert_eq!(alias.name(), "sgd_momentum");
    // The variant, the named constructor and the config struct share the identifier.
    let a = crate::AdaBound::new::<f64>(crate::AdaBoundConfig::default()).unwrap();
    let b = OptimConfig::AdaBound(crate::AdaBoundConfig::default())
        .build::<f64>()
        .unwrap();
    assert_eq!(a.hyper(), b.hyper());
    // The AMSGrad buffers: written `amsgrad`, as the config says; `ams_grad` still read.
    let mut opt = OptimConfig::amsgrad(0.1).build::<f64>().unwrap();
    opt.step(&mut [1.0, 2.0], &[0.5, -0.5]).unwrap();
    let text = serde_json::to_string(opt.state()).unwrap();
    assert!(text.contains("\"kind\":\"amsgrad\""), "{text}");
    let old: crate::OptState<f64> = serde_json::from_str(&text.replace("\"amsgrad\"", "\"ams_grad\"")).unwrap();
    assert_eq!(&old, opt.state());
    // Typed buffer names: a negative second moment is caught by kind, not by string.
    let mut bad = opt.state().clone();
    if let crate::Buffers::AmsGrad { v_max, .. } = &mut bad.buffers {
        v_max[0] = -1.0;
    }
    let e = opt.load_state(bad).unwrap_err().to_string();
    assert!(e.contains("`v_max` has a negative entry"), "{e}");
}
