//! `optimizer-table` — the shape of \[P20\]'s table (Chen et al., IJCAI 2020),
//! `docs/theory.md#claims`, claim 3: test accuracy of SGD-momentum, Adam, AMSGrad, AdamW, Yogi,
//! AdaBound, Padam (and GD) on the \[C22\] and \[Z23\] tasks, mean ± std over
//! seeds. The work is `gengap::train::table`.

use gengap::train::experiment;
use gengap::train::table::{self, TableConfig};

fn main() {
    experiment::main_sweep("optimizer-table", |ctx, cfg: TableConfig| {
        if let Some(summary) = table::run(ctx, &cfg, "", "optimizer_table.md")? {
            ctx.write_record("record.json", &cfg, cfg.seed, &summary)?;
        }
        Ok(())
    });
}
