//! When to record or call an observer: every `k` steps, log-spaced, or only
//! at the end (the last step of a run, whatever ended it, always counts).

use serde::{Deserialize, Serialize};

/// A recording schedule. In a config: `record = { every = 25 }`,
/// `record = { log_spaced = 20 }` or `record = "end"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// Steps `0, k, 2k, …` (`k ≥ 1`).
    Every(u64),
    /// `k ≥ 1` points per decade of `t + 1`: step 0, and every step `t` at
    /// which `⌊k·log₁₀(t + 1)⌋` increases. Uniform on the log step axis of
    /// the curve figures; the first steps (where the dynamics separate) are
    /// all recorded. About `k·log₁₀(T)` records in `T` steps.
    LogSpaced(u32),
    /// Only the last step.
    End,
}

impl Default for Schedule {
    /// Every 10 steps.
    fn default() -> Self {
        Schedule::Every(10)
    }
}

impl Schedule {
    /// Whether step `t` is on the schedule (the last step of a run always is,
    /// which the driver adds).
    ///
    /// ```
    /// use gengap_train::Schedule;
    /// let on = |s: Schedule| (0..1000u64).filter(|&t| s.fires(t)).collect::<Vec<_>>();
    /// assert_eq!(on(Schedule::Every(250)), [0, 250, 500, 750]);
    /// let log = on(Schedule::LogSpaced(5));
    /// assert_eq!(log, [0, 1, 2, 3, 6, 9, 15, 25, 39, 63, 99, 158, 251, 398, 630, 999]);
    /// ```
    pub fn fires(&self, t: u64) -> bool {
        match *self {
            Schedule::Every(k) => t.is_multiple_of(k.max(1)),
            Schedule::LogSpaced(k) => {
                t == 0 || {
                    let bucket = |x: u64| (k as f64 * (x as f64).log10()).floor() as i64;
                    bucket(t + 1) > bucket(t)
                }
            }
            Schedule::End => false,
        }
    }

    /// The schedule's parameter is valid (`k ≥ 1`).
    pub fn is_valid(&self) -> bool {
        match *self {
            Schedule::Every(k) => k >= 1,
            Schedule::LogSpaced(k) => k >= 1,
            Schedule::End => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_spacing_is_uniform_on_the_log_axis_and_parses_from_toml() {
        let s = Schedule::LogSpaced(20);
        let steps: Vec<u64> = (0..3000).filter(|&t| s.fires(t)).collect();
        // Every one of the first ten steps, then ratios of about 10^(1/20).
        assert_eq!(steps[..10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        let tail: Vec<f64> = steps
            .windows(2)
            .filter(|w| w[0] > 200)
            .map(|w| (w[1] + 1) as f64 / (w[0] + 1) as f64)
            .collect();
        assert!(tail.iter().all(|r| (r - 10f64.powf(0.05)).abs() < 0.02), "{tail:?}");
        assert!(steps.len() < 80, "{}", steps.len());
        #[derive(Deserialize)]
        struct C {
            record: Schedule,
        }
        let p = |t: &str| toml::from_str::<C>(t).map(|c| c.record);
        assert_eq!(p("record = { every = 25 }").unwrap(), Schedule::Every(25));
        assert_eq!(p("record = { log_spaced = 20 }").unwrap(), Schedule::LogSpaced(20));
        assert_eq!(p("record = \"end\"").unwrap(), Schedule::End);
        assert!(p("record = { sometimes = 3 }").is_err());
        assert!(!Schedule::Every(0).is_valid() && !Schedule::LogSpaced(0).is_valid());
    }
}
