//! Choosing among runs: the learning-rate selection rule every sweep uses.
//!
//! Among runs of one optimizer that differ only in the learning rate, the
//! sweeps keep the run with the lowest final training loss. Selection never
//! looks at test data; a diverged run (or one whose final training loss is
//! not finite) never wins while another run of its group trains; ties go to
//! the smaller learning rate. [`best_per_group`] applies the rule to every
//! group of a sweep's rows at once, whatever order the cells ran or were
//! listed in.

use crate::{RunRecord, Status};

/// The final training loss that competes in the selection: `None` for a
/// diverged run, a run without records, or a non-finite loss.
fn competing_loss(r: &RunRecord) -> Option<f64> {
    if r.status == Status::Diverged {
        return None;
    }
    r.last().map(|l| l.train.loss).filter(|l| l.is_finite())
}

/// The index of the run with the lowest final training loss among `runs`
/// (diverged runs never win; ties go to the earlier run); `None` when no run
/// competes. [`best_per_group`] is the order-independent form the sweeps use.
pub fn best_by_train_loss(runs: &[&RunRecord]) -> Option<usize> {
    runs.iter()
        .enumerate()
        .filter_map(|(i, r)| competing_loss(r).map(|l| (i, l)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// The selection rule applied to every group of `rows`: for each group key
/// (`group`; `None` leaves a row out, e.g. the seeds after the first), the
/// row whose run (`run`) has the lowest final training loss, ties going to
/// the smaller learning rate (`lr`); when no run of the group competes (every
/// one diverged), the row with the smallest learning rate, which the sweep
/// then reports as diverged. Groups come in the order their first row
/// appears; the row chosen within a group does not depend on the order of
/// `rows`.
///
/// ```
/// use gengap_model::Metrics;
/// use gengap_train::{Record, RunRecord, Status, best_per_group};
///
/// let run = |loss: f64, status| RunRecord {
///     status,
///     steps: 10,
///     records: vec![Record {
///         step: 10,
///         train: Metrics { loss, error: 0.0 },
///         test: Metrics { loss: f64::NAN, error: f64::NAN },
///         grad_norm: 1.0,
///         summary: None,
///         normalized_margin: None,
///     }],
/// };
/// // (optimizer, lr, run)
/// let rows = vec![
///     ("adam", 1e-2, run(0.3, Status::MaxSteps)),
///     ("adam", 1e-1, run(f64::NAN, Status::Diverged)),
///     ("gd", 1e-1, run(0.2, Status::MaxSteps)),
///     ("adam", 1e-3, run(0.1, Status::MaxSteps)),
///     ("gd", 1e-2, run(0.2, Status::MaxSteps)),
/// ];
/// let best = best_per_group(&rows, |r| Some(r.0), |r| r.1, |r| &r.2);
/// assert_eq!(best.len(), 2);
/// assert_eq!((best[0].0, best[0].1.1), ("adam", 1e-3));
/// assert_eq!((best[1].0, best[1].1.1), ("gd", 1e-2)); // a tie: the smaller lr
/// ```
pub fn best_per_group<'a, T, K: PartialEq>(
    rows: &'a [T],
    group: impl Fn(&T) -> Option<K>,
    lr: impl Fn(&T) -> f64,
    run: impl Fn(&T) -> &RunRecord,
) -> Vec<(K, &'a T)> {
    // Per group: the best competing row (loss, lr) and the smallest-lr row.
    struct Best<'a, K, T> {
        key: K,
        competing: Option<(f64, f64, &'a T)>,
        smallest: (f64, &'a T),
    }
    let mut groups: Vec<Best<'a, K, T>> = Vec::new();
    for row in rows {
        let Some(key) = group(row) else { continue };
        let (eta, loss) = (lr(row), competing_loss(run(row)));
        let slot = match groups.iter().position(|g| g.key == key) {
            Some(i) => &mut groups[i],
            None => {
                groups.push(Best {
                    key,
                    competing: None,
                    smallest: (eta, row),
                });
                groups.last_mut().expect("just pushed")
            }
        };
        if eta.total_cmp(&slot.smallest.0).is_lt() {
            slot.smallest = (eta, row);
        }
        if let Some(loss) = loss {
            let better = slot
                .competing
                .is_none_or(|(l, e, _)| loss.total_cmp(&l).then(eta.total_cmp(&e)).is_lt());
            if better {
                slot.competing = Some((loss, eta, row));
            }
        }
    }
    groups
        .into_iter()
        .map(|g| (g.key, g.competing.map_or(g.smallest.1, |c| c.2)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Record;
    use gengap_model::Metrics;

    fn run(loss: f64, status: Status) -> RunRecord {
        RunRecord {
            status,
            steps: 1,
            records: vec![Record {
                step: 1,
                train: Metrics { loss, error: 0.0 },
                test: Metrics {
                    loss: f64::NAN,
                    error: f64::NAN,
                },
                grad_norm: 1.0,
                summary: None,
                normalized_margin: None,
            }],
        }
    }

    /// Every permutation of the rows picks the same row per group.
    #[test]
    fn the_choice_does_not_depend_on_row_order() {
        let rows = [
            (0, 0.1, run(0.5, Status::MaxSteps)),
            (0, 0.01, run(0.5, Status::MaxSteps)),
            (0, 1.0, run(0.2, Status::Diverged)),
            (1, 0.1, run(f64::NAN, Status::Diverged)),
            (1, 0.3, run(0.0, Status::Diverged)),
            (2, 0.5, run(0.3, Status::Converged)),
            (2, 0.05, run(0.4, Status::MaxSteps)),
        ];
        let pick = |rows: &[(u8, f64, RunRecord)]| -> Vec<(u8, f64)> {
            let mut v: Vec<(u8, f64)> = best_per_group(rows, |r| Some(r.0), |r| r.1, |r| &r.2)
                .into_iter()
                .map(|(k, r)| (k, r.1))
                .collect();
            v.sort_by_key(|a| a.0);
            v
        };
        // Group 0: a tie at 0.5 goes to the smaller lr (the diverged 0.2 never
        // wins); group 1: every run diverged, the smallest lr; group 2: the
        // lower loss.
        let expected = vec![(0, 0.01), (1, 0.1), (2, 0.5)];
        let mut order: Vec<usize> = (0..rows.len()).collect();
        for shift in 0..rows.len() {
            order.rotate_left(1);
            let mut permuted: Vec<(u8, f64, RunRecord)> = order.iter().map(|&i| rows[i].clone()).collect();
            assert_eq!(pick(&permuted), expected, "rotation {shift}");
            permuted.reverse();
            assert_eq!(pick(&permuted), expected, "reversed rotation {shift}");
        }
    }

    #[test]
    fn rows_without_a_group_are_left_out() {
        let rows = vec![
            (0, 0.1, run(0.5, Status::MaxSteps)),
            (1, 0.1, run(0.1, Status::MaxSteps)),
        ];
        let best = best_per_group(&rows, |r| (r.0 == 0).then_some("first"), |r| r.1, |r| &r.2);
        assert_eq!(best.len(), 1);
        assert_eq!(best[0].1.0, 0);
    }
}
