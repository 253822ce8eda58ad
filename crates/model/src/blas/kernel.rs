//! Choosing OpenBLAS's kernel family before it matters.
//!
//! OpenBLAS reads `OPENBLAS_CORETYPE` once, when the library initialises
//! (before `main`), so the only robust way to change the kernel of a running
//! program is to set the variable and re-execute the program once. That is
//! what [`select_kernel`] does; it never overrides a user's
//! `OPENBLAS_CORETYPE` and never picks a kernel the CPU cannot run.

use std::fmt;
use std::str::FromStr;

use super::blas_kernel;

/// The environment variable OpenBLAS reads at start-up.
const CORETYPE: &str = "OPENBLAS_CORETYPE";
/// Set (to the policy's name) when [`select_kernel`] re-executed the program:
/// tells the new process the kernel was gengap's choice, and stops a loop.
const MARKER: &str = "GENGAP_BLAS_KERNEL_SELECTED";
/// The policy's environment variable, read by [`select_kernel_from_env`].
pub const POLICY_ENV: &str = "GENGAP_BLAS_KERNEL";

/// The OpenBLAS kernel families gengap may ask for, lowest instruction set first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kernel {
    /// AVX (Sandy Bridge).
    Sandybridge,
    /// AVX2 + FMA (Haswell, and every x86-64 CPU since about 2013–2015,
    /// AMD Zen included): the portable kernel.
    Haswell,
    /// AVX-512 F/DQ/BW/VL (Skylake-SP and later).
    SkylakeX,
    /// AVX-512 with BF16 (Cooper Lake, Sapphire Rapids, Zen 4).
    Cooperlake,
}

impl Kernel {
    /// The value `OPENBLAS_CORETYPE` takes for it.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Sandybridge => "Sandybridge",
            Kernel::Haswell => "Haswell",
            Kernel::SkylakeX => "SkylakeX",
            Kernel::Cooperlake => "Cooperlake",
        }
    }

    /// The instruction-set level: 1 AVX, 2 AVX2 + FMA, 3 AVX-512.
    pub fn level(self) -> u8 {
        match self {
            Kernel::Sandybridge => 1,
            Kernel::Haswell => 2,
            Kernel::SkylakeX | Kernel::Cooperlake => 3,
        }
    }
}

/// The instruction-set level of an OpenBLAS core name (as
/// `openblas_get_corename` returns it): 0 for the SSE-only generic kernels
/// (`Prescott`, `Core2`, `Nehalem`, …), 1 AVX, 2 AVX2, 3 AVX-512.
pub(crate) fn level_of(corename: &str) -> u8 {
    match corename.to_ascii_lowercase().as_str() {
        "skylakex" | "cooperlake" | "sapphirerapids" => 3,
        "haswell" | "zen" => 2,
        "sandybridge" | "bulldozer" | "piledriver" | "steamroller" | "excavator" => 1,
        _ => 0,
    }
}

/// The kernels this CPU (and its operating system) can run, lowest first;
/// empty off x86-64.
pub fn cpu_kernels() -> Vec<Kernel> {
    #[allow(unused_mut)]
    let mut out = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx") {
            out.push(Kernel::Sandybridge);
        }
        if has!("avx2") && has!("fma") {
            out.push(Kernel::Haswell);
            if has!("avx512f") && has!("avx512dq") && has!("avx512bw") && has!("avx512vl") {
                out.push(Kernel::SkylakeX);
                if has!("avx512bf16") {
                    out.push(Kernel::Cooperlake);
                }
            }
        }
    }
    out
}

/// Which kernel gengap asks OpenBLAS for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KernelPolicy {
    /// `Haswell` on every CPU that runs it (AVX2 + FMA), so that results are
    /// bit-identical across such machines; OpenBLAS's own choice elsewhere.
    /// The default (`docs/performance.md` says why).
    #[default]
    Portable,
    /// The best kernel the CPU runs, when OpenBLAS's own choice is of a lower
    /// instruction-set level (e.g. `SkylakeX` where it fell back to
    /// `Prescott`); never a downgrade. Fastest, but the last bits of results
    /// then depend on the machine.
    Fastest,
    /// Whatever OpenBLAS detects.
    OpenBlas,
}

