//! Phase boundaries read off a grid of mean test errors
//! (`docs/theory.md#claims`): where a row of the grid crosses a threshold,
//! and the power law `y* = e^a·x^b` fitted through the crossings by least
//! squares in log–log coordinates.

/// The first `x` at which `errs` drops from above `thr` to at most `thr` as
/// `x` grows, interpolated linearly between the two grid points — in `ln x`
/// when `log_x` (then every `x` must be positive), in `x` otherwise. `None`
/// when the row never crosses (or a neighbour is not finite).
///
/// ```
/// use gengap_analysis::boundary::crossing;
/// let x = [0.0, 1.0, 2.0, 3.0];
/// let e = [0.5, 0.4, 0.2, 0.0];
/// assert_eq!(crossing(&x, &e, 0.3, false), Some(1.5));
/// assert_eq!(crossing(&x, &e, 0.6, false), None);
/// ```
pub fn crossing(x: &[f64], errs: &[f64], thr: f64, log_x: bool) -> Option<f64> {
    let tf = |v: f64| if log_x { v.ln() } else { v };
    (1..x.len().min(errs.len())).find_map(|i| {
        let (e0, e1) = (errs[i - 1], errs[i]);
        (e0.is_finite() && e1.is_finite() && e0 > thr && e1 <= thr).then(|| {
            let t = (e0 - thr) / (e0 - e1);
            let v = tf(x[i - 1]) + t * (tf(x[i]) - tf(x[i - 1]));
            if log_x { v.exp() } else { v }
        })
    })
}

/// A least-squares line `ln y = intercept + slope·ln x` through points
/// `(x, y)` with `x, y > 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerFit {
    /// `b` of `y = e^a·x^b` (NaN with fewer than two distinct `x`).
    pub slope: f64,
    /// `a`.
    pub intercept: f64,
}

impl PowerFit {
    /// Fit through `points` (non-positive coordinates are skipped).
    ///
    /// ```
    /// use gengap_analysis::boundary::PowerFit;
    /// let pts: Vec<(f64, f64)> = [1.0, 2.0, 4.0].iter().map(|&x: &f64| (x, 3.0 * x.powf(0.25))).collect();
    /// let f = PowerFit::fit(&pts);
    /// assert!((f.slope - 0.25).abs() < 1e-12 && (f.intercept - 3f64.ln()).abs() < 1e-12);
    /// ```
    pub fn fit(points: &[(f64, f64)]) -> PowerFit {
        let pts: Vec<(f64, f64)> = points
            .iter()
            .filter(|(x, y)| *x > 0.0 && *y > 0.0)
            .map(|(x, y)| (x.ln(), y.ln()))
            .collect();
        let k = pts.len() as f64;
        let (mx, my) = (
            pts.iter().map(|p| p.0).sum::<f64>() / k,
            pts.iter().map(|p| p.1).sum::<f64>() / k,
        );
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let slope = if pts.len() >= 2 && sxx > 0.0 {
            sxy / sxx
        } else {
            f64::NAN
        };
        PowerFit {
            slope,
            intercept: my - slope * mx,
        }
    }

    /// `e^a·x^b`.
    pub fn at(&self, x: f64) -> f64 {
        (self.intercept + self.slope * x.ln()).exp()
    }
}

/// `exp(mean(ln v))`: the constant `C` of a boundary `g(x, y*) = C` fitted
/// with the exponents fixed, from `g` at each crossing. NaN when empty.
///
/// ```
/// use gengap_analysis::boundary::geometric_mean;
/// assert!((geometric_mean([2.0, 8.0]) - 4.0).abs() < 1e-12);
/// assert!(geometric_mean(std::iter::empty()).is_nan());
/// ```
pub fn geometric_mean(v: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, k) = v.into_iter().fold((0.0, 0usize), |(s, k), x| (s + x.ln(), k + 1));
    (sum / k as f64).exp()
}

/// The sample standard deviation (`n − 1` in the denominator); NaN for
/// fewer than two values.
pub fn sample_sd(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return f64::NAN;
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A planted boundary `y* = 2·x^{1/4}` is recovered from a grid of
    /// step-like error rows, and log interpolation is exact for a power law.
    #[test]
    fn a_planted_power_law_boundary_is_recovered() {
        let ys: Vec<f64> = (0..400).map(|i| 0.05 * i as f64).collect();
        let pts: Vec<(f64, f64)> = [100.0, 200.0, 400.0, 800.0]
            .iter()
            .map(|&x: &f64| {
                let star = 2.0 * x.powf(0.25);
                // Error falls linearly from 0.5 to 0 across [star − 1, star + 1].
                let errs: Vec<f64> = ys.iter().map(|y| (0.25 - 0.25 * (y - star)).clamp(0.0, 0.5)).collect();
                (x, crossing(&ys, &errs, 0.25, false).unwrap())
            })
            .collect();
        for &(x, c) in &pts {
            assert!((c - 2.0 * x.powf(0.25)).abs() < 1e-9, "{x}: {c}");
        }
        let f = PowerFit::fit(&pts);
        assert!((f.slope - 0.25).abs() < 1e-9 && (f.at(300.0) - 2.0 * 300f64.powf(0.25)).abs() < 1e-8);
        let x = [1.0, 10.0];
        assert!((crossing(&x, &[1.0, 0.0], 0.5, true).unwrap() - 10f64.sqrt()).abs() < 1e-12);
        assert!((sample_sd(&[1.0, 3.0]) - 2f64.sqrt()).abs() < 1e-15 && sample_sd(&[1.0]).is_nan());
    }
}
