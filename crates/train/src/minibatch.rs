//! Mini-batch training (`[train] batch = { size = B, drop_last = false }`):
//! each epoch visits the training samples in a fresh uniformly random order
//! drawn from the run's own stream, `B` at a time; the optimizer steps on the
//! gradient of the batch's mean loss, `∇(1/|S_t|)·Σ_{i∈S_t} ℓ(y_i f(W, x_i))`.
//! The last, partial batch of an epoch is kept (`drop_last = false`, the
//! default) or skipped. `B = n` is full-batch training, bit for bit: no order
//! is drawn, since any order of the whole set is the whole set.
//!
//! The recorded (and stopping-rule) loss and errors are always those of the
//! whole training set (`docs/theory.md#training-to-a-stopping-rule`).

use gengap_data::rng;
use gengap_model::{Batch, Real, Workspace};
use ndarray::Array2;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::TrainError;

/// The `batch` key of `[train]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MiniBatch {
    /// Batch size `B`, `1 ≤ B ≤ n` (`B = n`: full batch).
    pub size: usize,
    /// Skip the last batch of an epoch when it has fewer than `B` samples.
    #[serde(default)]
    pub drop_last: bool,
}

impl MiniBatch {
    /// Batches of a fraction `f` of the `n` samples, the last one kept:
    /// `B = round(f·n)`, clamped to `1..=n`.
    pub fn fraction_of(f: f64, n: usize) -> Self {
        MiniBatch {
            size: ((f * n as f64).round() as usize).clamp(1, n),
            drop_last: false,
        }
    }

    /// Check `1 ≤ B ≤ n`.
    pub fn validate(&self, n: usize) -> Result<(), TrainError> {
        if self.size == 0 || self.size > n {
            return Err(TrainError::InvalidParam {
                field: "batch.size",
                value: self.size.to_string(),
                reason: "must be >= 1 and <= n, the number of training samples",
            });
        }
        Ok(())
    }

    /// Whether this is the whole training set (full-batch training).
    pub fn is_full(&self, n: usize) -> bool {
        self.size >= n
    }

    /// Steps per epoch on `n` samples.
    pub fn steps_per_epoch(&self, n: usize) -> usize {
        if self.drop_last {
            n / self.size
        } else {
            n.div_ceil(self.size)
        }
    }
}

/// The streams of a run, drawn from the cell's `rng` in one fixed order by
/// both spaces' trainers: first (mini-batch with `B < n`) the batch cursor's
/// stream, then (an algorithm that draws) the algorithm's stream; one
/// `ChaCha8Rng::from_rng` draw each. A full-batch run of a deterministic
/// algorithm draws nothing, so its cell stream is left as it was.
pub(crate) fn run_streams<R: rand::Rng + ?Sized>(
    rng: &mut R,
    batch: Option<MiniBatch>,
    n: usize,
    algorithm_draws: bool,
) -> (Option<BatchCursor>, Option<ChaCha8Rng>) {
    use rand::SeedableRng;
    let cursor = batch
        .filter(|mb| !mb.is_full(n))
        .map(|_| BatchCursor::new(ChaCha8Rng::from_rng(rng)));
    let algo = algorithm_draws.then(|| ChaCha8Rng::from_rng(rng));
    (cursor, algo)
}

/// Where a run is in its epochs: its stream, the current epoch's order and
/// the batch last drawn (`order[start..end]`). Serializable, as part of a
/// [`crate::Checkpoint`]: a run resumed from it draws the same batches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchCursor {
    rng: ChaCha8Rng,
    order: Vec<usize>,
    start: usize,
    end: usize,
    epoch: u64,
}

impl BatchCursor {
    /// A cursor before the first epoch, drawing from `rng`.
    pub fn new(rng: ChaCha8Rng) -> Self {
        BatchCursor {
            rng,
            order: vec![],
            start: 0,
            end: 0,
            epoch: 0,
        }
    }

    /// Move to the next batch of `n` samples (a new epoch, with a fresh order,
    /// when the current one is used up) and return its sample indices.
    pub fn advance(&mut self, n: usize, mb: MiniBatch) -> &[usize] {
        let left = self.order.len() - self.end;
        if left == 0 || (mb.drop_last && left < mb.size) {
            rng::permutation_into(&mut self.rng, &mut self.order, n);
            self.end = 0;
            self.epoch += 1;
        }
        self.start = self.end;
        self.end = (self.start + mb.size).min(n);
        self.current()
    }