impl KernelPolicy {
    /// The policy's name (`portable`, `fastest`, `openblas`).
    pub fn name(self) -> &'static str {
        match self {
            KernelPolicy::Portable => "portable",
            KernelPolicy::Fastest => "fastest",
            KernelPolicy::OpenBlas => "openblas",
        }
    }

    /// The kernel to ask for, given the one OpenBLAS runs and those the CPU
    /// runs (lowest first); `None` to keep the running one.
    ///
    /// ```
    /// use gengap_model::{Kernel, KernelPolicy};
    /// let avx512 = [Kernel::Sandybridge, Kernel::Haswell, Kernel::SkylakeX];
    /// assert_eq!(KernelPolicy::Portable.target("Prescott", &avx512), Some(Kernel::Haswell));
    /// assert_eq!(KernelPolicy::Fastest.target("Prescott", &avx512), Some(Kernel::SkylakeX));
    /// assert_eq!(KernelPolicy::Fastest.target("Zen", &avx512[..2]), None); // never a downgrade
    /// assert_eq!(KernelPolicy::OpenBlas.target("Prescott", &avx512), None);
    /// ```
    pub fn target(self, running: &str, cpu: &[Kernel]) -> Option<Kernel> {
        match self {
            KernelPolicy::OpenBlas => None,
            KernelPolicy::Portable => {
                (cpu.contains(&Kernel::Haswell) && !running.eq_ignore_ascii_case("haswell")).then_some(Kernel::Haswell)
            }
            KernelPolicy::Fastest => {
                let best = *cpu.iter().max()?;
                (best.level() > level_of(running)).then_some(best)
            }
        }
    }
}

impl fmt::Display for KernelPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KernelPolicy {
    type Err = BlasError;
    fn from_str(s: &str) -> Result<Self, BlasError> {
        match s {
            "portable" => Ok(KernelPolicy::Portable),
            "fastest" => Ok(KernelPolicy::Fastest),
            "openblas" => Ok(KernelPolicy::OpenBlas),
            _ => Err(BlasError::UnknownPolicy { value: s.to_string() }),
        }
    }
}

