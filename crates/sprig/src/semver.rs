//! sprig's `semver` and `semverCompare`, following Masterminds/semver v3:
//! loose version parsing (`v` prefix, missing minor/patch), prerelease
//! ordering, and its constraint language (`^ ~ > < >= <= != =`, `x`
//! wildcards, `a - b` ranges, `,`/space for AND, `||` for OR).

use std::any::Any;
use std::cmp::Ordering;
use std::sync::{Arc, LazyLock};

use gotemplate::{FuncMap, Function, Object, Param, Value};
use regex::Regex;

use crate::args;

const VERSION_RE: &str = r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const CV_RE: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

fn re(pattern: String) -> Option<Regex> {
    Regex::new(&pattern).ok()
}

static VERSION: LazyLock<Option<Regex>> = LazyLock::new(|| re(format!("^{VERSION_RE}$")));
static CONSTRAINT: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(format!(r"^\s*({OPS})\s*({CV_RE})\s*$")));
static RANGE: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(format!(r"\s*({CV_RE})\s+-\s+({CV_RE})\s*")));
static FIND: LazyLock<Option<Regex>> = LazyLock::new(|| re(format!(r"({OPS})\s*({CV_RE})")));
static VALID: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(format!(
        r"^(\s*({OPS})\s*({CV_RE})\s*)((?:\s+|,\s*)({OPS})\s*({CV_RE})\s*)*$"
    ))
});

fn regex(r: &LazyLock<Option<Regex>>) -> Result<&Regex, String> {
    r.as_ref()
        .ok_or_else(|| "semver: internal pattern failed to compile".to_string())
}

/// A `*semver.Version` (or, from the `Inc*`/`Set*` methods, a
/// `semver.Version` value).
#[derive(Clone, Debug)]
pub(crate) struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    pub(crate) original: String,
    pointer: bool,
}

const INVALID: &str = "Invalid Semantic Version";

fn parse_segment(s: &str) -> Result<u64, String> {
    s.parse::<u64>().map_err(|_| {
        format!(
            "Error parsing version segment: strconv.ParseUint: parsing {}: value out of range",
            gotemplate::go::strconv::quote(s)
        )
    })
}

fn only(s: &str, allowed: impl Fn(char) -> bool) -> bool {
    s.chars().all(allowed)
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

fn validate_prerelease(p: &str) -> Result<(), String> {
    for part in p.split('.') {
        if only(part, |c| c.is_ascii_digit()) {
            if part.len() > 1 && part.starts_with('0') {
                return Err("Version segment starts with 0".to_string());
            }
        } else if !only(part, is_ident_char) {
            return Err("Invalid Prerelease string".to_string());
        }
    }
    Ok(())
}

fn validate_metadata(m: &str) -> Result<(), String> {
    if m.split('.').all(|p| only(p, is_ident_char)) {
        Ok(())
    } else {
        Err("Invalid Metadata string".to_string())
    }
}

impl Version {
    /// `semver.NewVersion`.
    pub(crate) fn parse(v: &str) -> Result<Version, String> {
        let caps = regex(&VERSION)?
            .captures(v)
            .ok_or_else(|| INVALID.to_string())?;
        let group = |i: usize| caps.get(i).map_or("", |m| m.as_str());
        let seg = |i: usize| -> Result<u64, String> {
            let g = group(i).trim_start_matches('.');
            if g.is_empty() {
                Ok(0)
            } else {
                parse_segment(g)
            }
        };
        let out = Version {
            major: parse_segment(group(1))?,
            minor: seg(2)?,
            patch: seg(3)?,
            pre: group(5).to_string(),
            metadata: group(8).to_string(),
            original: v.to_string(),
            pointer: true,
        };
        if !out.pre.is_empty() {
            validate_prerelease(&out.pre)?;
        }
        if !out.metadata.is_empty() {
            validate_metadata(&out.metadata)?;
        }
        Ok(out)
    }

    fn go_string(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.metadata.is_empty() {
            s.push('+');
            s.push_str(&self.metadata);
        }
        s
    }

    fn compare(&self, o: &Version) -> Ordering {
        self.major
            .cmp(&o.major)
            .then(self.minor.cmp(&o.minor))
            .then(self.patch.cmp(&o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &o.pre),
            })
    }

    fn v_prefix(&self) -> &'static str {
        if self.original.starts_with('v') {
            "v"
        } else {
            ""
        }
    }

    /// A `semver.Version` value derived from this one, `original` rebuilt.
    fn derived(&self, f: impl FnOnce(&mut Version)) -> Version {
        let mut next = self.clone();
        f(&mut next);
        next.original = format!("{}{}", self.v_prefix(), next.go_string());
        next.pointer = false;
        next
    }
}

