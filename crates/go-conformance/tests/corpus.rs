//! The corpus itself: every case is paired with Go's outcome, names are
//! unique, and the corpus is as large as the conformance claim needs.

use std::collections::HashSet;

use go_conformance::corpus::{load_corpus, load_reference};

#[test]
fn every_case_is_paired_with_its_go_outcome_and_names_are_unique() {
    let suites = load_corpus()
        .unwrap()
        .into_iter()
        .chain(load_reference().unwrap());
    let mut names = HashSet::new();
    for suite in suites {
        for golden in suite.cases {
            assert!(
                names.insert(golden.case.name.clone()),
                "duplicate case {}",
                golden.case.name
            );
            let error = &golden.expected.error;
            assert!(
                error.is_empty() || error.starts_with("parse: ") || error.starts_with("exec: "),
                "{}: unexpected oracle error shape {error:?}",
                golden.case.name
            );
        }
    }
    assert!(names.len() >= 400, "only {} cases", names.len());
}

#[test]
fn the_reference_connector_classes_all_render_in_go() {
    let suites = load_reference().unwrap();
    let cases: Vec<_> = suites.iter().flat_map(|s| &s.cases).collect();
    assert!(!cases.is_empty());
    for golden in cases {
        assert_eq!(golden.expected.error, "", "{}", golden.case.name);
    }
}
