//! An activation and a loss written outside the crates (this test crate sees
//! only the public API): the CNN's loss gradient with them agrees with
//! central finite differences of its loss, in both layers of the API
//! (`Cnn::loss_grad` and the `evaluate` it is checked against), and a wrong
//! derivative is caught by the same check.

use gengap_data::{DataConfig, Z23Params, rng};
use gengap_model::{Activation, ActivationFn, Batch, Cnn, CnnConfig, Loss, LossFn, ModelError, OutputScale, Workspace};
use ndarray::Array2;

/// `σ(z) = s·z + (1 − s)·softplus_β(z)`, `softplus_β(z) = log(1 + e^{βz})/β`;
/// `σ′(z) = s + (1 − s)/(1 + e^{−βz})`. With `wrong`, `σ′` is off by 10%.
#[derive(Debug)]
struct SmoothLeaky {
    s: f64,
    beta: f64,
    wrong: bool,
}

impl ActivationFn for SmoothLeaky {
    fn name(&self) -> &str {
        "smooth_leaky_relu"
    }
    fn value(&self, z: f64) -> f64 {
        let bz = self.beta * z;
        self.s * z + (1.0 - self.s) * (bz.max(0.0) + (-bz.abs()).exp().ln_1p()) / self.beta
    }
    fn deriv(&self, z: f64) -> f64 {
        let d = self.s + (1.0 - self.s) / (1.0 + (-self.beta * z).exp());
        if self.wrong { 1.1 * d } else { d }
    }
    fn validate(&self) -> Result<(), ModelError> {
        if (0.0..=1.0).contains(&self.s) && self.beta > 0.0 {
            Ok(())
        } else {
            Err(ModelError::Other(gengap_model::Foreign::msg(format!(
                "smooth_leaky_relu: s = {} must be in [0, 1] and beta = {} > 0",
                self.s, self.beta
            ))))
        }
    }
}

/// The smoothed hinge `ℓ(z) = log(1 + e^{β(1−z)})/β`.
#[derive(Debug)]
struct SoftHinge(f64);

impl LossFn for SoftHinge {
    fn name(&self) -> &str {
        "soft_hinge"
    }
    fn value(&self, z: f64) -> f64 {
        let u = self.0 * (1.0 - z);
        (u.max(0.0) + (-u.abs()).exp().ln_1p()) / self.0
    }
    fn deriv(&self, z: f64) -> f64 {
        -1.0 / (1.0 + (-self.0 * (1.0 - z)).exp())
    }
}

fn batch() -> Batch<f64> {
    let ds = DataConfig::Z23(Z23Params {
        d: 9,
        n: 6,
        n_test: 1,
        s: 6,
        patches: 3,
        ..Default::default()
    })
    .generate(&mut rng::stream(5, 0))
    .unwrap();
    Batch::from_split(&ds.train)
}

/// The relative distance between `∇L` and its central finite differences.
fn fd_error(activation: Activation, loss: Loss) -> f64 {
    let cfg = CnnConfig {
        m: 3,
        activation,
        loss,
        scale: OutputScale::One,
        sigma0: 0.5,
    };
    cfg.validate().unwrap();
    let b = batch();
    let w = cfg.init::<f64, _>(b.d(), &mut rng::stream(5, 1)).unwrap();
    let cnn = Cnn::<f64>::new(&cfg).unwrap();
    let mut ws = Workspace::for_batch(&b, cnn.m);
    let mut loss_at = |w: &Array2<f64>| cnn.evaluate(w, &b, &mut ws).unwrap().loss;
    let mut fd = Array2::<f64>::zeros(w.dim());
    let h = 1e-6;
    for idx in 0..w.len() {
        let (r, c) = (idx / w.ncols(), idx % w.ncols());
        let (mut wp, mut wm) = (w.clone(), w.clone());
        wp[[r, c]] += h;
        wm[[r, c]] -= h;
        fd[[r, c]] = (loss_at(&wp) - loss_at(&wm)) / (2.0 * h);
    }
    let mut ws = Workspace::for_batch(&b, cnn.m);
    let mut g = Array2::zeros(w.dim());
    cnn.loss_grad(&w, &b, &mut ws, &mut g).unwrap();
    assert!(g.iter().any(|v| v.abs() > 1e-4), "the gradient must not vanish");
    (&fd - &g).mapv(|v| v * v).sum().sqrt() / g.mapv(|v| v * v).sum().sqrt()
}

#[test]
fn the_cnn_gradient_with_an_outside_activation_and_loss_matches_finite_differences() {
    let act = || {
        Activation::outside(SmoothLeaky {
            s: 0.1,
            beta: 4.0,
            wrong: false,
        })
    };
    for loss in [Loss::Logistic, Loss::outside(SoftHinge(5.0))] {
        let err = fd_error(act(), loss.clone());
        assert!(err < 1e-7, "{}: relative FD error {err}", loss.name());
    }
    // The same check catches a wrong σ′.
    let wrong = Activation::outside(SmoothLeaky {
        s: 0.1,
        beta: 4.0,
        wrong: true,
    });
    assert!(fd_error(wrong, Loss::Logistic) > 1e-2);
}

#[test]
fn an_outside_activation_checks_itself_and_records_its_name() {
    let bad = CnnConfig {
        activation: Activation::outside(SmoothLeaky {
            s: 2.0,
            beta: 4.0,
            wrong: false,
        }),
        ..Default::default()
    };
    let err = bad.validate().unwrap_err();
    assert!(
        matches!(err, ModelError::Other(_)) && err.to_string().contains("s = 2"),
        "{err}"
    );
    let good = CnnConfig {
        activation: Activation::outside(SmoothLeaky {
            s: 0.1,
            beta: 4.0,
            wrong: false,
        }),
        loss: Loss::outside(SoftHinge(5.0)),
        ..Default::default()
    };
    let json = serde_json::to_string(&good).unwrap();
    assert!(
        json.contains(r#""activation":{"kind":"outside","name":"smooth_leaky_relu"}"#),
        "{json}"
    );
    assert!(json.contains(r#""loss":{"outside":{"name":"soft_hinge"}}"#), "{json}");
    // Set in code, not read back from a config.
    let err = toml::from_str::<CnnConfig>("activation = { kind = \"outside\", name = \"x\" }").unwrap_err();
    assert!(err.to_string().contains("set in code"), "{err}");
}
