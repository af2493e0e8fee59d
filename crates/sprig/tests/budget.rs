//! The render budget with sprig's functions, as a ConnectorClass author
//! meets it: each way of building without end fails with the bound it ran
//! into — bytes built, or time — instead of taking the node's memory.

use std::sync::Arc;
use std::time::Duration;

use gotemplate::{ErrorKind, Limits, Template, Value};

fn execute(source: &str, limits: &Limits) -> Result<String, gotemplate::Error> {
    let funcs = Arc::new(sprig::functions());
    let t = Template::parse("t", source, &funcs).expect("the template parses");
    let mut out = String::new();
    t.execute(&Value::Nil, &mut out, limits).map(|()| out)
}

/// The default limits, with a generous clock: these must stop on bytes,
/// long before time.
fn assert_built_too_much(source: &str) {
    assert_built_too_much_with(source, Limits::default().max_built_bytes);
}

/// With a 1 MiB budget: the same mechanism, a quicker test in debug builds.
fn assert_built_too_much_small(source: &str) {
    assert_built_too_much_with(source, 1024 * 1024);
}

fn assert_built_too_much_with(source: &str, max_built_bytes: usize) {
    let limits = Limits {
        timeout: Duration::from_secs(60),
        max_built_bytes,
        ..Limits::default()
    };
    let err = match execute(source, &limits) {
        Ok(out) => panic!("{source}: rendered {} bytes", out.len()),
        Err(err) => err,
    };
    assert_eq!(err.kind(), ErrorKind::BuildLimit, "{source}: {err}");
    assert!(
        err.message().contains("values built exceed the limit"),
        "{source}: {err}"
    );
}

#[test]
fn doubling_with_printf_and_cat_fails_on_bytes_built() {
    for step in [r#"printf "%s%s" $s $s"#, "cat $s $s"] {
        assert_built_too_much(&format!(
            r#"{{{{ $s := "x" }}}}{{{{ range until 40 }}}}{{{{ $s = {step} }}}}{{{{ end }}}}"#
        ));
    }
}

#[test]
fn doubling_with_any_string_function_fails_on_bytes_built() {
    for step in [
        "print $s $s",
        "nospace (cat $s $s)",
        "join $s (list $s $s)",
        "quote $s $s",
        "squote $s $s",
        "replace \"x\" \"xx\" $s",
        "repeat 2 $s",
        "indent 1 (cat $s \"\\n\" $s)",
        "regexReplaceAll \"x\" $s \"xx\"",
        "b64enc (cat $s $s)",
        "wrapWith 1 $s (cat $s \" \" $s)",
    ] {
        assert_built_too_much_small(&format!(
            r#"{{{{ $s := "x" }}}}{{{{ range until 40 }}}}{{{{ $s = {step} }}}}{{{{ end }}}}"#
        ));
    }
}

#[test]
fn doubling_a_list_with_concat_or_append_fails_on_bytes_built() {
    assert_built_too_much(
        r#"{{ $l := list "x" }}{{ range until 40 }}{{ $l = concat $l $l }}{{ end }}"#,
    );
    assert_built_too_much(
        r#"{{ $l := list }}{{ range until 100000 }}{{ $l = append $l "x" }}{{ end }}"#,
    );
}

#[test]
fn nesting_a_list_in_itself_is_cheap_but_printing_or_copying_it_fails() {
    let nested = r#"{{ $l := list "xxxxxxxx" }}{{ range until 40 }}{{ $l = list $l $l }}{{ end }}"#;
    for use_it in [
        "{{ $s := toJson $l }}",
        "{{ $s := toPrettyJson $l }}",
        "{{ $s := mustToRawJson $l }}",
        "{{ $s := toString $l }}",
        "{{ $s := print $l }}",
        "{{ $s := cat $l }}",
        "{{ $s := join \",\" $l }}",
        "{{ $s := deepCopy $l }}",
        "{{ $s := sortAlpha $l }}",
    ] {
        assert_built_too_much_small(&format!("{nested}{use_it}"));
    }
}

#[test]
fn doubling_json_text_fails_on_bytes_built() {
    assert_built_too_much(
        r#"{{ $s := "x" }}{{ range until 40 }}{{ $s = toJson (list $s $s) }}{{ end }}"#,
    );
    assert_built_too_much_small(
        r#"{{ $s := "[]" }}{{ range until 40 }}{{ $s = printf "[%s,%s]" $s $s }}{{ $v := fromJson $s }}{{ end }}"#,
    );
}

#[test]
fn splitting_into_millions_of_pieces_fails_on_bytes_built() {
    assert_built_too_much(r#"{{ $l := splitList "," (repeat 4194304 ",") }}"#);
    assert_built_too_much(r#"{{ $l := splitList "" (repeat 4194304 "x") }}"#);
    assert_built_too_much(r#"{{ $m := split "," (repeat 4194304 ",") }}"#);
    assert_built_too_much(r#"{{ $l := regexSplit "," (repeat 4194304 ",") -1 }}"#);
    assert_built_too_much(r#"{{ $l := regexFindAll "" (repeat 4194304 "x") -1 }}"#);
}

#[test]
fn counting_to_millions_fails_on_bytes_built() {
    assert_built_too_much("{{ range until 4194304 }}{{ end }}");
    assert_built_too_much("{{ $l := untilStep 0 4194304 1 }}");
    assert_built_too_much("{{ $s := seq 4194304 }}");
    assert_built_too_much("{{ $l := chunk 1 (until 400000) }}");
}

#[test]
fn growing_a_map_in_place_fails_on_bytes_built() {
    assert_built_too_much_small(
        r#"{{ $d := dict }}{{ range $i := until 1000 }}{{ range $j := until 1000 }}{{ $_ := set $d (print $i "/" $j) $j }}{{ end }}{{ end }}"#,
    );
}

#[test]
fn costly_functions_fail_before_they_start_when_time_cannot_cover_them() {
    let limits = Limits {
        timeout: Duration::from_millis(50),
        ..Limits::default()
    };
    for source in [
        r#"{{ range until 30 }}{{ genPrivateKey "rsa" }}{{ end }}"#,
        r#"{{ genPrivateKey "dsa" }}"#,
        r#"{{ genCA "ca" 365 }}"#,
        r#"{{ genSelfSignedCert "x" nil nil 365 }}"#,
        r#"{{ range until 30 }}{{ bcrypt "pw" }}{{ end }}"#,
        r#"{{ range until 30 }}{{ htpasswd "u" "pw" }}{{ end }}"#,
        r#"{{ derivePassword 1 "long" "pw" "user" "example.com" }}"#,
    ] {
        let err = execute(source, &limits).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{source}: {err}");
        assert!(
            err.message()
                .contains("execution exceeded the time limit of 50ms"),
            "{source}: {err}"
        );
    }
}

#[test]
fn quadratic_list_functions_read_the_clock() {
    let limits = Limits {
        timeout: Duration::from_millis(200),
        ..Limits::default()
    };
    let err = execute("{{ $l := uniq (until 200000) }}", &limits).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}

#[test]
fn templates_within_the_bounds_render_as_before() {
    let out = execute(
        r#"{{ $s := "ab" }}{{ range until 9 }}{{ $s = cat $s $s | nospace }}{{ end }}{{ len $s }} {{ len (splitList "," (repeat 1000 ",")) }} {{ toJson (until 3) }}"#,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(out, "1024 1001 [0,1,2]");
}
