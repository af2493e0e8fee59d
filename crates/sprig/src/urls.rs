//! sprig's `urlParse` and `urlJoin`, over a port of Go's `net/url` parsing
//! and printing rules (escaping modes, userinfo, ports, raw paths).

use std::collections::BTreeMap;
use std::sync::Arc;

use gotemplate::{FuncMap, Function, Param, Value};

use crate::args;
use gotemplate::go::strconv::quote;

/// Registers `urlParse` and `urlJoin`.
pub(crate) fn register(m: &mut FuncMap) {
    m.insert(
        "urlParse",
        Function::new(&[Param::Str], None, |a| url_parse(args::string(a, 0)?)),
    );
    m.insert(
        "urlJoin",
        Function::new(&[Param::MapAny], None, |a| {
            url_join(&args::map(a, 0)?.to_btree())
        }),
    );
}

fn url_parse(raw: &str) -> Result<Value, String> {
    let u = parse(raw).map_err(|e| format!("unable to parse url: {e}"))?;
    let mut d: BTreeMap<Arc<str>, Value> = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        d.insert(Arc::from(k), Value::string(v));
    };
    put("scheme", u.scheme.clone());
    put("host", u.host.clone());
    put("hostname", split_host_port(&u.host).0.to_string());
    put("path", u.path.clone());
    put("query", u.raw_query.clone());
    put("opaque", u.opaque.clone());
    put("fragment", u.fragment.clone());
    put(
        "userinfo",
        u.user
            .as_ref()
            .map(Userinfo::to_go_string)
            .unwrap_or_default(),
    );
    Ok(Value::map(d))
}

fn url_join(d: &BTreeMap<Arc<str>, Value>) -> Result<Value, String> {
    let get = |k: &str| -> Result<String, String> {
        match d.get(k) {
            None => Ok(String::new()),
            Some(Value::Str(s)) => Ok(s.to_string()),
            Some(Value::Nil) => {
                Err("runtime error: invalid memory address or nil pointer dereference".to_string())
            }
            Some(other) => Err(format!(
                "unable to parse {k} key, must be of type string, but {} found",
                other.kind_name()
            )),
        }
    };
    let mut u = GoUrl {
        scheme: get("scheme")?,
        host: get("host")?,
        path: get("path")?,
        raw_query: get("query")?,
        opaque: get("opaque")?,
        fragment: get("fragment")?,
        ..GoUrl::default()
    };
    let userinfo = get("userinfo")?;
    if !userinfo.is_empty() {
        let temp = parse(&format!("proto://{userinfo}@host"))
            .map_err(|e| format!("unable to parse userinfo in dict: {e}"))?;
        u.user = temp.user;
    }
    Ok(Value::string(u.to_go_string()))
}

#[derive(Clone, Debug, Default)]
struct Userinfo {
    username: String,
    password: Option<String>,
}

impl Userinfo {
    fn to_go_string(&self) -> String {
        let mut s = escape(&self.username, Mode::UserPassword);
        if let Some(p) = &self.password {
            s.push(':');
            s.push_str(&escape(p, Mode::UserPassword));
        }
        s
    }
}

/// Go's `url.URL`, the fields sprig reads or writes.
#[derive(Clone, Debug, Default)]
struct GoUrl {
    scheme: String,
    opaque: String,
    user: Option<Userinfo>,
    host: String,
    path: String,
    raw_path: String,
    omit_host: bool,
    force_query: bool,
    raw_query: String,
    fragment: String,
    raw_fragment: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    Zone,
    UserPassword,
    Fragment,
}

fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if matches!(mode, Mode::Host | Mode::Zone) && b"!$&'()*+,;=:[]<>\"".contains(&c) {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => return false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => {
            return match mode {
                Mode::Path => c == b'?',
                Mode::UserPassword => matches!(c, b'@' | b'/' | b'?' | b':'),
                Mode::Fragment => false,
                Mode::Host | Mode::Zone => true,
            };
        }
        _ => {}
    }
    if mode == Mode::Fragment && matches!(c, b'!' | b'(' | b')' | b'*') {
        return false;
    }
    true
}

fn unhex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

