//! `.env` files: `KEY=VALUE` lines, the usual rules.
//!
//! - Blank lines and lines starting with `#` are skipped; an `export ` prefix is allowed.
//! - Keys are letters, digits, `_` and `.`, not starting with a digit; spaces around `=` are
//!   allowed.
//! - An unquoted value is trimmed, and a `#` after a space starts a comment.
//! - A `'single-quoted'` value is taken as written; a `"double-quoted"` one understands
//!   `\n`, `\t`, `\r`, `\"`, `\\` and `\$`. Either may be followed only by a comment.
//! - Values are literal: `$OTHER` is not expanded (the shell running the command expands it).
//!
//! Anything else — a line without `=`, a bad key, an unterminated quote — is an error naming
//! the line.

/// One malformed line: its number (1-based) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotenvError {
    pub line: usize,
    pub message: String,
}

/// The variables of a `.env` text, in order (a later repeat of a key wins when applied).
pub fn parse(text: &str) -> Result<Vec<(String, String)>, DotenvError> {
    let mut vars = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let err = |message: String| DotenvError { line, message };
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let t = t
            .strip_prefix("export ")
            .or_else(|| t.strip_prefix("export\t"))
            .map_or(t, str::trim_start);
        let Some((key, rest)) = t.split_once('=') else {
            return Err(err(format!(
                "expected KEY=VALUE, found {:?}",
                crate::safe::clip(t)
            )));
        };
        let key = key.trim_end();
        if !valid_key(key) {
            return Err(err(format!(
                "{:?} is not a variable name (letters, digits, _ and ., not starting with a digit)",
                crate::safe::clip(key)
            )));
        }
        let value = value(rest.trim_start()).map_err(err)?;
        vars.push((key.to_owned(), value));
    }
    Ok(vars)
}

fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// The value after `=` (leading spaces removed).
fn value(rest: &str) -> Result<String, String> {
    let mut chars = rest.char_indices();
    match chars.next() {
        None => Ok(String::new()),
        Some((_, '\'')) => {
            let body = &rest[1..];
            let end = body
                .find('\'')
                .ok_or("unterminated single quote (a quoted value ends on its line)")?;
            after_quote(&body[end + 1..])?;
            Ok(body[..end].to_owned())
        }
        Some((_, '"')) => {
            let mut out = String::new();
            let mut escaped = false;
            for (i, c) in rest[1..].char_indices() {
                if escaped {
                    out.push(match c {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '"' | '\\' | '$' => c,
                        other => return Err(format!("unknown escape \\{other} in double quotes")),
                    });
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    after_quote(&rest[1 + i + 1..])?;
                    return Ok(out);
                } else {
                    out.push(c);
                }
            }
            Err("unterminated double quote (a quoted value ends on its line)".to_owned())
        }
        Some(_) => {
            // A `#` that follows whitespace starts a comment; `a#b` is a value.
            let mut end = rest.len();
            let bytes = rest.as_bytes();
            for (i, &b) in bytes.iter().enumerate() {
                if b == b'#' && i > 0 && (bytes[i - 1] == b' ' || bytes[i - 1] == b'\t') {
                    end = i;
                    break;
                }
            }
            Ok(rest[..end].trim_end().to_owned())
        }
    }
}

/// After a closing quote: nothing, or a comment.
fn after_quote(tail: &str) -> Result<(), String> {
    let tail = tail.trim_start();
    if tail.is_empty() || tail.starts_with('#') {
        Ok(())
    } else {
        Err(format!(
            "unexpected {:?} after the closing quote",
            crate::safe::clip(tail)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Vec<(String, String)> {
        parse(text).unwrap()
    }

    #[test]
    fn the_usual_forms() {
        let vars = ok(
            "# comment\n\nPORT=3000\nexport NAME = demo app  # a comment\n\
                       A='single # kept'\nB=\"line\\nnext \\\"q\\\" \\$HOME\"  # c\nEMPTY=\nURL=http://x/#frag\n\
                       dotted.key=1\n  INDENTED=yes\n",
        );
        let get = |k: &str| vars.iter().find(|(n, _)| n == k).unwrap().1.clone();
        assert_eq!(get("PORT"), "3000");
        assert_eq!(get("NAME"), "demo app");
        assert_eq!(get("A"), "single # kept");
        assert_eq!(get("B"), "line\nnext \"q\" $HOME");
        assert_eq!(get("EMPTY"), "");
        assert_eq!(get("URL"), "http://x/#frag");
        assert_eq!(get("dotted.key"), "1");
        assert_eq!(get("INDENTED"), "yes");
    }

    #[test]
    fn malformed_lines_are_errors_with_their_number() {
        let e = |text: &str| parse(text).unwrap_err();
        let x = e("A=1\nJUST_A_WORD\n");
        assert_eq!(x.line, 2);
        assert!(x.message.contains("expected KEY=VALUE"), "{x:?}");
        assert!(e("1X=2").message.contains("not a variable name"));
        assert_eq!(e("A=1\n\nB='open\n").line, 3);
        assert!(e("B=\"open").message.contains("unterminated double quote"));
        assert!(e("B=\"x\" y").message.contains("after the closing quote"));
        assert!(e("B=\"\\q\"").message.contains("unknown escape"));
        assert!(e("=value").message.contains("not a variable name"));
    }
}
