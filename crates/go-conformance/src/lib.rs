//! Proof that `gotemplate` + `sprig` render as Go's `text/template` + sprig
//! do: a golden corpus whose expected outputs come from the Go oracle
//! (`scripts/golden-regen.sh`), and the comparison of our renders against it.

pub mod corpus;
pub mod runner;
