//! A YAML document as a tree whose every key and value knows its line and column, read by
//! serde-saphyr under a budget: an alias bomb ("billion laughs") or an absurdly large file is
//! an error within milliseconds, never a hang or an allocation storm.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// Where something is in the file (1-based).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A YAML value and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub value: Value,
}

/// A mapping key and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub pos: Pos,
    pub name: String,
}

/// The shapes a YAML value takes.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// In document order (duplicate keys are a parse error).
    Map(Vec<(Key, Node)>),
}

impl Value {
    /// What this is, for "expected …, found …" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "a number",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Why a YAML text could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub pos: Option<Pos>,
    pub message: String,
}

/// The most parser events (and nodes) a configuration may cost. Configurations are read from
/// files of at most 16 MiB, and a node takes a few bytes, so this bounds the parse at the
/// file's size: a 6,000-process file takes ~250,000.
const MAX_EVENTS: usize = 8_000_000;
/// The most alias uses and anchor definitions.
const MAX_ALIASES: usize = 1_000;
/// The most events replayed for aliases (and recorded for anchors), all together: what an
/// alias bomb is made of. 1,000 aliases of 20 events each fit; a bomb is refused after this
/// many events are read into the tree (~4,000 instructions each), well under 0.1 s.
const MAX_REPLAYED: usize = 20_000;

/// Parses `text` (one document) into a [`Node`] tree, within the budget.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: MAX_EVENTS,
            max_nodes: MAX_EVENTS,
            max_aliases: MAX_ALIASES,
            max_anchors: MAX_ALIASES,
            max_recorded_anchor_events: MAX_REPLAYED,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_REPLAYED,
        },
    };
    let parsed: Result<Spanned<Node>, _> = serde_saphyr::from_str_with_options(text, options);
    match parsed {
        Ok(n) => Ok(n.value),
        Err(e) => {
            let pos = e.location().map(|l| Pos {
                line: l.line() as usize,
                column: l.column() as usize,
            });
            let message = match over_budget(&e) {
                Some(Over::Aliases) => format!(
                    "the document is too large once its aliases are expanded (more than \
                     {MAX_ALIASES} aliases or {MAX_REPLAYED} replayed events): an alias bomb?"
                ),
                Some(Over::Size) => format!(
                    "the document is too large (more than {MAX_EVENTS} YAML events) or nested \
                     too deep"
                ),
                None => message(&e),
            };
            Err(YamlError { pos, message })
        }
    }
}

/// Which limit a document broke.
enum Over {
    /// Aliases: their number, or the events they replay.
    Aliases,
    /// Events, nodes, depth, bytes: the document itself.
    Size,
}

/// The limit `e` reports, also when it is wrapped with the alias that caused it.
fn over_budget(e: &serde_saphyr::Error) -> Option<Over> {
    use serde_saphyr::budget::BudgetBreach as B;
    let mut e = e;
    loop {
        match e {
            serde_saphyr::Error::Budget { breach, .. } => {
                return Some(match breach {
                    B::Aliases { .. }
                    | B::Anchors { .. }
                    | B::AliasAnchorRatio { .. }
                    | B::RecordedAnchorEvents { .. }
                    | B::RecordedAnchorBytes { .. }
                    | B::MergeKeys { .. } => Over::Aliases,
                    _ => Over::Size,
                });
            }
            serde_saphyr::Error::AliasReplayLimitExceeded { .. }
            | serde_saphyr::Error::AliasExpansionLimitExceeded { .. }
            | serde_saphyr::Error::AliasReplayStackDepthExceeded { .. }
            | serde_saphyr::Error::AliasReplayCounterOverflow { .. } => return Some(Over::Aliases),
            serde_saphyr::Error::AliasError { error, .. }
            | serde_saphyr::Error::WithSnippet { error, .. } => e = error,
            _ => return None,
        }
    }
}

/// The parser's message for `e`, without its position (printed first, as
/// `file:line:column:`) and without advice about the parser's own options.
fn message(e: &serde_saphyr::Error) -> String {
    let text = strip_position(&e.without_snippet().to_string());
    match text.split_once(", set DuplicateKeyPolicy") {
        Some((head, _)) => head.to_owned(),
        None => text,
    }
}

/// The parser's message without its trailing " at line L, column C" (we print the position
/// first, as `file:line:column:`).
fn strip_position(msg: &str) -> String {
    let msg = msg.trim();
    let msg = msg
        .strip_prefix("error: ")
        .unwrap_or(msg)
        .split(" at line ")
        .next()
        .unwrap_or(msg);
    // "line 7 column 9: message" (some errors lead with the position instead).
    match msg.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") && head.contains(" column ") => {
            rest.to_owned()
        }
        _ => msg.to_owned(),
    }
}