/// Errors of [`select_kernel`].
#[derive(Debug, thiserror::Error)]
pub enum BlasError {
    /// Not one of `portable`, `fastest`, `openblas`.
    #[error("unknown BLAS kernel policy `{value}`: expected portable, fastest or openblas")]
    UnknownPolicy {
        /// What was given.
        value: String,
    },
    /// Re-executing the program with the new `OPENBLAS_CORETYPE` failed.
    #[error("could not re-execute the program to select the OpenBLAS kernel {kernel}: {source}")]
    Exec {
        /// The kernel asked for.
        kernel: &'static str,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// The kernel that runs after [`select_kernel`], and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelChoice {
    /// OpenBLAS's own choice, kept (the policy asked for nothing else).
    Detected(String),
    /// The kernel the policy asked for, after the one re-execution.
    Selected(String),
    /// The user's `OPENBLAS_CORETYPE`, left alone.
    User(String),
    /// The program was re-executed but OpenBLAS still runs another kernel
    /// (a build without `DYNAMIC_ARCH` ignores `OPENBLAS_CORETYPE`).
    Ignored {
        /// The kernel asked for.
        wanted: String,
        /// The kernel that runs.
        running: String,
    },
}

/// Who chose the running kernel, for [`super::BlasInfo::chosen_by`].
pub(crate) fn chosen_by() -> String {
    who_chose(
        std::env::var(CORETYPE).ok().as_deref(),
        std::env::var(MARKER).ok().as_deref(),
        &blas_kernel(),
    )
}

/// `gengap:<policy>` or `user` when the running kernel is the one
/// `OPENBLAS_CORETYPE` names; `openblas` when it is unset, or when OpenBLAS
/// did not honour it (an unknown name such as `bogus` falls back to its own
/// detection, which must not be recorded as the user's choice).
fn who_chose(coretype: Option<&str>, policy: Option<&str>, running: &str) -> String {
    match (coretype, policy) {
        (Some(c), _) if !c.eq_ignore_ascii_case(running) => {
            format!("openblas (OPENBLAS_CORETYPE={c} not honoured)")
        }
        (Some(_), Some(policy)) => format!("gengap:{policy}"),
        (Some(_), None) => "user".into(),
        (None, _) => "openblas".into(),
    }
}

/// Make OpenBLAS run the kernel `policy` asks for: when it differs from the
/// running one (and the user has not set `OPENBLAS_CORETYPE`), set
/// `OPENBLAS_CORETYPE` and re-execute this program once with the same
/// arguments, so that **this call does not return** in that case. Call it
/// first thing in `main`, before any work or output. The experiment binaries
/// call it (through `gengap-lab`) with the policy of `GENGAP_BLAS_KERNEL`.
///
/// ```no_run
/// use gengap_model::{KernelPolicy, select_kernel};
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let choice = select_kernel(KernelPolicy::Portable)?; // may re-execute
///     println!("{choice:?}");
///     Ok(())
/// }
/// ```
pub fn select_kernel(policy: KernelPolicy) -> Result<KernelChoice, BlasError> {
    let running = blas_kernel();
    if std::env::var_os(MARKER).is_some() {
        // The re-executed process: report whether OpenBLAS honoured the variable.
        let wanted = std::env::var(CORETYPE).unwrap_or_default();
        return Ok(if running.eq_ignore_ascii_case(&wanted) {
            KernelChoice::Selected(running)
        } else {
            KernelChoice::Ignored { wanted, running }
        });
    }
    if let Ok(wanted) = std::env::var(CORETYPE) {
        // The user's value is left alone; a name OpenBLAS did not honour is
        // reported as such, not as the user's kernel.
        return Ok(if running.eq_ignore_ascii_case(&wanted) {
            KernelChoice::User(running)
        } else {
            KernelChoice::Ignored { wanted, running }
        });
    }
    let Some(kernel) = policy.target(&running, &cpu_kernels()) else {
        return Ok(KernelChoice::Detected(running));
    };
    reexec(kernel, policy)
}

/// [`select_kernel`] with the policy named by `GENGAP_BLAS_KERNEL`
/// (`portable` when unset).
pub fn select_kernel_from_env() -> Result<KernelChoice, BlasError> {
    let policy = match std::env::var(POLICY_ENV) {
        Ok(s) => s.parse()?,
        Err(_) => KernelPolicy::default(),
    };
    select_kernel(policy)
}

#[cfg(unix)]
fn reexec(kernel: Kernel, policy: KernelPolicy) -> Result<KernelChoice, BlasError> {
    use std::os::unix::process::CommandExt;
    let err = |source| BlasError::Exec {
        kernel: kernel.name(),
        source,
    };
    let exe = std::env::current_exe().map_err(err)?;
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    let source = std::process::Command::new(&exe)
        .arg0(arg0)
        .args(args)
        .env(CORETYPE, kernel.name())
        .env(MARKER, policy.name())
        .exec();
    Err(err(source))
}

#[cfg(not(unix))]
fn reexec(_: Kernel, _: KernelPolicy) -> Result<KernelChoice, BlasError> {
    Ok(KernelChoice::Detected(blas_kernel()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_coretype_openblas_did_not_honour_is_not_recorded_as_chosen() {
        assert_eq!(who_chose(None, None, "Haswell"), "openblas");
        assert_eq!(who_chose(Some("Haswell"), None, "Haswell"), "user");
        assert_eq!(
            who_chose(Some("haswell"), Some("portable"), "Haswell"),
            "gengap:portable"
        );
        assert_eq!(
            who_chose(Some("bogus"), None, "Cooperlake"),
            "openblas (OPENBLAS_CORETYPE=bogus not honoured)"
        );
        assert_eq!(
            who_chose(Some("Haswell"), Some("portable"), "Cooperlake"),
            "openblas (OPENBLAS_CORETYPE=Haswell not honoured)"
        );
    }

    #[test]
    fn levels_and_targets() {
        assert_eq!(level_of("Prescott"), 0);
        assert_eq!(level_of("ZEN"), 2);
        assert_eq!(level_of("SkylakeX"), 3);
        let avx2 = [Kernel::Sandybridge, Kernel::Haswell];
        // Portable pins Haswell wherever the CPU runs it, also over Zen and SkylakeX.
        assert_eq!(KernelPolicy::Portable.target("Zen", &avx2), Some(Kernel::Haswell));
        assert_eq!(KernelPolicy::Portable.target("haswell", &avx2), None);
        // Never a kernel the CPU lacks.
        assert_eq!(KernelPolicy::Portable.target("Prescott", &[Kernel::Sandybridge]), None);
        assert_eq!(KernelPolicy::Fastest.target("Prescott", &[]), None);
        assert_eq!(KernelPolicy::Fastest.target("Prescott", &avx2), Some(Kernel::Haswell));
        let bf16 = [
            Kernel::Sandybridge,
            Kernel::Haswell,
            Kernel::SkylakeX,
            Kernel::Cooperlake,
        ];
        assert_eq!(KernelPolicy::Fastest.target("Haswell", &bf16), Some(Kernel::Cooperlake));
        assert_eq!(KernelPolicy::Fastest.target("SkylakeX", &bf16), None);
        assert!(
            "bogus"
                .parse::<KernelPolicy>()
                .unwrap_err()
                .to_string()
                .contains("bogus")
        );
        for p in [KernelPolicy::Portable, KernelPolicy::Fastest, KernelPolicy::OpenBlas] {
            assert_eq!(p.name().parse::<KernelPolicy>().unwrap(), p);
        }
    }

    #[test]
    fn the_cpu_list_is_ordered_and_runnable() {
        let k = cpu_kernels();
        assert!(k.windows(2).all(|w| w[0] < w[1]));
        // Every kernel listed has the features it needs (checked again here).
        #[cfg(target_arch = "x86_64")]
        if k.contains(&Kernel::Haswell) {
            assert!(std::arch::is_x86_feature_detected!("avx2"));
        }
    }
}
