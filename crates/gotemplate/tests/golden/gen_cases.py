#!/usr/bin/env python3
"""Writes cases.json: Go-builtin-only templates for the golden test.

Run ./regen.sh to refresh builtins.json from the Go oracle."""
import json

D = {
    "s": "hello", "n": 3, "f": 1.5, "big": 1000000, "small": 0.00001, "neg": -2,
    "t": True, "fl": False, "nul": None, "empty": "", "zero": 0,
    "list": [1, "two", 3.5, None, True], "strs": ["b", "a", "c"], "nums": [3, 1, 2],
    "m": {"b": 2, "a": 1, "c": {"d": "deep"}}, "em": {}, "el": [],
    "nested": {"x": {"y": {"z": "found"}}, "l": [{"k": "v0"}, {"k": "v1"}]},
    "html": "<a href='x'>&\"</a>", "url": "a b&c=d/é?", "uni": "héllo wörld ✓",
    "k8s": {"metadata": {"name": "demo", "namespace": "ns1", "labels": {"app": "web"}},
            "spec": {"replicas": 2, "ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]}},
}

T = []
def c(name, tmpl, data=D):
    T.append({"name": name, "template": tmpl, "data": data})

# text, comments, trimming
c("text", "plain text")
c("empty", "")
c("comment", "a{{/* c */}}b")
c("comment_trim", "a  {{- /* c */ -}}  b")
c("trim_both", "x \n {{- .s -}} \n y")
c("trim_left_only", "x   {{- .s }}   y")
c("trim_no_space_minus", "{{-3}}")
c("trim_number", "{{ -3 }}")
# fields & variables
for e in [".s", ".n", ".f", ".big", ".small", ".neg", ".t", ".fl", ".nul", ".empty", ".zero",
          ".list", ".strs", ".m", ".em", ".el", ".nested.x.y.z", ".missing", ".missing.x",
          ".m.c.d", ".m.zz", ".", "$", "$.s", "$.m.a", ".nested.l"]:
    c("field" + e, "{{" + e + "}}")
c("field_on_null", "{{.nul.x}}")
c("field_on_string", "{{.s.x}}")
c("field_on_number", "{{.n.x}}")
c("field_on_list", "{{.list.x}}")
c("field_on_bool", "{{.t.x}}")
c("field_with_args", "{{.m.a 1}}")
c("var_decl", "{{$x := .s}}{{$x}}")
c("var_assign", "{{$x := 1}}{{$x = 2}}{{$x}}")
c("var_scope_if", "{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}")
c("var_assign_in_if", "{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}")
c("var_undefined", "{{$y}}")
c("var_field", "{{$x := .m}}{{$x.c.d}}")
c("var_dollar_in_range", "{{range .strs}}{{$.s}}{{end}}")
c("var_missing_field", "{{$x := .missing}}{{$x.y}}")
c("var_null_field", "{{$x := .nul}}{{$x.y}}")
c("var_nonfunc_args", "{{$x := 1}}{{$x 2}}")
c("dot_nonfunc_args", "{{. 2}}")
c("assign_undeclared", "{{$u = 1}}")
c("decl_no_print", "{{$x := 5}}")
c("paren_field", "{{(.m).a}}")
c("paren_pipe_field", "{{(index .nested.l 1).k}}")
c("chain_on_nil", "{{(nil).x}}")
c("chain_on_const", "{{(1).x}}")
# pipelines
c("pipe_print", "{{.s | print}}")
c("pipe_printf", "{{.n | printf \"%d-%s\" \"x\"}}")
c("pipe_multi", "{{\"a\" | printf \"%s%s\" \"b\" | printf \"[%s]\"}}")
c("pipe_nonexec", "{{.s | 3}}")
c("pipe_dangling", "{{.s |}}")
c("paren_nested", "{{print (print (print 1 2) 3)}}")
# if/else/with
c("if_true", "{{if .t}}yes{{else}}no{{end}}")
c("if_false", "{{if .fl}}yes{{else}}no{{end}}")
for e in [".nul", ".empty", ".zero", ".el", ".em", ".missing", ".list", ".m", ".s", "0.0", "1", "\"\"", "nil"]:
    c("if_truth" + e, "{{if " + e + "}}T{{else}}F{{end}}")
c("else_if", "{{if .fl}}a{{else if .t}}b{{else}}c{{end}}")
c("else_if_chain", "{{if eq .n 1}}one{{else if eq .n 2}}two{{else if eq .n 3}}three{{else}}many{{end}}")
c("with", "{{with .m}}{{.a}}{{end}}")
c("with_else", "{{with .missing}}x{{else}}none{{end}}")
c("with_var", "{{with $x := .s}}{{$x}}{{.}}{{end}}")
c("if_var_scope", "{{if $x := .s}}{{$x}}{{end}}")
# range
c("range_list", "{{range .list}}[{{.}}]{{end}}")
c("range_idx", "{{range $i, $e := .strs}}{{$i}}:{{$e}} {{end}}")
c("range_map", "{{range $k, $v := .m}}{{$k}}={{$v}};{{end}}")
c("range_one_var", "{{range $v := .nums}}{{$v}}{{end}}")
c("range_else", "{{range .el}}x{{else}}empty{{end}}")
c("range_missing", "{{range .missing}}x{{else}}none{{end}}")
c("range_nil", "{{range .nul}}x{{else}}none{{end}}")
c("range_int", "{{range 5}}x{{end}}")
c("range_string", "{{range .s}}x{{end}}")
c("range_break", "{{range .nums}}{{if eq . 1.0}}{{break}}{{end}}{{.}}{{end}}")
c("range_continue", "{{range .nums}}{{if eq . 1.0}}{{continue}}{{end}}{{.}}{{end}}")
c("break_outside", "{{break}}")
c("continue_outside", "{{if true}}{{continue}}{{end}}")
c("range_nested", "{{range .nested.l}}{{range $k, $v := .}}{{$k}}{{$v}}{{end}}{{end}}")
c("range_null_elem_field", "{{range .list}}{{.x}}{{end}}")
c("range_assign", "{{$x := 0}}{{range $x = .nums}}{{$x}}{{end}}{{$x}}")
c("range_three_vars", "{{range $a, $b, $c := .nums}}{{end}}")
c("range_decl_print", "{{range $i, $e := .strs}}{{$i}}{{end}}")
c("range_k8s", "{{range .k8s.spec.ports}}{{.name}}:{{.port}}\n{{end}}")
# define/template/block
c("define", "{{define \"a\"}}A{{.}}{{end}}{{template \"a\" 1}}")
c("template_nodot", "{{define \"a\"}}[{{.}}]{{end}}{{template \"a\"}}")
c("template_undefined", "{{template \"zz\"}}")
c("block", "{{block \"b\" .s}}<{{.}}>{{end}}")
c("block_override", "{{define \"b\"}}over{{end}}{{block \"b\" .}}orig{{end}}")
c("define_twice", "{{define \"a\"}}1{{end}}{{define \"a\"}}2{{end}}")
c("define_main_name", "{{define \"t\"}}from define{{end}}")
c("define_main_conflict", "x{{define \"t\"}}from define{{end}}")
c("template_vars_isolated", "{{$x := 1}}{{define \"a\"}}{{$x}}{{end}}")
c("template_error_inside", "{{define \"a\"}}\n  {{.x.y}}{{end}}{{template \"a\" .nul}}{{template \"a\" .m}}")
c("template_error_name", "{{define \"a\"}}{{index . 5}}{{end}}{{template \"a\" .nums}}")
c("template_recursive", "{{define \"r\"}}{{if .}}{{index . 0}}{{template \"r\" (index . 1)}}{{end}}{{end}}{{template \"r\" .nums}}")
c("define_in_if", "{{if true}}{{define \"x\"}}{{end}}{{end}}")
c("template_raw_name", "{{define `a`}}A{{end}}{{template `a`}}")
# builtins: and/or/not
c("and", "{{and 1 0 2}}|{{and 1 2}}|{{and .s .n}}|{{and .nul .s}}")
c("or", "{{or 0 \"\" .s}}|{{or 0 .nul}}|{{or .missing}}|{{or .t .fl}}")
c("and_short_circuit", "{{and .fl (index .el 5)}}")
c("or_short_circuit", "{{or .t (index .el 5)}}")
c("and_pipe", "{{.s | and 1}}")
c("and_noargs", "{{and}}")
c("not", "{{not .t}} {{not .nul}} {{not .list}} {{not 0}}")
c("not_args", "{{not 1 2}}")
# len/index/slice
c("len", "{{len .s}} {{len .list}} {{len .m}} {{len .el}} {{len .uni}}")
c("len_int", "{{len .n}}")
c("len_nil", "{{len .nul}}")
c("len_missing", "{{len .missing}}")
c("index_list", "{{index .list 1}} {{index .strs 0}}")
c("index_map", "{{index .m \"a\"}} {{index .m \"zz\"}} {{index .m \"c\" \"d\"}}")
c("index_nested", "{{index .nested.l 1 \"k\"}}")
c("index_oob", "{{index .nums 3}}")
c("index_oob2", "{{index .nums 4}}")
c("index_neg", "{{index .nums -1}}")
c("index_float", "{{index .nums 1.0}}")
c("index_float_data", "{{index .nums .f}}")
c("index_string", "{{index .s 1}}")
c("index_nil", "{{index .nul 1}}")
c("index_missing", "{{index .missing 1}}")
c("index_int", "{{index .n 1}}")
c("index_map_int", "{{index .m 1}}")
c("index_map_nil_key", "{{index .m nil}}")
c("index_noidx", "{{index .list}}")
c("index_nil_chain", "{{index .m \"zz\" \"y\"}}")
c("index_missing_print", "{{index .m \"zz\"}}")
c("index_missing_in_printf", "{{printf \"%v\" (index .m \"zz\")}}")
# print family
c("print", "{{print 1 2 \"a\" \"b\" 3 .nul .t}}")
c("println", "{{println 1 \"a\" .nul}}")
c("printf_basic", "{{printf \"%s=%d %v %q\" \"k\" 5 .list .s}}")
c("printf_float", "{{printf \"%.2f %e %g %v %6.1f|%-8.3f|\" .f .f .big .small .f .f}}")
c("printf_data_int", "{{printf \"%d\" .n}}")
c("printf_missing", "{{printf \"%s %s\" \"a\"}}")
c("printf_extra", "{{printf \"%s\" \"a\" 1 .t}}")
c("printf_nil", "{{printf \"%s %v %d\" .nul .nul .missing}}")
c("printf_map", "{{printf \"%v|%+v|%#v\" .m .m .m}}")
c("printf_types", "{{printf \"%T %T %T %T %T %T %T\" .s .n 1 .list .m .nul .strs}}")
c("printf_bases", "{{printf \"%x %X %o %O %b %c %U %#x %08.3d|%+d|% d\" 255 255 8 8 5 65 65 255 7 3 3}}")
c("printf_str_hex", "{{printf \"%x % X %#x %10.2s|\" \"hi\" \"hi\" \"hi\" \"hello\"}}")
c("printf_quote", "{{printf \"%q %+q %#q\" .uni .uni \"back`q\"}}")
c("printf_index", "{{printf \"%[2]s %[1]s %[3]s\" \"a\" \"b\"}}")
c("printf_star", "{{printf \"%*d|%-*d|%.*f\" 5 1 4 2 2 3.14159}}")
c("printf_badverb", "{{printf \"%z %d\" 1 \"s\"}}")
c("printf_noverb", "{{printf \"100%\"}}")
c("printf_percent", "{{printf \"100%%\"}}")
c("printf_bool", "{{printf \"%t %v %s\" true false true}}")
c("printf_nonstring_format", "{{printf 3}}")
c("printf_float_data", "{{printf \"%d\" .f}}")
c("printf_list_verb", "{{printf \"%d %s %q\" .nums .strs .strs}}")
c("printf_big_floats", "{{printf \"%v %v %v %v %v\" 1e21 1e20 123456789.0 0.000123 100000.0}}")
c("print_floats", "{{.big}} {{.small}} {{1e6}} {{1.0}} {{3.25}} {{-0.0}} {{1e100}}")
c("printf_g_prec", "{{printf \"%.3g %.10g %g %G %.0f %.0f %.0f\" 3.14159 3.14159 1e-7 1e-7 0.5 1.5 2.5}}")
c("printf_sharp_float", "{{printf \"%#g %#.3g %#v %#f\" 1.0 2.0 3.0 4.0}}")
c("printf_width_unicode", "{{printf \"%6s|%-6s|\" \"é✓\" \"é✓\"}}")
c("printf_plus_v", "{{printf \"%+v %#v\" .list .list}}")
c("printf_zero_pad_str", "{{printf \"%05s\" \"ab\"}}")
c("printf_bad_index", "{{printf \"%[0]d %[x]d\" 1}}")
# escapers
c("html", "{{html .html}}")
c("html_multi", "{{html 1 \"<\" .nul}}")
c("html_missing", "{{html .missing}}")
c("html_pipe", "{{.html | html}}")
c("js", "{{js .html}} {{js \"a=b\\n\\u2028\"}}")
c("urlquery", "{{urlquery .url}} {{.url | urlquery}} {{urlquery 1 2}}")
c("urlquery_missing", "{{urlquery .missing}}")
c("call", "{{call .s}}")
c("call_nil", "{{call .nul}}")
# comparisons
c("eq_basic", "{{eq 1 1}} {{eq \"a\" \"a\"}} {{eq .s \"hello\"}} {{eq .t true}}")
c("eq_multi", "{{eq .s \"x\" \"y\" \"hello\"}}")
c("eq_int_float", "{{eq .n 3}}")
c("eq_float", "{{eq .n 3.0}}")
c("eq_nil", "{{eq .nul .missing}} {{eq .missing \"x\"}}")
c("eq_lists", "{{eq .list .list}}")
c("eq_list_nil", "{{eq .list .nul}}")
c("eq_list_map", "{{eq .list .m}}")
c("eq_maps", "{{eq .m .m}}")
c("eq_one_arg", "{{eq 1}}")
c("ne", "{{ne 1 2}} {{ne \"a\" \"a\"}}")
c("ne_three", "{{ne 1 2 3}}")
c("lt", "{{lt 1 2}} {{lt \"b\" \"a\"}} {{lt 1.5 .f}} {{le 2 2}} {{gt 3 2}} {{ge 1 2}}")
c("lt_mixed", "{{lt 1 1.5}}")
c("lt_bool", "{{lt true false}}")
c("lt_nil", "{{lt .nul 1}}")
c("lt_list", "{{lt .list 1}}")
c("gt_data", "{{gt .n 2.0}} {{gt .k8s.spec.replicas 1.0}}")
c("eq_bool_str", "{{eq true \"true\"}}")
# numbers
c("numbers", "{{1}} {{-1}} {{+1}} {{0x1F}} {{0o17}} {{017}} {{0b101}} {{1_000}} {{1.5e3}} {{.5}} {{'a'}} {{'\\n'}} {{0x1p4}}")
c("number_overflow", "{{99999999999999999999}}")
c("number_uint_overflow", "{{18446744073709551615}}")
c("number_bad", "{{1x}}")
c("number_08", "{{08}}")
c("number_bad_underscore", "{{1__0}}")
c("number_complex", "{{1i}}")
c("number_huge_float", "{{1e400}}")
c("char_bad", "{{'ab'}}")
c("char_unterminated", "{{'a}}")
c("bool_nil", "{{true}} {{false}}")
c("nil_command", "{{nil}}")
c("nil_arg", "{{print nil}}")
c("nil_arg_typed", "{{printf nil}}")
# strings
c("strings", "{{\"a\\tb\"}} {{`raw\\n`}} {{\"\\u00e9\\x41\\101\"}}")
c("string_bad_escape", "{{\"\\q\"}}")
c("string_unterminated", "{{\"abc}}")
c("raw_multiline", "{{`a\nb`}}")
# parse errors
c("unclosed_action", "{{.s")
c("unclosed_action_multiline", "{{.s\n\n")
c("unclosed_paren", "{{(.s}}")
c("extra_paren", "{{.s)}}")
c("unexpected_end", "{{end}}")
c("unexpected_else", "{{else}}")
c("missing_end", "{{if .t}}x")
c("else_twice", "{{if .t}}a{{else}}b{{else}}c{{end}}")
c("empty_action", "{{}}")
c("empty_pipe_if", "{{if}}x{{end}}")
c("bad_char", "{{.s #}}")
c("bad_unicode_char", "{{.s ☃}}")
c("unclosed_comment", "{{/* x")
c("comment_no_delim", "{{/* x */ .s}}")
c("undefined_func", "{{nope 1}}")
c("unknown_keyword_in_cmd", "{{.s else}}")
c("dot_after_const", "{{\"x\".y}}")
c("decl_too_many", "{{$a, $b := 1}}")
c("range_decl_bad", "{{range $a, 1}}{{end}}")
c("colon_bad", "{{$a : 1}}")
c("template_no_name", "{{template .s}}")
c("define_bad_name", "{{define 1}}{{end}}")
c("define_no_end", "{{define \"a\"}}x")
c("long_token_error", "{{if .s}}{{end}}{{\"this is a long string\" 1 | 2}}")
c("field_bad_char", "{{.a-b}}")
c("multiline_error_line", "line1\nline2\n{{.s}}\n{{if}}")
c("error_col", "abc\n  xx {{.s.x}}")
c("error_context_truncated", "{{printf \"%s\" .nul.aaaaaaaaaaaaaaaaaaaaaaaaaaa}}")
c("exec_error_keeps_output", "before {{.s}} {{index .nums 9}} after")
c("wrong_args_user", "{{len 1 2}}")
c("deep_missing_map_in_list", "{{range .nested.l}}{{.k}}{{.missing}}{{end}}")
c("field_method_args", "{{.s.x 1}}")
c("k8s_realistic", """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .k8s.metadata.name }}-cfg
  namespace: {{ .k8s.metadata.namespace }}
  labels:
  {{- range $k, $v := .k8s.metadata.labels }}
    {{ $k }}: {{ $v | printf "%q" }}
  {{- end }}
data:
  replicas: "{{ .k8s.spec.replicas }}"
  {{- with .k8s.spec.ports }}
  ports: {{ len . }}
  first: {{ (index . 0).port }}
  {{- end }}
  url: https://x/?q={{ urlquery .k8s.metadata.name "a b" }}
""")
c("data_root_string", "{{.}} {{len .}}", "str")
c("data_root_null", "{{.}} {{.x}}", None)
c("data_root_number", "{{.}} {{.x}}", 2.5)
c("data_root_list_field", "{{.x}}", [1])

# fmt matrix: every verb with every flag over values of every type
VALS = ["7", "-7", ".n", ".f", ".neg", ".big", ".small", "0.1", "1e21", "123456789.0", ".s", ".uni",
        ".empty", ".t", ".nul", ".missing", ".strs", ".nums", ".m", "'x'", "-0.0", ".zero"]
for verb in "vdsqxXobeEfFgGtcUT":
    for flag in ["", "+", "-8", "08", "#", " ", ".3", "8.2", "+.1", "#-10", "x"]:
        if flag == "x":
            flag = "[1]"
        fmtstr = "|".join("%" + flag + verb for _ in VALS)
        c("fmt_%s_%s" % (verb, flag), "{{printf %s %s}}" % (json.dumps(fmtstr), " ".join(VALS)))
c("fmt_floats_shortest", "{{printf \"%v %v %v %v %v %v %v\" 0.1 0.2 0.3 1.1 2.675 1e-7 5e-324}} {{print 100.0 1e5 1e6 12345678.9 0.000012}}")
c("fmt_float_rounding", "{{printf \"%.1f %.1f %.1f %.2f %.0f %.3e %.2e\" 0.05 0.15 0.25 1.005 -0.5 1.0005 9.995}}")
c("fmt_width_star_neg", "{{printf \"%*s|%-*s|\" -5 \"a\" 3 \"b\"}}")
c("fmt_prec_star_bad", "{{printf \"%.*d|%*d\" \"x\" 5 1.5 6}}")
c("fmt_index_reorder", "{{printf \"%[2]*[1]d|%[3]v %v\" 12 5 \"z\" \"extra\"}}")
c("fmt_sharp_v_all", "{{printf \"%#v|%#v|%#v|%#v|%#v|%#v\" .s .n .f .nul .strs .em}}")
c("fmt_plus_v_nested", "{{printf \"%+v|%v\" .nested .k8s}}")
c("fmt_unicode_q", "{{printf \"%q|%+q|%x|%U|%#U|%c\" \"\\u00a0\\u200b\\x01\" \"é\" \"é\" 233 233 233}}")
# edge cases of the grammar and builtins, over small data
D2 = {"a": 1, "s": "x", "l": [1, 2], "m": {"k": "v"}, "n": None}
for name, tmpl in [
[
"range_else_if",
"{{range .l}}{{.}}{{else if .a}}y{{end}}"
],
[
"with_else_if",
"{{with .n}}a{{else if .a}}b{{end}}"
],
[
"else_with",
"{{if .n}}a{{else with .s}}{{.}}{{end}}"
],
[
"unicode_field",
"{{.ñ}}"
],
[
"unicode_var",
"{{$ñ := 1}}{{$ñ}}"
],
[
"comment_only",
"{{/* a */}}"
],
[
"comment_trim_left",
"a {{- /* a */}} b"
],
[
"comment_bad_trim",
"{{-/* a */}}"
],
[
"trim_tab",
"a\t{{- .s -}}\tb"
],
[
"trim_only_minus",
"{{- -}}"
],
[
"action_newlines",
"{{\n.s\n}}"
],
[
"pipe_in_paren_decl",
"{{($x := 1)}}"
],
[
"decl_in_paren",
"{{print ($x := .s) $x}}"
],
[
"assign_in_range_scope",
"{{$x := 0}}{{range .l}}{{$x = .}}{{end}}{{$x}}"
],
[
"nested_template_vars",
"{{define \"a\"}}{{$}}{{end}}{{template \"a\" .s}}"
],
[
"block_in_define",
"{{define \"a\"}}{{block \"b\" .}}B{{end}}{{end}}{{template \"a\"}}{{template \"b\"}}"
],
[
"template_in_range_break",
"{{range .l}}{{template \"x\"}}{{end}}{{define \"x\"}}X{{end}}"
],
[
"number_dot",
"{{.5}} {{5.}} {{-.5}}"
],
[
"number_hex_float_noexp",
"{{0x1.8}}"
],
[
"field_numeric",
"{{.1a}}"
],
[
"var_then_field_space",
"{{$ .s}}"
],
[
"dollar_field",
"{{$.a}}"
],
[
"chain_variable_call",
"{{$x := .m}}{{$x.k}}"
],
[
"double_dot",
"{{..a}}"
],
[
"bad_assign",
"{{.a = 1}}"
],
[
"index_var_nil",
"{{index $ \"n\" }}"
],
[
"printf_no_args",
"{{printf}}"
],
[
"len_string_uni",
"{{len \"é\"}}"
],
[
"print_nil_list",
"{{print .l .n}}"
],
[
"if_else_if_else",
"{{if .n}}1{{else if .n}}2{{else}}3{{end}}"
],
[
"range_map_single",
"{{range .m}}{{.}}{{end}}"
],
[
"range_var_after",
"{{range $i, $e := .l}}{{end}}{{$i}}"
],
[
"eq_nil_const",
"{{eq nil nil}}"
],
[
"eq_missing_missing",
"{{eq .zz .yy}}"
],
[
"not_nil",
"{{not nil}}"
],
[
"and_nil",
"{{and nil 1}}"
],
[
"len_nil_const",
"{{len nil}}"
],
[
"index_nil_const",
"{{index nil 1}}"
],
[
"html_nil_const",
"{{html nil}}"
],
[
"urlquery_two_strings",
"{{urlquery \"a\" \"b\"}}"
],
[
"js_unicode",
"{{js \"\\u2028 é \\u0001\"}}"
],
[
"printf_q_int",
"{{printf \"%q\" 0x1F600}}"
],
[
"printf_c_neg",
"{{printf \"%c|%U\" -1 -1}}"
],
[
"big_uint",
"{{18446744073709551615}}"
],
[
"neg_big",
"{{-9223372036854775808}}"
],
[
"neg_big2",
"{{-9223372036854775809}}"
],
[
"float_int_arg",
"{{index .l 1e0}}"
],
[
"char_escape_u",
"{{'\\u00e9'}}"
],
[
"string_octal",
"{{\"\\101\\377\"}}"
],
[
"raw_cr",
"{{`a\rb`}}"
],
[
"print_map_nested_nil",
"{{print .}}"
],
[
"template_name_escape",
"{{define \"a\\tb\"}}x{{end}}{{template \"a\\tb\"}}"
],
[
"missing_template_quote",
"{{template \"a\\tb\"}}"
],
[
"exec_err_in_define_name",
"{{define \"a\\\"q\"}}{{.x.y}}{{end}}{{template \"a\\\"q\" 1}}"
],
[
"error_context_long",
"{{printf \"%s %s %s %s %s\" .zz .zz .zz .zz (index 1 1)}}"
],
[
"range_range_break",
"{{range .l}}{{range $.l}}{{break}}{{end}}{{.}}{{end}}"
],
[
"continue_in_if_in_range",
"{{range .l}}{{if eq . 1.0}}{{continue}}{{else}}{{.}}{{end}}{{end}}"
],
[
"break_in_define",
"{{define \"a\"}}{{break}}{{end}}"
],
[
"with_break",
"{{range .l}}{{with .}}{{break}}{{end}}x{{end}}"
],
[
"unexpected_rparen_pipe",
"{{print 1)}}"
],
[
"empty_paren",
"{{()}}"
],
[
"nested_empty_paren",
"{{print ()}}"
],
[
"unterminated_raw",
"{{`abc}}"
],
[
"text_with_braces",
"a { b } }} c"
],
[
"left_delim_in_string",
"{{\"{{\"}}"
],
[
"right_delim_in_string",
"{{\"}}\"}}"
],
[
"comment_in_action",
"{{.s /* x */}}"
],
[
"var_redeclare",
"{{$x := 1}}{{$x := 2}}{{$x}}"
],
[
"range_decl_assign_mix",
"{{$i := 9}}{{range $i, $e := .l}}{{end}}{{$i}}"
]
]:
    c("edge_" + name, tmpl, D2)
json.dump(T, open("cases.json", "w"), indent=1, ensure_ascii=False)
print(len(T), "cases")
