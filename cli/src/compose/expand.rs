//! `${NAME}` in a configuration, replaced in the file's text before it is parsed, as
//! process-compose does.
//!
//! - `${NAME}` is the variable's value: from the environment procsnap runs in, else from the
//!   project's `.env` (the shell wins, as it does for the processes' environment); a variable
//!   set in neither is empty, with a warning naming it.
//! - `${NAME:-default}` uses `default` when the variable is unset or empty, `${NAME-default}`
//!   (and `${NAME=default}`, `${NAME:=default}`) only when it is unset; the default may hold
//!   `${OTHER}` in turn.
//! - `$$` is a literal `$`: `$${NAME}` and `$$NAME` reach the command's shell as `${NAME}`
//!   and `$NAME`, which it expands when the process starts, with the process's environment.
//! - A bare `$NAME` is left as it is, for the shell (process-compose's loader leaves it too).
//! - Bash's other forms (`${NAME^^}`, `${NAME#pattern}`, `${NAME:2}`, …) are an error naming
//!   the line, not a silent guess.
//!
//! The whole text is expanded, so `port: ${API_PORT}` is a number and a substitution works
//! in flow mappings too; a value is pasted as it is (like process-compose, a value with YAML
//! syntax in it changes the document). `disable_env_expansion: true` in the file turns all of
//! this off, `$$` included ([`super::from_text`] reads the file again as written).

use super::Located;
use super::yaml::Pos;

/// What a text's expansion found worth a warning: variables set nowhere.
#[derive(Default)]
pub struct Expansion {
    /// Each unset variable once, with where it was first used.
    pub unset: Vec<(Pos, String)>,
}

/// The position of byte `offset` of `text`.
fn pos(text: &str, offset: usize) -> Pos {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    Pos {
        line,
        column: before[start..].chars().count() + 1,
    }
}

