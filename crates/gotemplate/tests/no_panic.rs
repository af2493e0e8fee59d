//! Property: parsing and executing never panic, whatever the input, and
//! execution under small limits always returns.

use std::sync::Arc;
use std::time::Duration;

use gotemplate::{FuncMap, Function, Limits, Param, Template, Value};
use proptest::prelude::*;

fn funcs() -> Arc<FuncMap> {
    let mut m = FuncMap::new();
    m.insert(
        "upper",
        Function::new(&[Param::Str], None, |a| {
            Ok(Value::string(a[0].as_str().unwrap_or("").to_uppercase()))
        }),
    );
    m.insert(
        "join",
        Function::new(&[Param::Str], Some(Param::Any), |a| {
            Ok(Value::string(gotemplate::fmt::sprint(&a[1..])))
        }),
    );
    m.insert(
        "until",
        Function::new(&[Param::Int], None, |a| {
            let n = match a[0] {
                Value::Int(n) => n.clamp(0, 10_000),
                _ => 0,
            };
            Ok(Value::list((0..n).map(Value::Int).collect()))
        }),
    );
    m.insert(
        "fail",
        Function::new(&[], Some(Param::Any), |_| Err("boom".into())),
    );
    Arc::new(m)
}

fn data() -> Value {
    Value::from(serde_json::json!({
        "a": 1, "b": "two", "c": [1, "x", null, 2.5, {"d": "e"}], "m": {"k": "v", "n": null},
        "t": true, "f": 0.5, "nul": null
    }))
}

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{{".to_string()),
        Just("}}".to_string()),
        Just("{{- ".to_string()),
        Just(" -}}".to_string()),
        Just(".a".to_string()),
        Just(".c".to_string()),
        Just(".m.k".to_string()),
        Just(".nul.x".to_string()),
        Just("$".to_string()),
        Just("$x".to_string()),
        Just("$y".to_string()),
        Just(":=".to_string()),
        Just("=".to_string()),
        Just(",".to_string()),
        Just("|".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just(" ".to_string()),
        Just("\n".to_string()),
        Just("range".to_string()),
        Just("if".to_string()),
        Just("else".to_string()),
        Just("with".to_string()),
        Just("end".to_string()),
        Just("break".to_string()),
        Just("continue".to_string()),
        Just("define \"x\"".to_string()),
        Just("template \"x\"".to_string()),
        Just("block \"x\" .".to_string()),
        Just("printf \"%d %s %v %x %.2f %[3]q %*d\"".to_string()),
        Just("index".to_string()),
        Just("slice".to_string()),
        Just("len".to_string()),
        Just("and".to_string()),
        Just("or".to_string()),
        Just("not".to_string()),
        Just("eq".to_string()),
        Just("lt".to_string()),
        Just("print".to_string()),
        Just("html".to_string()),
        Just("js".to_string()),
        Just("urlquery".to_string()),
        Just("call".to_string()),
        Just("upper".to_string()),
        Just("join".to_string()),
        Just("until 50".to_string()),
        Just("fail".to_string()),
        Just("nil".to_string()),
        Just("true".to_string()),
        Just("1".to_string()),
        Just("-2.5e3".to_string()),
        Just("0x1p4".to_string()),
        Just("'a'".to_string()),
        Just("1i".to_string()),
        Just("\"str\"".to_string()),
        Just("`raw`".to_string()),
        Just("/*c*/".to_string()),
        Just(".".to_string()),
        Just("text".to_string()),
        "[ -~]{0,3}",
    ]
}

/// 3000 cases per property, or `PROPTEST_CASES` for a long fuzzing run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000)
}

fn run(src: &str) {
    let limits = Limits {
        max_output_bytes: 20_000,
        max_built_bytes: 1024 * 1024,
        timeout: Duration::from_millis(200),
    };
    if let Ok(t) = Template::parse("t", src, &funcs()) {
        let mut out = String::new();
        let _ = t.execute(&data(), &mut out, &limits);
        let _ = t.execute(&Value::Nil, &mut out, &limits);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,80}") {
        run(&src);
    }

    #[test]
    fn structured_fragments_never_panic(parts in proptest::collection::vec(fragment(), 0..40)) {
        run(&parts.concat());
    }

    #[test]
    fn well_formed_actions_never_panic(parts in proptest::collection::vec(fragment(), 0..12)) {
        run(&format!("{{{{ {} }}}}", parts.join(" ")));
        run(&format!("{{{{range $i, $e := .c}}}}{{{{ {} }}}}{{{{end}}}}", parts.join(" ")));
    }

    #[test]
    fn printf_formats_never_panic(format in "[%0-9.*#+ \\[\\]a-zA-Z!-]{0,16}") {
        let args = [Value::Int(3), Value::str("s"), Value::Float(-1.5), Value::Nil, data()];
        let _ = gotemplate::fmt::sprintf(&format, &args);
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let deep_parens = format!("{{{{{}1{}}}}}", "(".repeat(5000), ")".repeat(5000));
    run(&deep_parens);
    let deep_ifs = format!("{}x{}", "{{if 1}}".repeat(5000), "{{end}}".repeat(5000));
    run(&deep_ifs);
}

#[test]
fn runaway_loops_stop_at_the_limits() {
    let limits = Limits {
        max_output_bytes: 1000,
        timeout: Duration::from_millis(100),
        ..Limits::default()
    };
    let t = Template::parse(
        "t",
        "{{range until 10000}}{{range until 10000}}{{end}}{{end}}",
        &funcs(),
    )
    .unwrap();
    let mut out = String::new();
    let err = t.execute(&Value::Nil, &mut out, &limits).unwrap_err();
    assert_eq!(err.kind(), gotemplate::ErrorKind::Timeout);
}
