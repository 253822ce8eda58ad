//! The only way a study gets randomness: streams handed out by the runner.
//!
//! There is one seed convention in gengap, and these types enforce it. A
//! study's config names one `seed`; the runner (never the study) builds
//!
//! * [`SetupRng`] = `stream(seed, SETUP_STREAM)` for the draws every cell
//!   shares (a data set and an initialisation that several optimizers are
//!   compared on), and
//! * [`CellRng`] = `stream(seed, k)` for cell `k`,
//!
//! with `stream` = [`gengap_data::rng::stream`] (ChaCha8 with its stream
//! parameter set). Neither type can be built outside this crate, so a study
//! cannot make a seed of its own; cell `k`'s draws do not depend on thread
//! count, order, sharding, or which other cells run. Both implement
//! `rand::Rng` (through `DerefMut` to the ChaCha generator).

use std::ops::{Deref, DerefMut};

use gengap_data::rng::{self, ChaCha8Rng};

/// The stream id of the setup draws: the last ChaCha stream, which no sweep
/// reaches as a cell index.
pub const SETUP_STREAM: u64 = u64::MAX;

/// Cell `k`'s stream, `stream(seed, k)`; the runner hands it to each cell.
#[derive(Debug, Clone)]
pub struct CellRng {
    rng: ChaCha8Rng,
    cell: usize,
}

impl CellRng {
    /// The stream the runner gives cell `cell` of a run with seed `seed`:
    /// for a test that calls a study's `run` on one cell directly.
    ///
    /// ```
    /// use gengap_lab::CellRng;
    /// use gengap_data::rng;
    /// use rand::Rng;
    /// let mut a = CellRng::new(7, 3);
    /// assert_eq!(a.cell(), 3);
    /// assert_eq!(a.next_u64(), rng::stream(7, 3).next_u64());
    /// ```
    pub fn new(seed: u64, cell: usize) -> Self {
        CellRng {
            rng: rng::stream(seed, cell as u64),
            cell,
        }
    }

    /// The index of the cell this stream belongs to.
    pub fn cell(&self) -> usize {
        self.cell
    }
}

impl Deref for CellRng {
    type Target = ChaCha8Rng;
    fn deref(&self) -> &ChaCha8Rng {
        &self.rng
    }
}

impl DerefMut for CellRng {
    fn deref_mut(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }
}

/// The setup stream `stream(seed, SETUP_STREAM)`: the draws all cells share.
#[derive(Debug, Clone)]
pub struct SetupRng {
    rng: ChaCha8Rng,
}

impl SetupRng {
    /// The setup stream of a run with this seed, as the runner hands it to
    /// [`crate::Setup::setup`] (public so a study's tests can draw the same
    /// shared data).
    ///
    /// ```
    /// use gengap_lab::SetupRng;
    /// use gengap_lab::streams::SETUP_STREAM;
    /// use rand::Rng;
    /// let mut a = SetupRng::new(7);
    /// assert_eq!(a.next_u64(), gengap_data::rng::stream(7, SETUP_STREAM).next_u64());
    /// ```
    pub fn new(seed: u64) -> Self {
        SetupRng {
            rng: rng::stream(seed, SETUP_STREAM),
        }
    }
}

impl Deref for SetupRng {
    type Target = ChaCha8Rng;
    fn deref(&self) -> &ChaCha8Rng {
        &self.rng
    }
}

impl DerefMut for SetupRng {
    fn deref_mut(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_the_documented_chacha_streams() {
        let mut a = CellRng::new(7, 3);
        let mut b = rng::stream(7, 3);
        assert_eq!(a.cell(), 3);
        assert_eq!(a.next_u64(), b.next_u64());
        let mut s = SetupRng::new(7);
        let mut t = rng::stream(7, SETUP_STREAM);
        assert_eq!(s.next_u64(), t.next_u64());
        // The setup stream is not any cell's.
        assert_ne!(SetupRng::new(7).next_u64(), CellRng::new(7, 0).next_u64());
    }
}