fn escape_error(s: &[u8]) -> String {
    format!("invalid URL escape {}", quote(&crate::args::go_lossy(s)))
}

/// Go's `unescape`.
fn unescape(s: &str, mode: Mode) -> Result<String, String> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut n = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'%' => {
                n += 1;
                let (h1, h2) = (b.get(i + 1), b.get(i + 2));
                let valid = matches!((h1, h2), (Some(x), Some(y)) if x.is_ascii_hexdigit() && y.is_ascii_hexdigit());
                if !valid {
                    let end = (i + 3).min(b.len());
                    return Err(escape_error(b.get(i..end).unwrap_or_default()));
                }
                let seq = b.get(i..i + 3).unwrap_or_default();
                let (x, y) = (
                    unhex(h1.copied().unwrap_or(0)),
                    unhex(h2.copied().unwrap_or(0)),
                );
                if mode == Mode::Host && x < 8 && seq != b"%25" {
                    return Err(escape_error(seq));
                }
                if mode == Mode::Zone {
                    let v = (x << 4) | y;
                    if seq != b"%25" && v != b' ' && should_escape(v, Mode::Host) {
                        return Err(escape_error(seq));
                    }
                }
                i += 3;
            }
            _ => {
                if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && should_escape(c, mode) {
                    return Err(format!(
                        "invalid character {} in host name",
                        quote(&char::from(c).to_string())
                    ));
                }
                i += 1;
            }
        }
    }
    if n == 0 {
        return Ok(s.to_string());
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let x = unhex(b.get(i + 1).copied().unwrap_or(0));
            let y = unhex(b.get(i + 2).copied().unwrap_or(0));
            out.push((x << 4) | y);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    Ok(crate::args::go_lossy(&out))
}

/// Go's `escape`.
fn escape(s: &str, mode: Mode) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if should_escape(c, mode) {
            out.push_str(&format!("%{c:02X}"));
        } else {
            out.push(char::from(c));
        }
    }
    out
}

fn valid_encoded(s: &str, mode: Mode) -> bool {
    s.bytes()
        .all(|c| b"!$&'()*+,;=:@[]%".contains(&c) || !should_escape(c, mode))
}

fn valid_optional_port(port: &str) -> bool {
    match port.strip_prefix(':') {
        None => port.is_empty(),
        Some(digits) => digits.bytes().all(|b| b.is_ascii_digit()),
    }
}

fn split_host_port(hostport: &str) -> (&str, &str) {
    let mut host = hostport;
    let mut port = "";
    if let Some(colon) = host.rfind(':') {
        if valid_optional_port(host.get(colon..).unwrap_or_default()) {
            port = host.get(colon + 1..).unwrap_or_default();
            host = host.get(..colon).unwrap_or_default();
        }
    }
    if host.len() >= 2 && host.starts_with('[') && host.ends_with(']') {
        host = host.get(1..host.len() - 1).unwrap_or_default();
    }
    (host, port)
}

fn valid_userinfo(s: &str) -> bool {
    s.chars()
        .all(|r| r.is_ascii_alphanumeric() || "-._:~!$&'()*+,;=%@".contains(r))
}

/// Go's `url.Parse`, with its `parse "URL": reason` errors.
fn parse(raw: &str) -> Result<GoUrl, String> {
    let (u, frag) = raw.split_once('#').unwrap_or((raw, ""));
    let mut url = parse_no_fragment(u).map_err(|e| format!("parse {}: {e}", quote(u)))?;
    if frag.is_empty() {
        return Ok(url);
    }
    let f = unescape(frag, Mode::Fragment).map_err(|e| format!("parse {}: {e}", quote(raw)))?;
    url.raw_fragment = if escape(&f, Mode::Fragment) == frag {
        String::new()
    } else {
        frag.to_string()
    };
    url.fragment = f;
    Ok(url)
}

fn get_scheme(raw: &str) -> Result<(&str, &str), String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' => {
                if i == 0 {
                    return Ok(("", raw));
                }
            }
            b':' => {
                if i == 0 {
                    return Err("missing protocol scheme".to_string());
                }
                return Ok((
                    raw.get(..i).unwrap_or_default(),
                    raw.get(i + 1..).unwrap_or_default(),
                ));
            }
            _ => return Ok(("", raw)),
        }
    }
    Ok(("", raw))
}