    /// The sample indices of the batch last drawn.
    pub fn current(&self) -> &[usize] {
        &self.order[self.start..self.end]
    }

    /// Epochs begun (1 during the first).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }
}

/// The buffers of mini-batch training: a batch of `B` samples and, when the
/// last batch of an epoch is shorter, one of that size; filled by copying
/// rows, so a step allocates nothing.
pub(crate) struct Batches<T> {
    pub(crate) mb: MiniBatch,
    pub(crate) cursor: BatchCursor,
    full: (Batch<T>, Workspace<T>),
    tail: Option<(Batch<T>, Workspace<T>)>,
    /// `∇L_S` on the whole training set at the last recorded step (for `‖∇L_S‖_F`).
    pub(crate) grad_all: Array2<T>,
    /// The first evaluation after a resume uses the batch the checkpoint had drawn.
    pub(crate) reuse: bool,
}

impl<T: Real> Batches<T> {
    pub(crate) fn new(train: &Batch<T>, m: usize, mb: MiniBatch, cursor: BatchCursor, w_dim: (usize, usize)) -> Self {
        let (n, p, d) = (train.n(), train.patches, train.d());
        let make = |b: usize| {
            let batch = Batch {
                x: Array2::zeros((b * p, d)),
                y: ndarray::Array1::zeros(b),
                patches: p,
            };
            let ws = Workspace::for_batch(&batch, m);
            (batch, ws)
        };
        let r = n % mb.size;
        Batches {
            mb,
            cursor,
            full: make(mb.size),
            tail: (r > 0 && !mb.drop_last).then(|| make(r)),
            grad_all: Array2::zeros(w_dim),
            reuse: false,
        }
    }

    /// Draw the next batch (or, right after a resume, take the drawn one)
    /// and copy its samples out of `train`; returns the filled batch.
    pub(crate) fn fill(&mut self, train: &Batch<T>) -> (&Batch<T>, &mut Workspace<T>) {
        let n = train.n();
        if !std::mem::take(&mut self.reuse) {
            self.cursor.advance(n, self.mb);
        }
        let idx = self.cursor.current();
        let (batch, ws) = if idx.len() == self.mb.size {
            (&mut self.full.0, &mut self.full.1)
        } else {
            let t = self.tail.as_mut().expect("a short batch only when the tail is kept");
            (&mut t.0, &mut t.1)
        };
        let p = train.patches;
        for (k, &i) in idx.iter().enumerate() {
            batch
                .x
                .slice_mut(ndarray::s![k * p..(k + 1) * p, ..])
                .assign(&train.x.slice(ndarray::s![i * p..(i + 1) * p, ..]));
            batch.y[k] = train.y[i];
        }
        (&*batch, ws)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_epoch_is_a_permutation_in_batches() {
        for (n, size, drop_last) in [
            (10, 3, false),
            (10, 3, true),
            (12, 4, false),
            (7, 7, false),
            (5, 1, true),
        ] {
            let mb = MiniBatch { size, drop_last };
            let mut c = BatchCursor::new(rng::stream(3, 9));
            let per = mb.steps_per_epoch(n);
            let mut orders = vec![];
            for epoch in 1..=4u64 {
                let mut seen = vec![];
                for k in 0..per {
                    let b = c.advance(n, mb).to_vec();
                    assert_eq!(c.epoch(), epoch, "{n} {size} {drop_last}");
                    let want = if k + 1 == per && !drop_last && n % size != 0 {
                        n % size
                    } else {
                        size
                    };
                    assert_eq!(b.len(), want);
                    seen.extend(b);
                }
                let mut sorted = seen.clone();
                sorted.sort_unstable();
                sorted.dedup();
                // No sample twice in an epoch; all of them unless the tail is dropped.
                assert_eq!(sorted.len(), seen.len());
                assert_eq!(seen.len(), if drop_last { per * size } else { n });
                orders.push(seen);
            }
            if n > 3 {
                assert!(orders.windows(2).any(|w| w[0] != w[1]), "fresh orders each epoch");
            }
        }
        // The same stream gives the same batches; the cursor round-trips through serde.
        let mb = MiniBatch {
            size: 3,
            drop_last: false,
        };
        let mut a = BatchCursor::new(rng::stream(5, 1));
        a.advance(10, mb);
        let mut b: BatchCursor = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        for _ in 0..9 {
            assert_eq!(a.advance(10, mb), b.advance(10, mb));
        }
    }
}
