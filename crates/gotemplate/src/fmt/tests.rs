//! Unit tests of Go's fmt semantics on template values.

use super::*;

fn f(format: &str, args: &[Value]) -> String {
    sprintf(format, args)
}

#[test]
fn floats_print_like_go_v() {
    assert_eq!(sprint(&[Value::Float(3.0)]), "3");
    assert_eq!(sprint(&[Value::Float(1_000_000.0)]), "1e+06");
    assert_eq!(sprint(&[Value::Float(123_456.0)]), "123456");
    assert_eq!(sprint(&[Value::Float(0.0001)]), "0.0001");
    assert_eq!(sprint(&[Value::Float(0.00001)]), "1e-05");
    assert_eq!(sprint(&[Value::Float(1.5)]), "1.5");
    assert_eq!(sprint(&[Value::Float(-2.25e21)]), "-2.25e+21");
}

#[test]
fn float_verbs_round_like_go() {
    assert_eq!(f("%.2f", &[Value::Float(1.23456)]), "1.23");
    assert_eq!(f("%e", &[Value::Float(1234.5678)]), "1.234568e+03");
    assert_eq!(f("%g", &[Value::Float(100000000.0)]), "1e+08");
    assert_eq!(f("%.3g", &[Value::Float(1.0)]), "1");
    assert_eq!(f("%8.3f|", &[Value::Float(-1.5)]), "  -1.500|");
    assert_eq!(f("%08.3f", &[Value::Float(-1.5)]), "-001.500");
    assert_eq!(f("%+.1e", &[Value::Float(0.0)]), "+0.0e+00");
}

#[test]
fn sprint_puts_spaces_only_between_non_strings() {
    let args = [Value::Int(1), Value::Int(2), Value::str("a"), Value::Int(3)];
    assert_eq!(sprint(&args), "1 2a3");
    assert_eq!(sprintln(&args), "1 2 a 3\n");
}

#[test]
fn integers_take_flags_width_and_bases() {
    assert_eq!(
        f(
            "%5d|%-5d|%05d",
            &[Value::Int(42), Value::Int(42), Value::Int(-42)]
        ),
        "   42|42   |-0042"
    );
    assert_eq!(
        f(
            "%x %X %o %b %#x %#o",
            &[
                Value::Int(255),
                Value::Int(255),
                Value::Int(8),
                Value::Int(5),
                Value::Int(255),
                Value::Int(8)
            ]
        ),
        "ff FF 10 101 0xff 010"
    );
    assert_eq!(
        f(
            "%c %q %U",
            &[Value::Int(65), Value::Int(65), Value::Int(0x1F600)]
        ),
        "A 'A' U+1F600"
    );
}

#[test]
fn strings_quote_and_truncate() {
    assert_eq!(f("%q", &[Value::str("a\"b\n")]), "\"a\\\"b\\n\"");
    assert_eq!(
        f(
            "%.2s|%5s|%-5s|",
            &[Value::str("hello"), Value::str("ab"), Value::str("ab")]
        ),
        "he|   ab|ab   |"
    );
    assert_eq!(f("%x", &[Value::str("hi")]), "6869");
    assert_eq!(f("% x", &[Value::str("hi")]), "68 69");
}

#[test]
fn bad_verbs_missing_and_extra_arguments_are_reported_inline() {
    assert_eq!(f("%d", &[Value::str("x")]), "%!d(string=x)");
    assert_eq!(f("%s %s", &[Value::str("x")]), "x %!s(MISSING)");
    assert_eq!(
        f("%s", &[Value::str("x"), Value::Int(1)]),
        "x%!(EXTRA int=1)"
    );
    assert_eq!(f("abc%", &[]), "abc%!(NOVERB)");
    assert_eq!(f("%!", &[]), "%!!(MISSING)");
    assert_eq!(f("%d", &[Value::Nil]), "%!d(<nil>)");
}

#[test]
fn argument_indexes_and_star_width() {
    assert_eq!(f("%[2]d %[1]d", &[Value::Int(1), Value::Int(2)]), "2 1");
    assert_eq!(f("%*d", &[Value::Int(4), Value::Int(7)]), "   7");
    assert_eq!(f("%[3]d", &[Value::Int(1)]), "%!d(BADINDEX)");
    assert_eq!(f("%*d", &[Value::str("x"), Value::Int(7)]), "%!(BADWIDTH)7");
}

#[test]
fn lists_and_maps_print_with_nil_elements() {
    let list = Value::list(vec![Value::Int(1), Value::Nil, Value::str("a")]);
    assert_eq!(sprint(std::slice::from_ref(&list)), "[1 <nil> a]");
    let mut m = std::collections::BTreeMap::new();
    m.insert(std::sync::Arc::from("b"), Value::Float(2.0));
    m.insert(std::sync::Arc::from("a"), Value::Float(1.0));
    assert_eq!(sprint(&[Value::map(m)]), "map[a:1 b:2]");
    assert_eq!(
        f("%d", std::slice::from_ref(&list)),
        "[1 <nil> %!d(string=a)]"
    );
    assert_eq!(f("%T", &[list]), "[]interface {}");
}

#[test]
fn sharp_v_prints_go_syntax() {
    assert_eq!(f("%#v", &[Value::str("a")]), "\"a\"");
    assert_eq!(
        f("%#v", &[Value::list(vec![Value::Int(1), Value::str("x")])]),
        "[]interface {}{1, \"x\"}"
    );
}

#[test]
fn huge_float_precisions_print_zeros_instead_of_panicking() {
    let e = sprintf("%.70000e", &[Value::Float(1.5)]);
    assert!(
        e.starts_with("1.5000") && e.ends_with("0e+00"),
        "{}",
        &e[..20]
    );
    assert_eq!(e.len(), "1.".len() + 70000 + "e+00".len());
    let f = sprintf("%.70000f", &[Value::Float(0.25)]);
    assert!(f.starts_with("0.25000"));
    assert_eq!(f.len(), "0.".len() + 70000);
    let g = sprintf("%.70000g", &[Value::Float(2.0)]);
    assert_eq!(g, "2");
    assert_eq!(
        sprintf("%.6305655s", &[Value::Float(1.0)]).len(),
        "%!s(float64=1)".len()
    );
}
