//! The render budget as a template author meets it: templates that build
//! without end fail with the bound they ran into, while templates that only
//! read (even large data, many times) are not charged for it.

use std::sync::Arc;
use std::time::Duration;

use gotemplate::{ErrorKind, FuncMap, Limits, Template, Value};

fn limits() -> Limits {
    // A generous clock: these must stop on bytes, long before time.
    Limits {
        timeout: Duration::from_secs(60),
        ..Limits::default()
    }
}

fn execute(source: &str, data: &Value, limits: &Limits) -> Result<String, gotemplate::Error> {
    let t = Template::parse("t", source, &Arc::new(FuncMap::new())).expect("the template parses");
    let mut out = String::new();
    t.execute(data, &mut out, limits).map(|()| out)
}

/// Forty iterations, as `range until 40` gives them.
fn forty() -> Value {
    Value::list((0..40).map(Value::Int).collect())
}

fn assert_built_too_much(source: &str) {
    assert_built_too_much_with(source, &limits());
}

/// With a 1 MiB budget: the same mechanism, a quicker test in debug builds.
fn assert_built_too_much_small(source: &str) {
    let limits = Limits {
        max_built_bytes: 1024 * 1024,
        ..limits()
    };
    assert_built_too_much_with(source, &limits);
}

fn assert_built_too_much_with(source: &str, limits: &Limits) {
    let err = execute(source, &forty(), limits).expect_err("the budget stops it");
    assert_eq!(err.kind(), ErrorKind::BuildLimit, "{source}: {err}");
    let bound = format!(
        "values built exceed the limit of {} bytes",
        limits.max_built_bytes
    );
    assert!(err.message().contains(&bound), "{source}: {err}");
}

#[test]
fn doubling_a_string_with_printf_fails_on_the_bytes_it_builds() {
    assert_built_too_much(r#"{{ $s := "x" }}{{ range . }}{{ $s = printf "%s%s" $s $s }}{{ end }}"#);
}

#[test]
fn doubling_a_string_with_print_and_println_fails_on_the_bytes_it_builds() {
    assert_built_too_much(r#"{{ $s := "x" }}{{ range . }}{{ $s = print $s $s }}{{ end }}"#);
    assert_built_too_much(r#"{{ $s := "x" }}{{ range . }}{{ $s = println $s $s }}{{ end }}"#);
}

#[test]
fn escapers_and_wide_verbs_fail_on_the_bytes_they_would_build() {
    assert_built_too_much_small(r#"{{ $s := "<" }}{{ range . }}{{ $s = html $s $s }}{{ end }}"#);
    assert_built_too_much_small(r#"{{ $s := "<" }}{{ range . }}{{ $s = js $s $s }}{{ end }}"#);
    assert_built_too_much_small(
        r#"{{ $s := " " }}{{ range . }}{{ $s = urlquery $s $s }}{{ end }}"#,
    );
    assert_built_too_much_small(
        r#"{{ $s := "\x01" }}{{ range . }}{{ $s = printf "%q%+q" $s $s }}{{ end }}"#,
    );
    assert_built_too_much_small(
        r#"{{ range . }}{{ $s := printf "%1000000d%1000000d%1000000d%1000000d%1000000d%1000000d%1000000d%1000000d%1000000d%1000000d" 1 2 3 4 5 6 7 8 9 10 }}{{ end }}"#,
    );
}

#[test]
fn a_value_that_prints_far_larger_than_it_is_stops_at_the_output_limit() {
    // Each level holds the one below twice: tiny in memory, 2^40 leaves to
    // print.
    let mut nested = Value::list(vec![Value::str("xxxxxxxx")]);
    for _ in 0..40 {
        nested = Value::list(vec![nested.clone(), nested]);
    }
    let data = Value::map([(Arc::from("l"), nested)].into_iter().collect());
    let err = execute("{{ .l }}", &data, &limits()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutputLimit, "{err}");
    let err = execute("{{ $s := print .l }}", &data, &limits()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BuildLimit, "{err}");
}

#[test]
fn reading_large_data_many_times_costs_nothing() {
    let big = "x".repeat(1024 * 1024);
    let data = Value::map(
        [
            (Arc::from("big"), Value::string(big)),
            (
                Arc::from("n"),
                Value::list((0..1000).map(Value::Int).collect()),
            ),
        ]
        .into_iter()
        .collect(),
    );
    let limits = Limits {
        max_built_bytes: 64 * 1024,
        ..limits()
    };
    let out = execute(
        r#"{{ range .n }}{{ $b := $.big }}{{ if eq (index $ "big") $b }}{{ end }}{{ end }}{{ len .big }}"#,
        &data,
        &limits,
    )
    .unwrap();
    assert_eq!(out, "1048576");
}

#[test]
fn the_clock_is_read_at_every_iteration() {
    let limits = Limits {
        timeout: Duration::ZERO,
        ..Limits::default()
    };
    let err = execute("{{ range . }}{{ end }}", &forty(), &limits).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        err.message().contains("execution exceeded the time limit"),
        "{err}"
    );
}

#[test]
fn what_was_built_before_the_bound_does_not_change_the_output() {
    let out = execute(
        r#"{{ $s := "ab" }}{{ range . }}{{ if lt (len $s) 1000 }}{{ $s = printf "%s%s" $s $s }}{{ end }}{{ end }}{{ len $s }}"#,
        &forty(),
        &limits(),
    )
    .unwrap();
    assert_eq!(out, "1024");
}

#[test]
fn one_value_larger_than_the_output_limit_fails_rather_than_printing_nothing() {
    let data = Value::map(
        [(Arc::from("big"), Value::string("x".repeat(5000)))]
            .into_iter()
            .collect(),
    );
    let limits = Limits {
        max_output_bytes: 4096,
        ..limits()
    };
    let err = execute("{{ .big }}", &data, &limits).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutputLimit, "{err}");
}