pub(crate) fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let ap: Vec<&str> = a.split('.').collect();
    let bp: Vec<&str> = b.split('.').collect();
    for i in 0..ap.len().max(bp.len()) {
        let d = compare_pre_part(
            ap.get(i).copied().unwrap_or(""),
            bp.get(i).copied().unwrap_or(""),
        );
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Err(_), Err(_)) => {
            if s > o {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Ok(si), Ok(oi)) => {
            if si > oi {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

fn version_arg(args: &[Value], i: usize) -> Result<Version, String> {
    match args.get(i) {
        Some(Value::Object(o)) => o
            .as_any()
            .downcast_ref::<Version>()
            .cloned()
            .ok_or_else(|| {
                format!(
                    "wrong type for value; expected *semver.Version; got {}",
                    o.type_name()
                )
            }),
        Some(other) => Err(format!(
            "wrong type for value; expected *semver.Version; got {}",
            other.type_name()
        )),
        None => Err("wrong number of args: want 1 got 0".to_string()),
    }
}

fn obj(v: Version) -> Value {
    Value::Object(Arc::new(v))
}

impl Object for Version {
    fn type_name(&self) -> &'static str {
        if self.pointer {
            "*semver.Version"
        } else {
            "semver.Version"
        }
    }

    fn kind_name(&self) -> &'static str {
        if self.pointer {
            "ptr"
        } else {
            "struct"
        }
    }

    fn member(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        // Methods with pointer receivers are not callable on a (returned,
        // unaddressable) `semver.Version` value.
        let pointer_only = matches!(
            name,
            "Original" | "LessThan" | "GreaterThan" | "Equal" | "Compare"
        );
        if pointer_only && !self.pointer {
            return None;
        }
        let s = |x: &str| Some(Ok(Value::str(x)));
        let with_arg = |f: &dyn Fn(&Version) -> Value| Some(version_arg(args, 0).map(|o| f(&o)));
        match name {
            "Major" => Some(Ok(Value::Int(self.major as i64))),
            "Minor" => Some(Ok(Value::Int(self.minor as i64))),
            "Patch" => Some(Ok(Value::Int(self.patch as i64))),
            "Prerelease" => s(&self.pre),
            "Metadata" => s(&self.metadata),
            "Original" => s(&self.original),
            "String" => Some(Ok(Value::string(self.go_string()))),
            "IncPatch" => Some(Ok(obj(self.derived(|n| {
                if n.pre.is_empty() {
                    n.patch += 1;
                }
                n.pre.clear();
                n.metadata.clear();
            })))),
            "IncMinor" => Some(Ok(obj(self.derived(|n| {
                n.minor += 1;
                n.patch = 0;
                n.pre.clear();
                n.metadata.clear();
            })))),
            "IncMajor" => Some(Ok(obj(self.derived(|n| {
                n.major += 1;
                n.minor = 0;
                n.patch = 0;
                n.pre.clear();
                n.metadata.clear();
            })))),
            "SetPrerelease" | "SetMetadata" => {
                let arg = match args::string(args, 0) {
                    Ok(a) => a.to_string(),
                    Err(e) => return Some(Err(e)),
                };
                let check = if name == "SetPrerelease" {
                    validate_prerelease(&arg)
                } else {
                    validate_metadata(&arg)
                };
                if !arg.is_empty() {
                    if let Err(e) = check {
                        return Some(Err(e));
                    }
                }
                Some(Ok(obj(self.derived(|n| {
                    if name == "SetPrerelease" {
                        n.pre = arg;
                    } else {
                        n.metadata = arg;
                    }
                }))))
            }
            "LessThan" => with_arg(&|o| Value::Bool(self.compare(o) == Ordering::Less)),
            "GreaterThan" => with_arg(&|o| Value::Bool(self.compare(o) == Ordering::Greater)),
            "Equal" => with_arg(&|o| Value::Bool(self.compare(o) == Ordering::Equal)),
            "Compare" => with_arg(&|o| Value::Int(self.compare(o) as i64)),
            _ => None,
        }
    }

    fn go_string(&self) -> String {
        Version::go_string(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// JSON form: `MarshalJSON` writes `String()`.
pub(crate) fn json_text(v: &Version) -> String {
    v.go_string()
}

#[derive(Debug)]
struct Constraint {
    con: Version,
    op: String,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "*" | "X")
}

fn parse_constraint(c: &str) -> Result<Constraint, String> {
    if c.is_empty() {
        return Ok(Constraint {
            con: Version::parse("0.0.0")?,
            op: String::new(),
            minor_dirty: false,
            patch_dirty: false,
            dirty: true,
        });
    }
    let caps = regex(&CONSTRAINT)?
        .captures(c)
        .ok_or_else(|| format!("improper constraint: {c}"))?;
    let g = |i: usize| caps.get(i).map_or("", |m| m.as_str());
    let (m3, m4, m5, m6) = (g(3), g(4), g(5), g(6));
    let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
    let ver = if is_x(m3) || m3.is_empty() {
        dirty = true;
        format!("0.0.0{m6}")
    } else if is_x(m4.trim_start_matches('.')) || m4.is_empty() {
        minor_dirty = true;
        dirty = true;
        format!("{m3}.0.0{m6}")
    } else if is_x(m5.trim_start_matches('.')) || m5.is_empty() {
        dirty = true;
        patch_dirty = true;
        format!("{m3}{m4}.0{m6}")
    } else {
        g(2).to_string()
    };
    let con = Version::parse(&ver).map_err(|_| "constraint Parser Error".to_string())?;
    Ok(Constraint {
        con,
        op: g(1).to_string(),
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

/// `semver.NewConstraint`: OR groups of AND-ed constraints.
fn parse_constraints(c: &str) -> Result<Vec<Vec<Constraint>>, String> {
    let c = rewrite_range(c)?;
    let mut out = Vec::new();
    for part in c.split("||") {
        if !regex(&VALID)?.is_match(part) {
            return Err(format!("improper constraint: {part}"));
        }
        let found: Vec<&str> = regex(&FIND)?.find_iter(part).map(|m| m.as_str()).collect();
        let found = if found.is_empty() { vec![part] } else { found };
        out.push(
            found
                .into_iter()
                .map(parse_constraint)
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    Ok(out)
}

/// `a - b` becomes `>= a, <= b`.
fn rewrite_range(c: &str) -> Result<String, String> {
    let r = regex(&RANGE)?;
    let mut out = c.to_string();
    for caps in r.captures_iter(c) {
        let whole = caps.get(0).map_or("", |m| m.as_str());
        let from = caps.get(1).map_or("", |m| m.as_str());
        let to = caps.get(11).map_or("", |m| m.as_str());
        out = out.replacen(whole, &format!(">= {from}, <= {to}"), 1);
    }
    Ok(out)
}

impl Constraint {
    fn check(&self, v: &Version) -> bool {
        let c = &self.con;
        let pre_blocked = !v.pre.is_empty() && c.pre.is_empty();
        let cmp = v.compare(c);
        match self.op.as_str() {
            "" | "=" => {
                if pre_blocked {
                    false
                } else if self.dirty {
                    self.tilde(v)
                } else {
                    cmp == Ordering::Equal
                }
            }
            "!=" => self.not_equal(v),
            ">" => {
                if pre_blocked {
                    return false;
                }
                if !self.dirty {
                    return cmp == Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major > c.major;
                }
                if self.minor_dirty {
                    return false;
                }
                if self.patch_dirty {
                    return v.minor > c.minor;
                }
                cmp == Ordering::Greater
            }
            "<" => !pre_blocked && cmp == Ordering::Less,
            ">=" | "=>" => !pre_blocked && cmp != Ordering::Less,
            "<=" | "=<" => {
                if pre_blocked {
                    return false;
                }
                if !self.dirty {
                    return cmp != Ordering::Greater;
                }
                !(v.major > c.major
                    || (v.major == c.major && v.minor > c.minor && !self.minor_dirty))
            }
            "~" | "~>" => !pre_blocked && self.tilde(v),
            "^" => !pre_blocked && self.caret(v),
            _ => false,
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if !v.pre.is_empty() && c.pre.is_empty() {
            return false;
        }
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }

    fn caret(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major > 0 || self.minor_dirty {
            return v.major == c.major;
        }
        if v.major > 0 {
            return false;
        }
        if c.minor > 0 || self.patch_dirty {
            return v.minor == c.minor;
        }
        if v.minor > 0 {
            return false;
        }
        c.patch == v.patch
    }

    fn not_equal(&self, v: &Version) -> bool {
        let c = &self.con;
        if self.dirty {
            if !v.pre.is_empty() && c.pre.is_empty() {
                return false;
            }
            if c.major != v.major {
                return true;
            }
            if c.minor != v.minor && !self.minor_dirty {
                return true;
            } else if self.minor_dirty {
                return false;
            } else if c.patch != v.patch && !self.patch_dirty {
                return true;
            } else if self.patch_dirty {
                if !v.pre.is_empty() || !c.pre.is_empty() {
                    return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                }
                return false;
            }
        }
        v.compare(c) != Ordering::Equal
    }
}

/// `semverCompare CONSTRAINT VERSION`.
pub(crate) fn semver_compare(constraint: &str, version: &str) -> Result<bool, String> {
    let groups = parse_constraints(constraint)?;
    let v = Version::parse(version)?;
    Ok(groups.iter().any(|g| g.iter().all(|c| c.check(&v))))
}

/// Registers `semver` and `semverCompare`.
pub(crate) fn register(m: &mut FuncMap) {
    m.insert(
        "semver",
        Function::new(&[Param::Str], None, |a| {
            Version::parse(args::string(a, 0)?).map(obj)
        }),
    );
    m.insert(
        "semverCompare",
        Function::new(&[Param::Str, Param::Str], None, |a| {
            semver_compare(args::string(a, 0)?, args::string(a, 1)?).map(Value::Bool)
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(c: &str, v: &str) -> bool {
        semver_compare(c, v).unwrap()
    }

    #[test]
    fn versions_parse_loosely_and_order_prereleases() {
        let v = Version::parse("v1.2").unwrap();
        assert_eq!(v.go_string(), "1.2.0");
        assert_eq!(v.original, "v1.2");
        assert_eq!(
            Version::parse("1.2.3.4").unwrap_err(),
            "Invalid Semantic Version"
        );
        assert_eq!(
            Version::parse("1.2.3-01").unwrap_err(),
            "Version segment starts with 0"
        );
        let a = Version::parse("1.0.0-alpha.1").unwrap();
        let b = Version::parse("1.0.0-alpha.beta").unwrap();
        assert_eq!(a.compare(&b), Ordering::Less);
        assert_eq!(
            Version::parse("1.0.0").unwrap().compare(&a),
            Ordering::Greater
        );
    }

    #[test]
    fn constraints_follow_masterminds_semantics() {
        assert!(cmp("^1.2.0", "1.9.9"));
        assert!(!cmp("^1.2.0", "2.0.0"));
        assert!(cmp("^0.2.3", "0.2.9"));
        assert!(!cmp("^0.2.3", "0.3.0"));
        assert!(cmp("~1.2.3", "1.2.9"));
        assert!(!cmp("~1.2.3", "1.3.0"));
        assert!(cmp(">=1.2, <2", "1.5.0"));
        assert!(cmp("1.2 - 1.4", "1.4.0"));
        assert!(!cmp("1.2 - 1.4", "1.5.0"));
        assert!(cmp("1.x", "1.7.2"));
        assert!(cmp("<1.0 || >=2.0", "2.1.0"));
        assert!(!cmp(">1.0", "1.5.0-beta"));
        assert!(cmp(">1.0-0", "1.5.0-beta"));
        assert!(cmp("!=1.2.3", "1.2.4"));
        assert!(cmp("*", "3.0.0"));
        assert_eq!(
            semver_compare("abc", "1.0.0").unwrap_err(),
            "improper constraint: abc"
        );
        assert_eq!(
            semver_compare(">1", "x").unwrap_err(),
            "Invalid Semantic Version"
        );
    }
}
