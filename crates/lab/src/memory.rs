//! Memory estimates from a config, checked before anything runs.
//!
//! An absurd size (`d = 1e13`) must end with one line naming the key, its
//! value, the estimated bytes and the memory available — not with an
//! allocation failure (SIGABRT) after the journal has been created. Every
//! experiment config estimates the peak memory of its run from its sizes
//! ([`crate::Validate::memory`]); the experiment shell compares
//! it with [`available_bytes`] right after validation, before any file is
//! written. The estimates are upper bounds of the arrays a run holds at once
//! (data set, weights, optimizer state, GEMM workspaces, decomposition
//! basis), in `f64`; they ignore small fixed costs. Where an estimate cannot
//! be exact, the large arrays are also allocated fallibly
//! (`gengap_data::DataError::Alloc`), so a wrong guess still ends in a
//! one-line error rather than an abort.

use gengap_data::DataConfig;
use gengap_model::CnnConfig;

/// Bytes of one `f64`.
const F64: u128 = 8;

/// A run's estimated peak memory, and the config key that drives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// The config key (e.g. `data.d`) whose value dominates the estimate.
    pub key: String,
    /// Its value, as written in the config.
    pub value: String,
    /// Estimated peak bytes (u128: absurd sizes must not overflow).
    pub bytes: u128,
}

impl MemoryEstimate {
    /// The larger of two estimates' bytes, keeping its key; `self` and
    /// `other` are alternatives that never run at once.
    pub fn max(self, other: MemoryEstimate) -> MemoryEstimate {
        if other.bytes > self.bytes { other } else { self }
    }

    /// Add `other`'s bytes (both are held at once); the key of the larger part is kept.
    pub fn plus(self, other: MemoryEstimate) -> MemoryEstimate {
        let bytes = self.bytes.saturating_add(other.bytes);
        let mut big = if other.bytes > self.bytes { other } else { self };
        big.bytes = bytes;
        big
    }

    /// `k` copies held at once (e.g. one per parallel cell).
    pub fn times(mut self, k: usize) -> MemoryEstimate {
        self.bytes = self.bytes.saturating_mul(k as u128);
        self
    }

    /// `k` copies at once, where `k` is the config value `key` (e.g.
    /// `seeds`): the estimate then names `key` when `k` is larger than the
    /// value it named (the same rule as for the sizes: the largest value
    /// is the one to change), so `seeds = 1e12` is blamed on `seeds`, not on
    /// `data.d = 200`.
    ///
    /// ```
    /// use gengap_lab::memory::MemoryEstimate;
    /// let e = MemoryEstimate { key: "data.d".into(), value: "200".into(), bytes: 1000 };
    /// let many = e.clone().times_by("seeds", 1_000_000_000_000);
    /// assert_eq!((many.key.as_str(), many.value.as_str()), ("seeds", "1000000000000"));
    /// assert_eq!(many.bytes, 1000 * 1_000_000_000_000);
    /// assert_eq!(e.times_by("seeds", 3).key, "data.d");
    /// ```
    pub fn times_by(self, key: &str, k: usize) -> MemoryEstimate {
        let named: u128 = self.value.parse().unwrap_or(0);
        let mut e = self.times(k);
        if k as u128 > named {
            e.key = key.to_string();
            e.value = k.to_string();
        }
        e
    }

    /// Prefix the key with a table name (`data.d` → `tasks.c22.data.d`).
    pub fn under(mut self, prefix: &str) -> MemoryEstimate {
        self.key = format!("{prefix}.{}", self.key);
        self
    }
}

/// Human-readable bytes (`12.0 GB`, decimal units).
pub fn human(bytes: u128) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// Memory this process may still use: the smaller of the kernel's
/// `MemAvailable` and the room left under a cgroup (v2) memory limit.
/// `None` where neither can be read (then no check is made).
pub fn available_bytes() -> Option<u128> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("MemAvailable:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u128>().ok())
            .map(|kb| kb * 1024)
    });
    let read_num = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|s| s.trim().parse::<u128>().ok())
    };
    let cgroup = match (
        read_num("/sys/fs/cgroup/memory.max"),
        read_num("/sys/fs/cgroup/memory.current"),
    ) {
        (Some(max), Some(cur)) => Some(max.saturating_sub(cur)),
        _ => None,
    };
    match (meminfo, cgroup) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Errors of the memory check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemoryError {
    /// The estimate exceeds what is available.
    #[error(
        "`{key}` = {value}: the run needs an estimated {need} of memory, but only {avail} is available; reduce `{key}`",
        need = human(*.bytes),
        avail = human(*.available)
    )]
    TooLarge {
        /// The dominating key.
        key: String,
        /// Its value.
        value: String,
        /// Estimated bytes.
        bytes: u128,
        /// Available bytes.
        available: u128,
    },
}

/// Refuse an estimate larger than `available` bytes.
pub fn check_against(est: &MemoryEstimate, available: u128) -> Result<(), MemoryError> {
    if est.bytes > available {
        return Err(MemoryError::TooLarge {
            key: est.key.clone(),
            value: est.value.clone(),
            bytes: est.bytes,
            available,
        });
    }
    Ok(())
}

