//! Go's standard library as templates show it: `strconv` quoting and
//! `IsPrint`, the `unicode` tables RE2 classes name, `time`'s durations and
//! quoting, and civil-calendar arithmetic. Everything in the workspace that
//! must print or parse exactly as Go does calls these, so each rule lives
//! once.
//!
//! The rune sets come from Go itself: `gen/regen.sh` runs `gen/tables.go`
//! with the Go toolchain the oracle is built with and writes `tables.rs`.

pub mod calendar;
pub mod strconv;
pub mod time;
pub mod unicode;

#[rustfmt::skip]
mod tables;
