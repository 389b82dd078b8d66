//! Process-level `extends: NAME`: a process inherits every setting of another that it leaves
//! unset, as process-compose resolves it.
//!
//! - A setting the process gives wins; one it leaves out is inherited. Mappings
//!   (`availability`, `readiness_probe`, `depends_on`, `shutdown`, `environment` as a mapping)
//!   merge key by key, the process's own keys winning; an `environment` list merges by
//!   variable name; other lists are the base's items, then the process's.
//! - Chains are resolved base first (`c` extends `b` extends `a`).
//! - Extending an unknown process, itself, or a chain that comes back round is an error that
//!   names `extends` and its line.
//!
//! It works on the YAML tree, before anything is read: an inherited value keeps the line of
//! the base that wrote it, so an error in it points there.

use super::Located;
use super::yaml::{Key, Node, Value};

/// Resolves the `extends` of every process in `processes` (the entries of the `processes`
/// mapping), in place; no `extends` key is left.
pub fn resolve(processes: &mut [(Key, Node)]) -> Result<(), Located> {
    let mut state = vec![State::New; processes.len()];
    for i in 0..processes.len() {
        resolve_one(processes, &mut state, i, &mut Vec::new())?;
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    New,
    Open,
    Done,
}

fn resolve_one(
    processes: &mut [(Key, Node)],
    state: &mut [State],
    i: usize,
    path: &mut Vec<String>,
) -> Result<(), Located> {
    match state[i] {
        State::Done => return Ok(()),
        State::Open => {
            path.push(processes[i].0.name.clone());
            let at = extends_entry(&processes[i].1).map(|(k, _)| k.pos);
            return Err(Located {
                pos: at,
                message: format!("`extends` goes round: {}", path.join(" → ")),
            });
        }
        State::New => {}
    }
    let name = processes[i].0.name.clone();
    let Some((key, value)) = extends_entry(&processes[i].1).cloned() else {
        state[i] = State::Done;
        return Ok(());
    };
    let err = |message: String| Located {
        pos: Some(value.pos),
        message,
    };
    let base = match &value.value {
        Value::Str(s) if !s.is_empty() => s.clone(),
        _ => {
            return Err(err(format!(
                "processes.{name}.extends: expected the name of another process, found {}",
                value.value.kind()
            )));
        }
    };
    if base == name {
        return Err(err(format!(
            "processes.{name}.extends: a process cannot extend itself"
        )));
    }
    let Some(b) = processes.iter().position(|(k, _)| k.name == base) else {
        return Err(err(format!(
            "processes.{name}.extends: {:?} is not a configured process",
            crate::safe::clip(&base)
        )));
    };
    state[i] = State::Open;
    path.push(name);
    resolve_one(processes, state, b, path)?;
    path.pop();
    let own = without(&processes[i].1, &key);
    processes[i].1 = merge(&processes[b].1, &own, "");
    state[i] = State::Done;
    Ok(())
}

/// The `extends` entry of a process's mapping, if it has one.
fn extends_entry(node: &Node) -> Option<&(Key, Node)> {
    match &node.value {
        Value::Map(entries) => entries.iter().find(|(k, _)| k.name == "extends"),
        _ => None,
    }
}

/// `node` (a mapping) without the entry whose key is `key`.
fn without(node: &Node, key: &Key) -> Node {
    let mut n = node.clone();
    if let Value::Map(entries) = &mut n.value {
        entries.retain(|(k, _)| k != key);
    }
    n
}

/// `own` over `base`: `own`'s settings win, `base`'s fill in (see the module's rules). `key`
/// is the name of the setting being merged.
fn merge(base: &Node, own: &Node, key: &str) -> Node {
    let value = match (&base.value, &own.value) {
        (Value::Map(b), Value::Map(o)) => {
            let mut out = b.clone();
            for (k, v) in o {
                match out.iter_mut().find(|(bk, _)| bk.name == k.name) {
                    Some(slot) => slot.1 = merge(&slot.1, v, &k.name),
                    None => out.push((k.clone(), v.clone())),
                }
            }
            Value::Map(out)
        }
        (Value::Seq(b), Value::Seq(o)) if key == "environment" => {
            let var = |n: &Node| match &n.value {
                Value::Str(s) => s.split_once('=').map(|(k, _)| k.to_owned()),
                _ => None,
            };
            let mut out = b.clone();
            for item in o {
                match var(item)
                    .and_then(|name| out.iter().position(|b| var(b) == Some(name.clone())))
                {
                    Some(at) => out[at] = item.clone(),
                    None => out.push(item.clone()),
                }
            }
            Value::Seq(out)
        }
        (Value::Seq(b), Value::Seq(o)) => Value::Seq(b.iter().chain(o).cloned().collect()),
        _ => own.value.clone(),
    };
    Node {
        pos: own.pos,
        value,
    }
}

#[cfg(test)]
mod tests {
    use super::super::yaml::parse;
    use super::*;

    fn processes(text: &str) -> Result<Vec<(Key, Node)>, Located> {
        let doc = parse(text).unwrap();
        let Value::Map(top) = doc.value else { panic!() };
        let Value::Map(mut procs) = top.into_iter().next().unwrap().1.value else {
            panic!()
        };
        resolve(&mut procs)?;
        Ok(procs)
    }

    fn get<'a>(node: &'a Node, path: &[&str]) -> &'a Value {
        let mut n = node;
        for p in path {
            let Value::Map(m) = &n.value else {
                panic!("{p}: not a map")
            };
            n = &m
                .iter()
                .find(|(k, _)| k.name == *p)
                .unwrap_or_else(|| panic!("{p}"))
                .1;
        }
        &n.value
    }

    #[test]
    fn a_chain_inherits_what_it_leaves_unset() {
        let procs = processes(
            "processes:
  c:
    extends: b
    availability: {max_restarts: 5}
    environment: [FOO=c, C=1]
  b:
    extends: a
    command: echo b
  a:
    command: echo a
    working_dir: /srv
    environment: [FOO=a, SHARED=1]
    availability: {restart: always, max_restarts: 1}
",
        )
        .unwrap();
        let c = &procs[0].1;
        assert_eq!(get(c, &["command"]), &Value::Str("echo b".into()));
        assert_eq!(get(c, &["working_dir"]), &Value::Str("/srv".into()));
        assert_eq!(
            get(c, &["availability", "restart"]),
            &Value::Str("always".into())
        );
        assert_eq!(get(c, &["availability", "max_restarts"]), &Value::Int(5));
        let Value::Seq(env) = get(c, &["environment"]) else {
            panic!()
        };
        let env: Vec<&Value> = env.iter().map(|n| &n.value).collect();
        assert_eq!(
            env,
            [
                &Value::Str("FOO=c".into()),
                &Value::Str("SHARED=1".into()),
                &Value::Str("C=1".into())
            ]
        );
        assert!(procs.iter().all(|(_, n)| extends_entry(n).is_none()));
    }

    #[test]
    fn bad_extends_name_extends_and_its_line() {
        let e = processes("processes:\n  a:\n    extends: nope\n").unwrap_err();
        assert_eq!(e.pos.map(|p| p.line), Some(3));
        assert_eq!(
            e.message,
            "processes.a.extends: \"nope\" is not a configured process"
        );
        let e = processes("processes:\n  a:\n    extends: a\n").unwrap_err();
        assert!(e.message.contains("cannot extend itself"), "{}", e.message);
        let e = processes(
            "processes:\n  a:\n    extends: b\n  b:\n    extends: c\n  c:\n    extends: a\n",
        )
        .unwrap_err();
        assert_eq!(e.message, "`extends` goes round: a → b → c → a");
        let e = processes("processes:\n  a:\n    extends: [x]\n").unwrap_err();
        assert!(e.message.contains("expected the name of another process"));
    }
}
