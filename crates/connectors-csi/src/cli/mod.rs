//! The subcommands: each parses its flags and calls into the library modules.

pub mod lint;
pub mod render;
pub mod serve;
pub mod template;