fn parse_no_fragment(raw: &str) -> Result<GoUrl, String> {
    if raw.bytes().any(|b| b < b' ' || b == 0x7f) {
        return Err("net/url: invalid control character in URL".to_string());
    }
    let mut url = GoUrl::default();
    if raw == "*" {
        url.path = "*".to_string();
        return Ok(url);
    }
    let (scheme, rest) = get_scheme(raw)?;
    url.scheme = scheme.to_ascii_lowercase();
    let mut rest = rest;
    if rest.ends_with('?') && rest.matches('?').count() == 1 {
        url.force_query = true;
        rest = rest.get(..rest.len() - 1).unwrap_or_default();
    } else if let Some((r, q)) = rest.split_once('?') {
        url.raw_query = q.to_string();
        rest = r;
    }
    if !rest.starts_with('/') {
        if !url.scheme.is_empty() {
            url.opaque = rest.to_string();
            return Ok(url);
        }
        let segment = rest.split('/').next().unwrap_or_default();
        if segment.contains(':') {
            return Err("first path segment in URL cannot contain colon".to_string());
        }
    }
    if (!url.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let after = rest.get(2..).unwrap_or_default();
        let (authority, path) = match after.find('/') {
            Some(i) => (
                after.get(..i).unwrap_or_default(),
                after.get(i..).unwrap_or_default(),
            ),
            None => (after, ""),
        };
        let (user, host) = parse_authority(authority)?;
        url.user = user;
        url.host = host;
        rest = path;
    } else if !url.scheme.is_empty() && rest.starts_with('/') {
        url.omit_host = true;
    }
    let path = unescape(rest, Mode::Path)?;
    url.raw_path = if escape(&path, Mode::Path) == rest {
        String::new()
    } else {
        rest.to_string()
    };
    url.path = path;
    Ok(url)
}

fn parse_authority(authority: &str) -> Result<(Option<Userinfo>, String), String> {
    let at = authority.rfind('@');
    let host = parse_host(match at {
        Some(i) => authority.get(i + 1..).unwrap_or_default(),
        None => authority,
    })?;
    let Some(i) = at else {
        return Ok((None, host));
    };
    let userinfo = authority.get(..i).unwrap_or_default();
    if !valid_userinfo(userinfo) {
        return Err("net/url: invalid userinfo".to_string());
    }
    let user = match userinfo.split_once(':') {
        None => Userinfo {
            username: unescape(userinfo, Mode::UserPassword)?,
            password: None,
        },
        Some((u, p)) => Userinfo {
            username: unescape(u, Mode::UserPassword)?,
            password: Some(unescape(p, Mode::UserPassword)?),
        },
    };
    Ok((Some(user), host))
}

fn parse_host(host: &str) -> Result<String, String> {
    if host.starts_with('[') {
        let Some(i) = host.rfind(']') else {
            return Err("missing ']' in host".to_string());
        };
        let colon_port = host.get(i + 1..).unwrap_or_default();
        if !valid_optional_port(colon_port) {
            return Err(format!("invalid port {} after host", quote(colon_port)));
        }
        if let Some(zone) = host.get(..i).and_then(|h| h.find("%25")) {
            let h1 = unescape(host.get(..zone).unwrap_or_default(), Mode::Host)?;
            let h2 = unescape(host.get(zone..i).unwrap_or_default(), Mode::Zone)?;
            let h3 = unescape(host.get(i..).unwrap_or_default(), Mode::Host)?;
            return Ok(h1 + &h2 + &h3);
        }
    } else if let Some(i) = host.rfind(':') {
        let colon_port = host.get(i..).unwrap_or_default();
        if !valid_optional_port(colon_port) {
            return Err(format!("invalid port {} after host", quote(colon_port)));
        }
    }
    unescape(host, Mode::Host)
}

impl GoUrl {
    fn escaped_path(&self) -> String {
        if !self.raw_path.is_empty()
            && valid_encoded(&self.raw_path, Mode::Path)
            && unescape(&self.raw_path, Mode::Path).is_ok_and(|p| p == self.path)
        {
            return self.raw_path.clone();
        }
        if self.path == "*" {
            return "*".to_string();
        }
        escape(&self.path, Mode::Path)
    }

