//! Sprig v3.2.3's `TxtFuncMap` for [`gotemplate`], with Go's exact output.
//!
//! Every function of sprig's map is defined, declared with its Go signature
//! (so the engine converts or rejects arguments as Go does) and returns
//! values of the Go type sprig returns (`list` → `[]interface {}`,
//! `splitList` → `[]string`, `split` → `map[string]string`, `add` →
//! `int64`, …). Errors and recovered panics carry sprig's message; the
//! engine prefixes `error calling NAME:`.
//!
//! Deliberate differences from Go (the driver runs privileged on every
//! node, and a template must not be able to hurt it):
//! - `env` and `expandenv` see an empty environment.
//! - `getHostByName` does no lookup and fails.
//! - Everything a function builds counts against the render budget of
//!   [`gotemplate::budget`]: the engine charges what calls return, and the
//!   functions whose results it cannot see or that would be built before it
//!   sees them charge here — sizes known in advance (`until`, `repeat`,
//!   `indent`, `replace`, `rand*`, `chunk`) are checked before building,
//!   results that grow piece by piece (`splitList`, `split`, `regexSplit`,
//!   `regexFindAll`, `regexReplaceAll`, `join`, `cat`, `quote`, JSON in both
//!   directions, `deepCopy`, `wrapWith`) are counted as they grow, in-place
//!   changes (`set`, `merge*`) charge what they add, deep and quadratic
//!   walks (`deepEqual`, `uniq`, `merge`) read the clock, and key
//!   generation, `bcrypt`, `htpasswd` and `derivePassword` are charged
//!   their time before they start (RSA and DSA prime searches also read
//!   the clock at every candidate). Running out fails the render with the
//!   bound's error.
//! - JSON decoding nests down to Go's 10000 levels without recursion, and
//!   values nested deeper than a stack can follow are freed by a loop.
//! - `set $d "k" $d` and merges that would put a map inside itself fail:
//!   Go cannot print or encode such a map either.
//!
//! Differences the value model imposes:
//! - Strings are UTF-8: bytes that are not (`b64dec` of binary data, a
//!   `trunc`/`substr` cut inside a character) become U+FFFD, one per byte,
//!   as Go's printing and JSON show them.
//! - `keys` and `values` return entries in key order (Go: random order).
//! - `uint64` results (`semver`'s `Major`…) are `int`; `time.Month` and
//!   `time.Weekday` results are their names as strings.
//! - The local time zone is UTC; `now` prints a fixed `m=+0.000000001`
//!   monotonic suffix.

mod args;
mod cast;
mod certs;
mod crypto;
mod dates;
mod defaults;
mod der;
mod dicts;
mod encoding;
mod json;
mod lists;
mod math;
mod objects;
mod paths;
mod primes;
mod random;
mod regex;
mod semver;
mod strings;
mod urls;

pub use dicts::may_change_maps;
pub use json::write_string as write_json_string;

use gotemplate::FuncMap;

/// Every function of sprig's `TxtFuncMap`.
pub fn functions() -> FuncMap {
    let mut m = FuncMap::new();
    strings::register(&mut m);
    lists::register(&mut m);
    dicts::register(&mut m);
    defaults::register(&mut m);
    math::register(&mut m);
    encoding::register(&mut m);
    paths::register(&mut m);
    urls::register(&mut m);
    json::register(&mut m);
    regex::register(&mut m);
    semver::register(&mut m);
    dates::register(&mut m);
    crypto::register(&mut m);
    certs::register(&mut m);
    m
}

#[cfg(test)]
mod tests {
    /// Every name of sprig v3.2.3's `TxtFuncMap` (functions.go's genericMap).
    const SPRIG_NAMES: &str = include_str!("../tests/names.txt");

    #[test]
    fn every_txt_func_map_name_is_defined() {
        let funcs = super::functions();
        let missing: Vec<&str> = SPRIG_NAMES
            .lines()
            .filter(|n| !n.is_empty() && !funcs.contains_key(n))
            .collect();
        assert!(missing.is_empty(), "missing: {missing:?}");
        assert_eq!(
            funcs.len(),
            SPRIG_NAMES.lines().filter(|n| !n.is_empty()).count()
        );
    }
}
