//! sprig's path functions (`base`, `dir`, `clean`, `ext`, `isAbs` and their
//! `os*` twins, identical on Linux) and the sandboxed OS/network functions
//! (`env`, `expandenv`, `getHostByName`).

use gotemplate::{FuncMap, Function, Param, Value};

use crate::args;

/// Registers the path, environment and network functions.
pub(crate) fn register(m: &mut FuncMap) {
    let s1 = |m: &mut FuncMap, names: [&'static str; 2], f: fn(&str) -> Value| {
        for name in names {
            m.insert(
                name,
                Function::new(&[Param::Str], None, move |a| Ok(f(args::string(a, 0)?))),
            );
        }
    };
    s1(m, ["base", "osBase"], |p| Value::string(base(p)));
    s1(m, ["dir", "osDir"], |p| Value::string(dir(p)));
    s1(m, ["clean", "osClean"], |p| Value::string(clean(p)));
    s1(m, ["ext", "osExt"], |p| Value::str(ext(p)));
    s1(m, ["isAbs", "osIsAbs"], |p| Value::Bool(p.starts_with('/')));
    // Sandbox: templates see an empty environment.
    m.insert(
        "env",
        Function::new(&[Param::Str], None, |_| Ok(Value::str(""))),
    );
    m.insert(
        "expandenv",
        Function::new(&[Param::Str], None, |a| {
            Ok(Value::string(expand_empty_env(args::string(a, 0)?)))
        }),
    );
    m.insert(
        "getHostByName",
        Function::new(&[Param::Str], None, |_| {
            Err("getHostByName is disabled: templates may not do DNS lookups".to_string())
        }),
    );
}

/// Go's `path.Clean`.
pub(crate) fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Go's `path.Base`.
fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".to_string();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// Go's `path.Dir`.
fn dir(p: &str) -> String {
    let cut = p.rfind('/').map_or(0, |i| i + 1);
    clean(p.get(..cut).unwrap_or_default())
}

/// Go's `path.Ext`.
fn ext(p: &str) -> &str {
    for (i, b) in p.bytes().enumerate().rev() {
        match b {
            b'/' => return "",
            b'.' => return p.get(i..).unwrap_or_default(),
            _ => {}
        }
    }
    ""
}

/// `os.ExpandEnv` over an empty environment: every variable expands to "",
/// with Go's handling of `$$`, `${}` and a trailing `$`.
fn expand_empty_env(s: &str) -> String {
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0usize;
    let mut j = 0usize;
    while j < b.len() {
        if b[j] == b'$' && j + 1 < b.len() {
            out.extend_from_slice(b.get(i..j).unwrap_or_default());
            let (name_len, w) = shell_name(b.get(j + 1..).unwrap_or_default());
            if name_len == 0 && w == 0 {
                out.push(b'$');
            }
            j += w;
            i = j + 1;
        }
        j += 1;
    }
    out.extend_from_slice(b.get(i..).unwrap_or_default());
    crate::args::go_lossy(&out)
}

/// Go's `getShellName`: (length of the name, bytes consumed).
fn shell_name(s: &[u8]) -> (usize, usize) {
    let special = |c: u8| b"*#$@!?-0123456789".contains(&c);
    match s.first() {
        Some(b'{') => {
            if s.len() > 2 && special(s[1]) && s[2] == b'}' {
                return (1, 3);
            }
            for (i, c) in s.iter().enumerate().skip(1) {
                if *c == b'}' {
                    return if i == 1 { (0, 2) } else { (i - 1, i + 1) };
                }
            }
            (0, 1)
        }
        Some(c) if special(*c) => (1, 1),
        _ => {
            let n = s
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            (n, n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_go_path_package() {
        assert_eq!(clean("a/../../b/./c//"), "../b/c");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean(""), ".");
        assert_eq!(base("/a/b/"), "b");
        assert_eq!(base("///"), "/");
        assert_eq!(dir("/a/b"), "/a");
        assert_eq!(dir("ab"), ".");
        assert_eq!(ext("a/b.tar.gz"), ".gz");
        assert_eq!(ext("a.b/c"), "");
    }

    #[test]
    fn expandenv_sees_an_empty_environment() {
        assert_eq!(expand_empty_env("a $HOME b ${X} c $ d$"), "a  b  c $ d$");
        assert_eq!(expand_empty_env("${}x${"), "x");
        assert_eq!(expand_empty_env("$1x"), "x");
    }
}
