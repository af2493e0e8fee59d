//! Proof that `gotemplate` + `sprig` render as Go's `text/template` + sprig
//! do, and the one rig that compares them: a golden corpus whose expected
//! outputs come from the Go oracle (`scripts/golden-regen.sh`), the runner
//! that renders a case as the oracle does, and the benchmark loop the
//! oracle's `-bench` runs.

pub mod bench;
pub mod corpus;
pub mod runner;
