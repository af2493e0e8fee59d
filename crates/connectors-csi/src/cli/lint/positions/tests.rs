use super::*;

const CLASS: &str = "\
kind: ConnectorClass
metadata: {name: git}
spec:
  configurations:
  - name: config
    data:
      .gitconfig: |
        [http]
          x = {{ .a }}
      plain: x {{ .b }}
      quoted: \"a\\\"b {{ .c }}\"
      single: 'it''s {{ .d }}'
---
kind: Connector
";

fn data_path(file: &str) -> Path {
    yaml_path!["spec", "configurations", 0usize, "data", file]
}

#[test]
fn keys_and_values_of_every_document_are_found_by_path() {
    let docs = index(CLASS).unwrap();
    assert_eq!(docs.len(), 2);
    let key = docs[0].key(CLASS, &data_path(".gitconfig")).unwrap();
    assert_eq!(key, Position { line: 7, col: 7 });
    let name = docs[0]
        .value(CLASS, &yaml_path!["spec", "configurations", 0usize, "name"])
        .unwrap();
    assert_eq!(name, Position { line: 5, col: 11 });
    let kind = docs[1].value(CLASS, &yaml_path!["kind"]).unwrap();
    assert_eq!(kind, Position { line: 14, col: 7 });
}

#[test]
fn a_literal_block_maps_template_lines_and_columns_exactly() {
    let docs = index(CLASS).unwrap();
    let at = docs[0]
        .in_template(CLASS, &data_path(".gitconfig"), 2, 6)
        .unwrap();
    assert!(at.exact);
    // Line 2 of the template, byte 6: the `{{` of `x = {{ .a }}`.
    assert_eq!(at.position, Position { line: 9, col: 15 });
    assert_eq!(two_at(CLASS, at.position), "{{");
}

/// The two bytes of `text` at `position`.
fn two_at(text: &str, position: Position) -> &str {
    let line = text.lines().nth(position.line - 1).unwrap();
    &line[position.col - 1..position.col + 1]
}

#[test]
fn one_line_flow_scalars_map_through_their_quotes_and_escapes() {
    let docs = index(CLASS).unwrap();
    for (file, col0) in [("plain", 2), ("quoted", 4), ("single", 5)] {
        let at = docs[0]
            .in_template(CLASS, &data_path(file), 1, col0)
            .unwrap();
        assert!(at.exact, "{file}");
        assert_eq!(two_at(CLASS, at.position), "{{", "{file}: {at:?}");
    }
    let quoted = docs[0]
        .in_template(CLASS, &data_path("quoted"), 1, 4)
        .unwrap();
    assert_eq!(quoted.position, Position { line: 11, col: 21 });
}

#[test]
fn a_double_quoted_newline_escape_starts_a_template_line() {
    let text = "a: \"x\\n  {{ .y }}\"\n";
    let docs = index(text).unwrap();
    let at = docs[0].in_template(text, &yaml_path!["a"], 2, 2).unwrap();
    assert_eq!(at.position, Position { line: 1, col: 10 });
    assert_eq!(two_at(text, at.position), "{{");
}

#[test]
fn blank_lines_and_an_indentation_indicator_keep_literal_lines_exact() {
    let text = "a: |\n\n    x {{ y }}\nb: |2\n     {{ z }}\n";
    let docs = index(text).unwrap();
    let a = docs[0].in_template(text, &yaml_path!["a"], 2, 2).unwrap();
    assert_eq!(a.position, Position { line: 3, col: 7 });
    assert_eq!(two_at(text, a.position), "{{");
    let b = docs[0].in_template(text, &yaml_path!["b"], 1, 3).unwrap();
    assert_eq!(two_at(text, b.position), "{{");
}

#[test]
fn a_folded_block_gives_its_start_and_says_it_is_not_exact() {
    let text = "a: >\n  one\n  {{ .two }}\n";
    let docs = index(text).unwrap();
    let at = docs[0].in_template(text, &yaml_path!["a"], 1, 4).unwrap();
    assert!(!at.exact);
    assert_eq!(at.position, Position { line: 2, col: 3 });
}

#[test]
fn a_syntax_error_has_its_position() {
    let err = index("a: [1, 2\nb: c\n").unwrap_err();
    assert!(err.position.line >= 1, "{err:?}");
    assert!(!err.message.is_empty());
}
