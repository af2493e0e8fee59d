#!/usr/bin/env python3
"""Writes golden/runes.json: cases at every boundary of the rune sets the
engine takes from Go (strconv.IsPrint, and every category and script RE2's
\\p{...} names), plus durations and time quoting. Inputs only: the expected
outputs come from the Go oracle (scripts/golden-regen.sh).

    python3 crates/go-conformance/gen/runes.py
"""
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
TABLES = os.path.join(HERE, "../../gotemplate/src/go/tables.rs")
OUT = os.path.join(HERE, "../golden/runes.json")


def read_tables():
    text = open(TABLES, encoding="utf-8").read()
    pair = re.compile(r"\(0x([0-9A-F]+), 0x([0-9A-F]+)\)")
    body = text[text.index("static PRINT"):text.index("static MAJOR_CATEGORIES")]
    printable = [(int(a, 16), int(b, 16)) for a, b in pair.findall(body)]
    named = {}
    for block in re.finditer(r'\(\n\s+"(\w+)",\n\s+&\[(.*?)\],\n\s+\),', text, re.S):
        named[block.group(1)] = [(int(a, 16), int(b, 16)) for a, b in pair.findall(block.group(2))]
    return printable, named


def boundaries(ranges):
    """The runes on both sides of every range edge, in order, no surrogates."""
    seen = set()
    for lo, hi in ranges:
        for r in (lo - 1, lo, hi, hi + 1):
            if 0 <= r <= 0x10FFFF and not 0xD800 <= r <= 0xDFFF:
                seen.add(r)
    return "".join(chr(r) for r in sorted(seen))


def case(name, template, data=None):
    return {"name": "runes/" + name, "template": template, "data": data or {}}


