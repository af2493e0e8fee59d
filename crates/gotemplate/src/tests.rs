//! Engine unit tests: parse and execute small templates over JSON data.

use std::sync::Arc;

use crate::{ErrorKind, FuncMap, Function, Limits, Param, Template, Value};

fn funcs() -> Arc<FuncMap> {
    let mut m = FuncMap::new();
    m.insert(
        "upper",
        Function::new(&[Param::Str], None, |a| {
            Ok(Value::string(a[0].as_str().unwrap_or("").to_uppercase()))
        }),
    );
    m.insert(
        "fail",
        Function::new(&[], None, |_| Err("boom".to_string())),
    );
    Arc::new(m)
}

fn run(src: &str, data: &str) -> Result<String, String> {
    let t = Template::parse("t", src, &funcs()).map_err(|e| e.to_string())?;
    let data = Value::from(serde_json::from_str::<serde_json::Value>(data).unwrap());
    let mut out = String::new();
    t.execute(&data, &mut out, &Limits::default())
        .map(|_| out)
        .map_err(|e| e.to_string())
}

#[test]
fn fields_variables_and_pipelines_render() {
    assert_eq!(
        run("{{.a}}-{{ $x := .b }}{{$x}}", r#"{"a":1,"b":"s"}"#).unwrap(),
        "1-s"
    );
    assert_eq!(run("{{.a | upper}}", r#"{"a":"x"}"#).unwrap(), "X");
    assert_eq!(run("{{.missing}}", r#"{}"#).unwrap(), "<no value>");
    assert_eq!(run("{{.missing.deeper}}", r#"{}"#).unwrap(), "<no value>");
}

#[test]
fn range_iterates_lists_and_sorted_maps_with_else() {
    assert_eq!(
        run("{{range $i, $v := .}}{{$i}}={{$v}};{{end}}", r#"[5,6]"#).unwrap(),
        "0=5;1=6;"
    );
    assert_eq!(
        run(
            "{{range $k, $v := .}}{{$k}}={{$v}};{{end}}",
            r#"{"b":2,"a":1}"#
        )
        .unwrap(),
        "a=1;b=2;"
    );
    assert_eq!(
        run("{{range .}}x{{else}}empty{{end}}", r#"[]"#).unwrap(),
        "empty"
    );
    assert_eq!(
        run(
            "{{range .}}{{if eq . 2.0}}{{break}}{{end}}{{.}}{{end}}",
            r#"[1,2,3]"#
        )
        .unwrap(),
        "1"
    );
}

#[test]
fn exec_errors_carry_go_location_and_context() {
    assert_eq!(
        run("{{.a.b}}", r#"{"a":null}"#).unwrap_err(),
        "template: t:1:4: executing \"t\" at <.a.b>: nil pointer evaluating interface {}.b"
    );
    assert_eq!(
        run("{{fail}}", "{}").unwrap_err(),
        "template: t:1:2: executing \"t\" at <fail>: error calling fail: boom"
    );
    assert_eq!(
        run("{{upper 3}}", "{}").unwrap_err(),
        "template: t:1:8: executing \"t\" at <3>: expected string; found 3"
    );
}

#[test]
fn parse_errors_name_the_line() {
    assert_eq!(
        run("a\n{{nope}}", "{}").unwrap_err(),
        "template: t:2: function \"nope\" not defined"
    );
    assert_eq!(
        run("{{if 1}}", "{}").unwrap_err(),
        "template: t:1: unexpected EOF"
    );
}

#[test]
fn comparisons_refuse_int_against_float() {
    assert_eq!(
        run("{{eq .n 1}}", r#"{"n":1}"#).unwrap_err(),
        "template: t:1:2: executing \"t\" at <eq .n 1>: error calling eq: incompatible types for comparison"
    );
    assert_eq!(
        run(
            "{{eq .n 1.0}} {{lt 1 2}} {{eq \"a\" \"b\" \"a\"}}",
            r#"{"n":1}"#
        )
        .unwrap(),
        "true true true"
    );
}

#[test]
fn defined_templates_are_invoked_with_their_own_dot() {
    assert_eq!(
        run(
            r#"{{define "x"}}[{{.}}]{{end}}{{template "x" .a}}{{block "y" .b}}<{{.}}>{{end}}"#,
            r#"{"a":1,"b":2}"#
        )
        .unwrap(),
        "[1]<2>"
    );
}

#[test]
fn output_limit_stops_runaway_templates() {
    let t = Template::parse("t", "{{range .}}xxxxxxxxxx{{end}}", &funcs()).unwrap();
    let data = Value::list((0..1000).map(|_| Value::Nil).collect());
    let mut out = String::new();
    let limits = Limits {
        max_output_bytes: 100,
        ..Limits::default()
    };
    let err = t.execute(&data, &mut out, &limits).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutputLimit);
}

#[test]
fn infinite_recursion_stops_with_go_depth_error() {
    let t = Template::parse(
        "t",
        r#"{{define "r"}}{{template "r" .}}{{end}}{{template "r" .}}"#,
        &funcs(),
    )
    .unwrap();
    let mut out = String::new();
    let err = t
        .execute(&Value::Nil, &mut out, &Limits::default())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("exceeded maximum template depth (100000)"),
        "{err}"
    );
}

#[test]
fn templates_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Template>();
}

#[test]
fn recursion_reaches_a_useful_depth_before_the_stack_guard() {
    let t = Template::parse(
        "t",
        r#"{{define "r"}}x{{if .}}{{template "r" .}}{{end}}{{end}}{{template "r" .}}"#,
        &funcs(),
    )
    .unwrap();
    let mut out = String::new();
    let err = t
        .execute(&Value::Bool(true), &mut out, &Limits::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Exec);
    eprintln!("template depth reached: {}", out.len());
    assert!(out.len() >= 100, "only {} levels", out.len());
}

#[test]
fn variables_are_scoped_to_their_control_structure() {
    assert_eq!(
        run("{{$x := 1}}{{range .}}{{$x := .}}{{end}}{{$x}}", "[5]").unwrap(),
        "1"
    );
    assert_eq!(
        run("{{if true}}{{$y := 1}}{{end}}{{$y}}", "{}").unwrap_err(),
        "template: t:1: undefined variable \"$y\""
    );
}

/// A FuncMap with a `put MAP KEY VALUE` that changes the map in place, the
/// way sprig's `set` does.
fn run_with_put(src: &str, data: &str) -> Result<String, String> {
    let mut m = FuncMap::new();
    m.insert(
        "put",
        Function::new(&[Param::MapAny, Param::Str, Param::Any], None, |a| {
            if let (Some(Value::Map(m)), Some(k)) = (a.first(), a.get(1).and_then(Value::as_str)) {
                m.insert(Arc::from(k), a.get(2).cloned().unwrap_or_default());
            }
            Ok(Value::str(""))
        }),
    );
    let t = Template::parse("t", src, &Arc::new(m)).map_err(|e| e.to_string())?;
    let data = Value::from(serde_json::from_str::<serde_json::Value>(data).unwrap());
    let mut out = String::new();
    t.execute(&data, &mut out, &Limits::default())
        .map(|_| out)
        .map_err(|e| e.to_string())
}

#[test]
fn values_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Value>();
}

#[test]
fn a_map_changed_in_place_is_seen_by_every_holder() {
    assert_eq!(
        run_with_put(
            r#"{{$m := .m}}{{put $m "b" 2}}{{.m}} {{.m.b}} {{len .m}}"#,
            r#"{"m":{"a":1}}"#
        )
        .unwrap(),
        "map[a:1 b:2] 2 2"
    );
}

#[test]
fn range_over_a_map_its_body_changes_visits_the_entries_it_started_with() {
    assert_eq!(
        run_with_put(
            r#"{{range $k, $v := .m}}{{put $.m "z" 0}}{{put $.m "b" 9}}{{$k}}={{$v}};{{end}}{{.m}}"#,
            r#"{"m":{"a":1,"b":2}}"#
        )
        .unwrap(),
        "a=1;b=2;map[a:1 b:9 z:0]"
    );
}

#[test]
fn printing_a_map_that_holds_itself_terminates() {
    let out = run_with_put(r#"{{put .m "self" .m}}{{.m}}"#, r#"{"m":{"a":1}}"#).unwrap();
    assert!(out.starts_with("map[a:1 self:map[a:1 self:"), "{out}");
    assert!(out.contains("self:...]"), "{out}");
}
