//! Go maps are references: what sprig's mutating functions do to a map shows
//! through every holder of it, and a map that holds itself (which Go cannot
//! print at all) neither hangs nor crashes the process here.
//! The cases Go can answer are in `tests/oracle`; these are the ones it can't.

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

const SELF: &str = r#"{{ $d := dict "a" 1 }}{{ $_ := set $d "self" $d }}"#;

#[test]
fn printing_a_map_that_holds_itself_stops_with_an_ellipsis() {
    let out = render(&format!("{SELF}{{{{ $d }}}}"), &Value::Nil).unwrap();
    assert!(out.starts_with("map[a:1 self:map[a:1 self:map["), "{out}");
    assert!(out.contains("..."), "{out}");
}

#[test]
fn to_json_of_a_map_that_holds_itself_reports_the_cycle() {
    let out = render(&format!("{SELF}[{{{{ toJson $d }}}}]"), &Value::Nil).unwrap();
    assert_eq!(out, "[]");
    let err = render(&format!("{SELF}{{{{ mustToJson $d }}}}"), &Value::Nil).unwrap_err();
    assert!(
        err.contains("json: unsupported value: encountered a cycle via map[string]interface {}"),
        "{err}"
    );
}

#[test]
fn deep_copy_and_merge_of_a_map_that_holds_itself_fail_cleanly() {
    let err = render(&format!("{SELF}{{{{ deepCopy $d }}}}"), &Value::Nil).unwrap_err();
    assert!(err.contains("deepCopy: value nested deeper than"), "{err}");
    let err = render(&format!("{SELF}{{{{ merge $d $d }}}}"), &Value::Nil).unwrap_err();
    assert!(err.contains("merge: value nested deeper than"), "{err}");
}

#[test]
fn deep_equal_of_a_map_that_holds_itself_terminates() {
    let source = format!(
        "{SELF}{{{{ $e := dict \"a\" 1 }}}}{{{{ $_ := set $e \"self\" $e }}}}\
         {{{{ deepEqual $d $d }}}} {{{{ deepEqual $d $e }}}} {{{{ has $d (list $d) }}}}"
    );
    assert_eq!(render(&source, &Value::Nil).unwrap(), "true true true");
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