def main():
    printable, named = read_tables()
    edges = boundaries(printable)
    cases = []
    # Quoting: the whole IsPrint boundary set through every quoting path.
    for name, template in [
        ("quote", "{{ quote .s }}"),
        ("squote", "{{ squote .s }}"),
        ("printf_q", '{{ printf "%q" .s }}'),
        ("printf_plus_q", '{{ printf "%+q" .s }}'),
        ("printf_sharp_q", '{{ printf "%#q" .s }}'),
        ("js", "{{ js .s }}"),
        ("html", "{{ html .s }}"),
        ("print", "{{ print .s }}"),
    ]:
        cases.append(case("isprint_edges_" + name, template, {"s": edges}))
    # Rune (integer) quoting and %U over the same runes.
    runes = "{{ range $c := splitList \"\" .s }}{{ $r := $c | b64enc }}{{ end }}"
    del runes
    specials = "\u0000\u0007\u007f\u00a0\u00ad\u061c\u200b\u2028\ue000\ufeff\ufffd\U0001f600\U000e0001\U000e0020\U000e007f\U000e0100\U000e01ef\U000e01f0\U000f0000\U0010ffff"
    for c in specials:
        code = ord(c)
        cases.append(case(
            "rune_%04X" % code,
            '{{ printf "%%q|%%+q|%%U|%%#U|%%c|%%q" %d %d %d %d %d .s }}|{{ quote .s }}|{{ squote .s }}|{{ js .s }}' % ((code,) * 5),
            {"s": c},
        ))
    cases.append(case("quote_tag_and_selector", '{{ quote "a\U000e0001b\U000e0100c" }}|{{ squote "a\U000e0001b\U000e0100c" }}|{{ printf "%q|%+q" "\U000e0001\U000e0100" "\U000e0001\U000e0100" }}|{{ js "\U000e0001\U000e0100" }}'))
    cases.append(case("parse_error_quotes_tag_rune", "{{ \U000e0001 }}"))
    cases.append(case("parse_error_quotes_selector_rune", "{{ \U000e0100 }}"))
    cases.append(case("undefined_function_name_is_quoted", "{{ x\u00e9\U000e0100 }}"))

    # RE2 classes: for every name Go knows, which edge runes \p{Name} matches.
    bits = '{{ range $c := splitList "" .s }}{{ if regexMatch "^%s$" $c }}1{{ else }}0{{ end }}{{ end }}'
    for name in sorted(named):
        cases.append(case("class_" + name, bits % ("\\\\p{" + name + "}"), {"s": boundaries(named[name])}))
    majors = sorted({n[0] for n in named if len(n) == 2 and n[0].isupper() and n[1].islower()} & set("CLMNPSZ"))
    for major in majors:
        ranges = sorted(r for n, rs in named.items() if len(n) == 2 and n[0] == major and n in named for r in rs)
        cases.append(case("class_" + major, bits % ("\\\\p{" + major + "}"), {"s": boundaries(ranges)}))
        cases.append(case("class_short_" + major, bits % ("\\\\p" + major), {"s": boundaries(ranges)}))
    cases.append(case("class_Any", bits % "\\\\p{Any}", {"s": "a\u0000\U0010ffff\ufffe"}))
    cases.append(case("class_fold_Lu", bits % "(?i)\\\\p{Lu}", {"s": boundaries(named["Lu"])}))
    cases.append(case("class_fold_not_Lu", bits % "(?i)\\\\P{Lu}", {"s": boundaries(named["Lu"])}))
    text = "ab漢字cd γδε Ωmega 123 ٣٤ Ünïcödé"
    for fn, template in [
        ("match", '{{ regexMatch "^\\\\p{Han}+$" "漢字" }} {{ regexMatch "\\\\p{Greek}" .s }} {{ regexMatch "^\\\\pL+$" "abc1" }}'),
        ("find", '{{ regexFind "\\\\p{Han}+" .s }}|{{ regexFind "\\\\p{Greek}+" .s }}|{{ regexFind "\\\\pL+" .s }}|{{ regexFind "\\\\p{Lu}\\\\PL" .s }}'),
        ("find_all", '{{ regexFindAll "\\\\p{Lu}" .s -1 }}|{{ regexFindAll "\\\\PL+" .s 3 }}|{{ regexFindAll "[\\\\p{Greek}\\\\p{Han}]+" .s -1 }}'),
        ("replace_all", '{{ regexReplaceAll "\\\\p{Han}" .s "H" }}|{{ regexReplaceAll "\\\\PL" .s "" }}|{{ regexReplaceAllLiteral "\\\\p{Greek}+" .s "$1" }}'),
        ("split", '{{ regexSplit "\\\\PL+" .s -1 }}|{{ regexSplit "\\\\p{Nd}" .s 2 }}'),
        ("negations", '{{ regexFindAll "\\\\p{^Greek}+" .s 2 }}|{{ regexFindAll "\\\\P{^Greek}+" .s -1 }}|{{ regexFindAll "[^\\\\pL\\\\s]+" .s -1 }}|{{ regexFindAll "[\\\\P{L}]+" .s 2 }}'),
        ("must_forms", '{{ mustRegexFind "\\\\p{Han}+" .s }}|{{ mustRegexFindAll "\\\\p{Lu}" .s -1 }}|{{ mustRegexReplaceAll "\\\\pL" "aé1" "x" }}|{{ mustRegexSplit "\\\\p{Zs}" .s -1 }}|{{ mustRegexMatch "\\\\p{Cyrillic}" "Жж" }}'),
    ]:
        cases.append(case("regex_" + fn, template, {"s": text}))
    for label, pattern in [
        ("long_name", "\\\\p{Letter}"),
        ("lower_case", "\\\\p{greek}"),
        ("unassigned", "\\\\p{Cn}"),
        ("cased_letter", "\\\\p{LC}"),
        ("script_equals", "\\\\p{sc=Greek}"),
        ("newer_script", "\\\\p{Kawi}"),
        ("newer_script_14", "\\\\p{Vithkuqi}"),
        ("one_letter_unknown", "a\\\\pX"),
        ("unclosed", "\\\\p{Greek"),
        ("at_end", "a\\\\p"),
        ("in_class", "[a\\\\p{Nope}]"),
        ("negated_unknown", "\\\\P{^Nope}"),
    ]:
        cases.append(case("regex_unknown_" + label, '{{ mustRegexMatch "%s" "a" }}' % pattern))
        cases.append(case("regex_unknown_plain_" + label, '{{ regexMatch "%s" "a" }}|{{ regexFind "%s" "a" }}' % (pattern, pattern)))

    # Durations: time.ParseDuration through dateModify, Duration.String
    # through duration and durationRound, time's own quoting in errors.
    base = '(toDate "2006-01-02" "2024-01-01")'
    for label, d in [
        ("hours_fraction", "1.5h"),
        ("many_units", "1h2m3s4ms5us6ns"),
        ("micro_sign", "3µs"),
        ("greek_mu", "3μs"),
        ("plus", "+2h"),
        ("minus_zero", "-0"),
        ("dot_leading", ".5s"),
        ("dot_trailing", "5.s"),
        ("third_of_hour", "0.3333333333333333333h"),
        ("long_fraction", "1.00000000000000000000000000001h"),
        ("fraction_rounding", "0.1234567891ms"),
        ("max", "2562047h47m16.854775807s"),
        ("max_ns", "9223372036854775807ns"),
        ("min_ns", "-9223372036854775808ns"),
        ("overflow", "2562047h47m16.854775808s"),
        ("overflow_ns", "9223372036854775808ns"),
        ("huge_int", "99999999999999999999h"),
        ("empty", ""),
        ("sign_only", "-"),
        ("dot_only", ".s"),
        ("no_unit", "10"),
        ("unknown_unit", "1d"),
        ("space_in_unit", "1h x"),
        ("non_ascii_unit", "1é"),
        ("control_unit", "1\u0001"),
        ("quote_in_unit", "1\"s"),
    ]:
        cases.append(case("dateModify_" + label, '{{ mustDateModify "%s" %s | date "2006-01-02 15:04:05.000000000" }}' % (d.replace('"', '\\"'), base)))
        cases.append(case("durationRound_" + label, '{{ durationRound "%s" }}' % d.replace('"', '\\"')))
    for secs in ["0", "1", "59", "60", "3599", "3600", "86399", "-1", "9223372036", "-9223372036", "abc"]:
        cases.append(case("duration_%s" % secs.replace("-", "minus_"), '{{ duration "%s" }}|{{ duration %s }}' % (secs, secs if secs != "abc" else "0")))
    for label, value in [("non_ascii", "2024-01-0é"), ("control", "2024-01-0\u0001"), ("quote", '2024-01-0"')]:
        cases.append(case("time_parse_error_" + label, '{{ mustToDate "2006-01-02" "%s" }}' % value.replace('"', '\\"')))
    json.dump(cases, open(OUT, "w", encoding="utf-8"), indent=2, ensure_ascii=False)
    open(OUT, "a").write("\n")
    print("wrote %d cases to %s" % (len(cases), OUT))


if __name__ == "__main__":
    main()
