//! Stopping a long run from outside: a caller (the Python package's
//! `train`, which must notice Ctrl-C) installs a check for the duration of a
//! call with [`with_interrupt`]; the one driver asks it between steps, at
//! most every [`CHECK_EVERY`], and ends the run with
//! [`TrainError::Interrupted`](crate::TrainError::Interrupted) when it says
//! so. Without a check installed, the driver's question is one thread-local
//! read a step: no allocation, no change to any result.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Set by [`stop_everywhere`]: every driver loop of the process stops.
static STOP_ALL: AtomicBool = AtomicBool::new(false);

/// Ask every driver loop of the process, on any thread, to stop at its next
/// step with [`TrainError::Interrupted`](crate::TrainError::Interrupted):
/// for work whose loops run on worker threads, where a thread's own check
/// ([`with_interrupt`]) is not seen (the cells of a study, on the lab's
/// thread pool; the Python package's `run_study` on Ctrl-C). In force until
/// [`clear_stop`].
pub fn stop_everywhere() {
    STOP_ALL.store(true, Ordering::SeqCst);
}

/// Lift [`stop_everywhere`] (once the interrupted work has returned).
pub fn clear_stop() {
    STOP_ALL.store(false, Ordering::SeqCst);
}

/// Whether [`stop_everywhere`] is in force: a journal does not record a
/// cell that failed while it was (the cell was interrupted, not wrong).
pub fn stopping_everywhere() -> bool {
    STOP_ALL.load(Ordering::Relaxed)
}

/// How often the driver calls an installed check (wall time).
pub const CHECK_EVERY: Duration = Duration::from_millis(50);

struct Hook {
    check: Box<dyn FnMut() -> bool>,
    last: Instant,
}

thread_local! {
    static HOOK: RefCell<Option<Hook>> = const { RefCell::new(None) };
}

/// Run `f` on this thread with `check` installed: every driver loop that
/// runs inside `f` on this thread calls `check` between steps (at most every
/// [`CHECK_EVERY`]) and stops with `TrainError::Interrupted` once it returns
/// `true`. The previous check (if any) is restored afterwards, also when `f`
/// panics.
///
/// ```
/// use gengap_train::{Dynamics, Record, Schedule, Stop, TrainError, drive, interrupt};
/// use gengap_model::Metrics;
/// struct Forever;
/// impl Dynamics for Forever {
///     fn evaluate(&mut self) -> Result<Metrics, TrainError> { Ok(Metrics { loss: 1.0, error: 0.5 }) }
///     fn advance(&mut self) -> Result<(), TrainError> { std::thread::sleep(std::time::Duration::from_millis(1)); Ok(()) }
///     fn record(&mut self, step: u64, train: Metrics) -> Result<Record, TrainError> {
///         Ok(Record { step, train, test: train, grad_norm: 0.0, summary: None, normalized_margin: None })
///     }
/// }
/// let start = std::time::Instant::now();
/// let mut asked = 0;
/// let r = interrupt::with_interrupt(move || { asked += 1; asked >= 2 }, || {
///     drive(&mut Forever, Stop::steps(1_000_000), Schedule::End, &mut [])
/// });
/// assert!(matches!(r, Err(TrainError::Interrupted { .. })));
/// assert!(start.elapsed() < std::time::Duration::from_secs(5));
/// ```
pub fn with_interrupt<R>(check: impl FnMut() -> bool + 'static, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Hook>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            HOOK.with(|h| *h.borrow_mut() = prev);
        }
    }
    let hook = Hook {
        check: Box::new(check),
        last: Instant::now(),
    };
    let _restore = Restore(HOOK.with(|h| h.borrow_mut().replace(hook)));
    f()
}

/// Whether the installed check (if any, and if it is due) asks to stop: what
/// the driver asks between steps, and what a loop that steps a
/// [`Dynamics`](crate::Dynamics) by hand asks too.
pub fn requested() -> bool {
    if stopping_everywhere() {
        return true;
    }
    HOOK.with(|h| {
        let mut h = h.borrow_mut();
        match h.as_mut() {
            Some(hook) if hook.last.elapsed() >= CHECK_EVERY => {
                hook.last = Instant::now();
                (hook.check)()
            }
            _ => false,
        }
    })
}