    fn escaped_fragment(&self) -> String {
        if !self.raw_fragment.is_empty()
            && valid_encoded(&self.raw_fragment, Mode::Fragment)
            && unescape(&self.raw_fragment, Mode::Fragment).is_ok_and(|f| f == self.fragment)
        {
            return self.raw_fragment.clone();
        }
        escape(&self.fragment, Mode::Fragment)
    }

    /// Go's `URL.String`.
    fn to_go_string(&self) -> String {
        let mut buf = String::new();
        if !self.scheme.is_empty() {
            buf.push_str(&self.scheme);
            buf.push(':');
        }
        if !self.opaque.is_empty() {
            buf.push_str(&self.opaque);
        } else {
            let no_authority = self.host.is_empty() && self.user.is_none();
            // `//` and the authority are written unless there is none to
            // write (no scheme, or a scheme whose host Go omitted).
            if !no_authority || (!self.scheme.is_empty() && !self.omit_host) {
                if !self.host.is_empty() || !self.path.is_empty() || self.user.is_some() {
                    buf.push_str("//");
                }
                if let Some(u) = &self.user {
                    buf.push_str(&u.to_go_string());
                    buf.push('@');
                }
                if !self.host.is_empty() {
                    buf.push_str(&escape(&self.host, Mode::Host));
                }
            }
            let path = self.escaped_path();
            if !path.is_empty() && !path.starts_with('/') && !self.host.is_empty() {
                buf.push('/');
            }
            if buf.is_empty() && path.split('/').next().unwrap_or_default().contains(':') {
                buf.push_str("./");
            }
            buf.push_str(&path);
        }
        if self.force_query || !self.raw_query.is_empty() {
            buf.push('?');
            buf.push_str(&self.raw_query);
        }
        if !self.fragment.is_empty() {
            buf.push('#');
            buf.push_str(&self.escaped_fragment());
        }
        buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(v: &Value, k: &str) -> String {
        match v {
            Value::Map(m) => m
                .get(k)
                .as_ref()
                .and_then(|v| v.as_str())
                .unwrap_or("?")
                .to_string(),
            _ => "?".to_string(),
        }
    }

    #[test]
    fn url_parse_returns_sprigs_keys() {
        let v = url_parse("https://u:p%40ss@proxy.example:3128/a%20b/c?x=1#frag").unwrap();
        assert_eq!(field(&v, "scheme"), "https");
        assert_eq!(field(&v, "host"), "proxy.example:3128");
        assert_eq!(field(&v, "hostname"), "proxy.example");
        assert_eq!(field(&v, "path"), "/a b/c");
        assert_eq!(field(&v, "query"), "x=1");
        assert_eq!(field(&v, "fragment"), "frag");
        assert_eq!(field(&v, "userinfo"), "u:p%40ss");
        assert_eq!(field(&v, "opaque"), "");
    }

    #[test]
    fn url_parse_fails_like_go() {
        assert_eq!(
            url_parse(":foo").unwrap_err(),
            "unable to parse url: parse \":foo\": missing protocol scheme"
        );
        assert_eq!(
            url_parse("http://a b.com/").unwrap_err(),
            "unable to parse url: parse \"http://a b.com/\": invalid character \" \" in host name"
        );
        assert_eq!(
            url_parse("http://h:port/").unwrap_err(),
            "unable to parse url: parse \"http://h:port/\": invalid port \":port\" after host"
        );
    }

    #[test]
    fn url_join_prints_like_url_string() {
        let d: BTreeMap<Arc<str>, Value> = [
            ("scheme", "http"),
            ("host", "example.com:80"),
            ("path", "/a b"),
            ("query", "q=1"),
            ("userinfo", "me:pw"),
        ]
        .into_iter()
        .map(|(k, v)| (Arc::from(k), Value::str(v)))
        .collect();
        assert_eq!(
            url_join(&d).unwrap().as_str(),
            Some("http://me:pw@example.com:80/a%20b?q=1")
        );
    }
}
