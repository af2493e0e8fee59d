//! Go maps are references: what sprig's mutating functions do to a map shows
//! through every holder of it; a map that would hold itself (which Go cannot
//! print at all, and which would never be freed here) is refused.
//! The cases Go can answer are in go-conformance's corpus; these are the ones it can't.

use std::sync::Arc;

use gotemplate::{Limits, Template, Value};

fn render(source: &str, data: &Value) -> Result<String, String> {
    let funcs = Arc::new(sprig::functions());
    let template = Template::parse("t", source, &funcs).map_err(|e| e.to_string())?;
    let mut out = String::new();
    template
        .execute(data, &mut out, &Limits::default())
        .map_err(|e| e.to_string())?;
    Ok(out)
}

#[test]
fn a_map_cannot_be_stored_inside_itself_directly_or_through_other_values() {
    for source in [
        r#"{{ $d := dict "a" 1 }}{{ $_ := set $d "self" $d }}"#,
        r#"{{ $d := dict }}{{ $_ := set $d "l" (list 1 (list $d)) }}"#,
        r#"{{ $d := dict }}{{ $e := dict "d" $d }}{{ $_ := set $d "e" $e }}"#,
        r#"{{ $d := dict }}{{ $_ := merge $d (dict "x" (dict "d" $d)) }}"#,
        r#"{{ $d := dict }}{{ $_ := mergeOverwrite $d (dict "l" (list $d)) }}"#,
    ] {
        let err = render(source, &Value::Nil).unwrap_err();
        assert!(
            err.contains("cannot be stored inside itself"),
            "{source}: {err}"
        );
    }
}

#[test]
fn storing_a_copy_or_merging_a_map_with_itself_is_fine() {
    let out = render(
        r#"{{ $d := dict "a" 1 }}{{ $_ := set $d "copy" (deepCopy $d) }}{{ $_ := merge $d $d }}{{ $d }}"#,
        &Value::Nil,
    )
    .unwrap();
    assert_eq!(out, "map[a:1 copy:map[a:1]]");
}

#[test]
fn set_on_shared_data_is_seen_by_later_executions_holding_the_same_value() {
    // The data value is shared like a Go map passed to Execute twice.
    let data = Value::from(serde_json::json!({ "m": { "a": 1 } }));
    render(r#"{{ $_ := set .m "b" 2 }}"#, &data).unwrap();
    assert_eq!(render("{{ .m }}", &data).unwrap(), "map[a:1 b:2]");
}

#[test]
fn maps_stay_usable_across_threads() {
    let data = Value::from(serde_json::json!({ "m": {} }));
    std::thread::scope(|s| {
        for i in 0..4 {
            let data = &data;
            s.spawn(move || {
                render(&format!(r#"{{{{ $_ := set .m "k{i}" {i} }}}}"#), data).unwrap();
            });
        }
    });
    assert_eq!(
        render("{{ len .m }}", &data).unwrap(),
        "4",
        "every thread's set shows"
    );
}
