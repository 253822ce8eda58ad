//! The reduced engine on data the user brings (`Dataset::from_arrays`):
//! with its latent parts it is the generated data set's problem, one patch
//! per sample included; without them it is refused, saying why.

use gengap_analysis::SpanProblem;
use gengap_data::{Dataset, ModerateDParams, Split, UserSplit, Z23Params, rng};
use gengap_model::CnnConfig;

fn user(s: &Split, latents: bool) -> UserSplit {
    UserSplit {
        x: s.x.clone(),
        y: s.y.clone(),
        noise: latents.then(|| s.noise.clone()),
        signal_patch: latents.then(|| s.signal_patch.clone()),
        noise_patches: latents.then(|| s.noise_patches.clone()),
    }
}

#[test]
fn user_data_with_latent_parts_sets_up_the_same_problem_and_without_them_is_refused() {
    let mut r = rng::stream(5, 0);
    for g in [
        Z23Params {
            d: 40,
            n: 6,
            n_test: 4,
            s: 5,
            ..Default::default()
        }
        .generate(&mut r)
        .unwrap(),
        // One patch per sample, its noise in the signal patch.
        ModerateDParams {
            d: 12,
            n: 6,
            n_test: 4,
            ..Default::default()
        }
        .generate(&mut r)
        .unwrap(),
    ] {
        let model = CnnConfig {
            m: 2,
            ..Default::default()
        };
        let w0 = model.init::<f64, _>(g.train.d(), &mut rng::stream(5, 1)).unwrap();
        let theirs = SpanProblem::new(&g, &model, w0.view()).unwrap();
        let own = Dataset::from_arrays(user(&g.train, true), user(&g.test, true), Some(g.signal.clone())).unwrap();
        let ours = SpanProblem::new(&own, &model, w0.view()).unwrap();
        assert_eq!(format!("{ours:?}"), format!("{theirs:?}"));
        let bare = Dataset::from_arrays(user(&g.train, false), user(&g.test, false), None).unwrap();
        let e = SpanProblem::new(&bare, &model, w0.view()).unwrap_err().to_string();
        assert!(
            e.contains("without latent parts") && e.contains("Dataset::from_arrays"),
            "{e}"
        );
    }
}

#[test]
fn one_patch_data_whose_noise_is_not_given_is_refused_naming_the_patch_and_the_fix() {
    let g = ModerateDParams {
        d: 12,
        n: 6,
        n_test: 4,
        ..Default::default()
    }
    .generate(&mut rng::stream(6, 0))
    .unwrap();
    // The signal given, but each sample's noise (in its one patch) left out.
    let no_noise = |s: &Split| UserSplit {
        x: s.x.clone(),
        y: s.y.clone(),
        noise: Some(ndarray::Array3::zeros((s.n(), 0, s.d()))),
        signal_patch: Some(s.signal_patch.clone()),
        noise_patches: None,
    };
    let ds = Dataset::from_arrays(no_noise(&g.train), no_noise(&g.test), Some(g.signal.clone())).unwrap();
    let model = CnnConfig {
        m: 2,
        ..Default::default()
    };
    let w0 = model.init::<f64, _>(g.train.d(), &mut rng::stream(6, 1)).unwrap();
    let e = SpanProblem::new(&ds, &model, w0.view()).unwrap_err().to_string();
    assert!(e.contains("patch 0 of training sample "), "{e}");
    assert!(e.contains("1 patches and 0 noise vectors per sample"), "{e}");
    assert!(e.contains("one noise vector per sample, in patch 0"), "{e}");
}