/// `text` with every substitution made (see the module's rules), looking variables up with
/// `lookup`; an error names the substitution's line and column.
pub fn text(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    found: &mut Expansion,
) -> Result<String, Located> {
    if !text.contains('$') {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    while let Some(at) = text[done..].find('$').map(|i| done + i) {
        out.push_str(&text[done..at]);
        let rest = &text[at..];
        if rest.starts_with("$$") {
            out.push('$');
            done = at + 2;
        } else if rest.starts_with("${") {
            let mut unset = Vec::new();
            let used =
                substitution(rest, lookup, &mut unset, 0, &mut out).map_err(|message| Located {
                    pos: Some(pos(text, at)),
                    message,
                })?;
            for name in unset {
                if !found.unset.iter().any(|(_, n)| *n == name) {
                    found.unset.push((pos(text, at), name));
                }
            }
            done = at + used;
        } else {
            out.push('$');
            done = at + 1;
        }
    }
    out.push_str(&text[done..]);
    Ok(out)
}

/// Nested defaults deeper than this are an error (each level is a `${` inside a default).
const MAX_DEPTH: usize = 16;

/// `s` with its substitutions made; the names of unset variables are added to `unset`.
pub fn expand(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<String, String> {
    expand_at(s, lookup, unset, 0)
}

fn expand_at(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
    depth: usize,
) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix("$$") {
            out.push('$');
            rest = after;
        } else if rest.starts_with("${") {
            let used = substitution(rest, lookup, unset, depth, &mut out)?;
            rest = &rest[used..];
        } else {
            out.push('$');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Expands the `${…}` at the start of `s` into `out`; returns the bytes it took.
fn substitution(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
    depth: usize,
    out: &mut String,
) -> Result<usize, String> {
    let body = &s[2..];
    let name_len = body
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(body.len());
    let name = &body[..name_len];
    let after = &body[name_len..];
    let shown = || crate::safe::clip(s.split_inclusive('}').next().unwrap_or(s)).into_owned();
    if name.is_empty() {
        return Err(format!(
            "`{}`: a substitution needs a variable name",
            shown()
        ));
    }
    let value = lookup(name);
    let (op_len, when_empty) = match after.as_bytes() {
        [b'}', ..] => {
            if value.is_none() {
                unset.push(name.to_owned());
            }
            out.push_str(value.as_deref().unwrap_or(""));
            return Ok(2 + name_len + 1);
        }
        [b':', b'-' | b'=', ..] => (2, true),
        [b'-' | b'=', ..] => (1, false),
        [] => return Err(format!("`{}`: missing closing brace", shown())),
        _ => {
            return Err(format!(
                "`{}`: procsnap expands ${{NAME}}, ${{NAME:-default}} and ${{NAME-default}} when \
                 it loads the file; write $$ for a `$` the command's shell should see",
                shown()
            ));
        }
    };
    let default_start = name_len + op_len;
    let default_len = closing(&body[default_start..])
        .ok_or_else(|| format!("`{}`: missing closing brace", shown()))?;
    let default = &body[default_start..default_start + default_len];
    match value {
        Some(v) if !(when_empty && v.is_empty()) => out.push_str(&v),
        _ => {
            if depth >= MAX_DEPTH {
                return Err(format!("`{}`: defaults nested too deep", shown()));
            }
            out.push_str(&expand_at(default, lookup, unset, depth + 1)?);
        }
    }
    Ok(2 + default_start + default_len + 1)
}

/// The length of a default's text: up to the `}` that closes it (`${…}` inside it nest).
fn closing(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'$') => i += 1,
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "PORT" => Some("3000".into()),
            "EMPTY" => Some(String::new()),
            "HOST" => Some("localhost".into()),
            _ => None,
        }
    }

    fn x(s: &str) -> Result<String, String> {
        expand(s, &vars, &mut Vec::new())
    }

    #[test]
    fn braces_expand_bare_names_stay_and_two_dollars_are_one() {
        assert_eq!(x("listening on ${PORT}").unwrap(), "listening on 3000");
        assert_eq!(
            x("$PORT stays for the shell").unwrap(),
            "$PORT stays for the shell"
        );
        assert_eq!(
            x("echo $$HOME $${PORT} $$").unwrap(),
            "echo $HOME ${PORT} $"
        );
        assert_eq!(x("n=$((n+1)); $? $1 $@").unwrap(), "n=$((n+1)); $? $1 $@");
        assert_eq!(x("${HOST}:${PORT}").unwrap(), "localhost:3000");
        assert_eq!(x("a ${NOPE} b").unwrap(), "a  b");
        let mut unset = Vec::new();
        expand("${NOPE}${PORT}", &vars, &mut unset).unwrap();
        assert_eq!(unset, ["NOPE"]);
    }

    #[test]
    fn defaults_apply_when_unset_or_empty() {
        assert_eq!(x("${NOPE:-8080}").unwrap(), "8080");
        assert_eq!(x("${EMPTY:-8080}").unwrap(), "8080");
        assert_eq!(x("${EMPTY-8080}").unwrap(), "");
        assert_eq!(x("${NOPE-8080}").unwrap(), "8080");
        assert_eq!(x("${PORT:-8080}").unwrap(), "3000");
        assert_eq!(x("${NOPE:=x}").unwrap(), "x");
        assert_eq!(x("${NOPE:-${HOST}:${PORT}}!").unwrap(), "localhost:3000!");
        assert_eq!(x("${NOPE:-a}b}").unwrap(), "ab}");
        let mut unset = Vec::new();
        expand("${NOPE:-1}", &vars, &mut unset).unwrap();
        assert!(unset.is_empty(), "a default is no warning");
    }

    #[test]
    fn other_forms_are_errors_that_say_what_is_supported() {
        let e = x("${PORT^^}").unwrap_err();
        assert!(
            e.starts_with("`${PORT^^}`: procsnap expands ${NAME}"),
            "{e}"
        );
        assert!(e.contains("write $$"), "{e}");
        assert!(x("${arr[@]}").unwrap_err().contains("procsnap expands"));
        assert_eq!(
            x("echo ${PORT").unwrap_err(),
            "`${PORT`: missing closing brace"
        );
        assert!(x("${}").unwrap_err().contains("needs a variable name"));
        assert!(
            x("${NOPE:-${A")
                .unwrap_err()
                .contains("missing closing brace")
        );
        let deep = format!("{}x{}", "${A:-".repeat(40), "}".repeat(40));
        assert!(x(&deep).unwrap_err().contains("nested too deep"));
    }

    #[test]
    fn the_text_is_expanded_and_errors_and_unset_names_have_positions() {
        let mut found = Expansion::default();
        let out = text(
            "a: ${PORT}\nb: {port: ${PORT}}\nc: é ${NOPE} ${NOPE}\n",
            &vars,
            &mut found,
        )
        .unwrap();
        assert_eq!(out, "a: 3000\nb: {port: 3000}\nc: é  \n");
        assert_eq!(
            found.unset,
            [(Pos { line: 3, column: 6 }, "NOPE".to_owned())]
        );
        let e = text("a: 1\nb: x ${PORT^^}\n", &vars, &mut found).unwrap_err();
        assert_eq!(e.pos, Some(Pos { line: 2, column: 6 }));
    }
}
