//! The rune tables of Go's `unicode` package that RE2's `\p{Name}` classes
//! name: general categories (`Lu`, and `L` for all letters) and scripts
//! (`Greek`, `Han`), plus RE2's `Any`.

use super::tables::{CATEGORIES, MAJOR_CATEGORIES, SCRIPTS};

pub use super::tables::UNICODE_VERSION;

/// The runes of the table RE2 calls `name` (case-sensitive, as in Go), as
/// sorted inclusive ranges without surrogates; `None` when Go has no such
/// table.
pub fn table(name: &str) -> Option<Vec<(u32, u32)>> {
    if name == "Any" {
        return Some(vec![(0, 0xD7FF), (0xE000, 0x10FFFF)]);
    }
    if MAJOR_CATEGORIES.contains(&name) {
        let mut ranges: Vec<(u32, u32)> = CATEGORIES
            .iter()
            .filter(|(leaf, _)| leaf.starts_with(name))
            .flat_map(|(_, ranges)| ranges.iter().copied())
            .collect();
        ranges.sort_unstable();
        return Some(ranges);
    }
    CATEGORIES
        .iter()
        .chain(SCRIPTS)
        .find(|(n, _)| *n == name)
        .map(|(_, ranges)| ranges.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contains(name: &str, c: char) -> bool {
        table(name)
            .unwrap()
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&(c as u32)))
    }

    #[test]
    fn categories_and_scripts_are_gos() {
        assert!(contains("Han", '語'));
        assert!(contains("Greek", 'λ'));
        assert!(!contains("Greek", 'l'));
        assert!(contains("L", 'é') && contains("Ll", 'é') && !contains("Lu", 'é'));
        assert!(contains("Any", '\u{10FFFF}'));
        assert!(table("greek").is_none(), "names are case-sensitive");
        assert!(table("Letter").is_none(), "Go knows no long names");
        assert!(table("Cn").is_none());
    }
}