fn pos_of<T>(s: &Spanned<T>) -> Pos {
    Pos {
        line: s.referenced.line() as usize,
        column: s.referenced.column() as usize,
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        // The position is filled in by the `Spanned` around every node.
        Ok(Node {
            pos: Pos::default(),
            value: d.deserialize_any(ValueVisitor)?,
        })
    }
}

/// A node read with its position: every child is read as `Spanned<Node>`.
fn spanned(s: Spanned<Node>) -> Node {
    let pos = pos_of(&s);
    Node {
        pos,
        value: s.value.value,
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::Int)
            .or(Ok(Value::Float(v as f64)))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(spanned(item));
        }
        Ok(Value::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<KeyText>>()? {
            let pos = pos_of(&key);
            let value = spanned(map.next_value::<Spanned<Node>>()?);
            entries.push((
                Key {
                    pos,
                    name: key.value.0,
                },
                value,
            ));
        }
        Ok(Value::Map(entries))
    }
}

/// A mapping key as text: strings as they are, numbers and booleans spelled out (`8080:`).
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<KeyText, D::Error> {
        let v = d.deserialize_any(ValueVisitor)?;
        Ok(KeyText(match v {
            Value::Str(s) => s,
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => "null".to_owned(),
            Value::Seq(_) | Value::Map(_) => {
                return Err(de::Error::custom("a mapping key must be a plain value"));
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn map(n: &Node) -> &[(Key, Node)] {
        match &n.value {
            Value::Map(m) => m,
            v => panic!("not a map: {v:?}"),
        }
    }

    #[test]
    fn every_key_and_value_knows_its_line_and_column() {
        let doc = parse("version: \"0.5\"\nprocesses:\n  db:\n    command: echo hi\n    environment:\n      PORT: 3000\n")
            .unwrap();
        let top = map(&doc);
        assert_eq!(top[0].0.name, "version");
        assert_eq!(top[1].0.pos, Pos { line: 2, column: 1 });
        let db = &map(&top[1].1)[0];
        assert_eq!((db.0.name.as_str(), db.0.pos.line), ("db", 3));
        let db = map(&db.1);
        assert_eq!(db[0].1.value, Value::Str("echo hi".into()));
        assert_eq!(
            db[0].1.pos,
            Pos {
                line: 4,
                column: 14
            }
        );
        let env = map(&db[1].1);
        assert_eq!(env[0].1.value, Value::Int(3000));
        assert_eq!(env[0].0.pos.line, 6);
    }

    #[test]
    fn syntax_errors_carry_their_position() {
        let e = parse("a:\n  b: 1\n   c: 2\n").unwrap_err();
        assert_eq!(e.pos.map(|p| p.line), Some(3));
        assert!(!e.message.contains("line 3"), "{}", e.message);
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(e.pos.map(|p| p.line), Some(2), "{e:?}");
        assert_eq!(
            e.message, "duplicate mapping key: a",
            "no advice about parser options"
        );
    }

    /// Nine levels of nine aliases: 387 million nodes once expanded.
    #[test]
    fn a_billion_laughs_is_an_error_and_fast() {
        let mut doc = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for w in names.windows(2) {
            let refs = vec![format!("*{}", w[0]); 9].join(",");
            doc.push_str(&format!("{}: &{} [{refs}]\n", w[1], w[1]));
        }
        let start = Instant::now();
        let e = parse(&doc).unwrap_err();
        assert!(e.message.contains("alias bomb"), "{e:?}");
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
    }

    /// 6,000 processes (~250,000 parser events) and not one alias: a large file, read.
    #[test]
    fn a_large_file_without_aliases_is_no_alias_bomb() {
        let mut doc = String::from("processes:\n");
        for i in 0..6000 {
            doc.push_str(&format!(
                "  p{i}:\n    command: echo {i}\n    environment: [A=1, B=2]\n    availability: {{restart: on_failure, max_restarts: 3}}\n    depends_on:\n      p0: {{condition: process_started}}\n"
            ));
        }
        let doc = parse(&doc).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(map(&map(&doc)[0].1).len(), 6000);
    }

    #[test]
    fn modest_aliases_are_fine() {
        let doc = parse("base: &b {restart: on_failure}\nx: *b\ny: *b\n").unwrap();
        assert_eq!(map(&doc).len(), 3);
    }
}