/// Refuse an estimate larger than [`available_bytes`] (no check where that is unknown).
pub fn check(est: &MemoryEstimate) -> Result<(), MemoryError> {
    match available_bytes() {
        Some(avail) => check_against(est, avail),
        None => Ok(()),
    }
}

/// The sizes of a data config: `(d, n, n_test, patches)` and the key of each.
fn sizes(data: &DataConfig) -> [(&'static str, u128); 4] {
    [
        ("d", data.d() as u128),
        ("n", data.n() as u128),
        ("n_test", data.n_test() as u128),
        ("patches", data.patches() as u128),
    ]
}

/// The key with the largest value among `keys` (the one to name).
fn dominant(prefix: &str, keys: &[(&'static str, u128)]) -> (String, String) {
    let (k, v) = keys.iter().copied().max_by_key(|&(_, v)| v).expect("at least one key");
    (format!("{prefix}{k}"), v.to_string())
}

/// A data set of `data`: inputs `(n + n_test)·P·d` and noise vectors
/// `(n + n_test)·K·d` (`K = P − 1` noise vectors per sample, 1 for the
/// single-vector model), plus one more input-sized copy made while generating.
pub fn dataset(data: &DataConfig) -> MemoryEstimate {
    let s = sizes(data);
    let [(_, d), (_, n), (_, nt), (_, p)] = s;
    let samples = n.saturating_add(nt);
    let noise = if matches!(data, DataConfig::ModerateD(_)) {
        1
    } else {
        p.saturating_sub(1)
    };
    let per_sample = d.saturating_mul(p.saturating_mul(2).saturating_add(noise));
    let (key, value) = dominant("data.", &s);
    MemoryEstimate {
        key,
        value,
        bytes: F64.saturating_mul(samples).saturating_mul(per_sample),
    }
}

/// One training run on a data set of `data` (the data set itself not
/// included): weights, gradient, up to four optimizer buffers and the initial
/// weights (`8·2m·d`), the GEMM workspaces of the training and test splits
/// (`4·(n + n_test)·P·2m`), and with `decompose` the signal–noise basis and
/// its factorisation (`3·(n·(P−1) + 2m + 2)·d`).
pub fn training(data: &DataConfig, model: &CnnConfig, decompose: bool) -> MemoryEstimate {
    let s = sizes(data);
    let [(_, d), (_, n), (_, nt), (_, p)] = s;
    let m2 = (model.m as u128).saturating_mul(2);
    let weights = 8u128.saturating_mul(m2).saturating_mul(d);
    let work = 4u128
        .saturating_mul(n.saturating_add(nt))
        .saturating_mul(p)
        .saturating_mul(m2);
    let basis = if decompose {
        3u128
            .saturating_mul(
                n.saturating_mul(p.saturating_sub(1))
                    .saturating_add(m2)
                    .saturating_add(2),
            )
            .saturating_mul(d)
    } else {
        0
    };
    let mut keys = s.to_vec();
    keys.push(("m", model.m as u128));
    let (key, value) = dominant("", &keys);
    let key = if key == "m" {
        "model.m".to_string()
    } else {
        format!("data.{key}")
    };
    MemoryEstimate {
        key,
        value,
        bytes: F64.saturating_mul(weights.saturating_add(work).saturating_add(basis)),
    }
}

/// One run that generates its own data set and trains on it.
pub fn run(data: &DataConfig, model: &CnnConfig, decompose: bool) -> MemoryEstimate {
    dataset(data).plus(training(data, model, decompose))
}

/// A sweep whose runs share one data set: the data set once, one training
/// run per parallel cell.
pub fn shared_dataset_sweep(data: &DataConfig, model: &CnnConfig, decompose: bool) -> MemoryEstimate {
    dataset(data).plus(training(data, model, decompose).times(parallel_cells()))
}

/// The number of cells a parallel sweep runs at once.
pub fn parallel_cells() -> usize {
    rayon::current_num_threads().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c22(d: usize, n: usize) -> DataConfig {
        toml::from_str(&format!(
            "model = \"c22\"\nd = {d}\nn = {n}\nn_test = 100\nmu_norm = 1.0\nsigma_p = 1.0"
        ))
        .unwrap()
    }

    #[test]
    fn estimates_scale_with_the_sizes_and_name_the_dominant_key() {
        let model = CnnConfig::default();
        let small = run(&c22(1000, 20), &model, true);
        assert!(small.bytes > 8 * 120 * 2 * 1000, "{small:?}");
        assert!(small.bytes < 50_000_000, "a small run is small: {small:?}");
        let huge = run(&c22(10_000_000_000_000, 20), &model, true);
        assert_eq!(huge.key, "data.d");
        assert_eq!(huge.value, "10000000000000");
        assert!(huge.bytes > 80_000_000_000_000);
        let e = check_against(&huge, 24_000_000_000).unwrap_err().to_string();
        assert!(
            e.contains("`data.d` = 10000000000000") && e.contains("PB") && e.contains("24.0 GB"),
            "{e}"
        );
        assert!(check_against(&small, 24_000_000_000).is_ok());
        assert_eq!(run(&c22(100, 1_000_000_000_000), &model, false).key, "data.n");
        assert!(available_bytes().is_some_and(|b| b > 0));
        assert_eq!(human(999), "999 B");
        assert_eq!(human(80_000_000_000_000), "80.0 TB");
    }
}
